"""Police districts (分局辖区) of a city: OSM admin boundaries, else Voronoi, else one.

Pure functions over shapely geometries and numpy arrays.

1. Administrative boundaries. A relation whose member ways are all present forms
   closed rings the usual way. Extracts clip boundaries: member ways lose the nodes
   outside the extract, or vanish. Those rings are closed along the extract's
   frame: the surviving pieces of every boundary of one admin level, with the frame,
   are noded and polygonised, and a face is given to a relation when the relation's
   own ways (with the frame) enclose it alone, or when the other claimants own a
   neighbouring face across a shared way (a shared way is the border between two
   relations); a face still in doubt is left out. Only valid, non-empty polygons
   are kept, clipped to the frame.
   The admin level giving the most districts that hold roads wins, between
   ``MIN_DISTRICTS`` and ``MAX_DISTRICTS``.
2. Otherwise Voronoi cells around police stations, clipped to the road hull.
3. Otherwise one district covering the whole road network.

Road nodes outside every district belong to the nearest one.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points, polygonize, unary_union

from pingan.city.osm import BoundaryRelation

MIN_DISTRICTS: Final = 3
MAX_DISTRICTS: Final = 40
HULL_BUFFER_DEG: Final = 0.0005
"""About 50 m of margin around the road hull, so edge roads sit inside it."""

Method = Literal["admin", "voronoi", "single"]
Area: TypeAlias = Polygon | MultiPolygon


@dataclass(frozen=True)
class DistrictArea:
    """One district: a short code, its name and its polygon (lon/lat)."""

    code: str
    name: str
    geometry: Area
    osm_id: int | None = None
    closed_along_edge: bool = False


@dataclass(frozen=True)
class DistrictPlan:
    """The districts chosen for a city and the district of every road node."""

    method: Method
    admin_level: int | None
    districts: list[DistrictArea]
    node_district: NDArray[np.int32]


def slug(name: str) -> str:
    """An ASCII code for a name (``Etelä-Suomi`` -> ``etela-suomi``); empty when none."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40]


def unique_codes(names: Sequence[str], prefix: str = "d") -> list[str]:
    """Codes from names, made unique; names with no ASCII letters get ``<prefix>NN``."""
    codes: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(names, start=1):
        base = slug(name) or f"{prefix}{i:02d}"
        code, n = base, 2
        while code in seen:
            code, n = f"{base}-{n}", n + 1
        seen.add(code)
        codes.append(code)
    return codes


def _as_area(geom: BaseGeometry) -> Area | None:
    """The polygonal part of ``geom`` made valid, or None when there is none."""
    if geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    polys = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon | MultiPolygon)]
    if not polys:
        return None
    merged = unary_union(polys)
    if merged.is_empty or merged.area <= 0 or not isinstance(merged, Polygon | MultiPolygon):
        return None
    return merged


def assemble_closed(boundary: BoundaryRelation) -> Area | None:
    """The area of a boundary whose member ways are all present and form closed rings."""
    if not boundary.complete or not boundary.outer:
        return None
    outer = list(polygonize([LineString(c) for c in boundary.outer if len(c) >= 2]))
    if not outer:
        return None
    area: BaseGeometry = unary_union(outer)
    inner = list(polygonize([LineString(c) for c in boundary.inner if len(c) >= 2]))
    if inner:
        area = area.difference(unary_union(inner))
    return _as_area(area)


def _runs(coords: NDArray[np.float64], frame_edge: BaseGeometry) -> list[LineString]:
    """Pieces of a clipped way; ends cut by the extract are extended to the frame."""
    valid = ~np.isnan(coords[:, 0])
    bounds = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    lines: list[LineString] = []
    n = len(coords)
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        run = [tuple(p) for p in coords[start:end]]
        if start > 0:
            p = nearest_points(frame_edge, Point(run[0]))[0]
            run.insert(0, (p.x, p.y))
        if end < n:
            p = nearest_points(frame_edge, Point(run[-1]))[0]
            run.append((p.x, p.y))
        if len(run) >= 2:
            lines.append(LineString(run))
    return lines


