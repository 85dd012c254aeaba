"""The road graph as CSR arrays, how it is built from OSM ways, and its compact file.

Edges are directed and deduplicated (the fastest of parallel edges is kept); a
two-way street is two edges. Travel times are kept as float64 so that
``scipy.sparse.csgraph`` can use the arrays without copying them on every query
(its Dijkstra converts anything else to float64 first, an O(edges) copy per call).
Lengths are float32 metres. The reverse graph (every edge flipped) answers "from
everywhere to the incident" with the same one-to-many search.

The file is an uncompressed ``.npz``: loading is a few ``read`` calls, no parsing,
and each graph in it (``drive``, ``walk``) and the road lines are read only when asked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from pingan.city.osm import ROAD_CLASSES, WALK_SPEED_KMH, RoadWay

EARTH_RADIUS_M: Final = 6_371_008.8
MIN_EDGE_SECONDS: Final = 0.01
"""Zero-length edges would read as "no edge" in a sparse matrix; this floor avoids it."""
FILE_FORMAT: Final = 1

Mode = Literal["drive", "walk"]
_GRAPH_FIELDS: Final = (
    "indptr",
    "indices",
    "travel_time",
    "length",
    "rev_indptr",
    "rev_indices",
    "rev_travel_time",
    "lon",
    "lat",
    "osm_id",
)


def haversine_m(
    lon1: NDArray[np.float64] | float,
    lat1: NDArray[np.float64] | float,
    lon2: NDArray[np.float64] | float,
    lat2: NDArray[np.float64] | float,
) -> NDArray[np.float64]:
    """Great-circle distance in metres (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed road graph in CSR form with its reverse, node positions and OSM ids."""

    indptr: NDArray[np.int32]
    indices: NDArray[np.int32]
    travel_time: NDArray[np.float64]
    length: NDArray[np.float32]
    rev_indptr: NDArray[np.int32]
    rev_indices: NDArray[np.int32]
    rev_travel_time: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    osm_id: NDArray[np.int64]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.lon.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.indices.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the graph's arrays (what loading it costs in memory)."""
        return sum(int(getattr(self, name).nbytes) for name in _GRAPH_FIELDS)

    @cached_property
    def matrix(self) -> csr_matrix:
        """The forward graph as a scipy CSR matrix sharing this graph's arrays."""
        n = self.n_nodes
        return csr_matrix((self.travel_time, self.indices, self.indptr), shape=(n, n), copy=False)

    @cached_property
    def reverse_matrix(self) -> csr_matrix:
        """The reverse graph (every edge flipped) as a scipy CSR matrix."""
        n = self.n_nodes
        return csr_matrix(
            (self.rev_travel_time, self.rev_indices, self.rev_indptr), shape=(n, n), copy=False
        )

    def edge_index(self, u: int, v: int) -> int:
        """The index of the edge u -> v (KeyError when there is none)."""
        start, end = int(self.indptr[u]), int(self.indptr[u + 1])
        hits = np.flatnonzero(self.indices[start:end] == v)
        if hits.size == 0:
            raise KeyError((u, v))
        return start + int(hits[0])

    @classmethod
    def from_edges(
        cls,
        *,
        lon: NDArray[np.float64],
        lat: NDArray[np.float64],
        osm_id: NDArray[np.int64] | None,
        u: NDArray[np.int64],
        v: NDArray[np.int64],
        travel_time: NDArray[np.float64],
        length: NDArray[np.float64],
        meta: Mapping[str, Any] | None = None,
    ) -> RoadGraph:
        """A graph from edge lists; self-loops dropped, parallel edges reduced to the fastest."""
        n = int(lon.shape[0])
        fwd = csr_arrays(n, u, v, travel_time, length)
        # the reverse graph: every edge (source -> target) as (target -> source)
        rev = csr_arrays(
            n, fwd.indices.astype(np.int64), fwd.sources(), fwd.travel_time, fwd.length
        )
        return cls(
            indptr=fwd.indptr,
            indices=fwd.indices,
            travel_time=fwd.travel_time,
            length=fwd.length.astype(np.float32),
            rev_indptr=rev.indptr,
            rev_indices=rev.indices,
            rev_travel_time=rev.travel_time,
            lon=np.ascontiguousarray(lon, dtype=np.float64),
            lat=np.ascontiguousarray(lat, dtype=np.float64),
            osm_id=(
                np.ascontiguousarray(osm_id, dtype=np.int64)
                if osm_id is not None
                else np.arange(n, dtype=np.int64)
            ),
            meta=dict(meta or {}),
        )

    def subgraph(self, keep: NDArray[np.bool_]) -> RoadGraph:
        """The graph induced by the nodes where ``keep`` is true (renumbered in order)."""
        new_index = np.full(self.n_nodes, -1, dtype=np.int64)
        new_index[keep] = np.arange(int(keep.sum()))
        src = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))
        mask = keep[src] & keep[self.indices]
        return RoadGraph.from_edges(
            lon=self.lon[keep],
            lat=self.lat[keep],
            osm_id=self.osm_id[keep],
            u=new_index[src[mask]],
            v=new_index[self.indices[mask]],
            travel_time=self.travel_time[mask],
            length=self.length[mask].astype(np.float64),
            meta=self.meta,
        )


