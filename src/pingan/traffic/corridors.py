"""Arterial corridors towards a destination, from the city's road graph and a demand model.

The demand model is what the city model honestly offers: it holds no population, census or
origin-destination data, so every node of the drive graph is a trip origin of weight 1
(trip generation proportional to road-network density), optionally multiplied by a
caller-given weight per node. Every trip drives the fastest route to the destination; the
fastest routes form a shortest-path tree (one reverse Dijkstra from the destination), and
the trips are accumulated down the tree so every edge knows how many trips it carries.

A corridor is the tree path from an entry node to the destination. All trips passing the
entry node drive the whole corridor, so the entry node's accumulated flow is the number of
trips the whole corridor carries. Corridors are picked greedily by those trips times the
corridor's length (trip-metres) among entry nodes at most ``length_m`` (and at least half
of it) from the destination, skipping paths that share more than ``max_overlap`` of their
length with an already picked corridor.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra

from pingan.city.graph import RoadGraph, RoadLines
from pingan.city.osm import ROAD_CLASSES
from pingan.city.routing import NO_PREDECESSOR, project

__all__ = [
    "ProposedCorridor",
    "TreeFlows",
    "corridor_signals",
    "node_roads",
    "propose_corridors",
    "tree_flows",
]


@dataclass(frozen=True)
class TreeFlows:
    """Trips accumulated on the shortest-path tree towards one destination node."""

    destination: int
    next_node: NDArray[np.int64]
    """Next node towards the destination (-1 at the destination and for unreachable nodes)."""
    seconds: NDArray[np.float64]
    metres: NDArray[np.float64]
    """Driving distance along the tree to the destination."""
    flow: NDArray[np.float64]
    """Trips passing each node (its own trips included) on their way to the destination."""


def tree_flows(
    graph: RoadGraph, destination: int, weights: NDArray[np.float64] | None = None
) -> TreeFlows:
    """The fastest-route tree towards ``destination`` with trips accumulated along it."""
    n = graph.n_nodes
    if not 0 <= destination < n:
        raise IndexError("destination out of range")
    seconds, pred = dijkstra(
        graph.reverse_matrix, directed=True, indices=destination, return_predecessors=True
    )
    seconds = np.asarray(seconds, dtype=np.float64)
    # In the reverse graph the predecessor of v on the path from the destination is the
    # next node on v's forward route to the destination.
    nxt = np.asarray(pred, dtype=np.int64)
    nxt[nxt == NO_PREDECESSOR] = -1
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).copy()
    if w.shape != (n,):
        raise ValueError("weights must have one value per node")
    reachable = np.isfinite(seconds)
    w[~reachable] = 0.0
    order = np.argsort(-np.where(reachable, seconds, -1.0), kind="stable")
    flow = w.copy()
    metres = np.full(n, math.inf)
    metres[destination] = 0.0
    for v in order:
        u = int(nxt[v])
        if u >= 0:
            flow[u] += flow[v]
    for v in order[::-1]:  # nearest first: the next node's distance is known
        u = int(nxt[v])
        if u >= 0 and math.isfinite(metres[u]):
            metres[v] = metres[u] + float(graph.length[graph.edge_index(int(v), u)])
    return TreeFlows(destination, nxt, seconds, metres, flow)


def path_to_destination(tree: TreeFlows, start: int) -> list[int]:
    """Nodes from ``start`` to the destination along the tree."""
    nodes = [start]
    while nodes[-1] != tree.destination:
        u = int(tree.next_node[nodes[-1]])
        if u < 0:
            return []
        nodes.append(u)
    return nodes


@dataclass(frozen=True)
class ProposedCorridor:
    """A proposed approach corridor: its nodes (towards the destination) and its trips."""

    nodes: list[int]
    metres: float
    seconds: float
    trips: float
    """Trips (origin weight) driving the whole corridor."""
    share: float
    """Those trips as a share of all trips reaching the destination."""


def propose_corridors(
    tree: TreeFlows,
    *,
    count: int = 3,
    length_m: float = 1500.0,
    max_overlap: float = 0.3,
    exclude_last_m: float = 150.0,
) -> list[ProposedCorridor]:
    """The ``count`` tree paths into the destination carrying most trips along their length.

    Candidates start ``length_m / 2 … length_m`` from the destination (closer ones when the
    network is too small). Two corridors may share the last ``exclude_last_m`` metres (every
    route ends at the destination) and at most ``max_overlap`` of the rest.
    """
    total = float(tree.flow[tree.destination])
    finite = np.isfinite(tree.metres)
    lo, hi = length_m / 2.0, length_m
    candidates = np.flatnonzero(finite & (tree.metres >= lo) & (tree.metres <= hi))
    if candidates.size == 0:
        far = float(np.max(tree.metres[finite])) if finite.any() else 0.0
        candidates = np.flatnonzero(finite & (tree.metres >= far / 2.0) & (tree.metres > 0))
    # Trip-metres: trips that drive the whole corridor times its length (what a green
    # wave along it can serve); plain trips would always favour the shortest candidate.
    ranked = sorted(
        (int(v) for v in candidates),
        key=lambda v: (-tree.flow[v] * tree.metres[v], -tree.metres[v], v),
    )
    picked: list[ProposedCorridor] = []
    used_edges: list[set[tuple[int, int]]] = []
    for v in ranked:
        if len(picked) >= count:
            break
        nodes = path_to_destination(tree, v)
        if len(nodes) < 2:
            continue
        edges = {
            (a, b)
            for a, b in itertools.pairwise(nodes)
            if tree.metres[a] > exclude_last_m  # the shared last stretch does not count
        }
        n_edges = max(len(edges), 1)
        if any(len(edges & other) / n_edges > max_overlap for other in used_edges):
            continue
        used_edges.append(edges)
        picked.append(
            ProposedCorridor(
                nodes=nodes,
                metres=float(tree.metres[v]),
                seconds=float(tree.seconds[v]),
                trips=float(tree.flow[v]),
                share=float(tree.flow[v]) / total if total > 0 else 0.0,
            )
        )
    return picked


def node_roads(graph: RoadGraph, lines: RoadLines) -> tuple[list[str], list[str]]:
    """Per graph node, the highest road class and that road's name among the lines through it."""
    classes = [""] * graph.n_nodes
    names = [""] * graph.n_nodes
    if len(lines) == 0 or graph.n_nodes == 0:
        return classes, names
    from scipy.spatial import cKDTree

    lat0 = float(np.mean(graph.lat))
    gx, gy = project(graph.lon, graph.lat, lat0)
    tree = cKDTree(np.column_stack([gx, gy]))
    coords = lines.coords.astype(np.float64)
    lx, ly = project(coords[:, 0], coords[:, 1], lat0)
    dist, idx = tree.query(np.column_stack([lx, ly]))
    line_of = np.repeat(np.arange(len(lines)), np.diff(lines.ptr))
    rank = {c: i for i, c in enumerate(ROAD_CLASSES)}  # ROAD_CLASSES: most important first
    best = np.full(graph.n_nodes, len(ROAD_CLASSES), dtype=np.int64)
    for d, node, line in zip(dist, idx, line_of, strict=True):
        if d > 1.0:
            continue
        cls = ROAD_CLASSES[int(lines.road_class[line])]
        r = rank.get(cls, len(ROAD_CLASSES))
        if r < best[node] or (r == best[node] and not names[node]):
            best[node] = r
            classes[node] = cls
            names[node] = str(lines.name[line])
    return classes, names


