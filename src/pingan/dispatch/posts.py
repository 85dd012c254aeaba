"""Security posts for a large event (大型活动安保布岗): p-median on the road network.

Given the road graph, the event's perimeter and its expected crowd, :func:`plan_posts`
places foot patrols, K9 teams and drones so that the weighted time to reach the crowd
is smallest, and reports how much of it each post covers within its standard.

**Demand.** Demand points are road nodes:

- *inside* the perimeter: the crowd is assumed evenly spread, so each inside node gets
  an equal share of ``inside_share`` (0.7) of the expected crowd. Nodes are denser where
  streets are, which is where people stand and walk, so equal node weights are an
  area-density proxy without a land-use layer.
- *approach roads*: nodes outside the perimeter but within ``approach_m`` (500 m) of
  it by walking. People arrive along shortest walks to the perimeter, so the remaining
  ``1 − inside_share`` of the crowd is spread over the approach nodes in proportion to
  ``1 + funnel(n)``, where ``funnel(n)`` is the number of approach nodes whose shortest
  walk to the perimeter passes through ``n`` (the subtree size in the shortest-path
  forest grown from the perimeter). That is a cheap, one-search betweenness proxy for
  approach flow: a street that collects the walks of a whole neighbourhood weighs more
  than a dead end next to it.

**Costs.** Foot patrols and K9 teams (dog handlers walk at events) walk at the
platform's walking speed (5 km/h) along road *lengths* in both directions, the same
walking model :mod:`pingan.dispatch.recommend` uses. This is the **drive** graph walked
on foot: pedestrian streets, squares and park paths are missing, so walking times are
overestimated (conservative) where such paths exist; posts stand on drive-graph nodes
so that units can be routed to them. Drones fly the straight line at
:data:`~pingan.dispatch.recommend.DRONE_CRUISE_MS`; their coverage standard is a radius.

**Problem.** For each kind, choose ``p`` posts among candidate nodes to minimise
``Σ_i w_i · min_{j ∈ posts} c(j, i)`` (the p-median, Hakimi 1964; ReVelle & Swain
1970). Kinds are placed one after the other (most posts first) and a node taken by one
kind is not a candidate for the next, so posts of different kinds do not stack unless
the candidates run out (then the post is flagged ``shared_node``).

**Solvers.** Large instances are reduced first: demand to at most ``max_demand``
weighted clusters (k-means on projected metres; each cluster is represented by its
member nearest the centroid and carries the members' total weight) and candidates to
at most ``max_candidates`` spread nodes (the same clustering). The reduced problem is
solved exactly by trying every candidate set when there are at most 20,000 of them (one
or two posts of a kind), else as a MILP with ``scipy.optimize.milp`` (HiGHS; strong formulation with
``x_ij ≤ y_j``) when it has at most ``milp_max_pairs`` assignment variables, else —
or when HiGHS returns no solution within ``time_limit_s`` — by greedy addition followed
by Teitz–Bart vertex interchange (Teitz & Bart 1968). Every plan reports the method,
its objective on the reduced instance, the MILP bound and gap when there is one, and
the objective and coverage re-evaluated on the *full* demand set.

Pure: numpy/scipy/shapely in, dataclasses out; no database.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.cluster.vq import kmeans2
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely import contains_xy
from shapely.geometry.base import BaseGeometry

from pingan.city.graph import RoadGraph, haversine_m
from pingan.city.routing import project
from pingan.dispatch.recommend import DRONE_CRUISE_MS, WALK_SPEED_MS, UnitKind, walk_matrix

Method = Literal["auto", "milp", "heuristic"]
PostKind = Literal["foot", "k9", "drone"]

POST_KINDS: Final[tuple[PostKind, ...]] = ("foot", "k9", "drone")
DEFAULT_APPROACH_M: Final = 500.0
DEFAULT_INSIDE_SHARE: Final = 0.7
DEFAULT_STANDARD_S: Final[Mapping[str, float]] = {"foot": 180.0, "k9": 300.0}
"""Walking-time standards: a foot post reaches its area in 3 min, a K9 team in 5 min."""
DEFAULT_DRONE_RADIUS_M: Final = 400.0
DEFAULT_MAX_DEMAND: Final = 150
DEFAULT_MAX_CANDIDATES: Final = 120
DEFAULT_MILP_MAX_PAIRS: Final = 40_000
DEFAULT_TIME_LIMIT_S: Final = 20.0
DEFAULT_ENUMERATE_MAX: Final = 20_000
"""Up to this many candidate sets (one or two posts, mostly) are simply all tried."""
UNREACHED_S: Final = 3_600.0
"""Cost of a demand point a post cannot reach within the search limit (one hour)."""

ReasonParams = dict[str, float | int | str]


class PlanInputError(ValueError):
    """Bad input to :func:`plan_posts`; ``field`` names what is wrong."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True)
