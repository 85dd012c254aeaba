"""Events the simulator publishes about itself."""

from __future__ import annotations

from datetime import datetime

from pingan.core.events import Event


class SimulationStarted(Event):
    """A simulation run began."""

    subject = "sim.run.started"
    city: str
    start: datetime
    end: datetime
    speedup: float
    seed: int
    generators: list[str]


class SimulatedHourPassed(Event):
    """One simulated hour passed (the city's heartbeat on the live feed)."""

    subject = "sim.clock.hour"
    city: str
    sim_time: datetime
    hour: int
    counts: dict[str, int]


class SimulationFinished(Event):
    """A simulation run ended; ``executed`` counts actions per generator."""

    subject = "sim.run.finished"
    city: str
    executed: dict[str, int]
    failed: dict[str, int]
    real_seconds: float
