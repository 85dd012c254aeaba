"""A discrete-event scheduler driven by the platform clock.

Events are (time, sequence, action) in a heap. In scaled mode the scheduler sleeps on
a :class:`~pingan.core.clock.SimulatedClock` until each event is due; in fast mode it
jumps a :class:`~pingan.core.clock.FrozenClock` straight to the next event, so a day
of the city runs as fast as the desks can process it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from pingan.core import clock as clock_mod
from pingan.core.clock import FrozenClock

Action = Callable[[datetime], Awaitable[None] | None]


@dataclass(order=True)
class _Entry:
    at: datetime
    seq: int
    source: str = field(compare=False)
    action: Action = field(compare=False)


class Scheduler:
    """Runs actions at simulated times, in time order (ties in scheduling order)."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self.executed: dict[str, int] = {}
        self.failed: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, when: datetime, action: Action, *, source: str) -> None:
        """Run ``action(when)`` at simulated time ``when``."""
        if when.tzinfo is None:
            raise ValueError("when: must be timezone-aware")
        heapq.heappush(self._heap, _Entry(when, next(self._seq), source, action))

    def next_time(self) -> datetime | None:
        """When the next action is due, if any."""
        return self._heap[0].at if self._heap else None

    async def run_until(self, end: datetime, *, fast: bool) -> None:
        """Run every action due before ``end``; returns when the queue is empty or past ``end``."""
        while self._heap and self._heap[0].at < end:
            entry = heapq.heappop(self._heap)
            current = clock_mod.get_clock()
            if fast and isinstance(current, FrozenClock):
                if entry.at > current.now():
                    current.set(entry.at)
            else:
                await clock_mod.sleep_until(entry.at)
            try:
                result = entry.action(entry.at)
                if result is not None:
                    await result
                self.executed[entry.source] = self.executed.get(entry.source, 0) + 1
            except Exception:
                # One generator's failure must not stop the city; it is counted and reported.
                self.failed[entry.source] = self.failed.get(entry.source, 0) + 1
                import logging

                logging.getLogger(__name__).exception("sim action from %s failed", entry.source)
        current = clock_mod.get_clock()
        if fast and isinstance(current, FrozenClock) and current.now() < end:
            current.set(end)
