"""HTTP routes of the dispatch desk (mounted under ``/api``): units, incidents, statistics.

Thin: parse, authorise, call the service, shape the answer. The caller's phone number
is masked in every answer unless the caller's role needs it (dispatchers and
commanders call back); each unmasked answer writes an audit record of the read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from pingan.core import audit, clock
from pingan.core.auth.deps import Principal, require
from pingan.core.auth.roles import COMMANDER, DISPATCHER
from pingan.core.deps import DbSession, PlatformContext, RowId
from pingan.core.privacy import PersonalDataPolicy, dump_personal
from pingan.dispatch import service
from pingan.dispatch.models import Incident
from pingan.dispatch.schemas import (
    CallCreate,
    DispatchCreate,
    IncidentClassify,
    IncidentClose,
    IncidentRead,
    PositionUpdate,
    ResponseStats,
    RunCardRead,
    StatusChange,
    UnitCreate,
    UnitRead,
    UnitTimelineEntry,
)

router = APIRouter(prefix="/dispatch", tags=["dispatch"])

Reader = Annotated[Principal, require("dispatch.read")]
CallTaker = Annotated[Principal, require("dispatch.call")]
Dispatcher = Annotated[Principal, require("dispatch.dispatch")]
UnitManager = Annotated[Principal, require("dispatch.units.manage")]
PositionReporter = Annotated[Principal, require("dispatch.position")]

PHONE_POLICY = PersonalDataPolicy(reveal_roles=frozenset({DISPATCHER, COMMANDER}))
"""Who sees the caller's number unmasked: those who call back."""


def _incident_response(
    db: Session, who: Principal, incident: Incident, status_code: int = 200
) -> JSONResponse:
    read = service.incident_read(db=db, incident=incident)
    reveal = read.caller_phone is not None and PHONE_POLICY.may_reveal(who.roles)
    if reveal:
        audit.reveal(
            db,
            principal=who,
            entity="dispatch_incident",
            entity_id=incident.id,
            fields=["caller_phone"],
            reason="dispatch: call-back number of the caller",
        )
    return JSONResponse(dump_personal(read, reveal=reveal), status_code=status_code)


@router.post(
    "/units",
    response_model=UnitRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register a unit",
)
def register_unit(
    unit_in: UnitCreate, who: UnitManager, db: DbSession, ctx: PlatformContext
) -> Any:
    """Register a unit (car, motorbike, foot patrol, K9, drone, camera) at its home position."""
    unit = service.register_unit(db=db, unit_in=unit_in, actor=who, data_dir=ctx.settings.data_dir)
    return service.unit_read(unit)


