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
