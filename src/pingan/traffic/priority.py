"""Emergency priority along a route (应急优先 · 绿色通道): the pure part.

A green corridor is planned for a vehicle driving a route: every signalised intersection
on it gets a request to show green to the vehicle's approach *before* the vehicle is
there, and to go back to its coordinated plan once it has passed. This module holds the
rules, as functions over plain data (no database, no HTTP, no SUMO):

- :func:`transition_schedule` — from any state of a signal's plan to the priority green,
  with the rule :mod:`pingan.traffic.preemption` applies over TraCI: a green is cut only
  after its minimum green, yellow and all-red always run their full programmed duration
  (never skipped), phases advance strictly in programme order.
- :func:`worst_case_transition_s` — the longest such transition (what a request must be
  sent ahead by, because the signal's live state is not known when the request is planned).
- :func:`restore_schedule` — after the vehicle has passed, the shortest way back into step
  with the fixed-time (coordinated) schedule, the rule of ``Preemption._recover``: greens
  cut to their minimum, transitions in full, phases in order, handed back to the programme
  as soon as the running phase is the one the schedule expects.
- :func:`signals_on_route` and :func:`schedule_requests` — which signals a route crosses
  (with the approach each is entered from) and when to ask each for green.

Plans are lists of :class:`~pingan.traffic.sumo.ProgramPhase` (SUMO signal-state strings,
one character per controlled link), the representation the rest of the desk uses.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from pingan.city.graph import RoadGraph, haversine_m
from pingan.city.routing import project
from pingan.traffic.preemption import expected_phase
from pingan.traffic.sumo import ProgramPhase

__all__ = [
    "APPROACHES",
    "PhaseKind",
    "PlannedRequest",
    "Restore",
    "RouteSignal",
    "Step",
    "Transition",
    "approach_link",
    "default_plan",
    "expand_states",
    "passed_index",
    "phase_kind",
    "priority_phase",
    "restore_schedule",
    "route_node_times",
    "schedule_requests",
    "signals_on_route",
    "transition_schedule",
    "worst_case_transition_s",
]

PhaseKind = Literal["green", "yellow", "all_red"]
Approach = Literal["northbound", "southbound", "eastbound", "westbound"]

APPROACHES: Final[tuple[Approach, ...]] = ("northbound", "southbound", "eastbound", "westbound")
"""The links of :func:`default_plan`, in state-string order: a vehicle driving north enters
on link 0, south on 1, east on 2, west on 3."""

_EPS: Final = 1e-9
_MAX_LOOPS: Final = 64


def phase_kind(state: str) -> PhaseKind:
    """Whether a phase is a green, a yellow (change interval) or an all-red (clearance)."""
    if any(c in "yY" for c in state):
        return "yellow"
    if not any(c in "Gg" for c in state):
        return "all_red"
    return "green"


def default_plan(
    *, green_ns_s: float, green_ew_s: float, yellow_s: float, all_red_s: float
) -> list[ProgramPhase]:
    """A two-phase fixed-time plan: north–south green, change, east–west green, change.

    Links follow :data:`APPROACHES`. Used for a signal whose timing plan is not on record.
    """
    for name, value in (
        ("green_ns_s", green_ns_s),
        ("green_ew_s", green_ew_s),
        ("yellow_s", yellow_s),
    ):
        if not value > 0:
            raise ValueError(f"{name} must be > 0 (got {value})")
    if all_red_s < 0:
        raise ValueError(f"all_red_s must be >= 0 (got {all_red_s})")
    phases = [
        ProgramPhase("GGrr", green_ns_s),
        ProgramPhase("yyrr", yellow_s),
        ProgramPhase("rrrr", all_red_s),
        ProgramPhase("rrGG", green_ew_s),
        ProgramPhase("rryy", yellow_s),
        ProgramPhase("rrrr", all_red_s),
    ]
    return [p for p in phases if p.duration > 0]


def priority_phase(plan: Sequence[ProgramPhase], link: int) -> int:
    """The first green phase of ``plan`` that gives green to ``link``."""
    for i, phase in enumerate(plan):
        kind = phase_kind(phase.state)
        if kind == "green" and link < len(phase.state) and phase.state[link] in "Gg":
            return i
    raise ValueError(f"no green phase serves link {link}")


def _min_green(phase: ProgramPhase, min_green_s: float) -> float:
    return max(phase.min_dur if phase.min_dur is not None else min_green_s, 0.0)


def _check_plan(plan: Sequence[ProgramPhase], index: int, name: str) -> None:
    if not plan:
        raise ValueError("a plan needs at least one phase")
    if not 0 <= index < len(plan):
        raise ValueError(f"{name} {index} is not a phase of the plan (0–{len(plan) - 1})")
    if any(not p.duration >= 0 for p in plan) or sum(p.duration for p in plan) <= 0:
        raise ValueError("phase durations must be >= 0 and the cycle > 0")


@dataclass(frozen=True)
class Step:
    """One phase shown for ``duration_s`` from ``start_s`` (seconds after the schedule's t0)."""

    phase: int
    state: str
    kind: PhaseKind
    start_s: float
    duration_s: float

    @property
    def end_s(self) -> float:
        """When the step ends."""
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class Transition:
    """How a signal gets from its current state to the priority green."""

    steps: list[Step]
    """The phases shown before the priority green (the current one's remainder first)."""
    green_at_s: float
    """Seconds from now until the priority green starts (0: it is already showing)."""
    target: int


def transition_schedule(
    plan: Sequence[ProgramPhase],
    *,
    current: int,
    elapsed_s: float,
    target: int,
    min_green_s: float,
) -> Transition:
    """The safe way from phase ``current`` (shown for ``elapsed_s``) to the green ``target``.

    Greens on the way are cut once they have shown their minimum green (the phase's own
    ``min_dur`` when the plan gives one, else ``min_green_s``); yellow and all-red phases
    run for their full programmed duration; phases follow the programme's order. The
    priority green itself is never cut short: when it is showing, it is held.
    """
    _check_plan(plan, current, "current")
    _check_plan(plan, target, "target")
    if phase_kind(plan[target].state) != "green":
        raise ValueError(f"target {target} is not a green phase")
    if elapsed_s < 0:
        raise ValueError(f"elapsed_s must be >= 0 (got {elapsed_s})")
    n = len(plan)
    steps: list[Step] = []
    t, i, spent = 0.0, current, float(elapsed_s)
    for _ in range(_MAX_LOOPS * n):
        phase = plan[i]
        kind = phase_kind(phase.state)
        if i == target:
            return Transition(steps=steps, green_at_s=t, target=target)
        if kind == "green":
            remaining = max(_min_green(phase, min_green_s) - spent, 0.0)
        else:
            remaining = max(phase.duration - spent, 0.0)
        if remaining > _EPS:
            steps.append(Step(i, phase.state, kind, t, remaining))
            t += remaining
        i, spent = (i + 1) % n, 0.0
    raise AssertionError("unreachable: the target is a phase of the plan")  # pragma: no cover


def worst_case_transition_s(
    plan: Sequence[ProgramPhase], *, target: int, min_green_s: float
) -> float:
    """The longest safe transition to ``target`` from any state of the plan.

    The worst start is a phase that has just begun (time already spent only shortens the
    way), so it is the maximum over every phase entered at elapsed 0.
    """
    return max(
        transition_schedule(
            plan, current=i, elapsed_s=0.0, target=target, min_green_s=min_green_s
        ).green_at_s
        for i in range(len(plan))
    )


@dataclass(frozen=True)
class Restore:
    """How a signal returns to its coordinated plan after the vehicle has passed."""

    steps: list[Step]
    """Phases shown from the release until the hand-back (the priority green's rest first)."""
    handback_s: float
    """Seconds after the release when the signal is in step again and back on its programme."""
    handback_phase: int
    handback_remaining_s: float
    """What is left of ``handback_phase`` in the fixed-time schedule at the hand-back."""


def restore_schedule(
    plan: Sequence[ProgramPhase],
    *,
    phase: int,
    spent_s: float,
    schedule_position_s: float,
    min_green_s: float,
) -> Restore:
    """The shortest safe way back into step with the fixed-time schedule.

    ``phase`` is the phase showing at the release (normally the priority green), shown for
    ``spent_s``; ``schedule_position_s`` is where the fixed-time cycle stands at the release
    (seconds since a cycle start of the coordinated plan: its offset is applied by the
    caller). As in ``Preemption._recover``: the signal is handed back as soon as the phase
    it shows is the one the schedule expects; otherwise a green is left after its minimum
    green, transitions run in full, and phases follow the programme's order.
    """
    _check_plan(plan, phase, "phase")
    if spent_s < 0:
        raise ValueError(f"spent_s must be >= 0 (got {spent_s})")
    n = len(plan)
    cycle = sum(p.duration for p in plan)
    starts = [sum(p.duration for p in plan[:k]) for k in range(n)]
    steps: list[Step] = []
    t, i, spent = 0.0, phase, float(spent_s)
    for _ in range(_MAX_LOOPS * n):
        current = plan[i]
        kind = phase_kind(current.state)
        if kind != "green":
            remaining = max(current.duration - spent, 0.0)
            if remaining > _EPS:
                steps.append(Step(i, current.state, kind, t, remaining))
                t += remaining
            i, spent = (i + 1) % n, 0.0
            continue
        window = max(_min_green(current, min_green_s) - spent, 0.0)
        pos = (schedule_position_s + t) % cycle
        begin, duration = starts[i], current.duration
        if duration > _EPS:
            wait = 0.0 if begin - _EPS <= pos < begin + duration else (begin - pos) % cycle
            if wait <= window + _EPS:
                if wait > _EPS:
                    steps.append(Step(i, current.state, kind, t, wait))
                    t += wait
                expected, remaining = expected_phase(plan, schedule_position_s + t)
                if expected != i:  # float edge at a phase boundary: the next phase
                    expected, remaining = i, duration
                return Restore(
                    steps=steps,
                    handback_s=t,
                    handback_phase=i,
                    handback_remaining_s=remaining,
                )
        if window > _EPS:
            steps.append(Step(i, current.state, kind, t, window))
            t += window
        i, spent = (i + 1) % n, 0.0
    raise ValueError("the plan never comes back into step")  # pragma: no cover


def expand_states(steps: Sequence[Step], *, step_s: float = 1.0) -> list[str]:
    """The signal state at every ``step_s`` of a schedule (for checks such as
    :func:`pingan.traffic.preemption.unsafe_changes`); each step shows at least once."""
    states: list[str] = []
    for step in steps:
        states.extend([step.state] * max(1, math.ceil(step.duration_s / step_s - _EPS)))
    return states


# ------------------------------------------------------------------------------ the route


@dataclass(frozen=True)
class RouteSignal:
    """A signalised intersection on a route, in driving order."""

    seq: int
    node: int
    eta_s: float
    """Travel time from the route's start to the intersection."""
    approach: Approach
    link: int
    """The link of :func:`default_plan` the vehicle enters on."""
    signal_ids: tuple[int, ...]
    """The signals merged into this intersection (ids of the caller's signal map)."""
    route_index: int
    """Where on the route's node list the intersection is."""


def route_node_times(graph: RoadGraph, nodes: Sequence[int]) -> list[float]:
    """Cumulative travel time (s) from the first node to each node of a route."""
    times = [0.0]
    for u, v in itertools.pairwise(nodes):
        times.append(times[-1] + float(graph.travel_time[graph.edge_index(u, v)]))
    return times


def approach_link(from_lon: float, from_lat: float, to_lon: float, to_lat: float) -> int:
    """The link (index of :data:`APPROACHES`) for a vehicle driving from one point to another."""
    x, y = project([from_lon, to_lon], [from_lat, to_lat], (from_lat + to_lat) / 2.0)
    dx, dy = float(x[1] - x[0]), float(y[1] - y[0])
    if abs(dy) >= abs(dx):
        return 0 if dy >= 0 else 1
    return 2 if dx > 0 else 3


def signals_on_route(
    graph: RoadGraph,
    nodes: Sequence[int],
    times: Sequence[float],
    signals: Mapping[int, Sequence[int]],
    *,
    merge_m: float,
) -> list[RouteSignal]:
    """The signalised intersections a route drives through, in order.

    ``signals`` maps a graph node to the signals standing on it. The route's first
    node (where the vehicle already is) and last node (where it stops) are not driven
    through. OpenStreetMap often tags one signal per approach of an intersection; signals
    within ``merge_m`` along the route are one intersection, requested once (at the first).
    """
    found: list[RouteSignal] = []
    last_metres = -math.inf
    metres = 0.0
    for k in range(1, len(nodes) - 1):
        u, v = nodes[k - 1], nodes[k]
        metres += float(
            haversine_m(graph.lon[u], graph.lat[u], float(graph.lon[v]), float(graph.lat[v]))
        )
        ids = signals.get(int(v))
        if not ids:
            continue
        if found and metres - last_metres <= merge_m:
            prev = found[-1]
            found[-1] = RouteSignal(
                prev.seq,
                prev.node,
                prev.eta_s,
                prev.approach,
                prev.link,
                tuple(dict.fromkeys((*prev.signal_ids, *ids))),
                prev.route_index,
            )
            continue
        link = approach_link(
            float(graph.lon[u]), float(graph.lat[u]), float(graph.lon[v]), float(graph.lat[v])
        )
        found.append(
            RouteSignal(
                seq=len(found),
                node=int(v),
                eta_s=float(times[k]),
                approach=APPROACHES[link],
                link=link,
                signal_ids=tuple(int(i) for i in ids),
                route_index=k,
            )
        )
        last_metres = metres
    return found


@dataclass(frozen=True)
class PlannedRequest:
    """When to ask one signal for green, and how long to hold it (seconds from dispatch)."""

    seq: int
    eta_s: float
    request_s: float
    """ETA − (lead time + worst-case safe transition), never before the corridor starts."""
    green_by_s: float
    """When the priority green is showing at the latest (request + worst-case transition)."""
    serve_until_s: float
    """ETA + pass margin, held at most ``max_hold_s`` after ``green_by_s``."""
    transition_s: float
    capped: bool
    """Whether the hold was cut by ``max_hold_s`` (the vehicle is expected later)."""


def schedule_requests(
    etas_s: Sequence[float],
    transitions_s: Sequence[float],
    *,
    lead_s: float,
    pass_margin_s: float,
    max_hold_s: float,
) -> list[PlannedRequest]:
    """Request times along a route: each signal is asked early enough to be green
    ``lead_s`` before the vehicle arrives, whatever state it is in, and held until the
    vehicle is past (ETA + ``pass_margin_s``), but not longer than ``max_hold_s`` of green
    so cross traffic is not starved (the limit :class:`Preemption` applies as well)."""
    if len(etas_s) != len(transitions_s):
        raise ValueError("one transition time per signal")
    if lead_s < 0 or pass_margin_s < 0 or max_hold_s <= 0:
        raise ValueError("lead_s and pass_margin_s must be >= 0, max_hold_s > 0")
    out: list[PlannedRequest] = []
    for seq, (eta, transition) in enumerate(zip(etas_s, transitions_s, strict=True)):
        request = max(eta - lead_s - transition, 0.0)
        green_by = request + transition
        until = eta + pass_margin_s
        capped = until - green_by > max_hold_s
        if capped:
            until = green_by + max_hold_s
        out.append(
            PlannedRequest(
                seq=seq,
                eta_s=float(eta),
                request_s=float(request),
                green_by_s=float(green_by),
                serve_until_s=float(until),
                transition_s=float(transition),
                capped=capped,
            )
        )
    return out


def passed_index(
    graph: RoadGraph, nodes: Sequence[int], lon: float, lat: float, *, within_m: float
) -> int | None:
    """The index on the route of the node nearest a reported position (None: off the route)."""
    if not nodes:
        return None
    idx = np.asarray(nodes, dtype=np.int64)
    d = haversine_m(graph.lon[idx], graph.lat[idx], lon, lat)
    k = int(np.argmin(d))
    return k if float(d[k]) <= within_m else None