@dataclass(frozen=True)
class CsrArrays:
    """CSR arrays of one direction."""

    indptr: NDArray[np.int32]
    indices: NDArray[np.int32]
    travel_time: NDArray[np.float64]
    length: NDArray[np.float64]

    def sources(self) -> NDArray[np.int64]:
        """The source node of every edge, in edge order."""
        return np.repeat(np.arange(self.indptr.shape[0] - 1, dtype=np.int64), np.diff(self.indptr))


def csr_arrays(
    n: int,
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    travel_time: NDArray[np.float64],
    length: NDArray[np.float64],
) -> CsrArrays:
    """Sort edges by (source, target, time) and keep the fastest of each pair."""
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    tt = np.maximum(np.asarray(travel_time, dtype=np.float64), MIN_EDGE_SECONDS)
    ln = np.asarray(length, dtype=np.float64)
    if u.size and (u.min() < 0 or v.min() < 0 or u.max() >= n or v.max() >= n):
        raise ValueError("edge endpoint out of range")
    if n >= 2**31 or u.size >= 2**31:
        raise ValueError("graph too large for int32 CSR indices")
    not_loop = u != v
    u, v, tt, ln = u[not_loop], v[not_loop], tt[not_loop], ln[not_loop]
    order = np.lexsort((tt, v, u))
    u, v, tt, ln = u[order], v[order], tt[order], ln[order]
    if u.size:
        first = np.ones(u.size, dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, tt, ln = u[first], v[first], tt[first], ln[first]
    counts = np.bincount(u, minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return CsrArrays(
        indptr=indptr.astype(np.int32),
        indices=v.astype(np.int32),
        travel_time=tt,
        length=ln,
    )


@dataclass(frozen=True)
class BuildStats:
    """What building a graph from ways kept and dropped."""

    ways: int
    nodes_before: int
    edges_before: int
    nodes: int
    edges: int
    components: int


def _segments(
    ways: Sequence[RoadWay], mode: Mode, fallback_speed_kmh: float
) -> tuple[
    NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]
]:
    """Concatenate consecutive node pairs of every way: ids, lon/lat of both ends, speed, oneway."""
    ids = [w.node_ids for w in ways]
    lengths = np.array([len(a) for a in ids], dtype=np.int64)
    all_ids = np.concatenate(ids)
    all_lon = np.concatenate([w.lon for w in ways])
    all_lat = np.concatenate([w.lat for w in ways])
    way_of = np.repeat(np.arange(len(ways)), lengths)
    same_way = way_of[1:] == way_of[:-1]
    valid = same_way & (all_ids[1:] >= 0) & (all_ids[:-1] >= 0)
    a = np.flatnonzero(valid)
    b = a + 1
    if mode == "drive":
        speeds = np.array([w.speed_kmh or fallback_speed_kmh for w in ways], dtype=np.float64)
        oneway = np.array([w.oneway for w in ways], dtype=np.int8)
    else:
        speeds = np.full(len(ways), WALK_SPEED_KMH)
        oneway = np.zeros(len(ways), dtype=np.int8)
    return (
        np.stack([all_ids[a], all_ids[b]]),
        np.stack([all_lon[a], all_lon[b]]),
        np.stack([all_lat[a], all_lat[b]]),
        speeds[way_of[a]],
        oneway[way_of[a]],
    )


def build_graph(
    ways: Iterable[RoadWay],
    mode: Mode = "drive",
    *,
    fallback_speed_kmh: float = 30.0,
    largest_component: bool = True,
) -> tuple[RoadGraph, BuildStats]:
    """The road graph of ``mode`` from OSM ways.

    With ``largest_component`` only the largest strongly connected component is
    kept, so every node can reach and be reached from every other one (a one-way
    stub cut by the extract's edge would otherwise trap a route).
    """
    selected = [w for w in ways if (w.drivable if mode == "drive" else w.walkable)]
    empty = RoadGraph.from_edges(
        lon=np.zeros(0),
        lat=np.zeros(0),
        osm_id=np.zeros(0, dtype=np.int64),
        u=np.zeros(0, dtype=np.int64),
        v=np.zeros(0, dtype=np.int64),
        travel_time=np.zeros(0),
        length=np.zeros(0),
        meta={"mode": mode},
    )
    if not selected:
        return empty, BuildStats(0, 0, 0, 0, 0, 0)
    ids, lons, lats, speed_kmh, oneway = _segments(selected, mode, fallback_speed_kmh)
    if ids.shape[1] == 0:
        return empty, BuildStats(len(selected), 0, 0, 0, 0, 0)
    length = haversine_m(lons[0], lats[0], lons[1], lats[1])
    seconds = length / (speed_kmh / 3.6)
    node_osm, inverse = np.unique(ids.ravel(), return_inverse=True)
    inverse = inverse.reshape(ids.shape)
    node_lon = np.empty(node_osm.size)
    node_lat = np.empty(node_osm.size)
    node_lon[inverse.ravel()] = lons.ravel()
    node_lat[inverse.ravel()] = lats.ravel()
    fwd = oneway >= 0
    bwd = oneway <= 0
    u = np.concatenate([inverse[0][fwd], inverse[1][bwd]])
    v = np.concatenate([inverse[1][fwd], inverse[0][bwd]])
    tt = np.concatenate([seconds[fwd], seconds[bwd]])
    ln = np.concatenate([length[fwd], length[bwd]])
    graph = RoadGraph.from_edges(
        lon=node_lon,
        lat=node_lat,
        osm_id=node_osm,
        u=u,
        v=v,
        travel_time=tt,
        length=ln,
        meta={"mode": mode},
    )
    nodes_before, edges_before = graph.n_nodes, graph.n_edges
    n_comp, labels = connected_components(graph.matrix, directed=True, connection="strong")
    if largest_component and n_comp > 1:
        biggest = np.bincount(labels).argmax()
        graph = graph.subgraph(labels == biggest)
    stats = BuildStats(
        ways=len(selected),
        nodes_before=nodes_before,
        edges_before=edges_before,
        nodes=graph.n_nodes,
        edges=graph.n_edges,
        components=int(n_comp),
    )
    return graph, stats


@dataclass(frozen=True)
class RoadLines:
    """Road centre lines for the map: one polyline per way piece, with class and name."""

    ptr: NDArray[np.int64]  # (L + 1,) offsets into coords
    coords: NDArray[np.float32]  # (P, 2) lon/lat
    road_class: NDArray[np.uint8]  # index into ROAD_CLASSES
    name: NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.road_class.shape[0])

    def line(self, i: int) -> NDArray[np.float32]:
        """The coordinates of line ``i``."""
        return self.coords[self.ptr[i] : self.ptr[i + 1]]


