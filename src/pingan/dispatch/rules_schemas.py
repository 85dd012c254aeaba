"""API shapes of the editable triage rules and run cards (研判规则 · 出动标准)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TriageRulesRead(BaseModel):
    """The triage rule set in force: the whole document and who saved it when.

    ``id`` (and ``created_at``, ``created_by``) are null for the shipped defaults.
    """

    id: int | None
    version: str
    document: dict[str, Any]
    note: str
    created_at: datetime | None
    created_by: str | None


class TriageRulesUpdate(BaseModel):
    """A new triage rule set: the whole document (as GET returns it) and why it changed."""

    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any]
    note: str = Field(default="", max_length=2000)


class TriageRulesRevert(BaseModel):
    """Make an older saved version the rules in force again (appended as a new version).

    ``id`` is required; null means the shipped defaults.
    """

    model_config = ConfigDict(extra="forbid")

    id: int | None = Field(ge=1, le=2**31 - 1)
    note: str = Field(default="", max_length=2000)


class TriageRuleSetSummary(BaseModel):
    """One saved version of the triage rules (without the document)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    version: str
    note: str
    created_at: datetime
    created_by: str
    current: bool = False
    """True for the version in force (the newest)."""
