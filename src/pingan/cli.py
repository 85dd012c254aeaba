"""The ``pingan`` command: run the platform, manage the database, and each module's commands."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import webbrowser
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.console import Console

from pingan import __version__
from pingan.assembly import load_modules
from pingan.core.i18n import console_text as t
from pingan.core.i18n import register_catalogue
from pingan.core.settings import Settings, get_settings

register_catalogue(Path(__file__).parent / "locales")
console = Console()
app = typer.Typer(
    name="pingan",
    help="Pingan (平安): smart public-safety platform. / 智慧公安平台。",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic). / 数据库结构。", no_args_is_help=True)
sim_app = typer.Typer(help="The city simulator. / 城市仿真。", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sim_app, name="sim")


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        console.print(f"pingan {__version__}")
        raise typer.Exit()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the database to the newest schema. / 升级数据库结构。"""
    from pingan.migrations import upgrade

    settings = get_settings()
    upgrade(settings.database_url_resolved, revision)
    console.print(t("cli.db.upgraded", url=_safe_url(settings.database_url_resolved)))


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision. / 显示数据库结构版本。"""
    from pingan.core.db import make_engine
    from pingan.migrations import current_revision, head_revision

    settings = get_settings()
    engine = make_engine(settings.database_url_resolved, pooled=False)
    console.print(f"current: {current_revision(engine)}  head: {head_revision()}")


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@sim_app.command("run")
def sim_run(
    hours: Annotated[float, typer.Option(help="Simulated hours.")] = 24.0,
    speedup: Annotated[
        float, typer.Option(help="Simulated s per real s; 0 = as fast as possible.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20251231,
    city: Annotated[str | None, typer.Option(help="City name (default: the demo city).")] = None,
) -> None:
    """Run a simulation scenario against the platform's database and report. / 运行仿真。"""
    from pingan.core.bus import make_bus
    from pingan.core.db import Database
    from pingan.core.module import Context
    from pingan.sim.runner import Simulation
    from pingan.sim.scenario import Scenario

    settings = get_settings()
    db = Database(settings.database_url_resolved)
    ctx = Context(settings=settings, db=db, bus=make_bus(settings.bus))
    scenario = Scenario(
        city=city or settings.city.demo_name,
        duration=timedelta(hours=hours),
        speedup=speedup,
        seed=seed,
    )
    with console.status(t("cli.sim.running", hours=hours)):
        report = asyncio.run(Simulation(scenario, ctx).run())
    console.print(
        t(
            "cli.sim.report",
            hours=report.simulated_hours,
            seconds=round(report.real_seconds, 2),
            events=report.events_published,
        )
    )
    for name in report.generators:
        console.print(
            f"  {name}: {report.executed.get(name, 0)} (failed {report.failed.get(name, 0)})"
        )


@sim_app.command("history")
def sim_history(
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20251231,
    city: Annotated[str | None, typer.Option(help="City name (default: the demo city).")] = None,
) -> None:
    """Simulate the anti-fraud desk's history since 1 January last year (once). / 生成模拟历史。"""
    from pingan.core.db import Database

    settings = get_settings()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        _antifraud_history(db, settings, city or settings.city.demo_name, seed)
    finally:
        db.dispose()


