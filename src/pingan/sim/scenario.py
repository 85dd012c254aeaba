"""A simulation scenario: which city, when, for how long, how fast, with which seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Scenario:
    """What to simulate. ``speedup``: simulated s per real s; 0 = as fast as possible."""

    city: str
    start: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    duration: timedelta = timedelta(hours=24)
    speedup: float = 60.0
    seed: int = 20251231
    generators: tuple[str, ...] | None = None
    """Names of the generators to run; None runs every registered one."""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start: must be timezone-aware")
        if self.duration <= timedelta(0):
            raise ValueError("duration: must be positive")
        if self.speedup < 0:
            raise ValueError("speedup: must be zero (as fast as possible) or positive")

    @property
    def end(self) -> datetime:
        """When the scenario stops."""
        return self.start + self.duration
