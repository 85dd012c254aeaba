"""The running platform: database, bus, modules and their background work.

Both the web app (in its lifespan) and ``pingan worker`` (without HTTP) start one
:class:`Runtime`; it is the only place that subscribes consumers, runs the outbox
relay and schedules jobs, so one process and N processes behave the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from pingan.assembly import load_modules
from pingan.core.auth.permissions import register_permissions
from pingan.core.bus import EnvelopeHandler, make_bus
from pingan.core.db import Database
from pingan.core.module import Context, JobFn, Module
from pingan.core.outbox import OutboxRelay, idempotent_handler
from pingan.core.settings import Settings

log = logging.getLogger(__name__)


async def _run_job(ctx: Context, name: str, interval_s: float, fn: JobFn) -> None:
    while True:
        try:
            await fn(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:  # one failing job must not stop the others; logged, retried next round
            log.exception("job %s failed", name)
        await asyncio.sleep(interval_s)


class Runtime:
    """Everything a process of the platform runs, built from settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(
            settings.database_url_resolved, echo=settings.db.echo, pool_size=settings.db.pool_size
        )
        self.bus = make_bus(settings.bus)
        self.ctx = Context(settings=settings, db=self.db, bus=self.bus)
        self.modules: list[Module] = load_modules()
        for m in self.modules:
            register_permissions(m.permissions)
        self.relay = OutboxRelay(self.db, self.bus, interval_s=settings.bus.relay_interval_s)
        self.bus_ready = False
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(
        self,
        *,
        background: bool = True,
        simulate: bool = False,
        live_feed: EnvelopeHandler | None = None,
    ) -> None:
        """Connect the bus; with ``background``, start consumers, the relay and jobs."""
        for m in self.modules:  # e.g. the issuer keys decrypt: refuse to start otherwise
            if m.startup is not None:
                m.startup(self.ctx)
        await self.bus.start()
        self.bus_ready = True
        if not background:
            return
        if live_feed is not None:
            await self.bus.subscribe(">", None, live_feed)
        for m in self.modules:
            for sub in m.subscriptions:
                await self.bus.subscribe(
                    sub.pattern, sub.durable, idempotent_handler(self.ctx, sub)
                )
        self.relay.install()
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for m in self.modules:
            for job in m.jobs:
                self._tasks.append(
                    asyncio.create_task(
                        _run_job(self.ctx, job.name, job.interval_s, job.run),
                        name=f"job-{job.name}",
                    )
                )
        if simulate:
            from pingan.sim.runner import start_demo_simulation

            self._tasks.append(
                asyncio.create_task(start_demo_simulation(self.ctx), name="simulator")
            )

    async def stop(self) -> None:
        """Cancel background work, disconnect the bus and close the database."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        # Marks of rows already published (SQLite writes them behind the relay).
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.relay.settle(), timeout=10)
        self.relay.uninstall()
        await self.bus.close()
        self.bus_ready = False
        self.db.dispose()


async def run_worker(settings: Settings) -> None:
    """Run consumers, the relay and jobs until cancelled (``pingan worker``)."""
    runtime = Runtime(settings)
    await runtime.start(background=True, simulate=False)
    try:
        await asyncio.Event().wait()
    finally:
        await runtime.stop()
