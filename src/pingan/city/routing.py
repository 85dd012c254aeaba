"""Routing on a :class:`RoadGraph`: one-to-many travel times, snapping, and routes.

Dijkstra is scipy's (``scipy.sparse.csgraph``), over the graph's own CSR arrays; a
cutoff (``limit``) stops the search at the isochrone, which is what keeps a
10-minute query on a city-sized graph in milliseconds.
"""

from __future__ import annotations

import itertools
import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from pingan.city.graph import EARTH_RADIUS_M, RoadGraph

NO_PREDECESSOR: Final = -9999
"""What scipy writes for a node with no predecessor."""

_trees: weakref.WeakKeyDictionary[RoadGraph, tuple[cKDTree, float]] = weakref.WeakKeyDictionary()


def _limit(cutoff_s: float | None) -> float:
    if cutoff_s is None:
        return math.inf
    if cutoff_s < 0 or math.isnan(cutoff_s):
        raise ValueError("cutoff_s must be >= 0")
    return float(cutoff_s)


def _node_indices(graph: RoadGraph, nodes: ArrayLike) -> NDArray[np.int32]:
    idx = np.atleast_1d(np.asarray(nodes, dtype=np.int64))
    if idx.size and (idx.min() < 0 or idx.max() >= graph.n_nodes):
        raise IndexError("node index out of range")
    return idx.astype(np.int32)


@overload
def travel_times_from(
    graph: RoadGraph, sources: int, cutoff_s: float | None = None
) -> NDArray[np.float64]: ...
@overload
def travel_times_from(
    graph: RoadGraph, sources: Sequence[int] | NDArray[np.integer], cutoff_s: float | None = None
) -> NDArray[np.float64]: ...
def travel_times_from(
    graph: RoadGraph,
    sources: int | Sequence[int] | NDArray[np.integer],
    cutoff_s: float | None = None,
) -> NDArray[np.float64]:
    """Seconds from each source to every node (inf beyond ``cutoff_s`` or unreachable).

    One source gives shape ``(n_nodes,)``; a sequence gives ``(len(sources), n_nodes)``.
    """
    idx = _node_indices(graph, sources)
    times = dijkstra(graph.matrix, directed=True, indices=idx, limit=_limit(cutoff_s))
    result = np.asarray(times, dtype=np.float64)
    return result[0] if np.ndim(sources) == 0 else result


def travel_times_to(
    graph: RoadGraph,
    targets: int | Sequence[int] | NDArray[np.integer],
    cutoff_s: float | None = None,
) -> NDArray[np.float64]:
    """Seconds from every node to each target (the reverse graph's one-to-many)."""
    idx = _node_indices(graph, targets)
    times = dijkstra(graph.reverse_matrix, directed=True, indices=idx, limit=_limit(cutoff_s))
    result = np.asarray(times, dtype=np.float64)
    return result[0] if np.ndim(targets) == 0 else result


def nearest_source(
    graph: RoadGraph,
    sources: Sequence[int] | NDArray[np.integer],
    cutoff_s: float | None = None,
    *,
    reverse: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """For every node: seconds from the closest source and which source (its position, -1 none).

    One multi-source search; with ``reverse`` it is the closest source *reached from*
    each node (e.g. the nearest hospital to drive to).
    """
    idx = _node_indices(graph, sources)
    matrix = graph.reverse_matrix if reverse else graph.matrix
    times, _pred, origin = dijkstra(
        matrix,
        directed=True,
        indices=idx,
        limit=_limit(cutoff_s),
        min_only=True,
        return_predecessors=True,
    )
    position = {int(node): i for i, node in reversed(list(enumerate(idx)))}
    lookup = np.full(graph.n_nodes, -1, dtype=np.int64)
    for node, i in position.items():
        lookup[node] = i
    which = np.where(origin >= 0, lookup[np.maximum(origin, 0)], -1)
    return np.asarray(times, dtype=np.float64), which


def project(
    lon: ArrayLike, lat: ArrayLike, lat0: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Local equirectangular projection to metres around latitude ``lat0``."""
    k = math.radians(1.0) * EARTH_RADIUS_M
    x = np.asarray(lon, dtype=np.float64) * k * math.cos(math.radians(lat0))
    y = np.asarray(lat, dtype=np.float64) * k
    return x, y


def _tree(graph: RoadGraph) -> tuple[cKDTree, float]:
    cached = _trees.get(graph)
    if cached is None:
        if graph.n_nodes == 0:
            raise ValueError("the graph has no nodes")
        lat0 = float(np.mean(graph.lat))
        x, y = project(graph.lon, graph.lat, lat0)
        cached = (cKDTree(np.column_stack([x, y])), lat0)
        _trees[graph] = cached
    return cached


@overload
def nearest_nodes(graph: RoadGraph, lon: float, lat: float) -> tuple[int, float]: ...
@overload
def nearest_nodes(
    graph: RoadGraph,
    lon: NDArray[np.float64] | Sequence[float],
    lat: NDArray[np.float64] | Sequence[float],
) -> tuple[NDArray[np.int64], NDArray[np.float64]]: ...
def nearest_nodes(
    graph: RoadGraph,
    lon: float | NDArray[np.float64] | Sequence[float],
    lat: float | NDArray[np.float64] | Sequence[float],
) -> tuple[int, float] | tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The graph node nearest to each point and its distance in metres."""
    tree, lat0 = _tree(graph)
    x, y = project(lon, lat, lat0)
    dist, idx = tree.query(np.column_stack([np.atleast_1d(x), np.atleast_1d(y)]))
    if np.ndim(lon) == 0:
        return int(idx[0]), float(dist[0])
    return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=np.float64)


@dataclass(frozen=True)
class Route:
    """A shortest route: time, length, the nodes it passes and its geometry."""

    seconds: float
    metres: float
    nodes: list[int]
    coordinates: list[tuple[float, float]]  # (lon, lat) along the route


def route(graph: RoadGraph, a: int, b: int) -> Route | None:
    """The fastest route from node ``a`` to node ``b``, or None when there is none.

    The search first stops at a generous bound derived from the straight-line
    distance (most routes end there), and only searches the whole graph when that
    bound was too tight.
    """
    _node_indices(graph, [a, b])
    if a == b:
        point = (float(graph.lon[a]), float(graph.lat[a]))
        return Route(0.0, 0.0, [a], [point, point])
    crow = float(
        np.hypot(
            *np.subtract(
                project(graph.lon[b], graph.lat[b], float(graph.lat[a])),
                project(graph.lon[a], graph.lat[a], float(graph.lat[a])),
            )
        )
    )
    for limit in (600.0 + 4.0 * crow / (20.0 / 3.6), math.inf):
        times, pred = dijkstra(
            graph.matrix, directed=True, indices=a, limit=limit, return_predecessors=True
        )
        if math.isfinite(times[b]):
            break
    else:
        return None
    nodes = [b]
    while nodes[-1] != a:
        prev = int(pred[nodes[-1]])
        if prev == NO_PREDECESSOR:
            return None
        nodes.append(prev)
    nodes.reverse()
    metres = 0.0
    for u, v in itertools.pairwise(nodes):
        metres += float(graph.length[graph.edge_index(u, v)])
    coords = [(float(graph.lon[n]), float(graph.lat[n])) for n in nodes]
    return Route(seconds=float(times[b]), metres=metres, nodes=nodes, coordinates=coords)
