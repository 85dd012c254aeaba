"""The linkage case room (合成作战室): the units working one urgent warning, one timeline.

An urgent warning — level ``high``, or money already moving (a transfer to a mule-like or
new account, or a stop-payment asked of a bank) — can get a case room. The opener joins
as its commander (a commander or administrator) or as a member of their unit, invites
the other units — criminal investigation (刑侦), intelligence command (情指), the local
police station (派出所), other dissuasion members — as signed-in users of the warning's
jurisdiction (one by one, or a whole warning-dissuasion team at once), and the banks
involved by their partner code (a bank reads its own rooms through its API key, nothing
else, and posts short messages to them while they are open, shown as from the bank).
Members post timeline entries (notes, calls made, accounts frozen, suspects located, funds
traced).

**One timeline.** The room's own entries are merged, by time, with the warning's records:
the warning raised, every contact attempt (calls, SMS, visits), every stop-payment
requested and the bank's answer, an SLA escalation, the warning closed. Transitions that
no row keeps a time for — each visit request, each missed deadline, each hold renewed,
frozen, released or expired — are captured from the bus while the room is open
(:func:`on_warning_event`, a durable, idempotent subscriber) with the event's own time;
before the room opened they show as the warning's current state (its last escalation and
each stop-payment's last answer). Money intercepted is summed from the stop-payments
that are held, renewed or frozen.

**Who sees a room.** Its members, and the supervisors (commanders, administrators) of its
jurisdiction. A room of another jurisdiction is a 404, as if it did not exist; a
non-member of the same jurisdiction gets a 403. Only the room's commander or a supervisor
invites and closes.

Functions are keyword-only, never commit, audit each write and record their events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from pingan.antifraud import service
from pingan.antifraud.caseroom_schemas import (
    BankEntryCreate,
    CaseRoomBrief,
    CaseRoomClose,
    CaseRoomCreate,
    CaseRoomRead,
    EntryCreate,
    MemberCreate,
    MemberRead,
    RoomStatus,
    TimelineItem,
)
from pingan.antifraud.events import (
    CaseRoomClosed,
    CaseRoomEntryPosted,
    CaseRoomMemberAdded,
    CaseRoomOpened,
)
from pingan.antifraud.models import (
    HOLDING_STATUSES,
    CaseRoom,
    CaseRoomEntry,
    CaseRoomMember,
    ContactAttempt,
    FraudWarning,
    PotentialVictim,
    StopPayment,
)
from pingan.core import audit, clock
from pingan.core.auth import service as auth_service
from pingan.core.auth.deps import scope_to_jurisdictions
from pingan.core.auth.models import ApiKey, User
from pingan.core.auth.permissions import Principal, has_permission
from pingan.core.auth.roles import ADMIN, COMMANDER
from pingan.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from pingan.core.events import Event
from pingan.core.module import Context
from pingan.core.outbox import record
from pingan.core.privacy import mask_text

SUPERVISORS: Final = frozenset({COMMANDER, ADMIN})
"""Who sees every room of their jurisdiction, and may invite and close in any of them."""
ROOM_PERMISSION: Final = "antifraud.caseroom"
CAPTURED_SUBJECTS: Final = (
    "antifraud.visit.requested",
    "antifraud.warning.escalated",
    "antifraud.stop_payment.changed",
)
"""The warning's events whose times no row keeps: written into its open rooms."""
_CAPTURED_KIND: Final = {
    "antifraud.visit.requested": "visit_requested",
    "antifraud.warning.escalated": "sla_escalated",
    "antifraud.stop_payment.changed": "stop_payment_changed",
}
MONEY_MOVING_SIGNALS: Final = ("transfer_to_mule_amount", "new_payee_amount_24h")


# ============================================================================= reading


def is_supervisor(principal: Principal) -> bool:
    """Whether ``principal`` supervises rooms (commander or administrator)."""
    return bool(principal.roles & SUPERVISORS)


def is_urgent(*, db: Session, warning: FraudWarning) -> bool:
    """A warning is urgent when it is ``high`` or money is moving (a transfer to a
    mule-like or new account was reported, or a stop-payment was asked of a bank)."""
    if warning.level == "high":
        return True
    victim = db.get(PotentialVictim, warning.victim_id)
    signals = (victim.signals or {}) if victim is not None else {}
    if any(float(signals.get(name, 0.0)) > 0 for name in MONEY_MOVING_SIGNALS):
        return True
    holds = db.scalar(
        select(func.count()).select_from(StopPayment).where(StopPayment.warning_id == warning.id)
    )
    return bool(holds)


