"""Preemption against a fake TraCI connection: order kept, transitions full, recovery, expiry."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from pingan.traffic.preemption import Preemption, expected_phase
from pingan.traffic.sumo import ProgramPhase

PHASES = [
    ("GGrr", 30.0),
    ("yyrr", 3.0),
    ("rrrr", 2.0),
    ("rrGG", 20.0),
    ("rryy", 3.0),
    ("rrrr", 2.0),
]


@dataclass
class FakeLight:
    """One fixed-time signal that behaves like SUMO's under TraCI."""

    phase: int = 0
    spent: float = 0.0
    remaining: float = PHASES[0][1]

    def tick(self) -> None:
        self.spent += 1
        self.remaining -= 1
        if self.remaining <= 0:
            self.phase = (self.phase + 1) % len(PHASES)
            self.spent = 0.0
            self.remaining = PHASES[self.phase][1]


@dataclass
class FakeConn:
    """The slice of TraCI that Preemption uses."""

    light: FakeLight = field(default_factory=FakeLight)
    time: float = 0.0
    next_tls: list[tuple[str, int, float, str]] = field(default_factory=list)
    log: list[tuple[float, int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        light = self.light
        logic = SimpleNamespace(
            programID="p",
            phases=[SimpleNamespace(state=s, duration=d) for s, d in PHASES],
        )

        def set_phase(_tls: str, index: int) -> None:
            light.phase, light.spent, light.remaining = index, 0.0, PHASES[index][1]

        def set_duration(_tls: str, duration: float) -> None:
            light.remaining = duration

        self.simulation = SimpleNamespace(getTime=lambda: self.time)
        self.trafficlight = SimpleNamespace(
            getIDList=lambda: ["J"],
            getProgram=lambda _t: "p",
            getAllProgramLogics=lambda _t: [logic],
            getPhase=lambda _t: light.phase,
            getSpentDuration=lambda _t: light.spent,
            setPhase=set_phase,
            setPhaseDuration=set_duration,
        )
        self.vehicle = SimpleNamespace(
            getIDList=lambda: ["ev.0"] if self.next_tls else [],
            getNextTLS=lambda _v: self.next_tls,
        )

    def step(self, controller: Any) -> None:
        self.light.tick()
        self.time += 1
        controller.step(self, self.time)
        self.log.append((self.time, self.light.phase, self.light.spent))


def _assert_safe(log: list[tuple[float, int, float]]) -> None:
    phases = [ProgramPhase(s, d) for s, d in PHASES]
    for (_t0, a, spent_a), (_t1, b, _spent_b) in itertools.pairwise(log):
        if a != b:
            assert b == (a + 1) % len(PHASES), (a, b)  # programme order, nothing skipped
            if phases[a].is_transition:
                assert spent_a >= phases[a].duration - 1  # yellow / all-red ran in full


def test_preemption_serves_holds_and_recovers() -> None:
    conn = FakeConn()
    ctrl = Preemption()
    ctrl.start(conn)
    conn.time = 0.0
    for _ in range(3):
        conn.step(ctrl)
    # An ambulance 200 m away needs link 2 (green in phase 3, "rrGG").
    conn.next_tls = [("J", 2, 200.0, "r")]
    for _ in range(60):
        conn.step(ctrl)
    assert conn.light.phase == 3  # reached through yellow and all-red, then held
    assert ctrl.preemptions == 1
    conn.next_tls = []  # passed
    for _ in range(200):
        conn.step(ctrl)
    _assert_safe(conn.log)
    # Back on the fixed-time schedule: the phase SUMO shows is the one the cycle expects.
    expected, _ = expected_phase([ProgramPhase(s, d) for s, d in PHASES], conn.time)
    assert conn.light.phase == expected


def test_a_stuck_vehicle_loses_its_claim() -> None:
    conn = FakeConn()
    ctrl = Preemption(max_claim_s=30.0)
    ctrl.start(conn)
    conn.next_tls = [("J", 2, 100.0, "r")]  # never moves
    for _ in range(200):
        conn.step(ctrl)
    assert ctrl.expired == 1
    _assert_safe(conn.log)
    # Released: the signal cycles again instead of holding phase 3 forever.
    assert len({phase for _t, phase, _s in conn.log[-100:]}) > 1
