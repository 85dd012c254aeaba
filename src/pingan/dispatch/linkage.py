"""Non-police linkage (非警务联动) and dispute follow-up cases (枫桥经验).

**Linkage.** A call that is not a police matter (water, power, gas, noise, animals,
road damage, a neighbour dispute without violence, an enquiry) is handed with one
action to the linked department that handles its call type; the department
acknowledges (签收), reports progress and finally feeds back (反馈) through its partner
API, or returns the matter as not theirs with a reason. Each transfer stores its two
deadlines — acknowledge within the department's ``ack_within_s``, feed back within its
``feedback_within_s`` — as rows, and a periodic job (:func:`sweep_overdue`) flags the
ones missed, so the timers survive restarts and run on simulated time under the demo.

The 110/12345 linkage rule (首接负责): only a *clear* non-police incident can be handed
over. A police incident, and an unclear one (triage could not decide, or police and
non-police tied), stays with the desk that took the call; the dispatcher must
re-classify it first. Refusals are 409s naming the field (``police``, ``unclear``).

**Follow-ups.** A dispute can become a follow-up case for the community police: an
assignee (a unit's callsign or an officer's username) and scheduled visits (回访); each
visit's outcome is recorded; a visit not made within :data:`VISIT_GRACE_S` of its time
is flagged overdue by the same sweep; the case is closed with how the dispute ended.

The first half of this module is pure (department choice, deadlines, the sweep's
decisions) and is tested without a database; the second half is the service layer:
keyword-only functions over the caller's session that never commit, audit every
write and record their events in the outbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from pingan.city.models import District
from pingan.core import audit, clock
from pingan.core.auth.models import ApiKey, Jurisdiction, User
from pingan.core.auth.permissions import Principal, actor_name
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.core.module import Context
from pingan.core.outbox import record
from pingan.dispatch import service
from pingan.dispatch.events import (
    FollowUpClosed,
    FollowUpOpened,
    FollowUpVisitOverdue,
    FollowUpVisitRecorded,
    IncidentTransferred,
    TransferAcknowledged,
    TransferOverdue,
    TransferProgressReported,
    TransferResolved,
    TransferReturned,
)
from pingan.dispatch.linkage_schemas import (
    DepartmentRead,
    DepartmentRef,
    DueVisitRead,
    FollowUpBrief,
    FollowUpClose,
    FollowUpCreate,
    FollowUpRead,
    FollowUpVisitRead,
    SweepReport,
    TransferAck,
    TransferBrief,
    TransferCreate,
    TransferFilter,
    TransferIncident,
    TransferProgress,
    TransferRead,
    TransferResolve,
    TransferReturn,
    TransferUpdateRead,
    VisitRecord,
)
from pingan.dispatch.models import (
    ACTIVE_TRANSFER_STATUSES,
    Department,
    FollowUpCase,
    FollowUpVisit,
    Incident,
    Transfer,
    TransferUpdate,
    Unit,
)
from pingan.dispatch.schemas import IncidentClose, IncidentRead

Actor = Principal | str

FALLBACK_DEPARTMENT: Final = "hotline_12345"
"""The 12345 hotline: takes a non-police matter no other department handles."""
DISPUTE_CALL_TYPES: Final = frozenset({"neighbour_dispute", "domestic_violence", "fight"})
"""Call types the page offers a follow-up case for (any incident may have one)."""
VISIT_GRACE_S: Final = 24 * 3600
"""A visit is overdue when it has not been made a day after its scheduled time."""
DEFAULT_SWEEP_INTERVAL_S: Final = 60.0


# =============================================================================== pure


@dataclass(frozen=True, slots=True)
class DemoDepartment:
    """A department of the demo (and a sensible default set for a new city)."""

    code: str
    name_zh: str
    name_en: str
    call_types: tuple[str, ...]
    ack_within_s: int
    feedback_within_s: int
    fallback: bool = False


_HOUR: Final = 3600
DEMO_DEPARTMENTS: Final[tuple[DemoDepartment, ...]] = (
    DemoDepartment(
        "water_company",
        "市自来水公司（供水抢修）",
        "City Water Supply Company (repairs)",
        ("water_outage",),
        ack_within_s=_HOUR // 2,
        feedback_within_s=4 * _HOUR,
    ),
    DemoDepartment(
        "power_company",
        "国网市供电公司（95598 抢修）",
        "State Grid City Power Supply (95598 repairs)",
        ("power_outage",),
        ack_within_s=_HOUR // 2,
        feedback_within_s=4 * _HOUR,
    ),
    DemoDepartment(
        "gas_company",
        "市燃气集团（燃气抢修）",
        "City Gas Group (gas repairs)",
        ("gas_outage",),
        ack_within_s=_HOUR // 2,
        feedback_within_s=4 * _HOUR,
    ),
    DemoDepartment(
        "ecology_environment",
        "市生态环境局（噪声污染投诉）",
        "Municipal Bureau of Ecology and Environment (noise complaints)",
        ("noise",),
        ack_within_s=_HOUR // 2,
        feedback_within_s=4 * _HOUR,
    ),
    DemoDepartment(
        "urban_management",
        "市城市管理综合行政执法局（城管）",
        "Urban Management and Law Enforcement Bureau (chengguan)",
        ("road_damage",),
        ack_within_s=_HOUR,
        feedback_within_s=24 * _HOUR,
    ),
    DemoDepartment(
        "animal_control",
        "市农业农村局（动物防疫与流浪动物收容）",
        "Municipal Agriculture Bureau (animal control and shelter)",
        ("animal",),
        ack_within_s=_HOUR // 2,
        feedback_within_s=2 * _HOUR,
    ),
    DemoDepartment(
        "street_office",
        "街道办事处（人民调解委员会）",
        "Sub-district office (people's mediation committee)",
        ("neighbour_dispute",),
        ack_within_s=2 * _HOUR,
        feedback_within_s=72 * _HOUR,
    ),
    DemoDepartment(
        FALLBACK_DEPARTMENT,
        "12345 政务服务便民热线",
        "12345 government service hotline",
        ("consultation",),
        ack_within_s=2 * _HOUR,
        feedback_within_s=120 * _HOUR,
        fallback=True,
    ),
)
"""Realistic defaults: utilities acknowledge in 30 min and feed back within 4 h (urgent
repair orders); chengguan and the sub-district office take a working day to three days;
the 12345 hotline's ordinary work orders have five days."""

