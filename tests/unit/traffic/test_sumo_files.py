"""SUMO file handling that needs no SUMO: routes, programmes, tripinfo, sumocfg."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pingan.traffic.evaluate import markdown_table, scenario_from_sumocfg, summarise
from pingan.traffic.sumo import (
    Program,
    ProgramPhase,
    parse_tripinfo,
    read_routes,
    write_programs,
    write_routes,
    write_sumocfg,
)


def test_read_routes_inline_named_and_rerouted(tmp_path: Path) -> None:
    path = tmp_path / "r.rou.xml"
    path.write_text(
        """<routes>
  <route id="r1" edges="a b c"/>
  <vehicle id="v1" depart="5"><route edges="x y"/></vehicle>
  <vehicle id="v2" depart="7" route="r1"/>
  <vehicle id="v3" depart="9"><routeDistribution>
      <route edges="p q" probability="0"/><route edges="p r s"/>
  </routeDistribution></vehicle>
  <trip id="t" depart="1" from="a" to="c"/>
</routes>""",
        encoding="utf-8",
    )
    routes = read_routes([path])
    assert routes == [(5.0, ["x", "y"]), (7.0, ["a", "b", "c"]), (9.0, ["p", "r", "s"])]
    out = write_routes(routes, tmp_path / "inline.rou.xml")
    assert read_routes([out]) == routes


def test_programmes_keep_every_phase(tmp_path: Path) -> None:
    prog = Program(
        "J1",
        "pingan",
        12.5,
        [
            ProgramPhase("GGrr", 30.0),
            ProgramPhase("yyrr", 3.0),
            ProgramPhase("rrrr", 2.0),
            ProgramPhase("rrGG", 20.0, min_dur=5.0, max_dur=40.0),
            ProgramPhase("rryy", 3.0),
            ProgramPhase("rrrr", 2.0),
        ],
    )
    assert prog.cycle_s == 60.0
    assert prog.green_block([0, 1]) == (0.0, 30.0)
    assert prog.green_block([2]) == (35.0, 20.0)
    root = ET.parse(write_programs([prog], tmp_path / "p.add.xml", comment="x -- y")).getroot()
    logic = root.find("tlLogic")
    assert logic is not None
    assert logic.get("offset") == "12.50"
    assert logic.get("programID") == "pingan"
    states = [p.get("state") for p in logic.findall("phase")]
    assert states == ["GGrr", "yyrr", "rrrr", "rrGG", "rryy", "rrrr"]
    assert logic.findall("phase")[3].get("maxDur") == "40.00"


def test_tripinfo_counts_unfinished_and_separates_emergency(tmp_path: Path) -> None:
    path = tmp_path / "t.xml"
    path.write_text(
        """<tripinfos>
  <tripinfo id="a" duration="100" timeLoss="20" waitingCount="2" arrival="200"/>
  <tripinfo id="b" duration="300" timeLoss="200" waitingCount="4" arrival="-1"/>
  <tripinfo id="ev.0" duration="90" timeLoss="10" waitingCount="0" arrival="150"/>
</tripinfos>""",
        encoding="utf-8",
    )
    stats = parse_tripinfo(path)
    assert stats.vehicles == 2
    assert stats.arrived == 1
    assert stats.travel_time_s == 200.0
    assert stats.time_loss_s == 110.0
    assert stats.stops == 3.0
    assert stats.emergency == [
        {"travel_time_s": 90.0, "time_loss_s": 10.0, "stops": 0.0, "done": 1.0}
    ]


def test_sumocfg_round_trip(tmp_path: Path) -> None:
    (tmp_path / "n.net.xml").write_text("<net/>", encoding="utf-8")
    cfg = write_sumocfg(
        tmp_path / "s.sumocfg",
        net=tmp_path / "n.net.xml",
        routes=[tmp_path / "a.rou.xml", tmp_path / "b.rou.xml"],
        begin=100,
        end=700,
    )
    sc = scenario_from_sumocfg(cfg)
    assert sc.net == (tmp_path / "n.net.xml").resolve()
    assert [r.name for r in sc.routes] == ["a.rou.xml", "b.rou.xml"]
    assert (sc.begin, sc.end) == (100.0, 700.0)


def test_summary_mean_and_spread() -> None:
    def run(seed: int, tt: float) -> dict[str, object]:
        corridor = {"vehicles": 10.0, "travel_time_s": tt, "time_loss_s": tt - 50, "stops": 1.0}
        return {
            "controller": "pingan",
            "seed": seed,
            "network": {"arrived": 100, "travel_time_s": 80.0, "time_loss_s": 20.0, "stops": 1.0},
            "corridor": {"out": corridor, "in": dict(corridor, vehicles=0.0)},
            "emergency": {"travel_time_s": math.nan, "time_loss_s": math.nan, "stops": math.nan},
        }

    table = summarise([run(0, 100.0), run(1, 120.0)])
    mean, sd = table["pingan"]["corridor_tt"]
    assert mean == pytest.approx(110.0)
    assert sd == pytest.approx(14.142, abs=1e-3)
    assert math.isnan(table["pingan"]["ev_tt"][0])
    md = markdown_table(table)
    assert "| pingan | 110.0 ± 14.1 |" in md
    assert "–" in md
