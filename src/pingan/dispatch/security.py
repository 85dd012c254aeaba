"""Event security mode (大型活动安保): events, posts, unit assignment, priority raise, board.

A commander declares a large event (perimeter polygon, expected crowd, time window);
the desk proposes posts for foot patrols, K9 teams and drones by p-median on the road
network (:mod:`pingan.dispatch.posts`), assigns available units to them by road ETA,
and while the event is *active* every call located inside its perimeter within its
time window is raised one priority level (P4→P3, P3→P2, P2→P1; P1 stays) with a triage
reason naming the event (:func:`raise_priority`, called from ``service.report_call``).

Import direction: this module imports :mod:`pingan.dispatch.service` at module level;
``service.report_call`` imports :func:`raise_priority` lazily inside the function, so
there is no import cycle.

**Counts from the crowd** (when the request gives none) — a planning rule of thumb,
not a standard; planners override it: one foot post (a pair of officers) per 2,500
expected attendees (at least 2, at most 40), one K9 team per 10,000 (at least 1, at
most 8), one drone per 20,000 (at least 1, at most 6).

Service functions never commit; every write is audited and records its event.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import dijkstra
from shapely import contains_xy
from shapely.geometry import Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.city.graph import RoadGraph, haversine_m
from pingan.city.models import City, District
from pingan.city.routing import nearest_nodes, travel_times_to
from pingan.city.service import get_city, load_graph
from pingan.core import audit, clock
from pingan.core.auth.permissions import Principal, actor_name
from pingan.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from pingan.core.outbox import record
from pingan.dispatch import service
from pingan.dispatch.events import (
    PostsAssigned,
    PostsProposed,
    SecurityEventActivated,
    SecurityEventCreated,
    SecurityEventEnded,
)
from pingan.dispatch.models import Incident, SecurityEvent, SecurityPost, Unit
from pingan.dispatch.posts import (
    Plan,
    PlanInputError,
    PostSpec,
    plan_posts,
    plan_summary,
)
from pingan.dispatch.recommend import (
    DRONE_CRUISE_MS,
    DRONE_LAUNCH_S,
    WALK_SPEED_MS,
    UnitKind,
    walk_matrix,
)
from pingan.dispatch.security_schemas import (
    BoardIncident,
    PostsAssign,
    PostsPropose,
    SecurityBoard,
    SecurityEventCreate,
    SecurityEventRead,
    SecurityPostRead,
    VenuePreset,
)
from pingan.dispatch.settings import dispatch_settings
from pingan.dispatch.statuses import UnitStatus

Actor = Principal | str

PLANNED: Final = "planned"
ACTIVE: Final = "active"
ENDED: Final = "ended"
LIVE: Final = (PLANNED, ACTIVE)
PRIORITY_UP: Final[dict[str, str]] = {"P4": "P3", "P3": "P2", "P2": "P1", "P1": "P1"}
RAISE_RULE: Final = "event_security"
"""The ``rule`` of the triage reason a raised incident carries."""
PLAN_BUDGET_S: Final = 6.0
"""MILP time for a whole proposal (an interactive request); the heuristic takes over after."""
MAX_ASSIGN_S: Final = 3_600.0
"""A unit farther than an hour from a post is not assigned to it."""

PER_FOOT: Final = 2_500
PER_K9: Final = 10_000
PER_DRONE: Final = 20_000

DEMO_VENUES: Final[list[VenuePreset]] = [
    VenuePreset(
        key="rautatientori",
        city="helsinki",
        name={
            "zh-CN": "赫尔辛基火车站广场（Rautatientori）球迷庆典区",
            "en": "Railway Square (Rautatientori) fan zone, Helsinki",
        },
        perimeter={
            "type": "Polygon",
            "coordinates": [
                [
                    [24.9405, 60.1695],
                    [24.9475, 60.1695],
                    [24.9475, 60.1725],
                    [24.9405, 60.1725],
                    [24.9405, 60.1695],
                ]
            ],
        },
        expected_crowd=15_000,
    ),
]
"""Demo venue: the square in front of Helsinki Central Station, where the city holds
its big open-air celebrations — inside the bundled demo extract."""


# ---------------------------------------------------------------------------- helpers


def _data_dir(data_dir: Path | None) -> Path:
    from pingan.core.settings import get_settings

    return data_dir if data_dir is not None else get_settings().data_dir


def _aware(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def counts_for_crowd(crowd: int) -> dict[str, int]:
    """Posts per kind for an expected crowd (the rule of thumb in the module docstring)."""
    return {
        "foot": min(40, max(2, math.ceil(crowd / PER_FOOT))),
        "k9": min(8, max(1, math.ceil(crowd / PER_K9))),
        "drone": min(6, max(1, math.ceil(crowd / PER_DRONE))),
    }


def parse_perimeter(value: dict[str, Any] | str) -> Polygon:
    """The perimeter polygon from GeoJSON (a Polygon geometry or a Feature with one).

    Raises ``ValidationFailed`` on ``perimeter`` when it is not a valid, non-empty polygon.
    """
    try:
        doc = json.loads(value) if isinstance(value, str) else value
        if isinstance(doc, dict) and doc.get("type") == "Feature":
            doc = doc.get("geometry") or {}
        geometry = shape(doc)
    except Exception as exc:
        raise ValidationFailed(
            "dispatch.security.error.perimeter", field="perimeter", reason=type(exc).__name__
        ) from None
    if not isinstance(geometry, Polygon) or geometry.is_empty:
        raise ValidationFailed(
            "dispatch.security.error.perimeter", field="perimeter", reason=geometry.geom_type
        )
    if not geometry.is_valid or geometry.area <= 0:
        raise ValidationFailed(
            "dispatch.security.error.perimeter", field="perimeter", reason="invalid"
        )
    return geometry


def check_inside_city(city: City, polygon: BaseGeometry) -> None:
    """Refuse (422 on ``perimeter``) a polygon reaching outside the city's bounding box."""
    min_lon, min_lat, max_lon, max_lat = city.bbox
    x0, y0, x1, y1 = polygon.bounds
    if x0 < min_lon or y0 < min_lat or x1 > max_lon or y1 > max_lat:
        raise ValidationFailed(
            "dispatch.security.error.perimeter_outside", field="perimeter", city=city.name
        )


