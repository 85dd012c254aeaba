"""Fixtures of the city model's unit tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.unit.city.osmdata import write_osm


@pytest.fixture
def osm_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a tiny OSM PBF in the test's temporary directory."""
    counter = iter(range(1000))

    def make(*args: Any, **kwargs: Any) -> Path:
        return write_osm(tmp_path / f"t{next(counter)}.osm.pbf", *args, **kwargs)

    return make
