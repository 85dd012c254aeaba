"""The pure rules of emergency priority: safe transitions, restore, route signals, timing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pingan.city.graph import RoadGraph
from pingan.traffic.preemption import expected_phase, unsafe_changes
from pingan.traffic.priority import (
    approach_link,
    default_plan,
    expand_states,
    phase_kind,
    priority_phase,
    restore_schedule,
    route_node_times,
    schedule_requests,
    signals_on_route,
    transition_schedule,
    worst_case_transition_s,
)
from pingan.traffic.sumo import ProgramPhase

MIN_GREEN = 5.0
PLAN = default_plan(green_ns_s=42.0, green_ew_s=38.0, yellow_s=3.0, all_red_s=2.0)
FOUR_PHASE = [
    ProgramPhase("GGrrrrrr", 30.0),
    ProgramPhase("yyrrrrrr", 3.0),
    ProgramPhase("rrrrrrrr", 2.0),
    ProgramPhase("rrGGrrrr", 15.0, min_dur=8.0),
    ProgramPhase("rryyrrrr", 4.0),
    ProgramPhase("rrrrrrrr", 1.0),
    ProgramPhase("rrrrGGrr", 25.0),
    ProgramPhase("rrrryyrr", 3.0),
    ProgramPhase("rrrrrrrr", 2.0),
    ProgramPhase("rrrrrrGG", 12.0),
    ProgramPhase("rrrrrryy", 3.0),
    ProgramPhase("rrrrrrrr", 2.0),
]


def _full_run(plan: list[ProgramPhase], current: int, elapsed: float, target: int) -> list[str]:
    """What the signal shows: the rest of the current phase's history, then the schedule."""
    before = [plan[current].state] * max(int(elapsed), 1) if elapsed > 0 else []
    tr = transition_schedule(
        plan, current=current, elapsed_s=elapsed, target=target, min_green_s=MIN_GREEN
    )
    return [*before, *expand_states(tr.steps), plan[target].state]


def test_phase_kinds_and_the_default_plan() -> None:
    assert [phase_kind(p.state) for p in PLAN] == [
        "green",
        "yellow",
        "all_red",
        "green",
        "yellow",
        "all_red",
    ]
    assert sum(p.duration for p in PLAN) == 90.0
    assert priority_phase(PLAN, 0) == 0 and priority_phase(PLAN, 3) == 3
    with pytest.raises(ValueError, match="yellow_s"):
        default_plan(green_ns_s=30, green_ew_s=30, yellow_s=0, all_red_s=2)
    with pytest.raises(ValueError, match="link 9"):
        priority_phase(PLAN, 9)


def test_a_conflicting_green_runs_its_minimum_then_yellow_and_all_red_in_full() -> None:
    # East–west green just started (1 s): 4 s more of minimum green, 3 s yellow, 2 s all-red.
    tr = transition_schedule(PLAN, current=3, elapsed_s=1.0, target=0, min_green_s=MIN_GREEN)
    assert [(s.kind, s.duration_s) for s in tr.steps] == [
        ("green", 4.0),
        ("yellow", 3.0),
        ("all_red", 2.0),
    ]
    assert tr.green_at_s == pytest.approx(9.0)
    # A green that has shown its minimum is cut at once, but never its change interval.
    late = transition_schedule(PLAN, current=3, elapsed_s=20.0, target=0, min_green_s=MIN_GREEN)
    assert [s.kind for s in late.steps] == ["yellow", "all_red"]
    assert late.green_at_s == pytest.approx(5.0)


def test_mid_yellow_the_rest_of_the_yellow_and_the_whole_all_red_run() -> None:
    tr = transition_schedule(PLAN, current=4, elapsed_s=1.0, target=0, min_green_s=MIN_GREEN)
    assert [(s.kind, s.duration_s) for s in tr.steps] == [("yellow", 2.0), ("all_red", 2.0)]


