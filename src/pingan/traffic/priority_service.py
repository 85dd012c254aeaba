"""Service functions of emergency priority (应急优先): corridors, requests, their lifecycle.

Keyword-only over the caller's session; nothing here commits (the route, the event
consumer or the job does). The pure rules (safe transitions, restore, request timing)
are in :mod:`pingan.traffic.priority`.

Lifecycle of one signal's request, driven by :func:`advance` (a job) and by what the
dispatch desk reports:

``requested``  the corridor is planned; the controller is asked at ``request_at``
``serving``    from ``request_at``: the safe transition runs, then the priority green holds
``released``   the vehicle is past (a position beyond it, else ETA + margin, or the corridor
               ended): the shortest safe transition back to the coordinated plan runs
``restored``   handed back to the coordinated plan (at ``restore_at``)

A corridor is ``active`` until the unit arrives (on scene; back in service after a
transport), the incident closes, every signal is restored, or a person cancels it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from shapely.geometry import Point, shape
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pingan.city.graph import RoadGraph
from pingan.city.models import City, District, Poi
from pingan.city.routing import nearest_nodes, route, travel_times_from
from pingan.city.service import MAX_SNAP_M, list_cities, load_graph
from pingan.core import audit, clock
from pingan.core.auth.deps import ensure_in_jurisdiction, scope_to_jurisdictions
from pingan.core.auth.permissions import Principal
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.core.outbox import record
from pingan.traffic import service as desk
from pingan.traffic import timing as tm
from pingan.traffic.models import Corridor, TimingPlan, TrafficSignal
from pingan.traffic.priority import (
    approach_link,
    passed_index,
    phase_kind,
    priority_phase,
    restore_schedule,
    route_node_times,
    schedule_requests,
    signals_on_route,
    worst_case_transition_s,
)
from pingan.traffic.priority_events import PriorityCleared, PriorityRequested
from pingan.traffic.priority_models import PriorityCorridor, PriorityRequest, PriorityUnit
from pingan.traffic.priority_schemas import (
    ActiveCorridors,
    CorridorRead,
    ManualPriorityRequest,
    SignalRequestRead,
)
from pingan.traffic.sumo import ProgramPhase

log = logging.getLogger(__name__)

Actor = Principal | str
DESK_ACTOR: Final = "traffic-desk"
CST: Final = timezone(timedelta(hours=8))
HOSPITAL_KINDS: Final = ("hospital", "clinic")
"""Where an ambulance may take a patient, in order of preference: a hospital; a clinic only
when the city model has no hospital at all (the demo extract of central Helsinki has none)."""
NOT_DRIVING: Final = frozenset({"foot", "drone", "camera"})
"""Unit kinds that do not drive the road network: no green corridor for them."""


class PrioritySettings(BaseSettings):
    """Timing of emergency priority (env ``PINGAN_TRAFFIC__PRIORITY_...``)."""

    model_config = SettingsConfigDict(env_prefix="PINGAN_TRAFFIC__PRIORITY_", extra="ignore")

    lights_priorities: list[str] = Field(
        default_factory=lambda: ["P1", "P2"],
        description="Incident priorities whose units drive with lights and get a corridor.",
    )
    lead_s: float = Field(
        20.0, ge=0, description="The priority green shows at least this long before the ETA."
    )
    pass_margin_s: float = Field(
        10.0, ge=0, description="Without a position, a signal is released at ETA + this."
    )
    max_hold_s: float = Field(
        90.0, gt=0, description="Longest priority green held at one signal (cross traffic)."
    )
    min_green_s: float = Field(5.0, gt=0, description="Minimum green before a green is cut.")
    merge_m: float = Field(
        40.0, ge=0, description="Signals this close along a route are one intersection."
    )
    pass_radius_m: float = Field(
        60.0, gt=0, description="A position farther than this from the route says nothing."
    )


@lru_cache
def priority_settings() -> PrioritySettings:
    """The settings of emergency priority (cached; tests call ``cache_clear()``)."""
    return PrioritySettings()


# ------------------------------------------------------------------------------ geography


def _graph(city: City, data_dir: Path) -> RoadGraph:
    return load_graph(city=city, data_dir=data_dir)


def _inside(city: City, lon: float, lat: float) -> bool:
    min_lon, min_lat, max_lon, max_lat = city.bbox
    return bool(min_lon <= lon <= max_lon and min_lat <= lat <= max_lat)


def city_at(db: Session, lon: float, lat: float, *, field: str) -> City:
    """The imported city whose extract contains the point (422 naming ``field`` if none)."""
    for city in list_cities(session=db):
        if _inside(city, lon, lat):
            return city
    raise ValidationFailed("traffic.priority.error.outside_city", field=field, lon=lon, lat=lat)


def _snap(graph: RoadGraph, lon: float, lat: float, field: str) -> int:
    node, metres = nearest_nodes(graph, lon, lat)
    if metres > MAX_SNAP_M:
        raise ValidationFailed(
            "traffic.priority.error.off_network", field=field, metres=round(metres)
        )
    return node


def jurisdiction_at(db: Session, city: City, lon: float, lat: float) -> int | None:
    """The jurisdiction of the district containing the point, else the city's."""
    point = Point(lon, lat)
    best: tuple[float, District] | None = None
    for district in db.scalars(select(District).where(District.city_id == city.id)):
        geometry = shape(json.loads(district.geometry))
        if geometry.contains(point):
            return district.jurisdiction_id or city.jurisdiction_id
        distance = float(geometry.distance(point))
        if best is None or distance < best[0]:
            best = (distance, district)
    if best is not None and best[1].jurisdiction_id is not None:
        return best[1].jurisdiction_id
    return city.jurisdiction_id


