"""Events of the anti-fraud desk: past-tense facts, without unmasked personal data."""

from __future__ import annotations

from typing import ClassVar

from pingan.core.events import Event


class WarningRaised(Event):
    """A potential victim reached medium or high: a warning was raised (or upgraded)."""

    subject: ClassVar[str] = "antifraud.warning.raised"

    warning_id: int
    level: str
    typology: str
    team: str | None = None
    upgraded: bool = False


class ContactRecorded(Event):
    """A team member recorded an attempt to reach the person."""

    subject: ClassVar[str] = "antifraud.contact.recorded"

    warning_id: int
    channel: str
    outcome: str


class VisitRequested(Event):
    """The team asked for an in-person visit: dispatch turns it into a patrol task."""

    subject: ClassVar[str] = "antifraud.visit.requested"

    warning_id: int
    jurisdiction: str | None
    lon: float | None = None
    lat: float | None = None
    urgency: str
    level: str
    typology: str
    note: str = ""


class WarningEscalated(Event):
    """A step's SLA deadline passed: the warning went to a supervisor."""

    subject: ClassVar[str] = "antifraud.warning.escalated"

    warning_id: int
    step: str
    level: str
    overdue_s: float


class WarningClosed(Event):
    """A warning was closed with its outcome."""

    subject: ClassVar[str] = "antifraud.warning.closed"

    warning_id: int
    outcome: str


class StopPaymentRequested(Event):
    """A stop-payment (紧急止付) was sent to a bank."""

    subject: ClassVar[str] = "antifraud.stop_payment.requested"

    stop_payment_id: int
    warning_id: int
    bank: str
    amount: float


class StopPaymentChanged(Event):
    """A stop-payment moved: held, renewed, frozen, released, rejected or expired."""

    subject: ClassVar[str] = "antifraud.stop_payment.changed"

    stop_payment_id: int
    warning_id: int
    bank: str
    status: str
    renewals: int = 0


class CaseRoomOpened(Event):
    """A linkage case room was opened for an urgent warning."""

    subject: ClassVar[str] = "antifraud.caseroom.opened"

    room_id: int
    warning_id: int


class CaseRoomMemberAdded(Event):
    """A unit (a user or a bank) joined a case room."""

    subject: ClassVar[str] = "antifraud.caseroom.member_added"

    room_id: int
    warning_id: int
    unit: str
    role: str


class CaseRoomEntryPosted(Event):
    """A timeline entry was added to a case room (the text stays in the room)."""

    subject: ClassVar[str] = "antifraud.caseroom.entry_posted"

    room_id: int
    warning_id: int
    entry_id: int
    kind: str
    unit: str = ""


class CaseRoomClosed(Event):
    """A case room was closed with its outcome."""

    subject: ClassVar[str] = "antifraud.caseroom.closed"

    room_id: int
    warning_id: int
    outcome: str
    intercepted: float
