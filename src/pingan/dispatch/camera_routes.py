"""HTTP routes of camera tasking (视频巡查), included into the dispatch router (``/api/dispatch``).

Cameras covering an incident are *tasked* to look at it; they are never dispatched
(``POST incidents/{id}/dispatch`` routes camera ids here too). Several incidents may
share a camera; closing an incident releases its cameras.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from pingan.core.auth.deps import Principal, require
from pingan.core.deps import DbSession, RowId
from pingan.dispatch import cameras
from pingan.dispatch.schemas import CameraTasking, IncidentRead

router = APIRouter()

Dispatcher = Annotated[Principal, require("dispatch.dispatch")]


def _answer(db: DbSession, who: Principal, incident: Any) -> Any:
    # Imported here: routes.py includes this router at its end (no import cycle).
    from pingan.dispatch.routes import _incident_response

    return _incident_response(db, who, incident)


@router.post(
    "/incidents/{incident_id}/cameras",
    response_model=IncidentRead,
    summary="Task cameras to look at an incident",
)
def task_cameras(incident_id: RowId, tasking: CameraTasking, who: Dispatcher, db: DbSession) -> Any:
    """Task cameras covering the incident to look at it (a non-camera or a camera whose
    coverage does not contain the incident is a 422 on ``unit_ids``)."""
    incident = cameras.task_cameras(
        db=db, incident_id=incident_id, tasking=tasking, actor=who, principal=who
    )
    return _answer(db, who, incident)


@router.post(
    "/incidents/{incident_id}/cameras/release",
    response_model=IncidentRead,
    summary="Release cameras from an incident",
)
def release_cameras(
    incident_id: RowId, tasking: CameraTasking, who: Dispatcher, db: DbSession
) -> Any:
    """Stop cameras looking at the incident (a camera not tasked to it is a 422)."""
    incident = cameras.release_cameras(
        db=db, incident_id=incident_id, tasking=tasking, actor=who, principal=who
    )
    return _answer(db, who, incident)
