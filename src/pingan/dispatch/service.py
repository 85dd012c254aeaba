"""Service functions of the dispatch desk (接处警): calls → incidents → dispatch → close.

Keyword-only, over the caller's session; nothing here commits (the route or job does).
Every write appends an audit record and records its event in the outbox in the same
transaction. Errors are :mod:`pingan.core.errors` exceptions naming the field.

The guarantee "a unit cannot be dispatched to two incidents" is held by the database:
``dispatch_incident_units`` has a unique index on ``unit_id`` over the rows whose
``cleared_at`` is NULL (the active assignments). Two dispatchers racing for one unit
both pass the status check, but only the first insert commits; the second gets the
index violation, which becomes a 409 and rolls its whole decision back.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray
from shapely.geometry import shape
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pingan.city.districts import DistrictArea, assign_nodes
from pingan.city.graph import RoadGraph, load_road_lines
from pingan.city.models import City, District, Poi
from pingan.city.routing import nearest_nodes
from pingan.city.service import MAX_SNAP_M, get_city, list_cities, load_graph
from pingan.core import audit, clock
from pingan.core.auth.deps import scope_to_jurisdictions
from pingan.core.auth.permissions import Principal, actor_name
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.core.outbox import record
from pingan.dispatch import cameras as camera_service
from pingan.dispatch.duplicates import CallSnapshot, find_duplicates
from pingan.dispatch.eido import (
    EidoCall,
    EidoError,
    EidoIncident,
    EidoLocation,
    export_eido,
    parse_eido,
)
from pingan.dispatch.events import (
    IncidentClosed,
    IncidentReclassified,
    IncidentReported,
    UnitsDispatched,
    UnitStatusChanged,
)
from pingan.dispatch.models import (
    Incident,
    IncidentUnit,
    TriageRuleSet,
    Unit,
    UnitStatusChange,
)
from pingan.dispatch.recommend import IncidentRequest, Need, UnitKind, UnitState, recommend
from pingan.dispatch.schemas import (
    AssignmentRead,
    CallCreate,
    DispatchCreate,
    DistrictRef,
    DuplicateRead,
    Durations,
    IncidentClassify,
    IncidentClose,
    IncidentRead,
    PositionUpdate,
    RecommendationRead,
    ResponseGroup,
    ResponseStats,
    RunCardRead,
    StatusChange,
    UnitCreate,
    UnitRead,
)
from pingan.dispatch.settings import DispatchSettings, dispatch_settings
from pingan.dispatch.statuses import TRANSITIONS, TransitionRefused, UnitStatus, check_transition
from pingan.dispatch.triage import (
    TriageInputError,
    TriageRules,
    default_rules,
    rules_from_dict,
    triage,
)

Actor = Principal | str
_T = TypeVar("_T")
_log = logging.getLogger(__name__)


def scope(stmt: Select[Any], column: Any, principal: Principal) -> Select[Any]:
    """``stmt`` limited to the caller's jurisdictions (typed for SQLAlchemy 2.1's Select)."""
    return scope_to_jurisdictions(stmt, column, principal)


OPEN: Final = ("new", "dispatched", "on_scene", "duplicate", "transferred")
"""Statuses of an incident that is not closed."""
ACTIVE_FOR_DUPLICATES: Final = ("new", "dispatched", "on_scene", "transferred")

RUN_CARD_KINDS: Final[dict[str, UnitKind]] = {
    "patrol_car": UnitKind.PATROL_CAR,
    "swat": UnitKind.PATROL_CAR,
    "criminal_investigation": UnitKind.PATROL_CAR,
    "traffic_police": UnitKind.MOTORBIKE,
    "community_police": UnitKind.FOOT,
    "motorbike": UnitKind.MOTORBIKE,
    "foot": UnitKind.FOOT,
    "k9": UnitKind.K9,
    "drone": UnitKind.DRONE,
    "camera": UnitKind.CAMERA,
}
"""Run-card resource kinds of the triage rules → the unit kinds the desk has.