def signal_points(db: Session, city: City, data_dir: Path) -> dict[int, list[int]]:
    """Road node → the desk's signal on it (:func:`pingan.traffic.service.ensure_signals`:
    the city's OSM traffic signals snapped to the drive graph, one per node, else the
    major-road junctions when the extract has no signal at all)."""
    return {
        int(sig.node_index): [sig.id]
        for sig in desk.ensure_signals(db=db, city=city, data_dir=data_dir)
    }


def period_at(at: datetime) -> str:
    """The time-of-day period of the desk's plans at ``at`` (hours in China Standard Time)."""
    hour = at.astimezone(CST).hour
    for period, spans in tm.PERIODS.items():
        if any(start <= hour < end for start, end in spans):
            return period
    return "off_peak"  # pragma: no cover - PERIODS covers the day


def _axis_of_corridor(db: Session, graph: RoadGraph, source: str, node: int) -> int | None:
    """0 (north–south) or 1 (east–west): the axis of the corridor whose plan set a timing."""
    kind, _, ident = source.partition(":")
    if kind not in ("plan", "held") or not ident.isdigit():
        return None
    plan = db.get(TimingPlan, int(ident))
    corridor = db.get(Corridor, plan.corridor_id) if plan is not None else None
    nodes = [int(n) for n in corridor.nodes] if corridor is not None else []
    if node not in nodes or len(nodes) < 2:
        return None
    k = nodes.index(node)
    a, b = (nodes[k - 1], node) if k > 0 else (node, nodes[k + 1])
    link = approach_link(
        float(graph.lon[a]), float(graph.lat[a]), float(graph.lon[b]), float(graph.lat[b])
    )
    return 0 if link in (0, 1) else 1


def signal_plan(
    db: Session, graph: RoadGraph, signal_ids: Sequence[int], node: int, at: datetime
) -> tuple[list[ProgramPhase], float, str]:
    """The coordinated plan in force at a signal: phases, offset (s, common clock), source.

    The desk's timing of the signal for the period (a deployed green-wave plan, else the
    assumed netconvert default) as a two-phase programme whose links follow
    :data:`pingan.traffic.priority.APPROACHES`. Which axis each phase serves: for a plan
    designed along a corridor, its through phase serves the corridor's axis at this
    signal; for the assumed default (no axis on record), the first phase serves
    north–south.
    """
    sig = db.get(TrafficSignal, signal_ids[0]) if signal_ids else None
    timing = (
        desk.current_timing(sig, period_at(at))
        if sig is not None
        else tm.default_timing(signal_ids[0] if signal_ids else 0)
    )
    axis = _axis_of_corridor(db, graph, timing.source, node)
    ns_phase = (
        0 if axis is None else (timing.through_phase if axis == 0 else 1 - timing.through_phase)
    )
    plan: list[ProgramPhase] = []
    for k, phase in enumerate(timing.phases):
        serves_ns = k == ns_phase
        green, yellow = ("GGrr", "yyrr") if serves_ns else ("rrGG", "rryy")
        plan.append(ProgramPhase(green, phase.green_s))
        if phase.yellow_s > 0:
            plan.append(ProgramPhase(yellow, phase.yellow_s))
        if phase.all_red_s > 0:
            plan.append(ProgramPhase("rrrr", phase.all_red_s))
    return plan, timing.offset_s, timing.source