def _member(db: Session, room_id: int, username: str) -> CaseRoomMember | None:
    return db.scalars(
        select(CaseRoomMember).where(
            CaseRoomMember.room_id == room_id, CaseRoomMember.username == username
        )
    ).first()


def get_room(*, db: Session, room_id: int, principal: Principal) -> CaseRoom:
    """A room the caller may see: 404 on ``room_id`` outside their jurisdictions (or none),
    403 for a non-member who does not supervise."""
    room = db.get(CaseRoom, room_id)
    if room is None or not principal.sees(room.jurisdiction_id):
        raise NotFound("antifraud.caseroom.error.not_found", field="room_id", id=room_id)
    if not is_supervisor(principal) and _member(db, room.id, principal.username) is None:
        raise PermissionDenied("antifraud.caseroom.error.not_member", field="room_id", id=room_id)
    return room


def list_rooms(
    *, db: Session, principal: Principal, status: RoomStatus = "open", limit: int = 200
) -> list[CaseRoom]:
    """The rooms the caller may see (member of, or supervising), newest first."""
    base: Select[Any] = select(CaseRoom)
    stmt = scope_to_jurisdictions(base, CaseRoom.jurisdiction_id, principal)
    if not is_supervisor(principal):
        mine = select(CaseRoomMember.room_id).where(CaseRoomMember.username == principal.username)
        stmt = stmt.where(CaseRoom.id.in_(mine))
    if status != "all":
        stmt = stmt.where(CaseRoom.status == status)
    return list(
        db.scalars(stmt.order_by(CaseRoom.opened_at.desc(), CaseRoom.id.desc()).limit(limit))
    )


def _money(db: Session, warning_id: int) -> tuple[float, float]:
    holds = list(db.scalars(select(StopPayment).where(StopPayment.warning_id == warning_id)))
    requested = sum(sp.amount for sp in holds if sp.status != "rejected")
    intercepted = sum(sp.amount for sp in holds if sp.status in (*HOLDING_STATUSES, "frozen"))
    return float(requested), float(intercepted)


def room_brief(*, db: Session, room: CaseRoom) -> CaseRoomBrief:
    """A room in a list: the warning's level and typology, members, money intercepted."""
    warning = db.get(FraudWarning, room.warning_id)
    assert warning is not None
    members = db.scalar(
        select(func.count()).select_from(CaseRoomMember).where(CaseRoomMember.room_id == room.id)
    )
    return CaseRoomBrief(
        id=room.id,
        warning_id=room.warning_id,
        jurisdiction_id=room.jurisdiction_id,
        title=room.title,
        status=room.status,
        level=warning.level,
        typology=warning.typology,
        opened_by=room.opened_by,
        opened_at=room.opened_at,
        closed_at=room.closed_at,
        outcome=room.outcome,
        members=int(members or 0),
        money_intercepted=_money(db, room.warning_id)[1],
    )


def _from_warning(
    at: datetime,
    kind: str,
    detail: dict[str, Any],
    *,
    author: str = "",
    unit: str = "",
    text: str = "",
) -> TimelineItem:
    """A timeline item made from the warning's own records (not a member's entry)."""
    return TimelineItem(
        at=at, kind=kind, source="warning", author=author, unit=unit, text=text, detail=detail
    )


