"""The traffic desk's pure parts: corridors from a road graph, per-period designs,
coordination of shared signals, the before/after estimate and the exports."""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from pingan.city.graph import RoadGraph
from pingan.core.errors import ValidationFailed
from pingan.traffic import corridors as cor
from pingan.traffic import timing as tm
from pingan.traffic.maxband import Signal, solve_maxband
from pingan.traffic.webster import uniform_delay


def _signals() -> list[tm.DesignSignal]:
    positions = [0.0, 320.0, 610.0, 980.0, 1300.0]
    return [
        tm.DesignSignal(signal_id=i + 1, position_m=p, through_vph=800.0 - 50 * i, cross_vph=300.0)
        for i, p in enumerate(positions)
    ]


def _start(t: tm.SignalTiming) -> float:
    return t.through_green()[0]


def test_design_holds_the_cycle_range_and_pedestrian_minimums() -> None:
    d = tm.design_period("am_peak", _signals(), cycle_range=(50.0, 120.0), speed_range=(10, 14))
    assert 50.0 <= d.band.cycle_s <= 120.0
    assert d.band.band_out_s > 0 and d.band.band_in_s > 0
    for t in d.timings:
        assert t.cycle_s == pytest.approx(d.band.cycle_s, abs=0.05)
        assert 0.0 <= t.offset_s < t.cycle_s
        main, cross = t.phases
        # Walk 7 s + crossing at 1.2 m/s: the cross phase lets pedestrians cross the main road.
        assert cross.green_s >= 7.0 + tm.MAIN_CROSSING_M / 1.2 - 0.05
        assert main.green_s >= 7.0 + tm.SIDE_CROSSING_M / 1.2 - 0.05


def test_infeasible_cycle_range_and_too_few_signals_name_the_field() -> None:
    with pytest.raises(ValidationFailed) as exc:
        tm.design_period("am_peak", _signals(), cycle_range=(20.0, 30.0), speed_range=(10, 14))
    assert exc.value.field == "cycle_range"
    assert exc.value.key == "traffic.error.cycle_range_infeasible"
    with pytest.raises(ValidationFailed) as exc:
        tm.design_period("am_peak", _signals(), cycle_range=(90.0, 60.0), speed_range=(10, 14))
    assert exc.value.field == "cycle_range"
    with pytest.raises(ValidationFailed) as exc:
        tm.design_period("am_peak", _signals()[:1], cycle_range=(50, 120), speed_range=(10, 14))
    assert exc.value.field == "signals"


def test_a_shared_signal_keeps_its_cycle_splits_and_offset() -> None:
    first = tm.design_period("am_peak", _signals(), cycle_range=(50, 120), speed_range=(10, 14))
    shared = first.timings[2]  # signal 3
    # The second corridor crosses the first at signal 3: its through movement is the cross phase.
    crossing = replace(shared, through_phase=1)
    second_signals = [
        tm.DesignSignal(21, 0.0, 600.0, 250.0),
        tm.DesignSignal(22, 280.0, 600.0, 250.0),
        tm.DesignSignal(3, 540.0, 300.0, 600.0),
        tm.DesignSignal(23, 900.0, 600.0, 250.0),
    ]
    second = tm.design_period(
        "am_peak",
        second_signals,
        cycle_range=(40, 150),
        speed_range=(10, 14),
        held={3: tm.Held(crossing, plan_id=1, corridor_id=1)},
    )
    assert second.band.cycle_s == pytest.approx(first.band.cycle_s)
    held = second.timings[2]
    assert held.phases == shared.phases and held.offset_s == shared.offset_s
    assert held.source == "held:1"
    # The band of the second corridor sits in the cross phase's green there.
    assert _start(held) == pytest.approx(_start(crossing))
    assert second.held == [{"signal_id": 3, "plan_id": 1, "corridor_id": 1, "through_phase": 1}]
    # Its own signals run the common cycle.
    assert all(t.cycle_s == pytest.approx(first.band.cycle_s, abs=0.05) for t in second.timings)


def test_two_shared_signals_keep_both_offsets() -> None:
    first = tm.design_period("am_peak", _signals(), cycle_range=(50, 120), speed_range=(10, 14))
    # A second corridor joins the first one's last three signals (same direction).
    held = {t.signal_id: tm.Held(t, plan_id=1, corridor_id=1) for t in first.timings[2:]}
    joined = [
        tm.DesignSignal(31, 0.0, 500.0, 250.0),
        tm.DesignSignal(32, 300.0, 500.0, 250.0),
        *[
            tm.DesignSignal(s.signal_id, 300.0 + 310.0 + s.position_m - 610.0, 700, 300)
            for s in _signals()[2:]
        ],
    ]
    second = tm.design_period(
        "am_peak", joined, cycle_range=(50, 120), speed_range=(10, 14), held=held
    )
    for t in second.timings[2:]:
        original = next(x for x in first.timings if x.signal_id == t.signal_id)
        assert t.offset_s == original.offset_s and t.phases == original.phases


