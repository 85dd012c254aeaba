"""A desk corridor and its stored plan, carried onto the city's SUMO network.

The desk works on the city's road graph (OSM nodes); the SUMO network of the same extract is
built by netconvert, which joins clustered junctions and signals and renames them
(``cluster_25413717_56438018``, ``GS_cluster_…``, ``joinedS_…``). This module maps one onto
the other so that a stored plan can be evaluated in SUMO:

- :func:`map_route`: the corridor's nodes, sampled every 10 m, are map-matched onto SUMO's
  edges (sumolib's ``mapTrace``), so the route is one SUMO can drive.
- :func:`match_signals`: each traffic light met along that path gets the desk signal nearest
  to it (within ``snap_m``); a desk signal with no light near it is reported, not guessed.
- :func:`programs_from_timings`: the desk's timing of a signal (common cycle, through and
  cross greens, absolute offset) applied to the light's own SUMO programme: its phase order,
  yellows and all-reds are kept; the phases that give the corridor's through links green
  share the desk's through-green proportion of the cycle, the others the rest; the offset
  puts the through green where the desk's plan puts it on the common clock.

Needs sumolib (the ``traffic`` extra); no database.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from pingan.core.errors import ValidationFailed
from pingan.traffic.sumo import CorridorSignal, Program
from pingan.traffic.timing import SignalTiming

__all__ = [
    "MIN_GREEN_S",
    "CityPoint",
    "Transfer",
    "map_route",
    "match_signals",
    "programs_from_timings",
]

MIN_GREEN_S: Final = 5.0
"""No green phase of a transferred programme is shorter than this."""


@dataclass(frozen=True)
class CityPoint:
    """A node of the city's road graph, by position."""

    lon: float
    lat: float


TRACE_STEP_M: Final = 10.0
"""The corridor is sampled this often for map matching."""
MATCH_RADIUS_M: Final = 20.0
"""How far from the corridor a SUMO edge may lie to be matched."""


def _connected(a: Any, b: Any) -> bool:
    return bool(a.getToNode() == b.getFromNode() and b in a.getOutgoing())


