"""CSR road graphs: building, deduplication, reverse graph, components and the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pingan.city.graph import (
    RoadGraph,
    build_graph,
    csr_arrays,
    haversine_m,
    load_graph_file,
    load_road_lines,
    road_lines,
    save_graph_file,
)
from pingan.city.osm import RoadWay


def _way(
    osm_id: int,
    ids: list[int],
    lons: list[float],
    *,
    oneway: int = 0,
    speed: float = 36.0,
    highway: str = "residential",
) -> RoadWay:
    return RoadWay(
        osm_id=osm_id,
        highway=highway,
        name=f"w{osm_id}",
        node_ids=np.array(ids, dtype=np.int64),
        lon=np.array(lons, dtype=np.float64),
        lat=np.full(len(ids), 60.0),
        drivable=True,
        walkable=True,
        oneway=oneway,
        speed_kmh=speed,
    )


def test_csr_keeps_the_fastest_parallel_edge_and_drops_self_loops() -> None:
    u = np.array([0, 0, 0, 1, 2, 2])
    v = np.array([1, 1, 2, 1, 0, 1])
    t = np.array([5.0, 3.0, 9.0, 1.0, 2.0, 4.0])
    csr = csr_arrays(3, u, v, t, t * 10)
    assert csr.indptr.tolist() == [0, 2, 2, 4]
    assert csr.indices.tolist() == [1, 2, 0, 1]
    assert csr.travel_time.tolist() == [3.0, 9.0, 2.0, 4.0]
    assert csr.length.tolist() == [30.0, 90.0, 20.0, 40.0]
    assert csr.indptr.dtype == np.int32 and csr.indices.dtype == np.int32


def test_reverse_graph_holds_every_edge_flipped() -> None:
    rng = np.random.default_rng(3)
    n = 50
    u, v = rng.integers(0, n, 300), rng.integers(0, n, 300)
    t = rng.uniform(1, 10, 300)
    g = RoadGraph.from_edges(
        lon=np.zeros(n), lat=np.zeros(n), osm_id=None, u=u, v=v, travel_time=t, length=t
    )
    fwd = g.matrix.toarray()
    rev = g.reverse_matrix.toarray()
    assert np.array_equal(fwd.T, rev)
    assert g.n_edges == int((fwd > 0).sum())


def test_oneway_ways_give_one_direction_and_travel_time_follows_speed() -> None:
    # 36 km/h = 10 m/s; nodes 1-2-3 along a parallel, 4 one-way back from 3 to 1
    ways = [
        _way(1, [1, 2, 3], [24.0, 24.001, 24.002]),
        _way(2, [3, 4, 1], [24.002, 24.003, 24.0], oneway=1, speed=72.0),
    ]
    g, stats = build_graph(ways, "drive")
    assert g.n_nodes == 4 and stats.components == 1
    idx = {int(o): i for i, o in enumerate(g.osm_id)}
    one_two = g.edge_index(idx[1], idx[2])
    expected = haversine_m(24.0, 60.0, 24.001, 60.0)
    assert g.length[one_two] == pytest.approx(expected, rel=1e-5)
    assert g.travel_time[one_two] == pytest.approx(expected / 10.0, rel=1e-6)
    g.edge_index(idx[3], idx[4])
    with pytest.raises(KeyError):
        g.edge_index(idx[4], idx[3])
    assert g.n_edges == 4 + 2


def test_only_the_largest_strongly_connected_part_is_kept() -> None:
    ways = [
        _way(1, [1, 2, 3, 1], [24.0, 24.001, 24.002, 24.0]),
        _way(2, [3, 9], [24.002, 24.01], oneway=1),  # a one-way stub leading out
        _way(3, [50, 51], [25.0, 25.001]),  # a separate island
    ]
    g, stats = build_graph(ways, "drive")
    assert sorted(g.osm_id.tolist()) == [1, 2, 3]
    assert stats.nodes_before == 6 and stats.components == 3  # {1,2,3}, {9}, {50,51}
    whole, _ = build_graph(ways, "drive", largest_component=False)
    assert whole.n_nodes == 6


def test_clipped_ways_are_not_joined_across_the_gap() -> None:
    way = _way(1, [1, 2, -1, 4, 5], [24.0, 24.001, np.nan, 24.003, 24.004])
    g, _ = build_graph([way], "drive", largest_component=False)
    assert g.n_nodes == 4 and g.n_edges == 4
    lines = road_lines([way])
    assert len(lines) == 2
    assert lines.line(0).shape == (2, 2) and lines.line(1).shape == (2, 2)


def test_graph_file_round_trip(tmp_path: Path) -> None:
    ways = [
        _way(1, [1, 2, 3, 1], [24.0, 24.001, 24.002, 24.0], oneway=1),
        _way(2, [3, 4], [24.002, 24.004], highway="primary"),
    ]
    drive, _ = build_graph(ways, "drive", largest_component=False)
    walk, _ = build_graph(ways, "walk")
    path = tmp_path / "g.npz"
    size = save_graph_file(path, {"drive": drive, "walk": walk}, road_lines(ways))
    assert size == path.stat().st_size > 0
    loaded = load_graph_file(path, "drive")
    for name in (
        "indptr",
        "indices",
        "travel_time",
        "length",
        "rev_indptr",
        "rev_indices",
        "rev_travel_time",
        "lon",
        "lat",
        "osm_id",
    ):
        assert np.array_equal(getattr(loaded, name), getattr(drive, name)), name
    assert load_graph_file(path, "walk").n_edges == walk.n_edges == 2 * 4
    lines = load_road_lines(path)
    assert lines.name.tolist() == ["w1", "w2"]
    bad = tmp_path / "bad.npz"
    np.savez(bad, format=np.array([99]))
    with pytest.raises(ValueError, match="format"):
        load_graph_file(bad)