def test_held_cycle_outside_the_range_is_refused() -> None:
    first = tm.design_period("am_peak", _signals(), cycle_range=(50, 120), speed_range=(10, 14))
    held = {3: tm.Held(first.timings[2], plan_id=1, corridor_id=1)}
    lo = first.band.cycle_s + 10
    with pytest.raises(ValidationFailed) as exc:
        tm.design_period(
            "am_peak", _signals(), cycle_range=(lo, lo + 40), speed_range=(10, 14), held=held
        )
    assert exc.value.field == "cycle_range"
    assert exc.value.key == "traffic.error.coordination_cycle_range"


def _delay_by_hand(d: tm.PeriodDesign, signals: list[tm.DesignSignal]) -> float:
    """Flow × Webster's uniform delay per phase; the through phase's delay discounted by the
    share of its green the larger band covers (lost time 4 s = yellow 3 s + all-red 1 s, so
    effective green = displayed green)."""
    band = max(d.band.band_out_s, d.band.band_in_s)
    total = 0.0
    for s, t in zip(signals, d.timings, strict=True):
        main, cross = t.phases
        through = uniform_delay(t.cycle_s, main.green_s, s.through_vph / tm.SATURATION_THROUGH_VPH)
        through *= 1.0 - min(band / main.green_s, 1.0)
        total += s.through_vph * through
        total += s.cross_vph * uniform_delay(
            t.cycle_s, cross.green_s, s.cross_vph / tm.SATURATION_CROSS_VPH
        )
    return total


def test_the_cycle_is_the_least_delay_one_not_maxbands_widest_band() -> None:
    signals = _signals()
    d = tm.design_period("am_peak", signals, cycle_range=(80, 120), speed_range=(10, 14))
    assert d.cycle_choice == "least_delay"
    by_cycle = {c.cycle_s: c for c in d.cycle_candidates}
    assert d.maxband_cycle_s is not None and d.maxband_cycle_s in by_cycle
    widest, chosen = by_cycle[d.maxband_cycle_s], by_cycle[d.band.cycle_s]
    # MAXBAND's cycle has the widest band but costs more delay than the chosen, shorter one.
    assert d.band.cycle_s < d.maxband_cycle_s
    assert widest.band_out_s > chosen.band_out_s
    assert chosen.delay_veh_s_per_h < widest.delay_veh_s_per_h
    assert chosen.delay_veh_s_per_h == min(c.delay_veh_s_per_h for c in d.cycle_candidates)
    # Candidates every 5 s from the critical cycle (the range's minimum here) plus MAXBAND's.
    cycles = sorted(by_cycle)
    assert cycles[0] == pytest.approx(80.0) and cycles[-1] == d.maxband_cycle_s
    assert all(b - a == pytest.approx(5.0) for a, b in itertools.pairwise(cycles[:-1]))
    # The recorded delay is the formula applied to the returned design.
    assert chosen.delay_veh_s_per_h == pytest.approx(_delay_by_hand(d, signals), rel=1e-9)
    assert (chosen.band_out_s, chosen.band_in_s) == (d.band.band_out_s, d.band.band_in_s)
    for t in d.timings:
        assert t.cycle_s == pytest.approx(d.band.cycle_s, abs=0.05)
    doc = d.cycle_choice_dict()
    assert json.loads(json.dumps(doc)) == doc
    assert doc["rule"] == "least_delay" and doc["chosen_cycle_s"] == round(d.band.cycle_s, 1)
    assert doc["maxband_cycle_s"] == round(d.maxband_cycle_s, 1)
    assert len(doc["candidates"]) == len(d.cycle_candidates)