def _graph(db: Session, city: City, data_dir: Path | None) -> RoadGraph:
    return load_graph(city=city, data_dir=_data_dir(data_dir))


def _perimeter(event: SecurityEvent) -> Polygon:
    return parse_perimeter(event.perimeter)


def get_event(*, db: Session, event_id: int, principal: Principal | None = None) -> SecurityEvent:
    """An event by id (NotFound when there is none or the caller may not see it)."""
    event = db.get(SecurityEvent, event_id)
    if event is None or (principal is not None and not principal.sees(event.jurisdiction_id)):
        raise NotFound("dispatch.security.error.not_found", field="event_id", event=event_id)
    return event


def _live_event(db: Session, event_id: int, principal: Principal | None) -> SecurityEvent:
    event = get_event(db=db, event_id=event_id, principal=principal)
    if event.status == ENDED:
        raise Conflict("dispatch.security.error.ended", field="event_id", event=event.id)
    return event


def presets(city_name: str | None = None) -> list[VenuePreset]:
    """The demo venues (of one city, by name, when given)."""
    return [v for v in DEMO_VENUES if city_name is None or v.city == city_name]


# ---------------------------------------------------------------------------- events


def create_event(
    *,
    db: Session,
    event_in: SecurityEventCreate,
    actor: Actor,
    principal: Principal | None = None,
    data_dir: Path | None = None,
) -> SecurityEvent:
    """Declare an event under security; checks the perimeter, the window and the crowd.

    The event's jurisdiction is the district at the perimeter's centre (else the city's);
    a caller who does not see it is refused (403). Nothing is written on any error.
    """
    city = get_city(session=db, city_id=event_in.city_id)
    polygon = parse_perimeter(event_in.perimeter)
    check_inside_city(city, polygon)
    starts, ends = _aware(event_in.starts_at), _aware(event_in.ends_at)
    if ends <= starts:
        raise ValidationFailed("dispatch.security.error.window", field="ends_at")
    if event_in.expected_crowd <= 0:
        raise ValidationFailed("dispatch.security.error.crowd", field="expected_crowd")
    graph = _graph(db, city, data_dir)
    if not bool(np.any(contains_xy(polygon, graph.lon, graph.lat))):
        raise ValidationFailed("dispatch.security.error.perimeter_no_roads", field="perimeter")
    centre = polygon.representative_point()
    node, _metres = nearest_nodes(graph, float(centre.x), float(centre.y))
    district_id = int(service.node_districts(db=db, city=city, graph=graph)[node])
    district = db.get(District, district_id) if district_id >= 0 else None
    jurisdiction_id = district.jurisdiction_id if district is not None else city.jurisdiction_id
    if principal is not None and not principal.sees(jurisdiction_id):
        raise PermissionDenied("dispatch.security.error.jurisdiction", field="perimeter")
    event = SecurityEvent(
        city_id=city.id,
        jurisdiction_id=jurisdiction_id,
        name=event_in.name.strip(),
        perimeter=json.dumps(mapping(polygon)),
        expected_crowd=event_in.expected_crowd,
        starts_at=starts,
        ends_at=ends,
        status=PLANNED,
        created_by=actor_name(actor),
        created_at=clock.now(),
        plan={},
    )
    db.add(event)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="dispatch_security_event",
        entity_id=event.id,
        detail={
            "name": event.name,
            "city_id": city.id,
            "expected_crowd": event.expected_crowd,
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
        },
    )
    record(
        db,
        SecurityEventCreated(
            id=event.id,
            name=event.name,
            expected_crowd=event.expected_crowd,
            starts_at=starts.isoformat(),
            ends_at=ends.isoformat(),
        ),
    )
    return event