@sim_app.command("population")
def sim_population(
    out: Annotated[Path, typer.Option("--out", help="CSV to write (Sichuan's layout).")],
    people: Annotated[int, typer.Option(help="Simulated subscribers.", min=100)] = 6000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Simulated subscribers' behavioural features for the risk model. / 生成仿真用户行为特征。"""
    from pingan.sim.behaviour import simulate_population, write_csv

    data = simulate_population(people, seed=seed)
    write_csv(data, out)
    console.print(t("cli.sim.population", people=people, fraud=int(data.labels.sum()), path=out))


def _antifraud_history(db: Any, settings: Settings, city: str, seed: int) -> None:
    """The simulated anti-fraud history (year-on-year needs a last year); once per database."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from pingan.core import clock
    from pingan.sim import antifraud_history

    if antifraud_history.has_history(db=db):
        return
    with Progress(
        TextColumn(t("cli.sim.history_running")),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("days", total=None)
        report = antifraud_history.backfill(
            db=db,
            secret=settings.auth.secret_key,
            city=city,
            until=clock.now().replace(microsecond=0),
            seed=seed,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(
        t("cli.sim.history_done", people=report.people, stop_payments=report.stop_payments)
    )


_CLI: Final = (sys.executable, "-m", "pingan.cli")


def _history_in_background(settings: Settings) -> subprocess.Popen[bytes] | None:
    """Start ``pingan sim history`` beside the server (its own process: it freezes its own
    clock day by day), so the page is up in seconds while last year is simulated; its
    output goes to a log in the data directory. None when it already ran."""
    from pingan.core.db import Database
    from pingan.sim import antifraud_history

    db = Database(settings.database_url_resolved, pooled=False)
    try:
        if antifraud_history.has_history(db=db):
            return None
    finally:
        db.dispose()
    log_path = settings.data_dir / "sim-history.log"
    console.print(t("cli.run.history_background", log=log_path))
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [*_CLI, "sim", "history", "--seed", str(settings.sim.seed)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def _free_port(host: str, preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return int(port)
    raise typer.BadParameter(f"no free port from {preferred}", param_hint="--port")


def _admin_password_file(settings: Settings) -> Path:
    return settings.data_dir / "first-admin-password.txt"


def _prepare(settings: Settings, *, demo: bool) -> tuple[str, str | None]:
    """Migrate, import the demo city when missing, ensure the first admin; return the login."""
    from pingan.city.service import ensure_demo_city
    from pingan.core.auth.service import ensure_first_admin
    from pingan.core.db import Database
    from pingan.migrations import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with console.status(t("cli.run.migrating")):
        upgrade(settings.database_url_resolved)
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        if demo:
            with console.status(t("cli.run.importing_city", name=settings.city.demo_name)):
                report = ensure_demo_city(db=db, settings=settings)
            if report is not None:
                console.print(
                    t(
                        "cli.run.city_imported",
                        name=settings.city.demo_name,
                        nodes=report.nodes,
                        edges=report.edges,
                    )
                )
            from pingan.city.service import get_city_by_name
            from pingan.dispatch.service import seed_demo_units

            with db.session() as session:
                city = get_city_by_name(session=session, name=settings.city.demo_name)
                seed_demo_units(db=session, settings=settings, city_id=city.id)
                from pingan.dispatch.linkage import seed_demo_departments

                seed_demo_departments(db=session)  # linked departments (非警务联动)
                from pingan.antifraud.service import seed_demo_teams

                seed_demo_teams(db=session, city_id=city.id)  # 179 teams (预警劝阻专班)
        with db.session() as session:
            password = ensure_first_admin(session, settings)
    finally:
        db.dispose()
    pw_file = _admin_password_file(settings)
    if password is not None and settings.mode == "development":
        pw_file.write_text(password + "\n", encoding="utf-8")
        pw_file.chmod(0o600)
    elif password is None and settings.mode == "development" and pw_file.exists():
        password = pw_file.read_text(encoding="utf-8").strip()
    return settings.auth.first_admin_username, password


def _serve(settings: Settings, *, open_browser: bool) -> None:
    import uvicorn

    from pingan.web.app import create_app

    host = settings.web.host
    port = _free_port(host, settings.web.port)
    url = f"http://{host}:{port}/"
    # Everything alive once started (modules, models, the road graph) lives as long as the
    # server: frozen out of the collector's reach (see create_app; a full collection of the
    # whole heap paused signal ingest up to 135 ms; bench/antifraud/streaming.py
    # --no-gc-freeze compares).
    application = create_app(settings, server_gc=True)
    config = uvicorn.Config(application, host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            threading.Event().wait(0.1)
        console.print(t("cli.run.ready", url=url), style="bold green")
        if open_browser:
            webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run()


@app.command("run")
def run(
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the command centre in a browser.")
    ] = True,
    simulate: Annotated[
        bool, typer.Option("--sim/--no-sim", help="Run the city simulator.")
    ] = True,
    port: Annotated[int | None, typer.Option(help="Port (the next free one if taken).")] = None,
) -> None:
    """Start the platform with the demo city and simulator; open the command centre. / 启动平台。"""
    settings = get_settings()
    updates: dict[str, Any] = {}
    if not simulate:
        updates["sim"] = settings.sim.model_copy(update={"enabled": False})
    if port is not None:
        updates["web"] = settings.web.model_copy(update={"port": port})
    if updates:
        settings = settings.model_copy(update=updates)
    username, password = _prepare(settings, demo=True)
    console.print(
        t("cli.run.login", username=username, password=password or t("cli.run.password_unknown"))
    )
    has_display = bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or sys.platform in ("darwin", "win32")
    )
    # Simulated anti-fraud history (year-on-year needs a last year), beside the server.
    history = _history_in_background(settings)
    try:
        _serve(settings, open_browser=open_browser and has_display)
    finally:
        if history is not None and history.poll() is None:
            history.terminate()
            history.wait(timeout=10)


@app.command("serve")
def serve() -> None:
    """Serve the API and page without the demo city (production). / 生产模式启动服务。"""
    settings = get_settings()
    _prepare(settings, demo=False)
    _serve(settings, open_browser=False)


@app.command("worker")
def worker() -> None:
    """Run the outbox relay, event consumers and jobs without HTTP (scale-out). / 后台工作进程。"""
    from pingan.runtime import run_worker

    asyncio.run(run_worker(get_settings()))


def _mount_module_commands() -> None:
    for module in load_modules():
        if module.cli is None:
            continue
        groups = module.cli if isinstance(module.cli, dict) else {module.name: module.cli}
        for name, group in groups.items():
            app.add_typer(group, name=name)


_mount_module_commands()


def main() -> None:
    """Entry point of the ``pingan`` command."""
    app()


if __name__ == "__main__":
    main()