Specialists the demo force does not model (SWAT, criminal investigation) are sent
as patrol cars, traffic police ride motorbikes, community police walk.
"""

UNCLEAR_LABEL: Final = {"zh-CN": "待研判", "en": "Unclear"}
DEMO_CAMERAS: Final = 30
DEMO_CAMERA_COVERAGE_M: Final = 80.0
DEMO_DRONE_ENDURANCE_MIN: Final = 40.0
STATS_TZ: Final = timezone(timedelta(hours=8))
"""Hours of the day in the statistics are China Standard Time."""


@lru_cache(maxsize=1)
def shipped_rules() -> TriageRules:
    """The triage rules shipped with Pingan (parsed once): in force until a supervisor saves."""
    return default_rules()


_rules_lock = threading.Lock()
_rules_by_db: dict[str, tuple[tuple[int, datetime] | None, TriageRules]] = {}
"""Per database (URL): (id, created_at) of the rule-set row parsed last (None: the defaults)
and its rules. The time guards against a database re-created under the same URL."""
_rules_last: list[TriageRules] = []
"""The rules :func:`load_rules` returned last in this process (for callers without a session)."""


def triage_rules() -> TriageRules:
    """The triage rules last loaded in this process (:func:`load_rules`), else the defaults.

    Callers holding a session call :func:`load_rules` instead, which sees a change made by
    another process; this is for pure code paths without a database at hand.
    """
    return _rules_last[-1] if _rules_last else shipped_rules()


def load_rules(db: Session) -> TriageRules:
    """The triage rules in force: the newest saved rule set, else the shipped defaults.

    Multi-process safe and cheap: each call asks the database for the newest rule-set id
    (the last entry of the primary-key index, with its time) and re-parses the document only
    when it differs from the one this process parsed last for this database.
    """
    head = db.execute(
        select(TriageRuleSet.id, TriageRuleSet.created_at)
        .order_by(TriageRuleSet.id.desc())
        .limit(1)
    ).first()
    newest = (head[0], head[1]) if head is not None else None
    key = str(db.get_bind().engine.url)
    with _rules_lock:
        cached = _rules_by_db.get(key)
    if cached is not None and cached[0] == newest:
        rules = cached[1]
    else:
        row = db.get(TriageRuleSet, newest[0]) if newest is not None else None
        rules = shipped_rules()
        if row is not None:
            try:
                rules = rules_from_dict(row.document)
            except TriageInputError as exc:
                # Validated when saved; a row edited by hand must not stop the desk taking
                # calls: the shipped defaults stand in, loudly.
                _log.error("triage rule set %s is invalid (%s): using the defaults", row.id, exc)
        with _rules_lock:
            _rules_by_db[key] = (newest, rules)
    with _rules_lock:
        _rules_last[:] = [rules]
    return rules


def _settings() -> DispatchSettings:
    return dispatch_settings()


# ---------------------------------------------------------------------------- geography

_lock = threading.Lock()
_node_districts: dict[tuple[int, str], NDArray[np.int64]] = {}
_names: dict[tuple[int, str], dict[str, tuple[float, float]]] = {}


def _graph(city: City, data_dir: Path) -> RoadGraph:
    return load_graph(city=city, data_dir=data_dir)


def node_districts(*, db: Session, city: City, graph: RoadGraph) -> NDArray[np.int64]:
    """The ``District.id`` of every node of the city's drive graph (cached per graph file).

    The import does not store the node → district map, so it is recomputed once per
    process from the districts' polygons with the import's own rule
    (:func:`pingan.city.districts.assign_nodes`: containing polygon, else nearest).
    """
    key = (city.id, city.graph_file)
    with _lock:
        cached = _node_districts.get(key)
    if cached is not None:
        return cached
    rows = list(
        db.scalars(select(District).where(District.city_id == city.id).order_by(District.id))
    )
    if not rows:
        result = np.full(graph.n_nodes, -1, dtype=np.int64)
    else:
        areas = [
            DistrictArea(code=d.code, name=d.name, geometry=shape(json.loads(d.geometry)))
            for d in rows
        ]
        index = assign_nodes(areas, graph.lon, graph.lat)
        ids = np.array([d.id for d in rows], dtype=np.int64)
        result = np.where(index >= 0, ids[np.maximum(index, 0)], -1)
    with _lock:
        _node_districts[key] = result
    return result


def _district_of(db: Session, city: City, graph: RoadGraph, node: int) -> District | None:
    district_id = int(node_districts(db=db, city=city, graph=graph)[node])
    return db.get(District, district_id) if district_id >= 0 else None


def _inside_bbox(city: City, lon: float, lat: float) -> bool:
    min_lon, min_lat, max_lon, max_lat = city.bbox
    return bool(min_lon <= lon <= max_lon and min_lat <= lat <= max_lat)


def snap_point(city: City, graph: RoadGraph, lon: float, lat: float) -> int:
    """The road node for a point of ``city``; 422 (field ``lon``) outside it or off the network."""
    if not _inside_bbox(city, lon, lat):
        raise ValidationFailed(
            "dispatch.error.outside_city", field="lon", lon=lon, lat=lat, city=city.name
        )
    node, metres = nearest_nodes(graph, lon, lat)
    if metres > MAX_SNAP_M:
        raise ValidationFailed("dispatch.error.off_network", field="lon", metres=round(metres))
    return node


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def place_names(*, db: Session, city: City, data_dir: Path) -> dict[str, tuple[float, float]]:
    """Road and POI names of the city (normalised) → a point on it (cached per graph file)."""
    key = (city.id, city.graph_file)
    with _lock:
        cached = _names.get(key)
    if cached is not None:
        return cached
    names: dict[str, tuple[float, float]] = {}
    lines = load_road_lines(Path(data_dir) / city.graph_file)
    points: dict[str, list[NDArray[np.float32]]] = defaultdict(list)
    for i in range(len(lines)):
        name = _normalise(str(lines.name[i]))
        if name:
            points[name].append(lines.line(i))
    for name, parts in points.items():
        coords = np.concatenate(parts).astype(np.float64)
        # The road's point nearest to the middle of its points: on the road, not beside it.
        middle = coords.mean(axis=0)
        best = coords[int(np.argmin(((coords - middle) ** 2).sum(axis=1)))]
        names[name] = (float(best[0]), float(best[1]))
    for poi in db.scalars(select(Poi).where(Poi.city_id == city.id, Poi.name != "")):
        names.setdefault(_normalise(poi.name), (poi.lon, poi.lat))
    with _lock:
        _names[key] = names
    return names


def geocode(
    *, db: Session, city: City, data_dir: Path, address: str
) -> tuple[float, float, str] | None:
    """The point of the best road or POI name matching ``address``: (lon, lat, name), or None.

    An exact name wins; then the longest name contained in the address ("Mannerheimintie
    5" → Mannerheimintie); then the shortest name containing the address.
    """
    wanted = _normalise(address)
    if not wanted:
        return None
    names = place_names(db=db, city=city, data_dir=data_dir)
    if wanted in names:
        lon, lat = names[wanted]
        return lon, lat, wanted
    inside = [n for n in names if len(n) >= 3 and n in wanted]
    if inside:
        best = max(inside, key=lambda n: (len(n), n))
        return (*names[best], best)
    around = [n for n in names if len(wanted) >= 3 and wanted in n]
    if around:
        best = min(around, key=lambda n: (len(n), n))
        return (*names[best], best)
    return None


# ---------------------------------------------------------------------------- units


def get_unit(*, db: Session, unit_id: int, principal: Principal | None = None) -> Unit:
    """A unit by id (NotFound when there is none or the caller may not see it)."""
    unit = db.get(Unit, unit_id)
    if unit is None or (principal is not None and not principal.sees(unit.jurisdiction_id)):
        raise NotFound("dispatch.error.unit_not_found", field="unit_id", unit=unit_id)
    return unit


def is_stale(unit: Unit, now: datetime, stale_after_s: float) -> bool:
    """Whether the unit's last position is too old to show as live (cameras never are)."""
    if unit.kind == UnitKind.CAMERA:
        return False
    if unit.position_at is None:
        return True
    return (now - unit.position_at).total_seconds() > stale_after_s


def unit_read(
    unit: Unit, *, now: datetime | None = None, stale_after_s: float | None = None
) -> UnitRead:
    """A unit as the API shows it, with its staleness."""
    limit = _settings().stale_after_s if stale_after_s is None else stale_after_s
    read = UnitRead.model_validate(unit)
    return read.model_copy(update={"stale": is_stale(unit, now or clock.now(), limit)})


def _timeline(
    db: Session,
    unit: Unit,
    new: str,
    *,
    at: datetime,
    actor: Actor,
    reason: str = "",
    incident_id: int | None = None,
    old: str | None = None,
) -> None:
    db.add(
        UnitStatusChange(
            unit_id=unit.id,
            from_status=old,
            to_status=new,
            incident_id=incident_id,
            at=at,
            actor=actor_name(actor),
            reason=reason,
        )
    )


def register_unit(
    *, db: Session, unit_in: UnitCreate, actor: Actor, data_dir: Path | None = None
) -> Unit:
    """Register a unit at its home position (snapped; the district found gives its jurisdiction)."""
    from pingan.core.settings import get_settings

    base = data_dir if data_dir is not None else get_settings().data_dir
    city = get_city(session=db, city_id=unit_in.city_id)
    if unit_in.kind is UnitKind.DRONE and unit_in.endurance_min is None:
        raise ValidationFailed("dispatch.error.drone_endurance", field="endurance_min")
    if unit_in.kind is UnitKind.CAMERA and unit_in.coverage_m is None:
        raise ValidationFailed("dispatch.error.camera_coverage", field="coverage_m")
    if db.scalars(select(Unit.id).where(Unit.callsign == unit_in.callsign)).first() is not None:
        raise Conflict("dispatch.error.callsign_taken", field="callsign", callsign=unit_in.callsign)
    graph = _graph(city, base)
    node = snap_point(city, graph, unit_in.lon, unit_in.lat)
    district = _district_of(db, city, graph, node)
    now = clock.now()
    unit = Unit(
        callsign=unit_in.callsign,
        kind=str(unit_in.kind),
        status=str(UnitStatus.AVAILABLE),
        city_id=city.id,
        jurisdiction_id=district.jurisdiction_id if district is not None else city.jurisdiction_id,
        home_lon=unit_in.lon,
        home_lat=unit_in.lat,
        lon=unit_in.lon,
        lat=unit_in.lat,
        position_at=now,
        node=node,
        capabilities=sorted(set(unit_in.capabilities)),
        endurance_min=unit_in.endurance_min,
        coverage_m=unit_in.coverage_m,
        incident_id=None,
        demo=unit_in.demo,
    )
    db.add(unit)
    db.flush()
    _timeline(db, unit, unit.status, at=now, actor=actor, reason="registered")
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="dispatch_unit",
        entity_id=unit.id,
        detail={"callsign": unit.callsign, "kind": unit.kind, "city_id": city.id},
    )
    return unit


