"""Where idle units wait (posts, move-up) and when to redirect a unit already on its way."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from pingan.dispatch.recommend import (
    expected_response_s,
    move_up,
    plan_standby_posts,
    should_redirect,
)


def test_expected_response_follows_the_busy_probability() -> None:
    # one demand point, posts 60 s and 200 s away, each unit busy with probability 0.25
    got = expected_response_s(np.array([[200.0], [60.0]]), busy_fraction=0.25, unreachable_s=900)
    assert got == pytest.approx([0.75 * 60 + 0.25 * 0.75 * 200 + 0.25**2 * 900])
    # nobody busy: the nearest post; no post: unreachable
    assert expected_response_s(np.array([[200.0], [60.0]]), busy_fraction=0.0)[0] == 60.0
    assert expected_response_s(np.zeros((0, 2)), unreachable_s=900).tolist() == [900.0, 900.0]
    # beyond the cutoff counts as the cutoff
    assert expected_response_s(np.array([[math.inf]]), busy_fraction=0.0, unreachable_s=900)[
        0
    ] == pytest.approx(900.0)


def _objective(travel: np.ndarray, demand: np.ndarray, posts: list[int], q: float) -> float:
    return float(expected_response_s(travel[posts], busy_fraction=q, unreachable_s=900) @ demand)


@pytest.mark.parametrize("q", [0.0, 0.3, 0.6])
def test_posts_are_the_greedy_optimum_and_nested(q: float) -> None:
    rng = np.random.default_rng(3)
    travel = rng.uniform(0, 600, (7, 25))
    demand = rng.uniform(0, 1, 25)
    posts = plan_standby_posts(travel, demand, 4, busy_fraction=q, unreachable_s=900)
    assert len(posts) == 4
    # each step takes the candidate (repeats allowed) that lowers the objective most
    for k in range(1, 5):
        best = min(range(7), key=lambda c: _objective(travel, demand, [*posts[: k - 1], c], q))
        assert _objective(travel, demand, posts[:k], q) == pytest.approx(
            _objective(travel, demand, [*posts[: k - 1], best], q)
        )
    # the first post alone is the exact 1-post optimum
    assert _objective(travel, demand, posts[:1], q) == pytest.approx(
        min(_objective(travel, demand, [c], q) for c in range(7))
    )


def test_two_posts_go_to_the_two_demand_clusters_not_the_middle() -> None:
    # demand at points 0 and 1 (far apart); candidate 0 next to point 0, 1 next to point 1,
    # 2 in the middle (best for one unit alone)
    travel = np.array([[10.0, 500.0], [500.0, 10.0], [200.0, 200.0]])
    demand = np.array([1.0, 1.0])
    posts = plan_standby_posts(travel, demand, 2, busy_fraction=0.0, unreachable_s=900)
    assert posts[0] == 2
    assert sorted(posts) == [0, 2] or sorted(posts) == [1, 2]
    assert plan_standby_posts(travel, demand, 3, busy_fraction=0.0, unreachable_s=900)[:2] == posts
    # greedy is within reach of the exhaustive 2-post optimum here (one cluster each: 20 s)
    exhaustive = min(
        itertools.combinations_with_replacement(range(3), 2),
        key=lambda p: _objective(travel, demand, list(p), 0.0),
    )
    assert _objective(travel, demand, list(exhaustive), 0.0) == pytest.approx(20.0)
    assert _objective(travel, demand, posts, 0.0) == pytest.approx(210.0)


def test_move_up_keeps_units_at_their_posts_and_fills_the_gap_with_the_nearest() -> None:
    # posts p0, p1, p2; unit a is at p0, unit b at p2; unit c (just cleared a scene) is 100 s
    # from p1 and 400 s from p0; b is 300 s from p1
    travel = np.array(
        [
            [0.0, 250.0, 500.0],  # a
            [500.0, 300.0, 0.0],  # b
            [400.0, 100.0, 350.0],  # c
        ]
    )
    assert move_up(travel) == [0, 2, 1]
    # two idle units, two posts: the one already there stays, the other takes the other post
    assert move_up(travel[:2, :2]) == [0, 1]
    # more units than posts: the leftover stays where it is
    assert move_up(travel[:, :2]) == [0, None, 1]
    # a post only reachable beyond max_move_s is left open
    assert move_up(np.array([[0.0, 1200.0]]), max_move_s=900) == [0]
    assert move_up(np.array([[1200.0]]), max_move_s=900) == [None]
    assert move_up(np.zeros((0, 3))) == []


def test_redirect_only_when_much_sooner() -> None:
    assert should_redirect(300.0, 100.0)  # 200 s sooner, 67 %
    assert not should_redirect(300.0, 260.0)  # 40 s: not worth the U-turn
    assert not should_redirect(1000.0, 920.0)  # 80 s but only 8 %
    assert should_redirect(100.0, 30.0, min_gain_s=60, min_gain_fraction=0.5)


def test_bad_input_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="busy_fraction"):
        plan_standby_posts(np.zeros((2, 2)), np.ones(2), 1, busy_fraction=1.0)
    with pytest.raises(ValueError, match="travel_s"):
        plan_standby_posts(np.zeros((2, 3)), np.ones(2), 1)
    with pytest.raises(ValueError, match="count"):
        plan_standby_posts(np.zeros((2, 2)), np.ones(2), -1)
    with pytest.raises(ValueError, match="demand"):
        plan_standby_posts(np.zeros((2, 2)), np.array([1.0, -1.0]), 1)
    with pytest.raises(ValueError, match="travel_s"):
        plan_standby_posts(np.zeros((0, 2)), np.ones(2), 1)
    with pytest.raises(ValueError, match="max_move_s"):
        move_up(np.zeros((1, 1)), max_move_s=float("nan"))
    with pytest.raises(ValueError, match="candidate_eta_s"):
        should_redirect(-1.0, 10.0)


def test_a_move_cost_prefers_one_move_to_a_chain() -> None:
    # a is at p0, b at p1, c has just cleared a scene 30 s from p0 and 150 s from p2 (open).
    # Chain: c -> p0, a -> p2 (100 s) = 130 s of drive; one move: c -> p2 = 150 s.
    travel = np.array([[0.0, 200.0, 100.0], [400.0, 0.0, 400.0], [30.0, 300.0, 150.0]])
    assert move_up(travel) == [2, 1, 0]
    # 60 s a move: the chain costs 250, the single move 210
    assert move_up(travel, current=[0, 1, None], move_cost_s=60.0) == [0, 1, 2]
    with pytest.raises(ValueError, match="current"):
        move_up(travel, current=[0], move_cost_s=60.0)
    with pytest.raises(ValueError, match="move_cost_s"):
        move_up(travel, move_cost_s=-1.0)