def test_a_held_cycle_is_kept_even_where_a_shorter_one_would_delay_less() -> None:
    first = tm.design_period("am_peak", _signals(), cycle_range=(50, 120), speed_range=(10, 14))
    others = [
        tm.DesignSignal(21, 0.0, 600.0, 250.0),
        tm.DesignSignal(22, 280.0, 600.0, 250.0),
        tm.DesignSignal(3, 540.0, 300.0, 600.0),
        tm.DesignSignal(23, 900.0, 600.0, 250.0),
    ]
    free = tm.design_period("am_peak", others, cycle_range=(40, 150), speed_range=(10, 14))
    crossing = replace(first.timings[2], through_phase=1)
    held = tm.design_period(
        "am_peak",
        others,
        cycle_range=(40, 150),
        speed_range=(10, 14),
        held={3: tm.Held(crossing, plan_id=1, corridor_id=1)},
    )
    # Alone, this corridor would run a different cycle; held, it keeps the shared signal's.
    assert free.band.cycle_s != pytest.approx(first.band.cycle_s, abs=0.5)
    assert held.band.cycle_s == pytest.approx(crossing.cycle_s)
    assert held.cycle_choice == "held" and held.cycle_candidates == []
    assert held.maxband_cycle_s == pytest.approx(crossing.cycle_s)
    assert held.cycle_choice_dict()["candidates"] == []


def test_maxband_relative_offsets_are_kept() -> None:
    sigs = [Signal(str(i), p, red=0.5) for i, p in enumerate([0.0, 300.0, 700.0, 1000.0])]
    free = solve_maxband(sigs, cycle_range=(80, 80), speed_range=(10, 14))
    fixed = solve_maxband(
        sigs, cycle_range=(80, 80), speed_range=(10, 14), relative_offsets=[(1, 3, 0.25)]
    )
    gap = (fixed.offsets_s[3] - fixed.offsets_s[1]) % 80.0
    assert min(abs(gap - 20.0), 80.0 - abs(gap - 20.0)) < 0.05
    assert fixed.band_out_s <= free.band_out_s + 1e-6
    with pytest.raises(ValidationFailed) as exc:
        solve_maxband(
            sigs, cycle_range=(80, 80), speed_range=(10, 14), relative_offsets=[(2, 1, 0.1)]
        )
    assert exc.value.field == "relative_offsets[0]"


def test_estimate_green_wave_beats_uncoordinated_default() -> None:
    d = tm.design_period("am_peak", _signals(), cycle_range=(50, 120), speed_range=(10, 14))

    def run(timings: list[tm.SignalTiming]) -> dict[str, Any]:
        return tm.estimate(timings, links_out_s=d.band.travel_out_s, links_in_s=d.band.travel_in_s)

    after = run(d.timings)
    before = run([tm.default_timing(s.signal_id) for s in _signals()])
    assert after == run(d.timings)  # deterministic
    for direction in ("out", "in"):
        assert after[direction]["travel_time_s"] < before[direction]["travel_time_s"]
        assert after[direction]["nonstop_share"] > before[direction]["nonstop_share"]
        # A vehicle inside the band passes every signal: the non-stop window is the band.
        assert after[direction]["bandwidth_s"] >= 0.8 * d.band.band_out_s


def test_default_timing_is_netconverts_90_s_two_phase() -> None:
    t = tm.default_timing(7)
    assert t.cycle_s == 90.0 and len(t.phases) == 2 and t.offset_s == 0.0
    assert t.source == "assumed_default"
    assert tm.SignalTiming.from_dict(t.to_dict()) == t


def test_exports() -> None:
    d = tm.design_period("am_peak", _signals(), cycle_range=(50, 120), speed_range=(10, 14))
    xml = tm.export_sumo(
        d.timings, {t.signal_id: f"n{t.signal_id}" for t in d.timings}, program_id="p1"
    )
    root = ET.fromstring(xml)
    logics = root.findall("tlLogic")
    assert [x.get("id") for x in logics] == [f"n{i}" for i in range(1, 6)]
    for logic, t in zip(logics, d.timings, strict=True):
        total = sum(float(p.get("duration", "0")) for p in logic.findall("phase"))
        assert total == pytest.approx(t.cycle_s, abs=0.05)
        assert float(logic.get("offset", "-1")) == pytest.approx(t.offset_s, abs=0.01)
    doc = tm.export_json(
        plan={"plan_id": 1, "cycle_s": d.band.cycle_s},
        timings=d.timings,
        signals={t.signal_id: {"osm_id": 100 + t.signal_id} for t in d.timings},
    )
    json.dumps(doc)
    assert doc["format"] == "pingan.greenwave/1"
    assert {p["kind"] for p in doc["signals"][0]["phases"]} == {"green", "yellow", "all_red"}
    assert doc["signals"][0]["osm_id"] == 101