def _warning_items(db: Session, room: CaseRoom, warning: FraudWarning) -> list[TimelineItem]:
    """The warning's own records as timeline lines (see the module docstring)."""
    items = [
        _from_warning(
            warning.created_at,
            "warning_raised",
            {"level": warning.level, "typology": warning.typology},
        )
    ]
    for c in db.scalars(
        select(ContactAttempt)
        .where(ContactAttempt.warning_id == warning.id)
        .order_by(ContactAttempt.at, ContactAttempt.id)
    ):
        items.append(
            _from_warning(
                c.at,
                "contact",
                {"channel": c.channel, "outcome": c.outcome, "contact_id": c.id},
                author=c.actor,
                unit="dissuasion",
                text=mask_text(c.note),
            )
        )
    for sp in db.scalars(
        select(StopPayment).where(StopPayment.warning_id == warning.id).order_by(StopPayment.id)
    ):
        items.append(
            _from_warning(
                sp.requested_at,
                "stop_payment_requested",
                {
                    "stop_payment_id": sp.id,
                    "bank": sp.bank,
                    "account": sp.account_masked,
                    "amount": sp.amount,
                },
                author=sp.actor,
            )
        )
        if sp.answered_at is not None and sp.answered_at < room.opened_at:
            items.append(
                _from_warning(
                    sp.answered_at,
                    "stop_payment_changed",
                    {
                        "stop_payment_id": sp.id,
                        "bank": sp.bank,
                        "status": sp.status,
                        "renewals": sp.renewals,
                        "amount": sp.amount,
                    },
                    author=sp.bank,
                    unit="bank",
                )
            )
    if warning.escalated_at is not None and warning.escalated_at < room.opened_at:
        items.append(
            _from_warning(
                warning.escalated_at,
                "sla_escalated",
                {"step": warning.step, "level": warning.level},
            )
        )
    if warning.status == "visit" and warning.step_started_at < room.opened_at:
        items.append(
            _from_warning(
                warning.step_started_at,
                "visit_requested",
                {"level": warning.level},
            )
        )
    if warning.closed_at is not None:
        items.append(
            _from_warning(
                warning.closed_at,
                "warning_closed",
                {"outcome": warning.outcome},
            )
        )
    return items


def _entry_item(e: CaseRoomEntry) -> TimelineItem:
    source = e.source if e.source in ("member", "partner", "room", "warning") else "room"
    return TimelineItem(
        at=e.at,
        kind=e.kind,
        source=source,
        author=e.author,
        unit=e.unit,
        text=e.text,
        detail=dict(e.detail or {}),
        entry_id=e.id,
    )


def timeline(*, db: Session, room: CaseRoom) -> list[TimelineItem]:
    """The room's entries and the warning's records, oldest first (ties: records first)."""
    warning = db.get(FraudWarning, room.warning_id)
    assert warning is not None
    items = _warning_items(db, room, warning)
    entries = db.scalars(
        select(CaseRoomEntry)
        .where(CaseRoomEntry.room_id == room.id)
        .order_by(CaseRoomEntry.at, CaseRoomEntry.id)
    )
    items.extend(_entry_item(e) for e in entries)
    order = {"warning": 0, "room": 1, "member": 2, "partner": 2}
    return sorted(items, key=lambda i: (i.at, order[i.source], i.entry_id or 0))


def room_read(*, db: Session, room: CaseRoom) -> CaseRoomRead:
    """A room in full: members, timeline, money requested and intercepted."""
    brief = room_brief(db=db, room=room)
    requested, intercepted = _money(db, room.warning_id)
    members = db.scalars(
        select(CaseRoomMember)
        .where(CaseRoomMember.room_id == room.id)
        .order_by(CaseRoomMember.joined_at, CaseRoomMember.id)
    )
    return CaseRoomRead(
        **brief.model_dump(exclude={"money_intercepted"}),
        closed_by=room.closed_by,
        summary=room.summary,
        money_requested=requested,
        money_intercepted=intercepted,
        members_list=[
            MemberRead(
                id=m.id,
                username=m.username,
                partner=m.partner,
                unit=m.unit,
                unit_name=m.unit_name,
                role=m.role,
                invited_by=m.invited_by,
                joined_at=m.joined_at,
            )
            for m in members
        ],
        timeline=timeline(db=db, room=room),
    )


# ============================================================================= writing


