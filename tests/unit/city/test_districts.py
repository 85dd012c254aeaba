"""Districts: admin boundaries (closed, and clipped by the extract), Voronoi, one district."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Point, Polygon, box

from pingan.city.districts import (
    assemble_closed,
    assign_nodes,
    plan_districts,
    slug,
    unique_codes,
    voronoi_districts,
)
from pingan.city.osm import BoundaryRelation


def _rel(
    osm_id: int, level: int, name: str, *outer: list[tuple[float, float]], missing: int = 0
) -> BoundaryRelation:
    return BoundaryRelation(
        osm_id=osm_id,
        admin_level=level,
        name=name,
        outer=[np.array(c, dtype=float) for c in outer],
        inner=[],
        missing_members=missing,
    )


def _grid_nodes(step: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.meshgrid(np.arange(0.05, 3.0, step), np.arange(0.05, 1.0, step))
    return xs.ravel(), ys.ravel()


def test_closed_boundary_from_two_member_ways() -> None:
    rel = _rel(1, 10, "A", [(0, 0), (1, 0), (1, 1)], [(1, 1), (0, 1), (0, 0)])
    area = assemble_closed(rel)
    assert area is not None and area.area == pytest.approx(1.0)
    open_rel = _rel(2, 10, "B", [(0, 0), (1, 0), (1, 1)])
    assert assemble_closed(open_rel) is None
    assert assemble_closed(_rel(3, 10, "C", [(0, 0), (1, 0), (1, 1), (0, 0)], missing=1)) is None


def test_admin_level_with_most_districts_wins() -> None:
    squares = [
        _rel(10 + i, 10, f"Dist {i}", [(i, 0), (i + 1, 0), (i + 1, 1), (i, 1), (i, 0)])
        for i in range(3)
    ]
    whole = _rel(99, 8, "Whole", [(0, 0), (3, 0), (3, 1), (0, 1), (0, 0)])
    lon, lat = _grid_nodes()
    plan = plan_districts(
        [whole, *squares], lon, lat, [], city_name="t", frame=box(-0.5, -0.5, 3.5, 1.5)
    )
    assert plan.method == "admin" and plan.admin_level == 10
    assert [d.code for d in plan.districts] == ["dist-0", "dist-1", "dist-2"]
    expected = np.floor(lon).astype(int)
    assert np.array_equal(plan.node_district, expected)


def test_boundaries_clipped_by_the_extract_are_closed_along_its_edge() -> None:
    # Three strips 0-1, 1-2, 2-3 whose outer rings leave the frame box(0.5, 0, 2.5, 1):
    # only the pieces inside the frame survive (NaN where the extract cut them).
    nan = (np.nan, np.nan)
    left = _rel(1, 10, "Left", [nan, (1, 0), (1, 1), nan], missing=2)
    middle = _rel(
        2, 10, "Middle", [nan, (1, 0), (1, 1), nan], [nan, (2, 0), (2, 1), nan], missing=2
    )
    right = _rel(3, 10, "Right", [nan, (2, 0), (2, 1), nan], missing=2)
    frame = box(0.5, 0.0, 2.5, 1.0)
    lon, lat = _grid_nodes()
    inside = (lon > 0.5) & (lon < 2.5)
    plan = plan_districts(
        [left, middle, right], lon[inside], lat[inside], [], city_name="t", frame=frame
    )
    assert plan.method == "admin"
    by_name = {d.name: d for d in plan.districts}
    assert set(by_name) == {"Left", "Middle", "Right"}
    assert all(d.closed_along_edge for d in plan.districts)
    assert by_name["Middle"].geometry.area == pytest.approx(1.0)
    assert by_name["Left"].geometry.area == pytest.approx(0.5)
    assert by_name["Middle"].geometry.contains(Point(1.5, 0.5))


def test_too_few_admin_districts_fall_back_to_voronoi_around_police() -> None:
    one = _rel(1, 10, "Only", [(0, 0), (3, 0), (3, 1), (0, 1), (0, 0)])
    lon, lat = _grid_nodes()
    police = [(0.5, 0.5, "West station"), (2.5, 0.5, "East station"), (2.5, 0.5, "dup")]
    plan = plan_districts([one], lon, lat, police, city_name="t")
    assert plan.method == "voronoi" and plan.admin_level is None
    assert [d.name for d in plan.districts] == ["West station", "East station"]
    west = lon < 1.5
    assert np.array_equal(plan.node_district, np.where(west, 0, 1))
    total = sum(d.geometry.area for d in plan.districts)
    union = plan.districts[0].geometry.union(plan.districts[1].geometry)
    assert union.area == pytest.approx(total)  # cells do not overlap


def test_no_boundaries_and_no_police_give_one_district() -> None:
    lon, lat = _grid_nodes()
    plan = plan_districts([], lon, lat, [], city_name="Testville")
    assert plan.method == "single"
    [district] = plan.districts
    assert district.code == "testville" and district.name == "Testville"
    assert (plan.node_district == 0).all()
    assert all(district.geometry.contains(Point(x, y)) for x, y in zip(lon, lat, strict=True))


def test_nodes_outside_every_district_go_to_the_nearest() -> None:
    from pingan.city.districts import DistrictArea

    districts = [
        DistrictArea("a", "A", Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])),
        DistrictArea("b", "B", Polygon([(2, 0), (3, 0), (3, 1), (2, 1)])),
    ]
    lon = np.array([0.5, 2.5, 1.2, 1.9, -5.0])
    lat = np.array([0.5, 0.5, 0.5, 0.5, 0.5])
    assert assign_nodes(districts, lon, lat).tolist() == [0, 1, 0, 1, 0]


def test_single_police_station_covers_the_hull() -> None:
    hull = box(0, 0, 1, 1)
    [d] = voronoi_districts([(0.5, 0.5, "")], hull)
    assert d.geometry.equals(hull) and d.code == "p01"


def test_codes_are_ascii_and_unique() -> None:
    assert slug("Etelä-Suomi") == "etela-suomi"
    assert slug("朝阳区") == ""
    assert unique_codes(["Kamppi", "Kamppi", "朝阳区", ""]) == ["kamppi", "kamppi-2", "d03", "d04"]
