"""Unit recommendation (警力推荐): who to send to an incident, and to several at once.

**ETAs, by kind of unit.**

- Patrol cars and K9 units (dog handlers drive) take the road graph's travel
  times. All of them come from ONE search on the reverse graph from the incident
  (``travel_times_to``) with a cutoff: every unit's ETA is read off at its node,
  so the cost does not grow with the number of units.
- Motorbikes: the car time × :data:`MOTORBIKE_TIME_FACTOR` (0.9). The graph holds
  free-flow times from speed limits, which a motorbike obeys too; the 10 % is an
  assumption for filtering through queues and stopping at the door, read from the
  same reverse search.
- Foot patrols walk at the platform's walking speed (:data:`WALK_SPEED_MS`,
  5 km/h ≈ 1.39 m/s, the same as the city's walking graph) along road *length*,
  ignoring one-way rules: a second reverse search, on metres, only when foot
  units are among the candidates, limited to ``cutoff_s × 1.39`` metres (about
  1.25 km for 15 minutes, a few hundred nodes). Scaling car time would be wrong:
  a car is slow on a jammed arterial a walker does not care about, and fast on a
  motorway a walker may not use.
- Drones fly the great circle at :data:`DRONE_CRUISE_MS` (15 m/s) after
  :data:`DRONE_LAUNCH_S` (30 s) to launch; a drone whose remaining endurance does
  not cover the flight there and back plus :data:`DRONE_RESERVE_S` (5 min) is
  excluded.
- Cameras do not travel: a camera whose coverage radius contains the incident
  has ETA 0 (reason ``camera_covers``). Cameras are not used up by an incident,
  so the joint assignment gives every incident its covering cameras outside the
  matching.

**Joint assignment.** When several incidents wait, each run-card need is expanded
into slots (two patrol cars = two slots) and the slot × unit cost matrix is solved
as a minimum-cost assignment (``scipy.optimize.linear_sum_assignment``). Each slot
also has a private "no unit" column of cost ``UNSERVED_S × w_p``, so a slot that
nobody can reach stays open and, when units are short, the lower priorities wait.
The cost of unit *u* for a slot of an incident of priority *p* is::

    c(u, slot) = w_p · ETA(u) + P(u)
    w_p        = PRIORITY_WEIGHT[p]             (4, 2, 1, 0.5 for priorities 1..4)
    P(u)       = W · d_k · (1 − q) · q^(n_k − 1)  when u leaves its district k, else 0

This is MEXCLP's marginal expected coverage (Daskin 1983): with each unit busy
with probability ``q`` (``busy_fraction``), a district of demand weight ``d_k``
covered by ``n_k`` available units is covered with probability ``1 − q^n_k``;
taking one unit away loses ``d_k (1 − q) q^(n_k − 1)``, which is largest for the
last unit (``n_k = 1``) and falls off quickly for the second and third.
``W`` (``coverage_weight``, seconds) prices that loss in seconds of ETA. Defaults
(W = 180 s, q = 0.3) charge 126 s for the last unit, 38 s for the second to last,
11 s for the third. The penalty is *waived* when the unit is the only one that can
reach the slot within the cutoff (no neighbour can serve, so keeping the district
covered would leave the incident unserved), and it does not apply to a unit
answering its own district's call (that is what the coverage was for). It is a
linear approximation: within one batch, a second unit leaving the same district is
not charged more than the first; batches are a few incidents, so this is rare.
Decide at each decision instant (a call arrives, a unit clears) over the calls then
waiting; do not hold calls back to batch them (a 30 s window cost 12–36 % of mean
response in the benchmark).

**Where idle units wait (move-up).** :func:`plan_standby_posts` orders candidate posts by a
greedy stochastic p-median: MEXCLP's busy probability ``q`` with drive time in place
of a coverage radius, so a demand point's expected response from posts at
``t_1 <= t_2 <= ...`` is ``Σ (1 − q) q^(i−1) t_i`` (:func:`expected_response_s`).
The order is nested (a compliance table): with ``k`` idle units, the first ``k`` posts.
After each dispatch or clearance, :func:`move_up` matches the idle units to those
posts with the least total drive, so a unit already at its post stays. In the
dispatch benchmark this is where most of the gain over "nearest idle unit" comes
from; the joint assignment matters when calls queue (high load).
:func:`should_redirect` is the rule for proposing to redirect a unit already on its
way when a free unit would be much sooner (by a minimum of seconds and a fraction).

All functions are pure: plain dataclasses and numpy arrays in, plain data out.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from pingan.city.graph import RoadGraph, csr_arrays, haversine_m
from pingan.city.osm import WALK_SPEED_KMH
from pingan.city.routing import travel_times_to
from pingan.dispatch.statuses import UnitStatus, is_assignable


class UnitKind(StrEnum):
    """What a unit is."""

    PATROL_CAR = "patrol_car"
    MOTORBIKE = "motorbike"
    FOOT = "foot"
    K9 = "k9"
    DRONE = "drone"
    CAMERA = "camera"


ROAD_KINDS: Final = frozenset({UnitKind.PATROL_CAR, UnitKind.MOTORBIKE, UnitKind.K9})
"""Kinds whose ETA is the road graph's travel time (times a factor)."""
GROUND_KINDS: Final = ROAD_KINDS | {UnitKind.FOOT}
"""Kinds that stand on a road node."""
ROAD_TIME_FACTOR: Final[Mapping[UnitKind, float]] = {
    UnitKind.PATROL_CAR: 1.0,
    UnitKind.K9: 1.0,
    UnitKind.MOTORBIKE: 0.9,
}
MOTORBIKE_TIME_FACTOR: Final = ROAD_TIME_FACTOR[UnitKind.MOTORBIKE]
WALK_SPEED_MS: Final = WALK_SPEED_KMH / 3.6
DRONE_CRUISE_MS: Final = 15.0
DRONE_LAUNCH_S: Final = 30.0
DRONE_RESERVE_S: Final = 300.0
DEFAULT_CUTOFF_S: Final = 900.0
PRIORITY_WEIGHT: Final[Mapping[int, float]] = {1: 4.0, 2: 2.0, 3: 1.0, 4: 0.5}
"""Seconds of ETA at priority p count ``PRIORITY_WEIGHT[p]`` times (1 is the most urgent)."""
DEFAULT_COVERAGE_WEIGHT_S: Final = 180.0
DEFAULT_BUSY_FRACTION: Final = 0.3
UNSERVED_S: Final = 1e7
"""Cost (seconds, before the priority weight) of leaving a slot without a unit."""
MIN_EDGE_METRES: Final = 0.01