CALL_TYPE_DEPARTMENTS: Final[dict[str, str]] = {
    call_type: d.code for d in DEMO_DEPARTMENTS for call_type in d.call_types
}
"""Non-police triage call type → the code of the demo department that handles it."""


@dataclass(frozen=True, slots=True)
class DepartmentChoice:
    """What choosing a department needs to know of one (plain data)."""

    code: str
    call_types: frozenset[str]
    jurisdiction_path: str | None = None
    """The materialised path of its jurisdiction (``/hel/kamppi/``); None: everywhere."""
    fallback: bool = False
    active: bool = True


def serves(department: DepartmentChoice, jurisdiction_path: str | None) -> bool:
    """Whether ``department`` serves a place with ``jurisdiction_path`` (None: unknown place)."""
    if department.jurisdiction_path is None:
        return True
    return jurisdiction_path is not None and jurisdiction_path.startswith(
        department.jurisdiction_path
    )


def suggest_department(
    call_type: str | None,
    departments: Iterable[DepartmentChoice],
    *,
    jurisdiction_path: str | None = None,
    rules_department: str | None = None,
) -> str | None:
    """The code of the department a call of ``call_type`` goes to, or None when none fits.

    Among the active departments serving the place: first one that lists the call type,
    then the one the triage rules name (``rules_department``), then the fallback (the
    12345 hotline). Within each step the most local department wins (the longest
    jurisdiction path), ties broken by code so the choice is deterministic.
    """
    usable = [d for d in departments if d.active and serves(d, jurisdiction_path)]

    def best(found: list[DepartmentChoice]) -> str | None:
        if not found:
            return None
        found.sort(key=lambda d: (-len(d.jurisdiction_path or ""), d.code))
        return found[0].code

    steps = (
        [d for d in usable if call_type and call_type in d.call_types],
        [d for d in usable if rules_department is not None and d.code == rules_department],
        [d for d in usable if d.fallback],
    )
    for found in steps:
        code = best(found)
        if code is not None:
            return code
    return None


def transfer_refusal(*, police: bool, unclear: bool, status: str) -> tuple[str, str] | None:
    """Why an incident may not be handed over: (catalogue key, field), or None when it may.

    Unclear first: an unclear call is kept as a police matter by triage, and the reason
    the dispatcher must hear is the first-contact rule (首接负责), not "it is police".
    """
    if status == "closed":
        return "dispatch.error.incident_closed", "incident_id"
    if unclear:
        return "dispatch.error.transfer_unclear", "unclear"
    if police:
        return "dispatch.error.transfer_police", "police"
    if status == "transferred":
        return "dispatch.error.already_transferred", "status"
    if status != "new":
        return "dispatch.error.transfer_status", "status"
    return None


def deadlines(
    at: datetime, *, ack_within_s: float, feedback_within_s: float
) -> tuple[datetime, datetime]:
    """The acknowledgement and feedback deadlines of a transfer made ``at``."""
    return at + timedelta(seconds=ack_within_s), at + timedelta(seconds=feedback_within_s)


@dataclass(frozen=True, slots=True)
class TransferClock:
    """The timing state of one transfer, as the sweep sees it."""

    id: int
    status: str
    ack_due_at: datetime
    feedback_due_at: datetime
    acknowledged_at: datetime | None = None
    ack_overdue_at: datetime | None = None
    feedback_overdue_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Overdue:
    """A deadline the sweep found missed: which row, which deadline, how late."""

    id: int
    kind: Literal["ack", "feedback", "visit"]
    late_s: float


def overdue_transfers(transfers: Iterable[TransferClock], now: datetime) -> list[Overdue]:
    """The deadlines missed by ``now`` and not flagged yet (each is flagged once).

    Acknowledgement is late when an unacknowledged transfer passes ``ack_due_at``;
    feedback is late when a transfer still open (transferred or acknowledged) passes
    ``feedback_due_at``. Progress reports do not stop the feedback clock; only a
    resolution or a return does.
    """
    found: list[Overdue] = []
    for t in transfers:
        if t.status not in ACTIVE_TRANSFER_STATUSES:
            continue
        if t.acknowledged_at is None and t.ack_overdue_at is None and now > t.ack_due_at:
            found.append(Overdue(t.id, "ack", (now - t.ack_due_at).total_seconds()))
        if t.feedback_overdue_at is None and now > t.feedback_due_at:
            found.append(Overdue(t.id, "feedback", (now - t.feedback_due_at).total_seconds()))
    return found