def _plan_dict(plan: Sequence[ProgramPhase], offset_s: float, source: str) -> dict[str, Any]:
    return {
        "offset_s": offset_s,
        "source": source,
        "phases": [
            {"state": p.state, "duration_s": p.duration, "kind": phase_kind(p.state)} for p in plan
        ],
    }


def _plan_from_dict(data: dict[str, Any]) -> tuple[list[ProgramPhase], float]:
    phases = [ProgramPhase(str(p["state"]), float(p["duration_s"])) for p in data["phases"]]
    return phases, float(data.get("offset_s", 0.0))


def _position(plan: Sequence[ProgramPhase], offset_s: float, at: datetime) -> float:
    """Seconds into the fixed-time cycle at ``at`` (the common clock is UTC epoch time)."""
    cycle = sum(p.duration for p in plan)
    return (at.timestamp() - offset_s) % cycle


def nearest_hospital(
    db: Session, city: City, graph: RoadGraph, node: int
) -> tuple[Poi, int] | None:
    """The hospital reached fastest from ``node`` (clinics only when the city has no hospital)."""
    for kind in HOSPITAL_KINDS:
        rows = list(
            db.scalars(
                select(Poi)
                .where(Poi.city_id == city.id, Poi.kind == kind, Poi.node_index.is_not(None))
                .order_by(Poi.id)
            )
        )
        if not rows:
            continue
        times = travel_times_from(graph, node)
        reachable = [(float(times[int(p.node_index or 0)]), p) for p in rows]
        reachable = [(t, p) for t, p in reachable if np.isfinite(t)]
        if reachable:
            _t, poi = min(reachable, key=lambda item: (item[0], item[1].id))
            return poi, int(poi.node_index or 0)
    return None


# ------------------------------------------------------------------------------ corridors


@dataclass(frozen=True)
class Destination:
    """Where the vehicle drives to."""

    lon: float
    lat: float
    name: str = ""
    hospital_id: int | None = None


def _active_of_unit(db: Session, unit_id: int) -> list[PriorityCorridor]:
    return list(
        db.scalars(
            select(PriorityCorridor).where(
                PriorityCorridor.unit_id == unit_id, PriorityCorridor.status == "active"
            )
        )
    )


def has_active(db: Session, *, unit_id: int, incident_id: int) -> bool:
    """Whether the unit already has an active corridor towards the incident."""
    return any(c.incident_id == incident_id for c in _active_of_unit(db, unit_id))


