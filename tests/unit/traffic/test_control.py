"""Pure parts of max-pressure and preemption: pressures, choice, schedule, safety check."""

from __future__ import annotations

import pytest

from pingan.traffic.maxpressure import choose_phase, is_transition, phase_pressures
from pingan.traffic.preemption import expected_phase, unsafe_changes
from pingan.traffic.sumo import ProgramPhase

PHASES = [
    ProgramPhase("GGrr", 30.0),
    ProgramPhase("yyrr", 3.0),
    ProgramPhase("rrrr", 2.0),
    ProgramPhase("rrGG", 20.0),
    ProgramPhase("rryy", 3.0),
    ProgramPhase("rrrr", 2.0),
]
LINKS = [("a_in", "a_out"), ("a_in", "b_out"), ("c_in", "c_out"), ("c_in", "d_out")]


def test_transitions_are_yellow_or_all_red() -> None:
    assert [is_transition(p.state) for p in PHASES] == [False, True, True, False, True, True]
    assert is_transition("GGyr")  # a yellow anywhere makes it a transition


def test_pressure_is_upstream_minus_downstream_per_movement() -> None:
    counts = {"a_in": 6.0, "a_out": 1.0, "b_out": 2.0, "c_in": 3.0, "c_out": 0.0, "d_out": 5.0}
    pressures = phase_pressures(PHASES, LINKS, counts)
    assert pressures == {0: (6 - 1) + (6 - 2), 3: (3 - 0) + (3 - 5)}
    assert choose_phase(pressures, current=3) == 0


def test_current_phase_wins_ties() -> None:
    assert choose_phase({0: 4.0, 3: 4.0}, current=3) == 3
    assert choose_phase({0: 4.0, 3: 4.0}, current=0) == 0
    assert choose_phase({0: 1.0, 3: 4.0}, current=1) == 3


@pytest.mark.parametrize(
    ("position", "phase", "remaining"),
    [
        (0.0, 0, 30.0),
        (29.5, 0, 0.5),
        (31.0, 1, 2.0),
        (34.0, 2, 1.0),
        (35.0, 3, 20.0),
        (61.0, 0, 29.0),
    ],
)
def test_expected_phase_follows_the_cycle(position: float, phase: int, remaining: float) -> None:
    idx, rem = expected_phase(PHASES, position)
    assert idx == phase
    assert rem == pytest.approx(remaining)


def test_unsafe_changes_flag_green_to_red_without_yellow() -> None:
    assert unsafe_changes(["GGrr", "yyrr", "rrrr", "rrGG"]) == []
    assert unsafe_changes(["GGrr", "rrGG"]) == [(1, 0), (1, 1)]
    assert unsafe_changes(["GgrG", "yyrG", "rrrG"]) == []