ReasonParams = dict[str, float | int | str]
Reason = tuple[str, ReasonParams]

_walk_matrices: weakref.WeakKeyDictionary[RoadGraph, csr_matrix] = weakref.WeakKeyDictionary()


def _kind(value: UnitKind | str, field_name: str) -> UnitKind:
    try:
        return UnitKind(value)
    except ValueError:
        raise ValueError(f"{field_name}: unknown unit kind {value!r}") from None


@dataclass(frozen=True)
class UnitState:
    """A unit as dispatch sees it: kind, status, where it is, what it can do."""

    id: str
    kind: UnitKind
    status: UnitStatus = UnitStatus.AVAILABLE
    node: int = -1
    """Road-graph node index (ground units; -1 for drones and cameras)."""
    lon: float = math.nan
    lat: float = math.nan
    capabilities: frozenset[str] = frozenset()
    district: int = -1
    """Index of the district the unit stands in (-1: none)."""
    endurance_min: float | None = None
    """Drones: minutes of flight left on the battery."""
    coverage_m: float = 0.0
    """Cameras: radius seen, in metres."""
    battery_pct: float | None = None
    """Drones: battery charge of the last report (the desk leaves out drones below its limit)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _kind(self.kind, "kind"))
        try:
            object.__setattr__(self, "status", UnitStatus(self.status))
        except ValueError:
            raise ValueError(f"status: unknown unit status {self.status!r}") from None
        object.__setattr__(self, "capabilities", frozenset(self.capabilities))
        if self.kind in GROUND_KINDS and (isinstance(self.node, bool) or self.node < 0):
            raise ValueError(f"node: a {self.kind} unit needs a road node index >= 0")
        if self.kind in (UnitKind.DRONE, UnitKind.CAMERA) and not (
            math.isfinite(self.lon) and math.isfinite(self.lat)
        ):
            raise ValueError(f"lon: a {self.kind} needs finite lon/lat")
        if self.kind is UnitKind.DRONE and (
            self.endurance_min is None
            or not math.isfinite(self.endurance_min)
            or self.endurance_min < 0
        ):
            raise ValueError("endurance_min: a drone needs its remaining endurance (>= 0 min)")
        if self.kind is UnitKind.CAMERA and not (self.coverage_m > 0):
            raise ValueError("coverage_m: a camera needs a coverage radius > 0")


@dataclass(frozen=True)
class Need:
    """One line of a run card (出警预案): ``count`` units of ``kind`` with ``capabilities``."""

    kind: UnitKind
    count: int = 1
    capabilities: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _kind(self.kind, "needs.kind"))
        object.__setattr__(self, "capabilities", frozenset(self.capabilities))
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"needs.count: must be an integer >= 1, got {self.count!r}")

    def matches(self, unit: UnitState) -> bool:
        """Whether ``unit`` is of this kind and has every capability asked for."""
        return unit.kind is self.kind and self.capabilities <= unit.capabilities


@dataclass(frozen=True)
class IncidentRequest:
    """An incident waiting for units: where, how urgent, and its run card."""

    id: str
    node: int
    lon: float
    lat: float
    priority: int
    """1 (most urgent) to 4."""
    needs: tuple[Need, ...] = (Need(UnitKind.PATROL_CAR),)
    district: int = -1

    def __post_init__(self) -> None:
        if isinstance(self.priority, bool) or self.priority not in PRIORITY_WEIGHT:
            raise ValueError(f"priority: must be 1, 2, 3 or 4, got {self.priority!r}")
        if isinstance(self.node, bool) or self.node < 0:
            raise ValueError(f"node: must be a road node index >= 0, got {self.node!r}")
        if not (math.isfinite(self.lon) and math.isfinite(self.lat)):
            raise ValueError("lon: the incident needs finite lon/lat")
        object.__setattr__(self, "needs", tuple(self.needs))


@dataclass(frozen=True)
class Recommendation:
    """One unit proposed for an incident, its ETA and machine-readable reasons."""

    unit_id: str
    kind: UnitKind
    eta_s: float
    reasons: list[Reason] = field(default_factory=list)


def _check_node(graph: RoadGraph, node: int, field_name: str) -> None:
    if not 0 <= node < graph.n_nodes:
        raise ValueError(f"{field_name}: node index {node} out of range (0..{graph.n_nodes - 1})")


def _check_cutoff(cutoff_s: float) -> None:
    if not cutoff_s >= 0:  # also refuses NaN
        raise ValueError(f"cutoff_s: must be >= 0, got {cutoff_s!r}")


def walk_matrix(graph: RoadGraph) -> csr_matrix:
    """Road lengths in metres, both directions of every road (walkers ignore one-way rules)."""
    cached = _walk_matrices.get(graph)
    if cached is None:
        src = np.repeat(np.arange(graph.n_nodes, dtype=np.int64), np.diff(graph.indptr))
        dst = graph.indices.astype(np.int64)
        metres = np.maximum(graph.length.astype(np.float64), MIN_EDGE_METRES)
        both = csr_arrays(
            graph.n_nodes,
            np.concatenate([src, dst]),
            np.concatenate([dst, src]),
            np.concatenate([metres, metres]),
            np.concatenate([metres, metres]),
        )
        n = graph.n_nodes
        cached = csr_matrix((both.travel_time, both.indices, both.indptr), shape=(n, n))
        _walk_matrices[graph] = cached
    return cached


def ground_etas(
    graph: RoadGraph,
    incident_node: int,
    units: Sequence[UnitState],
    cutoff_s: float = DEFAULT_CUTOFF_S,
) -> list[Recommendation]:
    """ETAs of the ground units that reach ``incident_node`` within ``cutoff_s``, in input order.

    One reverse search on travel times for cars, K9 and motorbikes; one on metres
    for foot patrols (only when there are any).
    """
    _check_cutoff(cutoff_s)
    _check_node(graph, incident_node, "incident.node")
    road = [u for u in units if u.kind in ROAD_KINDS]
    foot = [u for u in units if u.kind is UnitKind.FOOT]
    for u in road + foot:
        _check_node(graph, u.node, f"units[{u.id}].node")
    found: dict[str, Recommendation] = {}
    if road:
        factor = min(ROAD_TIME_FACTOR[u.kind] for u in road)
        times = travel_times_to(graph, incident_node, cutoff_s / factor)
        at = times[np.fromiter((u.node for u in road), dtype=np.int64, count=len(road))]
        for u, drive_s in zip(road, at.tolist(), strict=True):
            eta = drive_s * ROAD_TIME_FACTOR[u.kind]
            if eta <= cutoff_s:
                params: ReasonParams = {"seconds": round(eta, 1)}
                if ROAD_TIME_FACTOR[u.kind] != 1.0:
                    params["factor"] = ROAD_TIME_FACTOR[u.kind]
                found[u.id] = Recommendation(u.id, u.kind, eta, [("road_eta", params)])
    if foot:
        metres_all = dijkstra(
            walk_matrix(graph),
            directed=True,
            indices=incident_node,
            limit=cutoff_s * WALK_SPEED_MS,
        )
        at = np.asarray(metres_all)[
            np.fromiter((u.node for u in foot), dtype=np.int64, count=len(foot))
        ]
        for u, metres in zip(foot, at.tolist(), strict=True):
            eta = metres / WALK_SPEED_MS
            if eta <= cutoff_s:
                reason: Reason = ("walk_eta", {"seconds": round(eta, 1), "metres": round(metres)})
                found[u.id] = Recommendation(u.id, u.kind, eta, [reason])
    return [found[u.id] for u in units if u.id in found]


def drone_etas(
    lon: float,
    lat: float,
    units: Sequence[UnitState],
    cutoff_s: float = DEFAULT_CUTOFF_S,
    *,
    cruise_ms: float = DRONE_CRUISE_MS,
    launch_s: float = DRONE_LAUNCH_S,
    reserve_s: float = DRONE_RESERVE_S,
) -> list[Recommendation]:
    """Drones that can fly to (lon, lat) within ``cutoff_s`` and back with a reserve."""
    _check_cutoff(cutoff_s)
    drones = [u for u in units if u.kind is UnitKind.DRONE]
    if not drones:
        return []
    metres = haversine_m(
        np.array([u.lon for u in drones]), np.array([u.lat for u in drones]), lon, lat
    )
    out: list[Recommendation] = []
    for u, m in zip(drones, metres.tolist(), strict=True):
        flight = m / cruise_ms
        eta = launch_s + flight
        endurance_s = (u.endurance_min or 0.0) * 60.0
        if eta > cutoff_s or endurance_s < launch_s + 2.0 * flight + reserve_s:
            continue
        params: ReasonParams = {"seconds": round(eta, 1), "metres": round(m)}
        needed = launch_s + 2.0 * flight + reserve_s
        battery: ReasonParams = {"endurance_s": round(endurance_s), "needed_s": round(needed)}
        if u.battery_pct is not None:
            battery["battery_pct"] = round(u.battery_pct)
        out.append(
            Recommendation(u.id, u.kind, eta, [("air_eta", params), ("battery_ok", battery)])
        )
    return out


def camera_coverage(lon: float, lat: float, units: Sequence[UnitState]) -> list[Recommendation]:
    """Cameras whose coverage radius contains (lon, lat): ETA 0."""
    cams = [u for u in units if u.kind is UnitKind.CAMERA]
    if not cams:
        return []
    metres = haversine_m(np.array([u.lon for u in cams]), np.array([u.lat for u in cams]), lon, lat)
    return [
        Recommendation(
            u.id,
            u.kind,
            0.0,
            [("camera_covers", {"metres": round(m), "radius_m": round(u.coverage_m)})],
        )
        for u, m in zip(cams, metres.tolist(), strict=True)
        if m <= u.coverage_m
    ]


def recommend(
    graph: RoadGraph,
    incident: IncidentRequest,
    units: Sequence[UnitState],
    run_card: Sequence[Need] | None = None,
    cutoff_s: float = DEFAULT_CUTOFF_S,
) -> list[Recommendation]:
    """Available units that match the run card (the incident's own by default), fastest first."""
    _check_cutoff(cutoff_s)
    _check_node(graph, incident.node, "incident.node")
    needs = tuple(incident.needs if run_card is None else run_card)
    matching: list[UnitState] = []
    for u in units:
        if is_assignable(u.status) and any(n.matches(u) for n in needs):
            matching.append(u)
    ground = [u for u in matching if u.kind in GROUND_KINDS]
    found = ground_etas(graph, incident.node, ground, cutoff_s) if ground else []
    found += drone_etas(incident.lon, incident.lat, matching, cutoff_s)
    found += camera_coverage(incident.lon, incident.lat, matching)
    by_id = {u.id: u for u in matching}
    for rec in found:
        unit = by_id[rec.unit_id]
        rec.reasons.append(("kind_needed", {"kind": str(unit.kind)}))
        asked = frozenset().union(*(n.capabilities for n in needs if n.matches(unit)))
        if asked:
            rec.reasons.append(("capabilities_match", {"required": ",".join(sorted(asked))}))
        if unit.district >= 0 and unit.district == incident.district:
            rec.reasons.append(("same_district", {"district": unit.district}))
    found.sort(key=lambda r: (r.eta_s, r.unit_id))
    return found


@dataclass(frozen=True)
class JointPlan:
    """The outcome of a joint assignment: units per incident, with reasons and cost."""

    assignment: dict[str, list[str]]
    recommendations: dict[str, list[Recommendation]]
    unfilled: dict[str, list[Need]]
    """Run-card lines (one entry per missing unit) no available unit could fill."""
    cost: float
    """Total of ``w_p · ETA + coverage penalty`` over the filled slots."""


def coverage_penalty(
    remaining: int,
    *,
    coverage_weight: float = DEFAULT_COVERAGE_WEIGHT_S,
    busy_fraction: float = DEFAULT_BUSY_FRACTION,
    demand: float = 1.0,
) -> float:
    """Seconds charged for taking one of ``remaining`` available units out of a district."""
    if remaining < 1:
        return 0.0
    q = busy_fraction
    return coverage_weight * demand * (1.0 - q) * q ** (remaining - 1)


def _district_counts(units: Sequence[UnitState]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for u in units:
        if u.kind in GROUND_KINDS and u.district >= 0 and is_assignable(u.status):
            counts[u.district] = counts.get(u.district, 0) + 1
    return counts


def plan_jointly(
    graph: RoadGraph,
    incidents: Sequence[IncidentRequest],
    units: Sequence[UnitState],
    *,
    cutoff_s: float = DEFAULT_CUTOFF_S,
    coverage_weight: float = DEFAULT_COVERAGE_WEIGHT_S,
    busy_fraction: float = DEFAULT_BUSY_FRACTION,
    district_units: Mapping[int, int] | None = None,
    district_demand: Mapping[int, float] | None = None,
    priority_weight: Mapping[int, float] = PRIORITY_WEIGHT,
) -> JointPlan:
    """Assign units to several waiting incidents at once (minimum total cost, see module doc)."""
    if not 0.0 <= busy_fraction < 1.0:
        raise ValueError(f"busy_fraction: must be in [0, 1), got {busy_fraction!r}")
    if coverage_weight < 0:
        raise ValueError(f"coverage_weight: must be >= 0, got {coverage_weight!r}")
    ids = [i.id for i in incidents]
    if len(set(ids)) != len(ids):
        raise ValueError("incidents: incident ids must be unique")
    by_unit = {u.id: u for u in units}
    counts = dict(district_units) if district_units is not None else _district_counts(units)
    demand = district_demand or {}
    assignment: dict[str, list[str]] = {i.id: [] for i in incidents}
    chosen: dict[str, list[Recommendation]] = {i.id: [] for i in incidents}
    unfilled: dict[str, list[Need]] = {i.id: [] for i in incidents}

    # slots: (incident, need) once per unit needed; cameras are shared, filled directly
    slots: list[tuple[IncidentRequest, Need]] = []
    etas: dict[str, dict[str, Recommendation]] = {}
    for inc in incidents:
        recs = recommend(graph, inc, units, cutoff_s=cutoff_s)
        etas[inc.id] = {r.unit_id: r for r in recs}
        for need in inc.needs:
            if need.kind is UnitKind.CAMERA:
                cams = [r for r in recs if need.matches(by_unit[r.unit_id])][: need.count]
                chosen[inc.id] += cams
                unfilled[inc.id] += [need] * (need.count - len(cams))
            else:
                slots += [(inc, need)] * need.count
    columns = sorted(
        {r for inc in incidents for r in etas[inc.id] if by_unit[r].kind is not UnitKind.CAMERA}
    )
    col_of = {uid: j for j, uid in enumerate(columns)}
    n_slots, n_units = len(slots), len(columns)
    eta_m: NDArray[np.float64] = np.full((n_slots, n_units), np.inf)
    for s, (inc, need) in enumerate(slots):
        for uid, rec in etas[inc.id].items():
            if uid in col_of and need.matches(by_unit[uid]):
                eta_m[s, col_of[uid]] = rec.eta_s
    feasible = np.isfinite(eta_m)
    alternatives = feasible.sum(axis=1)
    pen_m: NDArray[np.float64] = np.zeros((n_slots, n_units))
    if coverage_weight > 0:
        for uid, j in col_of.items():
            unit = by_unit[uid]
            if unit.kind not in GROUND_KINDS or unit.district < 0:
                continue
            pen = coverage_penalty(
                counts.get(unit.district, 1),
                coverage_weight=coverage_weight,
                busy_fraction=busy_fraction,
                demand=demand.get(unit.district, 1.0),
            )
            for s, (inc, _need) in enumerate(slots):
                if feasible[s, j] and inc.district != unit.district and alternatives[s] > 1:
                    pen_m[s, j] = pen
    weights = np.array([priority_weight[inc.priority] for inc, _ in slots], dtype=np.float64)
    cost: NDArray[np.float64] = np.full((n_slots, n_units + n_slots), np.inf)
    cost[:, :n_units] = weights[:, None] * eta_m + pen_m
    cost[np.arange(n_slots), n_units + np.arange(n_slots)] = UNSERVED_S * weights
    total = 0.0
    if n_slots:
        rows, cols = linear_sum_assignment(cost)
        used = set(cols.tolist())
        for s, j in zip(rows.tolist(), cols.tolist(), strict=True):
            inc, need = slots[s]
            if j >= n_units:
                unfilled[inc.id].append(need)
                continue
            uid = columns[j]
            total += float(cost[s, j])
            rec = etas[inc.id][uid]
            reasons = list(rec.reasons)
            reasons.append(("joint_assignment", {"incidents": len(incidents), "slots": n_slots}))
            unit = by_unit[uid]
            if pen_m[s, j] > 0:
                reasons.append(
                    (
                        "district_cover_cost",
                        {
                            "district": unit.district,
                            "remaining": counts.get(unit.district, 1),
                            "seconds": round(float(pen_m[s, j]), 1),
                        },
                    )
                )
            faster = [
                jj
                for jj in np.flatnonzero(feasible[s] & (eta_m[s] < eta_m[s, j])).tolist()
                if pen_m[s, jj] > pen_m[s, j] and jj not in used
            ]
            if faster:
                jj = min(faster, key=lambda k: float(eta_m[s, k]))
                other = by_unit[columns[jj]]
                reasons.append(
                    (
                        "district_cover_kept",
                        {
                            "faster_unit": other.id,
                            "district": other.district,
                            "remaining": counts.get(other.district, 1),
                            "seconds_slower": round(float(eta_m[s, j] - eta_m[s, jj]), 1),
                        },
                    )
                )
            assignment[inc.id].append(uid)
            chosen[inc.id].append(Recommendation(uid, rec.kind, rec.eta_s, reasons))
    for inc in incidents:
        for rec in chosen[inc.id]:
            if rec.kind is UnitKind.CAMERA:
                assignment[inc.id].append(rec.unit_id)
    return JointPlan(assignment, chosen, unfilled, total)


def assign_jointly(
    graph: RoadGraph,
    incidents: Sequence[IncidentRequest],
    units: Sequence[UnitState],
    *,
    cutoff_s: float = DEFAULT_CUTOFF_S,
    coverage_weight: float = DEFAULT_COVERAGE_WEIGHT_S,
    busy_fraction: float = DEFAULT_BUSY_FRACTION,
    district_units: Mapping[int, int] | None = None,
    district_demand: Mapping[int, float] | None = None,
) -> dict[str, list[str]]:
    """Unit ids per incident id from the joint, coverage-aware assignment."""
    return plan_jointly(
        graph,
        incidents,
        units,
        cutoff_s=cutoff_s,
        coverage_weight=coverage_weight,
        busy_fraction=busy_fraction,
        district_units=district_units,
        district_demand=district_demand,
    ).assignment


def assign_greedily(
    graph: RoadGraph,
    incidents: Sequence[IncidentRequest],
    units: Sequence[UnitState],
    *,
    cutoff_s: float = DEFAULT_CUTOFF_S,
) -> dict[str, list[str]]:
    """The usual CAD rule, for comparison: by priority, each incident takes its fastest units."""
    taken: set[str] = set()
    out: dict[str, list[str]] = {i.id: [] for i in incidents}
    by_unit = {u.id: u for u in units}
    order = sorted(range(len(incidents)), key=lambda k: (incidents[k].priority, k))
    for k in order:
        inc = incidents[k]
        recs = recommend(graph, inc, units, cutoff_s=cutoff_s)
        for need in inc.needs:
            picked = 0
            for rec in recs:
                if picked == need.count:
                    break
                shared = rec.kind is UnitKind.CAMERA
                if need.matches(by_unit[rec.unit_id]) and (shared or rec.unit_id not in taken):
                    if rec.unit_id in out[inc.id]:
                        continue
                    out[inc.id].append(rec.unit_id)
                    if not shared:
                        taken.add(rec.unit_id)
                    picked += 1
    return out


def expected_response_s(
    times_s: NDArray[np.float64],
    *,
    busy_fraction: float = DEFAULT_BUSY_FRACTION,
    unreachable_s: float = DEFAULT_CUTOFF_S,
) -> NDArray[np.float64]:
    """Per demand point, the expected response from a set of posts whose units are each busy w.p. q.

    ``times_s`` has one row per post (a post may appear twice: two units there) and one column
    per demand point. With the posts sorted by time ``t_1 <= t_2 <= ...`` for a demand point,
    the expected response is ``Σ_i (1 − q) q^(i−1) t_i + q^n · unreachable_s``: the nearest
    unit answers unless it is busy, then the second, and so on (MEXCLP's independence
    assumption, with time in place of a coverage radius). Times beyond ``unreachable_s``
    count as ``unreachable_s``.
    """
    _check_busy_fraction(busy_fraction)
    q = busy_fraction
    t = np.sort(np.minimum(np.asarray(times_s, dtype=np.float64), unreachable_s), axis=0)
    n = t.shape[0]
    w = (1.0 - q) * q ** np.arange(n, dtype=np.float64)
    result: NDArray[np.float64] = (w[:, None] * t).sum(axis=0) + q**n * unreachable_s
    return result


def _check_busy_fraction(busy_fraction: float) -> None:
    if not 0.0 <= busy_fraction < 1.0:
        raise ValueError(f"busy_fraction: must be in [0, 1), got {busy_fraction!r}")


def plan_standby_posts(
    travel_s: NDArray[np.float64],
    demand: NDArray[np.float64],
    count: int,
    *,
    busy_fraction: float = DEFAULT_BUSY_FRACTION,
    unreachable_s: float = DEFAULT_CUTOFF_S,
) -> list[int]:
    """Where idle units should wait: ``count`` candidate posts, best first (a compliance table).

    ``travel_s[c, d]`` is the drive from candidate post ``c`` to demand point ``d`` (inf when
    unreachable), ``demand[d]`` the weight of ``d`` (calls per day, say). Greedily adds the
    candidate that lowers the demand-weighted :func:`expected_response_s` most (a candidate may
    be taken again: a second unit at the same post). The result is nested: with ``k`` idle
    units, the first ``k`` posts are the greedy plan for ``k`` units, so the move-up after a
    dispatch (:func:`move_up`) needs few moves.
    """
    _check_busy_fraction(busy_fraction)
    times = np.minimum(np.asarray(travel_s, dtype=np.float64), unreachable_s)
    weights = np.asarray(demand, dtype=np.float64)
    if times.ndim != 2 or times.shape[1] != weights.shape[0]:
        raise ValueError("travel_s: must be candidates × demand points, matching demand")
    if isinstance(count, bool) or count < 0:
        raise ValueError(f"count: must be an integer >= 0, got {count!r}")
    if count and times.shape[0] == 0:
        raise ValueError("travel_s: no candidate posts")
    if np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise ValueError("demand: weights must be finite and >= 0")
    q = busy_fraction
    n_demand = times.shape[1]
    chosen: list[int] = []
    current: NDArray[np.float64] = np.full(n_demand, unreachable_s)  # expected response now
    ordered = np.zeros((n_demand, 0))  # per demand point, the chosen posts' times, ascending
    for _ in range(count):
        k = ordered.shape[1]
        # inserting time t at rank m: E' = q·E + (1 − q)·(A_m + q^m · t), A_m = Σ_{i<=m} w_i t_i
        w = (1.0 - q) * q ** np.arange(k, dtype=np.float64)
        prefix = np.concatenate([np.zeros((n_demand, 1)), np.cumsum(ordered * w, axis=1)], axis=1)
        rank = (ordered[None, :, :] <= times[:, :, None]).sum(axis=2)  # candidates × demand
        a_m = np.take_along_axis(prefix, rank.T, axis=1).T
        new = q * current[None, :] + (1.0 - q) * (a_m + q**rank * times)
        best = int(np.argmin(new @ weights))
        chosen.append(best)
        current = new[best]
        ordered = np.sort(np.concatenate([ordered, times[best][:, None]], axis=1), axis=1)
    return chosen


def move_up(
    travel_s: NDArray[np.float64],
    *,
    current: Sequence[int | None] | None = None,
    move_cost_s: float = 0.0,
    max_move_s: float = math.inf,
) -> list[int | None]:
    """Which post each idle unit should wait at (move-up / relocation after dispatches).

    ``travel_s[u, p]`` is the drive of idle unit ``u`` (from where it is, or 0 for the post it
    is already at or heading to) to post ``p``; the posts are the first ``len(units)`` entries
    of :func:`plan_standby_posts`. A minimum-total-drive assignment fills every post it can with one
    unit (``scipy.optimize.linear_sum_assignment``); a unit already at its post costs 0, so it
    stays. ``current[u]`` is the post unit ``u`` is at or heading to (None: none); every other
    post costs ``move_cost_s`` more, so the plan prefers one longer move to a chain of short
    ones (crews dislike being shuffled). Returns the post index per unit, or None for a unit
    left where it is (more units than posts, or every post it could fill is beyond
    ``max_move_s``).
    """
    times = np.asarray(travel_s, dtype=np.float64)
    if times.ndim != 2:
        raise ValueError("travel_s: must be units × posts")
    if not max_move_s >= 0:
        raise ValueError(f"max_move_s: must be >= 0, got {max_move_s!r}")
    if not move_cost_s >= 0:
        raise ValueError(f"move_cost_s: must be >= 0, got {move_cost_s!r}")
    n_units, n_posts = times.shape
    if current is not None and len(current) != n_units:
        raise ValueError("current: one entry per unit")
    result: list[int | None] = [None] * n_units
    if n_units == 0 or n_posts == 0:
        return result
    big = UNSERVED_S
    cost = np.where(np.isfinite(times) & (times <= max_move_s), times, big)
    if move_cost_s > 0:
        moving = np.ones((n_units, n_posts), dtype=bool)
        for u, p in enumerate(current or []):
            if p is not None and 0 <= p < n_posts:
                moving[u, p] = False
        cost = np.where(moving & (cost < big), cost + move_cost_s, cost)
    rows, cols = linear_sum_assignment(cost)
    for u, p in zip(rows.tolist(), cols.tolist(), strict=True):
        if cost[u, p] < big:
            result[u] = p
    return result


def should_redirect(
    en_route_remaining_s: float,
    candidate_eta_s: float,
    *,
    min_gain_s: float = 60.0,
    min_gain_fraction: float = 0.3,
) -> bool:
    """Whether to recommend redirecting: a free unit reaches the call much sooner than the one
    already on the way (by ``min_gain_s`` seconds and ``min_gain_fraction`` of its remaining
    drive), so swapping is worth the radio call and the U-turn.
    """
    if not (en_route_remaining_s >= 0 and candidate_eta_s >= 0):
        raise ValueError("candidate_eta_s: drive times must be >= 0")
    gain = en_route_remaining_s - candidate_eta_s
    return gain >= min_gain_s and gain >= min_gain_fraction * en_route_remaining_s