def list_events(
    *,
    db: Session,
    principal: Principal,
    city_id: int | None = None,
    status: str | None = None,
) -> list[SecurityEvent]:
    """The events the caller may see, the latest start first."""
    stmt = service.scope(select(SecurityEvent), SecurityEvent.jurisdiction_id, principal)
    if city_id is not None:
        stmt = stmt.where(SecurityEvent.city_id == city_id)
    if status is not None:
        stmt = stmt.where(SecurityEvent.status == status)
    return list(db.scalars(stmt.order_by(SecurityEvent.starts_at.desc(), SecurityEvent.id.desc())))


def _set_status(
    db: Session, event: SecurityEvent, new: str, *, actor: Actor, allowed: tuple[str, ...]
) -> None:
    if event.status not in allowed:
        raise Conflict(
            "dispatch.security.error.status",
            field="status",
            event=event.id,
            current=event.status,
            wanted=new,
        )
    old = event.status
    event.status = new
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_security_event",
        entity_id=event.id,
        detail={"status": [old, new]},
    )


def activate_event(
    *, db: Session, event_id: int, actor: Actor, principal: Principal | None = None
) -> SecurityEvent:
    """Put a planned event live: from now, calls inside its perimeter in its window are raised."""
    event = get_event(db=db, event_id=event_id, principal=principal)
    _set_status(db, event, ACTIVE, actor=actor, allowed=(PLANNED,))
    posts = list(event.posts)
    record(
        db,
        SecurityEventActivated(
            id=event.id,
            name=event.name,
            posts=len(posts),
            staffed=sum(1 for p in posts if p.unit_id is not None),
        ),
    )
    return event


def end_event(
    *, db: Session, event_id: int, actor: Actor, principal: Principal | None = None
) -> SecurityEvent:
    """End an event (planned or active); its posts release their units."""
    event = get_event(db=db, event_id=event_id, principal=principal)
    _set_status(db, event, ENDED, actor=actor, allowed=LIVE)
    record(db, SecurityEventEnded(id=event.id, name=event.name))
    return event


# ---------------------------------------------------------------------------- posts


def specs_for_counts(
    crowd: int,
    *,
    foot: int | None = None,
    k9: int | None = None,
    drones: int | None = None,
    foot_standard_s: float = 180.0,
    k9_standard_s: float = 300.0,
    drone_radius_m: float = 400.0,
) -> list[PostSpec]:
    """Post specs: the given counts, each missing one scaled from the crowd."""
    scaled = counts_for_crowd(crowd)
    return [
        PostSpec("foot", scaled["foot"] if foot is None else foot, standard_s=foot_standard_s),
        PostSpec("k9", scaled["k9"] if k9 is None else k9, standard_s=k9_standard_s),
        PostSpec("drone", scaled["drone"] if drones is None else drones, radius_m=drone_radius_m),
    ]


