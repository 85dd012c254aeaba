"""HTTP routes of the anti-fraud desk (mounted under ``/api``): signals, queue, steps.

Two sides:

- partner (API keys): ``POST /antifraud/signals`` (a batch, at most 10,000 reports), and
  for banks ``/antifraud/partner/stop-payments`` — a bank sees and answers only the
  requests addressed to it (its key's ``partner`` is the bank's code); another bank's
  request is a 404. Signed-in staff get a 403 on every partner route.
- staff: the teams and their members (set by commanders and administrators), the warning
  queue with its countdowns, a warning in full, contact attempts, the visit escalation,
  stop-payments and renewals, closing, the SLA policy (commanders and administrators) and
  the dashboards.

The person's phone number (and the accounts of stop-payments) are masked in every answer
unless the caller's role needs them — dissuasion team members and commanders call back —
and each unmasked answer writes an audit record of the read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from pingan.antifraud import service
from pingan.antifraud.models import FraudWarning
from pingan.antifraud.schemas import (
    BankAnswer,
    BatchResult,
    ContactCreate,
    Dashboard,
    Level,
    SignalBatch,
    SlaPolicyBody,
    StopPaymentCreate,
    StopPaymentRead,
    SweepReport,
    TeamMembersBody,
    TeamMembersRead,
    TeamRead,
    VisitCreate,
    WarningBrief,
    WarningClose,
    WarningRead,
)
from pingan.core import audit
from pingan.core.auth.deps import Principal, require
from pingan.core.auth.roles import COMMANDER, DISSUASION
from pingan.core.deps import DbSession, PlatformContext, RowId
from pingan.core.errors import ValidationFailed
from pingan.core.privacy import PersonalDataPolicy, dump_personal

router = APIRouter(prefix="/antifraud", tags=["antifraud"])

Reader = Annotated[Principal, require("antifraud.read")]
Worker = Annotated[Principal, require("antifraud.work")]
Supervisor = Annotated[Principal, require("antifraud.sla.manage")]
DashboardReader = Annotated[Principal, require("antifraud.dashboard")]
SignalSender = Annotated[Principal, require("antifraud.signals")]
Bank = Annotated[Principal, require("antifraud.bank")]
Limit = Annotated[int, Query(ge=1, le=1000)]
MAX_FILE_BYTES = 20 * 1024 * 1024

PHONE_POLICY = PersonalDataPolicy(reveal_roles=frozenset({DISSUASION, COMMANDER}))
"""Who sees the person's number (and the accounts) unmasked: those who call back."""


def _warning_response(
    db: Session, who: Principal, warning: FraudWarning, status_code: int = 200
) -> JSONResponse:
    read = service.warning_read(db=db, warning=warning)
    reveal = PHONE_POLICY.may_reveal(who.roles)
    if reveal:
        audit.reveal(
            db,
            principal=who,
            entity="antifraud_warning",
            entity_id=warning.id,
            fields=["phone", "account"] if read.stop_payments else ["phone"],
            reason="antifraud: call-back number of the potential victim",
        )
    return JSONResponse(dump_personal(read, reveal=reveal), status_code=status_code)


# ---------------------------------------------------------------------------- partners


@router.post("/signals", response_model=BatchResult, summary="Push partner signals")
def push_signals(batch: SignalBatch, who: SignalSender, db: DbSession, ctx: PlatformContext) -> Any:
    """A batch of reports (calls from listed numbers, fraud content, apps, transfers, the
    person's own report, risk scores). Idempotent by (partner, id); one malformed item
    refuses the batch with a 422 naming ``signals[i].<field>``, nothing written."""
    partner = service.partner_code(db=db, principal=who) or who.username
    result = service.ingest_signals(
        db=db,
        partner=partner,
        items=batch.signals,
        secret=ctx.settings.auth.secret_key,
        actor=who,
        default_jurisdiction_id=service.partner_jurisdiction(db=db, principal=who),
        text_model=lambda: service.text_model(ctx.settings.data_dir),
    )
    # Serialised here: the answer holds typed values only (no second validation pass).
    return Response(result.model_dump_json(), media_type="application/json")