class PostSpec:
    """How many posts of one kind, and the standard each must meet.

    ``standard_s`` (foot, K9) is the walking time within which a post covers a demand
    point; ``radius_m`` (drones) is the air radius.
    """

    kind: PostKind
    count: int
    standard_s: float | None = None
    radius_m: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in POST_KINDS:
            raise PlanInputError("kind", f"unknown post kind {self.kind!r}")
        if self.count < 0:
            raise PlanInputError(f"{self.kind}.count", "must be >= 0")
        if self.kind == "drone":
            if self.radius_m is None or not self.radius_m > 0:
                raise PlanInputError("drone.radius_m", "must be > 0")
        elif self.standard_s is None or not self.standard_s > 0:
            raise PlanInputError(f"{self.kind}.standard_s", "must be > 0")

    @property
    def unit_kind(self) -> UnitKind:
        """The dispatch unit kind that staffs this post."""
        return UnitKind(self.kind)


def default_spec(kind: PostKind, count: int) -> PostSpec:
    """A spec with the default standard of ``kind``."""
    if kind == "drone":
        return PostSpec(kind, count, radius_m=DEFAULT_DRONE_RADIUS_M)
    return PostSpec(kind, count, standard_s=DEFAULT_STANDARD_S[kind])


@dataclass(frozen=True)
class Demand:
    """The demand points of an event: nodes, weights, and whether each is inside."""

    nodes: NDArray[np.int64]
    weight: NDArray[np.float64]
    inside: NDArray[np.bool_]
    walk_m_to_perimeter: NDArray[np.float64]

    @property
    def total(self) -> float:
        """The total demand weight (the expected crowd)."""
        return float(self.weight.sum())


@dataclass(frozen=True)
class Post:
    """One proposed post."""

    kind: PostKind
    node: int
    lon: float
    lat: float
    assigned_share: float
    """Share of the total demand weight that this post is nearest to (its p-median area)."""
    covered_share: float
    """Share of the total demand weight within this post's standard."""
    mean_cost_s: float
    """Mean walking (or flight) seconds from the post over the demand assigned to it."""
    inside: bool
    shared_node: bool = False
    reasons: list[tuple[str, ReasonParams]] = field(default_factory=list)


@dataclass(frozen=True)
class KindPlan:
    """The posts of one kind and how the solver found them."""

    spec: PostSpec
    posts: list[Post]
    method: str
    """``enumeration`` or ``milp`` (exact), ``heuristic`` (greedy + Teitz–Bart), ``none``."""
    objective: float
    """Weighted mean seconds on the reduced instance (the solver's own objective / total)."""
    bound: float | None
    gap: float | None
    full_objective_s: float
    """Weighted mean seconds to the nearest post, over the full demand set."""
    coverage: float
    """Share of the full demand weight within the standard of some post of this kind."""
    reduced_demand: int
    candidates: int
    fallback_reason: str | None = None


@dataclass(frozen=True)
class Plan:
    """A post plan for an event."""

    kinds: list[KindPlan]
    demand_points: int
    inside_points: int
    approach_points: int
    total_weight: float

    @property
    def posts(self) -> list[Post]:
        """Every post of every kind."""
        return [p for k in self.kinds for p in k.posts]


# ----------------------------------------------------------------------------- demand


def _walk_metres(
    graph: RoadGraph, sources: NDArray[np.int64], limit_m: float
) -> NDArray[np.float64]:
    times = dijkstra(
        walk_matrix(graph), directed=True, indices=sources.astype(np.int32), limit=limit_m
    )
    return np.asarray(times, dtype=np.float64)


