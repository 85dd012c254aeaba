"""Routing: known shortest paths, agreement with networkx, snapping, routes."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from pingan.city.graph import RoadGraph
from pingan.city.routing import (
    nearest_nodes,
    nearest_source,
    project,
    route,
    travel_times_from,
    travel_times_to,
)


def _graph(n: int, edges: list[tuple[int, int, float]]) -> RoadGraph:
    u, v, t = (np.array(x) for x in zip(*edges, strict=True))
    return RoadGraph.from_edges(
        lon=24.0 + np.arange(n) * 0.001,
        lat=np.full(n, 60.0),
        osm_id=None,
        u=u,
        v=v,
        travel_time=t.astype(float),
        length=t.astype(float) * 10,
    )


# 0 -> 1 -> 2 -> 3 is 3 s; the direct 0 -> 3 is 10 s; 3 -> 0 only through 4.
TINY = [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (0, 3, 10.0), (3, 4, 2.0), (4, 0, 2.0)]


def test_known_shortest_paths_on_a_tiny_graph() -> None:
    g = _graph(5, TINY)
    assert travel_times_from(g, 0).tolist() == [0.0, 1.0, 2.0, 3.0, 5.0]
    assert travel_times_to(g, 0).tolist() == [0.0, 6.0, 5.0, 4.0, 2.0]
    both = travel_times_from(g, [0, 3])
    assert both.shape == (2, 5) and both[1].tolist() == [4.0, 5.0, 6.0, 0.0, 2.0]
    cut = travel_times_from(g, 0, cutoff_s=2.5)
    assert cut[:3].tolist() == [0.0, 1.0, 2.0] and np.isinf(cut[3:]).all()
    found = route(g, 0, 3)
    assert found is not None
    assert found.nodes == [0, 1, 2, 3] and found.seconds == 3.0 and found.metres == 30.0
    assert found.coordinates[0] == (24.0, 60.0)
    back = route(g, 3, 1)
    assert back is not None and back.nodes == [3, 4, 0, 1] and back.seconds == 5.0


def test_unreachable_nodes_are_infinite_and_have_no_route() -> None:
    g = _graph(3, [(0, 1, 1.0)])
    assert np.isinf(travel_times_from(g, 0)[2])
    assert route(g, 0, 2) is None
    assert route(g, 1, 0) is None
    with pytest.raises(IndexError):
        travel_times_from(g, 7)
    with pytest.raises(ValueError):
        travel_times_from(g, 0, cutoff_s=-1)


def test_nearest_source_names_the_closest_origin() -> None:
    g = _graph(5, TINY)
    times, which = nearest_source(g, [0, 3])
    assert times.tolist() == [0.0, 1.0, 2.0, 0.0, 2.0]
    assert which.tolist() == [0, 0, 0, 1, 1]
    to_times, to_which = nearest_source(g, [0, 3], reverse=True)
    assert to_times.tolist() == [0.0, 2.0, 1.0, 0.0, 2.0]
    assert to_which.tolist() == [0, 1, 1, 1, 0]


@pytest.mark.parametrize("seed", range(5))
def test_travel_times_agree_with_networkx_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 300, 1200
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    t = rng.uniform(1.0, 60.0, m)
    g = RoadGraph.from_edges(
        lon=rng.uniform(24, 25, n),
        lat=rng.uniform(60, 61, n),
        osm_id=None,
        u=u,
        v=v,
        travel_time=t,
        length=t * 8,
    )
    ref = nx.DiGraph()
    ref.add_nodes_from(range(n))
    for a, b, w in zip(u.tolist(), v.tolist(), t.tolist(), strict=True):
        if a != b and (not ref.has_edge(a, b) or ref[a][b]["weight"] > w):
            ref.add_edge(a, b, weight=w)
    cutoff = 120.0
    sources = rng.integers(0, n, 10)
    ours = travel_times_from(g, sources, cutoff_s=cutoff)
    theirs_rev = ref.reverse(copy=True)
    for row, s in zip(ours, sources.tolist(), strict=True):
        expected = nx.single_source_dijkstra_path_length(ref, s, cutoff=cutoff, weight="weight")
        reached = np.flatnonzero(np.isfinite(row))
        assert set(reached.tolist()) == set(expected)
        for node, seconds in expected.items():
            assert row[node] == pytest.approx(seconds, rel=1e-9)
        to_row = travel_times_to(g, s)
        expected_to = nx.single_source_dijkstra_path_length(theirs_rev, s, weight="weight")
        assert set(np.flatnonzero(np.isfinite(to_row)).tolist()) == set(expected_to)
        for node, seconds in expected_to.items():
            assert to_row[node] == pytest.approx(seconds, rel=1e-9)
    a, b = int(sources[0]), int(sources[1])
    found = route(g, a, b)
    if nx.has_path(ref, a, b):
        assert found is not None
        assert found.seconds == pytest.approx(nx.dijkstra_path_length(ref, a, b), rel=1e-9)
        walked = sum(
            ref[x][y]["weight"] for x, y in zip(found.nodes, found.nodes[1:], strict=False)
        )
        assert walked == pytest.approx(found.seconds, rel=1e-9)
    else:
        assert found is None


def test_snapping_matches_brute_force() -> None:
    rng = np.random.default_rng(9)
    n = 500
    lon, lat = rng.uniform(24.9, 25.0, n), rng.uniform(60.1, 60.2, n)
    g = RoadGraph.from_edges(
        lon=lon,
        lat=lat,
        osm_id=None,
        u=np.array([0]),
        v=np.array([1]),
        travel_time=np.array([1.0]),
        length=np.array([1.0]),
    )
    qlon, qlat = rng.uniform(24.9, 25.0, 50), rng.uniform(60.1, 60.2, 50)
    idx, dist = nearest_nodes(g, qlon, qlat)
    x, y = project(lon, lat, float(np.mean(lat)))
    qx, qy = project(qlon, qlat, float(np.mean(lat)))
    brute = np.hypot(x[None, :] - qx[:, None], y[None, :] - qy[:, None])
    assert np.array_equal(idx, brute.argmin(axis=1))
    assert np.allclose(dist, brute.min(axis=1))
    one, metres = nearest_nodes(g, float(lon[17]), float(lat[17]))
    assert one == 17 and metres == pytest.approx(0.0, abs=1e-6)
    # 0.001 degrees of latitude is about 111 m
    _, off = nearest_nodes(g, float(lon[17]), float(lat[17]) + 1e-4)
    assert math.isclose(min(off, 11.2), off, rel_tol=0.05) or off < 11.2
