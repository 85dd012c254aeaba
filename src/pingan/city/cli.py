"""``pingan city ...``: import an OSM file, list cities, and route between two points."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pingan.core.errors import PinganError
from pingan.core.i18n import console_language, register_catalogue
from pingan.core.i18n import console_text as t

register_catalogue(Path(__file__).parent / "locales")

app = typer.Typer(
    help="The city model: OSM import, districts, routing. / 城市模型：OSM 导入、辖区、路径。",
    no_args_is_help=True,
)
console = Console()


def _fail(exc: PinganError) -> typer.Exit:
    console.print(f"[red]{exc.message(console_language())}[/red]")
    return typer.Exit(code=1)


def _lonlat(text: str, field: str) -> tuple[float, float]:
    try:
        lon_s, lat_s = text.split(",")
        lon, lat = float(lon_s), float(lat_s)
    except ValueError:
        raise typer.BadParameter(t("city.cli.bad_point", value=text), param_hint=field) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise typer.BadParameter(t("city.cli.bad_point", value=text), param_hint=field)
    return lon, lat


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="OSM .pbf (or .osm) file.")],
    name: Annotated[str, typer.Option("--name", help="City name (letters, digits, _ and -).")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a city of that name.")
    ] = False,
) -> None:
    """Import an OpenStreetMap file as a city. / 导入 OpenStreetMap 文件为城市。"""
    from pingan.city.service import import_city
    from pingan.core.db import Database
    from pingan.core.settings import get_settings

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url_resolved)
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(t("city.step.start", name=name), total=None)

            def step(label: str) -> None:
                bar.update(task, description=t(f"city.step.{label}"))

            report = import_city(
                db=db,
                path=file,
                name=name,
                data_dir=settings.data_dir,
                actor="cli",
                replace=replace,
                fallback_speed_kmh=settings.city.default_speed_kmh,
                progress=step,
            )
    except PinganError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    console.print(t("city.cli.imported", name=report.name, seconds=report.seconds))
    console.print(
        t(
            "city.cli.graph",
            nodes=report.nodes,
            edges=report.edges,
            walk_nodes=report.walk_nodes,
            walk_edges=report.walk_edges,
            dropped=report.dropped_nodes,
        )
    )
    pois = ", ".join(f"{t('city.poi.' + k)} {v}" for k, v in report.pois.items())
    console.print(t("city.cli.pois", pois=pois))
    method = t(f"city.method.{report.district_method}", level=report.admin_level or "")
    console.print(t("city.cli.districts", count=len(report.districts), method=method))
    table = Table(t("city.cli.code"), t("city.cli.name"), t("city.cli.nodes"))
    for d in report.districts:
        table.add_row(d.code, d.name + (" *" if d.closed_along_edge else ""), str(d.nodes))
    console.print(table)
    if any(d.closed_along_edge for d in report.districts):
        console.print(t("city.cli.closed_along_edge"))
    console.print(t("city.cli.file", file=report.graph_file, kb=round(report.graph_bytes / 1024)))
    console.print(t("city.attribution"))


@app.command("list")
def list_() -> None:
    """List imported cities. / 列出已导入的城市。"""
    from pingan.city.service import list_cities
    from pingan.core.db import Database
    from pingan.core.settings import get_settings

    settings = get_settings()
    db = Database(settings.database_url_resolved)
    try:
        with db.session() as session:
            cities = list_cities(session=session)
            table = Table(
                "id",
                t("city.cli.name"),
                t("city.cli.nodes"),
                t("city.cli.edges"),
                t("city.cli.method"),
                t("city.cli.source"),
            )
            for c in cities:
                table.add_row(
                    str(c.id),
                    c.name,
                    str(c.node_count),
                    str(c.edge_count),
                    t(f"city.method.{c.district_method}", level=c.admin_level or ""),
                    c.source_file,
                )
    finally:
        db.dispose()
    if not cities:
        console.print(t("city.cli.none"))
        return
    console.print(table)


@app.command("route")
def route_(
    origin: Annotated[str, typer.Argument(help="Start as lon,lat.")],
    destination: Annotated[str, typer.Argument(help="End as lon,lat.")],
    city: Annotated[str | None, typer.Option(help="City name (default: the demo city).")] = None,
) -> None:
    """The fastest drive between two points. / 两点之间最快的驾车路线。"""
    from pingan.city.service import get_city_by_name, route_between
    from pingan.core.db import Database
    from pingan.core.settings import get_settings

    a = _lonlat(origin, "ORIGIN")
    b = _lonlat(destination, "DESTINATION")
    settings = get_settings()
    db = Database(settings.database_url_resolved)
    try:
        with db.session() as session:
            found = get_city_by_name(session=session, name=city or settings.city.demo_name)
            result = route_between(
                city=found,
                data_dir=settings.data_dir,
                from_lon=a[0],
                from_lat=a[1],
                to_lon=b[0],
                to_lat=b[1],
            )
    except PinganError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    console.print(
        t(
            "city.cli.route",
            minutes=round(result.seconds / 60, 1),
            seconds=result.seconds,
            metres=round(result.metres),
            points=len(result.geometry["coordinates"]),
        )
    )
