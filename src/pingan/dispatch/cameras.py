"""Camera tasking (视频巡查): cameras covering an incident are tasked to look at it.

Cameras do not travel and are not used up: they are never *dispatched* (no
assignment, no en-route or on-scene), they are *tasked*. A task is a
:class:`~pingan.dispatch.models.CameraTask` row (camera, incident, when, who); a camera
may watch several incidents at once, and one incident may have several cameras. A
camera can only be tasked to an incident inside its coverage radius, and not while it
is out of service. Closing the incident releases its cameras.

Service functions in the desk's style: keyword-only, over the caller's session,
nothing commits; every write is audited and records its event in the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.city.graph import haversine_m
from pingan.core import audit, clock
from pingan.core.auth.permissions import Principal, actor_name
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.core.outbox import record
from pingan.dispatch.events import CamerasReleased, CamerasTasked
from pingan.dispatch.models import CameraTask, Incident, Unit
from pingan.dispatch.recommend import UnitKind
from pingan.dispatch.schemas import CameraTasking, CameraTaskRead
from pingan.dispatch.statuses import UnitStatus

Actor = Principal | str


def distance_m(unit: Unit, incident: Incident) -> float:
    """Straight-line metres from the camera to the incident."""
    return float(haversine_m(unit.lon, unit.lat, incident.lon, incident.lat))


def covers(unit: Unit, incident: Incident) -> bool:
    """Whether ``unit`` is a camera whose coverage radius contains the incident."""
    if unit.kind != UnitKind.CAMERA or not unit.coverage_m:
        return False
    return distance_m(unit, incident) <= unit.coverage_m


def is_camera(unit: Unit) -> bool:
    """Whether the unit is a camera (tasked, never dispatched)."""
    return unit.kind == UnitKind.CAMERA


def _active(db: Session, incident_id: int) -> dict[int, CameraTask]:
    rows = db.scalars(
        select(CameraTask).where(
            CameraTask.incident_id == incident_id, CameraTask.released_at.is_(None)
        )
    )
    return {t.unit_id: t for t in rows}


def check_cameras(
    *, db: Session, incident: Incident, unit_ids: Sequence[int], principal: Principal | None
) -> list[Unit]:
    """The cameras named, each checked: it exists (and is visible), is a camera, covers the
    incident and is in service. Errors name ``unit_ids``; nothing is written."""
    if len(set(unit_ids)) != len(unit_ids):
        raise ValidationFailed("dispatch.error.repeated_unit", field="unit_ids")
    cameras: list[Unit] = []
    for unit_id in unit_ids:
        unit = db.get(Unit, unit_id)
        if (
            unit is None
            or unit.city_id != incident.city_id
            or (principal is not None and not principal.sees(unit.jurisdiction_id))
        ):
            raise NotFound("dispatch.error.unit_not_found", field="unit_ids", unit=unit_id)
        if not is_camera(unit):
            raise ValidationFailed(
                "dispatch.error.not_a_camera", field="unit_ids", callsign=unit.callsign
            )
        if not covers(unit, incident):
            raise ValidationFailed(
                "dispatch.error.camera_not_covering",
                field="unit_ids",
                callsign=unit.callsign,
                metres=round(distance_m(unit, incident)),
                radius=round(unit.coverage_m or 0.0),
            )
        if unit.status == UnitStatus.OUT_OF_SERVICE:
            raise Conflict(
                "dispatch.error.camera_out_of_service", field="unit_ids", callsign=unit.callsign
            )
        cameras.append(unit)
    return cameras


def add_tasks(
    *, db: Session, incident: Incident, cameras: Sequence[Unit], actor: Actor, at: datetime
) -> list[Unit]:
    """Task checked cameras to the incident (a camera already watching it is left as is);
    audited, with a :class:`CamerasTasked` event. The cameras newly tasked."""
    active = _active(db, incident.id)
    new = [c for c in cameras if c.id not in active]
    if not new:
        return []
    for camera in new:
        db.add(
            CameraTask(
                unit_id=camera.id,
                incident_id=incident.id,
                tasked_at=at,
                released_at=None,
                actor=actor_name(actor),
            )
        )
    db.flush()
    ids = [c.id for c in new]
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_incident",
        entity_id=incident.id,
        reason="camera tasking",
        detail={"cameras_tasked": ids},
    )
    record(
        db,
        CamerasTasked(
            incident_id=incident.id,
            unit_ids=ids,
            callsigns=", ".join(c.callsign for c in new),
        ),
    )
    return new


def _release(
    db: Session,
    incident: Incident,
    tasks: Sequence[CameraTask],
    *,
    actor: Actor,
    at: datetime,
    reason: str,
) -> list[int]:
    if not tasks:
        return []
    for task in tasks:
        task.released_at = at
    db.flush()
    ids = [t.unit_id for t in tasks]
    callsigns = [u.callsign for u in (db.get(Unit, i) for i in ids) if u is not None]
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_incident",
        entity_id=incident.id,
        reason=reason,
        detail={"cameras_released": ids},
    )
    record(
        db,
        CamerasReleased(incident_id=incident.id, unit_ids=ids, callsigns=", ".join(callsigns)),
    )
    return ids


def task_cameras(
    *,
    db: Session,
    incident_id: int,
    tasking: CameraTasking,
    actor: Actor,
    principal: Principal | None = None,
) -> Incident:
    """Task covering cameras to look at an open incident (422 naming ``unit_ids`` for a
    non-camera or a camera whose coverage does not contain the incident)."""
    from pingan.dispatch.service import get_incident

    incident = get_incident(db=db, incident_id=incident_id, principal=principal)
    if incident.status == "closed":
        raise Conflict("dispatch.error.incident_closed", field="incident_id", incident=incident.id)
    cameras = check_cameras(
        db=db, incident=incident, unit_ids=list(tasking.unit_ids), principal=principal
    )
    add_tasks(db=db, incident=incident, cameras=cameras, actor=actor, at=clock.now())
    return incident


def release_cameras(
    *,
    db: Session,
    incident_id: int,
    tasking: CameraTasking,
    actor: Actor,
    principal: Principal | None = None,
) -> Incident:
    """Release cameras from an incident; a camera not tasked to it is a 422 on ``unit_ids``."""
    from pingan.dispatch.service import get_incident

    incident = get_incident(db=db, incident_id=incident_id, principal=principal)
    if len(set(tasking.unit_ids)) != len(tasking.unit_ids):
        raise ValidationFailed("dispatch.error.repeated_unit", field="unit_ids")
    active = _active(db, incident.id)
    for unit_id in tasking.unit_ids:
        if unit_id not in active:
            raise ValidationFailed(
                "dispatch.error.camera_not_tasked",
                field="unit_ids",
                unit=unit_id,
                incident=incident.id,
            )
    _release(
        db,
        incident,
        [active[i] for i in tasking.unit_ids],
        actor=actor,
        at=clock.now(),
        reason="camera release",
    )
    return incident


def release_all(*, db: Session, incident: Incident, actor: Actor, at: datetime) -> list[int]:
    """Release every camera still watching the incident (on close); the camera ids."""
    active = _active(db, incident.id)
    return _release(
        db, incident, list(active.values()), actor=actor, at=at, reason="incident closed"
    )


def camera_reads(*, db: Session, incident_id: int) -> list[CameraTaskRead]:
    """The incident's camera tasks, oldest first (active and released)."""
    return camera_reads_for(db=db, incident_ids=[incident_id]).get(incident_id, [])


