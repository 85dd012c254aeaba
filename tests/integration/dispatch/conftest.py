"""Fixtures of the dispatch desk's integration tests: the demo city, units placed on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pingan.city.graph import RoadGraph, haversine_m
from pingan.city.models import City
from pingan.city.service import demo_pbf_path, import_city, load_graph
from pingan.core.db import Database
from pingan.core.settings import Settings
from pingan.dispatch.models import Unit
from pingan.dispatch.recommend import UnitKind
from pingan.dispatch.schemas import UnitCreate
from pingan.dispatch.service import register_unit

SCENE = (24.9395, 60.1650)
"""A street corner in Kamppi, central Helsinki (inside the demo extract)."""


@dataclass
class World:
    """The demo city imported into a test database."""

    db: Database
    settings: Settings
    city_id: int
    graph: RoadGraph

    def node_at(self, metres: float, lon: float = SCENE[0], lat: float = SCENE[1]) -> int:
        """The graph node whose straight-line distance from (lon, lat) is closest to ``metres``."""
        d = haversine_m(self.graph.lon, self.graph.lat, lon, lat)
        return int(np.argmin(np.abs(d - metres)))

    def unit(self, callsign: str, kind: UnitKind, node: int, **extra: object) -> int:
        """Register a unit standing on ``node``; its id."""
        with self.db.session() as s:
            unit = register_unit(
                db=s,
                unit_in=UnitCreate(
                    callsign=callsign,
                    kind=kind,
                    city_id=self.city_id,
                    lon=float(self.graph.lon[node]),
                    lat=float(self.graph.lat[node]),
                    **extra,  # type: ignore[arg-type]
                ),
                actor="test",
                data_dir=self.settings.data_dir,
            )
            return unit.id

    def get_unit(self, unit_id: int) -> Unit:
        """A fresh copy of a unit row."""
        with self.db.session() as s:
            unit = s.get(Unit, unit_id)
            assert unit is not None
            s.expunge(unit)
            return unit


@pytest.fixture
def world(database: Database, tmp_path: Path) -> World:
    """The demo city (central Helsinki) imported into ``database``."""
    settings = Settings(data_dir=tmp_path, database_url=database.url, sim={"enabled": False})  # type: ignore[arg-type]
    report = import_city(
        db=database, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="test"
    )
    with database.session() as s:
        city = s.get(City, report.city_id)
        assert city is not None
        graph = load_graph(city=city, data_dir=tmp_path)
    return World(db=database, settings=settings, city_id=report.city_id, graph=graph)
