"""HTTP routes of non-police linkage (非警务联动) and dispute follow-ups (枫桥经验).

Included by :mod:`pingan.dispatch.routes` (so everything here lives under
``/api/dispatch``). Two sides:

- staff: the departments, the one-action transfer, the transfer board (``overdue``
  filter), follow-up cases and their visits;
- partner (``/partner/...``): a linked department's system, with an API key whose
  ``partner`` is the department's code, sees and answers *only its own* transfers —
  another department's transfer is a 404, as if it did not exist; signed-in staff get
  a 403 here (the ``dispatch.partner`` permission is the partner role's alone).

Transfers never carry the caller's phone number: the department gets the place, the
call type and the words of the call; a call-back goes through the desk.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from pingan.core.auth.deps import Principal, require
from pingan.core.deps import DbSession, RowId
from pingan.dispatch import linkage
from pingan.dispatch.linkage_schemas import (
    DepartmentRead,
    DueVisitRead,
    FollowUpClose,
    FollowUpCreate,
    FollowUpRead,
    TransferAck,
    TransferCreate,
    TransferFilter,
    TransferProgress,
    TransferRead,
    TransferResolve,
    TransferReturn,
    VisitRecord,
)

router = APIRouter()

Reader = Annotated[Principal, require("dispatch.read")]
Transferer = Annotated[Principal, require("dispatch.transfer")]
FollowUpKeeper = Annotated[Principal, require("dispatch.followup")]
PartnerDepartment = Annotated[Principal, require("dispatch.partner")]
Limit = Annotated[int, Query(ge=1, le=1000)]


# ---------------------------------------------------------------------------- staff


@router.get("/departments", response_model=list[DepartmentRead], summary="Linked departments")
def list_departments(who: Reader, db: DbSession) -> Any:
    """The linked departments (联动单位), the call types each handles and their deadlines."""
    return [linkage.department_read(d) for d in linkage.list_departments(db=db)]


@router.post(
    "/incidents/{incident_id}/transfer",
    response_model=TransferRead,
    status_code=status.HTTP_201_CREATED,
    summary="Transfer a non-police incident to its department",
)
def transfer_incident(
    incident_id: RowId, transfer_in: TransferCreate, who: Transferer, db: DbSession
) -> Any:
    """Hand a clear non-police incident to a linked department in one action (default: the
    suggested one). Police and unclear incidents stay with the desk (409 naming the field)."""
    transfer = linkage.transfer_incident(
        db=db, incident_id=incident_id, transfer_in=transfer_in, actor=who, principal=who
    )
    return linkage.transfer_read(db=db, transfer=transfer)


@router.get("/transfers", response_model=list[TransferRead], summary="Transfers")
def list_transfers(
    who: Reader,
    db: DbSession,
    status_: Annotated[TransferFilter, Query(alias="status")] = "active",
    overdue: bool | None = None,
    limit: Limit = 200,
) -> Any:
    """Transfers of the caller's incidents, newest first; ``overdue=true`` for the late ones."""
    rows = linkage.list_transfers(
        db=db, principal=who, status=status_, overdue=overdue, limit=limit
    )
    return [linkage.transfer_read(db=db, transfer=t) for t in rows]


@router.post(
    "/incidents/{incident_id}/follow-up",
    response_model=FollowUpRead,
    status_code=status.HTTP_201_CREATED,
    summary="Open a follow-up case (枫桥经验)",
)
def open_follow_up(
    incident_id: RowId, follow_up_in: FollowUpCreate, who: FollowUpKeeper, db: DbSession
) -> Any:
    """Make the incident (typically a dispute) a follow-up case with scheduled visits."""
    case = linkage.open_follow_up(
        db=db, incident_id=incident_id, follow_up_in=follow_up_in, actor=who, principal=who
    )
    return linkage.follow_up_read(case)


@router.get("/follow-ups", response_model=list[FollowUpRead], summary="Follow-up cases")
def list_follow_ups(
    who: Reader,
    db: DbSession,
    status_: Annotated[Literal["open", "closed", "all"], Query(alias="status")] = "open",
    limit: Limit = 200,
) -> Any:
    """The caller's follow-up cases with their visits, newest first."""
    rows = linkage.list_follow_ups(db=db, principal=who, status=status_, limit=limit)
    return [linkage.follow_up_read(c) for c in rows]


@router.get(
    "/follow-ups/visits", response_model=list[DueVisitRead], summary="Visits due or overdue"
)
def due_visits(
    who: Reader,
    db: DbSession,
    state: Literal["due", "overdue"] = "due",
    within_h: Annotated[float, Query(gt=0, le=24 * 90)] = 24.0,
) -> Any:
    """Visits not made yet: due within ``within_h`` hours, or flagged overdue; soonest first."""
    return linkage.due_visits(db=db, principal=who, state=state, within_h=within_h)