@dataclass(frozen=True, slots=True)
class VisitClock:
    """The timing state of one scheduled visit."""

    id: int
    scheduled_at: datetime
    done_at: datetime | None = None
    cancelled_at: datetime | None = None
    overdue: bool = False


def overdue_visits(
    visits: Iterable[VisitClock], now: datetime, *, grace_s: float = VISIT_GRACE_S
) -> list[Overdue]:
    """Visits neither made nor cancelled ``grace_s`` after their time, not flagged yet."""
    found: list[Overdue] = []
    for v in visits:
        if v.done_at is not None or v.cancelled_at is not None or v.overdue:
            continue
        due = v.scheduled_at + timedelta(seconds=grace_s)
        if now > due:
            found.append(Overdue(v.id, "visit", (now - due).total_seconds()))
    return found


def check_visit_times(times: Sequence[datetime], now: datetime) -> list[datetime]:
    """Visit times in order (UTC); a time in the past or given twice is a 422 on ``visits``."""
    ordered = sorted(t.astimezone(UTC) for t in times)
    for t in ordered:
        if t < now:
            raise ValidationFailed(
                "dispatch.error.visit_past", field="visits", at=t.isoformat(timespec="minutes")
            )
    if len(set(ordered)) != len(ordered):
        raise ValidationFailed("dispatch.error.visit_repeated", field="visits")
    return ordered


# ============================================================================ service


# ---------------------------------------------------------------------------- departments


def department_ref(department: Department) -> DepartmentRef:
    """A department named briefly, in both languages."""
    return DepartmentRef(
        code=department.code,
        name={"zh-CN": department.name_zh, "en": department.name_en or department.name_zh},
    )


def department_read(department: Department) -> DepartmentRead:
    """A department as the API lists it."""
    ref = department_ref(department)
    return DepartmentRead(
        id=department.id,
        code=ref.code,
        name=ref.name,
        call_types=list(department.call_types or []),
        ack_within_s=department.ack_within_s,
        feedback_within_s=department.feedback_within_s,
        jurisdiction_id=department.jurisdiction_id,
        fallback=department.fallback,
        active=department.active,
    )


def list_departments(*, db: Session, include_inactive: bool = False) -> list[Department]:
    """The linked departments, by code."""
    stmt = select(Department).order_by(Department.code)
    if not include_inactive:
        stmt = stmt.where(Department.active.is_(True))
    return list(db.scalars(stmt))


def get_department(*, db: Session, code: str) -> Department:
    """A department by code (404 naming ``department`` when there is none)."""
    found = db.scalars(select(Department).where(Department.code == code)).first()
    if found is None:
        raise NotFound("dispatch.error.department_not_found", field="department", department=code)
    return found