def _entry(
    db: Session,
    room: CaseRoom,
    *,
    kind: str,
    source: str,
    author: str,
    unit: str = "",
    text: str = "",
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> CaseRoomEntry:
    entry = CaseRoomEntry(
        room_id=room.id,
        at=at or clock.now(),
        kind=kind,
        source=source,
        author=author,
        unit=unit,
        text=text,
        detail=detail or {},
    )
    db.add(entry)
    db.flush()
    return entry


def _audit(db: Session, actor: Principal | str, room: CaseRoom, action: str, **detail: Any) -> None:
    audit.record(
        db,
        actor=actor,
        action=action,
        entity="antifraud_case_room",
        entity_id=room.id,
        detail={"warning_id": room.warning_id, **detail},
    )


def open_room(*, db: Session, room_in: CaseRoomCreate, actor: Principal) -> CaseRoom:
    """Open a case room for an urgent warning the caller may see (404 on ``warning_id``
    otherwise; 422 on ``warning_id`` when it is neither high nor moving money; 409 on
    ``warning_id`` when it already has an open room). The opener is its first member:
    commander if they supervise, else a member of their unit."""
    warning = db.get(FraudWarning, room_in.warning_id)
    if warning is None or not actor.sees(warning.jurisdiction_id):
        raise NotFound(
            "antifraud.error.warning_not_found", field="warning_id", id=room_in.warning_id
        )
    if not is_urgent(db=db, warning=warning):
        raise ValidationFailed(
            "antifraud.caseroom.error.not_urgent", field="warning_id", id=warning.id
        )
    existing = db.scalars(
        select(CaseRoom.id).where(CaseRoom.warning_id == warning.id, CaseRoom.status == "open")
    ).first()
    if existing is not None:
        raise Conflict(
            "antifraud.caseroom.error.already_open", field="warning_id", room_id=existing
        )
    now = clock.now()
    room = CaseRoom(
        warning_id=warning.id,
        jurisdiction_id=warning.jurisdiction_id,
        title=room_in.title or f"#{warning.id}",
        status="open",
        opened_by=actor.username,
        opened_at=now,
        summary="",
    )
    db.add(room)
    db.flush()
    role = "commander" if is_supervisor(actor) else "member"
    db.add(
        CaseRoomMember(
            room_id=room.id,
            username=actor.username,
            unit=room_in.unit,
            unit_name=room_in.unit_name,
            role=role,
            invited_by=actor.username,
            joined_at=now,
        )
    )
    _entry(
        db,
        room,
        kind="opened",
        source="room",
        author=actor.username,
        unit=room_in.unit,
        detail={"level": warning.level, "typology": warning.typology},
        at=now,
    )
    _audit(db, actor, room, audit.CREATE, role=role)
    record(db, CaseRoomOpened(room_id=room.id, warning_id=warning.id))
    return room


def _may_lead(db: Session, room: CaseRoom, principal: Principal) -> None:
    if is_supervisor(principal):
        return
    member = _member(db, room.id, principal.username)
    if member is None or member.role != "commander":
        raise PermissionDenied(
            "antifraud.caseroom.error.commander_only", field="room_id", id=room.id
        )


def _open_room(db: Session, room_id: int, principal: Principal) -> CaseRoom:
    room = get_room(db=db, room_id=room_id, principal=principal)
    if room.status != "open":
        raise Conflict("antifraud.caseroom.error.closed", field="status", id=room.id)
    return room


def add_member(
    *, db: Session, room_id: int, member_in: MemberCreate, actor: Principal
) -> CaseRoomMember:
    """Invite a user of a unit (active, allowed case rooms, of the room's jurisdiction:
    else 422 on ``username``) or a bank (a live partner key: else 422 on ``partner``).
    Exactly one of ``username``, ``partner`` and ``team_id`` (422 on ``username``, or on
    ``team_id`` when it was given with another; a team goes to :func:`add_team`); twice is
    a 409 on the same field. Only the room's commander or a supervisor invites (403)."""
    room = _open_room(db, room_id, actor)
    _may_lead(db, room, actor)
    _one_invitee(member_in)
    if member_in.team_id is not None:
        raise ValidationFailed("antifraud.caseroom.error.user_or_partner", field="team_id")
    if member_in.username is not None:
        user = db.scalars(select(User).where(User.username == member_in.username)).first()
        if user is None or not user.active:
            raise ValidationFailed(
                "antifraud.caseroom.error.unknown_user",
                field="username",
                username=member_in.username,
            )
        invitee = auth_service.principal_for_user(db=db, user=user)
        if not has_permission(invitee.roles, ROOM_PERMISSION):
            raise ValidationFailed(
                "antifraud.caseroom.error.role_not_allowed",
                field="username",
                username=user.username,
            )
        if not invitee.sees(room.jurisdiction_id):
            raise ValidationFailed(
                "antifraud.caseroom.error.other_jurisdiction",
                field="username",
                username=user.username,
            )
        if _member(db, room.id, user.username) is not None:
            raise Conflict(
                "antifraud.caseroom.error.already_member", field="username", name=user.username
            )
        if member_in.unit == "bank":
            raise ValidationFailed("antifraud.caseroom.error.bank_is_partner", field="unit")
    else:
        partner = member_in.partner
        live = db.scalars(
            select(ApiKey.id).where(ApiKey.partner == partner, ApiKey.revoked_at.is_(None))
        ).first()
        if live is None:
            raise ValidationFailed("antifraud.error.unknown_bank", field="partner", bank=partner)
        if member_in.role == "commander":
            raise ValidationFailed("antifraud.caseroom.error.partner_commander", field="role")
        taken = db.scalars(
            select(CaseRoomMember.id).where(
                CaseRoomMember.room_id == room.id, CaseRoomMember.partner == partner
            )
        ).first()
        if taken is not None:
            raise Conflict("antifraud.caseroom.error.already_member", field="partner", name=partner)
    now = clock.now()
    member = CaseRoomMember(
        room_id=room.id,
        username=member_in.username,
        partner=member_in.partner,
        unit=member_in.unit,
        unit_name=member_in.unit_name,
        role=member_in.role,
        invited_by=actor.username,
        joined_at=now,
    )
    db.add(member)
    db.flush()
    name = member_in.username or member_in.partner or ""
    _members_added(
        db, room, actor, now, unit=member_in.unit, role=member_in.role, text=name, member=name
    )
    return member


def _members_added(
    db: Session,
    room: CaseRoom,
    actor: Principal,
    now: datetime,
    *,
    unit: str,
    role: str,
    text: str,
    audit_only: dict[str, Any] | None = None,
    **detail: Any,
) -> None:
    """The timeline entry, audit record and event of members joining a room; ``detail``
    goes to the entry and the audit record, ``audit_only`` to the audit record alone."""
    detail = {**detail, "unit": unit, "role": role}
    _entry(
        db,
        room,
        kind="member_added",
        source="room",
        author=actor.username,
        unit=unit,
        text=text,
        detail=detail,
        at=now,
    )
    _audit(db, actor, room, audit.UPDATE, **detail, **(audit_only or {}))
    record(
        db,
        CaseRoomMemberAdded(room_id=room.id, warning_id=room.warning_id, unit=unit, role=role),
    )


def _one_invitee(member_in: MemberCreate) -> None:
    given = [
        name for name in ("username", "partner", "team_id") if getattr(member_in, name) is not None
    ]
    if len(given) != 1:
        field_name = "team_id" if "team_id" in given else "username"
        raise ValidationFailed("antifraud.caseroom.error.user_or_partner", field=field_name)


def _may_join(db: Session, user: User, room: CaseRoom) -> bool:
    """Whether an active ``user`` may be a member of ``room`` (role and jurisdiction)."""
    invitee = auth_service.principal_for_user(db=db, user=user)
    return has_permission(invitee.roles, ROOM_PERMISSION) and invitee.sees(room.jurisdiction_id)


def add_team(
    *, db: Session, room_id: int, member_in: MemberCreate, actor: Principal
) -> list[CaseRoomMember]:
    """Invite every member of a warning-dissuasion team (``team_id``) at once, as members
    of ``member_in.unit`` (``unit_name`` defaults to the team's name).

    Same permission as one invitation (the room's commander or a supervisor, 403). The team
    must be one the caller sees (unknown or outside their jurisdictions: 404 on
    ``team_id``); ``role`` must be ``member`` (422 on ``role``), ``unit`` not ``bank``
    (422 on ``unit``). Added: the team's members who are active users, may work case rooms
    and serve the room's jurisdiction, and are not in the room yet; the others are skipped
    (named in the audit record). Inviting the team again adds nobody and writes nothing.
    One timeline entry (``member_added`` with ``detail.team`` and ``detail.members``), one
    audit record and one ``antifraud.caseroom.member_added`` event per invitation that
    added someone. Returns the members added."""
    room = _open_room(db, room_id, actor)
    _may_lead(db, room, actor)
    _one_invitee(member_in)
    assert member_in.team_id is not None
    team = service.get_team(db=db, team_id=member_in.team_id, principal=actor)
    if member_in.unit == "bank":
        raise ValidationFailed("antifraud.caseroom.error.bank_is_partner", field="unit")
    if member_in.role != "member":
        raise ValidationFailed("antifraud.caseroom.error.team_commander", field="role")
    names = service.team_usernames(db=db, team_id=team.id)
    present = set(
        db.scalars(
            select(CaseRoomMember.username).where(
                CaseRoomMember.room_id == room.id, CaseRoomMember.username.in_(names)
            )
        )
    )
    users = {
        u.username: u
        for u in db.scalars(
            select(User).where(User.username.in_([n for n in names if n not in present]))
        )
    }
    added: list[str] = []
    skipped: list[str] = []
    for name in names:
        if name in present:
            continue
        user = users.get(name)
        if user is not None and user.active and _may_join(db, user, room):
            added.append(name)
        else:
            skipped.append(name)
    if not added:
        return []
    now = clock.now()
    unit_name = member_in.unit_name or team.name
    members = [
        CaseRoomMember(
            room_id=room.id,
            username=name,
            unit=member_in.unit,
            unit_name=unit_name,
            role="member",
            invited_by=actor.username,
            joined_at=now,
        )
        for name in added
    ]
    db.add_all(members)
    db.flush()
    _members_added(
        db,
        room,
        actor,
        now,
        unit=member_in.unit,
        role="member",
        text=", ".join(added),
        audit_only={"skipped": skipped},
        team=team.code,
        team_id=team.id,
        team_name=team.name,
        members=added,
    )
    return members


def post_entry(
    *, db: Session, room_id: int, entry_in: EntryCreate, actor: Principal
) -> CaseRoomEntry:
    """A member's (or supervisor's) timeline entry; the text is stored with personal
    numbers masked. 409 on ``status`` when the room is closed."""
    room = _open_room(db, room_id, actor)
    member = _member(db, room.id, actor.username)
    unit = member.unit if member is not None else "command"
    entry = _entry(
        db,
        room,
        kind=entry_in.kind,
        source="member",
        author=actor.username,
        unit=unit,
        text=mask_text(entry_in.text),
    )
    _audit(db, actor, room, audit.UPDATE, entry_id=entry.id, kind=entry.kind)
    record(
        db,
        CaseRoomEntryPosted(
            room_id=room.id,
            warning_id=room.warning_id,
            entry_id=entry.id,
            kind=entry.kind,
            unit=unit,
        ),
    )
    return entry


def close_room(*, db: Session, room_id: int, close_in: CaseRoomClose, actor: Principal) -> CaseRoom:
    """Close the room with the case's outcome (the room's commander or a supervisor);
    409 on ``status`` when already closed."""
    room = _open_room(db, room_id, actor)
    _may_lead(db, room, actor)
    now = clock.now()
    room.status = "closed"
    room.closed_at = now
    room.closed_by = actor.username
    room.outcome = close_in.outcome
    room.summary = mask_text(close_in.summary)
    _requested, intercepted = _money(db, room.warning_id)
    _entry(
        db,
        room,
        kind="closed",
        source="room",
        author=actor.username,
        text=room.summary,
        detail={"outcome": close_in.outcome, "intercepted": intercepted},
        at=now,
    )
    _audit(db, actor, room, audit.UPDATE, outcome=close_in.outcome, intercepted=intercepted)
    record(
        db,
        CaseRoomClosed(
            room_id=room.id,
            warning_id=room.warning_id,
            outcome=close_in.outcome,
            intercepted=intercepted,
        ),
    )
    return room


# ============================================================================= banks


def partner_rooms(*, db: Session, partner: str | None, limit: int = 200) -> list[CaseRoom]:
    """The rooms a bank was invited to (none for a key that speaks for no partner)."""
    if not partner:
        return []
    mine = select(CaseRoomMember.room_id).where(CaseRoomMember.partner == partner)
    return list(
        db.scalars(
            select(CaseRoom)
            .where(CaseRoom.id.in_(mine))
            .order_by(CaseRoom.opened_at.desc(), CaseRoom.id.desc())
            .limit(limit)
        )
    )


def _partner_member(
    db: Session, partner: str | None, room_id: int
) -> tuple[CaseRoom, CaseRoomMember]:
    room = db.get(CaseRoom, room_id)
    member = (
        db.scalars(
            select(CaseRoomMember).where(
                CaseRoomMember.room_id == room_id, CaseRoomMember.partner == partner
            )
        ).first()
        if room is not None and partner
        else None
    )
    if room is None or member is None:
        raise NotFound("antifraud.caseroom.error.not_found", field="room_id", id=room_id)
    return room, member


def partner_room(*, db: Session, partner: str | None, room_id: int) -> CaseRoom:
    """A room the bank was invited to; any other room is a 404."""
    return _partner_member(db, partner, room_id)[0]


def partner_post(
    *,
    db: Session,
    partner: str | None,
    room_id: int,
    entry_in: BankEntryCreate,
    actor: Principal,
) -> CaseRoomEntry:
    """A bank's message to a room it was invited to (any other room: 404 on ``room_id``;
    closed: 409 on ``status``), in the shared timeline as ``source="partner"`` with the
    bank's code as author and ``detail.partner``; the text is stored masked."""
    room, member = _partner_member(db, partner, room_id)
    if room.status != "open":
        raise Conflict("antifraud.caseroom.error.closed", field="status", id=room.id)
    code = member.partner or ""
    entry = _entry(
        db,
        room,
        kind=entry_in.kind,
        source="partner",
        author=code,
        unit=member.unit,
        text=mask_text(entry_in.text),
        detail={"partner": code},
    )
    _audit(db, actor, room, audit.UPDATE, entry_id=entry.id, kind=entry.kind, partner=code)
    record(
        db,
        CaseRoomEntryPosted(
            room_id=room.id,
            warning_id=room.warning_id,
            entry_id=entry.id,
            kind=entry.kind,
            unit=member.unit,
        ),
    )
    return entry


BANK_VISIBLE: Final = frozenset(
    {
        "opened",
        "closed",
        "stop_payment_requested",
        "stop_payment_changed",
        "account_frozen",
        "funds_traced",
    }
)
"""What a bank sees of a room's timeline: the money, not the investigation or the person."""


def _bank_sees(item: TimelineItem, partner: str) -> bool:
    if item.source == "partner":  # a bank's own posts, never another bank's
        return item.detail.get("partner") == partner
    return item.kind in BANK_VISIBLE and (
        not item.kind.startswith("stop_payment") or item.detail.get("bank") == partner
    )


def partner_read(*, db: Session, room: CaseRoom, partner: str) -> CaseRoomRead:
    """A room as a bank sees it: the money lines of the timeline (its own stop-payments
    only) and its own posts (not another bank's), the members' units without the
    officers' names, no summary."""
    read = room_read(db=db, room=room)
    items = [i for i in read.timeline if _bank_sees(i, partner)]
    members = [
        m.model_copy(update={"username": None, "invited_by": ""}) if m.partner != partner else m
        for m in read.members_list
    ]
    return read.model_copy(
        update={"timeline": items, "members_list": members, "summary": "", "closed_by": None}
    )


# ============================================================================= the bus


def on_warning_event(db: Session, event: Event, ctx: Context) -> None:
    """A warning's visit request, missed deadline or hold change, written into each of its
    open rooms with the event's own time (runs inside the consumer's transaction)."""
    payload = event.model_dump(mode="json")
    warning_id = payload.get("warning_id")
    kind = _CAPTURED_KIND.get(event.subject)
    if kind is None or not isinstance(warning_id, int):
        return
    rooms = list(
        db.scalars(
            select(CaseRoom).where(CaseRoom.warning_id == warning_id, CaseRoom.status == "open")
        )
    )
    detail = {
        k: v
        for k, v in payload.items()
        if k not in ("event_id", "occurred_at", "warning_id", "note", "lon", "lat")
    }
    for room in rooms:
        if event.occurred_at < room.opened_at:
            continue  # before the room: the records already show it
        entry = _entry(
            db,
            room,
            kind=kind,
            source="warning",
            author=str(payload.get("bank") or ""),
            unit="bank" if kind == "stop_payment_changed" else "",
            detail=detail,
            at=event.occurred_at,
        )
        record(
            db,
            CaseRoomEntryPosted(
                room_id=room.id, warning_id=warning_id, entry_id=entry.id, kind=kind
            ),
        )