def specs_for(event: SecurityEvent, propose_in: PostsPropose) -> list[PostSpec]:
    """The post specs of a proposal: the request's counts, else scaled from the crowd."""
    return specs_for_counts(
        event.expected_crowd,
        foot=propose_in.foot,
        k9=propose_in.k9,
        drones=propose_in.drones,
        foot_standard_s=propose_in.foot_standard_s,
        k9_standard_s=propose_in.k9_standard_s,
        drone_radius_m=propose_in.drone_radius_m,
    )


def compute_plan(
    *,
    graph: RoadGraph,
    perimeter: BaseGeometry,
    crowd: int,
    specs: list[PostSpec],
    approach_m: float,
    method: str = "auto",
) -> Plan:
    """Run the post planner, mapping its input errors to 422s naming the field."""
    if sum(s.count for s in specs) == 0:
        raise ValidationFailed("dispatch.security.error.no_posts", field="foot")
    try:
        return plan_posts(
            graph,
            perimeter,
            crowd=float(crowd),
            specs=specs,
            approach_m=approach_m,
            method=method,  # type: ignore[arg-type]
            time_budget_s=PLAN_BUDGET_S,
        )
    except PlanInputError as exc:
        field = exc.field.replace("drone.", "drones.").split(".")[0]
        field = {"drone": "drones", "count": "foot"}.get(field, field)
        raise ValidationFailed(
            "dispatch.security.error.plan", field=field, reason=exc.reason
        ) from None


def propose_posts(
    *,
    db: Session,
    event_id: int,
    propose_in: PostsPropose,
    actor: Actor,
    principal: Principal | None = None,
    data_dir: Path | None = None,
) -> SecurityEvent:
    """Propose posts for the event (replacing earlier ones and their unit assignments)."""
    event = _live_event(db, event_id, principal)
    city = get_city(session=db, city_id=event.city_id)
    graph = _graph(db, city, data_dir)
    plan = compute_plan(
        graph=graph,
        perimeter=_perimeter(event),
        crowd=event.expected_crowd,
        specs=specs_for(event, propose_in),
        approach_m=propose_in.approach_m,
        method=propose_in.method,
    )
    for old in list(event.posts):
        event.posts.remove(old)
        db.delete(old)
    db.flush()
    for post in plan.posts:
        event.posts.append(
            SecurityPost(
                kind=post.kind,
                node=post.node,
                lon=post.lon,
                lat=post.lat,
                unit_id=None,
                covered_share=post.covered_share,
                assigned_share=post.assigned_share,
                mean_cost_s=post.mean_cost_s,
                inside=post.inside,
                reasons=[{"code": code, "params": params} for code, params in post.reasons],
                eta_s=None,
            )
        )
    summary = plan_summary(plan)
    summary["approach_m"] = propose_in.approach_m
    event.plan = summary
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_security_event",
        entity_id=event.id,
        detail={"proposed": [[p.kind, p.node] for p in plan.posts], "plan": summary["kinds"]},
    )
    coverage = ", ".join(f"{k['kind']} {k['coverage']:.0%}" for k in summary["kinds"] if k["count"])
    record(
        db,
        PostsProposed(id=event.id, name=event.name, posts=len(plan.posts), coverage=coverage),
    )
    return event


def _busy_unit_ids(db: Session, city_id: int, event_id: int) -> set[int]:
    """Units already on a post of another planned or active event."""
    rows = db.execute(
        select(SecurityPost.unit_id)
        .join(SecurityEvent, SecurityEvent.id == SecurityPost.event_id)
        .where(
            SecurityEvent.city_id == city_id,
            SecurityEvent.status.in_(LIVE),
            SecurityEvent.id != event_id,
            SecurityPost.unit_id.is_not(None),
        )
    )
    return {int(r[0]) for r in rows if r[0] is not None}


