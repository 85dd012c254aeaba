"""A desk corridor and its stored plan, carried onto the city's SUMO network.

The desk works on the city's road graph (OSM nodes); the SUMO network of the same extract is
built by netconvert, which joins clustered junctions and signals and renames them
(``cluster_25413717_56438018``, ``GS_cluster_…``, ``joinedS_…``). This module maps one onto
the other so that a stored plan can be evaluated in SUMO:

- :func:`map_route`: the corridor's nodes become SUMO junctions (by the OSM node id that
  netconvert keeps in a junction's id, else the nearest junction within ``snap_m``) and the
  junctions are joined by the shortest drivable edge path that SUMO's connections allow.
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

import heapq
import math
import re
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
_OSM_TOKEN = re.compile(r"^\d+$")


@dataclass(frozen=True)
class CityPoint:
    """A node of the city's road graph: its OSM id (if known) and position."""

    osm_id: int | None
    lon: float
    lat: float


def _junctions(net: Any) -> tuple[dict[int, Any], list[Any], list[tuple[float, float]]]:
    """OSM node id → SUMO junction (from the ids netconvert writes), and every junction
    with its x/y (internal junctions left out)."""
    by_osm: dict[int, Any] = {}
    nodes: list[Any] = []
    xy: list[tuple[float, float]] = []
    for node in net.getNodes():
        if node.getType() == "internal":
            continue
        nodes.append(node)
        x, y = node.getCoord()[:2]
        xy.append((float(x), float(y)))
        for token in str(node.getID()).split("_"):
            if _OSM_TOKEN.match(token):
                by_osm.setdefault(int(token), node)
    return by_osm, nodes, xy


def _nearest(points: Sequence[tuple[float, float]], x: float, y: float) -> tuple[int, float]:
    best, best_d = -1, math.inf
    for i, (px, py) in enumerate(points):
        d = math.hypot(px - x, py - y)
        if d < best_d:
            best, best_d = i, d
    return best, best_d


def _drivable(edge: Any) -> bool:
    return bool(edge.allows("passenger")) and edge.getFunction() != "internal"


def _path(net: Any, starts: Sequence[Any], target: Any) -> list[Any] | None:
    """The shortest chain of connected drivable edges from one of ``starts`` (included) to
    an edge ending at junction ``target``."""
    queue: list[tuple[float, int, Any]] = []
    came: dict[str, Any] = {}
    best: dict[str, float] = {}
    tie = 0
    for edge in starts:
        if _drivable(edge):
            best[edge.getID()] = edge.getLength()
            heapq.heappush(queue, (edge.getLength(), tie, edge))
            tie += 1
    while queue:
        cost, _, edge = heapq.heappop(queue)
        if cost > best.get(edge.getID(), math.inf):
            continue
        if edge.getToNode() == target:
            chain = [edge]
            while chain[-1].getID() in came:
                chain.append(came[chain[-1].getID()])
            return chain[::-1]
        for nxt in edge.getOutgoing():
            if not _drivable(nxt):
                continue
            c = cost + nxt.getLength()
            if c < best.get(nxt.getID(), math.inf):
                best[nxt.getID()] = c
                came[nxt.getID()] = edge
                heapq.heappush(queue, (c, tie, nxt))
                tie += 1
    return None


def map_route(net: Any, points: Sequence[CityPoint], *, snap_m: float = 25.0) -> list[str]:
    """SUMO edge ids driving through ``points`` in order (the corridor's graph nodes).

    A point becomes the junction whose id holds its OSM node id, else the nearest junction
    within ``snap_m``; points netconvert removed (geometry nodes) are skipped. Consecutive
    junctions are joined by the shortest path SUMO's connections allow, each leg continuing
    from the previous leg's last edge so the whole route is drivable. Raises
    ``traffic.error.corridor_unmapped`` (field ``corridor``) when fewer than two junctions
    are found or a leg has no path.
    """
    by_osm, nodes, xy = _junctions(net)
    junctions: list[Any] = []
    for p in points:
        node = by_osm.get(p.osm_id) if p.osm_id is not None else None
        if node is None:
            x, y = net.convertLonLat2XY(p.lon, p.lat)
            i, d = _nearest(xy, float(x), float(y))
            node = nodes[i] if i >= 0 and d <= snap_m else None
        if node is not None and (not junctions or junctions[-1] != node):
            junctions.append(node)
    if len(junctions) < 2:
        raise ValidationFailed(
            "traffic.error.corridor_unmapped", field="corridor", found=len(junctions)
        )
    route: list[Any] = []
    for k in range(1, len(junctions)):
        if route:
            starts = list(route[-1].getOutgoing())
        else:
            starts = list(junctions[0].getOutgoing())
        leg = _path(net, starts, junctions[k])
        if leg is None:
            raise ValidationFailed(
                "traffic.error.corridor_unmapped", field="corridor", found=len(junctions), leg=k
            )
        route.extend(leg)
    return [str(e.getID()) for e in route]


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
