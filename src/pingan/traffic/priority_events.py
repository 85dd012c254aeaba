"""Events of emergency priority: past-tense facts the page's live feed shows."""

from __future__ import annotations

from typing import ClassVar

from pingan.core.events import Event


class PriorityRequested(Event):
    """A green corridor was requested along an emergency vehicle's route."""

    subject: ClassVar[str] = "traffic.priority.requested"

    corridor_id: int
    city_id: int
    kind: str
    """incident (units sent with lights) | hospital (transport) | manual."""
    unit_id: int | None = None
    callsign: str = ""
    incident_id: int | None = None
    signals: int
    route_s: float
    destination: str = ""


class PriorityCleared(Event):
    """A green corridor ended: ``status`` cleared (arrived, closed, passed) or cancelled."""

    subject: ClassVar[str] = "traffic.priority.cleared"

    corridor_id: int
    city_id: int
    status: str
    reason: str
    unit_id: int | None = None
    callsign: str = ""
    incident_id: int | None = None
