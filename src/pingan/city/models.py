"""Tables of the city model: cities, their districts and points of interest.

The road graph itself is not in the database: it lives in a compact file beside it
(``City.graph_file``, relative to the data directory), with the road lines the map draws.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pingan.core.clock import now
from pingan.core.db import Base, UTCDateTime

OSM_ATTRIBUTION = "© OpenStreetMap contributors"


class City(Base):
    """A city imported from OpenStreetMap (城市路网): its graph file and where it came from."""

    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    source_file: Mapped[str] = mapped_column(String(255))
    source_sha256: Mapped[str] = mapped_column(String(64))
    bbox: Mapped[list[float]] = mapped_column(JSON)  # [min_lon, min_lat, max_lon, max_lat]
    node_count: Mapped[int] = mapped_column(Integer)
    edge_count: Mapped[int] = mapped_column(Integer)
    walk_node_count: Mapped[int] = mapped_column(Integer, default=0)
    walk_edge_count: Mapped[int] = mapped_column(Integer, default=0)
    graph_file: Mapped[str] = mapped_column(String(500))
    district_method: Mapped[str] = mapped_column(String(20))  # admin | voronoi | single
    admin_level: Mapped[int | None] = mapped_column(Integer, default=None)
    attribution: Mapped[str] = mapped_column(String(200), default=OSM_ATTRIBUTION)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None
    )
    imported_by: Mapped[str] = mapped_column(String(64), default="")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    districts: Mapped[list[District]] = relationship(
        back_populates="city", cascade="all, delete-orphan", order_by="District.id"
    )


class District(Base):
    """A police district (分局辖区) of a city, with its polygon and jurisdiction."""

    __tablename__ = "districts"
    __table_args__ = (UniqueConstraint("city_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON geometry
    osm_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    node_count: Mapped[int] = mapped_column(Integer, default=0)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None
    )

    city: Mapped[City] = relationship(back_populates="districts")


class Poi(Base):
    """A point of interest: hospital, clinic, police or fire station, school, traffic signal."""

    __tablename__ = "pois"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    osm_type: Mapped[str] = mapped_column(String(1))  # n | w | r
    osm_id: Mapped[int] = mapped_column(BigInteger)
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    node_index: Mapped[int | None] = mapped_column(Integer, default=None)
    """The nearest node of the city's drive graph (where a vehicle stops for it)."""
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="SET NULL"), default=None
    )
