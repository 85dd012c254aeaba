"""Events of the dispatch desk: past-tense facts, without unmasked personal data."""

from __future__ import annotations

from typing import ClassVar

from pingan.core.events import Event


class IncidentReported(Event):
    """A call was taken and became an incident (located, triaged, duplicate-checked)."""

    subject: ClassVar[str] = "dispatch.incident.reported"

    id: int
    call_type: str
    priority: str
    lon: float
    lat: float
    district: str
    police: bool
    unclear: bool
    duplicate_of: int | None = None


class UnitsDispatched(Event):
    """Units were sent to an incident (accepting or overriding the recommendation)."""

    subject: ClassVar[str] = "dispatch.units.dispatched"

    incident_id: int
    unit_ids: list[int]
    callsigns: str
    override: bool


class UnitStatusChanged(Event):
    """A unit moved from one status to another."""

    subject: ClassVar[str] = "dispatch.unit.status_changed"

    unit_id: int
    callsign: str
    from_status: str
    to_status: str
    incident_id: int | None = None


class IncidentClosed(Event):
    """An incident was closed."""

    subject: ClassVar[str] = "dispatch.incident.closed"

    id: int
    call_type: str
    priority: str
    total_s: float | None = None