def update_position(
    *,
    db: Session,
    unit_id: int,
    position_in: PositionUpdate,
    actor: Actor,
    data_dir: Path | None = None,
    principal: Principal | None = None,
) -> Unit:
    """Record a unit's position report (snapped to the road graph); older reports are ignored."""
    from pingan.core.settings import get_settings

    base = data_dir if data_dir is not None else get_settings().data_dir
    unit = get_unit(db=db, unit_id=unit_id, principal=principal)
    city = get_city(session=db, city_id=unit.city_id)
    graph = _graph(city, base)
    node = snap_point(city, graph, position_in.lon, position_in.lat)
    at = position_in.at.astimezone(UTC) if position_in.at is not None else clock.now()
    if unit.position_at is not None and at < unit.position_at:
        return unit  # a late, out-of-order report: the newer position stands
    unit.lon, unit.lat, unit.node, unit.position_at = position_in.lon, position_in.lat, node, at
    if position_in.endurance_min is not None:
        unit.endurance_min = position_in.endurance_min
    if position_in.battery_pct is not None:
        unit.battery_pct, unit.battery_at = position_in.battery_pct, at
    # Position reports are AVL telemetry, not audited one by one: at a report every few
    # seconds per unit they would bury the audit trail. Registration, status changes and
    # dispatch decisions are audited.
    db.flush()
    return unit


def _active_assignment(db: Session, unit_id: int) -> IncidentUnit | None:
    return db.scalars(
        select(IncidentUnit).where(
            IncidentUnit.unit_id == unit_id, IncidentUnit.cleared_at.is_(None)
        )
    ).first()


def _move(
    db: Session, unit: Unit, new: UnitStatus, *, actor: Actor, reason: str, at: datetime
) -> int | None:
    """Apply a checked status change with its side effects; the incident concerned, if any."""
    old = unit.status
    assignment = _active_assignment(db, unit.id)
    incident_id = assignment.incident_id if assignment is not None else unit.incident_id
    if new is UnitStatus.ON_SCENE and assignment is not None:
        if assignment.arrived_at is None:
            assignment.arrived_at = at
        incident = db.get(Incident, assignment.incident_id)
        if incident is not None:
            if incident.first_arrival_at is None:
                incident.first_arrival_at = at
            if incident.status in ("new", "dispatched", "duplicate"):
                incident.status = "on_scene"
    if new in (UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE):
        if assignment is not None:
            assignment.cleared_at = at
        unit.incident_id = None
    unit.status = str(new)
    _timeline(
        db, unit, str(new), at=at, actor=actor, reason=reason, incident_id=incident_id, old=old
    )
    record(
        db,
        UnitStatusChanged(
            unit_id=unit.id,
            callsign=unit.callsign,
            from_status=old,
            to_status=str(new),
            incident_id=incident_id,
            lon=unit.lon,
            lat=unit.lat,
        ),
    )
    return incident_id


def change_unit_status(
    *,
    db: Session,
    unit_id: int,
    status_in: StatusChange,
    actor: Actor,
    principal: Principal | None = None,
) -> Unit:
    """Move a unit to a new status (the transition table decides; 409 naming both statuses)."""
    unit = get_unit(db=db, unit_id=unit_id, principal=principal)
    new = UnitStatus(status_in.status)
    if camera_service.is_camera(unit) and new not in (
        UnitStatus.AVAILABLE,
        UnitStatus.OUT_OF_SERVICE,
    ):
        # A camera is in or out of service; it is tasked, it never goes en route.
        raise Conflict("dispatch.error.camera_status", field="status", callsign=unit.callsign)
    _check(unit, new)
    if new is UnitStatus.DISPATCHED:
        # Being sent is a dispatch decision (with its incident), not a status report.
        raise Conflict(
            "dispatch.error.dispatch_via_incident", field="status", callsign=unit.callsign
        )
    at = clock.now()
    incident_id = _move(db, unit, new, actor=actor, reason=status_in.reason, at=at)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_unit",
        entity_id=unit.id,
        reason=status_in.reason,
        detail={"status": str(new), "incident_id": incident_id},
    )
    return unit


def _check(unit: Unit, new: UnitStatus) -> None:
    try:
        check_transition(unit.status, new)
    except TransitionRefused as exc:
        allowed = ", ".join(sorted(TRANSITIONS[exc.current]))
        raise Conflict(
            "dispatch.error.transition",
            field="status",
            callsign=unit.callsign,
            current=str(exc.current),
            new=str(exc.new),
            allowed=allowed,
        ) from None


def list_units(
    *,
    db: Session,
    principal: Principal,
    city_id: int | None = None,
    stale_after_s: float | None = None,
) -> list[UnitRead]:
    """The units the caller may see (their jurisdictions), with staleness."""
    stmt = scope(select(Unit), Unit.jurisdiction_id, principal).order_by(Unit.id)
    if city_id is not None:
        stmt = stmt.where(Unit.city_id == city_id)
    now = clock.now()
    rows = list(db.scalars(stmt))
    tasks = camera_service.tasked_incidents(
        db=db, unit_ids=[u.id for u in rows if camera_service.is_camera(u)]
    )
    return [
        unit_read(u, now=now, stale_after_s=stale_after_s).model_copy(
            update={"tasked_incidents": tasks.get(u.id, [])}
        )
        for u in rows
    ]