def assemble_level(boundaries: Sequence[BoundaryRelation], frame: Polygon) -> list[DistrictArea]:
    """Areas of the boundaries of one admin level inside ``frame`` (see module doc)."""
    areas: list[DistrictArea] = []
    open_rels: list[BoundaryRelation] = []
    for rel in boundaries:
        closed = assemble_closed(rel)
        if closed is not None:
            clipped = _as_area(closed.intersection(frame))
            if clipped is not None:
                areas.append(DistrictArea("", rel.name, clipped, rel.osm_id))
            continue
        if rel.outer:
            open_rels.append(rel)
    if open_rels:
        areas.extend(_close_along_frame(open_rels, frame, [a.geometry for a in areas]))
    return areas


def _close_along_frame(
    rels: Sequence[BoundaryRelation], frame: Polygon, taken: Sequence[Area]
) -> list[DistrictArea]:
    edge = frame.exterior
    lines_of: dict[int, list[LineString]] = {}
    for rel in rels:
        lines_of[rel.osm_id] = [ln for c in rel.outer for ln in _runs(c, edge)]
    every = [ln for lines in lines_of.values() for ln in lines]
    if not every:
        return []
    faces = [f for f in polygonize(unary_union([*every, edge])) if f.area > 0]
    taken_union = unary_union(list(taken)) if taken else None
    tolerance = 1e-7 * max(frame.length, 1e-9)
    covers = {
        rel.osm_id: unary_union([*lines_of[rel.osm_id], edge]).buffer(tolerance * 10)
        for rel in rels
        if lines_of[rel.osm_id]
    }
    owner: dict[int, int] = {}  # face index -> relation id
    open_faces: dict[int, list[int]] = {}  # face index -> claimants
    for i, face in enumerate(faces):
        if taken_union is not None and taken_union.contains(face.representative_point()):
            continue
        if face.boundary.difference(edge.buffer(tolerance * 10)).length <= tolerance:
            continue  # bounded by the frame alone: nobody's area
        claimants = [
            rid
            for rid, cover in covers.items()
            if face.boundary.difference(cover).length <= tolerance
        ]
        if len(claimants) == 1:
            owner[i] = claimants[0]
        elif claimants:
            open_faces[i] = claimants
    # A way two relations share is the border between them: a face next to one that
    # relation R owns (across a border, not the frame) is not R's. Apply until stable.
    inner_edge = edge.buffer(tolerance * 10)
    progress = True
    while open_faces and progress:
        progress = False
        for i, claimants in list(open_faces.items()):
            border = faces[i].boundary.difference(inner_edge)
            neighbours = {
                owner[j] for j in owner if border.intersection(faces[j].boundary).length > tolerance
            }
            left = [rid for rid in claimants if rid not in neighbours]
            if len(left) == 1:
                owner[i] = left[0]
                del open_faces[i]
                progress = True
    won: dict[int, list[Polygon]] = {}
    for i, rid in owner.items():
        won.setdefault(rid, []).append(faces[i])
    result: list[DistrictArea] = []
    for rel in rels:
        if rel.osm_id in won:
            area = _as_area(unary_union(won[rel.osm_id]).intersection(frame))
            if area is not None:
                result.append(DistrictArea("", rel.name, area, rel.osm_id, True))
    return result


def road_hull(lon: NDArray[np.float64], lat: NDArray[np.float64], frame: Polygon | None) -> Area:
    """The convex hull of the road nodes with a small margin, inside the frame."""
    hull = MultiPoint(np.column_stack([lon, lat])).convex_hull.buffer(HULL_BUFFER_DEG)
    if frame is not None:
        inside = _as_area(hull.intersection(frame))
        if inside is not None:
            return inside
    area = _as_area(hull)
    if area is None:
        raise ValueError("road nodes span no area")
    return area


def _scale(lat0: float) -> float:
    return math.cos(math.radians(lat0))


def _to_plane(geom: BaseGeometry, k: float) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: xy * np.array([k, 1.0]))


def _from_plane(geom: BaseGeometry, k: float) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: xy / np.array([k, 1.0]))


