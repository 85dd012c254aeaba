"""MAXBAND: analytic cases, band limits, symmetry and an independent geometric check."""

from __future__ import annotations

import random

import pytest

from pingan.core.errors import ValidationFailed
from pingan.traffic.maxband import BandPlan, Signal, solve_maxband


def _remaining_green(t: float, start: float, green: float, cycle: float) -> float:
    """Seconds of green left at time ``t`` for a green of ``green`` s starting at ``start``."""
    into = (t - start) % cycle
    if into > green + 1e-9:
        return 0.0
    return green - into


def _swept_band(plan: BandPlan, *, inbound: bool, step: float = 0.05) -> float:
    """The widest band the plan's offsets allow, found by sweeping the band's start time."""
    cycle = plan.cycle_s
    n = len(plan.signals)
    best = 0.0
    steps = int(cycle / step) + 1
    for k in range(steps):
        s = k * step
        width = float("inf")
        for i, sig in enumerate(plan.signals):
            if inbound:
                arrival = s - sum(plan.travel_in_s[:i])
                start = plan.offsets_s[i] + sig.inbound_shift * cycle
                green = (1.0 - sig.red_in) * cycle
            else:
                arrival = s + sum(plan.travel_out_s[:i])
                start = plan.offsets_s[i]
                green = (1.0 - sig.red) * cycle
            width = min(width, _remaining_green(arrival, start, green, cycle))
        assert n
        best = max(best, width)
    return best


def test_two_signals_half_cycle_apart_get_the_full_green() -> None:
    # t = 300 m / 10 m/s = 30 s = C/2: both directions fit the whole green.
    signals = [Signal("A", 0.0, red=0.5), Signal("B", 300.0, red=0.5)]
    plan = solve_maxband(signals, cycle_range=(60, 60), speed_range=(10, 10))
    assert plan.cycle_s == pytest.approx(60.0)
    assert plan.band_out_s == pytest.approx(30.0, abs=1e-6)
    assert plan.band_in_s == pytest.approx(30.0, abs=1e-6)


def test_two_signals_quarter_cycle_apart_lose_a_quarter() -> None:
    # Analytic: b = g − dist(2t, Z)/2 cycles = 0.5 − 0.25 → 15 s at C = 60.
    signals = [Signal("A", 0.0, red=0.5), Signal("B", 150.0, red=0.5)]
    plan = solve_maxband(signals, cycle_range=(60, 60), speed_range=(10, 10))
    assert plan.band_out_s == pytest.approx(15.0, abs=1e-6)
    assert plan.band_in_s == pytest.approx(15.0, abs=1e-6)
    assert plan.efficiency == pytest.approx(0.25, abs=1e-6)


def test_free_cycle_finds_the_double_travel_time_cycle() -> None:
    # With the cycle free in [40, 120] s the full green is reached when 2t is a whole
    # number of cycles: C = 60 (2t = 60 s) or C = 120; the shorter is preferred.
    signals = [Signal("A", 0.0, red=0.5), Signal("B", 300.0, red=0.5)]
    plan = solve_maxband(signals, cycle_range=(40, 120), speed_range=(10, 10))
    assert plan.efficiency == pytest.approx(0.5, abs=1e-6)
    assert plan.cycle_s == pytest.approx(60.0, abs=1e-3)


def test_band_never_exceeds_the_smallest_green() -> None:
    rng = random.Random(3)
    signals = [
        Signal(f"S{i}", 400.0 * i + rng.uniform(-80, 80), red=rng.uniform(0.35, 0.65))
        for i in range(6)
    ]
    plan = solve_maxband(signals, cycle_range=(60, 120), speed_range=(11, 14), symmetric=False)
    min_green_out = min(1 - s.red for s in signals) * plan.cycle_s
    min_green_in = min(1 - s.red_in for s in signals) * plan.cycle_s
    assert plan.band_out_s <= min_green_out + 1e-6
    assert plan.band_in_s <= min_green_in + 1e-6


def test_symmetric_bands_are_equal() -> None:
    signals = [
        Signal(f"S{i}", d, red=r)
        for i, (d, r) in enumerate([(0, 0.45), (350, 0.5), (820, 0.55), (1200, 0.4), (1650, 0.5)])
    ]
    plan = solve_maxband(signals, cycle_range=(60, 120), speed_range=(12, 14))
    assert plan.band_out_s == pytest.approx(plan.band_in_s, abs=1e-6)
    assert plan.band_out_s > 0


