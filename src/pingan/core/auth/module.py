"""The identity-and-access module as the platform assembles it."""

from __future__ import annotations

from pathlib import Path

from pingan.core.auth.roles import ADMIN, ALL_ROLES, STAFF_ROLES
from pingan.core.module import Module

LOCALES_DIR = Path(__file__).parent / "locales"

PERMISSIONS: dict[str, frozenset[str]] = {
    "auth.self": ALL_ROLES,
    "users.manage": frozenset({ADMIN}),
    "jurisdictions.read": STAFF_ROLES,
    "jurisdictions.manage": frozenset({ADMIN}),
    "apikeys.manage": frozenset({ADMIN}),
}


def module() -> Module:
    """Users, roles, jurisdictions, logins and API keys; CLI groups ``user`` and ``apikey``."""
    from pingan.core.auth import models as _models  # noqa: F401  (tables into the metadata)
    from pingan.core.auth.cli import apikey_app, user_app
    from pingan.core.auth.routes import router

    return Module(
        name="auth",
        router=router,
        cli={"user": user_app, "apikey": apikey_app},
        locales_dir=LOCALES_DIR,
        permissions=dict(PERMISSIONS),
    )
