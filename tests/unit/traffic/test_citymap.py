"""A desk timing carried onto a SUMO programme (pure: no SUMO needed)."""

from __future__ import annotations

import pytest

from pingan.traffic.citymap import MIN_GREEN_S, programs_from_timings
from pingan.traffic.sumo import CorridorSignal, Program, ProgramPhase
from pingan.traffic.timing import PhaseTiming, SignalTiming

# netconvert's four-phase programme: corridor through (links 0-1), its yellow, the cross
# street (links 2-3), its yellow, then an all-red. 90 s.
BASE = Program(
    tls_id="J1",
    program_id="0",
    offset=0.0,
    phases=[
        ProgramPhase("GGrr", 42.0),
        ProgramPhase("yyrr", 3.0),
        ProgramPhase("rrGG", 40.0),
        ProgramPhase("rryy", 3.0),
        ProgramPhase("rrrr", 2.0),
    ],
)
SIGNAL = CorridorSignal(
    tls_id="J1", position_m=0.0, in_edge="a", out_edge="b", links_out=(0,), links_in=(1,)
)


def _timing(
    offset: float, through: float = 30.0, cross: float = 14.0, phase: int = 0
) -> SignalTiming:
    phases = [PhaseTiming("main", through), PhaseTiming("cross", cross)]
    if phase == 1:
        phases.reverse()
    return SignalTiming(signal_id=7, offset_s=offset, phases=tuple(phases), through_phase=phase)


@pytest.mark.parametrize("phase", [0, 1])
def test_cycle_split_and_offset_follow_the_desk_timing(phase: int) -> None:
    timing = _timing(offset=17.0, phase=phase)
    done = programs_from_timings({"J1": BASE}, [SIGNAL], {"J1": timing})
    assert done.skipped == {}
    (prog,) = done.programs
    assert prog.cycle_s == pytest.approx(timing.cycle_s)  # 50 s, the desk's common cycle
    # Yellows and the all-red keep their durations and places.
    assert [p.duration for p in prog.phases if p.is_transition] == [3.0, 3.0, 2.0]
    assert [p.state for p in prog.phases] == [p.state for p in BASE.phases]
    # The through green gets the desk's share (30 of 44 s of green) of the 42 s left.
    assert prog.phases[0].duration == pytest.approx(42.0 * 30.0 / 44.0, abs=0.06)
    # Its start on the common clock is where the desk puts it.
    start, _ = prog.green_block(SIGNAL.links_out)
    desk_start, _ = timing.through_green()
    assert (prog.offset + start) % prog.cycle_s == pytest.approx(
        desk_start % prog.cycle_s, abs=0.01
    )
    assert prog.program_id == "pingan-desk" and prog.kind == "static"


def test_minimum_greens_hold_and_too_short_cycles_are_skipped() -> None:
    # A desk plan giving the cross street almost nothing: it still gets the minimum green.
    lopsided = _timing(offset=0.0, through=60.0, cross=0.5)
    (prog,) = programs_from_timings({"J1": BASE}, [SIGNAL], {"J1": lopsided}).programs
    assert prog.phases[2].duration >= MIN_GREEN_S
    assert prog.cycle_s == pytest.approx(lopsided.cycle_s)
    # A cycle that cannot hold the light's own yellows, all-red and two minimum greens.
    short = SignalTiming(7, 0.0, (PhaseTiming("main", 4.0, 1.0), PhaseTiming("cross", 4.0, 1.0)))
    done = programs_from_timings({"J1": BASE}, [SIGNAL], {"J1": short})
    assert done.programs == [] and done.skipped == {"J1": "cycle_too_short"}


def test_a_light_without_a_green_for_the_corridor_keeps_its_programme() -> None:
    odd = CorridorSignal("J1", 0.0, "a", "b", links_out=(0, 2), links_in=())
    done = programs_from_timings({"J1": BASE}, [odd], {"J1": _timing(0.0)})
    assert done.programs == [] and done.skipped == {"J1": "no_through_green"}
    # Lights the desk has no timing for are left alone (not even reported as skipped).
    assert programs_from_timings({"J1": BASE}, [SIGNAL], {}).programs == []
