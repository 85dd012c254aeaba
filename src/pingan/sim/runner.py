"""Run a scenario: install its clock, start the generators, drive the scheduler, report."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from pingan.core import clock as clock_mod
from pingan.core.clock import FrozenClock, SimulatedClock
from pingan.core.events import Event
from pingan.sim.events import SimulationFinished, SimulationStarted
from pingan.sim.registry import generators
from pingan.sim.scenario import Scenario
from pingan.sim.scheduler import Scheduler

if TYPE_CHECKING:
    from pingan.core.module import Context

log = logging.getLogger(__name__)


@dataclass
class SimulationReport:
    """What a run did: simulated span, actions per generator, failures, real time taken."""

    city: str
    simulated_hours: float
    real_seconds: float
    generators: list[str]
    executed: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    events_published: int = 0

    @property
    def speed(self) -> float:
        """Simulated seconds per real second actually achieved."""
        return self.simulated_hours * 3600 / self.real_seconds if self.real_seconds else 0.0


class Simulation:
    """One run of a scenario against a platform context (or none, for pure runs)."""

    def __init__(self, scenario: Scenario, ctx: Context | None = None) -> None:
        self.scenario = scenario
        self.ctx = ctx
        self.rng = random.Random(scenario.seed)
        self.scheduler = Scheduler()
        self.published: list[Event] = []
        registered = generators()
        names = scenario.generators if scenario.generators is not None else tuple(registered)
        unknown = [n for n in names if n not in registered]
        if unknown:
            raise ValueError(f"generators: unknown {', '.join(unknown)}")
        self.generator_names = list(names)
        self._factories = [registered[n] for n in names]

    def publish(self, event: Event) -> None:
        """Record ``event`` in the outbox (its own transaction) so the desks and the feed see it."""
        self.published.append(event)
        if self.ctx is None:
            return
        from pingan.core.outbox import record

        with self.ctx.db.session() as session:
            record(session, event)

    async def run(self) -> SimulationReport:
        """Run the scenario to its end and report."""
        sc = self.scenario
        fast = sc.speedup == 0
        sim_clock = FrozenClock(sc.start) if fast else SimulatedClock(sc.start, sc.speedup)
        previous = clock_mod.set_clock(sim_clock)
        began = time.perf_counter()
        try:
            self.publish(
                SimulationStarted(
                    city=sc.city,
                    start=sc.start,
                    end=sc.end,
                    speedup=sc.speedup,
                    seed=sc.seed,
                    generators=self.generator_names,
                    occurred_at=sc.start,
                )
            )
            for factory in self._factories:
                factory(self)
            await self.scheduler.run_until(sc.end, fast=fast)
            if not fast:
                await clock_mod.sleep_until(sc.end)
            real = time.perf_counter() - began
            self.publish(
                SimulationFinished(
                    city=sc.city,
                    executed=dict(self.scheduler.executed),
                    failed=dict(self.scheduler.failed),
                    real_seconds=real,
                    occurred_at=clock_mod.now(),
                )
            )
        finally:
            clock_mod.set_clock(previous)
        return SimulationReport(
            city=sc.city,
            simulated_hours=sc.duration / timedelta(hours=1),
            real_seconds=real,
            generators=self.generator_names,
            executed=dict(self.scheduler.executed),
            failed=dict(self.scheduler.failed),
            events_published=len(self.published),
        )


async def start_demo_simulation(ctx: Context) -> None:
    """Keep the demo city living: run the configured scenario day after day."""
    cfg = ctx.settings.sim
    start = clock_mod.now().replace(microsecond=0)
    day = 0
    while True:
        scenario = Scenario(
            city=ctx.settings.city.demo_name,
            start=start,
            duration=timedelta(hours=cfg.duration_h),
            speedup=cfg.speedup,
            seed=cfg.seed + day,
        )
        report = await Simulation(scenario, ctx).run()
        start, day = scenario.end, day + 1
        log.info("simulated %.1f h in %.1f s", report.simulated_hours, report.real_seconds)
