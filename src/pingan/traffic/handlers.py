"""Subscribers of the traffic desk to the dispatch desk's events: emergency priority.

One durable consumer reads every ``dispatch.*`` event in order (one consumer, so a unit's
arrival is never handled before its dispatch) and acts on three of them:

- ``dispatch.units.dispatched`` — units sent to a **P1 or P2** incident drive with lights
  and siren (警灯警报): each unit that drives the road network (not foot patrols, drones
  or cameras) gets a green corridor from its position to the incident. P3/P4 units drive
  with the traffic and get none. (Settings: ``lights_priorities``.)
- ``dispatch.unit.status_changed`` — ``on_scene``: arrived, the corridor is cleared;
  ``transporting``: the ambulance leaves the scene for the nearest hospital, with a new
  corridor when the unit drove to the scene with lights; ``available`` or
  ``out_of_service``: stood down or back in service, the corridor is cleared. A position
  carried by the event releases the signals the unit has driven past.
- ``dispatch.incident.closed`` — every corridor towards it is cleared.

The desk does not import the dispatch desk (import-linter keeps desks apart): it reads the
events' JSON. A dispatch event without the unit's position or the incident's location
(``lon``/``lat``, ``unit_positions``) cannot be routed and is logged, not retried.

Handlers run inside the consumer's transaction (:func:`pingan.core.outbox.idempotent_handler`)
and never commit; a redelivered event finds its processed mark and does nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy.orm import Session

from pingan.city.models import City
from pingan.city.routing import nearest_nodes
from pingan.city.service import load_graph
from pingan.core.errors import PinganError
from pingan.core.events import Event
from pingan.core.module import Context, Job, Subscription
from pingan.traffic import priority_service as service

log = logging.getLogger(__name__)

DISPATCH_PATTERN: Final = "dispatch.>"
DURABLE: Final = "traffic-priority-dispatch"
UNITS_DISPATCHED: Final = "dispatch.units.dispatched"
UNIT_STATUS_CHANGED: Final = "dispatch.unit.status_changed"
INCIDENT_CLOSED: Final = "dispatch.incident.closed"
SWEEP_INTERVAL_S: Final = 1.0


def _point(value: Any) -> tuple[float, float] | None:
    if isinstance(value, Sequence) and len(value) == 2:
        lon, lat = value
        if isinstance(lon, int | float) and isinstance(lat, int | float):
            return float(lon), float(lat)
    return None


def _lonlat(payload: dict[str, Any]) -> tuple[float, float] | None:
    return _point([payload.get("lon"), payload.get("lat")])


def on_units_dispatched(db: Session, payload: dict[str, Any], ctx: Context) -> int:
    """Units sent with lights get a corridor each; how many corridors were opened."""
    settings = service.priority_settings()
    incident_id = int(payload["incident_id"])
    unit_ids = [int(u) for u in payload.get("unit_ids", [])]
    callsigns = [c.strip() for c in str(payload.get("callsigns", "")).split(",")]
    kinds = list(payload.get("unit_kinds") or [])
    positions = list(payload.get("unit_positions") or [])
    priority = payload.get("priority")
    for i, unit_id in enumerate(unit_ids):
        service.note_unit(
            db=db,
            unit_id=unit_id,
            callsign=callsigns[i] if i < len(callsigns) else None,
            kind=str(kinds[i]) if i < len(kinds) else None,
            status="dispatched",
            incident_id=incident_id,
            position=_point(positions[i]) if i < len(positions) else None,
        )
    if priority not in settings.lights_priorities:
        return 0
    scene = _lonlat(payload)
    if scene is None:
        log.warning("incident %s: dispatch event has no location; no corridor", incident_id)
        return 0
    opened = 0
    for i, unit_id in enumerate(unit_ids):
        kind = str(kinds[i]) if i < len(kinds) else ""
        if kind in service.NOT_DRIVING:
            continue
        if service.has_active(db, unit_id=unit_id, incident_id=incident_id):
            continue  # the same dispatch seen again: the corridor stands
        start = _point(positions[i]) if i < len(positions) else None
        if start is None:
            log.warning("unit %s: dispatch event has no position; no corridor", unit_id)
            continue
        try:
            with db.begin_nested():
                city = service.city_at(db, scene[0], scene[1], field="lon")
                service.open_corridor(
                    db=db,
                    data_dir=ctx.settings.data_dir,
                    city=city,
                    origin=start,
                    destination=service.Destination(scene[0], scene[1], f"#{incident_id}"),
                    kind="incident",
                    actor=service.DESK_ACTOR,
                    reason=f"dispatch: incident {incident_id} ({priority})",
                    unit_id=unit_id,
                    callsign=callsigns[i] if i < len(callsigns) else "",
                    incident_id=incident_id,
                    priority=str(priority),
                )
                opened += 1
        except PinganError as exc:  # outside every city, off the network: said, not retried
            log.warning("unit %s to incident %s: no corridor: %s", unit_id, incident_id, exc)
    return opened


def on_unit_status_changed(db: Session, payload: dict[str, Any], ctx: Context) -> None:
    """Arrival clears, transport opens a corridor to the hospital, positions release."""
    unit_id = int(payload["unit_id"])
    to_status = str(payload.get("to_status", ""))
    position = _lonlat(payload)
    incident_id = payload.get("incident_id")
    service.note_unit(
        db=db,
        unit_id=unit_id,
        callsign=str(payload.get("callsign") or ""),
        status=to_status,
        incident_id=int(incident_id) if isinstance(incident_id, int) else None,
        position=position,
    )
    if position is not None:
        service.unit_position(
            db=db, data_dir=ctx.settings.data_dir, unit_id=unit_id, lon=position[0], lat=position[1]
        )
    if to_status == "on_scene":
        service.clear_for_unit(db=db, unit_id=unit_id, reason="arrived")
    elif to_status in ("available", "out_of_service"):
        reason = "arrived" if payload.get("from_status") == "transporting" else "stood_down"
        service.clear_for_unit(db=db, unit_id=unit_id, reason=reason)
    elif to_status == "transporting":
        _to_hospital(db, unit_id, position, payload, ctx)


def _to_hospital(
    db: Session,
    unit_id: int,
    position: tuple[float, float] | None,
    payload: dict[str, Any],
    ctx: Context,
) -> None:
    """A transport from a scene reached with lights gets a corridor to the nearest hospital."""
    service.clear_for_unit(db=db, unit_id=unit_id, reason="arrived")
    previous = service.last_destination(db, unit_id)
    if previous is None:
        return  # it did not drive to the scene with lights: no priority for the transport
    # On scene the unit stands at the incident: its destination is where it starts from.
    start = position or (previous.dest_lon, previous.dest_lat)
    try:
        with db.begin_nested():
            city = db.get(City, previous.city_id)
            if city is None:
                return
            graph = load_graph(city=city, data_dir=ctx.settings.data_dir)
            node = nearest_nodes(graph, start[0], start[1])[0]
            nearest = service.nearest_hospital(db, city, graph, node)
            if nearest is None:
                log.warning("unit %s transporting: the city has no hospital", unit_id)
                return
            poi, _ = nearest
            service.open_corridor(
                db=db,
                data_dir=ctx.settings.data_dir,
                city=city,
                origin=start,
                destination=service.Destination(poi.lon, poi.lat, poi.name or poi.kind, poi.id),
                kind="hospital",
                actor=service.DESK_ACTOR,
                reason=f"dispatch: transport from incident {previous.incident_id}",
                unit_id=unit_id,
                callsign=str(payload.get("callsign") or previous.callsign),
                incident_id=previous.incident_id,
                priority=previous.priority,
            )
    except PinganError as exc:
        log.warning("unit %s transporting: no corridor: %s", unit_id, exc)


def on_dispatch_event(db: Session, event: Event, ctx: Context) -> None:
    """The one consumer of dispatch events: routes each subject to its handler."""
    payload = event.model_dump(mode="json")
    subject = type(event).subject
    if subject == UNITS_DISPATCHED:
        on_units_dispatched(db, payload, ctx)
    elif subject == UNIT_STATUS_CHANGED:
        on_unit_status_changed(db, payload, ctx)
    elif subject == INCIDENT_CLOSED:
        service.clear_for_incident(db=db, incident_id=int(payload["id"]), reason="incident_closed")


async def run_sweep(ctx: Context) -> int:
    """Job: move every active corridor's requests on to now (serve, release, restore, clear)."""

    def sweep() -> int:
        with ctx.db.session() as db:
            return service.advance(db=db)

    # The database is synchronous: keep the event loop free for the API and the bus.
    return await asyncio.to_thread(sweep)


SUBSCRIPTIONS: Final[list[Subscription]] = [
    Subscription(pattern=DISPATCH_PATTERN, durable=DURABLE, handler=on_dispatch_event),
]
"""For ``module()``: emergency priority driven by the dispatch desk's events."""

JOBS: Final[list[Job]] = [
    Job(name="traffic-priority-sweep", interval_s=SWEEP_INTERVAL_S, run=run_sweep),
]
"""For ``module()``: signals served, released and restored on time (stored deadlines)."""
