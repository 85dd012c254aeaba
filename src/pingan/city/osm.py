"""Read an OpenStreetMap PBF (or XML) file into plain arrays: roads, POIs, boundaries.

Pure parsing with pyosmium, no database. The rules that decide what a car or a
pedestrian may use, and how fast, live here so they can be tested on their own:

* Drivable: motorway .. residential, their ``*_link`` roads, unclassified,
  living_street, road and service. ``service=parking_aisle|driveway|drive-through``
  are left out: they are dead ends that add thousands of nodes and pull the
  snapping of an address off the street it is on.
* ``access=no|private`` (or ``motor_vehicle``/``vehicle`` = no|private) removes a
  road for cars unless ``motor_vehicle`` re-allows it. Emergency vehicles may in
  reality use some of these; the plan assumes they do not, which errs on the safe
  side for response-time estimates.
* ``oneway=yes|true|1`` forward, ``-1|reverse`` backward; roundabouts and
  motorways are one-way unless tagged ``oneway=no``.
* Speed: ``maxspeed`` when it parses (``50``, ``50 mph``, ``FI:urban``, ``walk``),
  otherwise a default by road class.
* Walking: footways, paths, steps, pedestrian streets, tracks, cycleways and every
  ordinary street below motorway/trunk, both directions at 5 km/h, unless
  ``foot=no`` or ``access=no|private`` without ``foot=yes``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import osmium
from numpy.typing import NDArray

DRIVE_CLASSES: Final = (
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "living_street",
    "road",
    "service",
)
"""Road classes a car may use, most important first (the index is the class code)."""

WALK_ONLY_CLASSES: Final = (
    "pedestrian",
    "footway",
    "path",
    "steps",
    "track",
    "cycleway",
    "bridleway",
    "corridor",
    "elevator",
    "trail",
    "platform",
)
"""Ways only a pedestrian uses (in addition to the ordinary streets)."""

ROAD_CLASSES: Final = DRIVE_CLASSES + WALK_ONLY_CLASSES
"""Every class a stored road line may have; index = ``class code``."""

NOT_WALKABLE: Final = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
EXCLUDED_SERVICE: Final = frozenset({"parking_aisle", "driveway", "drive-through"})
NO_ACCESS: Final = frozenset({"no", "private"})
ALLOW_ACCESS: Final = frozenset({"yes", "designated", "permissive", "destination", "delivery"})

DEFAULT_SPEED_KMH: Final[Mapping[str, float]] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 50.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "road": 30.0,
    "service": 15.0,
}
"""Free-flow speed by road class when a road has no usable ``maxspeed``."""

WALK_SPEED_KMH: Final = 5.0

# Implicit limits (``<country>:<zone>``); zones not listed for a country use GENERIC_ZONE.
GENERIC_ZONE_KMH: Final[Mapping[str, float]] = {
    "urban": 50.0,
    "rural": 80.0,
    "trunk": 100.0,
    "motorway": 120.0,
    "living_street": 20.0,
    "zone20": 20.0,
    "zone30": 30.0,
    "bicycle_road": 30.0,
    "walk": 7.0,
}
COUNTRY_ZONE_KMH: Final[Mapping[str, float]] = {
    "FI:rural": 80.0,
    "FI:motorway": 120.0,
    "RU:urban": 60.0,
    "RU:rural": 90.0,
    "RU:motorway": 110.0,
    "CN:urban": 50.0,
    "CN:rural": 70.0,
    "CN:motorway": 120.0,
    "DE:rural": 100.0,
    "DE:motorway": 130.0,
    "FR:rural": 80.0,
    "FR:motorway": 130.0,
    "GB:nsl_single": 96.56,
    "GB:nsl_dual": 112.65,
    "GB:motorway": 112.65,
    "UK:nsl_single": 96.56,
    "UK:nsl_dual": 112.65,
    "UK:motorway": 112.65,
    "US:urban": 40.23,
}
WORD_SPEED_KMH: Final[Mapping[str, float]] = {"walk": 7.0, "none": 130.0, "living_street": 20.0}

_NUMBER_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$")
_MPH_KMH: Final = 1.609344


class OsmFileError(ValueError):
    """The file cannot be read as OpenStreetMap data (``reason`` says why)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def parse_maxspeed(value: str | None) -> float | None:
    """A ``maxspeed`` tag in km/h, or None when it gives no number (``signals``, ``variable``)."""
    if not value:
        return None
    # "50;30" or "50 mph; 30 mph": several limits; the first is the main carriageway's.
    text = value.split(";")[0].strip()
    match = _NUMBER_UNIT.match(text)
    if match:
        number = float(match.group(1))
        unit = match.group(2)
        if unit == "mph":
            number *= _MPH_KMH
        elif unit == "knots":
            number *= 1.852
        return number if number > 0 else None
    if text in WORD_SPEED_KMH:
        return WORD_SPEED_KMH[text]
    if ":" in text:
        if text in COUNTRY_ZONE_KMH:
            return COUNTRY_ZONE_KMH[text]
        zone = text.split(":", 1)[1]
        return GENERIC_ZONE_KMH.get(zone)
    return None


