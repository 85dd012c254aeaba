"""Events of the city model."""

from __future__ import annotations

from typing import ClassVar

from pingan.core.events import Event


class CityImported(Event):
    """A city was imported (or re-imported) from OpenStreetMap."""

    subject: ClassVar[str] = "city.imported"

    city_id: int
    name: str
    nodes: int
    edges: int
    districts: int
    district_method: str
    replaced: bool = False