@router.get("/follow-ups/{case_id}", response_model=FollowUpRead, summary="One follow-up case")
def get_follow_up(case_id: RowId, who: Reader, db: DbSession) -> Any:
    """One follow-up case with its visits."""
    return linkage.follow_up_read(linkage.get_follow_up(db=db, case_id=case_id, principal=who))


@router.post(
    "/follow-ups/{case_id}/visits/{visit_id}",
    response_model=FollowUpRead,
    summary="Record a visit's outcome",
)
def record_visit(
    case_id: RowId, visit_id: RowId, visit_in: VisitRecord, who: FollowUpKeeper, db: DbSession
) -> Any:
    """Record that a scheduled visit was made, and what came of it."""
    case = linkage.record_visit(
        db=db, case_id=case_id, visit_id=visit_id, visit_in=visit_in, actor=who, principal=who
    )
    return linkage.follow_up_read(case)


@router.post(
    "/follow-ups/{case_id}/close", response_model=FollowUpRead, summary="Close a follow-up case"
)
def close_follow_up(
    case_id: RowId, close_in: FollowUpClose, who: FollowUpKeeper, db: DbSession
) -> Any:
    """Close the case with how the dispute ended; visits not made are cancelled."""
    case = linkage.close_follow_up(
        db=db, case_id=case_id, close_in=close_in, actor=who, principal=who
    )
    return linkage.follow_up_read(case)


# ---------------------------------------------------------------------------- partner


@router.get(
    "/partner/transfers",
    response_model=list[TransferRead],
    summary="Partner: my department's transfers",
    tags=["partner"],
)
def partner_transfers(
    who: PartnerDepartment,
    db: DbSession,
    status_: Annotated[TransferFilter, Query(alias="status")] = "active",
    overdue: bool | None = None,
    limit: Limit = 200,
) -> Any:
    """The calling department's transfers (only its own), newest first."""
    rows = linkage.list_partner_transfers(
        db=db, principal=who, status=status_, overdue=overdue, limit=limit
    )
    return [linkage.transfer_read(db=db, transfer=t) for t in rows]


@router.get(
    "/partner/transfers/{transfer_id}",
    response_model=TransferRead,
    summary="Partner: one transfer",
    tags=["partner"],
)
def partner_transfer(transfer_id: RowId, who: PartnerDepartment, db: DbSession) -> Any:
    """One of the calling department's transfers (404 for any other)."""
    transfer = linkage.get_partner_transfer(db=db, principal=who, transfer_id=transfer_id)
    return linkage.transfer_read(db=db, transfer=transfer)


@router.post(
    "/partner/transfers/{transfer_id}/ack",
    response_model=TransferRead,
    summary="Partner: acknowledge (签收)",
    tags=["partner"],
)
def partner_ack(
    transfer_id: RowId, who: PartnerDepartment, db: DbSession, ack_in: TransferAck | None = None
) -> Any:
    """Acknowledge the transfer (repeating it changes nothing)."""
    transfer = linkage.acknowledge_transfer(
        db=db, transfer_id=transfer_id, ack_in=ack_in or TransferAck(), principal=who
    )
    return linkage.transfer_read(db=db, transfer=transfer)


@router.post(
    "/partner/transfers/{transfer_id}/progress",
    response_model=TransferRead,
    summary="Partner: report progress",
    tags=["partner"],
)
def partner_progress(
    transfer_id: RowId, progress_in: TransferProgress, who: PartnerDepartment, db: DbSession
) -> Any:
    """Report progress (acknowledges the transfer if it was not yet)."""
    transfer = linkage.report_progress(
        db=db, transfer_id=transfer_id, progress_in=progress_in, principal=who
    )
    return linkage.transfer_read(db=db, transfer=transfer)


@router.post(
    "/partner/transfers/{transfer_id}/resolve",
    response_model=TransferRead,
    summary="Partner: feed back resolved",
    tags=["partner"],
)
def partner_resolve(
    transfer_id: RowId, resolve_in: TransferResolve, who: PartnerDepartment, db: DbSession
) -> Any:
    """Feed back the outcome; the incident closes with it."""
    transfer = linkage.resolve_transfer(
        db=db, transfer_id=transfer_id, resolve_in=resolve_in, principal=who
    )
    return linkage.transfer_read(db=db, transfer=transfer)


@router.post(
    "/partner/transfers/{transfer_id}/return",
    response_model=TransferRead,
    summary="Partner: return as not ours",
    tags=["partner"],
)
def partner_return(
    transfer_id: RowId, return_in: TransferReturn, who: PartnerDepartment, db: DbSession
) -> Any:
    """Send the matter back with a reason (required); the incident is new again at the desk."""
    transfer = linkage.return_transfer(
        db=db, transfer_id=transfer_id, return_in=return_in, principal=who
    )
    return linkage.transfer_read(db=db, transfer=transfer)