def build_demand(
    graph: RoadGraph,
    perimeter: BaseGeometry,
    *,
    crowd: float,
    approach_m: float = DEFAULT_APPROACH_M,
    inside_share: float = DEFAULT_INSIDE_SHARE,
) -> Demand:
    """The weighted demand points of an event (see the module docstring for the weights)."""
    if perimeter.is_empty or not perimeter.is_valid or perimeter.geom_type != "Polygon":
        raise PlanInputError("perimeter", "must be a valid polygon")
    if not crowd > 0:
        raise PlanInputError("expected_crowd", "must be > 0")
    if not approach_m >= 0:
        raise PlanInputError("approach_m", "must be >= 0")
    if not 0.0 < inside_share <= 1.0:
        raise PlanInputError("inside_share", "must be in (0, 1]")
    inside_mask = np.asarray(contains_xy(perimeter, graph.lon, graph.lat), dtype=bool)
    inside_nodes = np.flatnonzero(inside_mask).astype(np.int64)
    if inside_nodes.size == 0:
        raise PlanInputError("perimeter", "contains no node of the road network")
    n = graph.n_nodes
    if approach_m > 0:
        dist, pred, _origin = dijkstra(
            walk_matrix(graph),
            directed=True,
            indices=inside_nodes.astype(np.int32),
            limit=approach_m,
            min_only=True,
            return_predecessors=True,
        )
        dist = np.asarray(dist, dtype=np.float64)
        pred = np.asarray(pred, dtype=np.int64)
    else:
        dist = np.where(inside_mask, 0.0, np.inf)
        pred = np.full(n, -9999, dtype=np.int64)
    approach = np.flatnonzero(np.isfinite(dist) & ~inside_mask).astype(np.int64)
    # Funnel: how many approach nodes' shortest walks to the perimeter pass through a node.
    # Walk the forest from the farthest node inwards, adding each subtree to its parent.
    funnel = np.zeros(n, dtype=np.float64)
    for node in approach[np.argsort(-dist[approach], kind="stable")].tolist():
        parent = int(pred[node])
        if parent >= 0 and not inside_mask[parent]:
            funnel[parent] += funnel[node] + 1.0
    share_in = inside_share if approach.size else 1.0
    w_in = np.full(inside_nodes.size, crowd * share_in / inside_nodes.size)
    if approach.size:
        raw = 1.0 + funnel[approach]
        w_app = crowd * (1.0 - share_in) * raw / raw.sum()
    else:
        w_app = np.zeros(0)
    nodes = np.concatenate([inside_nodes, approach])
    return Demand(
        nodes=nodes,
        weight=np.concatenate([w_in, w_app]),
        inside=np.concatenate([np.ones(inside_nodes.size, bool), np.zeros(approach.size, bool)]),
        walk_m_to_perimeter=np.concatenate([np.zeros(inside_nodes.size), dist[approach]]),
    )


# ------------------------------------------------------------------------- reduction


def _xy(graph: RoadGraph, nodes: NDArray[np.int64]) -> NDArray[np.float64]:
    lat0 = float(np.mean(graph.lat[nodes])) if nodes.size else 0.0
    x, y = project(graph.lon[nodes], graph.lat[nodes], lat0)
    return np.column_stack([x, y])


