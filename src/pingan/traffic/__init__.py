"""The traffic desk (数智绿波): green waves along arterial corridors, emergency priority.

The algorithmic and evaluation core: MAXBAND green-wave optimisation (``maxband``), Webster
splits and time-of-day plans (``webster``), time-space diagrams (``diagram``), SUMO helpers
(``sumo``, optional: the ``traffic`` extra), max-pressure control and emergency preemption
over TraCI (``maxpressure``, ``preemption``), the corridor plan (``plan``) and the
side-by-side evaluation (``evaluate``, ``pingan traffic evaluate``). Importing this package
connects to nothing and does not need SUMO.
"""

from __future__ import annotations

from pathlib import Path

from pingan.core.auth.roles import ADMIN, ANALYST, COMMANDER, DISPATCHER, TRAFFIC
from pingan.core.module import Job, Module, Panel

PERMISSIONS: dict[str, frozenset[str]] = {
    "traffic.read": frozenset({TRAFFIC, COMMANDER, DISPATCHER, ANALYST, ADMIN}),
    # Corridors, plans and evaluations: traffic engineers.
    "traffic.plan": frozenset({TRAFFIC, ADMIN}),
    # Marking a plan deployed on the street.
    "traffic.deploy": frozenset({TRAFFIC, COMMANDER, ADMIN}),
    # Emergency-vehicle signal priority (the priority feature's routes).
    "traffic.priority": frozenset({DISPATCHER, COMMANDER, TRAFFIC, ADMIN}),
}

EVALUATION_POLL_S = 2.0
"""How often queued evaluations are started and finished ones reaped."""


def module() -> Module:
    """The traffic desk as the platform assembles it."""
    from pingan.traffic import (
        evaluations,
        handlers,
        models,  # noqa: F401  (registers the tables)
        priority_models,  # noqa: F401  (registers the tables)
    )
    from pingan.traffic.cli import app as cli_app
    from pingan.traffic.routes import router

    here = Path(__file__).parent
    return Module(
        name="traffic",
        router=router,
        cli=cli_app,
        panel=Panel(script="panel.js", order=40),
        static_dir=here / "static",
        locales_dir=here / "locales",
        permissions=PERMISSIONS,
        jobs=[
            # SUMO evaluations: start queued ones (bounded), reap finished processes.
            Job(
                name="traffic-evaluations",
                interval_s=EVALUATION_POLL_S,
                run=evaluations.evaluation_job,
            ),
            # Emergency priority: request states advance, passed signals are restored.
            *handlers.JOBS,
        ],
        # Dispatch events → green corridors ahead of units driving with lights.
        subscriptions=list(handlers.SUBSCRIPTIONS),
    )
