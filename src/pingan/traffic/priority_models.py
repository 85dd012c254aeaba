"""Tables of emergency priority (应急优先 · 绿色通道): corridors, signal requests, units seen.

The traffic desk never reads the dispatch desk's tables: what it knows of units comes from
dispatch events (:class:`PriorityUnit` is that read model), so ``unit_id`` and
``incident_id`` are the dispatch desk's ids without foreign keys across desks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.core.db import Base, UTCDateTime

CORRIDOR_STATUSES = ("active", "cleared", "cancelled")
REQUEST_STATES = ("requested", "serving", "released", "restored")


class PriorityUnit(Base):
    """A dispatch unit as the traffic desk last heard of it (from dispatch events)."""

    __tablename__ = "traffic_priority_units"

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    callsign: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(20), default="")
    incident_id: Mapped[int | None] = mapped_column(Integer, default=None)
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PriorityCorridor(Base):
    """A green corridor (绿色通道) requested ahead of one emergency vehicle on its route."""

    __tablename__ = "traffic_priority_corridors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    """The jurisdiction of the destination (its district's, else the city's)."""
    kind: Mapped[str] = mapped_column(String(16))  # incident | hospital | manual
    unit_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    callsign: Mapped[str] = mapped_column(String(40), default="")
    incident_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    priority: Mapped[str | None] = mapped_column(String(4), default=None)
    destination_name: Mapped[str] = mapped_column(String(300), default="")
    hospital_id: Mapped[int | None] = mapped_column(
        ForeignKey("pois.id", ondelete="SET NULL"), default=None
    )
    origin_lon: Mapped[float] = mapped_column(Float)
    origin_lat: Mapped[float] = mapped_column(Float)
    dest_lon: Mapped[float] = mapped_column(Float)
    dest_lat: Mapped[float] = mapped_column(Float)
    route_nodes: Mapped[list[int]] = mapped_column(JSON, default=list)
    geometry: Mapped[list[list[float]]] = mapped_column(JSON, default=list)
    """The route as [[lon, lat], ...]."""
    route_s: Mapped[float] = mapped_column(Float)
    route_m: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)  # CORRIDOR_STATUSES
    reason: Mapped[str] = mapped_column(String(300), default="")
    """Why it started (and, once ended, why it ended)."""
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    requests: Mapped[list[PriorityRequest]] = relationship(
        back_populates="corridor", order_by="PriorityRequest.seq", cascade="all, delete-orphan"
    )


class PriorityRequest(Base):
    """One signal's priority request within a corridor, in driving order."""

    __tablename__ = "traffic_priority_requests"
    __table_args__ = (UniqueConstraint("corridor_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    corridor_id: Mapped[int] = mapped_column(
        ForeignKey("traffic_priority_corridors.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    node: Mapped[int] = mapped_column(Integer)
    route_index: Mapped[int] = mapped_column(Integer)
    signal_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    """The desk's ``traffic_signals`` ids merged into this intersection (OSM tags one signal
    per approach; signals within ``merge_m`` along the route are one intersection)."""
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    approach: Mapped[str] = mapped_column(String(12))
    phase: Mapped[int] = mapped_column(Integer)
    """The plan's phase that serves the vehicle's approach (the priority green)."""
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The plan the request was computed on: phases (state, duration, kind), offset, source."""
    transition_s: Mapped[float] = mapped_column(Float)
    """Worst-case safe transition to the priority green (minimum green + yellow + all-red)."""
    eta_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_at: Mapped[datetime] = mapped_column(UTCDateTime())
    green_by_at: Mapped[datetime] = mapped_column(UTCDateTime())
    serve_until: Mapped[datetime] = mapped_column(UTCDateTime())
    capped: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(12), index=True)  # REQUEST_STATES
    served_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    release_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    """passed (position past it) | eta (ETA + margin, no position) | ended (corridor over)."""
    restore_s: Mapped[float | None] = mapped_column(Float, default=None)
    """Length of the shortest safe transition back to the coordinated plan."""
    restore_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    corridor: Mapped[PriorityCorridor] = relationship(back_populates="requests")