def cluster_points(
    xy: NDArray[np.float64], weight: NDArray[np.float64], k: int, *, seed: int = 0
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """``k`` weighted clusters of points: representative index, cluster weight, label per point.

    k-means (``scipy.cluster.vq.kmeans2``, k-means++ start, fixed seed); each cluster is
    represented by its member nearest the centroid. With ``k >= len(xy)`` every point is
    its own cluster.
    """
    m = xy.shape[0]
    if k >= m:
        return np.arange(m, dtype=np.int64), weight.copy(), np.arange(m, dtype=np.int64)
    centroids, labels = kmeans2(xy, k, minit="++", seed=seed)
    reps: list[int] = []
    weights: list[float] = []
    new_label = np.full(m, -1, dtype=np.int64)
    for c in range(k):
        members = np.flatnonzero(labels == c)
        if members.size == 0:
            continue
        d = ((xy[members] - centroids[c]) ** 2).sum(axis=1)
        reps.append(int(members[int(np.argmin(d))]))
        weights.append(float(weight[members].sum()))
        new_label[members] = len(reps) - 1
    return np.array(reps, dtype=np.int64), np.array(weights), new_label


# ---------------------------------------------------------------------------- solvers


@dataclass(frozen=True)
class Solution:
    """Chosen candidate positions (indices into the cost matrix rows) and how."""

    chosen: list[int]
    objective: float
    method: str
    bound: float | None = None
    gap: float | None = None
    fallback_reason: str | None = None


def weighted_cost(
    cost: NDArray[np.float64], weight: NDArray[np.float64], chosen: Sequence[int]
) -> float:
    """``Σ_i w_i · min_{j ∈ chosen} cost[j, i]``."""
    return float((weight * cost[list(chosen)].min(axis=0)).sum())


def _without_each(cost: NDArray[np.float64], chosen: Sequence[int]) -> NDArray[np.float64]:
    """Row s: each demand point's cost to its nearest chosen candidate other than chosen[s]."""
    sub = cost[list(chosen)]  # p × I
    if sub.shape[0] == 1:
        return np.full_like(sub, np.inf)
    cols = np.arange(sub.shape[1])
    order = np.argsort(sub, axis=0)
    first = sub[order[0], cols]
    second = sub[order[1], cols]
    is_first = order[0][None, :] == np.arange(sub.shape[0])[:, None]
    return np.asarray(np.where(is_first, second[None, :], first[None, :]), dtype=np.float64)


def solve_greedy_interchange(
    cost: NDArray[np.float64], weight: NDArray[np.float64], p: int, *, max_rounds: int = 50
) -> Solution:
    """Greedy addition, then Teitz–Bart vertex interchange until no swap improves.

    ``cost`` is candidates × demand. Each round tries, for every candidate outside
    the solution, the best swap with a chosen one (evaluated with each demand point's
    nearest and second-nearest chosen candidate) and applies it at once when it
    improves the objective.
    """
    n_cand = cost.shape[0]
    if not 0 < p <= n_cand:
        raise PlanInputError("count", f"needs 1..{n_cand} posts, got {p}")
    chosen: list[int] = []
    best = np.full(cost.shape[1], np.inf)
    for _ in range(p):
        totals = (weight * np.minimum(cost, best)).sum(axis=1)
        totals[chosen] = np.inf
        j = int(np.argmin(totals))
        chosen.append(j)
        best = np.minimum(best, cost[j])
    current = weighted_cost(cost, weight, chosen)
    without = _without_each(cost, chosen)
    for _ in range(max_rounds):
        improved = False
        for j in range(n_cand):
            if j in chosen:
                continue
            totals = (weight * np.minimum(without, cost[j][None, :])).sum(axis=1)
            s = int(np.argmin(totals))
            if totals[s] < current - 1e-9 * max(1.0, abs(current)):
                chosen[s] = j
                current = float(totals[s])
                without = _without_each(cost, chosen)
                improved = True
        if not improved:
            break
    return Solution(chosen=sorted(chosen), objective=current, method="heuristic")


def solve_milp(
    cost: NDArray[np.float64],
    weight: NDArray[np.float64],
    p: int,
    *,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> Solution | None:
    """The exact p-median by MILP (HiGHS through ``scipy.optimize.milp``); None if unsolved.

    Variables: ``y_j`` (open candidate j, binary) and ``x_ij`` (demand i served by j,
    continuous in [0, 1] — integral at any optimum once y is). Constraints:
    ``Σ_j x_ij = 1``, ``x_ij ≤ y_j``, ``Σ_j y_j = p``.
    """
    n_cand, n_dem = cost.shape
    if not 0 < p <= n_cand:
        raise PlanInputError("count", f"needs 1..{n_cand} posts, got {p}")
    n_x = n_cand * n_dem  # x index = j * n_dem + i
    c = np.concatenate([np.zeros(n_cand), (cost * weight[None, :]).ravel()])
    integrality = np.concatenate([np.ones(n_cand), np.zeros(n_x)])
    jj = np.repeat(np.arange(n_cand), n_dem)
    ii = np.tile(np.arange(n_dem), n_cand)
    xcol = n_cand + np.arange(n_x)
    # Σ_j x_ij = 1
    assign = coo_matrix((np.ones(n_x), (ii, xcol)), shape=(n_dem, n_cand + n_x))
    # x_ij − y_j ≤ 0
    rows = np.arange(n_x)
    link = coo_matrix(
        (
            np.concatenate([np.ones(n_x), -np.ones(n_x)]),
            (np.concatenate([rows, rows]), np.concatenate([xcol, jj])),
        ),
        shape=(n_x, n_cand + n_x),
    )
    count = coo_matrix(
        (np.ones(n_cand), (np.zeros(n_cand, dtype=np.int64), np.arange(n_cand))),
        shape=(1, n_cand + n_x),
    )
    constraints = [
        LinearConstraint(assign.tocsr(), 1.0, 1.0),
        LinearConstraint(link.tocsr(), -np.inf, 0.0),
        LinearConstraint(count.tocsr(), p, p),
    ]
    res = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-6, "disp": False},
    )
    if res.x is None:
        return None
    y = np.asarray(res.x[:n_cand])
    chosen = sorted(int(j) for j in np.argsort(-y)[:p])
    objective = weighted_cost(cost, weight, chosen)
    bound = getattr(res, "mip_dual_bound", None)
    gap = getattr(res, "mip_gap", None)
    return Solution(
        chosen=chosen,
        objective=objective,
        method="milp",
        bound=float(bound) if bound is not None and math.isfinite(bound) else None,
        gap=float(gap) if gap is not None and math.isfinite(gap) else None,
    )


