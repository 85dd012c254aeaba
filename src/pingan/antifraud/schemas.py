"""Request and response bodies of the anti-fraud desk (pydantic v2).

Phone and account numbers use :mod:`pingan.core.privacy`'s annotated types: they are
validated on the way in and masked in every JSON answer unless the route decided (and
audited) that the caller may see them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pingan.core.privacy import BankCardNumber, MobileNumber

MAX_BATCH = 10_000
"""Signals accepted in one request."""
MAX_TEAM_MEMBERS = 500
"""Usernames accepted in one team's member list."""

Level = Literal["low", "medium", "high"]
FraudType = Literal[
    "police_impersonation",
    "loan_credit",
    "fake_customer_service",
    "acquaintance_impersonation",
    "task_rebate",
    "investment",
    "romance",
]
Channel = Literal["call_96110", "sms_12381", "visit"]
Outcome = Literal["reached", "no_answer", "refused", "dissuaded"]
CloseOutcome = Literal["dissuaded", "refused", "intercepted", "no_fraud", "unreachable", "lost"]
Step = Literal["assess", "push", "dissuade", "stop_payment", "feedback"]
Id = Annotated[str, Field(min_length=1, max_length=200)]
Code = Annotated[str, Field(min_length=1, max_length=200)]


class _SignalBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id = Field(description="The partner's own id of the report (idempotency key).")
    phone: MobileNumber = Field(description="The potential victim's mobile number.")
    jurisdiction: Code | None = Field(
        default=None, description="Jurisdiction code of the person's place, if known."
    )
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    occurred_at: datetime | None = None


class CallSignal(_SignalBase):
    """An operator: the person was called by a number on the fraud list."""

    kind: Literal["call"]
    caller_flag: Literal["police_impersonation", "fraud"]
    duration_s: float = Field(default=0.0, ge=0, le=86_400)


class SmsSignal(_SignalBase):
    """An operator or platform: an SMS / chat message with fraud content.

    Either the partner's own verdict (``fraud_type`` + ``probability``) or only the raw
    ``text``: the platform's fraud-text model then classifies it (type, probability and
    the phrases that weighed most)."""

    kind: Literal["sms"]
    fraud_type: FraudType | None = Field(
        default=None, description="The partner's classification; leave out to have the text scored."
    )
    probability: float | None = Field(
        default=None, ge=0, le=1, description="Required with fraud_type."
    )
    text: str | None = Field(default=None, max_length=2000)


class AppSignal(_SignalBase):
    """A platform: a screen-sharing / remote-control or unknown finance app was installed."""

    kind: Literal["app"]
    app_kind: Literal["remote", "finance"]
    app_name: str = Field(default="", max_length=200)


class TransferSignal(_SignalBase):
    """A bank: the person sent money to a flagged, mule-like or new account."""

    kind: Literal["transfer"]
    amount: float = Field(gt=0, le=1e10)
    account: BankCardNumber = Field(description="The receiving account.")
    bank: Code | None = Field(default=None, description="The receiving bank's partner code.")
    payee_fanin_24h: int = Field(default=0, ge=0, le=1_000_000)
    flagged: bool = False
    new_payee: bool = False


class ReportSignal(_SignalBase):
    """The person's own report (96110 / app): what they are being asked to do."""

    kind: Literal["report"]
    fraud_type: FraudType
    text: str | None = Field(default=None, max_length=2000)


class RiskSignal(_SignalBase):
    """An operator's victim-risk model score for the person."""

    kind: Literal["risk"]
    score: float = Field(ge=0, le=1)


SignalIn = Annotated[
    CallSignal | SmsSignal | AppSignal | TransferSignal | ReportSignal | RiskSignal,
    Field(discriminator="kind"),
]


class SignalBatch(BaseModel):
    """A batch of partner signals; each item is validated on its own (index + field)."""

    signals: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class SignalResult(BaseModel):
    """What became of one signal of the batch."""

    index: int
    id: str
    signal_id: int
    status: Literal["created", "duplicate"]
    victim_id: int
    level: Level
    warning_id: int | None = None


class BatchResult(BaseModel):
    """The batch's answer: one result per signal, in order."""

    created: int
    duplicates: int
    warnings_raised: int
    results: list[SignalResult]


class TeamRef(BaseModel):
    """A team named briefly."""

    id: int
    code: str
    name: str


class TeamRead(TeamRef):
    """A team with its jurisdiction, capacity and open load."""

    jurisdiction_id: int
    capacity: int
    active: bool
    open_warnings: int
    members: int = Field(default=0, description="Users on the team (their team queue).")