def voronoi_districts(
    stations: Sequence[tuple[float, float, str]], hull: Area
) -> list[DistrictArea]:
    """One district per police station: its Voronoi cell clipped to the road hull."""
    unique: dict[tuple[float, float], str] = {}
    for lon, lat, name in stations:
        unique.setdefault((round(lon, 7), round(lat, 7)), name)
    points = list(unique)
    names = list(unique.values())
    codes = unique_codes(names, prefix="p")
    if len(points) == 1:
        return [DistrictArea(codes[0], names[0] or codes[0], hull)]
    k = _scale(float(np.mean([p[1] for p in points])))
    plane_hull = _to_plane(hull, k)
    cells = shapely.voronoi_polygons(
        MultiPoint([(x * k, y) for x, y in points]), extend_to=plane_hull, ordered=True
    )
    result: list[DistrictArea] = []
    for cell, code, name in zip(cells.geoms, codes, names, strict=True):
        area = _as_area(_from_plane(cell.intersection(plane_hull), k))
        if area is not None:
            result.append(DistrictArea(code, name or code, area))
    return result


def assign_nodes(
    districts: Sequence[DistrictArea], lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> NDArray[np.int32]:
    """The index of the district containing each node; nodes outside all go to the nearest."""
    result = np.full(lon.shape[0], -1, dtype=np.int32)
    for i, district in enumerate(districts):
        inside = (result < 0) & shapely.contains_xy(district.geometry, lon, lat)
        result[inside] = i
    outside = np.flatnonzero(result < 0)
    if outside.size and districts:
        k = _scale(float(np.mean(lat)))
        points = shapely.points(lon[outside] * k, lat[outside])
        distances = np.stack(
            [shapely.distance(_to_plane(d.geometry, k), points) for d in districts]
        )
        result[outside] = np.argmin(distances, axis=0).astype(np.int32)
    return result


def plan_districts(
    boundaries: Sequence[BoundaryRelation],
    node_lon: NDArray[np.float64],
    node_lat: NDArray[np.float64],
    police: Sequence[tuple[float, float, str]],
    *,
    city_name: str,
    frame: Polygon | None = None,
    min_districts: int = MIN_DISTRICTS,
    max_districts: int = MAX_DISTRICTS,
) -> DistrictPlan:
    """Choose a city's districts and assign every road node to one (see module doc)."""
    if node_lon.size == 0:
        raise ValueError("no road nodes")
    if frame is None:
        frame = box(
            float(node_lon.min()),
            float(node_lat.min()),
            float(node_lon.max()),
            float(node_lat.max()),
        ).buffer(HULL_BUFFER_DEG)
    best: tuple[tuple[int, float, int], int, list[DistrictArea]] | None = None
    for level in sorted({b.admin_level for b in boundaries}):
        areas = assemble_level([b for b in boundaries if b.admin_level == level], frame)
        with_roads = [a for a in areas if shapely.contains_xy(a.geometry, node_lon, node_lat).any()]
        if not (min_districts <= len(with_roads) <= max_districts):
            continue
        covered = np.zeros(node_lon.shape[0], dtype=bool)
        for a in with_roads:
            covered |= shapely.contains_xy(a.geometry, node_lon, node_lat)
        score = (len(with_roads), float(covered.mean()), level)
        if best is None or score > best[0]:
            best = (score, level, with_roads)
    if best is not None:
        _score, level, chosen = best
        codes = unique_codes([a.name for a in chosen])
        districts = [
            DistrictArea(code, a.name or code, a.geometry, a.osm_id, a.closed_along_edge)
            for code, a in zip(codes, chosen, strict=True)
        ]
        return DistrictPlan("admin", level, districts, assign_nodes(districts, node_lon, node_lat))
    hull = road_hull(node_lon, node_lat, frame)
    if police:
        districts = voronoi_districts(police, hull)
        if districts:
            return DistrictPlan(
                "voronoi", None, districts, assign_nodes(districts, node_lon, node_lat)
            )
    single = [DistrictArea(slug(city_name) or "city", city_name, hull)]
    return DistrictPlan("single", None, single, np.zeros(node_lon.shape[0], dtype=np.int32))


def to_geojson_geometry(area: Area, digits: int = 6) -> dict[str, object]:
    """A GeoJSON geometry mapping of ``area`` with rounded coordinates."""
    rounded = shapely.set_precision(area, 10.0**-digits)
    mapping: dict[str, object] = shapely.geometry.mapping(rounded)
    return mapping
