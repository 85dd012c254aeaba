"""Events of the dispatch desk: past-tense facts, without unmasked personal data."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

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
    priority: str | None = None
    """The incident's priority (P1–P4): P1/P2 units drive with lights (traffic priority)."""
    lon: float | None = None
    """Where the units are sent (the incident's location)."""
    lat: float | None = None
    unit_kinds: list[str] = Field(default_factory=list)
    """Each unit's kind, aligned with ``unit_ids``."""
    unit_positions: list[list[float]] = Field(default_factory=list)
    """Each unit's last known position ``[lon, lat]``, aligned with ``unit_ids``."""


class UnitStatusChanged(Event):
    """A unit moved from one status to another."""

    subject: ClassVar[str] = "dispatch.unit.status_changed"

    unit_id: int
    callsign: str
    from_status: str
    to_status: str
    incident_id: int | None = None
    lon: float | None = None
    """The unit's last known position when its status changed."""
    lat: float | None = None


class IncidentReclassified(Event):
    """A dispatcher re-classified an incident (call type, priority, police or not)."""

    subject: ClassVar[str] = "dispatch.incident.reclassified"

    id: int
    from_type: str
    call_type: str
    from_priority: str
    priority: str
    police: bool


class IncidentClosed(Event):
    """An incident was closed."""

    subject: ClassVar[str] = "dispatch.incident.closed"

    id: int
    call_type: str
    priority: str
    total_s: float | None = None


class CamerasTasked(Event):
    """Cameras covering an incident were tasked to look at it (video patrol)."""

    subject: ClassVar[str] = "dispatch.cameras.tasked"

    incident_id: int
    unit_ids: list[int]
    callsigns: str


class CamerasReleased(Event):
    """Cameras stopped looking at an incident (released, or the incident closed)."""

    subject: ClassVar[str] = "dispatch.cameras.released"

    incident_id: int
    unit_ids: list[int]
    callsigns: str


class AlertIssued(Event):
    """A public warning (CAP 1.2 Alert or Update) was broadcast; no personal data here."""

    subject: ClassVar[str] = "dispatch.alert.issued"

    id: int
    identifier: str
    kind: str
    msg_type: str
    city_id: int


class AlertCancelled(Event):
    """A public warning was cancelled (a CAP 1.2 Cancel referencing the original was sent)."""

    subject: ClassVar[str] = "dispatch.alert.cancelled"

    id: int
    identifier: str
    kind: str
    city_id: int


# ------------------------------------------------------------- non-police linkage (非警务联动)


class IncidentTransferred(Event):
    """A non-police incident was handed to a linked department (110/12345 linkage)."""

    subject: ClassVar[str] = "dispatch.incident.transferred"

    incident_id: int
    transfer_id: int
    department: str
    call_type: str


class TransferAcknowledged(Event):
    """The department acknowledged (签收) a transfer."""

    subject: ClassVar[str] = "dispatch.transfer.acknowledged"

    transfer_id: int
    incident_id: int
    department: str
    late: bool


class TransferProgressReported(Event):
    """The department reported progress on a transfer."""

    subject: ClassVar[str] = "dispatch.transfer.progress"

    transfer_id: int
    incident_id: int
    department: str


class TransferResolved(Event):
    """The department reported the matter resolved (the incident closes)."""

    subject: ClassVar[str] = "dispatch.transfer.resolved"

    transfer_id: int
    incident_id: int
    department: str
    late: bool


class TransferReturned(Event):
    """The department sent the matter back as not theirs (the incident is new again)."""

    subject: ClassVar[str] = "dispatch.transfer.returned"

    transfer_id: int
    incident_id: int
    department: str


class TransferOverdue(Event):
    """A department missed a deadline: ``kind`` is ``ack`` (签收) or ``feedback`` (反馈)."""

    subject: ClassVar[str] = "dispatch.transfer.overdue"

    transfer_id: int
    incident_id: int
    department: str
    kind: str
    late_s: float


class FollowUpOpened(Event):
    """A dispute became a follow-up case for the community police (枫桥经验)."""

    subject: ClassVar[str] = "dispatch.follow_up.opened"

    case_id: int
    incident_id: int
    assignee: str
    visits: int


class FollowUpVisitRecorded(Event):
    """A follow-up visit was made and its outcome recorded."""

    subject: ClassVar[str] = "dispatch.follow_up.visited"

    case_id: int
    visit_id: int
    incident_id: int


class FollowUpVisitOverdue(Event):
    """A scheduled follow-up visit was not made in time."""

    subject: ClassVar[str] = "dispatch.follow_up.visit_overdue"

    case_id: int
    visit_id: int
    incident_id: int
    assignee: str
    late_s: float


class FollowUpClosed(Event):
    """A follow-up case was closed."""

    subject: ClassVar[str] = "dispatch.follow_up.closed"

    case_id: int
    incident_id: int
    visits_done: int


class SecurityEventCreated(Event):
    """A large event was put under security (perimeter, crowd, time window)."""

    subject: ClassVar[str] = "dispatch.security_event.created"

    id: int
    name: str
    expected_crowd: int
    starts_at: str
    ends_at: str


class SecurityEventActivated(Event):
    """An event's security mode went live: calls inside its perimeter are raised."""

    subject: ClassVar[str] = "dispatch.security_event.activated"

    id: int
    name: str
    posts: int
    staffed: int


class SecurityEventEnded(Event):
    """An event's security mode ended."""

    subject: ClassVar[str] = "dispatch.security_event.ended"

    id: int
    name: str


class PostsProposed(Event):
    """Security posts were proposed for an event (p-median on the road network)."""

    subject: ClassVar[str] = "dispatch.security_posts.proposed"

    id: int
    """The security event's id."""
    name: str
    posts: int
    coverage: str


class PostsAssigned(Event):
    """Units were assigned to an event's security posts."""

    subject: ClassVar[str] = "dispatch.security_posts.assigned"

    id: int
    """The security event's id."""
    name: str
    staffed: int
    posts: int
    callsigns: str


class StandbyPostsPlanned(Event):
    """A city's standby posts (move-up plan) were planned again."""

    subject: ClassVar[str] = "dispatch.standby_posts.planned"

    city_id: int
    posts: int
    basis: str


class UnitSentToStandby(Event):
    """A dispatcher sent an available unit to a standby post (move-up); it stays available."""

    subject: ClassVar[str] = "dispatch.unit.standby"

    unit_id: int
    callsign: str
    city_id: int
    node: int
    lon: float
    lat: float
    rank: int | None = None


class TriageRulesChanged(Event):
    """A supervisor saved (or reverted to) a version of the triage rules and run cards."""

    subject: ClassVar[str] = "dispatch.triage_rules.changed"

    id: int
    """The new rule-set row (the rules in force from now on)."""
    version: str
    from_version: str
    call_types: str
    """The call types added, removed or changed, comma-separated (may be empty)."""
    changed: int
    """How many call types were added, removed or changed."""
    reverted_from: int | None = None
    """The version reverted to (0: the shipped defaults); None for an edit."""