def solve_enumeration(cost: NDArray[np.float64], weight: NDArray[np.float64], p: int) -> Solution:
    """The exact p-median by trying every set of ``p`` candidates (small ``C(n, p)`` only)."""
    n_cand = cost.shape[0]
    if not 0 < p <= n_cand:
        raise PlanInputError("count", f"needs 1..{n_cand} posts, got {p}")
    weighted = cost * weight[None, :]
    if p == 1:
        totals = weighted.sum(axis=1)
        j = int(np.argmin(totals))
        return Solution([j], float(totals[j]), "enumeration", bound=float(totals[j]), gap=0.0)
    best: tuple[float, tuple[int, ...]] = (math.inf, ())
    for combo in itertools.combinations(range(n_cand), p):
        total = float((weight * cost[list(combo)].min(axis=0)).sum())
        if total < best[0]:
            best = (total, combo)
    return Solution(sorted(best[1]), best[0], "enumeration", bound=best[0], gap=0.0)


def solve_p_median(
    cost: NDArray[np.float64],
    weight: NDArray[np.float64],
    p: int,
    *,
    method: Method = "auto",
    milp_max_pairs: int = DEFAULT_MILP_MAX_PAIRS,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    enumerate_max: int = DEFAULT_ENUMERATE_MAX,
) -> Solution:
    """The p-median of a candidates × demand cost matrix (see the module docstring).

    ``auto``: exact enumeration when there are at most ``enumerate_max`` candidate sets,
    else the MILP up to ``milp_max_pairs`` assignment variables, else the heuristic.
    """
    if cost.ndim != 2 or cost.shape[1] != weight.shape[0]:
        raise PlanInputError("cost", "must be candidates × demand, matching the weights")
    if np.any(weight < 0) or not np.all(np.isfinite(weight)):
        raise PlanInputError("weight", "must be finite and >= 0")
    if method == "heuristic":
        return solve_greedy_interchange(cost, weight, p)
    if method == "auto" and 0 < p <= cost.shape[0] and math.comb(cost.shape[0], p) <= enumerate_max:
        return solve_enumeration(cost, weight, p)
    pairs = cost.shape[0] * cost.shape[1]
    if method == "auto" and pairs > milp_max_pairs:
        sol = solve_greedy_interchange(cost, weight, p)
        return Solution(sol.chosen, sol.objective, sol.method, fallback_reason=f"too_large:{pairs}")
    exact = solve_milp(cost, weight, p, time_limit_s=time_limit_s)
    if exact is None:
        if method == "milp":
            raise PlanInputError("method", "the MILP found no solution within the time limit")
        sol = solve_greedy_interchange(cost, weight, p)
        return Solution(sol.chosen, sol.objective, sol.method, fallback_reason="milp_no_solution")
    if method == "auto" and exact.gap is not None and exact.gap > 1e-6:
        # Stopped by the time limit: keep the better of its incumbent and the heuristic;
        # the MILP's bound still bounds the gap of either.
        heur = solve_greedy_interchange(cost, weight, p)
        if heur.objective < exact.objective:
            gap = None
            if exact.bound is not None and heur.objective > 0:
                gap = max(0.0, (heur.objective - exact.bound) / heur.objective)
            return Solution(
                heur.chosen,
                heur.objective,
                heur.method,
                bound=exact.bound,
                gap=gap,
                fallback_reason="milp_time_limit",
            )
    return exact