def test_the_priority_green_already_showing_is_held() -> None:
    tr = transition_schedule(PLAN, current=0, elapsed_s=30.0, target=0, min_green_s=MIN_GREEN)
    assert tr.steps == [] and tr.green_at_s == 0.0


def test_leaving_the_priority_phase_for_another_goes_through_its_own_change() -> None:
    # The yellow after the priority green: it must finish, and the cycle go round in order.
    tr = transition_schedule(PLAN, current=1, elapsed_s=0.0, target=0, min_green_s=MIN_GREEN)
    assert [s.phase for s in tr.steps] == [1, 2, 3, 4, 5]
    assert tr.steps[2].duration_s == MIN_GREEN  # the other green: its minimum, not skipped
    assert tr.green_at_s == pytest.approx(3 + 2 + 5 + 3 + 2)


@pytest.mark.parametrize("plan", [PLAN, FOUR_PHASE], ids=["two-phase", "four-phase"])
def test_no_start_state_skips_a_yellow_an_all_red_or_a_minimum_green(
    plan: list[ProgramPhase],
) -> None:
    targets = [i for i, p in enumerate(plan) if phase_kind(p.state) == "green"]
    for current, target in itertools.product(range(len(plan)), targets):
        for elapsed in (0.0, 1.0, 2.5, 7.0, 100.0):
            if elapsed > plan[current].duration:
                continue
            tr = transition_schedule(
                plan, current=current, elapsed_s=elapsed, target=target, min_green_s=MIN_GREEN
            )
            assert unsafe_changes(_full_run(plan, current, elapsed, target)) == []
            phases = [current if elapsed > 0 else None, *(s.phase for s in tr.steps), target]
            walked = [p for p in phases if p is not None]
            # Strict programme order: every phase on the way is shown, none is skipped.
            for a, b in itertools.pairwise(walked):
                assert b in (a, (a + 1) % len(plan))
            for step in tr.steps:
                phase = plan[step.phase]
                spent = elapsed if step.phase == current and step.start_s == 0 else 0.0
                if step.kind == "green":
                    floor = phase.min_dur if phase.min_dur is not None else MIN_GREEN
                    assert step.duration_s + spent == pytest.approx(max(floor, spent))
                else:
                    assert step.duration_s + spent == pytest.approx(phase.duration)
            assert tr.green_at_s == pytest.approx(sum(s.duration_s for s in tr.steps))


def test_min_dur_of_the_plan_wins_over_the_default_minimum() -> None:
    tr = transition_schedule(FOUR_PHASE, current=3, elapsed_s=0.0, target=6, min_green_s=MIN_GREEN)
    assert tr.steps[0].duration_s == 8.0


def test_worst_case_transition_is_the_longest_from_any_state() -> None:
    # Two-phase: worst start is our own yellow: 3 + 2 + 5 (other min green) + 3 + 2.
    assert worst_case_transition_s(PLAN, target=0, min_green_s=MIN_GREEN) == pytest.approx(15.0)
    every = [
        transition_schedule(
            FOUR_PHASE, current=c, elapsed_s=e, target=0, min_green_s=MIN_GREEN
        ).green_at_s
        for c in range(len(FOUR_PHASE))
        for e in (0.0, 0.5, 1.0)
    ]
    assert worst_case_transition_s(FOUR_PHASE, target=0, min_green_s=MIN_GREEN) == max(every)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="not a green"):
        transition_schedule(PLAN, current=0, elapsed_s=0, target=1, min_green_s=5)
    with pytest.raises(ValueError, match="current 7"):
        transition_schedule(PLAN, current=7, elapsed_s=0, target=0, min_green_s=5)
    with pytest.raises(ValueError, match="elapsed_s"):
        transition_schedule(PLAN, current=0, elapsed_s=-1, target=0, min_green_s=5)


def test_restore_hands_back_at_once_when_already_in_step() -> None:
    # The schedule expects the NS green (position 10 s into a 90 s cycle) and NS is showing.
    r = restore_schedule(
        PLAN, phase=0, spent_s=12.0, schedule_position_s=10.0, min_green_s=MIN_GREEN
    )
    assert r.steps == [] and r.handback_s == 0.0 and r.handback_phase == 0
    assert r.handback_remaining_s == pytest.approx(32.0)


