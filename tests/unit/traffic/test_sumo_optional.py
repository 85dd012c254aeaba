"""The platform works without SUMO: imports succeed, commands explain what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pingan.traffic import sumo
from pingan.traffic.cli import app


def test_importing_the_desk_does_not_import_sumo() -> None:
    code = (
        "import sys, pingan.traffic, pingan.traffic.cli, pingan.traffic.evaluate;"
        "pingan.traffic.module();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sumo','traci','sumolib')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_missing_sumo_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sumo, "sumo_home", lambda: None)
    with pytest.raises(sumo.SumoUnavailable) as err:
        sumo.require_sumo()
    assert err.value.key == "traffic.error.sumo_missing"
    assert err.value.status_code == 503
    cfg = tmp_path / "x.sumocfg"
    cfg.write_text(
        '<configuration><input><net-file value="x.net.xml"/></input></configuration>',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["evaluate", str(cfg)], env={"PINGAN_LANG": "en"})
    assert result.exit_code == 1
    assert "eclipse-sumo" in result.output


def test_scenario_file_errors_name_the_file(tmp_path: Path) -> None:
    from pingan.core.errors import ValidationFailed
    from pingan.traffic.evaluate import scenario_from_sumocfg

    with pytest.raises(ValidationFailed) as err:
        scenario_from_sumocfg(tmp_path / "missing.sumocfg")
    assert err.value.field == "scenario"
    bad = tmp_path / "bad.sumocfg"
    bad.write_text("<configuration><input/></configuration>", encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        scenario_from_sumocfg(bad)
    assert err.value.key == "traffic.error.no_net"