def corridor_name(nodes: Sequence[int], names: Sequence[str]) -> str:
    """The corridor's name: its most common road names, in driving order."""
    counted = Counter(names[v] for v in nodes if names[v])
    top = [name for name, _ in counted.most_common(2)]
    ordered = [n for n in dict.fromkeys(names[v] for v in nodes) if n in top]
    return " – ".join(ordered)


@dataclass(frozen=True)
class CorridorSignal:
    """A signal met along a corridor: its id, node and distance from the corridor's start."""

    signal_id: int
    node: int
    position_m: float


JUNCTION_RADIUS_M: Final = 30.0
"""A signal this close to a corridor node belongs to that node's junction (see below)."""
INTERSECTION_GAP_M: Final = 40.0
"""Signals closer than this along a corridor are one intersection (one controller); the
emergency-priority rule uses the same distance."""


def corridor_signals(
    graph: RoadGraph,
    nodes: Sequence[int],
    signal_at_node: Mapping[int, int],
    *,
    junction_radius_m: float = JUNCTION_RADIUS_M,
    intersection_gap_m: float = INTERSECTION_GAP_M,
) -> list[CorridorSignal]:
    """The signals of the junctions on ``nodes``, in driving order, with their distance
    from the first node.

    OSM tags a junction's signals where its mappers put them: on the junction node, on each
    approach a few metres before it, or on the other carriageway of a dual carriageway. A
    signal counts for the corridor node nearest to it when that node is within
    ``junction_radius_m`` (straight line); each corridor node keeps its nearest signal.
    Signals less than ``intersection_gap_m`` along the corridor from the first signal of an
    intersection belong to it (a junction's approaches, both carriageways): it is listed once,
    by the signal nearest to the corridor (the first of equals), at that signal's node.
    """
    if not nodes:
        return []
    lat0 = float(graph.lat[int(nodes[0])])
    cx, cy = project(graph.lon[list(nodes)], graph.lat[list(nodes)], lat0)
    chosen: dict[int, tuple[float, int]] = {}  # corridor index -> (distance, signal id)
    if signal_at_node:
        sig_nodes = np.fromiter(signal_at_node.keys(), dtype=np.int64)
        sx, sy = project(graph.lon[sig_nodes], graph.lat[sig_nodes], lat0)
        dist = np.hypot(sx[:, None] - cx[None, :], sy[:, None] - cy[None, :])
        nearest = np.argmin(dist, axis=1)
        for k, sid in enumerate(signal_at_node.values()):
            i = int(nearest[k])
            d = float(dist[k, i])
            if d <= junction_radius_m and (i not in chosen or (d, sid) < chosen[i]):
                chosen[i] = (d, sid)
    groups: list[list[tuple[float, CorridorSignal]]] = []
    position = 0.0
    start = -math.inf
    for i, v in enumerate(nodes):
        if i > 0:
            position += float(graph.length[graph.edge_index(int(nodes[i - 1]), int(v))])
        if i not in chosen:
            continue
        found = CorridorSignal(signal_id=chosen[i][1], node=int(v), position_m=round(position, 1))
        if groups and position - start < intersection_gap_m:
            groups[-1].append((chosen[i][0], found))
        else:
            groups.append([(chosen[i][0], found)])
            start = position
    return [min(group, key=lambda pair: pair[0])[1] for group in groups]


def bearing_deg(graph: RoadGraph, a: int, b: int) -> float:
    """Compass bearing of the straight line from node ``a`` to node ``b`` (degrees)."""
    lat0 = float(graph.lat[a])
    ax, ay = project(graph.lon[a], graph.lat[a], lat0)
    bx, by = project(graph.lon[b], graph.lat[b], lat0)
    return float(math.degrees(math.atan2(float(bx - ax), float(by - ay))) % 360.0)
