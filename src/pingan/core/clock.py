"""Time for every desk: real, simulated (a day in minutes) or frozen (tests).

Desks never call ``datetime.now()``; they call :func:`now`, so the simulator can
run the city faster than real time and tests can freeze it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of the current time (timezone-aware, UTC)."""

    def now(self) -> datetime:
        """The current time."""
        ...

    def seconds_until(self, when: datetime) -> float:
        """Real seconds to wait until ``when`` on this clock (0 if already past)."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    def seconds_until(self, when: datetime) -> float:
        """Real seconds until ``when``."""
        return max(0.0, (when - self.now()).total_seconds())


class SimulatedClock:
    """Time that runs ``speedup`` times faster than the wall clock from ``start``."""

    def __init__(self, start: datetime, speedup: float = 60.0) -> None:
        if start.tzinfo is None:
            raise ValueError("start: must be timezone-aware")
        if speedup <= 0:
            raise ValueError("speedup: must be positive")
        self._lock = threading.Lock()
        self._anchor_sim = start
        self._anchor_real = time.monotonic()
        self._speedup = speedup
        self._paused = False

    @property
    def speedup(self) -> float:
        """Simulated seconds per real second."""
        return self._speedup

    def now(self) -> datetime:
        """The current simulated time."""
        with self._lock:
            if self._paused:
                return self._anchor_sim
            elapsed = time.monotonic() - self._anchor_real
            return self._anchor_sim + timedelta(seconds=elapsed * self._speedup)

    def seconds_until(self, when: datetime) -> float:
        """Real seconds until simulated ``when`` arrives."""
        if self._paused:
            return float("inf") if when > self._anchor_sim else 0.0
        return max(0.0, (when - self.now()).total_seconds() / self._speedup)

    def _reanchor(self) -> None:
        current = self.now()
        self._anchor_sim = current
        self._anchor_real = time.monotonic()

    def set_speedup(self, speedup: float) -> None:
        """Change the speed without a jump in simulated time."""
        if speedup <= 0:
            raise ValueError("speedup: must be positive")
        self._reanchor()
        with self._lock:
            self._speedup = speedup

    def pause(self) -> None:
        """Stop simulated time."""
        self._reanchor()
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        """Let simulated time run again from where it stopped."""
        with self._lock:
            self._paused = False
            self._anchor_real = time.monotonic()


class FrozenClock:
    """Time that moves only when told to (tests)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("at: must be timezone-aware")
        self._now = at

    def now(self) -> datetime:
        """The frozen time."""
        return self._now

    def seconds_until(self, when: datetime) -> float:
        """Always zero: waiting on a frozen clock returns at once."""
        return 0.0

    def advance(self, delta: timedelta | float) -> datetime:
        """Move time forward by ``delta`` (seconds or a timedelta)."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("delta: time does not run backwards")
        self._now += step
        return self._now

    def set(self, at: datetime) -> None:
        """Jump to ``at``."""
        self._now = at


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    """The clock in force for this process."""
    return _clock


def set_clock(clock: Clock) -> Clock:
    """Install ``clock`` for this process; returns the previous one."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def now() -> datetime:
    """The current time on the clock in force."""
    return _clock.now()


async def sleep_until(when: datetime, *, max_step_s: float = 1.0) -> None:
    """Sleep (asynchronously) until ``when`` on the clock in force.

    Sleeps in steps of at most ``max_step_s`` real seconds so a change of clock or
    speed-up takes effect promptly.
    """
    while True:
        wait = _clock.seconds_until(when)
        if wait <= 0 or _clock.now() >= when:
            return
        await asyncio.sleep(min(wait, max_step_s))


@contextmanager
def frozen(at: datetime) -> Iterator[FrozenClock]:
    """Freeze time at ``at`` for the duration of the block."""
    clock = FrozenClock(at)
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)
