"""Duplicate-call detection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pingan.city.graph import haversine_m
from pingan.dispatch.duplicates import CallSnapshot, find_duplicates

T0 = datetime(2025, 1, 1, 20, 0, tzinfo=UTC)


def _call(
    cid: str, s: int, lat: float, lon: float, text: str, kind: str | None = "fight"
) -> CallSnapshot:
    return CallSnapshot(cid, T0 + timedelta(seconds=s), lat, lon, text, kind)


def test_haversine_one_degree_latitude() -> None:
    assert 111_000 < haversine_m(120.0, 30.0, 120.0, 31.0) < 111_400


def test_same_fight_found_and_far_or_late_ones_not() -> None:
    new = _call("n", 60, 30.2741, 120.1551, "胜利路烧烤摊有人打架")
    same = _call("a", 0, 30.2745, 120.1553, "胜利路烧烤摊一群人打架")
    far = _call("b", 0, 30.3000, 120.1551, "胜利路烧烤摊有人打架")
    late = _call("c", -3600, 30.2741, 120.1551, "胜利路烧烤摊有人打架")
    other = _call("d", 30, 30.2742, 120.1552, "停水了", "water_outage")
    found = find_duplicates(new, [same, far, late, other], radius_m=300, window_s=900)
    assert [f[0] for f in found] == ["a"]
    assert any(r.startswith("distance:") for r in found[0][2])
    assert any("type: both fight" in r for r in found[0][2])


def test_closer_scores_higher() -> None:
    new = _call("n", 0, 30.0, 120.0, "有人打架")
    near = _call("a", 10, 30.0001, 120.0, "有人打架")
    less = _call("b", 400, 30.0015, 120.0, "有人打架")
    found = find_duplicates(new, [less, near], radius_m=300, window_s=900)
    assert [f[0] for f in found] == ["a", "b"] and found[0][1] > found[1][1]


def test_bad_input_names_field() -> None:
    new = _call("n", 0, 95.0, 120.0, "x")
    with pytest.raises(ValueError, match=r"new_call\.lat"):
        find_duplicates(new, [], radius_m=300, window_s=900)
    with pytest.raises(ValueError, match="radius_m"):
        find_duplicates(_call("n", 0, 30, 120, "x"), [], radius_m=0, window_s=900)
