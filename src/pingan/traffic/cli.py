"""``pingan traffic ...``: design a green wave and evaluate signal control in SUMO."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pingan.core.errors import PinganError, ValidationFailed
from pingan.core.i18n import console_language, register_catalogue
from pingan.core.i18n import console_text as t

register_catalogue(Path(__file__).parent / "locales")

app = typer.Typer(
    help="The traffic desk: green waves, signal control. / 数智绿波：绿波设计与信号控制评估。",
    no_args_is_help=True,
)
console = Console()

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("corridor_tt", "corridor TT s", 1),
    ("corridor_delay", "corridor delay s", 1),
    ("corridor_stops", "corridor stops", 2),
    ("network_tt", "network TT s", 1),
    ("network_delay", "network delay s", 1),
    ("network_stops", "network stops", 2),
    ("throughput", "arrived", 0),
    ("ev_tt", "EV TT s", 1),
    ("ev_delay", "EV delay s", 1),
    ("ev_stops", "EV stops", 2),
)


def _fail(exc: PinganError) -> typer.Exit:
    console.print(f"[red]{exc.message(console_language())}[/red]")
    return typer.Exit(code=1)


def _corridor(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [e for e in value.replace(",", " ").split() if e]


def ratios(table: dict[str, dict[str, tuple[float, float]]]) -> dict[str, float]:
    """Pingan's corridor travel time divided by each other controller's."""
    if "pingan" not in table:
        return {}
    ours = table["pingan"]["corridor_tt"][0]
    return {
        name: ours / row["corridor_tt"][0]
        for name, row in table.items()
        if name not in ("pingan", "pingan+priority") and row["corridor_tt"][0] > 0
    }


def print_table(name: str, seeds: int, table: dict[str, dict[str, tuple[float, float]]]) -> None:
    """The side-by-side table and Pingan's ratios, on the console."""
    from pingan.traffic.evaluate import CONTROLLERS

    out = Table(title=t("traffic.cli.title", scenario=name, seeds=seeds))
    out.add_column("controller")
    for _, head, _ in COLUMNS:
        out.add_column(head, justify="right")
    for ctrl in CONTROLLERS:
        if ctrl not in table:
            continue
        cells = []
        for key, _, digits in COLUMNS:
            m, s = table[ctrl][key]
            cells.append("–" if math.isnan(m) else f"{m:.{digits}f} ± {s:.{digits}f}")
        out.add_row(ctrl, *cells)
    console.print(out)
    for ctrl, r in ratios(table).items():
        console.print(
            t("traffic.cli.ratio", controller=ctrl, ratio=f"{r:.3f}", change=f"{(r - 1):+.1%}")
        )
    if "pingan" in table and "pingan+priority" in table:
        base = table["pingan"]["ev_delay"][0]
        if base > 0:
            console.print(
                t("traffic.cli.ev", ratio=f"{table['pingan+priority']['ev_delay'][0] / base:.3f}")
            )


