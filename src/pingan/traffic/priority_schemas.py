"""Request and response bodies of emergency priority (/api/traffic/priority)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pingan.core.deps import MAX_ROW_ID


class LonLat(BaseModel):
    """A point (WGS 84)."""

    model_config = ConfigDict(extra="forbid")

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class ManualPriorityRequest(BaseModel):
    """A corridor asked for by hand: from a unit (or a point) to a point or a hospital.

    Give ``unit_id`` or ``origin``; give ``destination`` or ``hospital_id``, or neither for
    the nearest hospital (an ambulance transporting a patient).
    """

    model_config = ConfigDict(extra="forbid")

    unit_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    origin: LonLat | None = None
    destination: LonLat | None = None
    destination_name: str | None = Field(default=None, max_length=300)
    hospital_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    city_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    reason: str = Field(min_length=1, max_length=300)


class CorridorCancel(BaseModel):
    """Why a corridor is cancelled."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=300)


class SignalRequestRead(BaseModel):
    """One signal's request: where, which approach and phase, when, and its state."""

    seq: int
    node: int
    signal_ids: list[int]
    lon: float
    lat: float
    approach: str
    phase: int
    state: str = Field(description="requested | serving | released | restored")
    transition_s: float = Field(description="Worst-case safe transition to the priority green.")
    eta_at: datetime
    request_at: datetime
    green_by_at: datetime
    serve_until: datetime
    capped: bool
    released_at: datetime | None
    release_reason: str | None
    restore_s: float | None
    restore_at: datetime | None
    restored_at: datetime | None
    plan: dict[str, Any]


class CorridorRead(BaseModel):
    """A green corridor with its route (GeoJSON LineString) and its signals in order."""

    id: int
    city_id: int
    jurisdiction_id: int | None
    kind: str
    status: str
    unit_id: int | None
    callsign: str
    incident_id: int | None
    priority: str | None
    destination_name: str
    hospital_id: int | None
    origin: list[float]
    destination: list[float]
    route_s: float
    route_m: float
    reason: str
    requested_by: str
    started_at: datetime
    ended_at: datetime | None
    geometry: dict[str, Any]
    signals: list[SignalRequestRead]


class ActiveCorridors(BaseModel):
    """The active corridors and the server's time (for countdowns on the page)."""

    now: datetime
    corridors: list[CorridorRead]