@router.get("/units", response_model=list[UnitRead], summary="The unit board")
def list_units(
    who: Reader,
    db: DbSession,
    city_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Any:
    """Every unit the caller may see, with its status, position and staleness."""
    return service.list_units(db=db, principal=who, city_id=city_id)


@router.get("/units/{unit_id}", response_model=UnitRead, summary="One unit")
def get_unit(unit_id: RowId, who: Reader, db: DbSession) -> Any:
    """One unit by id."""
    return service.unit_read(service.get_unit(db=db, unit_id=unit_id, principal=who))


@router.post("/units/{unit_id}/position", response_model=UnitRead, summary="Position report")
def update_position(
    unit_id: RowId,
    position_in: PositionUpdate,
    who: PositionReporter,
    db: DbSession,
    ctx: PlatformContext,
) -> Any:
    """A unit's position (AVL), snapped to the road network."""
    unit = service.update_position(
        db=db,
        unit_id=unit_id,
        position_in=position_in,
        actor=who,
        data_dir=ctx.settings.data_dir,
        principal=who,
    )
    return service.unit_read(unit)


@router.post("/units/{unit_id}/status", response_model=UnitRead, summary="Status change")
def change_status(unit_id: RowId, status_in: StatusChange, who: CallTaker, db: DbSession) -> Any:
    """Move a unit to a new status (en route, on scene, back in service, ...)."""
    unit = service.change_unit_status(
        db=db, unit_id=unit_id, status_in=status_in, actor=who, principal=who
    )
    return service.unit_read(unit)


@router.get(
    "/units/{unit_id}/timeline", response_model=list[UnitTimelineEntry], summary="Unit timeline"
)
def timeline(unit_id: RowId, who: Reader, db: DbSession) -> Any:
    """Every status change of the unit, oldest first."""
    return service.unit_timeline(db=db, unit_id=unit_id, principal=who)


@router.post(
    "/incidents",
    response_model=IncidentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Report a call",
)
def report_call(call_in: CallCreate, who: CallTaker, db: DbSession, ctx: PlatformContext) -> Any:
    """Take a call: locate, triage, check for duplicates, recommend units."""
    incident = service.report_call(db=db, settings=ctx.settings, call_in=call_in, actor=who)
    return _incident_response(db, who, incident, status.HTTP_201_CREATED)


@router.post(
    "/incidents/eido",
    response_model=IncidentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Report a call from a NENA EIDO document",
)
def report_eido(
    document: dict[str, Any], who: CallTaker, db: DbSession, ctx: PlatformContext
) -> Any:
    """Take a call handed over as EIDO JSON (NENA-STA-021); a malformed document is a 422."""
    call_in = service.call_from_eido(document)
    incident = service.report_call(db=db, settings=ctx.settings, call_in=call_in, actor=who)
    return _incident_response(db, who, incident, status.HTTP_201_CREATED)


@router.get("/incidents", response_model=list[IncidentRead], summary="Incidents")
def list_incidents(
    who: Reader,
    db: DbSession,
    status_: Annotated[Literal["open", "closed", "all"], Query(alias="status")] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The caller's incidents, newest first (phone numbers always masked in lists)."""
    rows = service.list_incidents(db=db, principal=who, status=status_, limit=limit)
    return JSONResponse([dump_personal(r) for r in service.incident_reads(db=db, incidents=rows)])


@router.get("/incidents/{incident_id}", response_model=IncidentRead, summary="One incident")
def get_incident(incident_id: RowId, who: Reader, db: DbSession) -> Any:
    """One incident with its triage, duplicates, recommendation and units."""
    incident = service.get_incident(db=db, incident_id=incident_id, principal=who)
    return _incident_response(db, who, incident)


@router.get("/incidents/{incident_id}/eido", summary="The incident as NENA EIDO JSON")
def export_incident_eido(incident_id: RowId, who: Reader, db: DbSession) -> dict[str, Any]:
    """The incident as an EIDO document, to hand over to another centre."""
    incident = service.get_incident(db=db, incident_id=incident_id, principal=who)
    return service.incident_eido(db=db, incident=incident)


@router.post(
    "/incidents/{incident_id}/dispatch", response_model=IncidentRead, summary="Dispatch units"
)
def dispatch(
    incident_id: RowId, dispatch_in: DispatchCreate, who: Dispatcher, db: DbSession
) -> Any:
    """Send units: the recommendation as is, or others with an override reason."""
    incident = service.dispatch_units(
        db=db, incident_id=incident_id, dispatch_in=dispatch_in, actor=who, principal=who
    )
    return _incident_response(db, who, incident)


@router.post(
    "/incidents/{incident_id}/classify", response_model=IncidentRead, summary="Re-classify"
)
def classify(
    incident_id: RowId,
    classify_in: IncidentClassify,
    who: Dispatcher,
    db: DbSession,
    ctx: PlatformContext,
) -> Any:
    """Set the call type (and priority) of an incident, with a reason; an unclear call's way out."""
    incident = service.classify_incident(
        db=db,
        settings=ctx.settings,
        incident_id=incident_id,
        classify_in=classify_in,
        actor=who,
        principal=who,
    )
    return _incident_response(db, who, incident)


@router.post("/incidents/{incident_id}/close", response_model=IncidentRead, summary="Close")
def close(incident_id: RowId, close_in: IncidentClose, who: Dispatcher, db: DbSession) -> Any:
    """Close the incident; units still with it are released."""
    incident = service.close_incident(
        db=db, incident_id=incident_id, close_in=close_in, actor=who, principal=who
    )
    return _incident_response(db, who, incident)


@router.get("/statistics/response-times", response_model=ResponseStats, summary="Response times")
def response_times(
    who: Reader,
    db: DbSession,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    """Call-to-dispatch, dispatch-to-arrival and total response times (default: last 24 h)."""
    end = until or clock.now()
    start = since or end - timedelta(days=1)
    return service.response_statistics(db=db, principal=who, since=_aware(start), until=_aware(end))


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@router.get("/run-cards", response_model=list[RunCardRead], summary="Call types and run cards")
def run_cards(who: Reader, db: DbSession) -> Any:
    """The triage call types in force: labels, priorities, police flag, run cards."""
    return service.run_cards(db=db)


from pingan.dispatch.camera_routes import router as _camera_router  # noqa: E402

router.include_router(_camera_router)

from pingan.dispatch.alert_routes import router as _alert_router  # noqa: E402

router.include_router(_alert_router)

from pingan.dispatch.security_routes import router as _security_router  # noqa: E402

router.include_router(_security_router)

from pingan.dispatch.linkage_routes import router as _linkage_router  # noqa: E402

router.include_router(_linkage_router)

from pingan.dispatch.standby_routes import router as _standby_router  # noqa: E402

router.include_router(_standby_router)

from pingan.dispatch.rules_routes import router as _rules_router  # noqa: E402

router.include_router(_rules_router)
