"""Unit recommendation: ETAs by kind, cutoffs, run-card filters, joint vs greedy, coverage."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from pingan.city.graph import RoadGraph
from pingan.city.routing import travel_times_from
from pingan.dispatch.recommend import (
    PRIORITY_WEIGHT,
    WALK_SPEED_MS,
    IncidentRequest,
    Need,
    UnitKind,
    UnitState,
    assign_greedily,
    assign_jointly,
    camera_coverage,
    coverage_penalty,
    drone_etas,
    ground_etas,
    plan_jointly,
    recommend,
)
from pingan.dispatch.statuses import UnitStatus

K = UnitKind


def _graph(n: int, edges: list[tuple[int, int, float, float]], two_way: bool = True) -> RoadGraph:
    """Nodes along a parallel of 60°N, 0.001° of longitude apart; edges (u, v, seconds, metres)."""
    rows = list(edges) + ([(v, u, t, m) for u, v, t, m in edges] if two_way else [])
    u, v, t, m = (np.array(x) for x in zip(*rows, strict=True))
    return RoadGraph.from_edges(
        lon=24.0 + np.arange(n) * 0.001,
        lat=np.full(n, 60.0),
        osm_id=None,
        u=u.astype(np.int64),
        v=v.astype(np.int64),
        travel_time=t.astype(float),
        length=m.astype(float),
    )


# incident at 0. Cars: from 1 in 60 s, 2 in 120 s, 3 in 240 s, 4 in 300 s (a slow but short
# lane, 300 m), 5 in 30 s over a one-way 5 -> 0 of 250 m.
LINE = _graph(
    6,
    [(0, 1, 60.0, 500.0), (1, 2, 60.0, 500.0), (2, 3, 120.0, 1000.0), (0, 4, 300.0, 300.0)],
)
LINE = RoadGraph.from_edges(
    lon=LINE.lon,
    lat=LINE.lat,
    osm_id=None,
    u=np.concatenate([np.repeat(np.arange(6), np.diff(LINE.indptr)), [5]]).astype(np.int64),
    v=np.concatenate([LINE.indices, [0]]).astype(np.int64),
    travel_time=np.concatenate([LINE.travel_time, [30.0]]),
    length=np.concatenate([LINE.length.astype(float), [250.0]]),
)


def car(uid: str, node: int, **kw: object) -> UnitState:
    return UnitState(uid, K.PATROL_CAR, node=node, **kw)  # type: ignore[arg-type]


def incident(node: int = 0, priority: int = 2, **kw: object) -> IncidentRequest:
    g = kw.pop("graph", LINE)
    assert isinstance(g, RoadGraph)
    return IncidentRequest(
        f"inc-{node}-{priority}",
        node,
        float(g.lon[node]),
        float(g.lat[node]),
        priority,
        **kw,  # type: ignore[arg-type]
    )


def etas(recs: list) -> dict[str, float]:  # type: ignore[type-arg]
    return {r.unit_id: round(r.eta_s, 3) for r in recs}


def test_road_etas_come_from_one_reverse_search_with_known_times() -> None:
    units = [car("c1", 1), car("c2", 2), car("c3", 3), car("c4", 4), car("c5", 5)]
    got = ground_etas(LINE, 0, units, cutoff_s=1000)
    assert etas(got) == {"c1": 60.0, "c2": 120.0, "c3": 240.0, "c4": 300.0, "c5": 30.0}
    assert got[0].reasons[0] == ("road_eta", {"seconds": 60.0})


def test_cutoff_drops_units_beyond_it_and_the_motorbike_factor_applies_before_it() -> None:
    units = [
        car("c3", 3),
        UnitState("m3", K.MOTORBIKE, node=3),
        UnitState("m2", K.MOTORBIKE, node=2),
    ]
    got = etas(ground_etas(LINE, 0, units, cutoff_s=230))
    # the car needs 240 s (beyond 230); the motorbike 0.9 × 240 = 216 s (within)
    assert got == {"m3": 216.0, "m2": 108.0}
    assert etas(ground_etas(LINE, 0, units, cutoff_s=200)) == {"m2": 108.0}
    assert ground_etas(LINE, 0, units, cutoff_s=0) == []


def test_foot_patrols_walk_road_length_both_ways_of_a_one_way_street() -> None:
    units = [
        UnitState("f4", K.FOOT, node=4),
        UnitState("f5", K.FOOT, node=5),
        UnitState("f2", K.FOOT, node=2),
    ]
    got = ground_etas(LINE, 0, units, cutoff_s=900)
    assert etas(got) == pytest.approx(
        {"f4": 300 / WALK_SPEED_MS, "f5": 250 / WALK_SPEED_MS, "f2": 1000 / WALK_SPEED_MS}, abs=1e-3
    )
    # ~1.39 m/s: 300 m (a 300 s drive down the slow lane) is a 216 s walk
    assert 210 < etas(got)["f4"] < 222
    assert got[0].reasons[0][0] == "walk_eta" and got[0].reasons[0][1]["metres"] == 300
    assert set(etas(ground_etas(LINE, 0, units, cutoff_s=200))) == {"f5"}


def _random_graph(n: int, seed: int) -> RoadGraph:
    rng = np.random.default_rng(seed)
    ring_u = np.arange(n)
    ring_v = (ring_u + 1) % n  # a one-way ring keeps it strongly connected
    extra_u = rng.integers(0, n, 4 * n)
    extra_v = rng.integers(0, n, 4 * n)
    u = np.concatenate([ring_u, extra_u])
    v = np.concatenate([ring_v, extra_v])
    return RoadGraph.from_edges(
        lon=24.0 + rng.uniform(0, 0.05, n),
        lat=60.0 + rng.uniform(0, 0.03, n),
        osm_id=None,
        u=u,
        v=v,
        travel_time=rng.uniform(5, 120, u.size),
        length=rng.uniform(20, 900, u.size),
    )


def test_one_reverse_search_agrees_with_a_forward_search_per_unit() -> None:
    g = _random_graph(300, seed=3)
    rng = np.random.default_rng(4)
    nodes = rng.integers(0, g.n_nodes, 60).tolist()
    kinds = [K.PATROL_CAR, K.MOTORBIKE, K.K9]
    units = [UnitState(f"u{i}", kinds[i % 3], node=n) for i, n in enumerate(nodes)]
    target, cutoff = 17, 160.0
    got = etas(ground_etas(g, target, units, cutoff_s=cutoff))
    expected = {}
    for u in units:
        factor = 0.9 if u.kind is K.MOTORBIKE else 1.0
        t = float(travel_times_from(g, u.node)[target]) * factor
        if t <= cutoff:
            expected[u.id] = round(t, 3)
    assert got == pytest.approx(expected)
    assert 0 < len(got) < len(units)  # the cutoff did cut, and something was reached
    # foot: networkx on undirected road lengths
    walkers = [UnitState(f"f{i}", K.FOOT, node=n) for i, n in enumerate(nodes)]
    und = nx.Graph()
    src = np.repeat(np.arange(g.n_nodes), np.diff(g.indptr))
    for a, b, m in zip(src.tolist(), g.indices.tolist(), g.length.tolist(), strict=True):
        if not und.has_edge(a, b) or und[a][b]["w"] > m:
            und.add_edge(a, b, w=m)
    metres = nx.single_source_dijkstra_path_length(und, target, weight="w")
    want = {
        f"f{i}": round(metres[n] / WALK_SPEED_MS, 3)
        for i, n in enumerate(nodes)
        if metres[n] / WALK_SPEED_MS <= 400.0
    }
    assert etas(ground_etas(g, target, walkers, cutoff_s=400.0)) == pytest.approx(want, rel=1e-5)
    assert 0 < len(want) < len(walkers)


def test_drones_fly_the_great_circle_and_are_excluded_when_the_battery_is_short() -> None:
    lon, lat = 24.0, 60.0
    near = dict(lon=24.01, lat=60.0)  # ~557 m east at 60°N
    units = [
        UnitState("d-ok", K.DRONE, endurance_min=10.0, **near),  # type: ignore[arg-type]
        UnitState("d-low", K.DRONE, endurance_min=6.0, **near),  # type: ignore[arg-type]
        UnitState("d-far", K.DRONE, endurance_min=60.0, lon=25.0, lat=60.0),
    ]
    got = drone_etas(lon, lat, units, cutoff_s=900)
    assert [r.unit_id for r in got] == ["d-ok"]
    metres = 2 * 6_371_008.8 * math.asin(math.cos(math.radians(60)) * math.sin(math.radians(0.005)))
    assert got[0].eta_s == pytest.approx(30 + metres / 15.0, rel=1e-6)
    # d-low: 360 s of battery < 30 s launch + 2 × 37 s + 300 s reserve
    assert dict(got[0].reasons)["battery_ok"]["needed_s"] > 360


def test_cameras_cover_within_their_radius_with_eta_zero() -> None:
    cams = [
        UnitState("cam-here", K.CAMERA, lon=24.0005, lat=60.0, coverage_m=100.0),  # ~28 m
        UnitState("cam-there", K.CAMERA, lon=24.01, lat=60.0, coverage_m=100.0),
    ]
    got = camera_coverage(24.0, 60.0, cams)
    assert [(r.unit_id, r.eta_s, r.reasons[0][0]) for r in got] == [
        ("cam-here", 0.0, "camera_covers")
    ]


def test_recommend_filters_by_run_card_capability_and_status_and_ranks_by_eta() -> None:
    units = [
        car("c1", 1),
        car("c2", 2, capabilities=frozenset({"firearms"})),
        car("c5-busy", 5, status=UnitStatus.EN_ROUTE),
        UnitState("k9", K.K9, node=1),
        UnitState("f4", K.FOOT, node=4),
        UnitState("cam", K.CAMERA, lon=24.0, lat=60.0, coverage_m=50.0),
    ]
    inc = incident(needs=(Need(K.PATROL_CAR, 2), Need(K.CAMERA)), district=3)
    got = recommend(LINE, inc, units, cutoff_s=900)
    assert [r.unit_id for r in got] == ["cam", "c1", "c2"]
    armed = recommend(LINE, inc, units, run_card=[Need(K.PATROL_CAR, 1, frozenset({"firearms"}))])
    assert [r.unit_id for r in armed] == ["c2"]
    assert ("capabilities_match", {"required": "firearms"}) in armed[0].reasons
    assert ("kind_needed", {"kind": "patrol_car"}) in armed[0].reasons


def test_joint_assignment_beats_greedy_on_a_hand_made_instance() -> None:
    # X = 0, Y = 1, unit a at 2, unit b at 3. a: X 100 s, Y 110 s. b: X 105 s, Y only via X.
    g = _graph(4, [(2, 0, 100.0, 1.0), (2, 1, 110.0, 1.0), (3, 0, 105.0, 1.0)])
    x = incident(0, 2, graph=g)
    y = incident(1, 2, graph=g)
    units = [car("a", 2), car("b", 3)]
    greedy = assign_greedily(g, [x, y], units, cutoff_s=3600)
    joint = assign_jointly(g, [x, y], units, cutoff_s=3600, coverage_weight=0.0)
    assert greedy == {x.id: ["a"], y.id: ["b"]}
    assert joint == {x.id: ["b"], y.id: ["a"]}

    def cost(assignment: dict[str, list[str]]) -> float:
        return sum(
            PRIORITY_WEIGHT[inc.priority]
            * float(travel_times_from(g, {"a": 2, "b": 3}[uid])[inc.node])
            for inc in (x, y)
            for uid in assignment[inc.id]
        )

    assert cost(greedy) == 2 * (100 + 105 + 100 + 110)  # b reaches Y through X and a's node
    assert cost(joint) == 2 * (105 + 110)
    assert cost(joint) < cost(greedy)
    plan = plan_jointly(g, [x, y], units, cutoff_s=3600, coverage_weight=0.0)
    assert plan.cost == cost(joint)


def test_higher_priority_gets_the_only_unit() -> None:
    g = _graph(3, [(2, 0, 100.0, 1.0), (2, 1, 50.0, 1.0)])
    low, high = incident(1, 4, graph=g), incident(0, 1, graph=g)
    plan = plan_jointly(g, [low, high], [car("a", 2)], cutoff_s=3600)
    assert plan.assignment == {low.id: [], high.id: ["a"]}
    assert plan.unfilled[low.id] == [Need(K.PATROL_CAR)]


def _coverage_case(neighbour_eta: float) -> tuple[RoadGraph, IncidentRequest, list[UnitState]]:
    # incident at 0 in district 9; A1 is district 0's only unit (100 s away);
    # B1 is one of district 1's three units (neighbour_eta away); B2, B3 are out of reach.
    g = _graph(
        5, [(1, 0, 100.0, 1.0), (2, 0, neighbour_eta, 1.0), (3, 4, 10.0, 1.0), (4, 0, 5000.0, 1.0)]
    )
    inc = incident(0, 2, graph=g, district=9)
    units = [
        car("A1", 1, district=0),
        car("B1", 2, district=1),
        car("B2", 3, district=1),
        car("B3", 4, district=1),
    ]
    return g, inc, units


def test_coverage_keeps_the_last_unit_when_a_neighbour_is_slightly_slower() -> None:
    g, inc, units = _coverage_case(neighbour_eta=130.0)
    assert assign_greedily(g, [inc], units, cutoff_s=900) == {inc.id: ["A1"]}
    plan = plan_jointly(g, [inc], units, cutoff_s=900)
    assert plan.assignment == {inc.id: ["B1"]}
    reasons = dict(plan.recommendations[inc.id][0].reasons)
    assert reasons["district_cover_kept"] == {
        "faster_unit": "A1",
        "district": 0,
        "remaining": 1,
        "seconds_slower": 30.0,
    }
    # without the penalty the faster unit goes
    assert assign_jointly(g, [inc], units, cutoff_s=900, coverage_weight=0.0) == {inc.id: ["A1"]}


def test_coverage_gives_way_when_the_neighbour_is_much_slower() -> None:
    g, inc, units = _coverage_case(neighbour_eta=400.0)
    assert assign_jointly(g, [inc], units, cutoff_s=900) == {inc.id: ["A1"]}


def test_coverage_penalty_is_waived_when_no_neighbour_can_serve() -> None:
    g, inc, units = _coverage_case(neighbour_eta=400.0)
    plan = plan_jointly(g, [inc], units, cutoff_s=300)  # B1 is beyond the cutoff
    assert plan.assignment == {inc.id: ["A1"]}
    assert "district_cover_cost" not in dict(plan.recommendations[inc.id][0].reasons)
    assert plan.cost == PRIORITY_WEIGHT[2] * 100.0


def test_coverage_penalty_follows_mexclp() -> None:
    assert coverage_penalty(1) == pytest.approx(180 * 0.7)
    assert coverage_penalty(2) == pytest.approx(180 * 0.7 * 0.3)
    assert coverage_penalty(3, busy_fraction=0.5, coverage_weight=100, demand=2) == pytest.approx(
        25.0  # 100 × 2 × 0.5 × 0.5²
    )
    assert coverage_penalty(0) == 0.0


def test_bad_input_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="kind"):
        UnitState("x", "helicopter", node=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="priority"):
        incident(priority=5)
    with pytest.raises(ValueError, match="priority"):
        incident(priority=0)
    with pytest.raises(ValueError, match="node"):
        UnitState("x", K.PATROL_CAR)  # a ground unit without a node
    with pytest.raises(ValueError, match="endurance_min"):
        UnitState("d", K.DRONE, lon=24.0, lat=60.0)
    with pytest.raises(ValueError, match=r"needs\.count"):
        Need(K.PATROL_CAR, 0)
    with pytest.raises(ValueError, match=r"units\[far\]\.node"):
        ground_etas(LINE, 0, [car("far", 99)], cutoff_s=100)
    with pytest.raises(ValueError, match=r"incident\.node"):
        recommend(LINE, incident(node=0).__class__("i", 99, 24.0, 60.0, 1), [car("c", 1)])
    with pytest.raises(ValueError, match="cutoff_s"):
        ground_etas(LINE, 0, [car("c", 1)], cutoff_s=float("nan"))
