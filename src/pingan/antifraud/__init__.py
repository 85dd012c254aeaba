"""The anti-fraud desk (共防365 · 预警劝阻快五条): signals in, graded warnings out.

Partner systems push signals (calls from listed numbers, fraud content, apps, transfers
to flagged accounts, the person's own report); the explainable typology score
(``typology``, with the ``text``, ``risk`` and ``moneyflow`` models behind it) grades each
potential victim; warnings are routed to the least-loaded team of the jurisdiction and
worked through the five quick steps with stored SLA deadlines; stop-payments go to the
banks' partner API. ``models``, ``service`` and ``routes`` persist and serve it; importing
this package connects to nothing.
"""

from __future__ import annotations

from pathlib import Path

from pingan.core.auth.roles import ADMIN, ANALYST, COMMANDER, DISSUASION, PARTNER
from pingan.core.module import Job, Module, Panel

PERMISSIONS: dict[str, frozenset[str]] = {
    "antifraud.read": frozenset({DISSUASION, COMMANDER, ADMIN, ANALYST}),
    "antifraud.work": frozenset({DISSUASION, COMMANDER, ADMIN}),
    # The SLA policy of the five quick steps: supervisors only.
    "antifraud.sla.manage": frozenset({COMMANDER, ADMIN}),
    "antifraud.dashboard": frozenset({ANALYST, DISSUASION, COMMANDER, ADMIN}),
    # Partner systems: signals (operators, banks, platforms) and banks' answers.
    "antifraud.signals": frozenset({PARTNER}),
    "antifraud.bank": frozenset({PARTNER}),
}


def module() -> Module:
    """The anti-fraud desk as the platform assembles it."""
    from pingan.antifraud import (
        models,  # noqa: F401  (registers the tables)
        service,
    )
    from pingan.antifraud.cli import app as cli_app
    from pingan.antifraud.routes import router

    here = Path(__file__).parent
    return Module(
        name="antifraud",
        router=router,
        cli=cli_app,
        panel=Panel(script="panel.js", order=20),
        static_dir=here / "static",
        locales_dir=here / "locales",
        permissions=PERMISSIONS,
        jobs=[
            # Missed step deadlines → supervisor; lapsed 48-hour holds → expired.
            Job(
                name="antifraud-sweep",
                interval_s=service.DEFAULT_SWEEP_INTERVAL_S,
                run=service.run_sweep,
            ),
        ],
    )
