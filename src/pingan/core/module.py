"""The small contract every desk (and the city model) fulfils to be assembled.

A desk's ``__init__`` exposes ``module() -> Module``. The web app, the CLI and the
worker assemble the platform from the list in :data:`pingan.modules.MODULES`;
nothing connects at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter
    from sqlalchemy.orm import Session

    from pingan.core.bus import EventBus
    from pingan.core.db import Database
    from pingan.core.events import Event
    from pingan.core.settings import Settings


@dataclass
class Context:
    """What handlers and jobs get: settings, the database and the bus."""

    settings: Settings
    db: Database
    bus: EventBus


EventHandler = Callable[["Session", "Event", Context], None]
"""Handles one event inside a transaction; the effect and the dedup mark commit together."""

JobFn = Callable[[Context], Awaitable[Any]]


@dataclass(frozen=True)
class Subscription:
    """A durable consumer: ``handler`` runs once per event whose subject matches ``pattern``."""

    pattern: str
    durable: str
    handler: EventHandler


@dataclass(frozen=True)
class Job:
    """A periodic job (SLA sweeps, relays); runs in the worker or the single process."""

    name: str
    interval_s: float
    run: JobFn


@dataclass(frozen=True)
class Panel:
    """A desk's panel on the command-centre page: a script from the desk's static folder."""

    script: str
    order: int = 100


@dataclass
class Module:
    """A desk as the platform assembles it."""

    name: str
    router: APIRouter | None = None
    cli: Any = None
    subscriptions: list[Subscription] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    panel: Panel | None = None
    static_dir: Path | None = None
    locales_dir: Path | None = None
    permissions: dict[str, frozenset[str]] = field(default_factory=dict)
    """Permission name -> roles granted it, e.g. ``{"city.read": STAFF_ROLES}``."""
    root_router: APIRouter | None = None
    """Routes the app mounts at the root, not under ``/api`` (e.g. ``/.well-known/...``)."""
    startup: Callable[[Context], None] | None = None
    """Checked when the app or worker starts (before the bus): raise to refuse to start."""
