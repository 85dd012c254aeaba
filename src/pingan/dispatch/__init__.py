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
from pingan.core.module import Job, Module, Panel, Subscription

PERMISSIONS: dict[str, frozenset[str]] = {
    "dispatch.read": frozenset(STAFF_ROLES),
    "dispatch.call": frozenset({DISPATCHER, COMMANDER, ADMIN, OFFICER}),
    "dispatch.dispatch": frozenset({DISPATCHER, COMMANDER, ADMIN}),
    "dispatch.units.manage": frozenset({COMMANDER, ADMIN}),
    "dispatch.security.manage": frozenset({COMMANDER, ADMIN}),
    # Supervisors edit the triage rules and run cards (研判规则 · 出动标准).
    "dispatch.rules.manage": frozenset({COMMANDER, ADMIN}),
    "dispatch.position": frozenset({DISPATCHER, OFFICER, COMMANDER, ADMIN, PARTNER}),
    # Public warnings (CAP 1.2): dispatchers draft, only a commander broadcasts.
    "dispatch.alerts.draft": frozenset({DISPATCHER, COMMANDER}),
    "dispatch.alerts.issue": frozenset({COMMANDER}),
    # Non-police linkage (非警务联动) and dispute follow-ups (枫桥经验).
    "dispatch.transfer": frozenset({DISPATCHER, COMMANDER, ADMIN}),
    "dispatch.followup": frozenset({OFFICER, DISPATCHER, COMMANDER, ADMIN}),
    "dispatch.partner": frozenset({PARTNER}),  # a linked department's API key, nobody else
}


def module() -> Module:
    """The dispatch desk as the platform assembles it."""
    from pingan.dispatch import (
        avl,
        handlers,
        linkage,
        models,  # noqa: F401  (registers the tables)
        standby,
    )
    from pingan.dispatch.cli import app as cli_app
    from pingan.dispatch.routes import router
    from pingan.dispatch.settings import dispatch_settings

    here = Path(__file__).parent
    return Module(
        name="dispatch",
        router=router,
        cli=cli_app,
        panel=Panel(script="panel.js", order=10),
        static_dir=here / "static",
        locales_dir=here / "locales",
        permissions=PERMISSIONS,
        subscriptions=[
            # An anti-fraud in-person dissuasion visit becomes a patrol task (反诈上门劝阻).
            Subscription(
                pattern=handlers.VISIT_SUBJECT,
                durable="dispatch-fraud-visits",
                handler=handlers.on_fraud_visit,
            ),
        ],
        jobs=[
            # AVL over MQTT: idle (one log line) unless PINGAN_DISPATCH__MQTT_URL is set;
            # a crash is logged and the bridge restarts after interval_s.
            Job(name="dispatch-avl", interval_s=10.0, run=avl.run_avl),
            # Overdue acknowledgements, feedback and follow-up visits (stored deadlines).
            Job(
                name="dispatch-linkage-sweep",
                interval_s=linkage.DEFAULT_SWEEP_INTERVAL_S,
                run=linkage.run_sweep,
            ),
            # Move-up: every city's standby posts re-planned from its recorded incidents.
            Job(
                name="dispatch-standby-posts",
                interval_s=dispatch_settings().standby_replan_s,
                run=standby.run_replan,
            ),
        ],
    )