def unit_timeline(
    *, db: Session, unit_id: int, principal: Principal | None = None
) -> list[UnitStatusChange]:
    """Every status change of a unit, oldest first."""
    unit = get_unit(db=db, unit_id=unit_id, principal=principal)
    return list(
        db.scalars(
            select(UnitStatusChange)
            .where(UnitStatusChange.unit_id == unit.id)
            .order_by(UnitStatusChange.at, UnitStatusChange.id)
        )
    )


# ---------------------------------------------------------------------------- calls


def _city_for_point(db: Session, lon: float, lat: float) -> City:
    cities = list_cities(session=db)
    for city in cities:
        if _inside_bbox(city, lon, lat):
            return city
    name = cities[0].name if cities else "-"
    raise ValidationFailed("dispatch.error.outside_city", field="lon", lon=lon, lat=lat, city=name)


def _locate(db: Session, call_in: CallCreate, data_dir: Path) -> tuple[City, float, float, str]:
    if (call_in.lon is None) != (call_in.lat is None):
        raise ValidationFailed(
            "dispatch.error.lonlat_pair", field="lat" if call_in.lat is None else "lon"
        )
    if call_in.lon is not None and call_in.lat is not None:
        city = _city_for_point(db, call_in.lon, call_in.lat)
        return city, call_in.lon, call_in.lat, (call_in.address or "").strip()
    address = (call_in.address or "").strip()
    if not address:
        raise ValidationFailed("dispatch.error.where", field="address")
    for city in list_cities(session=db):
        found = geocode(db=db, city=city, data_dir=data_dir, address=address)
        if found is not None:
            return city, found[0], found[1], address
    raise ValidationFailed("dispatch.error.unknown_address", field="address", address=address)


def needs_for(call_type: str | None, police: bool, priority: int) -> list[Need]:
    """The run card of a call type as unit-kind needs (kinds merged, counts added).

    Urgent police calls (P1/P2) also ask for a drone; every police call asks for a
    camera covering the place (video patrol). A police call with an empty run card
    (an unclear call kept by the desk) gets one patrol car.
    """
    counts: dict[UnitKind, int] = {}
    if call_type is not None:
        try:
            card = triage_rules().run_card(call_type)
        except KeyError:
            card = None
        if card is not None:
            for item in card.items:
                kind = RUN_CARD_KINDS.get(item.kind, UnitKind.PATROL_CAR)
                counts[kind] = counts.get(kind, 0) + item.count
    if police and not counts:
        counts[UnitKind.PATROL_CAR] = 1
    if police and priority <= 2:
        counts.setdefault(UnitKind.DRONE, 1)
    if police:
        counts.setdefault(UnitKind.CAMERA, 1)
    return [Need(kind, count) for kind, count in counts.items()]


def _unit_state(unit: Unit, district_ids: NDArray[np.int64]) -> UnitState | None:
    kind = UnitKind(unit.kind)
    if (
        kind is UnitKind.DRONE
        and unit.battery_pct is not None
        and unit.battery_pct < _settings().drone_min_battery_pct
    ):
        return None  # a drone whose battery is below the limit is not proposed
    try:
        return UnitState(
            id=str(unit.id),
            kind=kind,
            status=UnitStatus(unit.status),
            node=unit.node,
            lon=unit.lon,
            lat=unit.lat,
            capabilities=frozenset(unit.capabilities or ()),
            district=int(district_ids[unit.node]) if 0 <= unit.node < district_ids.shape[0] else -1,
            endurance_min=unit.endurance_min,
            coverage_m=unit.coverage_m or 0.0,
            battery_pct=unit.battery_pct,
        )
    except ValueError:
        return None  # a unit the algorithm cannot use (no endurance known, ...) is not proposed


def _recommend(
    db: Session, city: City, graph: RoadGraph, incident: Incident, district_ids: NDArray[np.int64]
) -> list[dict[str, Any]]:
    priority = int(incident.priority[1])
    needs = needs_for(incident.call_type or None, incident.police, priority)
    if not needs:
        return []
    units = list(
        db.scalars(
            select(Unit).where(Unit.city_id == city.id, Unit.status == str(UnitStatus.AVAILABLE))
        )
    )
    states = [s for s in (_unit_state(u, district_ids) for u in units) if s is not None]
    request = IncidentRequest(
        id=str(incident.id),
        node=incident.node,
        lon=incident.lon,
        lat=incident.lat,
        priority=priority,
        needs=tuple(needs),
        district=int(district_ids[incident.node]),
    )
    ranked = recommend(graph, request, states, cutoff_s=_settings().cutoff_s)
    by_id = {str(u.id): u for u in units}
    chosen: list[dict[str, Any]] = []
    for need in needs:
        picked = [r for r in ranked if r.kind is need.kind][: need.count]
        for rec in picked:
            unit = by_id[rec.unit_id]
            chosen.append(
                {
                    "unit_id": unit.id,
                    "callsign": unit.callsign,
                    "kind": unit.kind,
                    "eta_s": round(rec.eta_s, 1),
                    "reasons": [{"code": code, "params": params} for code, params in rec.reasons],
                }
            )
    chosen.sort(key=lambda r: (r["eta_s"], r["unit_id"]))
    return chosen