@router.post(
    "/signals/file",
    response_model=BatchResult,
    summary="Upload partner signals as a file",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
            "required": True,
        }
    },
)
async def push_signal_file(
    request: Request, who: SignalSender, db: DbSession, ctx: PlatformContext
) -> Any:
    """The same as ``POST /signals`` for a bulk file: JSON Lines (``application/x-ndjson``)
    or CSV with a header (``text/csv``; columns are the signal's fields), at most 10,000
    rows; errors name ``signals[i].<field>`` with ``i`` the row (from 0)."""
    body = await request.body()
    if len(body) > MAX_FILE_BYTES:
        raise ValidationFailed("antifraud.error.too_large", field="file", max=MAX_FILE_BYTES)
    items = service.parse_signal_file(body, request.headers.get("content-type", ""))
    return await run_in_threadpool(
        service.ingest_signals,
        db=db,
        partner=service.partner_code(db=db, principal=who) or who.username,
        items=items,
        secret=ctx.settings.auth.secret_key,
        actor=who,
        default_jurisdiction_id=service.partner_jurisdiction(db=db, principal=who),
        text_model=lambda: service.text_model(ctx.settings.data_dir),
    )


@router.get(
    "/partner/stop-payments",
    response_model=list[StopPaymentRead],
    summary="A bank's stop-payment requests",
)
def bank_stop_payments(
    who: Bank,
    db: DbSession,
    status_: Annotated[str | None, Query(alias="status", max_length=20)] = None,
    limit: Limit = 500,
) -> Any:
    """The stop-payments addressed to the calling bank, newest first, with the accounts
    (the bank acts on them; the read is audited)."""
    rows = service.bank_stop_payments(db=db, principal=who, status=status_, limit=limit)
    reads = [service.stop_payment_read(sp) for sp in rows]
    if reads:
        audit.reveal(
            db,
            principal=who,
            entity="antifraud_stop_payment",
            entity_id=",".join(str(r.id) for r in reads[:20]),
            fields=["account"],
            reason="antifraud: the bank's own stop-payment requests",
        )
    return JSONResponse([dump_personal(r, reveal=True) for r in reads])


@router.post(
    "/partner/stop-payments/{stop_payment_id}/answer",
    response_model=StopPaymentRead,
    summary="A bank answers a stop-payment",
)
def answer_stop_payment(
    stop_payment_id: RowId, answer: BankAnswer, who: Bank, db: DbSession
) -> Any:
    """``held`` (the 48-hour hold starts), ``rejected``, ``frozen`` or ``released``; another
    bank's request is a 404; an answer the state does not allow is a 409 on ``decision``."""
    sp = service.answer_stop_payment(
        db=db, principal=who, stop_payment_id=stop_payment_id, answer=answer
    )
    return service.stop_payment_read(sp)


# ---------------------------------------------------------------------------- staff


@router.get("/teams", response_model=list[TeamRead], summary="Warning-dissuasion teams")
def list_teams(who: Reader, db: DbSession) -> Any:
    """The teams (预警劝阻专班) of the caller's jurisdictions and their open load."""
    return service.list_teams(db=db, principal=who)


@router.get("/teams/{team_id}/members", response_model=TeamMembersRead, summary="A team's members")
def get_team_members(team_id: RowId, who: Reader, db: DbSession) -> Any:
    """The users on a team of the caller's jurisdictions (another team: 404 on
    ``team_id``)."""
    team = service.get_team(db=db, team_id=team_id, principal=who)
    return service.team_members_read(db=db, team=team)


@router.put(
    "/teams/{team_id}/members", response_model=TeamMembersRead, summary="Set a team's members"
)
def put_team_members(
    team_id: RowId, members_in: TeamMembersBody, who: Supervisor, db: DbSession
) -> Any:
    """Replace the member list (commanders and administrators). Each username must be an
    active user who reads the desk and serves the team's jurisdiction, else 422 on
    ``usernames[i]`` and nothing is written; duplicates collapse; audited."""
    team = service.set_team_members(
        db=db, team_id=team_id, usernames=members_in.usernames, actor=who
    )
    return service.team_members_read(db=db, team=team)


@router.get("/warnings", response_model=list[WarningBrief], summary="The warning queue")
def list_warnings(
    who: Reader,
    db: DbSession,
    scope: service.QueueScope = "team",
    team_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    status_: Annotated[service.StatusFilter, Query(alias="status")] = "open",
    level: Level | None = None,
    escalated: bool | None = None,
    limit: Limit = 200,
) -> Any:
    """Warnings of the caller's jurisdictions, soonest deadline first, each with
    ``seconds_left`` of its current step. ``scope=team`` (default): the caller's teams'
    warnings when they are on a team, else all of their jurisdictions'; ``mine``: assigned
    to the caller; ``all``: all of their jurisdictions'."""
    rows = service.list_warnings(
        db=db,
        principal=who,
        scope=scope,
        team_id=team_id,
        status=status_,
        level=level,
        escalated=escalated,
        limit=limit,
    )
    return [service.warning_brief(db=db, warning=w) for w in rows]


