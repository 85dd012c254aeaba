"""Tables of the anti-fraud desk: teams and their members, potential victims, signals,
warnings, contacts, stop-payments and the editable SLA policy of the five quick steps (快五条)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pingan.core.db import Base, UTCDateTime

WARNING_STATUSES: Final = (
    "new",
    "assigned",
    "contacting",
    "dissuaded",
    "refused",
    "visit",
    "stop_payment",
    "closed",
)
OPEN_WARNING_STATUSES: Final = tuple(s for s in WARNING_STATUSES if s != "closed")
STEPS: Final = ("assess", "push", "dissuade", "stop_payment", "feedback")
"""The five quick steps (快五条): quick assessment, push, dissuasion, stop-payment, feedback."""
CHANNELS: Final = ("call_96110", "sms_12381", "visit")
OUTCOMES: Final = ("reached", "no_answer", "refused", "dissuaded")
STOP_PAYMENT_STATUSES: Final = (
    "requested",
    "held",
    "renewed",
    "released",
    "frozen",
    "expired",
    "rejected",
)
HOLDING_STATUSES: Final = ("held", "renewed")


class Team(Base):
    """A warning-dissuasion team (预警劝阻专班) of a district or station."""

    __tablename__ = "antifraud_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    capacity: Mapped[int] = mapped_column(Integer, default=20)
    """Open warnings the team works at once; routing balances load / capacity."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)


class TeamMember(Base):
    """A signed-in user on a warning-dissuasion team: their ``scope=team`` queue is the
    team's warnings, and a case room can invite the whole team at once. Users are referred
    to by username, as ``FraudWarning.assignee`` and case-room members are."""

    __tablename__ = "antifraud_team_members"
    __table_args__ = (
        UniqueConstraint("team_id", "username", name="uq_antifraud_team_members_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("antifraud_teams.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(String(64), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PotentialVictim(Base):
    """A person the partners' signals point at, known by a keyed hash of the phone number."""

    __tablename__ = "antifraud_victims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    """HMAC-SHA256 of the normalised mobile number under the platform's secret."""
    phone: Mapped[str] = mapped_column(String(20))
    """Kept for the call-back; every answer masks it unless the role needs it (audited)."""
    phone_masked: Mapped[str] = mapped_column(String(20))
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    signals: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    """The typology signals accumulated from the partners' reports."""
    score: Mapped[float] = mapped_column(Float, default=0.0)
    level: Mapped[str] = mapped_column(String(10), default="low")
    typology: Mapped[str] = mapped_column(String(40), default="")
    reasons: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Signal(Base):
    """One partner report; ``(partner, partner_signal_id)`` makes re-sending harmless."""

    __tablename__ = "antifraud_signals"
    __table_args__ = (UniqueConstraint("partner", "partner_signal_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner: Mapped[str] = mapped_column(String(200))
    """No index of its own: the unique (partner, partner_signal_id) index serves both (a
    partner-only index invited PostgreSQL to read all of a partner's reports per lookup)."""
    partner_signal_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The report without the phone number (that lives, once, on the victim)."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    victim_id: Mapped[int] = mapped_column(
        ForeignKey("antifraud_victims.id", ondelete="CASCADE"), index=True
    )
    warning_id: Mapped[int | None] = mapped_column(
        ForeignKey("antifraud_warnings.id", ondelete="SET NULL"), default=None
    )
    level: Mapped[str] = mapped_column(String(10), default="low")
    """The victim's level right after this signal was scored."""


class FraudWarning(Base):
    """A graded warning (预警) about one potential victim, worked through the five steps."""

    __tablename__ = "antifraud_warnings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    victim_id: Mapped[int] = mapped_column(
        ForeignKey("antifraud_victims.id", ondelete="CASCADE"), index=True
    )
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    level: Mapped[str] = mapped_column(String(10), index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    typology: Mapped[str] = mapped_column(String(40))
    reasons: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), index=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("antifraud_teams.id"), default=None, index=True
    )
    assignee: Mapped[str | None] = mapped_column(String(64), default=None)
    step: Mapped[str] = mapped_column(String(20))
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)
    """Deadline of the current step (from the SLA policy); swept for breaches."""
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)
    note: Mapped[str] = mapped_column(Text, default="")


