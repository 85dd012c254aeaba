"""The dispatch benchmark's ``--city`` path runs against an imported city (a smoke test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.dispatch import run as bench
from rich.console import Console

from pingan.city.service import demo_pbf_path, import_city
from pingan.core.db import Database
from pingan.core.errors import NotFound


def test_bench_runs_on_an_imported_city(
    database: Database,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bench, "console", Console(width=400))  # table rows on one line each
    import_city(
        db=database, path=demo_pbf_path(), name="bench-town", data_dir=tmp_path, actor="tester"
    )
    graph, pois = bench.load_named_city("bench-town", tmp_path, database_url)
    assert graph.n_nodes > 1000 and pois.size > 0
    assert pois.min() >= 0 and pois.max() < graph.n_nodes

    bench.main(
        [
            "--city",
            "bench-town",
            "--data-dir",
            str(tmp_path),
            "--database-url",
            database_url,
            "--quick",
            "--calls",
            "60",
        ]
    )
    out = capsys.readouterr().out
    assert "city bench-town" in out
    for policy in (bench.STRAIGHT, bench.ROAD, bench.JOINT, bench.ROAD_MOVE_UP, bench.PINGAN):
        assert policy in out
    assert "mean / straight-line mean =" in out


def test_bench_refuses_a_city_that_was_not_imported(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    with pytest.raises(NotFound) as caught:
        bench.load_named_city("nowhere", tmp_path, database_url)
    assert caught.value.field == "name"