@pytest.mark.parametrize("position", [float(p) for p in range(0, 90, 3)])
@pytest.mark.parametrize("spent", [0.0, 2.0, 30.0])
def test_restore_is_safe_short_and_ends_in_step(position: float, spent: float) -> None:
    r = restore_schedule(
        PLAN, phase=0, spent_s=spent, schedule_position_s=position, min_green_s=MIN_GREEN
    )
    states = [*([PLAN[0].state] * max(int(spent), 1)), *expand_states(r.steps)]
    assert unsafe_changes(states) == []
    # In step at the hand-back: the phase shown is the one the fixed-time schedule expects.
    expected, remaining = expected_phase(PLAN, position + r.handback_s)
    assert expected == r.handback_phase
    assert remaining == pytest.approx(r.handback_remaining_s, abs=1e-6)
    # Minimum green of the priority green honoured before it is left.
    if r.steps and r.steps[0].phase == 0 and r.handback_phase != 0:
        assert spent + r.steps[0].duration_s >= MIN_GREEN - 1e-9
    # Shortest transition: never longer than one cycle of minimum greens and full changes.
    shortest_cycle = sum(MIN_GREEN if phase_kind(p.state) == "green" else p.duration for p in PLAN)
    assert r.handback_s <= shortest_cycle + 1e-6
    for step in r.steps:
        if step.kind != "green":
            assert step.duration_s == pytest.approx(PLAN[step.phase].duration)


def test_request_times_lead_the_vehicle_by_lead_and_transition() -> None:
    planned = schedule_requests(
        [10.0, 60.0, 300.0],
        [15.0, 15.0, 15.0],
        lead_s=20.0,
        pass_margin_s=8.0,
        max_hold_s=90.0,
    )
    assert [p.request_s for p in planned] == [0.0, 25.0, 265.0]  # never before dispatch
    assert [p.green_by_s for p in planned] == [15.0, 40.0, 280.0]
    assert [p.serve_until_s for p in planned] == [18.0, 68.0, 308.0]
    assert not any(p.capped for p in planned)
    capped = schedule_requests([0.0], [15.0], lead_s=20.0, pass_margin_s=200.0, max_hold_s=90)
    assert capped[0].capped and capped[0].serve_until_s == 15.0 + 90.0
    with pytest.raises(ValueError, match="one transition"):
        schedule_requests([1.0], [], lead_s=1, pass_margin_s=1, max_hold_s=1)


def _grid() -> RoadGraph:
    """A 3 × 3 street grid, 100 m blocks, 10 s per block both ways."""
    lon0, lat0 = 24.94, 60.17
    dlon, dlat = 100 / (111_320 * np.cos(np.radians(lat0))), 100 / 110_540
    coords = [(lon0 + c * dlon, lat0 + r * dlat) for r in range(3) for c in range(3)]
    edges = []
    for r in range(3):
        for c in range(3):
            n = r * 3 + c
            if c < 2:
                edges += [(n, n + 1), (n + 1, n)]
            if r < 2:
                edges += [(n, n + 3), (n + 3, n)]
    return RoadGraph.from_edges(
        u=np.array([u for u, _ in edges], dtype=np.int64),
        v=np.array([v for _, v in edges], dtype=np.int64),
        travel_time=np.full(len(edges), 10.0),
        length=np.full(len(edges), 100.0),
        lon=np.array([x for x, _ in coords]),
        lat=np.array([y for _, y in coords]),
        osm_id=np.arange(9),
    )