def report_call(*, db: Session, settings: Any, call_in: CallCreate, actor: Actor) -> Incident:
    """Take a call: locate, triage, check duplicates, recommend units; the new incident."""
    conf = _settings()
    city, lon, lat, address = _locate(db, call_in, settings.data_dir)
    graph = _graph(city, settings.data_dir)
    node = snap_point(city, graph, lon, lat)
    district_ids = node_districts(db=db, city=city, graph=graph)
    district_id = int(district_ids[node])
    district = db.get(District, district_id) if district_id >= 0 else None
    try:
        result = triage(call_in.text, load_rules(db))
    except TriageInputError as exc:
        raise ValidationFailed("dispatch.error.text", field="text", reason=exc.reason) from None
    received = (
        call_in.received_at.astimezone(UTC) if call_in.received_at is not None else clock.now()
    )

    window_start = received - timedelta(seconds=conf.duplicate_window_s)
    window_end = received + timedelta(seconds=conf.duplicate_window_s)
    candidates = list(
        db.scalars(
            select(Incident).where(
                Incident.city_id == city.id,
                Incident.status.in_(ACTIVE_FOR_DUPLICATES),
                Incident.received_at >= window_start,
                Incident.received_at <= window_end,
            )
        )
    )
    snapshot = CallSnapshot(
        id="new", received_at=received, lat=lat, lon=lon, text=call_in.text, type=result.type
    )
    others = [
        CallSnapshot(
            id=str(i.id),
            received_at=i.received_at,
            lat=i.lat,
            lon=i.lon,
            text=i.call_text,
            type=i.call_type or None,
        )
        for i in candidates
    ]
    found = find_duplicates(
        snapshot, others, radius_m=conf.duplicate_radius_m, window_s=conf.duplicate_window_s
    )
    duplicates: list[dict[str, Any]] = [
        {"incident_id": int(cid), "score": score, "reasons": reasons}
        for cid, score, reasons in found
    ]
    duplicate_of = (
        duplicates[0]["incident_id"]
        if duplicates and duplicates[0]["score"] >= conf.duplicate_threshold
        else None
    )

    incident = Incident(
        city_id=city.id,
        jurisdiction_id=district.jurisdiction_id if district is not None else city.jurisdiction_id,
        district_id=district.id if district is not None else None,
        lon=lon,
        lat=lat,
        node=node,
        address=address[:300],
        call_text=call_in.text,
        caller_phone=call_in.caller_phone,
        source=call_in.source,
        call_type=result.type or "",
        priority=result.priority,
        police=result.police,
        unclear=result.unclear,
        triage_reasons=[{"rule": rule, "match": match} for rule, match in result.reasons],
        status="duplicate" if duplicate_of is not None else "new",
        duplicate_of=duplicate_of,
        duplicates=duplicates,
        received_at=received,
        recommendation=[],
        override_reason=None,
    )
    # Event security mode: a call inside an active event's perimeter is raised one level.
    from pingan.dispatch.security import raise_priority  # late: security imports service

    incident.priority, raised = raise_priority(
        db=db, city_id=city.id, lon=lon, lat=lat, at=received, priority=incident.priority
    )
    if raised is not None:
        incident.triage_reasons = [*incident.triage_reasons, raised]
    db.add(incident)
    db.flush()
    incident.recommendation = _recommend(db, city, graph, incident, district_ids)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="dispatch_incident",
        entity_id=incident.id,
        detail={
            "call_type": incident.call_type,
            "priority": incident.priority,
            "source": incident.source,
            "duplicate_of": duplicate_of,
            "recommended": [r["unit_id"] for r in incident.recommendation],
        },
    )
    record(
        db,
        IncidentReported(
            id=incident.id,
            call_type=incident.call_type or "unclear",
            priority=incident.priority,
            lon=round(lon, 6),
            lat=round(lat, 6),
            district=district.code if district is not None else "",
            police=incident.police,
            unclear=incident.unclear,
            duplicate_of=duplicate_of,
        ),
    )
    return incident


# ---------------------------------------------------------------------------- incidents


def get_incident(*, db: Session, incident_id: int, principal: Principal | None = None) -> Incident:
    """An incident by id (NotFound when there is none or the caller may not see it)."""
    incident = db.get(Incident, incident_id)
    if incident is None or (principal is not None and not principal.sees(incident.jurisdiction_id)):
        raise NotFound(
            "dispatch.error.incident_not_found", field="incident_id", incident=incident_id
        )
    return incident


def _open_incident(db: Session, incident_id: int, principal: Principal | None) -> Incident:
    """The incident, refused (409) when it is already closed."""
    incident = get_incident(db=db, incident_id=incident_id, principal=principal)
    if incident.status == "closed":
        raise Conflict("dispatch.error.incident_closed", field="incident_id", incident=incident.id)
    return incident


RECLASSIFIABLE: Final = ("new", "duplicate", "dispatched", "on_scene")
"""Incident statuses in which the desk may still re-classify (not once transferred or closed)."""


def classify_incident(
    *,
    db: Session,
    settings: Any,
    incident_id: int,
    classify_in: IncidentClassify,
    actor: Actor,
    principal: Principal | None = None,
) -> Incident:
    """Re-classify an incident (研判定性): type, priority (default: the type's), police or not.

    This is how an unclear call leaves the first-contact desk: the dispatcher decides
    what it is, and a non-police type then becomes transferable to its department. A
    police type gets a fresh recommendation; a non-police one loses it. The old
    classification and the reason stay in the triage reasons and the audit trail.
    """
    incident = _open_incident(db, incident_id, principal)
    if incident.status not in RECLASSIFIABLE:
        raise Conflict(
            "dispatch.error.reclassify_status",
            field="incident_id",
            incident=incident.id,
            status=incident.status,
        )
    rules = load_rules(db)
    try:
        call_type = rules.call_type(classify_in.call_type)
    except KeyError:
        raise ValidationFailed(
            "dispatch.error.unknown_call_type", field="call_type", call_type=classify_in.call_type
        ) from None
    if not call_type.police and incident.status in ("dispatched", "on_scene"):
        # Units are out on it: they stand down through the board before it can leave.
        raise Conflict(
            "dispatch.error.reclassify_units_out", field="call_type", incident=incident.id
        )
    reason = classify_in.reason.strip()
    if not reason:
        raise ValidationFailed("dispatch.error.reclassify_reason", field="reason")
    before = (incident.call_type, incident.priority, incident.police, incident.unclear)
    incident.call_type = call_type.id
    incident.priority = classify_in.priority or call_type.priority
    incident.police = call_type.police
    incident.unclear = False
    incident.triage_reasons = [
        *(incident.triage_reasons or []),
        {
            "rule": "dispatcher",
            "match": reason,
            "from": before[0] or "unclear",
            "to": call_type.id,
        },
    ]
    if incident.status in ("new", "duplicate"):
        city = get_city(session=db, city_id=incident.city_id)
        graph = _graph(city, settings.data_dir)
        district_ids = node_districts(db=db, city=city, graph=graph)
        incident.recommendation = _recommend(db, city, graph, incident, district_ids)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_incident",
        entity_id=incident.id,
        reason=reason,
        detail={
            "reclassified": {
                "call_type": [before[0], incident.call_type],
                "priority": [before[1], incident.priority],
                "police": [before[2], incident.police],
                "unclear": [before[3], False],
            }
        },
    )
    record(
        db,
        IncidentReclassified(
            id=incident.id,
            from_type=before[0] or "unclear",
            call_type=incident.call_type,
            from_priority=before[1],
            priority=incident.priority,
            police=incident.police,
        ),
    )
    return incident