def _paths(db: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.execute(
        select(Jurisdiction.id, Jurisdiction.path).where(Jurisdiction.id.in_(wanted))
    ).all()
    return {int(i): str(p) for i, p in rows}


def _choices(db: Session, departments: Sequence[Department]) -> list[DepartmentChoice]:
    paths = _paths(db, (d.jurisdiction_id for d in departments))
    return [
        DepartmentChoice(
            code=d.code,
            call_types=frozenset(d.call_types or ()),
            jurisdiction_path=paths.get(d.jurisdiction_id) if d.jurisdiction_id else None,
            fallback=d.fallback,
            active=d.active,
        )
        for d in departments
    ]


def _rules_department(db: Session, call_type: str) -> str | None:
    try:
        return service.load_rules(db).call_type(call_type).department
    except KeyError:
        return None


def suggested_department(*, db: Session, incident: Incident) -> Department | None:
    """The department a clear non-police incident would go to (None for police or unclear)."""
    return suggested_departments(db=db, incidents=[incident]).get(incident.id)


def suggested_departments(
    *, db: Session, incidents: Sequence[Incident]
) -> dict[int, Department | None]:
    """:func:`suggested_department` of several incidents (by id), the departments, their
    places and the incidents' places read once for all of them."""
    clear = [i for i in incidents if not i.police and not i.unclear]
    out: dict[int, Department | None] = {i.id: None for i in incidents}
    if not clear:
        return out
    departments = list_departments(db=db)
    if not departments:
        return out
    choices = _choices(db, departments)
    places = _paths(db, [i.jurisdiction_id for i in clear])
    rules: dict[str, str | None] = {}
    for incident in clear:
        call_type = incident.call_type
        if call_type not in rules:
            rules[call_type] = _rules_department(db, call_type)
        code = suggest_department(
            call_type or None,
            choices,
            jurisdiction_path=places.get(incident.jurisdiction_id or -1),
            rules_department=rules[call_type],
        )
        out[incident.id] = next((d for d in departments if d.code == code), None)
    return out


def seed_demo_departments(*, db: Session, actor: Actor = "system") -> int:
    """Create the demo departments that do not exist yet (by code); how many were created."""
    existing = set(db.scalars(select(Department.code)))
    created = 0
    for d in DEMO_DEPARTMENTS:
        if d.code in existing:
            continue
        row = Department(
            code=d.code,
            name_zh=d.name_zh,
            name_en=d.name_en,
            call_types=list(d.call_types),
            ack_within_s=d.ack_within_s,
            feedback_within_s=d.feedback_within_s,
            jurisdiction_id=None,
            fallback=d.fallback,
            active=True,
            demo=True,
        )
        db.add(row)
        db.flush()
        audit.record(
            db,
            actor=actor,
            action=audit.CREATE,
            entity="dispatch_department",
            entity_id=row.id,
            detail={"code": row.code, "call_types": row.call_types},
        )
        created += 1
    return created


# ---------------------------------------------------------------------------- transfers


def transfer_incident(
    *,
    db: Session,
    incident_id: int,
    transfer_in: TransferCreate,
    actor: Actor,
    principal: Principal | None = None,
) -> Transfer:
    """Hand a clear non-police incident to a department in one action (the suggested one
    unless ``transfer_in.department`` names another); the incident becomes ``transferred``.

    Refused, writing nothing: a police or an unclear incident (409 on ``police`` /
    ``unclear``: the first-contact rule), an incident that is not new (409 on
    ``status``), an unknown department (404 on ``department``), an inactive one or one
    that does not serve the incident's place (422 on ``department``).
    """
    incident = service.get_incident(db=db, incident_id=incident_id, principal=principal)
    refusal = transfer_refusal(
        police=incident.police, unclear=incident.unclear, status=incident.status
    )
    if refusal is not None:
        key, field = refusal
        raise Conflict(key, field=field, incident=incident.id, status=incident.status)
    suggested = suggested_department(db=db, incident=incident)
    if transfer_in.department is not None:
        department = get_department(db=db, code=transfer_in.department)
    elif suggested is not None:
        department = suggested
    else:
        raise ValidationFailed(
            "dispatch.error.no_department", field="department", call_type=incident.call_type
        )
    if not department.active:
        raise ValidationFailed(
            "dispatch.error.department_inactive", field="department", department=department.code
        )
    (choice,) = _choices(db, [department])
    place = _paths(db, [incident.jurisdiction_id]).get(incident.jurisdiction_id or -1)
    if not serves(choice, place):
        raise ValidationFailed(
            "dispatch.error.department_elsewhere", field="department", department=department.code
        )
    now = clock.now()
    ack_due, feedback_due = deadlines(
        now,
        ack_within_s=department.ack_within_s,
        feedback_within_s=department.feedback_within_s,
    )
    transfer = Transfer(
        incident_id=incident.id,
        department_id=department.id,
        status="transferred",
        note=transfer_in.note,
        transferred_at=now,
        ack_due_at=ack_due,
        feedback_due_at=feedback_due,
        actor=actor_name(actor),
    )
    db.add(transfer)
    try:
        # The active-transfer index speaks here if another dispatcher got there first;
        # the Conflict rolls the whole request back (nothing half-written).
        db.flush()
    except IntegrityError:
        raise Conflict(
            "dispatch.error.transfer_taken", field="incident_id", incident=incident.id
        ) from None
    incident.status = "transferred"
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="dispatch_transfer",
        entity_id=transfer.id,
        detail={
            "incident_id": incident.id,
            "department": department.code,
            "suggested": suggested.code if suggested is not None else None,
            "ack_due_at": ack_due.isoformat(),
            "feedback_due_at": feedback_due.isoformat(),
        },
    )
    record(
        db,
        IncidentTransferred(
            incident_id=incident.id,
            transfer_id=transfer.id,
            department=department.code,
            call_type=incident.call_type,
        ),
    )
    return transfer


def list_transfers(
    *,
    db: Session,
    principal: Principal,
    status: TransferFilter = "active",
    overdue: bool | None = None,
    limit: int = 200,
) -> list[Transfer]:
    """Transfers of the incidents the caller may see, newest first."""
    stmt = service.scope(
        select(Transfer).join(Incident, Incident.id == Transfer.incident_id),
        Incident.jurisdiction_id,
        principal,
    )
    return _filtered(db, stmt, status=status, overdue=overdue, limit=limit)


def _filtered(
    db: Session, stmt: Select[Any], *, status: TransferFilter, overdue: bool | None, limit: int
) -> list[Transfer]:
    if status == "active":
        stmt = stmt.where(Transfer.status.in_(ACTIVE_TRANSFER_STATUSES))
    elif status != "all":
        stmt = stmt.where(Transfer.status == status)
    if overdue is not None:
        stmt = stmt.where(Transfer.overdue.is_(overdue))
    stmt = stmt.order_by(Transfer.transferred_at.desc(), Transfer.id.desc()).limit(limit)
    return list(db.scalars(stmt))


def partner_department(*, db: Session, principal: Principal) -> Department | None:
    """The department a partner key speaks for (the key's ``partner`` is the department's
    code), or None: a key of another kind of partner (a bank) or a signed-in partner user
    speaks for no department and so has no transfers. Staff never get here (the
    ``dispatch.partner`` permission is the partner role's alone)."""
    if principal.api_key_id is None:
        return None
    key = db.get(ApiKey, principal.api_key_id)
    if key is None or key.revoked_at is not None:
        return None
    return db.scalars(select(Department).where(Department.code == key.partner)).first()


def list_partner_transfers(
    *,
    db: Session,
    principal: Principal,
    status: TransferFilter = "active",
    overdue: bool | None = None,
    limit: int = 200,
) -> list[Transfer]:
    """The calling department's own transfers, newest first (none for other partners)."""
    department = partner_department(db=db, principal=principal)
    if department is None:
        return []
    stmt = select(Transfer).where(Transfer.department_id == department.id)
    return _filtered(db, stmt, status=status, overdue=overdue, limit=limit)


