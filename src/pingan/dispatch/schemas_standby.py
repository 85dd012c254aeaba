"""API shapes of move-up (补位): standby posts, proposals, sending a unit to a post."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pingan.dispatch.recommend import UnitKind


class StandbyPostRead(BaseModel):
    """One standby post of a city (rank 1 is filled first)."""

    model_config = ConfigDict(from_attributes=True)

    rank: int
    node: int
    lon: float
    lat: float
    planned_at: datetime
    basis: str
    """``incidents`` (recorded calls) or ``pois`` (POIs + road density: too few calls)."""


class MoveUpProposal(BaseModel):
    """Move one idle unit to a standby post: drive, expected gain and reason codes."""

    unit_id: int
    callsign: str
    kind: UnitKind
    from_lon: float
    from_lat: float
    from_node: int
    post_rank: int
    post_node: int
    post_lon: float
    post_lat: float
    eta_s: float
    """Drive from where the unit is to the post."""
    expected_gain_s: float
    """Demand-weighted expected response before minus after this move alone (seconds)."""
    reasons: list[dict[str, Any]] = Field(default_factory=list)


class MoveUpRead(BaseModel):
    """A city's move-up proposals now."""

    city_id: int
    posts_planned: bool
    basis: str | None = None
    planned_at: datetime | None = None
    idle_units: int
    proposals: list[MoveUpProposal]
    expected_response_s: float | None = None
    """Demand-weighted expected response with the idle units where they are (or are heading)."""
    expected_response_after_s: float | None = None
    """The same with every proposal accepted."""
    held_by_limit: list[str] = Field(default_factory=list)
    """Callsigns not proposed because they reached the per-unit moves-per-hour limit."""


class StandbyRequest(BaseModel):
    """Where to send the unit: a post by ``rank``, or a point (``lon``/``lat``)."""

    model_config = ConfigDict(extra="forbid")

    rank: int | None = Field(default=None, ge=1, le=10_000)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