class TeamMembersBody(BaseModel):
    """The whole member list of a team (replaces the current one); duplicates collapse."""

    model_config = ConfigDict(extra="forbid")

    usernames: list[str] = Field(max_length=MAX_TEAM_MEMBERS)


class TeamMemberRead(BaseModel):
    """A member of a team."""

    username: str
    added_at: datetime


class TeamMembersRead(TeamRef):
    """A team and its members (by username)."""

    jurisdiction_id: int
    members: list[TeamMemberRead]


class WarningBrief(BaseModel):
    """A row of the queue: level, typology, step and the countdown of its deadline."""

    id: int
    level: Level
    score: float
    typology: str
    status: str
    step: str
    team: TeamRef | None
    assignee: str | None
    phone_masked: str
    jurisdiction_id: int | None
    created_at: datetime
    due_at: datetime | None
    seconds_left: float | None = Field(description="Until due_at (negative: overdue).")
    breached: bool
    escalated: bool
    reasons: dict[str, list[str]]


class ContactRead(BaseModel):
    """One recorded contact attempt."""

    id: int
    channel: str
    at: datetime
    outcome: str
    note: str
    actor: str


class StopPaymentRead(BaseModel):
    """A stop-payment and where it stands."""

    id: int
    warning_id: int
    bank: str
    account: BankCardNumber
    amount: float
    status: str
    requested_at: datetime
    answered_at: datetime | None
    hold_until: datetime | None
    renewals: int
    bank_ref: str | None
    reason: str


class WarningRead(WarningBrief):
    """A warning in full: the person's number (masked unless revealed), contacts, holds."""

    phone: MobileNumber
    victim_id: int
    signals: dict[str, float]
    first_contact_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    note: str
    contacts: list[ContactRead]
    stop_payments: list[StopPaymentRead]


class ContactCreate(BaseModel):
    """A contact attempt to record."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    outcome: Outcome
    note: str = Field(default="", max_length=2000)


class VisitCreate(BaseModel):
    """Escalate to an in-person visit (a patrol unit via the dispatch desk)."""

    model_config = ConfigDict(extra="forbid")

    urgency: Literal["immediate", "urgent", "normal"] = "urgent"
    note: str = Field(default="", max_length=2000)


class StopPaymentCreate(BaseModel):
    """Draft a stop-payment for money already sent."""

    model_config = ConfigDict(extra="forbid")

    bank: Code = Field(description="The receiving bank's partner code.")
    account: BankCardNumber
    amount: float = Field(gt=0, le=1e10)
    note: str = Field(default="", max_length=2000)


class BankAnswer(BaseModel):
    """A bank's answer to a stop-payment request."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["held", "rejected", "released", "frozen"]
    bank_ref: str | None = Field(default=None, max_length=100)
    reason: str = Field(default="", max_length=2000)


class WarningClose(BaseModel):
    """Close a warning with its outcome."""

    model_config = ConfigDict(extra="forbid")

    outcome: CloseOutcome
    note: str = Field(default="", max_length=2000)


StepSeconds = Annotated[int, Field(ge=10, le=30 * 86_400)]


class LevelPolicy(BaseModel):
    """Deadlines (seconds) of the five steps for one level."""

    model_config = ConfigDict(extra="forbid")

    assess: StepSeconds
    push: StepSeconds
    dissuade: StepSeconds
    stop_payment: StepSeconds
    feedback: StepSeconds


class SlaPolicyBody(BaseModel):
    """The whole SLA policy: every level's step deadlines."""

    model_config = ConfigDict(extra="forbid")

    high: LevelPolicy
    medium: LevelPolicy
    low: LevelPolicy


class SweepReport(BaseModel):
    """What one sweep flagged."""

    escalated: list[int]
    expired: list[int]


class DayCount(BaseModel):
    """Warnings of one day, level and typology."""

    day: str
    level: str
    typology: str
    count: int


class Dashboard(BaseModel):
    """The desk's figures, computed from its records."""

    since: datetime
    warnings: int
    per_day: list[DayCount]
    by_level: dict[str, int]
    by_typology: dict[str, int]
    first_contact_median_s: float | None
    first_contact_mean_s: float | None
    first_contacts: int
    dissuaded: int
    refused: int
    dissuasion_rate: float | None
    escalated: int
    money_intercepted: float
    stop_payments: dict[str, int]
