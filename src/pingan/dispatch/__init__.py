"""The dispatch desk (立体防控 · 接处警 · 非警务联动): calls, triage, unit recommendation.

Calls become incidents (located, triaged, duplicate-checked, units recommended); the
dispatcher accepts or overrides with a recorded reason; units move through their
statuses with a full timeline; incidents close; response times are measured. The
algorithms are pure modules (``triage``, ``recommend``, ``duplicates``, ``statuses``,
``eido``); ``models``, ``service`` and ``routes`` persist and serve them. Importing
this package connects to nothing.
"""

from __future__ import annotations

from pathlib import Path

from pingan.core.auth.roles import ADMIN, COMMANDER, DISPATCHER, OFFICER, PARTNER, STAFF_ROLES
from pingan.core.module import Module, Panel

PERMISSIONS: dict[str, frozenset[str]] = {
    "dispatch.read": frozenset(STAFF_ROLES),
    "dispatch.call": frozenset({DISPATCHER, COMMANDER, ADMIN, OFFICER}),
    "dispatch.dispatch": frozenset({DISPATCHER, COMMANDER, ADMIN}),
    "dispatch.units.manage": frozenset({COMMANDER, ADMIN}),
    "dispatch.position": frozenset({DISPATCHER, OFFICER, COMMANDER, ADMIN, PARTNER}),
}


def module() -> Module:
    """The dispatch desk as the platform assembles it."""
    from pingan.dispatch import models  # noqa: F401  (registers the tables)
    from pingan.dispatch.cli import app as cli_app
    from pingan.dispatch.routes import router

    here = Path(__file__).parent
    return Module(
        name="dispatch",
        router=router,
        cli=cli_app,
        panel=Panel(script="panel.js", order=10),
        static_dir=here / "static",
        locales_dir=here / "locales",
        permissions=PERMISSIONS,
    )