def road_lines(ways: Iterable[RoadWay], *, drivable_only: bool = True) -> RoadLines:
    """Map lines of the (drivable) ways, split where the extract clipped them."""
    coords: list[NDArray[np.float64]] = []
    classes: list[int] = []
    names: list[str] = []
    class_code = {c: i for i, c in enumerate(ROAD_CLASSES)}
    for way in ways:
        if drivable_only and not way.drivable:
            continue
        xy = np.column_stack([way.lon, way.lat])
        valid = way.node_ids >= 0
        # split into runs of valid nodes
        edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            if end - start >= 2:
                coords.append(xy[start:end])
                classes.append(class_code.get(way.highway, 0))
                names.append(way.name)
    lengths = np.array([len(c) for c in coords], dtype=np.int64)
    ptr = np.zeros(len(coords) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    return RoadLines(
        ptr=ptr,
        coords=(np.concatenate(coords) if coords else np.zeros((0, 2))).astype(np.float32),
        road_class=np.array(classes, dtype=np.uint8),
        name=np.array(names, dtype=np.str_) if names else np.zeros(0, dtype="<U1"),
    )


def save_graph_file(
    path: str | Path,
    graphs: Mapping[str, RoadGraph],
    roads: RoadLines | None = None,
) -> int:
    """Write graphs (by mode) and road lines to one uncompressed ``.npz``; returns its size.

    The file is written and fsync'd at ``path`` exactly (callers pick a temporary
    name and rename it into place).
    """
    arrays: dict[str, NDArray[Any]] = {"format": np.array([FILE_FORMAT], dtype=np.int32)}
    for mode, graph in graphs.items():
        for name in _GRAPH_FIELDS:
            arrays[f"{mode}__{name}"] = getattr(graph, name)
    if roads is not None:
        arrays["roads__ptr"] = roads.ptr
        arrays["roads__coords"] = roads.coords
        arrays["roads__class"] = roads.road_class
        arrays["roads__name"] = roads.name
    target = Path(path)
    with open(target, "wb") as handle:
        np.savez(handle, allow_pickle=False, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    return target.stat().st_size


def _open(path: str | Path) -> Any:
    data = np.load(path, allow_pickle=False)
    fmt = int(data["format"][0]) if "format" in data.files else -1
    if fmt != FILE_FORMAT:
        data.close()
        raise ValueError(f"{path}: graph file format {fmt}, expected {FILE_FORMAT}")
    return data


def load_graph_file(path: str | Path, mode: Mode = "drive") -> RoadGraph:
    """Read one graph (``drive`` or ``walk``) from a graph file."""
    with _open(path) as data:
        arrays = {name: data[f"{mode}__{name}"] for name in _GRAPH_FIELDS}
    return RoadGraph(**arrays, meta={"mode": mode, "path": str(path)})


def load_road_lines(path: str | Path) -> RoadLines:
    """Read the road lines from a graph file."""
    with _open(path) as data:
        return RoadLines(
            ptr=data["roads__ptr"],
            coords=data["roads__coords"],
            road_class=data["roads__class"],
            name=data["roads__name"],
        )
