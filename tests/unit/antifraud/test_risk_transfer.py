"""``train-risk --source FILE``: trained on simulated subscribers, evaluated on Sichuan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pingan.antifraud.cli import app
from pingan.sim.behaviour import simulate_population, write_csv
from tests.conftest import SHARED_DATA

FRAUD = SHARED_DATA / "fraud"
pytestmark = pytest.mark.skipif(
    not (FRAUD / "sichuan" / "Sichuan.zip").exists(),
    reason=f"Sichuan telecom fraud data not found under {FRAUD}",
)


def test_train_on_the_simulator_and_evaluate_on_sichuan(tmp_path: Path) -> None:
    csv_path = write_csv(simulate_population(800, seed=2), tmp_path / "sim.csv")
    models = tmp_path / "models"
    args = ["train-risk", "--data", str(FRAUD), "--models", str(models)]
    result = CliRunner().invoke(app, [*args, "--source", str(csv_path)], env={"LANG": "en"})
    assert result.exit_code == 0, result.output
    assert "evaluated on Sichuan (6106 users)" in " ".join(result.output.split())
    (meta_path,) = models.glob("risk-*.json")
    meta = json.loads(meta_path.read_text())
    assert meta["source"] == {"kind": "simulator", "file": "sim.csv"}
    assert meta["n_train"] == 800 and len(meta["names"]) == 51
    assert 0.0 < meta["metrics"]["sichuan_all"]["pr_auc"] <= 1.0

    missing = CliRunner().invoke(app, [*args, "--source", str(tmp_path / "no.csv")])
    assert missing.exit_code == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("phone_no_m,not_a_sichuan_column,label\na,1,0\nb,2,1\n", encoding="utf-8")
    wrong = CliRunner().invoke(app, [*args, "--source", str(bad)], env={"LANG": "en"})
    assert wrong.exit_code == 2 and "not_a_sichuan_column" in wrong.output