def get_partner_transfer(*, db: Session, principal: Principal, transfer_id: int) -> Transfer:
    """One of the calling department's transfers (404 for any other, as if it did not exist)."""
    department = partner_department(db=db, principal=principal)
    transfer = db.get(Transfer, transfer_id)
    if department is None or transfer is None or transfer.department_id != department.id:
        raise NotFound(
            "dispatch.error.transfer_not_found", field="transfer_id", transfer=transfer_id
        )
    return transfer


def _open_transfer(db: Session, principal: Principal, transfer_id: int) -> Transfer:
    transfer = get_partner_transfer(db=db, principal=principal, transfer_id=transfer_id)
    if transfer.status not in ACTIVE_TRANSFER_STATUSES:
        raise Conflict(
            "dispatch.error.transfer_done",
            field="status",
            transfer=transfer.id,
            status=transfer.status,
        )
    return transfer


def _update(
    db: Session, transfer: Transfer, kind: str, text: str, actor: Actor, at: datetime
) -> None:
    db.add(
        TransferUpdate(
            transfer_id=transfer.id, kind=kind, at=at, text=text, actor=actor_name(actor)
        )
    )


def _audit(db: Session, actor: Actor, transfer: Transfer, reason: str, **detail: Any) -> None:
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_transfer",
        entity_id=transfer.id,
        reason=reason,
        detail={"incident_id": transfer.incident_id, "status": transfer.status, **detail},
    )


def _acknowledge(db: Session, transfer: Transfer, at: datetime) -> bool:
    """Mark acknowledged (once); whether it was late."""
    transfer.status = "acknowledged"
    transfer.acknowledged_at = at
    return at > transfer.ack_due_at


def acknowledge_transfer(
    *, db: Session, transfer_id: int, ack_in: TransferAck, principal: Principal
) -> Transfer:
    """The department acknowledges (签收) its transfer; repeating it changes nothing."""
    transfer = _open_transfer(db, principal, transfer_id)
    if transfer.status == "acknowledged":
        return transfer  # a partner retrying its call: idempotent
    at = clock.now()
    late = _acknowledge(db, transfer, at)
    _update(db, transfer, "ack", ack_in.text, principal, at)
    db.flush()
    _audit(db, principal, transfer, "acknowledge", late=late)
    record(
        db,
        TransferAcknowledged(
            transfer_id=transfer.id,
            incident_id=transfer.incident_id,
            department=transfer.department.code,
            late=late,
        ),
    )
    return transfer


def report_progress(
    *, db: Session, transfer_id: int, progress_in: TransferProgress, principal: Principal
) -> Transfer:
    """The department reports progress (acknowledging the transfer if it had not yet)."""
    transfer = _open_transfer(db, principal, transfer_id)
    at = clock.now()
    if transfer.status == "transferred":
        _acknowledge(db, transfer, at)
    _update(db, transfer, "progress", progress_in.text, principal, at)
    db.flush()
    _audit(db, principal, transfer, "progress")
    record(
        db,
        TransferProgressReported(
            transfer_id=transfer.id,
            incident_id=transfer.incident_id,
            department=transfer.department.code,
        ),
    )
    return transfer


def resolve_transfer(
    *, db: Session, transfer_id: int, resolve_in: TransferResolve, principal: Principal
) -> Transfer:
    """The department feeds back the matter resolved; the incident closes with its outcome."""
    transfer = _open_transfer(db, principal, transfer_id)
    at = clock.now()
    if transfer.status == "transferred":
        _acknowledge(db, transfer, at)
    late = at > transfer.feedback_due_at
    transfer.status = "resolved"
    transfer.resolved_at = at
    transfer.outcome = resolve_in.outcome
    _update(db, transfer, "resolve", resolve_in.outcome, principal, at)
    db.flush()
    _audit(db, principal, transfer, "resolve", late=late)
    incident = db.get(Incident, transfer.incident_id)
    if incident is not None and incident.status != "closed":
        service.close_incident(
            db=db,
            incident_id=incident.id,
            close_in=IncidentClose(outcome=resolve_in.outcome),
            actor=principal,
        )
    record(
        db,
        TransferResolved(
            transfer_id=transfer.id,
            incident_id=transfer.incident_id,
            department=transfer.department.code,
            late=late,
        ),
    )
    return transfer


def return_transfer(
    *, db: Session, transfer_id: int, return_in: TransferReturn, principal: Principal
) -> Transfer:
    """The department returns the matter as not theirs, with a reason; the incident is new
    again at the desk that took it (first-contact rule), the reason shown on it."""
    reason = return_in.reason.strip()
    if not reason:
        raise ValidationFailed("dispatch.error.return_reason", field="reason")
    transfer = _open_transfer(db, principal, transfer_id)
    at = clock.now()
    transfer.status = "returned"
    transfer.returned_at = at
    transfer.returned_reason = reason
    _update(db, transfer, "return", reason, principal, at)
    incident = db.get(Incident, transfer.incident_id)
    if incident is not None and incident.status == "transferred":
        incident.status = "new"
    db.flush()
    _audit(db, principal, transfer, "return", returned_reason=reason)
    record(
        db,
        TransferReturned(
            transfer_id=transfer.id,
            incident_id=transfer.incident_id,
            department=transfer.department.code,
        ),
    )
    return transfer


