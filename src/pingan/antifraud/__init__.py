"""The anti-fraud desk (反诈): fraud-text classification, victim risk, money flow, typologies.

Only the AI models exist so far (``text``, ``risk``, ``moneyflow``, ``typology`` and a Typer
app in ``cli``); the desk's Module (routes, tables, events, page panel) is not built yet, so
this package is not registered in :mod:`pingan.assembly`.
"""

from __future__ import annotations
