import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from pingan.core import clock
from pingan.sim.runner import Simulation
from pingan.sim.scenario import Scenario
from pingan.sim.scheduler import Scheduler

T0 = datetime(2025, 3, 1, 0, 30, tzinfo=UTC)


def test_actions_run_in_time_order_and_see_their_time_on_the_clock() -> None:
    seen: list[tuple[str, datetime, datetime]] = []
    sched = Scheduler()
    for name, minutes in [("c", 30), ("a", 10), ("b", 20), ("a2", 10)]:
        at = T0 + timedelta(minutes=minutes)
        sched.at(at, lambda t, n=name: seen.append((n, t, clock.now())), source="test")
    with clock.frozen(T0):
        asyncio.run(sched.run_until(T0 + timedelta(hours=1), fast=True))
        assert clock.now() == T0 + timedelta(hours=1)
    assert [s[0] for s in seen] == ["a", "a2", "b", "c"]
    assert all(at == now for _, at, now in seen)
    assert sched.executed == {"test": 4}


def test_a_failing_action_is_counted_and_the_run_goes_on() -> None:
    sched = Scheduler()
    sched.at(T0, lambda t: 1 / 0, source="bad")
    sched.at(T0 + timedelta(minutes=1), lambda t: None, source="good")
    with clock.frozen(T0):
        asyncio.run(sched.run_until(T0 + timedelta(hours=1), fast=True))
    assert sched.failed == {"bad": 1}
    assert sched.executed == {"good": 1}


def test_actions_past_the_end_stay_queued() -> None:
    sched = Scheduler()
    sched.at(T0 + timedelta(hours=2), lambda t: None, source="late")
    with clock.frozen(T0):
        asyncio.run(sched.run_until(T0 + timedelta(hours=1), fast=True))
    assert len(sched) == 1 and sched.executed == {}


def test_a_day_with_no_desk_generators_still_runs_and_reports() -> None:
    scenario = Scenario(city="demo", start=T0, duration=timedelta(hours=24), speedup=0)
    report = asyncio.run(Simulation(scenario).run())
    assert report.simulated_hours == 24
    assert report.executed == {"clock": 24}  # 01:00 ... 00:00 next day
    assert report.events_published == 26  # started + 24 hours + finished
    assert clock.now() > T0 + timedelta(days=365)  # the process clock is restored


def test_scenario_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="duration"):
        Scenario(city="x", start=T0, duration=timedelta(0))
    with pytest.raises(ValueError, match="speedup"):
        Scenario(city="x", start=T0, speedup=-1)
    with pytest.raises(ValueError, match="generators"):
        Simulation(Scenario(city="x", start=T0, generators=("nope",)))
