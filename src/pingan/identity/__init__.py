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

from pingan.core.auth.roles import (
    ADMIN,
    ANALYST,
    AUDITOR,
    CLERK,
    COMMANDER,
    PARTNER,
    STAFF_ROLES,
)
from pingan.core.module import Context, Job, Module, Panel

PERMISSIONS: dict[str, frozenset[str]] = {
    "identity.read": frozenset(STAFF_ROLES),
    # A clerk issues at the service window; revoking, suspending, keys and relying parties
    # are the command's (a clerk cannot revoke).
    "identity.issue": frozenset({CLERK, ADMIN}),
    "identity.status.manage": frozenset({COMMANDER, ADMIN}),
    "identity.keys.manage": frozenset({COMMANDER, ADMIN}),
    "identity.rp.manage": frozenset({COMMANDER, ADMIN}),
    "identity.usage.read": frozenset({ANALYST, AUDITOR, COMMANDER, ADMIN}),
    "identity.verify": frozenset({PARTNER, *STAFF_ROLES}),
    # A relying party's API key (ApiKey.partner == the relying party's code), nobody else.
    "identity.relying_party": frozenset({PARTNER}),
    # A self-service kiosk's API key (ApiKey.partner == "kiosk:<code>"), nobody else.
    "identity.kiosk": frozenset({PARTNER}),
    "identity.kiosk.manage": frozenset({ADMIN}),
}


def module() -> Module:
    """The digital ID desk as the platform assembles it."""
    from pingan.identity import models, selfservice_models  # noqa: F401  (registers the tables)
    from pingan.identity.cli import app as cli_app
    from pingan.identity.routes import router, well_known_router
    from pingan.identity.selfservice import SWEEP_INTERVAL_S, run_sweep

    here = Path(__file__).parent
    return Module(
        name="identity",
        router=router,
        root_router=well_known_router,
        cli=cli_app,
        panel=Panel(script="panel.js", order=60),
        static_dir=here / "static",
        locales_dir=here / "locales",
        permissions=PERMISSIONS,
        startup=_check_issuer_keys,
        # Offers expired unused lose their sealed resident data; old nonces go.
        jobs=[Job(name="identity-offers-sweep", interval_s=SWEEP_INTERVAL_S, run=run_sweep)],
    )


def _check_issuer_keys(ctx: Context) -> None:
    """Every issuer key file must be readable (decrypt with the passphrase; plain ones are
    encrypted when a passphrase is set): a wrong passphrase stops the start-up here."""
    from pingan.identity.keystore import check_keys

    check_keys(ctx.settings.data_dir)
