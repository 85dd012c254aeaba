"""The time-space diagram is well-formed SVG showing every signal and both bands."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pingan.traffic.diagram import time_space_svg
from pingan.traffic.maxband import Signal, solve_maxband

NS = "{http://www.w3.org/2000/svg}"


def test_svg_has_signals_greens_and_bands() -> None:
    signals = [Signal(f"J{i}<&>", 400.0 * i, red=0.5) for i in range(4)]
    plan = solve_maxband(signals, cycle_range=(60, 100), speed_range=(12, 14))
    svg = time_space_svg(plan, cycles=3, title="Test & corridor")
    root = ET.fromstring(svg)  # well-formed, names escaped
    assert root.tag == f"{NS}svg"
    texts = [t.text or "" for t in root.iter(f"{NS}text")]
    assert any("Test & corridor" in t for t in texts)
    assert sum(1 for t in texts if t.startswith("J")) == 4
    polygons = list(root.iter(f"{NS}polygon"))
    colours = {p.get("stroke") for p in polygons}
    assert len(colours) == 2  # outbound and inbound bands
    greens = [r for r in root.iter(f"{NS}rect") if r.get("fill") == "#2e9d4a"]
    # At least one green per direction, signal and cycle.
    assert len(greens) >= 4 * 2 * 3


def test_zero_band_draws_no_parallelogram() -> None:
    # g = C/4 and 2t = C/2: the loop constraint leaves exactly a zero band.
    signals = [Signal("A", 0.0, red=0.75), Signal("B", 150.0, red=0.75)]
    plan = solve_maxband(signals, cycle_range=(60, 60), speed_range=(10, 10))
    assert plan.band_out_s == 0.0
    root = ET.fromstring(time_space_svg(plan))
    assert not list(root.iter(f"{NS}polygon"))
