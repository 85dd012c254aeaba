"""Pydantic models of the city model's API and import report."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class CityRead(BaseModel):
    """A city as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    source_file: str
    source_sha256: str
    bbox: list[float]
    node_count: int
    edge_count: int
    walk_node_count: int
    walk_edge_count: int
    district_method: str
    admin_level: int | None
    attribution: str
    jurisdiction_id: int | None
    imported_at: datetime


class Feature(BaseModel):
    """A GeoJSON feature."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any]
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    """A GeoJSON feature collection, with the data's attribution."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]
    attribution: str = ""


class LonLat(BaseModel):
    """A point in WGS84 degrees."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class RouteRead(BaseModel):
    """The fastest drive between two points, snapped to the road network."""

    seconds: float
    metres: float
    from_snap_m: float = Field(description="Distance from the start point to the road (m).")
    to_snap_m: float = Field(description="Distance from the end point to the road (m).")
    geometry: dict[str, Any] = Field(description="GeoJSON LineString, lon/lat.")


class TravelTimesRequest(BaseModel):
    """One origin and either targets (their times) or a cutoff (the reachable area)."""

    origin: LonLat
    targets: list[LonLat] | None = Field(default=None, max_length=5000)
    cutoff_s: float | None = Field(default=None, gt=0, le=6 * 3600)
    direction: Literal["from", "to"] = Field(
        default="from", description="`from` the origin to targets, or `to` the origin from them."
    )

    @model_validator(mode="after")
    def _targets_or_cutoff(self) -> TravelTimesRequest:
        if not self.targets and self.cutoff_s is None:
            raise ValueError("give targets or cutoff_s")
        return self


class TravelTimesRead(BaseModel):
    """Seconds per target (None when unreachable or beyond the cutoff), or reached nodes."""

    seconds: list[float | None] | None = None
    reachable: list[list[float]] | None = Field(
        default=None, description="[lon, lat, seconds] of every node within the cutoff."
    )


class DistrictSummary(BaseModel):
    """A district in the import report."""

    code: str
    name: str
    nodes: int
    closed_along_edge: bool = False


class ImportReport(BaseModel):
    """What an import did."""

    city_id: int
    name: str
    source_file: str
    nodes: int
    edges: int
    walk_nodes: int
    walk_edges: int
    dropped_nodes: int = Field(
        description="Drive nodes outside the largest strongly connected part."
    )
    pois: dict[str, int]
    district_method: Literal["admin", "voronoi", "single"]
    admin_level: int | None
    districts: list[DistrictSummary]
    graph_file: str
    graph_bytes: int
    seconds: float
    replaced: bool = False
