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

from pingan.core.module import Module


def module() -> Module:
    """The traffic desk as the platform assembles it (CLI only for now)."""
    from pingan.traffic.cli import app as cli_app

    return Module(name="traffic", cli=cli_app, locales_dir=Path(__file__).parent / "locales")
