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

from pingan.core.auth.roles import (
    ADMIN,
    ANALYST,
    COMMANDER,
    DISPATCHER,
    DISSUASION,
    OFFICER,
    PARTNER,
)
from pingan.core.module import Job, Module, Panel, Subscription

PERMISSIONS: dict[str, frozenset[str]] = {
    "antifraud.read": frozenset({DISSUASION, COMMANDER, ADMIN, ANALYST}),
    "antifraud.work": frozenset({DISSUASION, COMMANDER, ADMIN}),
    # The SLA policy of the five quick steps: supervisors only.
    "antifraud.sla.manage": frozenset({COMMANDER, ADMIN}),
    "antifraud.dashboard": frozenset({ANALYST, DISSUASION, COMMANDER, ADMIN}),
    # Partner systems: signals (operators, banks, platforms) and banks' answers.
    "antifraud.signals": frozenset({PARTNER}),
    "antifraud.bank": frozenset({PARTNER}),
    # Linkage case rooms: the units that work a case (刑侦 and 派出所 officers, 情指
    # dispatchers and analysts, dissuasion, command); membership decides which rooms.
    "antifraud.caseroom": frozenset({OFFICER, DISPATCHER, ANALYST, DISSUASION, COMMANDER, ADMIN}),
    "antifraud.caseroom.open": frozenset({DISSUASION, COMMANDER, ADMIN}),
    # Banks read the rooms they were invited to.
    "antifraud.caseroom.partner": frozenset({PARTNER}),
}


def module() -> Module:
    """The anti-fraud desk as the platform assembles it."""
    from pingan.antifraud import (
        caseroom,
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
        subscriptions=[
            # A warning's visit requests, missed deadlines and hold changes → its open
            # case rooms' timelines (with the event's own time).
            Subscription(
                pattern=subject,
                # JetStream durable names may not contain dots.
                durable="antifraud-caseroom-"
                + subject.removeprefix("antifraud.").replace(".", "-"),
                handler=caseroom.on_warning_event,
            )
            for subject in caseroom.CAPTURED_SUBJECTS
        ],
        jobs=[
            # Missed step deadlines → supervisor; lapsed 48-hour holds → expired.
            Job(
                name="antifraud-sweep",
                interval_s=service.DEFAULT_SWEEP_INTERVAL_S,
                run=service.run_sweep,
            ),
        ],
    )