# ------------------------------------------------------------------------------ plan


def _costs(
    graph: RoadGraph,
    spec: PostSpec,
    sources: NDArray[np.int64],
    targets: NDArray[np.int64],
    limit_m: float,
) -> NDArray[np.float64]:
    """Seconds from each source node to each target node for ``spec``'s kind."""
    if spec.kind == "drone":
        d = haversine_m(
            graph.lon[sources][:, None],
            graph.lat[sources][:, None],
            graph.lon[targets][None, :],
            graph.lat[targets][None, :],
        )
        return np.asarray(d, dtype=np.float64) / DRONE_CRUISE_MS
    metres = _walk_metres(graph, sources, limit_m)[:, targets]
    return np.where(np.isfinite(metres), metres / WALK_SPEED_MS, UNREACHED_S)


def _within(spec: PostSpec, seconds: NDArray[np.float64]) -> NDArray[np.bool_]:
    if spec.kind == "drone":
        assert spec.radius_m is not None
        return np.asarray(seconds * DRONE_CRUISE_MS <= spec.radius_m + 1e-6)
    assert spec.standard_s is not None
    return np.asarray(seconds <= spec.standard_s + 1e-6)


def plan_posts(
    graph: RoadGraph,
    perimeter: BaseGeometry,
    *,
    crowd: float,
    specs: Sequence[PostSpec],
    approach_m: float = DEFAULT_APPROACH_M,
    inside_share: float = DEFAULT_INSIDE_SHARE,
    method: Method = "auto",
    max_demand: int = DEFAULT_MAX_DEMAND,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    milp_max_pairs: int = DEFAULT_MILP_MAX_PAIRS,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    time_budget_s: float | None = None,
    seed: int = 0,
) -> Plan:
    """Posts for every spec (kind, count, standard) covering the event and its approaches.

    Candidates are the demand nodes (inside the perimeter and on the approach roads);
    see the module docstring for the demand weights, the reduction and the solvers.
    ``time_budget_s`` bounds the MILP time of the whole plan (each kind gets what is
    left less a second for every kind still to place; ``time_limit_s`` caps each kind).
    Raises :class:`PlanInputError` naming the field on bad input.
    """
    if method not in ("auto", "milp", "heuristic"):
        raise PlanInputError("method", f"unknown method {method!r}")
    if max_demand < 1 or max_candidates < 1:
        raise PlanInputError("max_demand", "reduction sizes must be >= 1")
    kinds = [s.kind for s in specs]
    if len(set(kinds)) != len(kinds):
        raise PlanInputError("kind", "each kind may appear once")
    demand = build_demand(
        graph, perimeter, crowd=crowd, approach_m=approach_m, inside_share=inside_share
    )
    total = demand.total
    xy = _xy(graph, demand.nodes)
    # Demand reduction (shared by every kind).
    rep, rep_weight, _labels = cluster_points(xy, demand.weight, max_demand, seed=seed)
    red_nodes = demand.nodes[rep]
    # Candidate reduction: spread nodes over the same area (unweighted clustering).
    cand_idx, _cw, _cl = cluster_points(xy, np.ones(xy.shape[0]), max_candidates, seed=seed + 1)
    candidates_all = demand.nodes[cand_idx]
    # Walking searches reach across the whole area: the perimeter's size plus both rings.
    span = float(np.ptp(xy[:, 0]) + np.ptp(xy[:, 1])) if xy.shape[0] > 1 else 0.0
    limit_m = 2.0 * span + 2.0 * approach_m + 1_000.0
    taken: set[int] = set()
    plans: list[KindPlan] = []
    inside_set = set(demand.nodes[demand.inside].tolist())
    started = time.monotonic()
    ordered = sorted(specs, key=lambda s: (-s.count, POST_KINDS.index(s.kind)))
    for position, spec in enumerate(ordered):
        limit_s = time_limit_s
        if time_budget_s is not None:
            left = time_budget_s - (time.monotonic() - started)
            # all that is left, less a second for each kind still to place
            limit_s = min(time_limit_s, max(1.0, left - (len(ordered) - position - 1)))
        if spec.count == 0:
            plans.append(
                KindPlan(spec, [], "none", 0.0, None, None, 0.0, 0.0, int(red_nodes.size), 0)
            )
            continue
        free = np.array([n for n in candidates_all.tolist() if n not in taken], dtype=np.int64)
        shared = free.size < spec.count
        cands = candidates_all if shared else free
        if cands.size < spec.count:
            raise PlanInputError(
                f"{spec.kind}.count",
                f"{spec.count} posts but only {cands.size} candidate sites in the area",
            )
        cost = _costs(graph, spec, cands, red_nodes, limit_m)
        sol = solve_p_median(
            cost,
            rep_weight,
            spec.count,
            method=method,
            milp_max_pairs=milp_max_pairs,
            time_limit_s=limit_s,
        )
        post_nodes = cands[sol.chosen]
        # Re-evaluate on the full demand set.
        full = _costs(graph, spec, post_nodes, demand.nodes, limit_m)
        nearest = np.argmin(full, axis=0)
        near_cost = full[nearest, np.arange(full.shape[1])]
        within_any = _within(spec, full).any(axis=0)
        posts: list[Post] = []
        for k, node in enumerate(post_nodes.tolist()):
            mine = nearest == k
            w_mine = float(demand.weight[mine].sum())
            covered = float(demand.weight[_within(spec, full[k])].sum())
            mean_cost = (
                float((demand.weight[mine] * near_cost[mine]).sum() / w_mine) if w_mine else 0.0
            )
            is_inside = node in inside_set
            reasons: list[tuple[str, ReasonParams]] = [
                ("serves", {"share": round(w_mine / total, 4), "mean_s": round(mean_cost, 1)}),
                ("covers", {"share": round(covered / total, 4), **_standard(spec)}),
                ("inside" if is_inside else "approach", {}),
            ]
            if shared and node in taken:
                reasons.append(("shared_node", {}))
            posts.append(
                Post(
                    kind=spec.kind,
                    node=int(node),
                    lon=float(graph.lon[node]),
                    lat=float(graph.lat[node]),
                    assigned_share=round(w_mine / total, 4),
                    covered_share=round(covered / total, 4),
                    mean_cost_s=round(mean_cost, 1),
                    inside=is_inside,
                    shared_node=bool(shared and node in taken),
                    reasons=reasons,
                )
            )
        taken.update(int(n) for n in post_nodes.tolist())
        plans.append(
            KindPlan(
                spec=spec,
                posts=posts,
                method=sol.method,
                objective=sol.objective / float(rep_weight.sum()),
                bound=sol.bound / float(rep_weight.sum()) if sol.bound is not None else None,
                gap=sol.gap,
                full_objective_s=float((demand.weight * near_cost).sum() / total),
                coverage=float(demand.weight[within_any].sum() / total),
                reduced_demand=int(red_nodes.size),
                candidates=int(cands.size),
                fallback_reason=sol.fallback_reason,
            )
        )
    plans.sort(key=lambda k: POST_KINDS.index(k.spec.kind))
    return Plan(
        kinds=plans,
        demand_points=int(demand.nodes.size),
        inside_points=int(demand.inside.sum()),
        approach_points=int((~demand.inside).sum()),
        total_weight=total,
    )


def _standard(spec: PostSpec) -> ReasonParams:
    if spec.kind == "drone":
        return {"radius_m": float(spec.radius_m or 0.0)}
    return {"standard_s": float(spec.standard_s or 0.0)}


def plan_summary(plan: Plan) -> dict[str, Any]:
    """The plan as plain JSON-able data (what the service stores and the CLI prints)."""
    return {
        "demand_points": plan.demand_points,
        "inside_points": plan.inside_points,
        "approach_points": plan.approach_points,
        "kinds": [
            {
                "kind": k.spec.kind,
                "count": k.spec.count,
                "standard_s": k.spec.standard_s,
                "radius_m": k.spec.radius_m,
                "method": k.method,
                "objective_s": round(k.objective, 2),
                "bound_s": round(k.bound, 2) if k.bound is not None else None,
                "gap": k.gap,
                "full_objective_s": round(k.full_objective_s, 2),
                "coverage": round(k.coverage, 4),
                "reduced_demand": k.reduced_demand,
                "candidates": k.candidates,
                "fallback_reason": k.fallback_reason,
            }
            for k in plan.kinds
        ],
    }