def transfer_read(*, db: Session, transfer: Transfer) -> TransferRead:
    """A transfer as the API shows it (to staff and to its department alike: no phone)."""
    incident = db.get(Incident, transfer.incident_id)
    if incident is None:  # pragma: no cover - the foreign key cascades
        raise NotFound("dispatch.error.incident_not_found", field="incident_id")
    district = db.get(District, incident.district_id) if incident.district_id else None
    return TransferRead(
        id=transfer.id,
        incident_id=transfer.incident_id,
        department=department_ref(transfer.department),
        status=transfer.status,
        note=transfer.note,
        transferred_at=transfer.transferred_at,
        ack_due_at=transfer.ack_due_at,
        feedback_due_at=transfer.feedback_due_at,
        acknowledged_at=transfer.acknowledged_at,
        resolved_at=transfer.resolved_at,
        returned_at=transfer.returned_at,
        returned_reason=transfer.returned_reason,
        outcome=transfer.outcome,
        overdue=transfer.overdue,
        ack_overdue=transfer.ack_overdue_at is not None,
        feedback_overdue=transfer.feedback_overdue_at is not None,
        incident=TransferIncident(
            id=incident.id,
            call_type=incident.call_type,
            call_type_label=service.call_type_label(incident.call_type),
            priority=incident.priority,
            text=incident.call_text,
            address=incident.address,
            lon=incident.lon,
            lat=incident.lat,
            district=district.name if district is not None else None,
            received_at=incident.received_at,
        ),
        updates=[TransferUpdateRead.model_validate(u) for u in transfer.updates],
    )


# ---------------------------------------------------------------------------- the sweep


def sweep_overdue(
    *, db: Session, now: datetime | None = None, actor: Actor = "system"
) -> SweepReport:
    """Flag every missed acknowledgement, feedback and visit deadline (each once), with an
    audit record and an event per flag. Run by the desk's periodic job and ``pingan
    dispatch sweep``; the deadlines are rows, so a restart loses none."""
    at = now or clock.now()
    transfers = list(
        db.scalars(
            select(Transfer)
            .join(Incident, Incident.id == Transfer.incident_id)
            .where(
                Transfer.status.in_(ACTIVE_TRANSFER_STATUSES),
                (Transfer.ack_due_at < at) | (Transfer.feedback_due_at < at),
                # An incident the desk closed itself no longer waits on the department.
                Incident.status != "closed",
            )
        )
    )
    by_id = {t.id: t for t in transfers}
    clocks = [
        TransferClock(
            id=t.id,
            status=t.status,
            ack_due_at=t.ack_due_at,
            feedback_due_at=t.feedback_due_at,
            acknowledged_at=t.acknowledged_at,
            ack_overdue_at=t.ack_overdue_at,
            feedback_overdue_at=t.feedback_overdue_at,
        )
        for t in transfers
    ]
    counts = {"ack": 0, "feedback": 0, "visit": 0}
    for found in overdue_transfers(clocks, at):
        transfer = by_id[found.id]
        if found.kind == "ack":
            transfer.ack_overdue_at = at
        else:
            transfer.feedback_overdue_at = at
        if not transfer.overdue:
            transfer.overdue = True
            transfer.overdue_at = at
        counts[found.kind] += 1
        db.flush()
        _audit(db, actor, transfer, f"overdue {found.kind}", late_s=round(found.late_s, 1))
        record(
            db,
            TransferOverdue(
                transfer_id=transfer.id,
                incident_id=transfer.incident_id,
                department=transfer.department.code,
                kind=found.kind,
                late_s=round(found.late_s, 1),
            ),
        )
    limit = at - timedelta(seconds=VISIT_GRACE_S)
    rows = list(
        db.execute(
            select(FollowUpVisit, FollowUpCase)
            .join(FollowUpCase, FollowUpCase.id == FollowUpVisit.case_id)
            .where(
                FollowUpCase.status == "open",
                FollowUpVisit.done_at.is_(None),
                FollowUpVisit.cancelled_at.is_(None),
                FollowUpVisit.overdue.is_(False),
                FollowUpVisit.scheduled_at < limit,
            )
        )
    )
    cases = {v.id: c for v, c in rows}
    visits = {v.id: v for v, _ in rows}
    visit_clocks = [
        VisitClock(id=v.id, scheduled_at=v.scheduled_at, done_at=v.done_at, overdue=v.overdue)
        for v in visits.values()
    ]
    for found in overdue_visits(visit_clocks, at):
        visit, case = visits[found.id], cases[found.id]
        visit.overdue = True
        visit.overdue_at = at
        counts["visit"] += 1
        db.flush()
        audit.record(
            db,
            actor=actor,
            action=audit.UPDATE,
            entity="dispatch_follow_up_visit",
            entity_id=visit.id,
            reason="overdue",
            detail={"case_id": case.id, "late_s": round(found.late_s, 1)},
        )
        record(
            db,
            FollowUpVisitOverdue(
                case_id=case.id,
                visit_id=visit.id,
                incident_id=case.incident_id,
                assignee=case.assignee,
                late_s=round(found.late_s, 1),
            ),
        )
    return SweepReport(
        ack_overdue=counts["ack"],
        feedback_overdue=counts["feedback"],
        visits_overdue=counts["visit"],
    )


# ---------------------------------------------------------------------------- follow-ups


