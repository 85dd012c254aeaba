"""Security posts: demand weights, exact MILP vs brute force, heuristic vs MILP, coverage."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from shapely.geometry import LineString, Polygon, box
from shapely.geometry.base import BaseGeometry

from pingan.city.graph import RoadGraph, haversine_m
from pingan.dispatch.posts import (
    PlanInputError,
    PostSpec,
    build_demand,
    default_spec,
    plan_posts,
    solve_greedy_interchange,
    solve_milp,
    solve_p_median,
    weighted_cost,
)
from pingan.dispatch.recommend import DRONE_CRUISE_MS, WALK_SPEED_MS

LON0, LAT0 = 24.90, 60.15
STEP_DEG_LON = 0.0018  # ≈ 100 m at 60°N
STEP_DEG_LAT = 0.0009  # ≈ 100 m


def grid(n: int, m: int | None = None, metres: float = 100.0) -> RoadGraph:
    """An n × m street grid, ≈100 m blocks, two-way streets at 36 km/h."""
    m = m or n
    lon = np.array([LON0 + j * STEP_DEG_LON for i in range(n) for j in range(m)])
    lat = np.array([LAT0 + i * STEP_DEG_LAT for i in range(n) for j in range(m)])
    u: list[int] = []
    v: list[int] = []
    for i in range(n):
        for j in range(m):
            a = i * m + j
            if j + 1 < m:
                u += [a, a + 1]
                v += [a + 1, a]
            if i + 1 < n:
                u += [a, a + m]
                v += [a + m, a]
    ua, va = np.array(u, dtype=np.int64), np.array(v, dtype=np.int64)
    length = haversine_m(lon[ua], lat[ua], lon[va], lat[va])
    return RoadGraph.from_edges(
        lon=lon, lat=lat, osm_id=None, u=ua, v=va, travel_time=length / 10.0, length=length
    )


def cell_box(graph: RoadGraph, m: int, i0: int, j0: int, i1: int, j1: int) -> Polygon:
    """A box around the grid nodes (i0..i1, j0..j1), half a block of margin."""
    return box(
        LON0 + (j0 - 0.5) * STEP_DEG_LON,
        LAT0 + (i0 - 0.5) * STEP_DEG_LAT,
        LON0 + (j1 + 0.5) * STEP_DEG_LON,
        LAT0 + (i1 + 0.5) * STEP_DEG_LAT,
    )


def brute_force(cost: np.ndarray, weight: np.ndarray, p: int) -> float:
    return min(
        weighted_cost(cost, weight, combo)
        for combo in itertools.combinations(range(cost.shape[0]), p)
    )


# ------------------------------------------------------------------------ demand


def test_demand_inside_and_approach_weights() -> None:
    g = grid(9)
    perimeter = cell_box(g, 9, 3, 3, 5, 5)  # 3 × 3 nodes inside
    d = build_demand(g, perimeter, crowd=9000.0, approach_m=250.0, inside_share=0.7)
    assert int(d.inside.sum()) == 9
    assert d.total == pytest.approx(9000.0)
    assert d.weight[d.inside] == pytest.approx(np.full(9, 700.0))
    assert d.weight[~d.inside].sum() == pytest.approx(2700.0)
    # approach nodes are within 250 m walking of the perimeter
    assert d.walk_m_to_perimeter[~d.inside].max() <= 250.0
    # a node next to the perimeter funnels the walks of nodes behind it: it weighs more
    app = d.nodes[~d.inside]
    w = dict(zip(app.tolist(), d.weight[~d.inside].tolist(), strict=True))
    assert w[2 * 9 + 4] > w[1 * 9 + 4]  # (2,4) next to the box vs (1,4) a block further out


def test_demand_without_approach_is_all_inside() -> None:
    g = grid(5)
    d = build_demand(g, cell_box(g, 5, 1, 1, 3, 3), crowd=900.0, approach_m=0.0)
    assert bool(d.inside.all()) and d.total == pytest.approx(900.0)


@pytest.mark.parametrize(
    ("perimeter", "crowd", "field"),
    [
        (LineString([(24.9, 60.15), (24.91, 60.16)]), 100.0, "perimeter"),
        (Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), 100.0, "perimeter"),  # bow-tie
        (box(10.0, 10.0, 10.1, 10.1), 100.0, "perimeter"),  # no road node inside
        (box(24.89, 60.14, 24.92, 60.16), 0.0, "expected_crowd"),
    ],
)
def test_bad_input_names_the_field(perimeter: BaseGeometry, crowd: float, field: str) -> None:
    with pytest.raises(PlanInputError) as err:
        build_demand(grid(4), perimeter, crowd=crowd)
    assert err.value.field == field


def test_bad_specs_raise() -> None:
    with pytest.raises(PlanInputError) as err:
        PostSpec("foot", 2)
    assert err.value.field == "foot.standard_s"
    with pytest.raises(PlanInputError) as err:
        PostSpec("drone", 1, radius_m=-5)
    assert err.value.field == "drone.radius_m"
    with pytest.raises(PlanInputError):
        PostSpec("horse", 1, standard_s=60)  # type: ignore[arg-type]
    with pytest.raises(PlanInputError) as err:
        PostSpec("k9", -1, standard_s=60)
    assert err.value.field == "k9.count"
    g = grid(4)
    with pytest.raises(PlanInputError) as err:
        plan_posts(
            g,
            cell_box(g, 4, 0, 0, 3, 3),
            crowd=100.0,
            specs=[default_spec("foot", 1), default_spec("foot", 2)],
        )
    assert err.value.field == "kind"
    with pytest.raises(PlanInputError) as err:
        plan_posts(
            g,
            cell_box(g, 4, 0, 0, 0, 0),
            crowd=1.0,
            specs=[default_spec("foot", 50)],
            approach_m=0.0,
        )
    assert err.value.field == "foot.count"


# ------------------------------------------------------------------------ solvers


@pytest.mark.parametrize("seed", range(6))
def test_milp_equals_brute_force_on_tiny_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_cand, n_dem, p = 7, 9, int(rng.integers(1, 4))
    cost = rng.uniform(0.0, 100.0, size=(n_cand, n_dem))
    weight = rng.uniform(0.5, 3.0, size=n_dem)
    sol = solve_milp(cost, weight, p)
    assert sol is not None and sol.method == "milp" and len(sol.chosen) == p
    assert sol.objective == pytest.approx(brute_force(cost, weight, p), rel=1e-9)
    assert sol.gap is not None and sol.gap <= 1e-6


def test_milp_equals_brute_force_on_a_grid() -> None:
    g = grid(4)
    d = build_demand(g, cell_box(g, 4, 0, 0, 3, 3), crowd=1600.0, approach_m=0.0)
    from scipy.sparse.csgraph import dijkstra

    from pingan.dispatch.recommend import walk_matrix

    cost = np.asarray(dijkstra(walk_matrix(g), indices=d.nodes))[:, d.nodes] / WALK_SPEED_MS
    for p in (1, 2, 3):
        sol = solve_milp(cost, d.weight, p)
        assert sol is not None
        assert sol.objective == pytest.approx(brute_force(cost, d.weight, p))
    # one post on a 4 × 4 grid: one of the four centre nodes
    one = solve_milp(cost, d.weight, 1)
    assert one is not None and int(d.nodes[one.chosen[0]]) in {5, 6, 9, 10}


def test_heuristic_is_close_to_milp_on_a_medium_instance() -> None:
    rng = np.random.default_rng(7)
    pts = rng.uniform(0, 2000, size=(140, 2))
    cost = np.sqrt(((pts[:60, None, :] - pts[None, :, :]) ** 2).sum(axis=2))  # 60 cand × 140
    weight = rng.uniform(1.0, 10.0, size=140)
    exact = solve_milp(cost, weight, 8)
    heur = solve_greedy_interchange(cost, weight, 8)
    assert exact is not None
    assert exact.objective <= heur.objective + 1e-6
    assert heur.objective <= exact.objective * 1.03


def test_auto_falls_back_to_the_heuristic_when_too_large() -> None:
    rng = np.random.default_rng(1)
    cost = rng.uniform(0, 10, size=(30, 40))
    weight = np.ones(40)
    sol = solve_p_median(cost, weight, 3, milp_max_pairs=100, enumerate_max=0)
    assert sol.method == "heuristic" and sol.fallback_reason == "too_large:1200"
    assert solve_p_median(cost, weight, 3, enumerate_max=0).method == "milp"
    small = solve_p_median(cost, weight, 2)  # C(30, 2) = 435 sets: all tried
    assert small.method == "enumeration" and small.gap == 0.0
    assert small.objective == pytest.approx(brute_force(cost, weight, 2))
    exact = solve_milp(cost, weight, 2)
    assert exact is not None and small.objective == pytest.approx(exact.objective)
    with pytest.raises(PlanInputError) as err:
        solve_p_median(cost, weight, 31)
    assert err.value.field == "count"
    with pytest.raises(PlanInputError) as err:
        solve_p_median(cost, -weight, 3)
    assert err.value.field == "weight"


# ------------------------------------------------------------------------ plans


def test_plan_coverage_is_the_share_within_the_standard() -> None:
    g = grid(7)
    perimeter = cell_box(g, 7, 2, 2, 4, 4)
    plan = plan_posts(
        g,
        perimeter,
        crowd=4900.0,
        specs=[PostSpec("foot", 1, standard_s=150.0), PostSpec("drone", 1, radius_m=150.0)],
        approach_m=200.0,
    )
    d = build_demand(g, perimeter, crowd=4900.0, approach_m=200.0)
    from scipy.sparse.csgraph import dijkstra

    from pingan.dispatch.recommend import walk_matrix

    foot = next(k for k in plan.kinds if k.spec.kind == "foot")
    drone = next(k for k in plan.kinds if k.spec.kind == "drone")
    assert foot.method == "enumeration" and foot.gap == 0.0  # one post: every site tried
    (post,) = foot.posts
    assert post.node == 3 * 7 + 3  # the centre of the venue
    walk_s = np.asarray(dijkstra(walk_matrix(g), indices=post.node))[d.nodes] / WALK_SPEED_MS
    expected = float(d.weight[walk_s <= 150.0].sum() / d.total)
    assert foot.coverage == pytest.approx(expected)
    assert post.covered_share == pytest.approx(round(expected, 4), abs=1e-4)
    assert post.assigned_share == pytest.approx(1.0)
    assert foot.full_objective_s == pytest.approx(float((d.weight * walk_s).sum() / d.total))
    # the drone does not stack on the foot post's node
    (dpost,) = drone.posts
    assert dpost.node != post.node and not dpost.shared_node
    air = haversine_m(g.lon[d.nodes], g.lat[d.nodes], dpost.lon, dpost.lat)
    assert drone.coverage == pytest.approx(float(d.weight[air <= 150.0].sum() / d.total))
    assert drone.full_objective_s == pytest.approx(
        float((d.weight * air / DRONE_CRUISE_MS).sum() / d.total)
    )
    codes = [code for code, _ in post.reasons]
    assert codes[:2] == ["serves", "covers"] and "inside" in codes


def test_plan_with_reduction_reports_the_method_and_evaluates_on_full_demand() -> None:
    g = grid(16)
    perimeter = cell_box(g, 16, 5, 5, 10, 10)
    specs = [default_spec("foot", 5), default_spec("k9", 2), default_spec("drone", 1)]
    exact = plan_posts(g, perimeter, crowd=20000.0, specs=specs, max_demand=60, max_candidates=40)
    heur = plan_posts(
        g,
        perimeter,
        crowd=20000.0,
        specs=specs,
        max_demand=60,
        max_candidates=40,
        method="heuristic",
    )
    assert exact.demand_points == heur.demand_points > 60
    for k_exact, k_heur in zip(exact.kinds, heur.kinds, strict=True):
        assert k_exact.method in ("milp", "enumeration") and k_heur.method == "heuristic"
        assert k_exact.gap is not None and k_exact.gap <= 1e-6
        assert k_exact.reduced_demand == 60
        assert 0.0 <= k_exact.coverage <= 1.0
    # Foot posts are placed first, on the same candidates in both runs: comparable.
    foot_exact, foot_heur = exact.kinds[0], heur.kinds[0]
    assert foot_exact.spec.kind == "foot" and foot_exact.method == "milp"
    assert foot_exact.candidates == foot_heur.candidates
    assert foot_exact.objective <= foot_heur.objective + 1e-9
    assert foot_heur.objective <= foot_exact.objective * 1.05
    nodes = [p.node for p in exact.posts]
    assert len(nodes) == len(set(nodes)) == 8  # no stacking
    assert math.isclose(exact.total_weight, 20000.0)