def parse_oneway(tags: Mapping[str, str]) -> int:
    """1 for one-way along the way, -1 against it, 0 for both directions."""
    value = (tags.get("oneway") or "").strip().lower()
    if value in ("yes", "true", "1"):
        return 1
    if value in ("-1", "reverse"):
        return -1
    if value in ("no", "false", "0", "alternating", "reversible"):
        return 0
    if tags.get("junction") in ("roundabout", "circular"):
        return 1
    if tags.get("highway") in ("motorway", "motorway_link"):
        return 1
    return 0


def is_drivable(tags: Mapping[str, str]) -> bool:
    """Whether a car may drive on a way with these tags."""
    highway = tags.get("highway")
    if highway not in DEFAULT_SPEED_KMH:
        return False
    if tags.get("area") == "yes":
        return False
    if highway == "service" and tags.get("service") in EXCLUDED_SERVICE:
        return False
    motor = tags.get("motor_vehicle") or tags.get("motorcar")
    if motor in ALLOW_ACCESS:
        return True
    if motor in NO_ACCESS or tags.get("vehicle") in NO_ACCESS:
        return False
    return tags.get("access") not in NO_ACCESS


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Whether a pedestrian may walk along a way with these tags."""
    highway = tags.get("highway")
    if highway is None or highway in NOT_WALKABLE:
        return False
    if highway not in DEFAULT_SPEED_KMH and highway not in WALK_ONLY_CLASSES:
        return False
    foot = tags.get("foot")
    if foot in ALLOW_ACCESS:
        return True
    if foot in NO_ACCESS:
        return False
    return tags.get("access") not in NO_ACCESS


def road_speed_kmh(tags: Mapping[str, str], fallback_kmh: float = 30.0) -> float:
    """The free-flow speed of a drivable way: its ``maxspeed``, else its class default."""
    speed = parse_maxspeed(tags.get("maxspeed"))
    if speed is None:
        speed = parse_maxspeed(tags.get("maxspeed:forward"))
    if speed is None:
        speed = DEFAULT_SPEED_KMH.get(tags.get("highway") or "", fallback_kmh)
    return speed


POI_KINDS: Final = (
    "hospital",
    "clinic",
    "police",
    "fire_station",
    "school",
    "university",
    "traffic_signals",
)


def poi_kind(tags: Mapping[str, str]) -> str | None:
    """The POI kind the platform cares about for a feature, or None.

    Clinics and doctors stay ``clinic``: sending an ambulance to a walk-in clinic
    as if it were an emergency department would be wrong.
    """
    amenity = tags.get("amenity")
    healthcare = tags.get("healthcare")
    if amenity == "hospital" or healthcare == "hospital":
        return "hospital"
    if amenity in ("clinic", "doctors") or healthcare in ("clinic", "doctor"):
        return "clinic"
    if amenity == "police":
        return "police"
    if amenity == "fire_station":
        return "fire_station"
    if amenity == "school":
        return "school"
    if amenity in ("university", "college"):
        return "university"
    if tags.get("highway") == "traffic_signals":
        return "traffic_signals"
    return None


@dataclass(frozen=True)
class RoadWay:
    """One highway way: its nodes in order and what may use it how fast."""

    osm_id: int
    highway: str
    name: str
    node_ids: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    drivable: bool
    walkable: bool
    oneway: int
    speed_kmh: float


@dataclass(frozen=True)
class PoiFeature:
    """A point of interest: a node, or the centroid of a way or relation."""

    kind: str
    name: str
    lon: float
    lat: float
    osm_type: str  # "n", "w" or "r"
    osm_id: int
    tags: dict[str, str]


@dataclass(frozen=True)
class BoundaryRelation:
    """An administrative boundary with the coordinates of its member ways by role."""

    osm_id: int
    admin_level: int
    name: str
    outer: list[NDArray[np.float64]]  # each (k, 2) lon/lat; NaN rows where clipped
    inner: list[NDArray[np.float64]]
    missing_members: int  # member ways absent from the file

    @property
    def complete(self) -> bool:
        """Whether every member way is present with all its nodes."""
        return self.missing_members == 0 and not any(
            bool(np.isnan(c).any()) for c in (*self.outer, *self.inner)
        )


@dataclass
class OsmExtract:
    """Everything the city import needs from one file."""

    bbox: tuple[float, float, float, float] | None
    node_count: int = 0
    way_count: int = 0
    relation_count: int = 0
    roads: list[RoadWay] = field(default_factory=list)
    pois: list[PoiFeature] = field(default_factory=list)
    boundaries: list[BoundaryRelation] = field(default_factory=list)


_KEEP_POI_TAGS: Final = (
    "name",
    "name:en",
    "name:zh",
    "amenity",
    "healthcare",
    "emergency",
    "highway",
    "operator",
    "addr:street",
    "addr:housenumber",
    "phone",
)


def _tags(tag_list: osmium.osm.TagList) -> dict[str, str]:
    return {t.k: t.v for t in tag_list}


def _relation_pass(
    path: str,
) -> tuple[
    dict[int, tuple[int, str, list[tuple[int, str]]]],
    dict[int, tuple[str, dict[str, str], list[int]]],
    int,
]:
    boundaries: dict[int, tuple[int, str, list[tuple[int, str]]]] = {}
    poi_relations: dict[int, tuple[str, dict[str, str], list[int]]] = {}
    count = 0
    for rel in osmium.FileProcessor(path, osmium.osm.RELATION):
        if not isinstance(rel, osmium.osm.Relation):
            continue
        count += 1
        tags = _tags(rel.tags)
        if tags.get("boundary") == "administrative" and tags.get("type") in (
            "boundary",
            "multipolygon",
        ):
            try:
                level = int(tags.get("admin_level", ""))
            except ValueError:
                continue
            members = [(m.ref, m.role) for m in rel.members if m.type == "w"]
            boundaries[rel.id] = (level, tags.get("name", ""), members)
            continue
        kind = poi_kind(tags)
        if kind is not None and tags.get("type") == "multipolygon":
            keep = {k: v for k, v in tags.items() if k in _KEEP_POI_TAGS}
            poi_relations[rel.id] = (kind, keep, [m.ref for m in rel.members if m.type == "w"])
    return boundaries, poi_relations, count


def read_osm(
    path: str | Path,
    *,
    fallback_speed_kmh: float = 30.0,
    progress: Callable[[str], None] | None = None,
) -> OsmExtract:
    """Parse ``path`` into roads, POIs and administrative boundaries.

    Raises :class:`OsmFileError` when the file is missing or not OSM data.
    """
    source = Path(path)
    if not source.is_file():
        raise OsmFileError("missing", str(source))
    if source.stat().st_size == 0:
        raise OsmFileError("empty", str(source))
    name = str(source)
    try:
        return _read(name, fallback_speed_kmh, progress)
    except OsmFileError:
        raise
    except (RuntimeError, ValueError, OSError, osmium.InvalidLocationError) as exc:
        raise OsmFileError("unreadable", f"{type(exc).__name__}: {exc}") from exc


def _header_bbox(path: str) -> tuple[float, float, float, float] | None:
    reader = osmium.io.Reader(path, osmium.osm.osm_entity_bits.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def _read(
    path: str, fallback_speed_kmh: float, progress: Callable[[str], None] | None
) -> OsmExtract:
    bbox = _header_bbox(path)
    if progress:
        progress("relations")
    boundary_rels, poi_rels, relation_count = _relation_pass(path)
    member_ways: dict[int, NDArray[np.float64] | None] = {}
    for _level, _name, members in boundary_rels.values():
        for ref, _role in members:
            member_ways[ref] = None
    poi_member_ways: dict[int, NDArray[np.float64] | None] = {}
    for _kind, _keep, refs in poi_rels.values():
        for ref in refs:
            poi_member_ways[ref] = None

    extract = OsmExtract(bbox=bbox, relation_count=relation_count)
    if progress:
        progress("nodes and ways")
    processor = osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY).with_locations()
    min_lon = min_lat = math.inf
    max_lon = max_lat = -math.inf
    for obj in processor:
        if isinstance(obj, osmium.osm.Node):
            extract.node_count += 1
            loc = obj.location
            if loc.valid():
                min_lon = min(min_lon, loc.lon)
                max_lon = max(max_lon, loc.lon)
                min_lat = min(min_lat, loc.lat)
                max_lat = max(max_lat, loc.lat)
            if len(obj.tags) == 0:
                continue
            tags = _tags(obj.tags)
            kind = poi_kind(tags)
            if kind is not None and loc.valid():
                extract.pois.append(
                    PoiFeature(
                        kind=kind,
                        name=tags.get("name", ""),
                        lon=loc.lon,
                        lat=loc.lat,
                        osm_type="n",
                        osm_id=obj.id,
                        tags={k: v for k, v in tags.items() if k in _KEEP_POI_TAGS},
                    )
                )
            continue
        if not isinstance(obj, osmium.osm.Way):
            continue
        extract.way_count += 1
        wanted_member = obj.id in member_ways or obj.id in poi_member_ways
        tags = _tags(obj.tags)
        highway = tags.get("highway")
        kind = poi_kind(tags) if highway is None else None
        road = highway is not None and (highway in ROAD_CLASSES)
        if not (road or kind or wanted_member):
            continue
        ids: list[int] = []
        lons: list[float] = []
        lats: list[float] = []
        for node in obj.nodes:
            loc = node.location
            if loc.valid():
                ids.append(node.ref)
                lons.append(loc.lon)
                lats.append(loc.lat)
            else:
                # A node outside the extract: mark the gap so the way is split there.
                ids.append(-1)
                lons.append(math.nan)
                lats.append(math.nan)
        coords = np.column_stack([np.asarray(lons), np.asarray(lats)]) if ids else None
        if wanted_member and coords is not None:
            valid = coords[~np.isnan(coords[:, 0])]
            if obj.id in member_ways and len(valid):
                # Keep gaps (NaN rows) where the extract clipped the way: districts.py
                # closes such rings along the extract's edge.
                member_ways[obj.id] = coords
            if obj.id in poi_member_ways:
                poi_member_ways[obj.id] = valid
        if kind is not None and coords is not None:
            valid = coords[~np.isnan(coords[:, 0])]
            if len(valid):
                closed = len(ids) > 3 and ids[0] == ids[-1]
                centre = _centroid(valid) if closed else valid.mean(axis=0)
                extract.pois.append(
                    PoiFeature(
                        kind=kind,
                        name=tags.get("name", ""),
                        lon=float(centre[0]),
                        lat=float(centre[1]),
                        osm_type="w",
                        osm_id=obj.id,
                        tags={k: v for k, v in tags.items() if k in _KEEP_POI_TAGS},
                    )
                )
        if road and highway is not None:
            drivable = is_drivable(tags)
            walkable = is_walkable(tags)
            if not (drivable or walkable) or len(ids) < 2:
                continue
            extract.roads.append(
                RoadWay(
                    osm_id=obj.id,
                    highway=highway,
                    name=tags.get("name", ""),
                    node_ids=np.asarray(ids, dtype=np.int64),
                    lon=np.asarray(lons, dtype=np.float64),
                    lat=np.asarray(lats, dtype=np.float64),
                    drivable=drivable,
                    walkable=walkable,
                    oneway=parse_oneway(tags) if drivable else 0,
                    speed_kmh=road_speed_kmh(tags, fallback_speed_kmh) if drivable else 0.0,
                )
            )

    for rel_id, (level, rel_name, members) in boundary_rels.items():
        outer: list[NDArray[np.float64]] = []
        inner: list[NDArray[np.float64]] = []
        missing = 0
        for ref, role in members:
            coords = member_ways.get(ref)
            if coords is None:
                missing += 1
                continue
            (inner if role == "inner" else outer).append(coords)
        extract.boundaries.append(
            BoundaryRelation(
                osm_id=rel_id,
                admin_level=level,
                name=rel_name,
                outer=outer,
                inner=inner,
                missing_members=missing,
            )
        )
    for rel_id, (kind, keep, refs) in poi_rels.items():
        parts = [c for ref in refs if (c := poi_member_ways.get(ref)) is not None and len(c)]
        if not parts:
            continue
        centre = np.concatenate(parts).mean(axis=0)
        extract.pois.append(
            PoiFeature(
                kind=kind,
                name=keep.get("name", ""),
                lon=float(centre[0]),
                lat=float(centre[1]),
                osm_type="r",
                osm_id=rel_id,
                tags=keep,
            )
        )
    if extract.bbox is None and math.isfinite(min_lon):
        extract.bbox = (min_lon, min_lat, max_lon, max_lat)
    return extract


def _centroid(ring: NDArray[np.float64]) -> NDArray[np.float64]:
    """Area centroid of a closed ring (lon/lat), the vertex mean when it is degenerate."""
    x, y = ring[:, 0], ring[:, 1]
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    area = cross.sum() / 2.0
    if abs(area) < 1e-14:
        return np.asarray(ring.mean(axis=0), dtype=np.float64)
    cx = ((x[:-1] + x[1:]) * cross).sum() / (6.0 * area)
    cy = ((y[:-1] + y[1:]) * cross).sum() / (6.0 * area)
    return np.array([cx, cy])