class ContactAttempt(Base):
    """One attempt to reach the person: a 96110 call, a 12381 SMS or a visit."""

    __tablename__ = "antifraud_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warning_id: Mapped[int] = mapped_column(
        ForeignKey("antifraud_warnings.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="")


class StopPayment(Base):
    """An emergency stop-payment (紧急止付) sent to a bank: 48-hour hold, renewals, freeze."""

    __tablename__ = "antifraud_stop_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warning_id: Mapped[int] = mapped_column(
        ForeignKey("antifraud_warnings.id", ondelete="CASCADE"), index=True
    )
    bank: Mapped[str] = mapped_column(String(200), index=True)
    """The bank's partner code (its API key's ``partner``)."""
    account: Mapped[str] = mapped_column(String(32))
    """The receiving account, for the bank; masked for staff who do not need it."""
    account_hash: Mapped[str] = mapped_column(String(64), index=True)
    account_masked: Mapped[str] = mapped_column(String(32))
    amount: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    bank_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="")


class SlaPolicy(Base):
    """Step deadlines (seconds) for one risk level; a supervisor edits them."""

    __tablename__ = "antifraud_sla_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(10), unique=True)
    steps: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200), default="")


# ---------------------------------------------------------------------------- case rooms

CASE_ROOM_UNITS: Final = (
    "dissuasion",
    "criminal_investigation",
    "intelligence_command",
    "police_station",
    "bank",
    "other",
)
"""The units a linkage case room gathers: 预警劝阻专班, 刑侦, 情指, 派出所, the banks."""
CASE_ROOM_ROLES: Final = ("commander", "member")
CASE_ENTRY_KINDS: Final = (
    "note",
    "call_made",
    "account_frozen",
    "suspect_located",
    "funds_traced",
    "action",
)
"""What a member posts; the room itself adds ``opened``, ``member_added``, ``closed`` and
the warning's ``visit_requested``, ``sla_escalated``, ``stop_payment_changed``."""
CASE_OUTCOMES: Final = ("intercepted", "partly_intercepted", "lost", "no_fraud", "suspect_caught")


class CaseRoom(Base):
    """A linkage case room (合成作战室) gathering the units working one urgent warning."""

    __tablename__ = "antifraud_case_rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warning_id: Mapped[int] = mapped_column(
        ForeignKey("antifraud_warnings.id", ondelete="CASCADE"), index=True
    )
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    """The warning's jurisdiction: who may be invited and who supervises."""
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), index=True)
    """``open`` or ``closed``."""
    opened_by: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    closed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcome: Mapped[str | None] = mapped_column(String(20), default=None)
    summary: Mapped[str] = mapped_column(Text, default="")


class CaseRoomMember(Base):
    """A member of a case room: a signed-in user of a unit, or a bank (partner code)."""

    __tablename__ = "antifraud_case_room_members"
    __table_args__ = (
        UniqueConstraint("room_id", "username", name="uq_antifraud_case_room_members_user"),
        UniqueConstraint("room_id", "partner", name="uq_antifraud_case_room_members_partner"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(
        ForeignKey("antifraud_case_rooms.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    partner: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    """A bank's partner code: the bank reads the room through its partner API key."""
    unit: Mapped[str] = mapped_column(String(30))
    unit_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    invited_by: Mapped[str] = mapped_column(String(200))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseRoomEntry(Base):
    """One timeline entry of a case room: a member's note or action, or a room fact."""

    __tablename__ = "antifraud_case_room_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(
        ForeignKey("antifraud_case_rooms.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(10))
    """``member`` (posted), ``partner`` (posted by an invited bank through its API key),
    ``room`` (opened, invited, closed) or ``warning`` (an event of the warning captured from
    the bus while the room was open)."""
    author: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(30), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
