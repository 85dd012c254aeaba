"""The common cycle's delay estimate (Webster's uniform delay) used to choose among cycles."""

from __future__ import annotations

import math

import pytest

from pingan.traffic.webster import uniform_delay as _uniform_delay


def test_uniform_delay_matches_webster_first_term() -> None:
    # C = 60 s, effective green 30 s (λ = 0.5), y = 0.25 → x = 0.5:
    # 60 · 0.25 / (2 · (1 − 0.25)) = 10 s.
    assert _uniform_delay(60.0, 30.0, 0.25) == pytest.approx(10.0)


def test_longer_cycle_delays_a_movement_at_the_same_green_share() -> None:
    short = _uniform_delay(60.0, 30.0, 0.2)
    long = _uniform_delay(120.0, 60.0, 0.2)
    assert long == pytest.approx(2 * short)


def test_saturated_and_degenerate_greens_stay_finite() -> None:
    assert _uniform_delay(90.0, 0.0, 0.3) == pytest.approx(45.0)  # never green: half a cycle
    assert _uniform_delay(90.0, 90.0, 0.3) == pytest.approx(0.0)  # always green
    d = _uniform_delay(90.0, 30.0, 0.9)  # demand above capacity: x capped at 1
    assert math.isfinite(d) and d == pytest.approx(90.0 * (2 / 3) ** 2 / (2 * (1 - 1 / 3)))


def _row(cycle: float, corridor: float, network: float) -> dict[str, float]:
    return {"cycle_s": cycle, "corridor_tt_s": corridor, "network_tt_s": network}


def test_calibration_keeps_the_fastest_corridor_that_leaves_the_network_no_worse() -> None:
    from pingan.traffic.evaluate import pick_calibrated

    rows = [
        _row(77.4, 163.2, 101.9),
        _row(102.4, 142.1, 100.8),
        _row(117.4, 127.8, 102.3),
        _row(122.4, 120.0, 160.0),  # fastest corridor, but the network is worse than default
    ]
    assert pick_calibrated(rows, default_network_tt_s=157.9) == 2
    # Ties on the corridor go to the shorter cycle; a corridor nobody drove never wins.
    tied = [_row(60.0, 100.0, 90.0), _row(55.0, 100.0, 95.0), _row(50.0, math.nan, 80.0)]
    assert pick_calibrated(tied, default_network_tt_s=100.0) == 1
    # None keeps the network no worse: the least network travel time.
    worse = [_row(60.0, 90.0, 130.0), _row(70.0, 80.0, 120.0)]
    assert pick_calibrated(worse, default_network_tt_s=100.0) == 1
    with pytest.raises(ValueError, match="no candidates"):
        pick_calibrated([], default_network_tt_s=100.0)
