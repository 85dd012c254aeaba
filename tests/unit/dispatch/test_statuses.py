"""Unit statuses: the transition table, refusals naming both statuses, assignability."""

from __future__ import annotations

import itertools

import pytest

from pingan.dispatch.statuses import (
    TRANSITIONS,
    TransitionRefused,
    UnitStatus,
    check_transition,
    is_assignable,
    is_back_in_service,
)

S = UnitStatus
ALLOWED = {
    (S.AVAILABLE, S.DISPATCHED),
    (S.AVAILABLE, S.OUT_OF_SERVICE),
    (S.DISPATCHED, S.EN_ROUTE),
    (S.DISPATCHED, S.AVAILABLE),
    (S.DISPATCHED, S.OUT_OF_SERVICE),
    (S.EN_ROUTE, S.ON_SCENE),
    (S.EN_ROUTE, S.AVAILABLE),
    (S.EN_ROUTE, S.OUT_OF_SERVICE),
    (S.ON_SCENE, S.TRANSPORTING),
    (S.ON_SCENE, S.AVAILABLE),
    (S.ON_SCENE, S.OUT_OF_SERVICE),
    (S.TRANSPORTING, S.AVAILABLE),
    (S.TRANSPORTING, S.OUT_OF_SERVICE),
    (S.OUT_OF_SERVICE, S.AVAILABLE),
}


def test_the_status_set_is_the_duty_cycle() -> None:
    assert [s.value for s in S] == [
        "available",
        "dispatched",
        "en_route",
        "on_scene",
        "transporting",
        "out_of_service",
    ]
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("current", "new"), list(itertools.product(S, S)))
def test_every_pair_is_allowed_exactly_when_the_table_says(
    current: UnitStatus, new: UnitStatus
) -> None:
    if (current, new) in ALLOWED:
        check_transition(current, new)
    else:
        with pytest.raises(TransitionRefused):
            check_transition(current, new)


def test_a_skipped_step_is_refused_naming_both_statuses() -> None:
    with pytest.raises(TransitionRefused) as caught:
        check_transition("available", "on_scene")
    assert isinstance(caught.value, ValueError)
    assert caught.value.current is S.AVAILABLE and caught.value.new is S.ON_SCENE
    message = str(caught.value)
    assert "available" in message and "on_scene" in message


def test_repeating_the_same_status_is_not_a_transition() -> None:
    with pytest.raises(TransitionRefused):
        check_transition(S.EN_ROUTE, S.EN_ROUTE)


def test_unknown_statuses_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="new"):
        check_transition("available", "teleported")
    with pytest.raises(ValueError, match="current"):
        check_transition("asleep", "available")
    with pytest.raises(ValueError, match="status"):
        is_assignable("asleep")


def test_only_available_units_can_be_sent() -> None:
    assert [s for s in S if is_assignable(s)] == [S.AVAILABLE]
    assert is_assignable("available")


def test_back_in_service_is_the_event_back_to_available() -> None:
    assert is_back_in_service(S.ON_SCENE, S.AVAILABLE)
    assert is_back_in_service(S.TRANSPORTING, S.AVAILABLE)
    assert is_back_in_service(S.OUT_OF_SERVICE, S.AVAILABLE)
    assert not is_back_in_service(S.DISPATCHED, S.AVAILABLE)  # a cancellation
    assert not is_back_in_service(S.ON_SCENE, S.TRANSPORTING)