def open_corridor(
    *,
    db: Session,
    data_dir: Path,
    city: City,
    origin: tuple[float, float],
    destination: Destination,
    kind: str,
    actor: Actor,
    reason: str,
    unit_id: int | None = None,
    callsign: str = "",
    incident_id: int | None = None,
    priority: str | None = None,
    jurisdiction_id: int | None = None,
    principal: Principal | None = None,
) -> PriorityCorridor:
    """Route the vehicle, find the signals on the route and request green ahead of it."""
    s = priority_settings()
    now = clock.now()
    graph = _graph(city, data_dir)
    a = _snap(graph, origin[0], origin[1], "origin")
    b = _snap(graph, destination.lon, destination.lat, "destination")
    found = route(graph, a, b)
    if found is None:
        raise ValidationFailed("traffic.priority.error.no_route", field="destination")
    if jurisdiction_id is None:
        jurisdiction_id = jurisdiction_at(db, city, destination.lon, destination.lat)
    if principal is not None:
        ensure_in_jurisdiction(principal, jurisdiction_id)
    times = route_node_times(graph, found.nodes)
    on_route = signals_on_route(
        graph, found.nodes, times, signal_points(db, city, data_dir), merge_m=s.merge_m
    )
    plans = [signal_plan(db, graph, sig.signal_ids, sig.node, now) for sig in on_route]
    targets = [
        priority_phase(plan, sig.link) for sig, (plan, _o, _s) in zip(on_route, plans, strict=True)
    ]
    transitions = [
        worst_case_transition_s(plan, target=target, min_green_s=s.min_green_s)
        for (plan, _o, _s), target in zip(plans, targets, strict=True)
    ]
    planned = schedule_requests(
        [sig.eta_s for sig in on_route],
        transitions,
        lead_s=s.lead_s,
        pass_margin_s=s.pass_margin_s,
        max_hold_s=s.max_hold_s,
    )
    if unit_id is not None:
        for old in _active_of_unit(db, unit_id):
            end_corridor(db=db, corridor=old, status="cleared", reason="superseded", at=now)
    corridor = PriorityCorridor(
        city_id=city.id,
        jurisdiction_id=jurisdiction_id,
        kind=kind,
        unit_id=unit_id,
        callsign=callsign,
        incident_id=incident_id,
        priority=priority,
        destination_name=destination.name,
        hospital_id=destination.hospital_id,
        origin_lon=origin[0],
        origin_lat=origin[1],
        dest_lon=destination.lon,
        dest_lat=destination.lat,
        route_nodes=[int(n) for n in found.nodes],
        geometry=[[round(x, 7), round(y, 7)] for x, y in found.coordinates],
        route_s=round(found.seconds, 1),
        route_m=round(found.metres, 1),
        status="active",
        reason=reason[:300],
        requested_by=actor.username if isinstance(actor, Principal) else actor,
        started_at=now,
    )
    for sig, (plan, offset, source), target, p in zip(
        on_route, plans, targets, planned, strict=True
    ):
        corridor.requests.append(
            PriorityRequest(
                seq=sig.seq,
                node=sig.node,
                route_index=sig.route_index,
                signal_ids=list(sig.signal_ids),
                lon=float(graph.lon[sig.node]),
                lat=float(graph.lat[sig.node]),
                approach=sig.approach,
                phase=target,
                plan=_plan_dict(plan, offset, source),
                transition_s=round(p.transition_s, 2),
                eta_at=now + timedelta(seconds=p.eta_s),
                request_at=now + timedelta(seconds=p.request_s),
                green_by_at=now + timedelta(seconds=p.green_by_s),
                serve_until=now + timedelta(seconds=p.serve_until_s),
                capped=p.capped,
                state="requested",
            )
        )
    db.add(corridor)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="traffic_priority_corridor",
        entity_id=corridor.id,
        reason=reason[:300],
        detail={
            "kind": kind,
            "unit_id": unit_id,
            "incident_id": incident_id,
            "signals": len(on_route),
            "route_s": corridor.route_s,
        },
    )
    record(
        db,
        PriorityRequested(
            corridor_id=corridor.id,
            city_id=city.id,
            kind=kind,
            unit_id=unit_id,
            callsign=callsign,
            incident_id=incident_id,
            signals=len(on_route),
            route_s=corridor.route_s,
            destination=destination.name,
        ),
    )
    # Requests whose time has come already (a signal right ahead) start serving at once.
    _advance_corridor(corridor, now)
    return corridor


def _release(req: PriorityRequest, at: datetime, reason: str) -> None:
    """The vehicle is past (or no longer coming): run the shortest way back to the plan."""
    s = priority_settings()
    req.released_at, req.release_reason = at, reason
    if req.state == "requested":
        # The controller was never asked: nothing to restore.
        req.state, req.restore_s, req.restore_at, req.restored_at = "restored", 0.0, at, at
        return
    plan, offset = _plan_from_dict(req.plan)
    green_by = req.green_by_at
    # Before the priority green is certainly showing, count it as just begun: the restore
    # then honours its full minimum green (the safe side).
    spent = max((at - green_by).total_seconds(), 0.0)
    back = restore_schedule(
        plan,
        phase=req.phase,
        spent_s=spent,
        schedule_position_s=_position(plan, offset, max(at, green_by)),
        min_green_s=s.min_green_s,
    )
    start = max(at, green_by)
    req.state = "released"
    req.restore_s = round(back.handback_s + (start - at).total_seconds(), 2)
    req.restore_at = start + timedelta(seconds=back.handback_s)


