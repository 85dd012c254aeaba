"""Tiny OSM files written with osmium, for the city model's tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import osmium

NodeSpec = tuple[int, float, float, dict[str, str]]
WaySpec = tuple[int, Sequence[int], dict[str, str]]
RelSpec = tuple[int, Sequence[tuple[str, int, str]], dict[str, str]]


def write_osm(
    path: Path,
    nodes: Sequence[NodeSpec],
    ways: Sequence[WaySpec] = (),
    relations: Sequence[RelSpec] = (),
) -> Path:
    """Write nodes, ways and relations to ``path`` (format from the suffix)."""
    writer = osmium.SimpleWriter(str(path))
    try:
        for node_id, lon, lat, tags in nodes:
            writer.add_node(osmium.osm.mutable.Node(id=node_id, location=(lon, lat), tags=tags))
        for way_id, refs, tags in ways:
            writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=list(refs), tags=tags))
        for rel_id, members, tags in relations:
            writer.add_relation(
                osmium.osm.mutable.Relation(id=rel_id, members=list(members), tags=tags)
            )
    finally:
        writer.close()
    return path