def test_signals_on_a_route_in_order_with_their_approach_merged_per_intersection() -> None:
    g = _grid()
    route = [0, 1, 2, 5, 8]  # east, east, north, north
    times = route_node_times(g, route)
    assert times == [0.0, 10.0, 20.0, 30.0, 40.0]
    found = signals_on_route(
        g, route, times, {0: [100], 1: [101], 2: [102, 103], 5: [105], 8: [108]}, merge_m=40.0
    )
    # Start and end nodes are not driven through.
    assert [(s.node, s.eta_s, s.approach) for s in found] == [
        (1, 10.0, "eastbound"),
        (2, 20.0, "eastbound"),
        (5, 30.0, "northbound"),
    ]
    assert found[1].signal_ids == (102, 103)
    assert [s.seq for s in found] == [0, 1, 2]
    # Signals 100 m apart on the route are one intersection when merge_m reaches them.
    merged = signals_on_route(g, route, times, {1: [1], 2: [2]}, merge_m=150.0)
    assert len(merged) == 1 and merged[0].signal_ids == (1, 2)


def test_approach_links_follow_the_compass() -> None:
    assert approach_link(24.0, 60.0, 24.0, 60.001) == 0
    assert approach_link(24.0, 60.0, 24.0, 59.999) == 1
    assert approach_link(24.0, 60.0, 24.001, 60.0) == 2
    assert approach_link(24.0, 60.0, 23.999, 60.0) == 3


# Every second of the cycle but 54: there the claim arrives in the last second of the very
# green it wants, which the fake signal ends before the controller's first step can hold it.
@pytest.mark.parametrize("start_step", [k for k in range(62) if k != 54])
def test_the_schedules_match_the_traci_preemption_controller(start_step: int) -> None:
    """The pure schedules predict what ``Preemption`` does to a fixed-time signal.

    TraCI control acts once per 1 s step: every phase switch it makes is seen one step
    later, so the controller may lag the continuous schedule by up to 1 s per switch."""
    from pingan.traffic.preemption import Preemption
    from tests.unit.traffic.test_preemption_logic import PHASES as SUMO_PHASES
    from tests.unit.traffic.test_preemption_logic import FakeConn

    plan = [ProgramPhase(s, d) for s, d in SUMO_PHASES]
    conn = FakeConn()
    ctrl = Preemption()
    ctrl.start(conn)
    conn.time = 0.0
    for _ in range(start_step):
        conn.step(ctrl)
    # The vehicle needs link 2 (phase 3); predict the transition from the state right now.
    tr = transition_schedule(
        plan,
        current=conn.light.phase,
        elapsed_s=conn.light.spent,
        target=3,
        min_green_s=ctrl.min_green_s,
    )
    claimed_at = conn.time
    conn.next_tls = [("J", 2, 200.0, "r")]
    while conn.light.phase != 3 and conn.time < claimed_at + 200:
        conn.step(ctrl)
    lag = 1.0 + len(tr.steps)
    assert tr.green_at_s - 1.0 <= conn.time - claimed_at <= tr.green_at_s + lag
    for _ in range(12):  # held while the vehicle comes
        conn.step(ctrl)
    assert conn.light.phase == 3
    tls = ctrl._tls["J"]
    back = restore_schedule(
        plan,
        phase=conn.light.phase,
        spent_s=conn.light.spent,
        schedule_position_s=conn.time - tls.schedule_zero,
        min_green_s=ctrl.min_green_s,
    )
    released_at = conn.time
    conn.next_tls = []  # passed
    while tls.mode != "auto" and conn.time < released_at + 300:
        conn.step(ctrl)
    assert tls.mode == "auto"
    lag = 1.0 + len(back.steps)
    position = released_at - tls.schedule_zero
    before = expected_phase(plan, position + max(back.handback_s - lag, 0.0))[0]
    if back.handback_remaining_s <= lag or before != back.handback_phase:
        # The ideal hand-back is within the controller's lag of a phase boundary: its 1 s
        # steps may land on the other side and take another round. Both end in step.
        assert conn.light.phase == expected_phase(plan, conn.time - tls.schedule_zero)[0]
        return
    assert back.handback_s - 1.0 <= conn.time - released_at <= back.handback_s + lag
    assert conn.light.phase == back.handback_phase