def test_asymmetric_ratio_favours_the_outbound_direction() -> None:
    signals = [Signal(f"S{i}", 330.0 * i + (70 if i % 2 else 0), red=0.5) for i in range(5)]
    plan = solve_maxband(
        signals, cycle_range=(70, 70), speed_range=(12, 12), symmetric=False, ratio=0.3
    )
    assert plan.band_out_s >= plan.band_in_s - 1e-6


@pytest.mark.parametrize("seed", range(8))
def test_offsets_realise_the_reported_band(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(3, 7)
    pos = 0.0
    signals = []
    for i in range(n):
        red = rng.uniform(0.3, 0.6)
        signals.append(
            Signal(
                f"S{i}",
                pos,
                red=red,
                red_inbound=rng.choice([None, rng.uniform(0.3, 0.6)]),
                inbound_shift=rng.choice([0.0, rng.uniform(0.0, 0.3)]),
                queue_s=rng.choice([0.0, 4.0]),
            )
        )
        pos += rng.uniform(200, 700)
    plan = solve_maxband(
        signals,
        cycle_range=(60, 140),
        speed_range=(10, 15),
        symmetric=rng.random() < 0.5,
        ratio=rng.uniform(0.3, 1.0),
    )
    # Travel times honour the speed range.
    for i in range(n - 1):
        d = signals[i + 1].position_m - signals[i].position_m
        for t in (plan.travel_out_s[i], plan.travel_in_s[i]):
            assert d / 15 - 1e-6 <= t <= d / 10 + 1e-6
    # The sweep finds at least the reported band in each direction.
    assert _swept_band(plan, inbound=False) >= plan.band_out_s - 0.1
    assert _swept_band(plan, inbound=True) >= plan.band_in_s - 0.1
    assert all(0.0 <= o < plan.cycle_s for o in plan.offsets_s)
    assert plan.offsets_s[0] == 0.0


def test_queue_clearance_delays_the_band() -> None:
    signals = [Signal("A", 0.0, red=0.5, queue_s=10.0), Signal("B", 300.0, red=0.5, queue_s=10.0)]
    plan = solve_maxband(signals, cycle_range=(60, 60), speed_range=(10, 10))
    assert plan.band_out_s == pytest.approx(20.0, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cycle_range": (120, 60)}, "cycle_range"),
        ({"cycle_range": (0, 60)}, "cycle_range"),
        ({"speed_range": (15, 10)}, "speed_range"),
        ({"ratio": 1.5, "symmetric": False}, "ratio"),
    ],
)
def test_bad_ranges_name_the_field(kwargs: dict[str, object], field: str) -> None:
    signals = [Signal("A", 0.0, red=0.5), Signal("B", 300.0, red=0.5)]
    args: dict[str, object] = {"cycle_range": (60, 90), "speed_range": (10, 12)}
    args.update(kwargs)
    with pytest.raises(ValidationFailed) as err:
        solve_maxband(signals, **args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_bad_signals_name_the_field() -> None:
    with pytest.raises(ValidationFailed) as err:
        solve_maxband([Signal("A", 0.0, red=0.5)], cycle_range=(60, 90), speed_range=(10, 12))
    assert err.value.field == "signals"
    with pytest.raises(ValidationFailed) as err:
        solve_maxband(
            [Signal("A", 0.0, red=0.5), Signal("B", 0.0, red=0.5)],
            cycle_range=(60, 90),
            speed_range=(10, 12),
        )
    assert err.value.field == "signals[1].position_m"
    with pytest.raises(ValidationFailed) as err:
        solve_maxband(
            [Signal("A", 0.0, red=0.5), Signal("B", 100.0, red=1.2)],
            cycle_range=(60, 90),
            speed_range=(10, 12),
        )
    assert err.value.field == "signals[1].red"


def test_no_band_at_all_is_a_clear_error() -> None:
    # Greens of C/10 cannot host even a zero-width band in both directions when 2t = C/2.
    signals = [Signal("A", 0.0, red=0.9), Signal("B", 150.0, red=0.9)]
    with pytest.raises(ValidationFailed) as err:
        solve_maxband(signals, cycle_range=(60, 60), speed_range=(10, 10))
    assert err.value.key == "traffic.error.infeasible"
    assert err.value.field == "signals"


def test_one_way_band_is_the_fallback_when_no_two_way_band_exists() -> None:
    signals = [Signal("A", 0.0, red=0.9), Signal("B", 150.0, red=0.9)]
    plan = solve_maxband(signals, cycle_range=(60, 60), speed_range=(10, 10), one_way=True)
    assert plan.band_out_s == pytest.approx(6.0, abs=1e-6)
    assert plan.band_in_s == 0.0
    assert _swept_band(plan, inbound=False) >= plan.band_out_s - 0.1
