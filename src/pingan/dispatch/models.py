"""Tables of the dispatch desk: units, incidents, assignments and the status timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.core.db import Base, UTCDateTime


class Unit(Base):
    """A resource of the 3-D force (立体防控警力): car, motorbike, foot, K9, drone, camera."""

    __tablename__ = "dispatch_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    callsign: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # UnitKind values
    status: Mapped[str] = mapped_column(String(20), index=True)  # UnitStatus values
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    home_lon: Mapped[float] = mapped_column(Float)
    home_lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    node: Mapped[int] = mapped_column(Integer, default=-1)
    """The snapped node of the city's drive graph."""
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    endurance_min: Mapped[float | None] = mapped_column(Float, default=None)
    coverage_m: Mapped[float | None] = mapped_column(Float, default=None)
    battery_pct: Mapped[float | None] = mapped_column(Float, default=None)
    """Drones: battery charge (0-100) of the last report that carried one."""
    battery_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("dispatch_incidents.id", ondelete="SET NULL"), default=None
    )
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    standby_node: Mapped[int | None] = mapped_column(Integer, default=None)
    """Move-up: the drive-graph node of the standby post the unit was sent to (None: none)."""
    standby_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class UnitStatusChange(Base):
    """One step of a unit's timeline (kept after the incident closes)."""

    __tablename__ = "dispatch_unit_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_units.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(20), default=None)
    to_status: Mapped[str] = mapped_column(String(20))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("dispatch_incidents.id", ondelete="SET NULL"), default=None, index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")


class Incident(Base):
    """An incident (警情) made from a call: where, what, how urgent, who was sent."""

    __tablename__ = "dispatch_incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="SET NULL"), default=None
    )
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    node: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(300), default="")
    call_text: Mapped[str] = mapped_column(Text)
    caller_phone: Mapped[str | None] = mapped_column(String(20), default=None)
    source: Mapped[str] = mapped_column(String(10), default="api")  # page | api | eido | sim
    call_type: Mapped[str] = mapped_column(String(64), default="")
    priority: Mapped[str] = mapped_column(String(2))  # P1..P4
    police: Mapped[bool] = mapped_column(Boolean, default=True)
    unclear: Mapped[bool] = mapped_column(Boolean, default=False)
    triage_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("dispatch_incidents.id", ondelete="SET NULL"), default=None
    )
    duplicates: Mapped[list[Any]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    first_arrival_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcome: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[list[Any]] = mapped_column(JSON, default=list)
    override_reason: Mapped[str | None] = mapped_column(Text, default=None)

    assignments: Mapped[list[IncidentUnit]] = relationship(
        back_populates="incident", order_by="IncidentUnit.id"
    )


class IncidentUnit(Base):
    """One unit sent to one incident; at most one ACTIVE assignment per unit (DB-enforced)."""

    __tablename__ = "dispatch_incident_units"
    __table_args__ = (
        # The "a unit cannot be dispatched to two incidents" guarantee, held by the
        # database so two dispatchers racing cannot both win.
        Index(
            "uq_dispatch_incident_units_active_unit",
            "unit_id",
            unique=True,
            sqlite_where=text("cleared_at IS NULL"),
            postgresql_where=text("cleared_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_incidents.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("dispatch_units.id", ondelete="CASCADE"))
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    incident: Mapped[Incident] = relationship(back_populates="assignments")
    unit: Mapped[Unit] = relationship()


class CameraTask(Base):
    """A camera tasked to look at an incident (视频巡查); cameras are tasked, not dispatched.

    A camera may watch several incidents at once; one active task per camera and
    incident (a partial unique index, like the active assignment of a unit).
    """

    __tablename__ = "dispatch_camera_tasks"
    __table_args__ = (
        Index(
            "uq_dispatch_camera_tasks_active",
            "unit_id",
            "incident_id",
            unique=True,
            sqlite_where=text("released_at IS NULL"),
            postgresql_where=text("released_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_units.id", ondelete="CASCADE"), index=True
    )
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_incidents.id", ondelete="CASCADE"), index=True
    )
    tasked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    actor: Mapped[str] = mapped_column(String(200), default="")


class Alert(Base):
    """A public warning (公共预警) sent as CAP 1.2: drafted, issued, updated, cancelled.

    ``identifier`` is the CAP identifier of the latest message; ``references`` the
    ``sender,identifier,sent`` triples of the earlier ones. ``texts`` holds the
    headline, description and instruction per language (zh-CN, en); ``person`` the
    missing-person template (personal data: masked in API lists). ``cap_xml`` is the
    last document broadcast (None while a draft).
    """

    __tablename__ = "dispatch_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("dispatch_incidents.id", ondelete="SET NULL"), default=None
    )
    identifier: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(30))  # missing_person | dangerous_person | ...
    status: Mapped[str] = mapped_column(String(12), index=True)  # draft|issued|updated|cancelled
    cap_status: Mapped[str] = mapped_column(String(10), default="Actual")  # Actual|Exercise|Test
    msg_type: Mapped[str] = mapped_column(String(10), default="Alert")
    category: Mapped[str] = mapped_column(String(12))
    urgency: Mapped[str] = mapped_column(String(12))
    severity: Mapped[str] = mapped_column(String(12))
    certainty: Mapped[str] = mapped_column(String(12))
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    contact: Mapped[str] = mapped_column(String(100), default="")
    web: Mapped[str | None] = mapped_column(String(300), default=None)
    area: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    person: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200), default="")
    issued_by: Mapped[str | None] = mapped_column(String(200), default=None)
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    cap_xml: Mapped[str | None] = mapped_column(Text, default=None)


