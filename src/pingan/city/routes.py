"""HTTP routes of the city model (mounted under ``/api``): cities, map layers, routing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from pingan.city import service
from pingan.city.osm import POI_KINDS
from pingan.city.schemas import (
    CityRead,
    FeatureCollection,
    RouteRead,
    TravelTimesRead,
    TravelTimesRequest,
)
from pingan.core.auth.deps import Principal, require
from pingan.core.deps import DbSession, PlatformContext, RowId

router = APIRouter(prefix="/city", tags=["city"])

Reader = Annotated[Principal, require("city.read")]
Lon = Annotated[float, Query(ge=-180, le=180)]
Lat = Annotated[float, Query(ge=-90, le=90)]


@router.get("/cities", response_model=list[CityRead], summary="Imported cities")
def list_cities(who: Reader, db: DbSession) -> Any:
    """Every imported city."""
    return service.list_cities(session=db)


@router.get("/cities/{city_id}", response_model=CityRead, summary="One city")
def get_city(city_id: RowId, who: Reader, db: DbSession) -> Any:
    """One city by id."""
    return service.get_city(session=db, city_id=city_id)


@router.get("/cities/{city_id}/roads", response_model=FeatureCollection, summary="Road lines")
def roads(city_id: RowId, who: Reader, db: DbSession, ctx: PlatformContext) -> Any:
    """The drivable roads as GeoJSON LineStrings (properties: highway, name)."""
    city = service.get_city(session=db, city_id=city_id)
    return service.road_layer(city=city, data_dir=ctx.settings.data_dir)


@router.get(
    "/cities/{city_id}/districts", response_model=FeatureCollection, summary="Police districts"
)
def districts(city_id: RowId, who: Reader, db: DbSession) -> Any:
    """The districts as GeoJSON polygons (properties: code, name, jurisdiction_id)."""
    city = service.get_city(session=db, city_id=city_id)
    return service.district_layer(session=db, city=city)


@router.get(
    "/cities/{city_id}/pois", response_model=FeatureCollection, summary="Points of interest"
)
def pois(
    city_id: RowId,
    who: Reader,
    db: DbSession,
    kind: Annotated[str | None, Query(description=f"One of: {', '.join(POI_KINDS)}")] = None,
) -> Any:
    """Hospitals, clinics, police and fire stations, schools, traffic signals (GeoJSON points)."""
    city = service.get_city(session=db, city_id=city_id)
    return service.poi_layer(session=db, city=city, kind=kind)


@router.get("/cities/{city_id}/route", response_model=RouteRead, summary="Fastest drive")
def route(
    city_id: RowId,
    who: Reader,
    db: DbSession,
    ctx: PlatformContext,
    from_lon: Lon,
    from_lat: Lat,
    to_lon: Lon,
    to_lat: Lat,
) -> Any:
    """The fastest drive between two points: seconds, metres and a GeoJSON LineString."""
    city = service.get_city(session=db, city_id=city_id)
    return service.route_between(
        city=city,
        data_dir=ctx.settings.data_dir,
        from_lon=from_lon,
        from_lat=from_lat,
        to_lon=to_lon,
        to_lat=to_lat,
    )


@router.post(
    "/cities/{city_id}/travel-times",
    response_model=TravelTimesRead,
    summary="Drive times from (or to) one point",
)
def travel_times(
    city_id: RowId, body: TravelTimesRequest, who: Reader, db: DbSession, ctx: PlatformContext
) -> Any:
    """Seconds to each target, or every road node within ``cutoff_s``."""
    city = service.get_city(session=db, city_id=city_id)
    return service.travel_times(city=city, data_dir=ctx.settings.data_dir, request=body)
