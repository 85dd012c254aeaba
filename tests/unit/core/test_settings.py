from pathlib import Path

import pytest
from pydantic import ValidationError

from pingan.core.settings import DEFAULT_SECRET, Settings


def test_embedded_defaults_use_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.database_url_resolved == f"sqlite:///{tmp_path / 'pingan.db'}"
    assert s.bus.kind == "inprocess"
    assert s.web.default_language == "zh-CN"


def test_environment_sections_and_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_DATABASE_URL", "postgresql://db.example/pingan")
    monkeypatch.setenv("PINGAN_NATS_URL", "nats://127.0.0.1:4999")
    monkeypatch.setenv("PINGAN_SIM__SPEEDUP", "120")
    s = Settings()
    assert s.database_url_resolved == "postgresql://db.example/pingan"
    assert s.bus.kind == "nats" and s.bus.nats_url == "nats://127.0.0.1:4999"
    assert s.sim.speedup == 120


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="secret_key"):
        Settings(mode="production")
    with pytest.raises(ValidationError, match="32 characters"):
        Settings(mode="production", auth={"secret_key": "short"})  # type: ignore[arg-type]
    ok = Settings(mode="production", auth={"secret_key": "x" * 40})  # type: ignore[arg-type]
    assert ok.auth.secret_key != DEFAULT_SECRET


def test_bad_values_name_the_field() -> None:
    with pytest.raises(ValidationError, match="speedup"):
        Settings(sim={"speedup": -1})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="port"):
        Settings(web={"port": 70000})  # type: ignore[arg-type]