# ------------------------------------------------------------- non-police linkage (非警务联动)

ACTIVE_TRANSFER_STATUSES = ("transferred", "acknowledged")
"""Statuses of a transfer the department still owes an answer on."""


class Department(Base):
    """A linked department (联动单位) that takes non-police matters (110/12345 linkage).

    ``call_types`` are the triage call types it handles; ``ack_within_s`` and
    ``feedback_within_s`` are its service levels (签收时限, 反馈时限). A department with
    no jurisdiction serves the whole platform; one with a jurisdiction serves that
    place and everything below it. ``fallback`` marks the 12345 hotline, which takes
    what no other department handles. Its partner API key carries ``partner = code``.
    """

    __tablename__ = "dispatch_departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    call_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    ack_within_s: Mapped[int] = mapped_column(Integer)
    feedback_within_s: Mapped[int] = mapped_column(Integer)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)


class Transfer(Base):
    """A non-police incident handed to a department, with its deadlines (stored, swept).

    At most one transfer per incident is active (``transferred`` or ``acknowledged``):
    a partial unique index holds it, so two dispatchers clicking at once cannot both
    hand the incident over.
    """

    __tablename__ = "dispatch_transfers"
    __table_args__ = (
        Index(
            "uq_dispatch_transfers_active_incident",
            "incident_id",
            unique=True,
            sqlite_where=text("status IN ('transferred', 'acknowledged')"),
            postgresql_where=text("status IN ('transferred', 'acknowledged')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_incidents.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int] = mapped_column(ForeignKey("dispatch_departments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    transferred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    feedback_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    returned_reason: Mapped[str | None] = mapped_column(Text, default=None)
    outcome: Mapped[str] = mapped_column(Text, default="")
    overdue: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ack_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    feedback_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    actor: Mapped[str] = mapped_column(String(200), default="")

    department: Mapped[Department] = relationship()
    updates: Mapped[list[TransferUpdate]] = relationship(
        order_by="TransferUpdate.id", cascade="all, delete-orphan"
    )


class TransferUpdate(Base):
    """One message of the department on a transfer: ack, progress, resolve or return."""

    __tablename__ = "dispatch_transfer_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_transfers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # ack | progress | resolve | return
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="")


class FollowUpCase(Base):
    """A dispute follow-up case (枫桥经验): community police revisit until it is settled.

    At most one open case per incident (partial unique index).
    """

    __tablename__ = "dispatch_follow_ups"
    __table_args__ = (
        Index(
            "uq_dispatch_follow_ups_open_incident",
            "incident_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_incidents.id", ondelete="CASCADE"), index=True
    )
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    assignee: Mapped[str] = mapped_column(String(64))
    """A community police unit's callsign or an officer's username."""
    status: Mapped[str] = mapped_column(String(8), index=True)  # open | closed
    summary: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcome: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="")

    visits: Mapped[list[FollowUpVisit]] = relationship(
        order_by="FollowUpVisit.scheduled_at, FollowUpVisit.id", cascade="all, delete-orphan"
    )


class FollowUpVisit(Base):
    """A scheduled visit (回访) of a follow-up case; overdue when not done in time."""

    __tablename__ = "dispatch_follow_up_visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_follow_ups.id", ondelete="CASCADE"), index=True
    )
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outcome: Mapped[str] = mapped_column(Text, default="")
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    actor: Mapped[str] = mapped_column(String(200), default="")


class SecurityEvent(Base):
    """A large event under security (大型活动安保): perimeter, crowd, time window, status."""

    __tablename__ = "dispatch_security_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    perimeter: Mapped[str] = mapped_column(Text)
    """The perimeter polygon as GeoJSON geometry text (lon/lat)."""
    expected_crowd: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)  # planned | active | ended
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The last proposal's solver summary (method, objective, gap, coverage per kind)."""

    posts: Mapped[list[SecurityPost]] = relationship(
        back_populates="event", order_by="SecurityPost.id", cascade="all, delete-orphan"
    )


class SecurityPost(Base):
    """One post of an event's security plan (foot, K9, drone), with the unit staffing it."""

    __tablename__ = "dispatch_security_posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_security_events.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    node: Mapped[int] = mapped_column(Integer)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("dispatch_units.id", ondelete="SET NULL"), default=None, index=True
    )
    covered_share: Mapped[float] = mapped_column(Float, default=0.0)
    assigned_share: Mapped[float] = mapped_column(Float, default=0.0)
    mean_cost_s: Mapped[float] = mapped_column(Float, default=0.0)
    inside: Mapped[bool] = mapped_column(Boolean, default=True)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    eta_s: Mapped[float | None] = mapped_column(Float, default=None)
    """The assigned unit's ETA to the post when it was assigned."""

    event: Mapped[SecurityEvent] = relationship(back_populates="posts")


class StandbyPost(Base):
    """One standby post of a city's move-up plan (rank 1 is filled first: a compliance table)."""

    __tablename__ = "dispatch_standby_posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    node: Mapped[int] = mapped_column(Integer)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    basis: Mapped[str] = mapped_column(String(20))
    """What the demand was: ``incidents`` (recorded calls) or ``pois`` (POIs + road density)."""


class TriageRuleSet(Base):
    """One version of the triage rules and run cards (研判规则 · 出动标准) a supervisor saved.

    Append-only history: the rules in force are the newest row (highest id), else the
    shipped defaults. Reverting to an older version appends a copy of it as a new row.
    """

    __tablename__ = "dispatch_triage_rule_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(100))
    """The ``version`` field of the document."""
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The whole rule set as JSON (``triage.rules_to_dict`` form)."""
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
