"""A server's garbage-collector settings: applied once start-up is complete, never by default."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pingan.core.settings import Settings
from pingan.web.app import SERVER_GC_THRESHOLD, create_app


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'pingan.db'}",
        sim={"enabled": False},
    )


def test_a_server_freezes_its_started_heap_and_collects_less_often(
    tmp_path: Path, restore_gc: None
) -> None:
    gc.unfreeze()
    app = create_app(_settings(tmp_path), background=False, server_gc=True)
    assert gc.get_freeze_count() == 0  # nothing before start-up: it has not run yet
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == SERVER_GC_THRESHOLD


def test_an_app_built_for_tests_leaves_the_collector_alone(
    tmp_path: Path, restore_gc: None
) -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    with TestClient(create_app(_settings(tmp_path), background=False)):
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == before