def _eta_matrix(
    graph: RoadGraph, kind: str, posts: list[SecurityPost], units: list[Unit]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Seconds for each unit (rows) to reach each post (columns), by the unit's way of moving."""
    post_nodes = np.array([p.node for p in posts], dtype=np.int64)
    unit_nodes = np.array([u.node for u in units], dtype=np.int64)
    if kind == UnitKind.DRONE:
        d = haversine_m(
            np.array([u.lon for u in units])[:, None],
            np.array([u.lat for u in units])[:, None],
            np.array([p.lon for p in posts])[None, :],
            np.array([p.lat for p in posts])[None, :],
        )
        return np.asarray(d, dtype=np.float64) / DRONE_CRUISE_MS + DRONE_LAUNCH_S
    valid = (unit_nodes >= 0) & (unit_nodes < graph.n_nodes)
    out = np.full((len(units), len(posts)), np.inf)
    if kind == UnitKind.FOOT:
        metres = dijkstra(
            walk_matrix(graph),
            directed=True,
            indices=post_nodes.astype(np.int32),
            limit=MAX_ASSIGN_S * WALK_SPEED_MS,
        )
        times = np.asarray(metres, dtype=np.float64) / WALK_SPEED_MS  # posts × nodes
    else:
        times = np.atleast_2d(travel_times_to(graph, post_nodes, MAX_ASSIGN_S))
    out[valid] = times[:, unit_nodes[valid]].T
    return out


def assign_units(
    *,
    db: Session,
    event_id: int,
    assign_in: PostsAssign,
    actor: Actor,
    principal: Principal | None = None,
    data_dir: Path | None = None,
) -> SecurityEvent:
    """Staff the event's posts with available units of the right kind, nearest by road ETA.

    Per kind, one minimum-total-ETA assignment of units to posts
    (``scipy.optimize.linear_sum_assignment``): foot patrols walk, K9 teams drive, drones
    fly. A unit already on another live event's post, out of the caller's jurisdictions,
    or more than an hour away is not used; a post nobody can staff stays open.
    """
    event = _live_event(db, event_id, principal)
    posts = list(event.posts)
    if not posts:
        raise Conflict("dispatch.security.error.no_posts_yet", field="event_id", event=event.id)
    city = get_city(session=db, city_id=event.city_id)
    graph = _graph(db, city, data_dir)
    if assign_in.replace:
        for p in posts:
            p.unit_id, p.eta_s = None, None
    busy = _busy_unit_ids(db, city.id, event.id)
    busy |= {p.unit_id for p in posts if p.unit_id is not None}
    staffed_now: list[tuple[SecurityPost, Unit]] = []
    for kind in (UnitKind.FOOT, UnitKind.K9, UnitKind.DRONE):
        open_posts = [p for p in posts if p.kind == kind and p.unit_id is None]
        if not open_posts:
            continue
        stmt = select(Unit).where(
            Unit.city_id == city.id,
            Unit.kind == str(kind),
            Unit.status == str(UnitStatus.AVAILABLE),
        )
        if principal is not None:
            stmt = service.scope(stmt, Unit.jurisdiction_id, principal)
        units = [u for u in db.scalars(stmt.order_by(Unit.id)) if u.id not in busy]
        if not units:
            continue
        eta = _eta_matrix(graph, kind, open_posts, units)
        cost = np.where(np.isfinite(eta) & (eta <= MAX_ASSIGN_S), eta, 1e9)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if cost[r, c] >= 1e9:
                continue
            post, unit = open_posts[c], units[r]
            post.unit_id, post.eta_s = unit.id, round(float(eta[r, c]), 1)
            busy.add(unit.id)
            staffed_now.append((post, unit))
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_security_event",
        entity_id=event.id,
        detail={"assigned": [[p.id, u.id] for p, u in staffed_now], "replace": assign_in.replace},
    )
    record(
        db,
        PostsAssigned(
            id=event.id,
            name=event.name,
            staffed=sum(1 for p in posts if p.unit_id is not None),
            posts=len(posts),
            callsigns=", ".join(u.callsign for _p, u in staffed_now),
        ),
    )
    return event


# ---------------------------------------------------------------------------- priority


def raise_priority(
    *, db: Session, city_id: int, lon: float, lat: float, at: datetime, priority: str
) -> tuple[str, dict[str, Any] | None]:
    """The priority of a call at (lon, lat) received ``at``, raised inside an active event.

    Returns the (possibly raised) priority and the triage reason to append, or None when
    no ACTIVE event's perimeter contains the point during its time window. P1 stays P1
    (the reason is still recorded, so the board shows the call belongs to the event).
    """
    when = _aware(at)
    events = db.scalars(
        select(SecurityEvent)
        .where(
            SecurityEvent.city_id == city_id,
            SecurityEvent.status == ACTIVE,
            SecurityEvent.starts_at <= when,
            SecurityEvent.ends_at >= when,
        )
        .order_by(SecurityEvent.id)
    )
    for event in events:
        try:
            polygon = _perimeter(event)
        except ValidationFailed:
            continue
        if bool(contains_xy(polygon, lon, lat)):
            raised = PRIORITY_UP.get(priority, priority)
            return raised, {
                "rule": RAISE_RULE,
                "match": event.name,
                "event_id": event.id,
                "from": priority,
                "to": raised,
            }
    return priority, None


