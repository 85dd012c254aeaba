"""The city's clock: one event per simulated hour so the feed shows the simulation living."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pingan.sim.events import SimulatedHourPassed
from pingan.sim.registry import register

if TYPE_CHECKING:
    from pingan.sim.runner import Simulation


@register("clock")
def hourly_clock(sim: Simulation) -> None:
    """Publish :class:`SimulatedHourPassed` at the top of every simulated hour."""
    first = sim.scenario.start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)

    def tick(at: datetime) -> None:
        sim.publish(
            SimulatedHourPassed(
                city=sim.scenario.city,
                sim_time=at,
                occurred_at=at,
                hour=at.hour,
                counts=dict(sim.scheduler.executed),
            )
        )
        sim.scheduler.at(at + timedelta(hours=1), tick, source="clock")

    sim.scheduler.at(first, tick, source="clock")