def dispatch_units(
    *,
    db: Session,
    incident_id: int,
    dispatch_in: DispatchCreate,
    actor: Actor,
    principal: Principal | None = None,
) -> Incident:
    """Send units to an incident; a choice other than the recommendation needs a reason."""
    incident = _open_incident(db, incident_id, principal)
    wanted = list(dict.fromkeys(dispatch_in.unit_ids))
    if len(wanted) != len(dispatch_in.unit_ids):
        raise ValidationFailed("dispatch.error.repeated_unit", field="unit_ids")
    recommended = {int(r["unit_id"]) for r in incident.recommendation or []}
    reason = (dispatch_in.override_reason or "").strip()
    override = set(wanted) != recommended
    if override and not reason:
        raise ValidationFailed("dispatch.error.override_reason_required", field="override_reason")
    units: list[Unit] = []
    camera_ids: list[int] = []
    for unit_id in wanted:
        unit = db.get(Unit, unit_id)
        if unit is None or unit.city_id != incident.city_id:
            raise NotFound("dispatch.error.unit_not_found", field="unit_ids", unit=unit_id)
        if camera_service.is_camera(unit):
            # Cameras are tasked to look, never dispatched (no assignment, no status).
            camera_ids.append(unit.id)
            continue
        if unit.status != UnitStatus.AVAILABLE:
            raise Conflict(
                "dispatch.error.unit_busy",
                field="unit_ids",
                callsign=unit.callsign,
                status=unit.status,
            )
        units.append(unit)
    cameras = camera_service.check_cameras(
        db=db, incident=incident, unit_ids=camera_ids, principal=principal
    )
    at = clock.now()
    try:
        for unit in units:
            db.add(IncidentUnit(incident_id=incident.id, unit_id=unit.id, dispatched_at=at))
        # The active-assignment index speaks here if another dispatcher got there first.
        db.flush()
    except IntegrityError:
        raise Conflict("dispatch.error.unit_taken", field="unit_ids") from None
    for unit in units:
        unit.incident_id = incident.id
        _move_dispatched(db, unit, incident.id, actor=actor, at=at, reason=reason)
    if units and incident.status in ("new", "duplicate"):
        incident.status = "dispatched"
    if units and incident.dispatched_at is None:
        incident.dispatched_at = at
    camera_service.add_tasks(db=db, incident=incident, cameras=cameras, actor=actor, at=at)
    if override:
        incident.override_reason = reason
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_incident",
        entity_id=incident.id,
        reason=reason,
        detail={
            "dispatched": [u.id for u in units],
            "cameras": camera_ids,
            "recommended": sorted(recommended),
            "override": override,
        },
    )
    if units:
        record(
            db,
            UnitsDispatched(
                incident_id=incident.id,
                unit_ids=[u.id for u in units],
                callsigns=", ".join(u.callsign for u in units),
                override=override,
                priority=incident.priority,
                lon=incident.lon,
                lat=incident.lat,
                unit_kinds=[u.kind for u in units],
                unit_positions=[[u.lon, u.lat] for u in units],
            ),
        )
    return incident


def _move_dispatched(
    db: Session, unit: Unit, incident_id: int, *, actor: Actor, at: datetime, reason: str
) -> None:
    old = unit.status
    unit.status = str(UnitStatus.DISPATCHED)
    unit.standby_node, unit.standby_since = None, None  # it leaves its standby post
    _timeline(
        db, unit, unit.status, at=at, actor=actor, reason=reason, incident_id=incident_id, old=old
    )
    record(
        db,
        UnitStatusChanged(
            unit_id=unit.id,
            callsign=unit.callsign,
            from_status=old,
            to_status=unit.status,
            incident_id=incident_id,
            lon=unit.lon,
            lat=unit.lat,
        ),
    )


def close_incident(
    *,
    db: Session,
    incident_id: int,
    close_in: IncidentClose,
    actor: Actor,
    principal: Principal | None = None,
) -> Incident:
    """Close an incident; units still with it are released (their timeline records it)."""
    incident = _open_incident(db, incident_id, principal)
    at = clock.now()
    for assignment in list(incident.assignments):
        if assignment.cleared_at is not None:
            continue
        unit = db.get(Unit, assignment.unit_id)
        if unit is not None and unit.status not in (
            UnitStatus.AVAILABLE,
            UnitStatus.OUT_OF_SERVICE,
        ):
            _move(db, unit, UnitStatus.AVAILABLE, actor=actor, reason="incident closed", at=at)
        assignment.cleared_at = at
    camera_service.release_all(db=db, incident=incident, actor=actor, at=at)
    incident.status = "closed"
    incident.closed_at = at
    incident.outcome = close_in.outcome
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_incident",
        entity_id=incident.id,
        reason="close",
        detail={"outcome": close_in.outcome},
    )
    total = (
        (incident.first_arrival_at - incident.received_at).total_seconds()
        if incident.first_arrival_at is not None
        else None
    )
    record(
        db,
        IncidentClosed(
            id=incident.id,
            call_type=incident.call_type or "unclear",
            priority=incident.priority,
            total_s=total,
        ),
    )
    return incident


def list_incidents(
    *,
    db: Session,
    principal: Principal,
    status: Literal["open", "closed", "all"] | None = None,
    limit: int = 100,
) -> list[Incident]:
    """The incidents the caller may see, newest first."""
    stmt = scope(select(Incident), Incident.jurisdiction_id, principal)
    if status in (None, "open"):
        stmt = stmt.where(Incident.status.in_(OPEN))
    elif status == "closed":
        stmt = stmt.where(Incident.status == "closed")
    return list(
        db.scalars(stmt.order_by(Incident.received_at.desc(), Incident.id.desc()).limit(limit))
    )


def call_type_label(call_type: str) -> dict[str, str]:
    """The call type's label in both languages."""
    if not call_type:
        return dict(UNCLEAR_LABEL)
    try:
        return dict(triage_rules().call_type(call_type).label)
    except KeyError:
        return {"zh-CN": call_type, "en": call_type}


def incident_read(*, db: Session, incident: Incident) -> IncidentRead:
    """An incident as the API shows it (the phone still raw: masking happens on output)."""
    return incident_reads(db=db, incidents=[incident])[0]