def _grid() -> RoadGraph:
    """A 4×3 grid, 100 m blocks, two-way streets; the middle row is faster (an arterial)."""
    lon, lat, u, v, tt, ln = [], [], [], [], [], []
    for r in range(3):
        for c in range(4):
            lon.append(24.9 + c * 0.0018)
            lat.append(60.17 + r * 0.0009)

    def add(a: int, b: int, seconds: float) -> None:
        for x, y in ((a, b), (b, a)):
            u.append(x)
            v.append(y)
            tt.append(seconds)
            ln.append(100.0)

    for r in range(3):
        for c in range(3):
            add(r * 4 + c, r * 4 + c + 1, 5.0 if r == 1 else 12.0)
    for r in range(2):
        for c in range(4):
            add(r * 4 + c, (r + 1) * 4 + c, 12.0)
    return RoadGraph.from_edges(
        lon=np.array(lon),
        lat=np.array(lat),
        osm_id=np.arange(12, dtype=np.int64),
        u=np.array(u),
        v=np.array(v),
        travel_time=np.array(tt),
        length=np.array(ln),
    )


def test_tree_flows_accumulate_trips_towards_the_destination() -> None:
    g = _grid()
    tree = cor.tree_flows(g, 7)  # east end of the arterial (middle row)
    assert tree.flow[7] == 12.0  # every node's trip arrives
    assert tree.next_node[7] == -1
    # The arterial carries the trips of its row and of the rows that join it.
    assert tree.flow[6] > tree.flow[3] and tree.flow[6] > tree.flow[11]
    path = cor.path_to_destination(tree, 4)
    assert path == [4, 5, 6, 7] and tree.metres[4] == pytest.approx(300.0)


def test_propose_corridors_picks_the_busiest_approach_and_finds_signals() -> None:
    g = _grid()
    tree = cor.tree_flows(g, 7)
    picked = cor.propose_corridors(tree, count=2, length_m=300.0)
    best = picked[0]
    # The heaviest trip-metres among entry nodes 150-300 m away.
    candidates = [v for v in range(12) if 150.0 <= tree.metres[v] <= 300.0]
    top = max(candidates, key=lambda v: tree.flow[v] * tree.metres[v])
    assert best.nodes == cor.path_to_destination(tree, top) == [5, 6, 7]  # along the arterial
    assert best.trips == tree.flow[5] and 0 < best.share <= 1
    assert len(picked) == 2 and picked[1].nodes != best.nodes
    found = cor.corridor_signals(g, [4, 5, 6, 7], {5: 50, 6: 60})
    assert [(s.signal_id, s.position_m) for s in found] == [(50, 100.0), (60, 200.0)]


def test_a_signal_beside_the_corridor_counts_for_its_junction_once() -> None:
    g = _grid()  # rows 100 m apart: node 1 is beside corridor node 5
    corridor = [4, 5, 6, 7]
    # Within the radius, a signal off the corridor belongs to the nearest corridor node ...
    found = cor.corridor_signals(g, corridor, {1: 10, 6: 60}, junction_radius_m=120.0)
    assert [(s.signal_id, s.node, s.position_m) for s in found] == [(10, 5, 100.0), (60, 6, 200.0)]
    # ... unless that node has a nearer one: a junction is listed once.
    found = cor.corridor_signals(g, corridor, {1: 10, 5: 50}, junction_radius_m=120.0)
    assert [s.signal_id for s in found] == [50]
    # Beyond the radius (30 m by default) it is another junction's.
    assert cor.corridor_signals(g, corridor, {1: 10}) == []


def test_signals_close_along_the_corridor_are_one_intersection() -> None:
    g = _grid()
    corridor = [4, 5, 6, 7]
    # 100 m apart: two intersections with the default 40 m rule ...
    assert [s.signal_id for s in cor.corridor_signals(g, corridor, {5: 50, 6: 60})] == [50, 60]
    # ... one when the rule spans them: the signal on the corridor is kept (first of equals).
    merged = cor.corridor_signals(g, corridor, {5: 50, 6: 60}, intersection_gap_m=150.0)
    assert [(s.signal_id, s.position_m) for s in merged] == [(50, 100.0)]
    beside = cor.corridor_signals(
        g, corridor, {1: 10, 6: 60}, junction_radius_m=120.0, intersection_gap_m=150.0
    )
    assert [(s.signal_id, s.node) for s in beside] == [(60, 6)]


def test_evaluation_figures_are_json_safe() -> None:
    from pingan.traffic.evaluations import _number

    assert _number(1.23456) == 1.235
    assert _number(float("nan")) is None and _number(float("inf")) is None