def _check_assignee(db: Session, assignee: str) -> None:
    unit = db.scalars(select(Unit.id).where(Unit.callsign == assignee)).first()
    user = db.scalars(
        select(User.id).where(User.username == assignee, User.active.is_(True))
    ).first()
    if unit is None and user is None:
        raise ValidationFailed("dispatch.error.assignee_unknown", field="assignee", name=assignee)


def open_follow_up(
    *,
    db: Session,
    incident_id: int,
    follow_up_in: FollowUpCreate,
    actor: Actor,
    principal: Principal | None = None,
) -> FollowUpCase:
    """Make an incident (typically a dispute) a follow-up case with scheduled visits.

    The assignee must be a unit's callsign or an active user's name (422 on
    ``assignee``); visits must lie ahead and differ (422 on ``visits``); an incident
    has at most one open case (409 on ``incident_id``).
    """
    incident = service.get_incident(db=db, incident_id=incident_id, principal=principal)
    now = clock.now()
    times = check_visit_times(follow_up_in.visits, now)
    _check_assignee(db, follow_up_in.assignee)
    existing = db.scalars(
        select(FollowUpCase.id).where(
            FollowUpCase.incident_id == incident.id, FollowUpCase.status == "open"
        )
    ).first()
    if existing is not None:
        raise Conflict(
            "dispatch.error.follow_up_open",
            field="incident_id",
            incident=incident.id,
            case=existing,
        )
    case = FollowUpCase(
        incident_id=incident.id,
        jurisdiction_id=incident.jurisdiction_id,
        assignee=follow_up_in.assignee,
        status="open",
        summary=follow_up_in.summary,
        opened_at=now,
        actor=actor_name(actor),
    )
    db.add(case)
    try:
        db.flush()  # the open-case index: two officers opening a case at once
    except IntegrityError:
        raise Conflict(
            "dispatch.error.follow_up_open", field="incident_id", incident=incident.id, case="?"
        ) from None
    for t in times:
        db.add(FollowUpVisit(case_id=case.id, scheduled_at=t, actor=actor_name(actor)))
    db.flush()
    db.refresh(case)
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="dispatch_follow_up",
        entity_id=case.id,
        detail={
            "incident_id": incident.id,
            "assignee": case.assignee,
            "visits": [t.isoformat() for t in times],
        },
    )
    record(
        db,
        FollowUpOpened(
            case_id=case.id, incident_id=incident.id, assignee=case.assignee, visits=len(times)
        ),
    )
    return case


def get_follow_up(*, db: Session, case_id: int, principal: Principal | None = None) -> FollowUpCase:
    """A follow-up case by id (404 when there is none or the caller may not see it)."""
    case = db.get(FollowUpCase, case_id)
    if case is None or (principal is not None and not principal.sees(case.jurisdiction_id)):
        raise NotFound("dispatch.error.follow_up_not_found", field="case_id", case=case_id)
    return case


def _open_case(db: Session, case_id: int, principal: Principal | None) -> FollowUpCase:
    case = get_follow_up(db=db, case_id=case_id, principal=principal)
    if case.status != "open":
        raise Conflict("dispatch.error.follow_up_closed", field="case_id", case=case.id)
    return case


def list_follow_ups(
    *,
    db: Session,
    principal: Principal,
    status: Literal["open", "closed", "all"] = "open",
    limit: int = 200,
) -> list[FollowUpCase]:
    """The follow-up cases the caller may see, newest first."""
    stmt = service.scope(select(FollowUpCase), FollowUpCase.jurisdiction_id, principal)
    if status != "all":
        stmt = stmt.where(FollowUpCase.status == status)
    stmt = stmt.order_by(FollowUpCase.opened_at.desc(), FollowUpCase.id.desc()).limit(limit)
    return list(db.scalars(stmt))


def record_visit(
    *,
    db: Session,
    case_id: int,
    visit_id: int,
    visit_in: VisitRecord,
    actor: Actor,
    principal: Principal | None = None,
) -> FollowUpCase:
    """Record that a visit was made and what came of it."""
    case = _open_case(db, case_id, principal)
    visit = db.get(FollowUpVisit, visit_id)
    if visit is None or visit.case_id != case.id:
        raise NotFound("dispatch.error.visit_not_found", field="visit_id", visit=visit_id)
    if visit.done_at is not None:
        raise Conflict("dispatch.error.visit_done", field="visit_id", visit=visit.id)
    now = clock.now()
    done_at = visit_in.done_at.astimezone(UTC) if visit_in.done_at is not None else now
    if done_at > now:
        raise ValidationFailed("dispatch.error.visit_future", field="done_at")
    visit.done_at = done_at
    visit.outcome = visit_in.outcome
    visit.actor = actor_name(actor)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_follow_up_visit",
        entity_id=visit.id,
        reason="visited",
        detail={"case_id": case.id, "done_at": done_at.isoformat()},
    )
    record(
        db, FollowUpVisitRecorded(case_id=case.id, visit_id=visit.id, incident_id=case.incident_id)
    )
    return case


