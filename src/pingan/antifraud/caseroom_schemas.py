"""Request and response bodies of the linkage case room and the year-on-year dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Unit = Literal[
    "dissuasion",
    "criminal_investigation",
    "intelligence_command",
    "police_station",
    "bank",
    "other",
]
RoomRole = Literal["commander", "member"]
EntryKind = Literal[
    "note", "call_made", "account_frozen", "suspect_located", "funds_traced", "action"
]
BankEntryKind = Literal["note", "account_frozen", "funds_traced"]
"""What a bank posts to a room: a message, an account it froze, funds it traced."""
CaseOutcome = Literal["intercepted", "partly_intercepted", "lost", "no_fraud", "suspect_caught"]
RoomStatus = Literal["open", "closed", "all"]
Text = Annotated[str, Field(max_length=2000)]
Username = Annotated[str, Field(min_length=1, max_length=64)]
PartnerCode = Annotated[str, Field(min_length=1, max_length=200)]


class CaseRoomCreate(BaseModel):
    """Open a case room for an urgent warning (high level, or money already moving)."""

    model_config = ConfigDict(extra="forbid")

    warning_id: int = Field(ge=1, le=2**31 - 1)
    title: str = Field(default="", max_length=200)
    unit: Unit = Field(default="dissuasion", description="The opener's own unit.")
    unit_name: str = Field(default="", max_length=200)


class MemberCreate(BaseModel):
    """Invite a unit: a signed-in user (``username``), a bank (``partner``) or every member
    of a warning-dissuasion team (``team_id``) — exactly one of the three."""

    model_config = ConfigDict(extra="forbid")

    username: Username | None = None
    partner: PartnerCode | None = None
    team_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    unit: Unit
    unit_name: str = Field(default="", max_length=200)
    role: RoomRole = "member"


class EntryCreate(BaseModel):
    """A member's timeline entry: a note or an action taken."""

    model_config = ConfigDict(extra="forbid")

    kind: EntryKind
    text: Text = Field(min_length=1)


class BankEntryCreate(BaseModel):
    """A bank's message to a room it was invited to (shown as from the bank)."""

    model_config = ConfigDict(extra="forbid")

    kind: BankEntryKind = "note"
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class CaseRoomClose(BaseModel):
    """Close the room with the case's outcome."""

    model_config = ConfigDict(extra="forbid")

    outcome: CaseOutcome
    summary: Text = ""


class MemberRead(BaseModel):
    """A member of a room."""

    id: int
    username: str | None
    partner: str | None
    unit: str
    unit_name: str
    role: str
    invited_by: str
    joined_at: datetime


class TimelineItem(BaseModel):
    """One line of the shared timeline, from the room or from the warning's records."""

    at: datetime
    kind: str
    source: Literal["member", "partner", "room", "warning"] = Field(
        description="``partner``: posted by a bank through its partner API (author: its code)."
    )
    author: str
    unit: str
    text: str
    detail: dict[str, object]
    entry_id: int | None = Field(default=None, description="Set for the room's own entries.")


class CaseRoomBrief(BaseModel):
    """A room in a list."""

    id: int
    warning_id: int
    jurisdiction_id: int | None
    title: str
    status: str
    level: str
    typology: str
    opened_by: str
    opened_at: datetime
    closed_at: datetime | None
    outcome: str | None
    members: int
    money_intercepted: float


class CaseRoomRead(CaseRoomBrief):
    """A room in full: members, the shared timeline (oldest first) and the money."""

    closed_by: str | None
    summary: str
    money_requested: float = Field(description="Stop-payments asked of the banks (yuan).")
    money_intercepted: float = Field(description="Held, renewed or frozen (yuan).")
    members_list: list[MemberRead]
    timeline: list[TimelineItem]


class MonthFigures(BaseModel):
    """One calendar month: cases and losses this year and the same month a year earlier."""

    month: int
    cases: int
    cases_last_year: int
    cases_change_pct: float | None
    losses: float
    losses_last_year: float
    losses_change_pct: float | None
    transferred: float
    intercepted: float


class YearOnYear(BaseModel):
    """Cases and losses per month, this year vs the same months last year."""

    year: int
    through_month: int
    definition: str
    months: list[MonthFigures]
    cases: int
    cases_last_year: int
    cases_change_pct: float | None
    losses: float
    losses_last_year: float
    losses_change_pct: float | None