# ---------------------------------------------------------------------------- reads


def event_read(
    *, db: Session, event: SecurityEvent, now: datetime | None = None
) -> SecurityEventRead:
    """An event as the API shows it, each post with its unit's status, position and staleness."""
    stale_after = dispatch_settings().stale_after_s
    moment = now or clock.now()
    posts: list[SecurityPostRead] = []
    for p in event.posts:
        unit = db.get(Unit, p.unit_id) if p.unit_id is not None else None
        posts.append(
            SecurityPostRead(
                id=p.id,
                kind=p.kind,
                node=p.node,
                lon=p.lon,
                lat=p.lat,
                inside=p.inside,
                covered_share=p.covered_share,
                assigned_share=p.assigned_share,
                mean_cost_s=p.mean_cost_s,
                reasons=list(p.reasons or []),
                unit_id=p.unit_id,
                callsign=unit.callsign if unit is not None else None,
                unit_status=unit.status if unit is not None else None,
                unit_lon=unit.lon if unit is not None else None,
                unit_lat=unit.lat if unit is not None else None,
                position_at=unit.position_at if unit is not None else None,
                stale=service.is_stale(unit, moment, stale_after) if unit is not None else None,
                eta_s=p.eta_s,
            )
        )
    return SecurityEventRead(
        id=event.id,
        city_id=event.city_id,
        jurisdiction_id=event.jurisdiction_id,
        name=event.name,
        perimeter=json.loads(event.perimeter),
        expected_crowd=event.expected_crowd,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        status=event.status,
        created_by=event.created_by,
        created_at=event.created_at,
        plan=dict(event.plan or {}),
        posts=posts,
    )


def _raised_by(incident: Incident, event_id: int) -> bool:
    return any(
        isinstance(r, dict) and r.get("rule") == RAISE_RULE and r.get("event_id") == event_id
        for r in incident.triage_reasons or []
    )


def board(*, db: Session, event_id: int, principal: Principal, limit: int = 200) -> SecurityBoard:
    """The commander's board: the event, its posts and units, incidents inside the perimeter.

    Incidents shown: those located inside the perimeter that were received during the
    event's window, plus any still open there; newest first (the caller's jurisdictions).
    """
    event = get_event(db=db, event_id=event_id, principal=principal)
    polygon = _perimeter(event)
    x0, y0, x1, y1 = polygon.bounds
    stmt = service.scope(select(Incident), Incident.jurisdiction_id, principal).where(
        Incident.city_id == event.city_id,
        Incident.lon >= x0,
        Incident.lon <= x1,
        Incident.lat >= y0,
        Incident.lat <= y1,
        ((Incident.received_at >= event.starts_at) & (Incident.received_at <= event.ends_at))
        | Incident.status.in_(service.OPEN),
    )
    rows = list(db.scalars(stmt.order_by(Incident.received_at.desc(), Incident.id.desc())))
    inside = [i for i in rows if bool(contains_xy(polygon, i.lon, i.lat))][:limit]
    incidents = [
        BoardIncident(
            id=i.id,
            priority=i.priority,
            status=i.status,
            call_type=i.call_type,
            call_type_label=service.call_type_label(i.call_type),
            lon=i.lon,
            lat=i.lat,
            received_at=i.received_at,
            raised=_raised_by(i, event.id),
        )
        for i in inside
    ]
    counts = {p: 0 for p in ("P1", "P2", "P3", "P4")}
    open_counts = dict(counts)
    for i in inside:
        counts[i.priority] = counts.get(i.priority, 0) + 1
        if i.status in service.OPEN:
            open_counts[i.priority] = open_counts.get(i.priority, 0) + 1
    read = event_read(db=db, event=event)
    coverage = {
        str(k["kind"]): float(k["coverage"])
        for k in (event.plan or {}).get("kinds", [])
        if k.get("count")
    }
    return SecurityBoard(
        event=read,
        incidents=incidents,
        counts_by_priority=counts,
        open_by_priority=open_counts,
        posts=len(read.posts),
        staffed=sum(1 for p in read.posts if p.unit_id is not None),
        stale_units=sum(1 for p in read.posts if p.stale),
        coverage=coverage,
    )