def close_follow_up(
    *,
    db: Session,
    case_id: int,
    close_in: FollowUpClose,
    actor: Actor,
    principal: Principal | None = None,
) -> FollowUpCase:
    """Close a case with how the dispute ended; visits not made are cancelled."""
    case = _open_case(db, case_id, principal)
    now = clock.now()
    case.status = "closed"
    case.closed_at = now
    case.outcome = close_in.outcome
    cancelled = 0
    for visit in case.visits:
        if visit.done_at is None and visit.cancelled_at is None:
            visit.cancelled_at = now
            cancelled += 1
    db.flush()
    done = sum(1 for v in case.visits if v.done_at is not None)
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_follow_up",
        entity_id=case.id,
        reason="close",
        detail={"outcome": close_in.outcome, "visits_done": done, "cancelled": cancelled},
    )
    record(db, FollowUpClosed(case_id=case.id, incident_id=case.incident_id, visits_done=done))
    return case


def follow_up_read(case: FollowUpCase) -> FollowUpRead:
    """A follow-up case as the API shows it."""
    return FollowUpRead.model_validate(case)


def due_visits(
    *,
    db: Session,
    principal: Principal,
    state: Literal["due", "overdue"] = "due",
    within_h: float = 24.0,
) -> list[DueVisitRead]:
    """Visits of open cases not made yet: ``due`` within ``within_h`` hours (overdue ones
    included), or only those the sweep flagged ``overdue``; soonest first."""
    joined: Select[Any] = select(FollowUpVisit, FollowUpCase).join(  # type: ignore[assignment]
        FollowUpCase, FollowUpCase.id == FollowUpVisit.case_id
    )
    stmt = service.scope(joined, FollowUpCase.jurisdiction_id, principal).where(
        FollowUpCase.status == "open",
        FollowUpVisit.done_at.is_(None),
        FollowUpVisit.cancelled_at.is_(None),
    )
    if state == "overdue":
        stmt = stmt.where(FollowUpVisit.overdue.is_(True))
    else:
        stmt = stmt.where(FollowUpVisit.scheduled_at <= clock.now() + timedelta(hours=within_h))
    stmt = stmt.order_by(FollowUpVisit.scheduled_at, FollowUpVisit.id)
    out: list[DueVisitRead] = []
    for visit, case in db.execute(stmt):
        base = FollowUpVisitRead.model_validate(visit)
        out.append(
            DueVisitRead(
                **base.model_dump(),
                case_id=case.id,
                incident_id=case.incident_id,
                assignee=case.assignee,
            )
        )
    return out


# ---------------------------------------------------------------------------- the incident


def _transfer_brief(transfer: Transfer) -> TransferBrief:
    return TransferBrief(
        id=transfer.id,
        department=department_ref(transfer.department),
        status=transfer.status,
        transferred_at=transfer.transferred_at,
        ack_due_at=transfer.ack_due_at,
        feedback_due_at=transfer.feedback_due_at,
        acknowledged_at=transfer.acknowledged_at,
        returned_reason=transfer.returned_reason,
        outcome=transfer.outcome,
        overdue=transfer.overdue,
        ack_overdue=transfer.ack_overdue_at is not None,
        feedback_overdue=transfer.feedback_overdue_at is not None,
    )


def _follow_up_brief(case: FollowUpCase) -> FollowUpBrief:
    pending = [v for v in case.visits if v.done_at is None and v.cancelled_at is None]
    return FollowUpBrief(
        id=case.id,
        status=case.status,
        assignee=case.assignee,
        next_visit_at=min((v.scheduled_at for v in pending), default=None),
        visits=len(case.visits),
        visits_done=sum(1 for v in case.visits if v.done_at is not None),
        overdue_visits=sum(1 for v in pending if v.overdue),
    )


def incident_linkages(
    *, db: Session, incidents: Sequence[Incident], reads: Sequence[IncidentRead]
) -> list[IncidentRead]:
    """``reads`` with each incident's suggested department (a new incident only), latest
    transfer and follow-up case (an open one first, else the newest); the transfers and
    the cases of all of them are read in one query each."""
    ids = [i.id for i in incidents]
    transfers: dict[int, Transfer] = {}
    cases: dict[int, FollowUpCase] = {}
    if ids:
        for row in db.scalars(
            select(Transfer).where(Transfer.incident_id.in_(ids)).order_by(Transfer.id.desc())
        ):
            transfers.setdefault(row.incident_id, row)
        for found_case in db.scalars(
            select(FollowUpCase)
            .where(FollowUpCase.incident_id.in_(ids))
            .options(selectinload(FollowUpCase.visits))
            .order_by((FollowUpCase.status == "open").desc(), FollowUpCase.id.desc())
        ):
            cases.setdefault(found_case.incident_id, found_case)
    # Only a new incident can be handed over.
    found = suggested_departments(db=db, incidents=[i for i in incidents if i.status == "new"])
    out: list[IncidentRead] = []
    for incident, read in zip(incidents, reads, strict=True):
        department = found.get(incident.id)
        suggested = department_ref(department) if department is not None else None
        transfer = transfers.get(incident.id)
        case = cases.get(incident.id)
        out.append(
            read.model_copy(
                update={
                    "suggested_department": suggested,
                    "transfer": _transfer_brief(transfer) if transfer is not None else None,
                    "follow_up": _follow_up_brief(case) if case is not None else None,
                }
            )
        )
    return out


async def run_sweep(ctx: Context) -> SweepReport:
    """The desk's periodic job: one overdue sweep in its own session, committed."""

    def sweep() -> SweepReport:
        with ctx.db.session() as session:
            return sweep_overdue(db=session)

    # The database is synchronous: keep the event loop free for the API and the bus.
    return await asyncio.to_thread(sweep)
