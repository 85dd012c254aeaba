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
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("dispatch_incidents.id", ondelete="SET NULL"), default=None
    )
    demo: Mapped[bool] = mapped_column(Boolean, default=False)


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