def _advance_corridor(corridor: PriorityCorridor, now: datetime) -> bool:
    """Move the corridor's requests on to ``now``; whether any state changed."""
    changed = False
    for req in corridor.requests:
        if req.state == "requested" and now >= req.request_at:
            req.state, req.served_at = "serving", req.request_at
            changed = True
        if req.state == "serving" and now >= req.serve_until:
            _release(req, req.serve_until, "eta")
            changed = True
        if req.state == "released" and req.restore_at is not None and now >= req.restore_at:
            req.state, req.restored_at = "restored", req.restore_at
            changed = True
    return changed


def end_corridor(
    *, db: Session, corridor: PriorityCorridor, status: str, reason: str, at: datetime
) -> None:
    """End a corridor (cleared or cancelled): every signal still held is released."""
    if corridor.status != "active":
        return
    for req in corridor.requests:
        if req.state in ("requested", "serving"):
            _release(req, at, "ended")
    corridor.status, corridor.ended_at = status, at
    corridor.reason = f"{corridor.reason} | {reason}"[:300] if corridor.reason else reason[:300]
    db.flush()
    record(
        db,
        PriorityCleared(
            corridor_id=corridor.id,
            city_id=corridor.city_id,
            status=status,
            reason=reason[:300],
            unit_id=corridor.unit_id,
            callsign=corridor.callsign,
            incident_id=corridor.incident_id,
        ),
    )


def advance(*, db: Session, now: datetime | None = None) -> int:
    """Move every active corridor on to ``now``; clear those whose signals are all restored.

    Returns how many corridors changed. A corridor without signals ends once the vehicle
    should have arrived (route time + pass margin) unless an event ends it earlier.
    """
    at = now or clock.now()
    margin = timedelta(seconds=priority_settings().pass_margin_s)
    changed = 0
    for corridor in db.scalars(select(PriorityCorridor).where(PriorityCorridor.status == "active")):
        moved = _advance_corridor(corridor, at)
        done = all(r.state == "restored" for r in corridor.requests)
        if (corridor.requests and done) or (
            not corridor.requests
            and at >= corridor.started_at + timedelta(seconds=corridor.route_s) + margin
        ):
            end_corridor(db=db, corridor=corridor, status="cleared", reason="passed", at=at)
            moved = True
        changed += int(moved)
    db.flush()
    return changed


def unit_position(*, db: Session, data_dir: Path, unit_id: int, lon: float, lat: float) -> int:
    """A position of a unit: signals it has driven past are released. How many were."""
    s = priority_settings()
    now = clock.now()
    released = 0
    for corridor in _active_of_unit(db, unit_id):
        city = db.get(City, corridor.city_id)
        if city is None:
            continue
        graph = _graph(city, data_dir)
        k = passed_index(graph, corridor.route_nodes, lon, lat, within_m=s.pass_radius_m)
        if k is None:
            continue  # off the route: says nothing about the signals on it
        _advance_corridor(corridor, now)
        for req in corridor.requests:
            if req.route_index < k and req.state in ("requested", "serving"):
                _release(req, now, "passed")
                released += 1
    db.flush()
    return released


def clear_for_unit(*, db: Session, unit_id: int, reason: str) -> int:
    """Clear the unit's active corridors (it arrived, stood down, or is back in service)."""
    at = clock.now()
    rows = _active_of_unit(db, unit_id)
    for corridor in rows:
        _advance_corridor(corridor, at)
        end_corridor(db=db, corridor=corridor, status="cleared", reason=reason, at=at)
    return len(rows)


def clear_for_incident(*, db: Session, incident_id: int, reason: str) -> int:
    """Clear every active corridor towards an incident (it closed)."""
    at = clock.now()
    rows = list(
        db.scalars(
            select(PriorityCorridor).where(
                PriorityCorridor.incident_id == incident_id, PriorityCorridor.status == "active"
            )
        )
    )
    for corridor in rows:
        _advance_corridor(corridor, at)
        end_corridor(db=db, corridor=corridor, status="cleared", reason=reason, at=at)
    return len(rows)


