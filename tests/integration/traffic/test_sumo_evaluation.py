"""SUMO end to end: every controller runs, Pingan's plan loads, preemption is safe.

Skipped when Eclipse SUMO (the ``traffic`` extra) is not installed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sumo", reason="eclipse-sumo not installed (pip install 'pingan[traffic]')")
pytest.importorskip("traci", reason="traci not installed (pip install 'pingan[traffic]')")

import itertools

from typer.testing import CliRunner

from pingan.core.errors import ValidationFailed
from pingan.traffic import sumo
from pingan.traffic.cli import app
from pingan.traffic.evaluate import (
    CONTROLLERS,
    Prepared,
    Scenario,
    evaluate,
    scenario_from_sumocfg,
    summarise,
)
from pingan.traffic.preemption import unsafe_changes

pytestmark = pytest.mark.slow

END = 1200.0
CALIBRATION_TICKS: list[tuple[int, int]] = []


@pytest.fixture(scope="module")
def arterial(tmp_path_factory: pytest.TempPathFactory) -> sumo.Arterial:
    art = sumo.build_arterial(tmp_path_factory.mktemp("arterial"), signals=3, seed=1)
    sumo.arterial_demand(art, seed=0, duration_s=END - 300, through_vph=600, cross_vph=150)
    sumo.write_sumocfg(
        art.directory / "arterial.sumocfg", net=art.net, routes=[art.routes(0)], end=END
    )
    return art


@pytest.fixture(scope="module")
def evaluation(
    arterial: sumo.Arterial, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Prepared, list[dict[str, Any]]]:
    scenario = Scenario(name="small", net=arterial.net, routes=(arterial.routes(0),), end=END)
    return evaluate(
        scenario,
        seeds=(0,),
        corridor=arterial.corridor,
        workers=2,
        workdir=tmp_path_factory.mktemp("eval"),
        emergency_every_s=150.0,
        log_phases=True,
        calibration_progress=lambda done, total: CALIBRATION_TICKS.append((done, total)),
    )


def test_every_controller_runs(evaluation: tuple[Prepared, list[dict[str, Any]]]) -> None:
    _prepared, results = evaluation
    assert [r["controller"] for r in results] == list(CONTROLLERS)
    for r in results:
        assert r["network"]["arrived"] > 100, r["controller"]
        assert r["corridor"]["out"]["vehicles"] > 20, r["controller"]
        assert r["corridor"]["in"]["vehicles"] > 20, r["controller"]
        assert r["emergency"]["vehicles"] == 4, r["controller"]
    table = summarise(results)
    for row in table.values():
        assert not math.isnan(row["corridor_tt"][0])


def test_pingan_plan_file_loads_and_runs(
    evaluation: tuple[Prepared, list[dict[str, Any]]], arterial: sumo.Arterial
) -> None:
    prepared, _ = evaluation
    add = prepared.additional["pingan"][0]
    import traci

    label = "plan-load-test"
    traci.start(
        [
            sumo.sumo_binary("sumo"),
            "-n",
            str(arterial.net),
            "-a",
            str(add),
            "--no-step-log",
            "true",
            "--end",
            "10",
        ],
        label=label,
    )
    conn = traci.getConnection(label)
    try:
        for tls_id in prepared.corridor_tls:
            assert conn.trafficlight.getProgram(tls_id) == "pingan"
            logic = next(
                lg
                for lg in conn.trafficlight.getAllProgramLogics(tls_id)
                if lg.programID == "pingan"
            )
            # Yellow and all-red phases are kept from the default programme.
            assert any("y" in p.state for p in logic.phases)
            assert any(set(p.state) == {"r"} for p in logic.phases)
    finally:
        conn.close()
    doc = json.loads(prepared.plan_json)
    assert doc["format"] == "pingan.greenwave/1"
    assert len(doc["signals"]) == 3
    assert doc["band"]["band_out_s"] > 0
    assert prepared.plan_svg.startswith("<svg")


def test_pingan_cycle_is_calibrated_in_simulation(
    evaluation: tuple[Prepared, list[dict[str, Any]]],
) -> None:
    prepared, _ = evaluation
    rows = prepared.calibration
    assert len(rows) >= 2  # several candidate cycles, each simulated once
    assert {r["side_degree"] for r in rows} == {0.5, 0.7, 0.9}
    for degree in (0.5, 0.7, 0.9):
        cycles = [r["cycle_s"] for r in rows if r["side_degree"] == degree]
        assert cycles == sorted(cycles) and cycles
    chosen = [r for r in rows if r["chosen"]]
    assert len(chosen) == 1
    assert chosen[0]["cycle_s"] == pytest.approx(
        json.loads(prepared.plan_json)["cycle_s"], abs=0.05
    )
    assert all(r["corridor_tt_s"] > 0 and r["network_tt_s"] > 0 for r in rows)
    # Progress after every calibration run: the default programmes', then each candidate's.
    assert [(k, len(rows) + 1) for k in range(1, len(rows) + 2)] == CALIBRATION_TICKS
    fit = [r for r in rows if r["network_tt_s"] <= r["default_network_tt_s"]]
    if fit:
        assert chosen[0]["corridor_tt_s"] == min(r["corridor_tt_s"] for r in fit)


def _by(results: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for r in results if r["controller"] == name)


def test_preemption_never_skips_yellow_or_all_red(
    evaluation: tuple[Prepared, list[dict[str, Any]]],
) -> None:
    prepared, results = evaluation
    run = _by(results, "pingan+priority")
    assert run["preemptions"] > 0
    phases_per_tls = {
        tls: len(json.loads(prepared.plan_json)["signals"][i]["phases"])
        for i, tls in enumerate(prepared.corridor_tls)
    }
    for tls, log in run["phase_log"].items():
        assert len(log) > 10
        n = phases_per_tls[tls]
        indices = [phase for _t, phase, _s in log]
        # Phases always advance one by one in programme order: nothing is skipped.
        for a, b in itertools.pairwise(indices):
            assert b in (a, (a + 1) % n), (tls, a, b)
        assert unsafe_changes([state for _t, _p, state in log]) == []


def test_emergency_priority_cuts_emergency_delay(
    evaluation: tuple[Prepared, list[dict[str, Any]]],
) -> None:
    _prepared, results = evaluation
    base = _by(results, "pingan")["emergency"]["time_loss_s"]
    prio = _by(results, "pingan+priority")["emergency"]["time_loss_s"]
    assert prio < base


def test_max_pressure_keeps_yellow(evaluation: tuple[Prepared, list[dict[str, Any]]]) -> None:
    _prepared, results = evaluation
    run = _by(results, "max-pressure")
    for log in run["phase_log"].values():
        assert len(log) > 5
        assert unsafe_changes([state for _t, _p, state in log]) == []


def test_broken_network_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.net.xml"
    broken.write_text("<net><edge id='a'", encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        sumo.load_net(broken)
    assert err.value.field == "net"
    assert err.value.key == "traffic.error.network"
    cfg = sumo.write_sumocfg(tmp_path / "broken.sumocfg", net=broken, routes=[])
    result = CliRunner().invoke(app, ["evaluate", str(cfg), "--seeds", "1"], env={"COLUMNS": "400"})
    assert result.exit_code == 1
    assert "broken.net.xml" in result.output


def test_missing_scenario_and_bad_corridor(arterial: sumo.Arterial) -> None:
    result = CliRunner().invoke(app, ["evaluate", "/nonexistent/x.sumocfg"])
    assert result.exit_code == 1
    with pytest.raises(ValidationFailed) as err:
        sumo.corridor_signals(sumo.load_net(arterial.net), ["W_J1", "nope"])
    assert err.value.field == "corridor[1]"


def test_cli_evaluate_prints_the_table(arterial: sumo.Arterial, tmp_path: Path) -> None:
    cfg = arterial.directory / "arterial.sumocfg"
    assert scenario_from_sumocfg(cfg).end == END
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(cfg),
            "--seeds",
            "1",
            "--controllers",
            "default,pingan",
            "--no-calibrate",  # calibration has its own test (the evaluation fixture)
            "--out",
            str(tmp_path / "out"),
        ],
        env={"PINGAN_LANG": "en", "COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert "default" in result.output and "pingan" in result.output
    # No --corridor: the busiest signalled corridor is the arterial (either direction).
    assert "(3 signals)" in result.output
    assert "W_J1 J1_J2 J2_J3 J3_E" in result.output or "E_J3 J3_J2 J2_J1 J1_W" in result.output
    assert "Pingan corridor travel time vs default" in result.output
    assert (tmp_path / "out" / "time-space.svg").is_file()
    assert json.loads((tmp_path / "out" / "results.json").read_text())


@pytest.mark.parametrize("calibrate", ["--calibrate", "--no-calibrate"])
def test_cli_plan_writes_the_plan_files(
    arterial: sumo.Arterial, tmp_path: Path, calibrate: str
) -> None:
    # The first 400 s of the arterial's demand: the command's wiring is what is tested here
    # (the calibration itself is tested on the whole scenario by the evaluation fixture).
    cfg = sumo.write_sumocfg(
        tmp_path / "short.sumocfg", net=arterial.net, routes=[arterial.routes(0)], end=400.0
    )
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        app,
        ["plan", str(cfg), "--out", str(out), calibrate, "--workers", "1"],
        env={"PINGAN_LANG": "en", "COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "pingan.json").read_text(encoding="utf-8"))
    assert doc["format"] == "pingan.greenwave/1" and len(doc["signals"]) == 3
    assert doc["side_degree"] == 0.5 or calibrate == "--calibrate"
    assert (out / "pingan.add.xml").is_file()
    assert (out / "time-space.svg").read_text(encoding="utf-8").startswith("<svg")
    assert (out / "calibration").is_dir() == (calibrate == "--calibrate")
