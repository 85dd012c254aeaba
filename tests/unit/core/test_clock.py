import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from pingan.core import clock
from pingan.core.clock import FrozenClock, SimulatedClock

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def test_frozen_clock_moves_only_when_told() -> None:
    with clock.frozen(T0) as c:
        assert clock.now() == T0
        c.advance(90)
        assert clock.now() == T0 + timedelta(seconds=90)
        with pytest.raises(ValueError, match="backwards"):
            c.advance(-1)
    assert clock.now() != T0 + timedelta(seconds=90)  # the system clock is back


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        FrozenClock(datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone"):
        SimulatedClock(datetime(2025, 1, 1))


def test_simulated_clock_runs_faster_and_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = [1000.0]
    monkeypatch.setattr(clock.time, "monotonic", lambda: fake[0])
    sim = SimulatedClock(T0, speedup=60)
    fake[0] += 10  # ten real seconds
    assert sim.now() == T0 + timedelta(minutes=10)
    assert sim.seconds_until(T0 + timedelta(minutes=20)) == pytest.approx(10)
    sim.pause()
    fake[0] += 100
    assert sim.now() == T0 + timedelta(minutes=10)
    sim.resume()
    sim.set_speedup(3600)
    fake[0] += 1
    assert sim.now() == T0 + timedelta(minutes=70)


def test_sleep_until_on_a_frozen_clock_returns_at_once() -> None:
    with clock.frozen(T0):
        asyncio.run(asyncio.wait_for(clock.sleep_until(T0 + timedelta(days=1)), timeout=5))
