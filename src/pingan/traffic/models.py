"""Tables of the traffic desk: signals, corridors, versioned timing plans, deployments and
evaluation jobs (prefix ``traffic_``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from pingan.core.clock import now
from pingan.core.db import Base, UTCDateTime


class TrafficSignal(Base):
    """A signalised intersection (信号灯路口) of a city, snapped to the drive graph."""

    __tablename__ = "traffic_signals"
    __table_args__ = (UniqueConstraint("city_id", "node_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    source: Mapped[str] = mapped_column(String(32))
    """``osm_traffic_signals`` (an OSM highway=traffic_signals node) or ``derived_junction``."""
    poi_id: Mapped[int | None] = mapped_column(
        ForeignKey("pois.id", ondelete="SET NULL"), default=None
    )
    osm_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    node_index: Mapped[int] = mapped_column(Integer)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    name: Mapped[str] = mapped_column(String(300), default="")
    timing: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The current timing (:class:`pingan.traffic.timing.SignalTiming` as JSON)."""
    timing_source: Mapped[str] = mapped_column(String(40), default="assumed_default")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class Corridor(Base):
    """An arterial corridor (干线) towards a destination: its ordered signals and path."""

    __tablename__ = "traffic_corridors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    destination_poi_id: Mapped[int | None] = mapped_column(
        ForeignKey("pois.id", ondelete="SET NULL"), default=None
    )
    destination: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """{lon, lat, name, node}."""
    nodes: Mapped[list[int]] = mapped_column(JSON, default=list)
    """Drive-graph nodes from the corridor's start to the destination."""
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    signals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Ordered: [{signal_id, node, position_m, flow}] (flow: trips of the demand model)."""
    metres: Mapped[float] = mapped_column(Float, default=0.0)
    trips: Mapped[float] = mapped_column(Float, default=0.0)
    speed_limit_mps: Mapped[float] = mapped_column(Float, default=13.9)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class TimingPlan(Base):
    """One version of a corridor's green-wave plan (绿波方案) for one time-of-day period."""

    __tablename__ = "traffic_plans"
    __table_args__ = (UniqueConstraint("corridor_id", "version", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    corridor_id: Mapped[int] = mapped_column(
        ForeignKey("traffic_corridors.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(16))
    hours: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    """``draft`` | ``deployed`` | ``superseded``."""
    cycle_s: Mapped[float] = mapped_column(Float)
    band_out_s: Mapped[float] = mapped_column(Float)
    band_in_s: Mapped[float] = mapped_column(Float)
    efficiency: Mapped[float] = mapped_column(Float)
    timings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """Per signal in corridor order: offset and phase splits (SignalTiming JSON)."""
    band: Mapped[dict[str, Any]] = mapped_column(JSON)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Cycle and speed ranges, volumes and the assumptions they came from."""
    coordination: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    deployed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Deployment(Base):
    """A plan marked deployed (下发): who, when, which version it replaced."""

    __tablename__ = "traffic_deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("traffic_plans.id"), index=True)
    corridor_id: Mapped[int] = mapped_column(ForeignKey("traffic_corridors.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    superseded_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("traffic_plans.id"), default=None
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class Evaluation(Base):
    """A SUMO evaluation run as a job: queued, running (with progress), done or failed."""

    __tablename__ = "traffic_evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    scenario: Mapped[str] = mapped_column(String(500))
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("traffic_plans.id"), default=None, index=True
    )
    """A stored plan evaluated on its city's SUMO network (``scenario`` then names the city)."""
    seeds: Mapped[int] = mapped_column(Integer, default=1)
    controllers: Mapped[list[str]] = mapped_column(JSON, default=list)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    calibrate: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    error_key: Mapped[str | None] = mapped_column(String(80), default=None)
    pid: Mapped[int | None] = mapped_column(Integer, default=None)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