def camera_reads_for(
    *, db: Session, incident_ids: Sequence[int]
) -> dict[int, list[CameraTaskRead]]:
    """The camera tasks of several incidents (by incident id, oldest first), in one query."""
    out: dict[int, list[CameraTaskRead]] = {}
    if not incident_ids:
        return out
    rows = db.execute(
        select(CameraTask, Unit.callsign)
        .outerjoin(Unit, Unit.id == CameraTask.unit_id)
        .where(CameraTask.incident_id.in_(incident_ids))
        .order_by(CameraTask.tasked_at, CameraTask.id)
    )
    for task, callsign in rows:
        out.setdefault(task.incident_id, []).append(
            CameraTaskRead(
                unit_id=task.unit_id,
                callsign=callsign or "",
                tasked_at=task.tasked_at,
                released_at=task.released_at,
                actor=task.actor,
            )
        )
    return out


def tasked_incidents(*, db: Session, unit_ids: Sequence[int]) -> dict[int, list[int]]:
    """Camera id -> the incidents it is watching now (for the unit board)."""
    if not unit_ids:
        return {}
    out: dict[int, list[int]] = {}
    rows = db.execute(
        select(CameraTask.unit_id, CameraTask.incident_id)
        .where(CameraTask.unit_id.in_(list(unit_ids)), CameraTask.released_at.is_(None))
        .order_by(CameraTask.id)
    )
    for unit_id, incident_id in rows:
        out.setdefault(int(unit_id), []).append(int(incident_id))
    return out