def map_route(net: Any, points: Sequence[CityPoint]) -> list[str]:
    """SUMO edge ids driving along ``points`` in order (the corridor's graph nodes).

    The corridor is sampled every :data:`TRACE_STEP_M` and map-matched with sumolib's
    ``mapTrace`` (edges within :data:`MATCH_RADIUS_M`, driving direction respected, passenger
    cars, gaps bridged by the shortest path), which follows dual carriageways and netconvert's
    joined junctions where node-by-node matching strays onto the other carriageway. Where a
    turn along the corridor has no SUMO connection, the longest drivable run is kept. Raises
    ``traffic.error.corridor_unmapped`` (field ``corridor``) when no two connected edges
    match.
    """
    from sumolib.route import mapTrace

    xy = [tuple(float(c) for c in net.convertLonLat2XY(p.lon, p.lat)) for p in points]
    trace: list[tuple[float, float]] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(xy):
        steps = max(1, int(math.hypot(x1 - x0, y1 - y0) // TRACE_STEP_M))
        trace.extend((x0 + (x1 - x0) * j / steps, y0 + (y1 - y0) * j / steps) for j in range(steps))
    if xy:
        trace.append((xy[-1][0], xy[-1][1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "rtree not available": the brute-force search is fine
        edges = list(
            mapTrace(
                trace,
                net,
                MATCH_RADIUS_M,
                fillGaps=2000,
                direction=True,
                vClass="passenger",
            )
            if len(trace) >= 2
            else []
        )
    # Where SUMO has no connection between two matched edges (a turn the network forbids,
    # which the city's road graph does not model), keep the longest drivable run.
    runs: list[list[Any]] = []
    for edge in edges:
        if runs and _connected(runs[-1][-1], edge):
            runs[-1].append(edge)
        else:
            runs.append([edge])
    best = max(runs, key=lambda run: sum(e.getLength() for e in run), default=[])
    if len(best) < 2:
        raise ValidationFailed(
            "traffic.error.corridor_unmapped", field="corridor", found=len(edges)
        )
    return [str(e.getID()) for e in best]


def _light_xy(net: Any, sig: CorridorSignal) -> tuple[float, float]:
    """Position of the junction where a corridor signal's in-edge ends."""
    x, y = net.getEdge(sig.in_edge).getToNode().getCoord()[:2]
    return float(x), float(y)


def match_signals(
    net: Any,
    signals: Sequence[CorridorSignal],
    desk: Sequence[tuple[int, float, float]],
    *,
    snap_m: float = 60.0,
) -> dict[str, int]:
    """SUMO light id → desk signal id for the lights along a mapped corridor.

    ``desk`` is ``(signal_id, lon, lat)`` per desk signal. Pairs are taken nearest first, each
    light and each desk signal at most once, only within ``snap_m`` (OSM tags a signal on
    each approach; netconvert joins them into one light at the junction's centre).
    """
    lights = [(s.tls_id, _light_xy(net, s)) for s in signals]
    desk_xy = []
    for sid, lon, lat in desk:
        x, y = net.convertLonLat2XY(lon, lat)
        desk_xy.append((sid, float(x), float(y)))
    pairs = sorted(
        (math.hypot(lx - dx, ly - dy), tls, sid)
        for tls, (lx, ly) in lights
        for sid, dx, dy in desk_xy
    )
    matched: dict[str, int] = {}
    used: set[int] = set()
    for d, tls, sid in pairs:
        if d > snap_m:
            break
        if tls in matched or sid in used:
            continue
        matched[tls] = sid
        used.add(sid)
    return matched


@dataclass(frozen=True)
class Transfer:
    """What :func:`programs_from_timings` did with each light."""

    programs: list[Program]
    skipped: dict[str, str]
    """Light id → why it kept its own programme (``cycle_too_short``, ``no_through_green``)."""


def programs_from_timings(
    programs: Mapping[str, Program],
    signals: Sequence[CorridorSignal],
    timings: Mapping[str, SignalTiming],
    *,
    program_id: str = "pingan-desk",
) -> Transfer:
    """SUMO programmes carrying the desk's timings (light id → the desk signal's timing).

    For each light: cycle = the timing's cycle; the light's transition phases (yellow,
    all-red) keep their durations; the green phases giving every outbound through link green
    share ``through green / all greens`` of the remaining time (in proportion to their
    current durations), the other greens the rest, none below :data:`MIN_GREEN_S`; the offset
    starts the through green where the desk's timing starts it on the common clock.
    """
    out: list[Program] = []
    skipped: dict[str, str] = {}
    for sig in signals:
        timing = timings.get(sig.tls_id)
        if timing is None:
            continue
        base = programs[sig.tls_id]
        cycle = timing.cycle_s
        greens = [i for i, p in enumerate(base.phases) if not p.is_transition]
        through = [i for i in greens if all(base.phases[i].state[k] in "Gg" for k in sig.links_out)]
        others = [i for i in greens if i not in through]
        if not through:
            skipped[sig.tls_id] = "no_through_green"
            continue
        change = sum(p.duration for p in base.phases if p.is_transition)
        available = cycle - change
        if available < MIN_GREEN_S * len(greens) - 1e-9:
            skipped[sig.tls_id] = "cycle_too_short"
            continue
        desk_greens = [p.green_s for p in timing.phases]
        share = desk_greens[timing.through_phase] / max(sum(desk_greens), 1e-9)
        if not others:
            share = 1.0
        through_total = min(
            max(available * share, MIN_GREEN_S * len(through)),
            available - MIN_GREEN_S * len(others),
        )
        durations = dict(
            _share(base, through, through_total) + _share(base, others, available - through_total)
        )
        phases = [
            replace(p, duration=round(durations[i], 1), min_dur=None, max_dur=None)
            if i in durations
            else p
            for i, p in enumerate(base.phases)
        ]
        prog = Program(
            tls_id=base.tls_id, program_id=program_id, offset=0.0, phases=phases, kind="static"
        )
        longest = max(greens, key=lambda i: prog.phases[i].duration)
        prog.phases[longest] = replace(
            prog.phases[longest],
            duration=round(prog.phases[longest].duration + cycle - prog.cycle_s, 2),
        )
        start_in_program, _length = prog.green_block(sig.links_out)
        desk_start, _green = timing.through_green()
        prog.offset = round((desk_start - start_in_program) % cycle, 2)
        out.append(prog)
    return Transfer(programs=out, skipped=skipped)


def _share(base: Program, indices: Sequence[int], total: float) -> list[tuple[int, float]]:
    """``total`` seconds over ``indices`` in proportion to their current durations, each at
    least :data:`MIN_GREEN_S` (the caller made sure the minima fit)."""
    if not indices:
        return []
    fixed: dict[int, float] = {}
    while True:
        free = [i for i in indices if i not in fixed]
        rest = total - sum(fixed.values())
        weight = sum(max(base.phases[i].duration, 1e-6) for i in free)
        trial = {i: rest * max(base.phases[i].duration, 1e-6) / weight for i in free}
        short = [i for i in free if trial[i] < MIN_GREEN_S - 1e-9]
        if not short:
            fixed.update(trial)
            return [(i, fixed[i]) for i in indices]
        for i in short:
            fixed[i] = MIN_GREEN_S