@app.command("evaluate")
def evaluate_cmd(
    scenario: Annotated[Path, typer.Argument(help="A SUMO .sumocfg file.")],
    corridor: Annotated[
        str | None,
        typer.Option("--corridor", help="Outbound edge ids (comma/space separated)."),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Number of seeds.")] = 3,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Parallel SUMO runs.")] = 2,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for plans, diagram and results.")
    ] = None,
    controllers: Annotated[
        str | None,
        typer.Option("--controllers", help="Subset of controllers (comma separated)."),
    ] = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate/--no-calibrate",
            help="Choose Pingan's cycle by simulating each candidate once (seed 1000).",
        ),
    ] = True,
) -> None:
    """Compare default, Webster+coordination, actuated, max-pressure and Pingan's green wave.

    对比默认配时、Webster+协调、感应控制、最大压力与平安绿波（含特种车辆优先）。
    """
    from pingan.traffic.evaluate import evaluate, scenario_from_sumocfg, summarise

    try:
        sc = scenario_from_sumocfg(scenario)
        console.print(t("traffic.cli.preparing", scenario=sc.name))
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(
                t("traffic.cli.running", runs="…", workers=workers), total=None
            )

            def tick(result: dict[str, Any]) -> None:
                progress.advance(task)
                progress.update(
                    task,
                    description=t(
                        "traffic.cli.done", controller=result["controller"], seed=result["seed"]
                    ),
                )

            from pingan.traffic.evaluate import CONTROLLERS

            chosen = _corridor(controllers) or list(CONTROLLERS)
            unknown = [c for c in chosen if c not in CONTROLLERS]
            if unknown:
                raise ValidationFailed(
                    "traffic.error.controller", field="controllers", value=",".join(unknown)
                )
            progress.update(task, total=len(chosen) * seeds)

            def calibrating(done: int, total: int) -> None:
                progress.update(
                    task, description=t("traffic.cli.calibrating", done=done, total=total)
                )

            prepared, results = evaluate(
                sc,
                seeds=list(range(seeds)),
                corridor=_corridor(corridor),
                workers=workers,
                workdir=out,
                controllers=chosen,
                progress=tick,
                calibrate=calibrate,
                calibration_progress=calibrating,
            )
    except PinganError as exc:
        raise _fail(exc) from None
    plan = json.loads(prepared.plan_json) if prepared.plan_json else None
    console.print(
        t(
            "traffic.cli.corridor",
            edges=" ".join(prepared.corridor),
            signals=len(prepared.corridor_tls),
        )
    )
    if plan:
        band = plan["band"]
        console.print(
            t(
                "traffic.cli.band",
                cycle=band["cycle_s"],
                band_out=band["band_out_s"],
                band_in=band["band_in_s"],
                efficiency=f"{band['efficiency']:.0%}",
            )
        )
    for row in prepared.calibration:
        console.print(
            t(
                "traffic.cli.calibration",
                cycle=row["cycle_s"],
                degree=row["side_degree"],
                band=row["band_s"],
                delay=f"{row['estimated_delay']:,.0f}",
                corridor=row["corridor_tt_s"],
                network=row["network_tt_s"],
                default=row["default_network_tt_s"],
                mark=t("traffic.cli.chosen") if row["chosen"] else "",
            )
        )
    table = summarise(results)
    print_table(sc.name, seeds, table)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for r in results:
            r.pop("phase_log", None)
        (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        if prepared.plan_svg:
            (out / "time-space.svg").write_text(prepared.plan_svg, encoding="utf-8")
        console.print(t("traffic.cli.written", path=str(out)))


@app.command("plan")
def plan_cmd(
    scenario: Annotated[Path, typer.Argument(help="A SUMO .sumocfg file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the plan files.")],
    corridor: Annotated[
        str | None,
        typer.Option("--corridor", help="Outbound edge ids (comma/space separated)."),
    ] = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate/--no-calibrate",
            help="Choose the cycle and splits by simulating each candidate once (seed 1000).",
        ),
    ] = True,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Parallel SUMO runs.")] = 2,
) -> None:
    """Design the green wave: SUMO tlLogic file, vendor-neutral JSON, time-space SVG.

    设计绿波：输出 SUMO 配时文件、通用 JSON 和时距图。
    """
    from pingan.traffic.evaluate import prepare, scenario_from_sumocfg

    try:
        sc = scenario_from_sumocfg(scenario)
        console.print(t("traffic.cli.preparing", scenario=sc.name))
        prepared = prepare(
            sc,
            out,
            corridor=_corridor(corridor),
            controllers=("pingan",),
            calibrate=calibrate,
            workers=workers,
        )
    except PinganError as exc:
        raise _fail(exc) from None
    (out / "time-space.svg").write_text(prepared.plan_svg, encoding="utf-8")
    console.print(prepared.plan_json)
    console.print(t("traffic.cli.written", path=str(out)))


def main() -> None:
    """Entry point for ``python -m pingan.traffic.cli``."""
    app()


if __name__ == "__main__":
    main()