@router.get("/warnings/{warning_id}", response_model=WarningRead, summary="One warning")
def get_warning(warning_id: RowId, who: Reader, db: DbSession) -> Any:
    """A warning in full: reasons, signals, contacts, stop-payments; the number masked
    unless the caller calls back (audited)."""
    warning = service.get_warning(db=db, warning_id=warning_id, principal=who)
    return _warning_response(db, who, warning)


@router.post(
    "/warnings/{warning_id}/contacts",
    response_model=WarningRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a contact attempt",
)
def record_contact(warning_id: RowId, contact_in: ContactCreate, who: Worker, db: DbSession) -> Any:
    """A 96110 call, a 12381 SMS or a visit, and how it went."""
    service.record_contact(
        db=db, warning_id=warning_id, contact_in=contact_in, actor=who, principal=who
    )
    warning = service.get_warning(db=db, warning_id=warning_id, principal=who)
    return _warning_response(db, who, warning, status.HTTP_201_CREATED)


@router.post(
    "/warnings/{warning_id}/escalate-visit",
    response_model=WarningRead,
    summary="Ask for an in-person visit",
)
def escalate_visit(warning_id: RowId, visit_in: VisitCreate, who: Worker, db: DbSession) -> Any:
    """Publishes ``antifraud.visit.requested`` for the dispatch desk (a patrol unit)."""
    warning = service.escalate_visit(
        db=db, warning_id=warning_id, visit_in=visit_in, actor=who, principal=who
    )
    return _warning_response(db, who, warning)


@router.post(
    "/warnings/{warning_id}/stop-payments",
    response_model=WarningRead,
    status_code=status.HTTP_201_CREATED,
    summary="Request a stop-payment",
)
def request_stop_payment(
    warning_id: RowId,
    stop_in: StopPaymentCreate,
    who: Worker,
    db: DbSession,
    ctx: PlatformContext,
) -> Any:
    """Draft the stop-payment to the receiving bank's partner API (422 on ``bank`` when no
    partner speaks for it)."""
    service.request_stop_payment(
        db=db,
        warning_id=warning_id,
        stop_in=stop_in,
        secret=ctx.settings.auth.secret_key,
        actor=who,
        principal=who,
    )
    warning = service.get_warning(db=db, warning_id=warning_id, principal=who)
    return _warning_response(db, who, warning, status.HTTP_201_CREATED)


@router.post(
    "/stop-payments/{stop_payment_id}/renew",
    response_model=StopPaymentRead,
    summary="Renew a hold by 48 hours",
)
def renew_stop_payment(stop_payment_id: RowId, who: Worker, db: DbSession) -> Any:
    """At most twice (409 on ``renewals``); only a live hold (409 on ``status``)."""
    sp = service.renew_stop_payment(
        db=db, stop_payment_id=stop_payment_id, actor=who, principal=who
    )
    return service.stop_payment_read(sp)


@router.post("/warnings/{warning_id}/close", response_model=WarningRead, summary="Close")
def close_warning(warning_id: RowId, close_in: WarningClose, who: Worker, db: DbSession) -> Any:
    """Close with the outcome (quick feedback); 409 on ``status`` when already closed."""
    warning = service.close_warning(
        db=db, warning_id=warning_id, close_in=close_in, actor=who, principal=who
    )
    return _warning_response(db, who, warning)


@router.get("/sla-policy", response_model=SlaPolicyBody, summary="The SLA policy")
def get_sla_policy(who: Supervisor, db: DbSession) -> Any:
    """Every level's step deadlines in seconds."""
    return service.get_policy(db=db)


@router.put("/sla-policy", response_model=SlaPolicyBody, summary="Edit the SLA policy")
def put_sla_policy(policy_in: SlaPolicyBody, who: Supervisor, db: DbSession) -> Any:
    """Replace the step deadlines (each 10 s to 30 days); applies from each warning's next
    step."""
    return service.set_policy(db=db, policy_in=policy_in, actor=who)


@router.post("/sweep", response_model=SweepReport, summary="Run the SLA sweep now")
def run_sweep(who: Supervisor, db: DbSession) -> Any:
    """What the periodic job does: escalate missed deadlines, expire lapsed holds."""
    return service.sweep(db=db, actor=who)


@router.get("/dashboards", response_model=Dashboard, summary="The desk's figures")
def dashboards(who: DashboardReader, db: DbSession, since: datetime | None = None) -> Any:
    """Warnings per day by level and typology, time to first contact, dissuasion success
    rate and money intercepted (default: the last 30 days)."""
    return service.dashboards(db=db, principal=who, since=since)


# Linkage case rooms (合成作战室) and the year-on-year dashboard: their own module.
from pingan.antifraud.caseroom_routes import router as caseroom_router  # noqa: E402

router.include_router(caseroom_router)