# ------------------------------------------------------------------------------ units seen


def note_unit(
    *,
    db: Session,
    unit_id: int,
    callsign: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    incident_id: int | None = None,
    position: tuple[float, float] | None = None,
) -> PriorityUnit:
    """Record what a dispatch event said about a unit (the desk's read model of units)."""
    now = clock.now()
    unit = db.get(PriorityUnit, unit_id)
    if unit is None:
        unit = PriorityUnit(unit_id=unit_id, updated_at=now)
        db.add(unit)
    if callsign:
        unit.callsign = callsign[:40]
    if kind:
        unit.kind = kind[:20]
    if status:
        unit.status = status[:20]
    if incident_id is not None:
        unit.incident_id = incident_id
    if position is not None:
        unit.lon, unit.lat, unit.position_at = position[0], position[1], now
    unit.updated_at = now
    db.flush()
    return unit


def last_destination(db: Session, unit_id: int) -> PriorityCorridor | None:
    """The unit's most recent corridor towards an incident."""
    return db.scalars(
        select(PriorityCorridor)
        .where(PriorityCorridor.unit_id == unit_id, PriorityCorridor.kind == "incident")
        .order_by(PriorityCorridor.id.desc())
        .limit(1)
    ).first()


# ------------------------------------------------------------------------------ manual


def request_manual(
    *, db: Session, data_dir: Path, request_in: ManualPriorityRequest, principal: Principal
) -> PriorityCorridor:
    """A corridor asked for by a person: from a unit or a point, to a point or a hospital."""
    if (request_in.unit_id is None) == (request_in.origin is None):
        raise ValidationFailed("traffic.priority.error.unit_or_origin", field="origin")
    if request_in.destination is not None and request_in.hospital_id is not None:
        raise ValidationFailed(
            "traffic.priority.error.destination_or_hospital", field="hospital_id"
        )
    unit: PriorityUnit | None = None
    if request_in.unit_id is not None:
        unit = db.get(PriorityUnit, request_in.unit_id)
        if unit is None:
            raise NotFound(
                "traffic.priority.error.unit_not_found",
                field="unit_id",
                unit=request_in.unit_id,
            )
        if unit.lon is None or unit.lat is None:
            raise ValidationFailed(
                "traffic.priority.error.unit_no_position", field="unit_id", unit=unit.unit_id
            )
        origin = (unit.lon, unit.lat)
    elif request_in.origin is not None:
        origin = (request_in.origin.lon, request_in.origin.lat)
    else:  # pragma: no cover - refused above
        raise ValidationFailed("traffic.priority.error.unit_or_origin", field="origin")
    if request_in.city_id is not None:
        city = db.get(City, request_in.city_id)
        if city is None:
            raise NotFound(
                "traffic.priority.error.city_not_found", field="city_id", city=request_in.city_id
            )
        if not _inside(city, *origin):
            raise ValidationFailed(
                "traffic.priority.error.outside_city", field="origin", lon=origin[0], lat=origin[1]
            )
    else:
        city = city_at(db, origin[0], origin[1], field="unit_id" if unit else "origin")
    graph = _graph(city, data_dir)
    kind = "manual"
    if request_in.destination is not None:
        lon, lat = request_in.destination.lon, request_in.destination.lat
        if not _inside(city, lon, lat):
            raise ValidationFailed(
                "traffic.priority.error.outside_city", field="destination", lon=lon, lat=lat
            )
        destination = Destination(lon, lat, request_in.destination_name or "")
    elif request_in.hospital_id is not None:
        poi = db.get(Poi, request_in.hospital_id)
        if poi is None or poi.city_id != city.id or poi.kind not in HOSPITAL_KINDS:
            raise NotFound(
                "traffic.priority.error.hospital_not_found",
                field="hospital_id",
                hospital=request_in.hospital_id,
            )
        destination = Destination(poi.lon, poi.lat, poi.name or poi.kind, poi.id)
        kind = "hospital"
    else:
        start = _snap(graph, origin[0], origin[1], "origin")
        nearest = nearest_hospital(db, city, graph, start)
        if nearest is None:
            raise ValidationFailed("traffic.priority.error.no_hospital", field="hospital_id")
        poi, _node = nearest
        destination = Destination(poi.lon, poi.lat, poi.name or poi.kind, poi.id)
        kind = "hospital"
    return open_corridor(
        db=db,
        data_dir=data_dir,
        city=city,
        origin=origin,
        destination=destination,
        kind=kind,
        actor=principal,
        reason=request_in.reason,
        unit_id=unit.unit_id if unit else None,
        callsign=unit.callsign if unit else "",
        incident_id=unit.incident_id if unit else None,
        principal=principal,
    )


