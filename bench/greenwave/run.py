"""Green-wave benchmark: Pingan's plan against SUMO's baselines, side by side, several seeds.

Run with ``python bench/greenwave/run.py
[--scenarios arterial,cologne3,ingolstadt7,demo,demo-offpeak] [--seeds N] [--workers 2]
[--write-docs]``. For each scenario it runs default fixed-time
plans, tlsCycleAdaptation+tlsCoordinator, actuated, max-pressure, Pingan's green wave and
Pingan with emergency priority on the same network, demand and seeds, prints the table and
the ratio of Pingan's corridor travel time to each alternative. ``--write-docs`` saves the
arterial's time-space diagram to ``docs/desks/traffic-time-space.svg``, the tables into
``docs/desks/traffic.md`` (between the bench markers) and raw results to
``bench/results/greenwave.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pingan.traffic.cli import print_table, ratios
from pingan.traffic.evaluate import (
    Scenario,
    evaluate,
    markdown_table,
    scenario_from_sumocfg,
    summarise,
)
from pingan.traffic.sumo import arterial_demand, build_arterial, build_osm_scenario

ROOT = Path(__file__).resolve().parents[2]
RESCO = Path("/work/shared/data/traffic/resco")
BEGIN_MARK = "<!-- bench:greenwave:begin -->"
END_MARK = "<!-- bench:greenwave:end -->"
console = Console(width=200)
DEMO_PERIODS = {"demo": 1.5, "demo-offpeak": 2.5}
"""Seconds between the demo city's random trips (the desk's am-peak and off-peak levels)."""


def arterial_scenario(work: Path, seeds: int) -> tuple[Scenario, list[str]]:
    """The synthetic 7-signal arterial with fresh Poisson demand per seed."""
    art = build_arterial(work / "arterial", signals=7, seed=7)
    by_seed: dict[int, tuple[Path, ...]] = {
        s: (arterial_demand(art, seed=s),) for s in range(seeds)
    }
    scenario = Scenario(name="arterial", net=art.net, routes=by_seed[0], routes_by_seed=by_seed)
    return scenario, art.corridor


def scenario_for(name: str, work: Path, seeds: int) -> tuple[Scenario, list[str] | None]:
    """A named scenario: arterial, demo (the demo city at the desk's peak demand, a random
    trip every 1.5 s: oversaturated under its default programmes), demo-offpeak (the same
    network at the desk's off-peak level, a trip every 2.5 s), or a RESCO folder name."""
    if name == "arterial":
        sc, corridor = arterial_scenario(work, seeds)
        return sc, corridor
    if name in DEMO_PERIODS:
        from pingan.city.service import demo_pbf_path

        cfg = build_osm_scenario(demo_pbf_path(), work / name, period_s=DEMO_PERIODS[name])
        return scenario_from_sumocfg(cfg), None
    cfg = RESCO / name / f"{name}.sumocfg"
    return scenario_from_sumocfg(cfg), None


def fmt_calibration(rows: list[dict[str, Any]]) -> str:
    """Pingan's candidate cycles as simulated on the calibration seed, as Markdown."""
    if not rows:
        return ""
    lines = [
        "",
        "Pingan's candidate cycles, simulated once each on the calibration seed (1000, not an "
        "evaluation seed; the chosen one: least corridor travel time with the network no worse "
        "than the default programmes'):",
        "",
        "| cycle (s) | side degree | band (s) | estimated delay (veh·s/h) "
        "| corridor travel time (s) | network travel time (s) | chosen |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['cycle_s']} | {r['side_degree']} | {r['band_s']} | "
            f"{r['estimated_delay']:,.0f} | "
            f"{r['corridor_tt_s']} | {r['network_tt_s']} (default {r['default_network_tt_s']}) | "
            f"{'**yes**' if r['chosen'] else ''} |"
        )
    return "\n".join(lines) + "\n"


def fmt_ratios(table: dict[str, dict[str, tuple[float, float]]]) -> str:
    """Ratios of Pingan's corridor travel time (and EV delay with priority) as Markdown."""
    lines = []
    for name, r in ratios(table).items():
        lines.append(f"- Pingan corridor travel time / {name}: **{r:.3f}** ({r - 1:+.1%})")
    if "pingan" in table and "pingan+priority" in table:
        base = table["pingan"]["ev_delay"][0]
        default = table.get("default", {}).get("ev_delay", (math.nan, 0.0))[0]
        prio = table["pingan+priority"]["ev_delay"][0]
        lines.append(
            f"- Emergency-vehicle delay with priority / Pingan without: **{prio / base:.3f}**; "
            f"/ default plans: **{prio / default:.3f}**"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", default="arterial")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pingan-greenwave-"))
    console.print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}; workdir {work}"
    )
    sections: list[tuple[str, str]] = []
    raw: dict[str, Any] = {}
    svg = ""
    for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        started = time.perf_counter()
        scenario, corridor = scenario_for(name, work, args.seeds)
        prepared, results = evaluate(
            scenario,
            seeds=list(range(args.seeds)),
            corridor=corridor,
            workers=args.workers,
            workdir=work / f"{name}-runs",
            progress=lambda r: console.print(f"  {r['controller']} seed {r['seed']} done"),
        )
        elapsed = time.perf_counter() - started
        table = summarise(results)
        band = json.loads(prepared.plan_json)["band"] if prepared.plan_json else {}
        console.print(
            f"[bold]{name}[/bold]: corridor {' '.join(prepared.corridor)} "
            f"({len(prepared.corridor_tls)} signals); cycle {band.get('cycle_s')} s, bands "
            f"{band.get('band_out_s')}/{band.get('band_in_s')} s; {elapsed:.0f} s wall"
        )
        print_table(name, args.seeds, table)
        console.print(fmt_calibration(prepared.calibration))
        if name == "arterial":
            svg = prepared.plan_svg
        sections.append(
            (
                name,
                f"### {name}\n\n"
                f"Corridor `{' '.join(prepared.corridor)}` ({len(prepared.corridor_tls)} signals); "
                f"Pingan plan: cycle {band.get('cycle_s')} s, bands {band.get('band_out_s')} / "
                f"{band.get('band_in_s')} s (efficiency {band.get('efficiency')}); "
                f"{args.seeds} seeds, mean ± sd; {elapsed:.0f} s wall time on 2 cores.\n\n"
                + markdown_table(table)
                + "\n"
                + fmt_ratios(table)
                + fmt_calibration(prepared.calibration),
            )
        )
        for r in results:
            r.pop("phase_log", None)
        raw[name] = {
            "corridor": prepared.corridor,
            "band": band,
            "calibration": prepared.calibration,
            "results": results,
        }
    if args.write_docs:
        docs = ROOT / "docs" / "desks"
        if svg:
            (docs / "traffic-time-space.svg").write_text(svg, encoding="utf-8")
        md = docs / "traffic.md"
        text = md.read_text(encoding="utf-8") if md.exists() else ""
        if BEGIN_MARK not in text:
            text += f"\n{BEGIN_MARK}\n{END_MARK}\n"
        for name, section in sections:
            begin, end = f"<!-- greenwave:{name}:begin -->", f"<!-- greenwave:{name}:end -->"
            block = f"{begin}\n{section}{end}"
            if begin in text and end in text:
                head, rest = text.split(begin, 1)
                text = head + block + rest.split(end, 1)[1]
            else:
                text = text.replace(END_MARK, f"{block}\n{END_MARK}")
        md.write_text(text, encoding="utf-8")
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        existing: dict[str, Any] = {}
        path = out / "greenwave.json"
        if path.exists():
            existing = json.loads(path.read_text(encoding="utf-8"))
        existing.update(raw)
        path.write_text(json.dumps(existing, indent=1), encoding="utf-8")
        console.print(f"written: {md}, {path}")


if __name__ == "__main__":
    main()
