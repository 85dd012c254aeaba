"""Pydantic models of the dispatch desk's API: units, calls, incidents, statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pingan.core.privacy import MobileNumber
from pingan.dispatch.linkage_schemas import DepartmentRef, FollowUpBrief, TransferBrief
from pingan.dispatch.recommend import UnitKind
from pingan.dispatch.statuses import UnitStatus

Source = Literal["page", "api", "eido", "sim"]
IncidentStatus = Literal["new", "dispatched", "on_scene", "closed", "duplicate", "transferred"]
OPEN_STATUSES: tuple[str, ...] = ("new", "dispatched", "on_scene", "transferred")


# ---------------------------------------------------------------------------- units


class UnitBase(BaseModel):
    """What every unit has: a callsign and a kind."""

    callsign: str = Field(min_length=1, max_length=40)
    kind: UnitKind


class UnitCreate(UnitBase):
    """A new unit, at its home position (snapped to the road network)."""

    city_id: int = Field(ge=1, le=2**31 - 1)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    capabilities: list[str] = Field(default_factory=list, max_length=20)
    endurance_min: float | None = Field(default=None, ge=0, le=24 * 60)
    coverage_m: float | None = Field(default=None, gt=0, le=5000)
    demo: bool = False


class UnitRead(UnitBase):
    """A unit as the board shows it; ``stale`` when its position is older than the limit."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: UnitStatus
    city_id: int
    lon: float
    lat: float
    position_at: datetime | None
    stale: bool = False
    incident_id: int | None
    jurisdiction_id: int | None
    capabilities: list[str]
    endurance_min: float | None
    coverage_m: float | None = None
    battery_pct: float | None = None
    battery_at: datetime | None = None
    tasked_incidents: list[int] = Field(default_factory=list)
    """Cameras: the incidents the camera is tasked to look at now."""
    demo: bool = False
    standby_node: int | None = None
    """Move-up: the standby post's node the unit was sent to (it stays available)."""
    standby_since: datetime | None = None


class PositionUpdate(BaseModel):
    """A position report (AVL): where the unit is, when, and a drone's endurance left."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    at: AwareDatetime | None = None
    endurance_min: float | None = Field(default=None, ge=0, le=24 * 60)
    battery_pct: float | None = Field(default=None, ge=0, le=100)


class StatusChange(BaseModel):
    """A unit's new status and why."""

    status: UnitStatus
    reason: str = Field(default="", max_length=500)


class UnitTimelineEntry(BaseModel):
    """One status change of a unit."""

    model_config = ConfigDict(from_attributes=True)

    from_status: str | None
    to_status: str
    incident_id: int | None
    at: datetime
    actor: str
    reason: str


# ---------------------------------------------------------------------------- calls


class CallCreate(BaseModel):
    """A call (报警): the description, and where (coordinates or an address)."""

    text: str = Field(min_length=1, max_length=2000)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    address: str | None = Field(default=None, min_length=1, max_length=300)
    caller_phone: MobileNumber | None = None
    source: Source = "api"
    received_at: AwareDatetime | None = None


class DistrictRef(BaseModel):
    """The district an incident lies in."""

    id: int
    code: str
    name: str


class DuplicateRead(BaseModel):
    """An open incident this call may duplicate."""

    incident_id: int
    score: float
    reasons: list[str]


class RecommendationRead(BaseModel):
    """A unit proposed for an incident, its ETA and why."""

    unit_id: int
    callsign: str
    kind: str
    eta_s: float
    reasons: list[Any]


class AssignmentRead(BaseModel):
    """A unit sent to an incident."""

    unit_id: int
    callsign: str
    status: str
    dispatched_at: datetime
    arrived_at: datetime | None
    cleared_at: datetime | None = None


class CameraTaskRead(BaseModel):
    """A camera tasked to look at an incident (video patrol)."""

    unit_id: int
    callsign: str
    tasked_at: datetime
    released_at: datetime | None
    actor: str


class CameraTasking(BaseModel):
    """Cameras to task to (or release from) an incident."""

    unit_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(min_length=1, max_length=50)


class IncidentRead(BaseModel):
    """An incident with its triage, duplicates, recommendation and units."""

    id: int
    status: IncidentStatus
    call_type: str
    call_type_label: dict[str, str]
    priority: str
    police: bool
    unclear: bool
    triage_reasons: list[Any]
    text: str
    lon: float
    lat: float
    address: str
    source: str
    district: DistrictRef | None
    received_at: datetime
    dispatched_at: datetime | None
    first_arrival_at: datetime | None
    closed_at: datetime | None
    outcome: str
    duplicates: list[DuplicateRead]
    duplicate_of: int | None
    recommendations: list[RecommendationRead]
    units: list[AssignmentRead]
    caller_phone: MobileNumber | None
    override_reason: str | None
    # non-police linkage and follow-ups (linkage.py fills these in incident_read)
    suggested_department: DepartmentRef | None = None
    transfer: TransferBrief | None = None
    follow_up: FollowUpBrief | None = None
    cameras: list[CameraTaskRead] = Field(default_factory=list)
    """Cameras tasked to look at the incident (active and released)."""


class DispatchCreate(BaseModel):
    """The dispatcher's decision: which units, and why when it is not the recommendation."""

    unit_ids: list[int] = Field(min_length=1, max_length=20)
    override_reason: str | None = Field(default=None, max_length=500)


class IncidentClassify(BaseModel):
    """A dispatcher's re-classification (研判定性): the call type, optionally the priority, why."""

    call_type: str = Field(min_length=1, max_length=64)
    priority: Literal["P1", "P2", "P3", "P4"] | None = None
    reason: str = Field(min_length=1, max_length=500)


class IncidentClose(BaseModel):
    """How the incident ended."""

    outcome: str = Field(min_length=1, max_length=2000)


# ---------------------------------------------------------------------------- statistics


class Durations(BaseModel):
    """Mean, median and 90th percentile of a duration, in seconds (None: no sample)."""

    n: int
    mean: float | None
    p50: float | None
    p90: float | None


class ResponseGroup(BaseModel):
    """Response times of one group (a priority, a district or an hour of the day)."""

    key: str
    count: int
    call_to_dispatch: Durations
    dispatch_to_arrival: Durations
    total: Durations
    target_s: float | None
    within_target: float | None
    """Share of arrived incidents whose total response was within the target."""


class ResponseStats(BaseModel):
    """Response-time statistics of the incidents received in [since, until)."""

    since: datetime
    until: datetime
    count: int
    overall: ResponseGroup
    by_priority: list[ResponseGroup]
    by_district: list[ResponseGroup]
    by_hour: list[ResponseGroup]


class RunCardRead(BaseModel):
    """A call type of the current triage rules, with its run card."""

    id: str
    label: dict[str, str]
    priority: str
    police: bool
    department: str | None
    run_card: list[dict[str, Any]]
    unit_kinds: list[dict[str, Any]]
