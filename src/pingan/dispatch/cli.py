"""``pingan dispatch ...``: seed the demo force, list units and incidents, response times."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from pingan.core.errors import PinganError
from pingan.core.i18n import console_language, register_catalogue
from pingan.core.i18n import console_text as t

register_catalogue(Path(__file__).parent / "locales")

app = typer.Typer(
    help="The dispatch desk: units, incidents, response times. / 接处警：警力、警情、响应时间。",
    no_args_is_help=True,
)
console = Console()


def _fail(exc: PinganError) -> typer.Exit:
    console.print(f"[red]{exc.message(console_language())}[/red]")
    return typer.Exit(code=1)


@app.command("seed-demo")
def seed_demo(
    city: Annotated[
        str | None, typer.Option("--city", help="City name (default: demo city).")
    ] = None,
) -> None:
    """Create the demo force of a city (idempotent). / 生成演示警力（可重复执行）。"""
    from pingan.city.service import get_city_by_name
    from pingan.core.db import Database
    from pingan.core.settings import get_settings
    from pingan.dispatch.service import seed_demo_units

    settings = get_settings()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            row = get_city_by_name(session=session, name=city or settings.city.demo_name)
            count = seed_demo_units(db=session, settings=settings, city_id=row.id)
    except PinganError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    console.print(t("dispatch.cli.seeded", count=count, city=city or settings.city.demo_name))


@app.command("units")
def units() -> None:
    """List units and their statuses. / 列出警力及其状态。"""
    from pingan.core.auth.permissions import Principal
    from pingan.core.db import Database
    from pingan.core.settings import get_settings
    from pingan.dispatch.service import list_units

    settings = get_settings()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            rows = list_units(db=session, principal=Principal.system("cli"))
    finally:
        db.dispose()
    table = Table(
        "id",
        t("dispatch.cli.callsign"),
        t("dispatch.cli.kind"),
        t("dispatch.cli.status"),
        t("dispatch.cli.incident"),
        t("dispatch.cli.stale"),
    )
    for u in rows:
        table.add_row(
            str(u.id),
            u.callsign,
            t(f"dispatch.kind.{u.kind}"),
            t(f"dispatch.status.{u.status}"),
            str(u.incident_id or ""),
            "✓" if u.stale else "",
        )
    console.print(table)


@app.command("incidents")
def incidents(
    status: Annotated[
        Literal["open", "closed", "all"], typer.Option("--status", help="open | closed | all")
    ] = "open",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
) -> None:
    """List incidents, newest first. / 列出警情（最新在前）。"""
    from pingan.core.auth.permissions import Principal
    from pingan.core.db import Database
    from pingan.core.settings import get_settings
    from pingan.dispatch.service import call_type_label, list_incidents

    settings = get_settings()
    lang = console_language()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            rows = list_incidents(
                db=session,
                principal=Principal.system("cli"),
                status=status,
                limit=limit,
            )
            lines = [
                (
                    str(i.id),
                    i.received_at.isoformat(timespec="seconds"),
                    i.priority,
                    call_type_label(i.call_type).get(lang, i.call_type),
                    i.status,
                    i.address or f"{i.lon:.5f},{i.lat:.5f}",
                )
                for i in rows
            ]
    finally:
        db.dispose()
    table = Table(
        "id",
        t("dispatch.cli.received"),
        t("dispatch.cli.priority"),
        t("dispatch.cli.type"),
        t("dispatch.cli.status"),
        t("dispatch.cli.where"),
    )
    for line in lines:
        table.add_row(*line)
    console.print(table)


@app.command("stats")
def stats(
    hours: Annotated[
        float, typer.Option("--hours", min=0.01, help="Look back this many hours.")
    ] = 24.0,
) -> None:
    """Response times by priority and district. / 按优先级和辖区统计响应时间。"""
    from pingan.core import clock
    from pingan.core.auth.permissions import Principal
    from pingan.core.db import Database
    from pingan.core.settings import get_settings
    from pingan.dispatch.service import response_statistics

    settings = get_settings()
    until = clock.now()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            result = response_statistics(
                db=session,
                principal=Principal.system("cli"),
                since=until - timedelta(hours=hours),
                until=until,
            )
    except PinganError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    table = Table(
        t("dispatch.cli.group"),
        t("dispatch.cli.count"),
        t("dispatch.cli.to_dispatch"),
        t("dispatch.cli.to_arrival"),
        t("dispatch.cli.total"),
        t("dispatch.cli.within"),
    )

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    for group in [result.overall, *result.by_priority, *result.by_district]:
        share = "-" if group.within_target is None else f"{group.within_target:.0%}"
        table.add_row(
            group.key,
            str(group.count),
            fmt(group.call_to_dispatch.mean),
            fmt(group.dispatch_to_arrival.mean),
            fmt(group.total.mean),
            share,
        )
    console.print(table)
