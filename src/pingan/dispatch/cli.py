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
            from pingan.dispatch.linkage import seed_demo_departments

            departments = seed_demo_departments(db=session)
    except PinganError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    console.print(t("dispatch.cli.seeded", count=count, city=city or settings.city.demo_name))
    console.print(t("dispatch.cli.departments_seeded", count=departments))


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


# ---------------------------------------------------------- non-police linkage (非警务联动)


def _duration(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min"


@app.command("departments")
def departments() -> None:
    """List the linked departments and their deadlines. / 列出联动单位及其时限。"""
    from pingan.core.db import Database
    from pingan.core.settings import get_settings
    from pingan.dispatch.linkage import list_departments

    settings = get_settings()
    lang = console_language()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            rows = [
                (
                    d.code,
                    d.name_zh if lang == "zh-CN" else (d.name_en or d.name_zh),
                    ", ".join(d.call_types or []) + (" (12345)" if d.fallback else ""),
                    _duration(d.ack_within_s),
                    _duration(d.feedback_within_s),
                )
                for d in list_departments(db=session, include_inactive=True)
            ]
    finally:
        db.dispose()
    table = Table(
        t("dispatch.cli.code"),
        t("dispatch.cli.name"),
        t("dispatch.cli.call_types"),
        t("dispatch.cli.ack_within"),
        t("dispatch.cli.feedback_within"),
    )
    for line in rows:
        table.add_row(*line)
    console.print(table)


@app.command("department-key")
def department_key(
    code: Annotated[str, typer.Argument(help="Department code, e.g. water_company.")],
    name: Annotated[str | None, typer.Option("--name", help="Label of the key.")] = None,
) -> None:
    """Create a partner API key for a department (printed once). / 为联动单位创建 API 密钥。"""
    from pingan.core.auth.permissions import Principal
    from pingan.core.auth.schemas import ApiKeyCreate
    from pingan.core.auth.service import create_api_key
    from pingan.core.db import Database
    from pingan.core.settings import get_settings
    from pingan.dispatch.linkage import get_department

    settings = get_settings()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            department = get_department(db=session, code=code)
            # Partner role, limited to the partner routes: the key reads and answers its own
            # department's transfers and nothing else (no staff reads, no positions).
            _key, plain = create_api_key(
                db=session,
                key_in=ApiKeyCreate(
                    name=name or f"{department.code} linkage",
                    partner=department.code,
                    roles=["partner"],
                    scopes=["dispatch.partner"],
                ),
                actor=Principal.system("cli"),
            )
    except PinganError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    console.print(t("dispatch.cli.key_created", department=code))
    print(plain)
    console.print(t("dispatch.cli.key_usage"))


@app.command("sweep")
def sweep() -> None:
    """Flag overdue transfers and follow-up visits now. / 立即标记超时的移交与回访。"""
    from pingan.core.db import Database
    from pingan.core.settings import get_settings
    from pingan.dispatch.linkage import sweep_overdue

    settings = get_settings()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            report = sweep_overdue(db=session, actor="cli")
    finally:
        db.dispose()
    console.print(
        t(
            "dispatch.cli.swept",
            ack=report.ack_overdue,
            feedback=report.feedback_overdue,
            visits=report.visits_overdue,
        )
    )


@app.command("security-plan")
def security_plan(
    crowd: Annotated[int, typer.Option("--crowd", min=1, help="Expected crowd.")],
    perimeter: Annotated[
        Path | None,
        typer.Option("--perimeter", help="GeoJSON file: a Polygon, or a Feature with one."),
    ] = None,
    preset: Annotated[
        str | None, typer.Option("--preset", help="A demo venue instead of a file.")
    ] = None,
    city: Annotated[
        str | None, typer.Option("--city", help="City name (default: demo city).")
    ] = None,
    foot: Annotated[int | None, typer.Option("--foot", min=0, help="Foot posts.")] = None,
    k9: Annotated[int | None, typer.Option("--k9", min=0, help="K9 teams.")] = None,
    drones: Annotated[int | None, typer.Option("--drones", min=0, help="Drones.")] = None,
    approach_m: Annotated[
        float, typer.Option("--approach-m", min=0, help="Approach roads within (m).")
    ] = 500.0,
    method: Annotated[
        Literal["auto", "milp", "heuristic"], typer.Option("--method", help="auto|milp|heuristic")
    ] = "auto",
) -> None:
    """Propose security posts for an event, without writing. / 大型活动安保布岗（只计算不写入）。"""
    import json

    from pingan.city.service import get_city_by_name, load_graph
    from pingan.core.db import Database
    from pingan.core.errors import ValidationFailed
    from pingan.core.settings import get_settings
    from pingan.dispatch import security

    settings = get_settings()
    name = city or settings.city.demo_name
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            row = get_city_by_name(session=session, name=name)
            if perimeter is not None:
                try:
                    doc = json.loads(perimeter.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise ValidationFailed(
                        "dispatch.security.error.perimeter",
                        field="perimeter",
                        reason=type(exc).__name__,
                    ) from None
            else:
                venues = [v for v in security.presets(name) if preset in (None, v.key)]
                if not venues:
                    raise ValidationFailed(
                        "dispatch.security.error.perimeter", field="perimeter", reason="preset"
                    )
                doc = venues[0].perimeter
            polygon = security.parse_perimeter(doc)
            security.check_inside_city(row, polygon)
            graph = load_graph(city=row, data_dir=settings.data_dir)
            plan = security.compute_plan(
                graph=graph,
                perimeter=polygon,
                crowd=crowd,
                specs=security.specs_for_counts(crowd, foot=foot, k9=k9, drones=drones),
                approach_m=approach_m,
                method=method,
            )
            session.rollback()  # a planning tool: nothing is written
    except PinganError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    table = Table(
        title=t(
            "dispatch.security.cli.title",
            crowd=crowd,
            inside=plan.inside_points,
            approach=plan.approach_points,
        )
    )
    for key in ("kind", "node", "lon", "lat", "serves", "covers", "mean", "where"):
        table.add_column(t(f"dispatch.security.cli.{key}"))
    for post in plan.posts:
        table.add_row(
            t(f"dispatch.kind.{post.kind}"),
            str(post.node),
            f"{post.lon:.5f}",
            f"{post.lat:.5f}",
            f"{post.assigned_share:.0%}",
            f"{post.covered_share:.0%}",
            f"{post.mean_cost_s:.0f}",
            t("dispatch.security.cli.inside" if post.inside else "dispatch.security.cli.approach"),
        )
    console.print(table)
    for k in plan.kinds:
        if not k.spec.count:
            continue
        console.print(
            t(
                "dispatch.security.cli.summary",
                kind=t(f"dispatch.kind.{k.spec.kind}"),
                count=k.spec.count,
                method=t(f"dispatch.security.method.{k.method}"),
                objective=f"{k.objective:.1f}",
                full=f"{k.full_objective_s:.1f}",
                coverage=f"{k.coverage:.0%}",
                gap="—" if k.gap is None else f"{k.gap:.2%}",
            )
        )


rules_app = typer.Typer(
    help="Triage rules and run cards: export, import. / 研判规则与出动标准：导出、导入。",
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")


def _rules_fail(exc: PinganError) -> typer.Exit:
    """Print the error with the field path it names (document.call_types[3]...), exit 1."""
    from rich.markup import escape

    where = f"{exc.field}: " if exc.field else ""
    console.print(f"[red]{escape(where + exc.message(console_language()))}[/red]")
    return typer.Exit(code=1)


@rules_app.command("export")
def rules_export(
    file: Annotated[Path, typer.Argument(help="JSON file to write (UTF-8).")],
) -> None:
    """Write the triage rules in force to FILE. / 将现行研判规则导出为 JSON 文件。"""
    import json

    from pingan.core.db import Database
    from pingan.core.settings import get_settings
    from pingan.dispatch.rulesets import current

    settings = get_settings()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            in_force = current(db=session)
    finally:
        db.dispose()
    file.write_text(json.dumps(in_force.document, ensure_ascii=False, indent=2) + "\n", "utf-8")
    source = (
        t("dispatch.cli.rules_defaults")
        if in_force.id is None
        else t("dispatch.cli.rules_saved_set", id=in_force.id)
    )
    console.print(
        t("dispatch.cli.rules_exported", version=in_force.version, source=source, path=str(file))
    )


@rules_app.command("import")
def rules_import(
    file: Annotated[Path, typer.Argument(help="JSON rule set (as exported).")],
    note: Annotated[str, typer.Option("--note", help="Why the rules change (kept).")],
) -> None:
    """Validate FILE and make it the rules in force. / 校验并导入研判规则，立即生效。"""
    import json

    from pingan.core.db import Database
    from pingan.core.settings import get_settings
    from pingan.dispatch.rulesets import save

    try:
        document = json.loads(file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        from rich.markup import escape

        text = t("dispatch.cli.rules_unreadable", path=str(file), reason=exc)
        console.print(f"[red]{escape(text)}[/red]")
        raise typer.Exit(code=1) from None
    settings = get_settings()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            row = save(db=session, document=document, note=note, actor="cli")
            version, row_id = row.version, row.id
    except PinganError as exc:
        raise _rules_fail(exc) from None
    finally:
        db.dispose()
    console.print(t("dispatch.cli.rules_imported", version=version, id=row_id))
