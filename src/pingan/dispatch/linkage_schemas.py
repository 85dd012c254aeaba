"""Pydantic models of non-police linkage (非警务联动) and dispute follow-ups (枫桥经验).

Kept apart from :mod:`pingan.dispatch.schemas` (which imports the small ``*Brief``
models from here for :class:`~pingan.dispatch.schemas.IncidentRead`). Nothing here
carries the caller's phone number: linked departments get the place, the call type
and the words of the call, never who called.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

DepartmentCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]*$"
    ),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
TransferStatus = Literal["transferred", "acknowledged", "resolved", "returned"]
TransferFilter = Literal["active", "transferred", "acknowledged", "resolved", "returned", "all"]
FollowUpStatus = Literal["open", "closed"]

MAX_VISITS = 12
"""Visits one follow-up case may be scheduled with at once."""


# ---------------------------------------------------------------------------- departments


class DepartmentRef(BaseModel):
    """A department named briefly (in the incident, the transfer)."""

    code: str
    name: dict[str, str]


class DepartmentRead(DepartmentRef):
    """A linked department, the call types it handles and its service levels."""

    id: int
    call_types: list[str]
    ack_within_s: int
    feedback_within_s: int
    jurisdiction_id: int | None
    fallback: bool
    active: bool


# ---------------------------------------------------------------------------- transfers


class TransferCreate(BaseModel):
    """The dispatcher's one action: hand the incident over (default: the suggested department)."""

    department: DepartmentCode | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class TransferAck(BaseModel):
    """A department's acknowledgement (签收), with an optional note."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class TransferProgress(BaseModel):
    """A department's progress report."""

    text: Text


class TransferResolve(BaseModel):
    """A department's final feedback: what was done (the incident closes with it)."""

    outcome: Text


class TransferReturn(BaseModel):
    """A department sends the matter back: not theirs, and why (required)."""

    reason: Text


class TransferUpdateRead(BaseModel):
    """One message of the department."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    at: datetime
    text: str
    actor: str


class TransferIncident(BaseModel):
    """What a department learns of the incident: place, type, words — never the caller."""

    id: int
    call_type: str
    call_type_label: dict[str, str]
    priority: str
    text: str
    address: str
    lon: float
    lat: float
    district: str | None
    received_at: datetime


class TransferRead(BaseModel):
    """A transfer with its deadlines, overdue flags and the department's messages."""

    id: int
    incident_id: int
    department: DepartmentRef
    status: TransferStatus
    note: str
    transferred_at: datetime
    ack_due_at: datetime
    feedback_due_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    returned_at: datetime | None
    returned_reason: str | None
    outcome: str
    overdue: bool
    ack_overdue: bool
    feedback_overdue: bool
    incident: TransferIncident
    updates: list[TransferUpdateRead]


class TransferBrief(BaseModel):
    """The incident's latest transfer, as the incident detail shows it."""

    id: int
    department: DepartmentRef
    status: TransferStatus
    transferred_at: datetime
    ack_due_at: datetime
    feedback_due_at: datetime
    acknowledged_at: datetime | None
    returned_reason: str | None
    outcome: str
    overdue: bool
    ack_overdue: bool
    feedback_overdue: bool


# ---------------------------------------------------------------------------- follow-ups


class FollowUpCreate(BaseModel):
    """A dispute becomes a follow-up case: who visits, what it is about, when."""

    assignee: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    summary: Text
    visits: list[AwareDatetime] = Field(min_length=1, max_length=MAX_VISITS)


class VisitRecord(BaseModel):
    """The outcome of a visit (when it was made: now unless given)."""

    outcome: Text
    done_at: AwareDatetime | None = None


class FollowUpClose(BaseModel):
    """How the dispute ended."""

    outcome: Text


class FollowUpVisitRead(BaseModel):
    """A scheduled visit and, once made, its outcome."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    scheduled_at: datetime
    done_at: datetime | None
    outcome: str
    overdue: bool
    cancelled_at: datetime | None


class FollowUpRead(BaseModel):
    """A follow-up case with its visits."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int
    jurisdiction_id: int | None
    assignee: str
    status: FollowUpStatus
    summary: str
    opened_at: datetime
    closed_at: datetime | None
    outcome: str
    visits: list[FollowUpVisitRead]


class DueVisitRead(FollowUpVisitRead):
    """A visit due or overdue, with its case."""

    case_id: int
    incident_id: int
    assignee: str


class FollowUpBrief(BaseModel):
    """The incident's open (or latest) follow-up case, as the incident detail shows it."""

    id: int
    status: FollowUpStatus
    assignee: str
    next_visit_at: datetime | None
    visits: int
    visits_done: int
    overdue_visits: int


class SweepReport(BaseModel):
    """What one overdue sweep flagged."""

    ack_overdue: int
    feedback_overdue: int
    visits_overdue: int
