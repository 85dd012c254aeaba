"""Pydantic models of the event security mode (大型活动安保): events, posts, the board."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class SecurityEventCreate(BaseModel):
    """A large event to secure: where (perimeter polygon), how many people, when."""

    model_config = ConfigDict(extra="forbid")

    city_id: int = Field(ge=1, le=2**31 - 1)
    name: str = Field(min_length=1, max_length=200)
    perimeter: dict[str, Any] = Field(
        description="GeoJSON Polygon (or a Feature with one) in lon/lat, inside the city"
    )
    expected_crowd: int = Field(gt=0, le=10_000_000)
    starts_at: datetime
    ends_at: datetime


class PostsPropose(BaseModel):
    """How many posts of each kind (omit to scale them from the expected crowd), and standards."""

    model_config = ConfigDict(extra="forbid")

    foot: int | None = Field(default=None, ge=0, le=60)
    k9: int | None = Field(default=None, ge=0, le=20)
    drones: int | None = Field(default=None, ge=0, le=20)
    foot_standard_s: float = Field(default=180.0, gt=0, le=3600)
    k9_standard_s: float = Field(default=300.0, gt=0, le=3600)
    drone_radius_m: float = Field(default=400.0, gt=0, le=5000)
    approach_m: float = Field(default=500.0, ge=0, le=2000)
    method: Literal["auto", "milp", "heuristic"] = "auto"


class PostsAssign(BaseModel):
    """Assign available units to the unstaffed posts (or to all posts, with ``replace``)."""

    model_config = ConfigDict(extra="forbid")

    replace: bool = False


class SecurityPostRead(BaseModel):
    """A post with the unit staffing it (status, position, staleness)."""

    id: int
    kind: str
    node: int
    lon: float
    lat: float
    inside: bool
    covered_share: float
    assigned_share: float
    mean_cost_s: float
    reasons: list[Any]
    unit_id: int | None = None
    callsign: str | None = None
    unit_status: str | None = None
    unit_lon: float | None = None
    unit_lat: float | None = None
    position_at: datetime | None = None
    stale: bool | None = None
    eta_s: float | None = None


class SecurityEventRead(BaseModel):
    """An event under security with its posts and the last plan's solver summary."""

    id: int
    city_id: int
    jurisdiction_id: int | None
    name: str
    perimeter: dict[str, Any]
    expected_crowd: int
    starts_at: datetime
    ends_at: datetime
    status: str
    created_by: str
    created_at: datetime
    plan: dict[str, Any]
    posts: list[SecurityPostRead]


class BoardIncident(BaseModel):
    """An incident inside the perimeter, as the commander's board shows it."""

    id: int
    priority: str
    status: str
    call_type: str
    call_type_label: dict[str, str]
    lon: float
    lat: float
    received_at: datetime
    raised: bool


class SecurityBoard(BaseModel):
    """The commander's board of one event."""

    event: SecurityEventRead
    incidents: list[BoardIncident]
    counts_by_priority: dict[str, int]
    open_by_priority: dict[str, int]
    posts: int
    staffed: int
    stale_units: int
    coverage: dict[str, float]


class VenuePreset(BaseModel):
    """A demo venue: a named perimeter and a typical crowd."""

    key: str
    city: str
    name: dict[str, str]
    perimeter: dict[str, Any]
    expected_crowd: int