def incident_reads(*, db: Session, incidents: Sequence[Incident]) -> list[IncidentRead]:
    """Several incidents as the API shows them, in order: a fixed handful of queries for
    the lot (districts, assignments, units, camera tasks, linkage), not a few per incident."""
    if not incidents:
        return []
    ids = [i.id for i in incidents]
    district_ids = {i.district_id for i in incidents if i.district_id is not None}
    districts = (
        {d.id: d for d in db.scalars(select(District).where(District.id.in_(district_ids)))}
        if district_ids
        else {}
    )
    assignments: dict[int, list[IncidentUnit]] = defaultdict(list)
    for a in db.scalars(
        select(IncidentUnit).where(IncidentUnit.incident_id.in_(ids)).order_by(IncidentUnit.id)
    ):
        assignments[a.incident_id].append(a)
    cameras = camera_service.camera_reads_for(db=db, incident_ids=ids)
    unit_ids = {a.unit_id for rows in assignments.values() for a in rows}
    units = (
        {u.id: u for u in db.scalars(select(Unit).where(Unit.id.in_(unit_ids)))} if unit_ids else {}
    )
    reads: list[IncidentRead] = []
    for incident in incidents:
        district = districts.get(incident.district_id) if incident.district_id else None
        units_read: list[AssignmentRead] = []
        for a in assignments.get(incident.id, []):
            unit = units.get(a.unit_id)
            units_read.append(
                AssignmentRead(
                    unit_id=a.unit_id,
                    callsign=unit.callsign if unit is not None else "",
                    status=unit.status if unit is not None and a.cleared_at is None else "cleared",
                    dispatched_at=a.dispatched_at,
                    arrived_at=a.arrived_at,
                    cleared_at=a.cleared_at,
                )
            )
        reads.append(
            IncidentRead(
                id=incident.id,
                status=incident.status,
                call_type=incident.call_type,
                call_type_label=call_type_label(incident.call_type),
                priority=incident.priority,
                police=incident.police,
                unclear=incident.unclear,
                triage_reasons=list(incident.triage_reasons or []),
                text=incident.call_text,
                lon=incident.lon,
                lat=incident.lat,
                address=incident.address,
                source=incident.source,
                district=DistrictRef(id=district.id, code=district.code, name=district.name)
                if district
                else None,
                received_at=incident.received_at,
                dispatched_at=incident.dispatched_at,
                first_arrival_at=incident.first_arrival_at,
                closed_at=incident.closed_at,
                outcome=incident.outcome,
                duplicates=[DuplicateRead.model_validate(d) for d in incident.duplicates or []],
                duplicate_of=incident.duplicate_of,
                recommendations=[
                    RecommendationRead.model_validate(r) for r in incident.recommendation or []
                ],
                units=units_read,
                caller_phone=incident.caller_phone,
                override_reason=incident.override_reason,
                cameras=cameras.get(incident.id, []),
            )
        )
    return _with_linkage(db, incidents, reads)


def _with_linkage(
    db: Session, incidents: Sequence[Incident], reads: list[IncidentRead]
) -> list[IncidentRead]:
    """``reads`` with the linkage fields: suggested department, transfer, follow-up case."""
    from pingan.dispatch.linkage import incident_linkages  # linkage imports this module

    return incident_linkages(db=db, incidents=incidents, reads=reads)


# ---------------------------------------------------------------------------- statistics


def _durations(values: Sequence[float]) -> Durations:
    if not values:
        return Durations(n=0, mean=None, p50=None, p90=None)
    arr = np.asarray(values, dtype=np.float64)
    return Durations(
        n=int(arr.size),
        mean=round(float(arr.mean()), 1),
        p50=round(float(np.percentile(arr, 50)), 1),
        p90=round(float(np.percentile(arr, 90)), 1),
    )


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a is not None and b is not None else None


def _group(
    key: str, rows: Sequence[tuple[Incident, str]], target_of: Callable[[str], float]
) -> ResponseGroup:
    to_dispatch = [
        s for i, _ in rows if (s := _seconds(i.received_at, i.dispatched_at)) is not None
    ]
    to_arrival = [
        s for i, _ in rows if (s := _seconds(i.dispatched_at, i.first_arrival_at)) is not None
    ]
    totals = [
        (s, code)
        for i, code in rows
        if (s := _seconds(i.received_at, i.first_arrival_at)) is not None
    ]
    within = [s <= target_of(code) for s, code in totals]
    targets = {target_of(code) for _, code in rows}
    return ResponseGroup(
        key=key,
        count=len(rows),
        call_to_dispatch=_durations(to_dispatch),
        dispatch_to_arrival=_durations(to_arrival),
        total=_durations([s for s, _ in totals]),
        target_s=targets.pop() if len(targets) == 1 else None,
        within_target=round(sum(within) / len(within), 4) if within else None,
    )


def response_statistics(
    *, db: Session, principal: Principal, since: datetime, until: datetime
) -> ResponseStats:
    """Response times of the incidents received in [since, until), by priority, district, hour."""
    if until <= since:
        raise ValidationFailed("dispatch.error.bad_period", field="until")
    conf = _settings()
    suburban = set(conf.suburban_districts)

    def target_of(code: str) -> float:
        return conf.target_suburban_s if code in suburban else conf.target_urban_s

    stmt = scope(select(Incident), Incident.jurisdiction_id, principal).where(
        Incident.received_at >= since,
        Incident.received_at < until,
        Incident.status != "duplicate",
        Incident.duplicate_of.is_(None),
    )
    incidents = list(db.scalars(stmt.order_by(Incident.received_at)))
    district_ids = {i.district_id for i in incidents if i.district_id is not None}
    codes: dict[int, str] = {}
    if district_ids:
        codes = {
            d.id: d.code for d in db.scalars(select(District).where(District.id.in_(district_ids)))
        }
    rows = [(i, codes.get(i.district_id or -1, "")) for i in incidents]

    def grouped(key_of: Callable[[Incident, str], str]) -> list[ResponseGroup]:
        groups: dict[str, list[tuple[Incident, str]]] = defaultdict(list)
        for incident, code in rows:
            groups[key_of(incident, code)].append((incident, code))
        return [_group(k, groups[k], target_of) for k in sorted(groups)]

    return ResponseStats(
        since=since,
        until=until,
        count=len(rows),
        overall=_group("all", rows, target_of),
        by_priority=grouped(lambda i, _c: i.priority),
        by_district=grouped(lambda _i, c: c or "-"),
        by_hour=grouped(lambda i, _c: f"{i.received_at.astimezone(STATS_TZ).hour:02d}"),
    )


def run_cards(*, db: Session | None = None) -> list[RunCardRead]:
    """The call types of the triage rules in force, with their run cards as unit kinds.

    With a session, the rules are loaded from the database first (:func:`load_rules`).
    """
    rules = load_rules(db) if db is not None else triage_rules()
    out: list[RunCardRead] = []
    for ct in rules.call_types:
        priority = int(ct.priority[1])
        out.append(
            RunCardRead(
                id=ct.id,
                label=dict(ct.label),
                priority=ct.priority,
                police=ct.police,
                department=ct.department,
                run_card=[{"kind": i.kind, "count": i.count} for i in ct.run_card.items],
                unit_kinds=[
                    {"kind": str(n.kind), "count": n.count}
                    for n in needs_for(ct.id, ct.police, priority)
                ],
            )
        )
    return out