def get_corridor(
    *, db: Session, corridor_id: int, principal: Principal | None = None
) -> PriorityCorridor:
    """A corridor by id (404 when there is none or the caller may not see it)."""
    corridor = db.get(PriorityCorridor, corridor_id)
    if corridor is None or (principal is not None and not principal.sees(corridor.jurisdiction_id)):
        raise NotFound(
            "traffic.priority.error.corridor_not_found", field="corridor_id", corridor=corridor_id
        )
    return corridor


def cancel(*, db: Session, corridor_id: int, reason: str, principal: Principal) -> PriorityCorridor:
    """A person cancels a corridor: every held signal goes back to its plan now."""
    corridor = get_corridor(db=db, corridor_id=corridor_id, principal=principal)
    if corridor.status != "active":
        raise Conflict(
            "traffic.priority.error.not_active",
            field="corridor_id",
            corridor=corridor.id,
            status=corridor.status,
        )
    at = clock.now()
    _advance_corridor(corridor, at)
    end_corridor(db=db, corridor=corridor, status="cancelled", reason=reason, at=at)
    audit.record(
        db,
        actor=principal,
        action=audit.UPDATE,
        entity="traffic_priority_corridor",
        entity_id=corridor.id,
        reason=reason,
        detail={"status": "cancelled"},
    )
    return corridor


def list_active(*, db: Session, principal: Principal) -> list[PriorityCorridor]:
    """Active corridors the caller may see, newest first."""
    stmt: Select[Any] = (
        select(PriorityCorridor)
        .where(PriorityCorridor.status == "active")
        .order_by(PriorityCorridor.id.desc())
    )
    return list(
        db.scalars(scope_to_jurisdictions(stmt, PriorityCorridor.jurisdiction_id, principal))
    )


def corridor_read(corridor: PriorityCorridor) -> CorridorRead:
    """The API's view of a corridor: its route as GeoJSON and every signal's request."""
    return CorridorRead(
        id=corridor.id,
        city_id=corridor.city_id,
        jurisdiction_id=corridor.jurisdiction_id,
        kind=corridor.kind,
        status=corridor.status,
        unit_id=corridor.unit_id,
        callsign=corridor.callsign,
        incident_id=corridor.incident_id,
        priority=corridor.priority,
        destination_name=corridor.destination_name,
        hospital_id=corridor.hospital_id,
        origin=[corridor.origin_lon, corridor.origin_lat],
        destination=[corridor.dest_lon, corridor.dest_lat],
        route_s=corridor.route_s,
        route_m=corridor.route_m,
        reason=corridor.reason,
        requested_by=corridor.requested_by,
        started_at=corridor.started_at,
        ended_at=corridor.ended_at,
        geometry={"type": "LineString", "coordinates": corridor.geometry},
        signals=[
            SignalRequestRead(
                seq=r.seq,
                node=r.node,
                signal_ids=r.signal_ids,
                lon=r.lon,
                lat=r.lat,
                approach=r.approach,
                phase=r.phase,
                state=r.state,
                transition_s=r.transition_s,
                eta_at=r.eta_at,
                request_at=r.request_at,
                green_by_at=r.green_by_at,
                serve_until=r.serve_until,
                capped=r.capped,
                released_at=r.released_at,
                release_reason=r.release_reason,
                restore_s=r.restore_s,
                restore_at=r.restore_at,
                restored_at=r.restored_at,
                plan=r.plan,
            )
            for r in corridor.requests
        ],
    )


def active_read(*, db: Session, principal: Principal) -> ActiveCorridors:
    """The active corridors as the page shows them, with the server's time for countdowns."""
    return ActiveCorridors(
        now=clock.now(),
        corridors=[corridor_read(c) for c in list_active(db=db, principal=principal)],
    )
