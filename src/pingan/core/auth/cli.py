"""``pingan user ...`` and ``pingan apikey ...``: manage sign-ins from the console.

Commands act as the system principal ``cli:<os user>`` (an administrator); every
change is audited like its API counterpart.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from pingan.core.auth import service
from pingan.core.auth.permissions import Principal
from pingan.core.auth.schemas import ApiKeyCreate, UserCreate
from pingan.core.db import Database
from pingan.core.errors import NotFound, PinganError
from pingan.core.i18n import console_language
from pingan.core.i18n import console_text as t
from pingan.core.settings import get_settings

console = Console()
err_console = Console(stderr=True)

user_app = typer.Typer(help="Users who sign in. / 用户管理。", no_args_is_help=True)
apikey_app = typer.Typer(help="Partner systems' API keys. / 合作方接口密钥。", no_args_is_help=True)


def console_principal() -> Principal:
    """The principal console commands act as."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        name = "unknown"
    return Principal.system(f"cli:{name}")


@contextmanager
def console_session() -> Iterator[Session]:
    """A session on the configured database, committed when the command succeeds."""
    settings = get_settings()
    db = Database(settings.database_url_resolved)
    try:
        with db.session() as session:
            yield session
    finally:
        db.dispose()


def fail(error: PinganError | ValidationError) -> NoReturn:
    """Print ``error`` in the console's language and exit (1: refused, 2: bad input)."""
    if isinstance(error, ValidationError):
        for problem in error.errors():
            field = ".".join(str(p) for p in problem["loc"]) or "input"
            err_console.print(
                f"[red]{t('core.error.invalid', field=field)}[/red]: {problem['msg']}"
            )
        raise typer.Exit(2)
    err_console.print(f"[red]{error.message(console_language())}[/red]")
    raise typer.Exit(2 if error.status_code == 422 else 1)


def _ask_password() -> str:
    password: str = typer.prompt(
        t("auth.cli.password_prompt"), hide_input=True, confirmation_prompt=True
    )
    return password


# ---------------------------------------------------------------------------- users


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[list[str], typer.Option("--role", "-r", help="A role (repeatable).")],
    jurisdiction: Annotated[
        list[str] | None,
        typer.Option("--jurisdiction", "-j", help="A jurisdiction code (repeatable)."),
    ] = None,
    password: Annotated[
        str | None, typer.Option("--password", "-p", help="Asked for when left out.")
    ] = None,
    display_name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    language: Annotated[str, typer.Option("--language", help="zh-CN or en.")] = "zh-CN",
) -> None:
    """Create a user. / 创建用户。"""
    try:
        user_in = UserCreate(
            username=username,
            password=password if password is not None else _ask_password(),
            roles=role,  # validated by the schema
            jurisdictions=jurisdiction or [],
            display_name=display_name,
            language=language,
        )
        with console_session() as db:
            user = service.create_user(db=db, user_in=user_in, actor=console_principal())
            user_id = user.id
    except (PinganError, ValidationError) as exc:
        fail(exc)
    console.print(t("auth.cli.user_created", username=username, id=user_id))


@user_app.command("list")
def user_list() -> None:
    """List users. / 列出用户。"""
    table = Table("id", "username", "name", "roles", "jurisdictions", "active")
    with console_session() as db:
        for user in service.list_users(db=db):
            table.add_row(
                str(user.id),
                user.username,
                user.display_name,
                ",".join(user.roles),
                ",".join(service.user_jurisdiction_codes(user)),
                "yes" if user.active else "no",
            )
    console.print(table)


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    password: Annotated[
        str | None, typer.Option("--password", "-p", help="Asked for when left out.")
    ] = None,
) -> None:
    """Set a user's password. / 重设用户密码。"""
    try:
        new_password = password if password is not None else _ask_password()
        with console_session() as db:
            user = service.get_user_by_username(db=db, username=username)
            if user is None:
                raise NotFound("auth.error.unknown_user", field="username", username=username)
            service.set_password(db=db, user=user, password=new_password, actor=console_principal())
    except (PinganError, ValidationError) as exc:
        fail(exc)
    console.print(t("auth.cli.password_set", username=username))


@user_app.command("deactivate")
def user_deactivate(username: Annotated[str, typer.Argument(help="Sign-in name.")]) -> None:
    """Deactivate a user. / 停用用户。"""
    try:
        with console_session() as db:
            user = service.get_user_by_username(db=db, username=username)
            if user is None:
                raise NotFound("auth.error.unknown_user", field="username", username=username)
            service.deactivate_user(db=db, user=user, actor=console_principal())
    except PinganError as exc:
        fail(exc)
    console.print(t("auth.cli.user_deactivated", username=username))


# ---------------------------------------------------------------------------- API keys


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="What the key is for.")],
    partner: Annotated[str, typer.Option("--partner", help="The partner organisation.")],
    role: Annotated[
        list[str] | None, typer.Option("--role", "-r", help="A role (default: partner).")
    ] = None,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", "-s", help="Limit to this permission.")
    ] = None,
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", "-j", help="Jurisdiction code.")
    ] = None,
) -> None:
    """Create a partner API key; the key is printed once. / 创建合作方密钥（仅显示一次）。"""
    try:
        key_in = ApiKeyCreate(
            name=name,
            partner=partner,
            roles=role or ["partner"],  # validated by the schema
            scopes=scope or [],
            jurisdiction=jurisdiction,
        )
        with console_session() as db:
            key, plain = service.create_api_key(db=db, key_in=key_in, actor=console_principal())
            key_id = key.id
    except (PinganError, ValidationError) as exc:
        fail(exc)
    console.print(t("auth.cli.apikey_created", id=key_id, name=name))
    console.print(plain, soft_wrap=True, highlight=False)


@apikey_app.command("revoke")
def apikey_revoke(key: Annotated[str, typer.Argument(help="The key's id or prefix.")]) -> None:
    """Revoke a partner API key. / 吊销合作方密钥。"""
    try:
        with console_session() as db:
            found = next(
                (k for k in service.list_api_keys(db=db) if k.prefix == key or str(k.id) == key),
                None,
            )
            if found is None:
                raise NotFound("auth.error.unknown_api_key", field="key", ref=key)
            service.revoke_api_key(db=db, api_key_id=found.id, actor=console_principal())
    except PinganError as exc:
        fail(exc)
    console.print(t("auth.cli.apikey_revoked", ref=key))


@apikey_app.command("list")
def apikey_list() -> None:
    """List partner API keys. / 列出合作方密钥。"""
    table = Table("id", "prefix", "name", "partner", "roles", "scopes", "revoked")
    with console_session() as db:
        for k in service.list_api_keys(db=db):
            table.add_row(
                str(k.id),
                k.prefix,
                k.name,
                k.partner,
                ",".join(k.roles),
                ",".join(k.scopes),
                k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
            )
    console.print(table)
