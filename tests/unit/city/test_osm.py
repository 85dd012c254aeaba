"""OSM tag rules (maxspeed, oneway, road classes, POIs) and reading a small file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pingan.city.osm import (
    OsmFileError,
    is_drivable,
    is_walkable,
    parse_maxspeed,
    parse_oneway,
    poi_kind,
    read_osm,
    road_speed_kmh,
)


@pytest.mark.parametrize(
    ("value", "kmh"),
    [
        ("50", 50.0),
        ("30 km/h", 30.0),
        ("50 mph", 80.4672),
        ("20mph", 32.18688),
        ("FI:urban", 50.0),
        ("FI:rural", 80.0),
        ("RU:urban", 60.0),
        ("XX:urban", 50.0),
        ("DE:zone30", 30.0),
        ("walk", 7.0),
        ("60;40", 60.0),
        ("signals", None),
        ("variable", None),
        ("", None),
        (None, None),
        ("0", None),
    ],
)
def test_maxspeed_parses_numbers_units_and_national_zones(
    value: str | None, kmh: float | None
) -> None:
    result = parse_maxspeed(value)
    if kmh is None:
        assert result is None
    else:
        assert result == pytest.approx(kmh, rel=1e-6)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, 0),
        ({"highway": "residential", "oneway": "yes"}, 1),
        ({"highway": "residential", "oneway": "true"}, 1),
        ({"highway": "residential", "oneway": "-1"}, -1),
        ({"highway": "primary", "junction": "roundabout"}, 1),
        ({"highway": "primary", "junction": "roundabout", "oneway": "no"}, 0),
        ({"highway": "motorway"}, 1),
        ({"highway": "motorway", "oneway": "no"}, 0),
        ({"highway": "secondary", "oneway": "reversible"}, 0),
    ],
)
def test_oneway(tags: dict[str, str], expected: int) -> None:
    assert parse_oneway(tags) == expected


@pytest.mark.parametrize(
    ("tags", "drive", "walk"),
    [
        ({"highway": "primary"}, True, True),
        ({"highway": "motorway"}, True, False),
        ({"highway": "primary_link"}, True, True),
        ({"highway": "residential", "access": "private"}, False, False),
        ({"highway": "residential", "access": "no", "motor_vehicle": "yes"}, True, False),
        ({"highway": "residential", "access": "no", "foot": "yes"}, False, True),
        ({"highway": "residential", "motor_vehicle": "no"}, False, True),
        ({"highway": "residential", "access": "destination"}, True, True),
        ({"highway": "service"}, True, True),
        ({"highway": "service", "service": "parking_aisle"}, False, True),
        ({"highway": "service", "service": "driveway"}, False, True),
        ({"highway": "footway"}, False, True),
        ({"highway": "steps"}, False, True),
        ({"highway": "cycleway", "foot": "no"}, False, False),
        ({"highway": "pedestrian"}, False, True),
        ({"highway": "construction"}, False, False),
        ({"highway": "living_street"}, True, True),
        ({"building": "yes"}, False, False),
    ],
)
def test_who_may_use_a_way(tags: dict[str, str], drive: bool, walk: bool) -> None:
    assert is_drivable(tags) is drive
    assert is_walkable(tags) is walk


def test_speed_from_maxspeed_else_road_class() -> None:
    assert road_speed_kmh({"highway": "primary", "maxspeed": "40"}) == 40.0
    assert road_speed_kmh({"highway": "primary"}) == 50.0
    assert road_speed_kmh({"highway": "motorway", "maxspeed": "FI:motorway"}) == 120.0
    assert road_speed_kmh({"highway": "residential", "maxspeed": "signals"}) == 30.0
    assert road_speed_kmh({"highway": "road"}, fallback_kmh=25.0) == 30.0


@pytest.mark.parametrize(
    ("tags", "kind"),
    [
        ({"amenity": "hospital"}, "hospital"),
        ({"healthcare": "hospital"}, "hospital"),
        ({"amenity": "clinic"}, "clinic"),
        ({"amenity": "doctors"}, "clinic"),
        ({"amenity": "police"}, "police"),
        ({"amenity": "fire_station"}, "fire_station"),
        ({"amenity": "school"}, "school"),
        ({"amenity": "university"}, "university"),
        ({"highway": "traffic_signals"}, "traffic_signals"),
        ({"amenity": "cafe"}, None),
    ],
)
def test_poi_kinds_keep_clinics_apart_from_hospitals(
    tags: dict[str, str], kind: str | None
) -> None:
    assert poi_kind(tags) == kind


def test_reads_roads_pois_and_boundaries(osm_file: Callable[..., Path]) -> None:
    nodes = [
        (1, 24.0, 60.0, {}),
        (2, 24.001, 60.0, {"highway": "traffic_signals"}),
        (3, 24.002, 60.0, {}),
        (10, 24.0, 60.001, {"amenity": "police", "name": "Station"}),
        (20, 24.0, 60.0, {}),
        (21, 24.002, 60.0, {}),
        (22, 24.002, 60.002, {}),
        (23, 24.0, 60.002, {}),
    ]
    # node 20 duplicates node 1's position on purpose (a separate building corner)
    ways = [
        (
            100,
            [1, 2, 3],
            {"highway": "secondary", "oneway": "yes", "maxspeed": "40", "name": "Main"},
        ),
        (101, [1, 10], {"highway": "footway"}),
        (102, [20, 21, 22, 23, 20], {"amenity": "hospital", "name": "General"}),
        (103, [20, 21, 22, 23, 20], {"boundary": "administrative"}),
        (104, [2, 10], {"highway": "construction"}),
    ]
    relations = [
        (
            500,
            [("w", 103, "outer")],
            {
                "type": "boundary",
                "boundary": "administrative",
                "admin_level": "10",
                "name": "Centre",
            },
        ),
    ]
    extract = read_osm(osm_file(nodes, ways, relations))
    assert extract.node_count == 8
    assert extract.way_count == 5
    roads = {r.osm_id: r for r in extract.roads}
    assert set(roads) == {100, 101}  # construction is not a road anyone uses
    main = roads[100]
    assert main.drivable and main.walkable
    assert main.oneway == 1 and main.speed_kmh == 40.0 and main.name == "Main"
    assert main.node_ids.tolist() == [1, 2, 3]
    assert not roads[101].drivable and roads[101].walkable
    kinds = {(p.kind, p.osm_type): p for p in extract.pois}
    assert set(kinds) == {("traffic_signals", "n"), ("police", "n"), ("hospital", "w")}
    hospital = kinds[("hospital", "w")]
    assert hospital.lon == pytest.approx(24.001) and hospital.lat == pytest.approx(60.001)
    assert hospital.name == "General"
    [boundary] = extract.boundaries
    assert boundary.admin_level == 10 and boundary.name == "Centre" and boundary.complete
    assert len(boundary.outer) == 1 and boundary.outer[0].shape == (5, 2)


def test_way_with_nodes_outside_the_extract_is_split(osm_file: Callable[..., Path]) -> None:
    nodes = [
        (1, 24.0, 60.0, {}),
        (2, 24.001, 60.0, {}),
        (4, 24.003, 60.0, {}),
        (5, 24.004, 60.0, {}),
    ]
    ways = [(100, [1, 2, 3, 4, 5], {"highway": "residential"})]  # node 3 is missing
    [road] = read_osm(osm_file(nodes, ways)).roads
    assert road.node_ids.tolist() == [1, 2, -1, 4, 5]
    assert np.isnan(road.lon[2])


def test_missing_random_and_truncated_files_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(OsmFileError) as missing:
        read_osm(tmp_path / "nope.pbf")
    assert missing.value.reason == "missing"
    empty = tmp_path / "empty.osm.pbf"
    empty.write_bytes(b"")
    with pytest.raises(OsmFileError) as err:
        read_osm(empty)
    assert err.value.reason == "empty"
    noise = tmp_path / "noise.osm.pbf"
    noise.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(OsmFileError) as err:
        read_osm(noise)
    assert err.value.reason == "unreadable"