# ---------------------------------------------------------------------------- demo force


def _spread(candidates: Sequence[_T], k: int) -> list[_T]:
    """``k`` items spread evenly over ``candidates`` (deterministic)."""
    if not candidates or k <= 0:
        return []
    step = len(candidates) / k
    return [candidates[min(len(candidates) - 1, int(step * j + step / 2))] for j in range(k)]


def seed_demo_units(*, db: Session, settings: Any, city_id: int) -> int:
    """Create the demo force of a city (per district 2 cars, 1 motorbike, 2 foot patrols;
    1 K9 and 2 drones city-wide; cameras at traffic signals); 0 when it has units already.
    """
    if db.scalars(select(func.count(Unit.id)).where(Unit.city_id == city_id)).one():
        return 0
    city = get_city(session=db, city_id=city_id)
    graph = _graph(city, settings.data_dir)
    district_ids = node_districts(db=db, city=city, graph=graph)
    districts = list(
        db.scalars(select(District).where(District.city_id == city.id).order_by(District.id))
    )
    prefix = city.name[:12]
    plan: list[UnitCreate] = []

    def add(callsign: str, kind: UnitKind, node: int, **extra: Any) -> None:
        plan.append(
            UnitCreate(
                callsign=callsign[:40],
                kind=kind,
                city_id=city.id,
                lon=float(graph.lon[node]),
                lat=float(graph.lat[node]),
                demo=True,
                **extra,
            )
        )

    for district in districts:
        nodes = np.flatnonzero(district_ids == district.id).tolist()
        if not nodes:
            continue
        picks = _spread(nodes, 5)
        code = district.code[:14]
        add(f"{prefix}.{code}.car1", UnitKind.PATROL_CAR, picks[0])
        add(f"{prefix}.{code}.car2", UnitKind.PATROL_CAR, picks[3 % len(picks)])
        add(f"{prefix}.{code}.moto1", UnitKind.MOTORBIKE, picks[2 % len(picks)])
        add(f"{prefix}.{code}.foot1", UnitKind.FOOT, picks[1 % len(picks)])
        add(f"{prefix}.{code}.foot2", UnitKind.FOOT, picks[4 % len(picks)])
    lon0, lat0 = float(np.mean(graph.lon)), float(np.mean(graph.lat))
    centre, _ = nearest_nodes(graph, lon0, lat0)
    add(f"{prefix}.k9-1", UnitKind.K9, centre)
    all_nodes = list(range(graph.n_nodes))
    for j, node in enumerate(_spread(all_nodes, 2), start=1):
        add(f"{prefix}.drone{j}", UnitKind.DRONE, node, endurance_min=DEMO_DRONE_ENDURANCE_MIN)
    signals = list(
        db.scalars(
            select(Poi)
            .where(Poi.city_id == city.id, Poi.kind == "traffic_signals")
            .order_by(Poi.id)
        )
    )
    for j, poi in enumerate(_spread(signals, min(DEMO_CAMERAS, len(signals))), start=1):
        plan.append(
            UnitCreate(
                callsign=f"{prefix}.cam{j}",
                kind=UnitKind.CAMERA,
                city_id=city.id,
                lon=poi.lon,
                lat=poi.lat,
                coverage_m=DEMO_CAMERA_COVERAGE_M,
                demo=True,
            )
        )
    for unit_in in plan:
        register_unit(db=db, unit_in=unit_in, actor="system", data_dir=settings.data_dir)
    return len(plan)


def recommended_unit_ids(incident: Incident) -> list[int]:
    """The unit ids the desk recommended for ``incident`` (what "accept" sends)."""
    return [int(r["unit_id"]) for r in incident.recommendation or []]


def units_by_id(*, db: Session, ids: Sequence[int]) -> list[Unit]:
    """The units with these ids, in the order given (unknown ids are left out)."""
    rows = {u.id: u for u in db.scalars(select(Unit).where(Unit.id.in_(list(ids))))}
    return [rows[i] for i in ids if i in rows]


# ----------------------------------------------------------------------------- EIDO

PRIORITY_NUMBER: Final = {"P1": 1, "P2": 2, "P3": 3, "P4": 4}


def call_from_eido(doc: dict[str, Any] | str | bytes) -> CallCreate:
    """The call an EIDO (NENA-STA-021) document describes (EidoError naming the field if bad)."""
    parsed = parse_eido(doc)
    refs = [r for c in parsed.calls for r in c.location_refs] or [x.id for x in parsed.locations]
    places = [loc for loc in (parsed.location(r) for r in refs) if loc is not None]
    located = next((p for p in places if p.lat is not None and p.lon is not None), None)
    civic = next((p.civic_text for p in places if p.civic_text), None)
    if located is None and civic is None:
        raise EidoError(field="locationComponent", reason="no coordinates or civic address")
    text = "；".join(parsed.notes) or parsed.incident_type or "EIDO"
    return CallCreate(
        text=text[:2000],
        lon=located.lon if located is not None else None,
        lat=located.lat if located is not None else None,
        address=None if located is not None else (civic or "")[:300],
        source="eido",
        received_at=parsed.calls[0].start if parsed.calls else parsed.updated_at,
    )


def incident_eido(*, db: Session, incident: Incident) -> dict[str, Any]:
    """The incident as an EIDO JSON document (validates against the NENA schema)."""
    city = get_city(session=db, city_id=incident.city_id)
    base = f"urn:emergency:uid:incidentid:{incident.id}:{city.name}.pingan"
    location = EidoLocation(
        id=f"{base}:location",
        kind="incident",
        lat=incident.lat,
        lon=incident.lon,
        civic_text=incident.address or None,
    )
    stamps = [
        t
        for t in (
            incident.received_at,
            incident.dispatched_at,
            incident.first_arrival_at,
            incident.closed_at,
        )
        if t is not None
    ]
    call = EidoCall(
        id=f"{base}:call",
        start=incident.received_at,
        answered=incident.received_at,
        direction="incoming",
        primary_type="emergency",
        state="callAnswered",
        location_refs=(location.id,),
    )
    return export_eido(
        EidoIncident(
            id=base,
            updated_at=max(stamps),
            agency_id=f"{city.name}.pingan",
            issuing_element=f"pingan.{city.name}",
            incident_type=incident.call_type or "unclassified",
            priority=PRIORITY_NUMBER.get(incident.priority),
            calls=(call,),
            locations=(location,),
            notes=(incident.call_text,) if incident.call_text else (),
        )
    )
