"""The digital ID desk (数字身份): resident SD-JWT VC credentials and relying-party checks.

The bureau issues each resident an SD-JWT VC (RFC 9901, ``typ: dc+sd-jwt``, ES256) bound to the
holder's key, with selectively disclosable personal and derived age claims; relying parties
(internet cafés, hotels, ticket gates ...) declare in scenarios which claims they need and
verify presentations (signature, disclosures, validity, key binding, Token Status List) with a
clear reason on refusal. The standards core is pure: ``sdjwt``, ``statuslist``, ``scenarios``,
``credential``. Importing this package connects to nothing.
"""

from __future__ import annotations

from pathlib import Path

from pingan.core.auth.roles import ADMIN, CLERK, PARTNER, STAFF_ROLES
from pingan.core.module import Module

PERMISSIONS: dict[str, frozenset[str]] = {
    "identity.read": frozenset(STAFF_ROLES),
    "identity.issue": frozenset({CLERK, ADMIN}),
    "identity.status.manage": frozenset({CLERK, ADMIN}),
    "identity.verify": frozenset({PARTNER, *STAFF_ROLES}),
}


def module() -> Module:
    """The digital ID desk as the platform assembles it (CLI only so far; no routes yet)."""
    from pingan.identity.cli import app as cli_app

    return Module(
        name="identity",
        cli=cli_app,
        locales_dir=Path(__file__).parent / "locales",
        permissions=PERMISSIONS,
    )
