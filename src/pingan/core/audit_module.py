"""The audit trail as the platform assembles it: ``GET /api/audit``, ``pingan audit ...``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from pingan.core import audit
from pingan.core.auth.deps import require
from pingan.core.auth.permissions import Principal
from pingan.core.auth.roles import ADMIN, AUDITOR
from pingan.core.deps import MAX_ROW_ID, DbSession, Language
from pingan.core.module import Module

LOCALES_DIR = Path(__file__).parent / "auth" / "locales"
PERMISSIONS: dict[str, frozenset[str]] = {"audit.read": frozenset({AUDITOR, ADMIN})}
MAX_PAGE = 500


class AuditRecordRead(BaseModel):
    """One audit record as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    actor_roles: list[str]
    action: str
    entity: str
    entity_id: str
    reason: str
    detail: dict[str, Any]
    ip: str
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    """A page of records, newest first; ask for the next with ``before_id``."""

    items: list[AuditRecordRead]
    next_before_id: int | None


class VerifyRead(BaseModel):
    """The outcome of verifying the chain."""

    ok: bool
    checked: int
    head_id: int | None
    head_hash: str | None
    broken_id: int | None
    problem: str | None
    expected: str | None
    found: str | None
    message: str


def verify_read(result: audit.VerifyResult, lang: str) -> VerifyRead:
    """``result`` as the API shows it, its message in ``lang``."""
    return VerifyRead(
        ok=result.ok,
        checked=result.checked,
        head_id=result.head_id,
        head_hash=result.head_hash,
        broken_id=result.broken_id,
        problem=result.problem,
        expected=result.expected,
        found=result.found,
        message=result.message(lang),
    )


AuditReader = Annotated[Principal, require("audit.read")]

router = APIRouter(
    prefix="/audit",
    tags=["audit"],
    responses={
        401: {"description": "Missing, invalid or expired credentials"},
        403: {"description": "Only auditors and administrators read the audit trail"},
    },
)


@router.get("", response_model=AuditPage, summary="Audit records")
def list_audit_records(
    _who: AuditReader,
    db: DbSession,
    actor: Annotated[str | None, Query(max_length=200, description="Who acted.")] = None,
    action: Annotated[str | None, Query(max_length=40, description="create, login, ...")] = None,
    entity: Annotated[str | None, Query(max_length=100, description="user, api_key, ...")] = None,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[AwareDatetime | None, Query(description="From this time on.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Before this time.")] = None,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="Page on from here.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> Any:
    """Audit records matching the filters, newest first (auditors, administrators)."""
    rows = audit.list_records(
        db,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        since=since,
        until=until,
        before_id=before_id,
        limit=limit,
    )
    return AuditPage(
        items=[AuditRecordRead.model_validate(r) for r in rows],
        next_before_id=rows[-1].id if len(rows) == limit else None,
    )


@router.get("/verify", response_model=VerifyRead, summary="Verify the hash chain")
def verify(
    _who: AuditReader,
    db: DbSession,
    lang: Language,
    anchor: Annotated[
        str | None,
        Query(pattern=r"^[0-9a-f]{64}$", description="A head hash noted earlier."),
    ] = None,
) -> Any:
    """Walk the whole chain and report the first broken link (auditors, administrators)."""
    return verify_read(audit.verify_chain(db, anchor=anchor), lang)


# ---------------------------------------------------------------------------- CLI

audit_app = typer.Typer(help="The audit trail. / 审计日志。", no_args_is_help=True)
console = Console()


@audit_app.command("verify")
def verify_command(
    anchor: Annotated[
        str | None, typer.Option("--anchor", help="A head hash printed by an earlier run.")
    ] = None,
) -> None:
    """Check the hash chain; exit 1 and show the first broken link if any. / 校验审计链。"""
    from pingan.core.auth.cli import console_session
    from pingan.core.i18n import console_language

    with console_session() as db:
        result = audit.verify_chain(db, anchor=anchor)
    message = result.message(console_language())
    if result.ok:
        console.print(f"[green]{message}[/green]", highlight=False)
        return
    console.print(f"[red]{message}[/red]", highlight=False)
    raise typer.Exit(1)


@audit_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(min=1, max=MAX_PAGE, help="How many.")] = 20,
    actor: Annotated[str | None, typer.Option(help="Who acted.")] = None,
    entity: Annotated[str | None, typer.Option(help="What kind of thing.")] = None,
    action: Annotated[str | None, typer.Option(help="What was done.")] = None,
) -> None:
    """Show the newest audit records. / 查看最新审计记录。"""
    from pingan.core.auth.cli import console_session

    table = Table("id", "at", "actor", "action", "entity", "entity_id", "reason")
    with console_session() as db:
        for r in audit.list_records(db, actor=actor, entity=entity, action=action, limit=limit):
            table.add_row(
                str(r.id),
                r.at.isoformat(timespec="seconds"),
                r.actor,
                r.action,
                r.entity,
                r.entity_id,
                r.reason,
            )
    console.print(table)


def module() -> Module:
    """The audit trail: routes, the ``audit`` CLI group and the ``audit.read`` permission."""
    return Module(
        name="audit",
        router=router,
        cli=audit_app,
        locales_dir=LOCALES_DIR,
        permissions=dict(PERMISSIONS),
    )
