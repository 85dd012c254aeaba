"""HTTP routes of public warnings (CAP 1.2 out), included by :mod:`pingan.dispatch.routes`.

Staff routes live under ``/api/dispatch/alerts``. The missing person's name is
masked in lists; a single warning shows it to the roles that run the broadcast
(dispatchers, commanders), each such read audited. ``GET .../alerts/{id}/cap`` is
the CAP document (``application/cap+xml``). The one public route,
``GET /api/dispatch/public/alerts``, is an Atom feed of the warnings in force
(issued or updated, not expired), each entry carrying its CAP document: what was
broadcast to the public anyway, and nothing else.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from pingan.core import audit
from pingan.core.auth.deps import Principal, require
from pingan.core.auth.roles import COMMANDER, DISPATCHER
from pingan.core.deps import DbSession, RowId
from pingan.core.privacy import PersonalDataPolicy, dump_personal
from pingan.dispatch import alerts
from pingan.dispatch.alert_schemas import AlertCancel, AlertCreate, AlertRead, AlertUpdate
from pingan.dispatch.cap import MEDIA_TYPE
from pingan.dispatch.models import Alert

router = APIRouter()

Reader = Annotated[Principal, require("dispatch.read")]
Drafter = Annotated[Principal, require("dispatch.alerts.draft")]
Issuer = Annotated[Principal, require("dispatch.alerts.issue")]

NAME_POLICY = PersonalDataPolicy(reveal_roles=frozenset({DISPATCHER, COMMANDER}))
"""Who sees a missing person's name unmasked in the staff API: those who broadcast."""


def _reveal(db: Session, who: Principal, alert: Alert, reason: str) -> bool:
    reveal = alert.person is not None and NAME_POLICY.may_reveal(who.roles)
    if reveal:
        audit.reveal(
            db,
            principal=who,
            entity="dispatch_alert",
            entity_id=alert.id,
            fields=["person.name"],
            reason=reason,
        )
    return reveal


def _answer(db: Session, who: Principal, alert: Alert, code: int = 200) -> JSONResponse:
    reveal = _reveal(db, who, alert, "dispatch: missing-person alert")
    read = alerts.alert_read(alert, reveal=reveal)
    return JSONResponse(dump_personal(read, reveal=reveal), status_code=code)


@router.post(
    "/alerts",
    response_model=AlertRead,
    status_code=status.HTTP_201_CREATED,
    summary="Draft a public warning",
)
def create_alert(alert_in: AlertCreate, who: Drafter, db: DbSession) -> Any:
    """Draft a warning (missing person, dangerous person, public safety); nothing is sent yet."""
    alert = alerts.create_alert(db=db, alert_in=alert_in, actor=who)
    return _answer(db, who, alert, status.HTTP_201_CREATED)


@router.get("/alerts", response_model=list[AlertRead], summary="Public warnings")
def list_alerts(
    who: Reader,
    db: DbSession,
    status_: Annotated[
        Literal["draft", "issued", "updated", "cancelled"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The caller's warnings, newest first (missing persons' names always masked in lists)."""
    rows = alerts.list_alerts(db=db, principal=who, status=status_, limit=limit)
    return JSONResponse([dump_personal(alerts.alert_read(a, reveal=False)) for a in rows])


@router.get("/alerts/{alert_id}", response_model=AlertRead, summary="One public warning")
def get_alert(alert_id: RowId, who: Reader, db: DbSession) -> Any:
    """One warning; the name is shown to dispatchers and commanders (audited)."""
    return _answer(db, who, alerts.get_alert(db=db, alert_id=alert_id, principal=who))


@router.get(
    "/alerts/{alert_id}/cap",
    summary="The warning as CAP 1.2 XML",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}}},
)
def get_alert_cap(alert_id: RowId, who: Reader, db: DbSession) -> Response:
    """The CAP document last broadcast, or a draft's preview (name masked unless revealed)."""
    alert = alerts.get_alert(db=db, alert_id=alert_id, principal=who)
    if alert.cap_xml is not None:
        document = alert.cap_xml  # already public
    else:
        reveal = _reveal(db, who, alert, "dispatch: preview of a missing-person alert")
        document = alerts.build_cap(db=db, alert=alert, reveal=reveal)
    return Response(document, media_type=MEDIA_TYPE)


@router.post("/alerts/{alert_id}/issue", response_model=AlertRead, summary="Issue (broadcast)")
def issue_alert(alert_id: RowId, who: Issuer, db: DbSession) -> Any:
    """Broadcast a draft as a CAP Alert (commanders only; a second issue is a 409)."""
    return _answer(db, who, alerts.issue_alert(db=db, alert_id=alert_id, actor=who))


@router.post("/alerts/{alert_id}/update", response_model=AlertRead, summary="Update a warning")
def update_alert(alert_id: RowId, update_in: AlertUpdate, who: Issuer, db: DbSession) -> Any:
    """Change a warning; an issued one is re-broadcast as a CAP Update."""
    alert = alerts.update_alert(db=db, alert_id=alert_id, update_in=update_in, actor=who)
    return _answer(db, who, alert)


@router.post("/alerts/{alert_id}/cancel", response_model=AlertRead, summary="Cancel a warning")
def cancel_alert(alert_id: RowId, cancel_in: AlertCancel, who: Issuer, db: DbSession) -> Any:
    """Withdraw an issued warning with a CAP Cancel referencing the original."""
    alert = alerts.cancel_alert(db=db, alert_id=alert_id, cancel_in=cancel_in, actor=who)
    return _answer(db, who, alert)


@router.get(
    "/public/alerts",
    summary="PUBLIC: Atom feed of the CAP warnings in force",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
)
def public_alerts(db: DbSession) -> Response:
    """Issued, unexpired warnings as an Atom feed with their CAP documents (no login)."""
    return Response(alerts.public_feed(db=db), media_type="application/atom+xml")
