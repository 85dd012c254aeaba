"""Max-pressure signal control through TraCI, with safe transitions.

Max-pressure (Varaiya 2013): at each decision point the green phase with the largest
pressure — Σ over its green movements of vehicles on the incoming lane minus vehicles on the
outgoing lane — is chosen, after a minimum green and up to a maximum green.

This controller and :mod:`pingan.traffic.preemption` share one rule: a yellow or all-red
phase always runs its full programmed duration, and a green is left only for the phase that
follows it in the programme (its yellow); only after the transition phases does the
controller jump to the chosen green. They take over a signal by setting the current phase's
remaining duration to a large value and switching phases themselves.

The pure decision functions (:func:`phase_pressures`, :func:`choose_phase`) are unit-tested
without SUMO.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pingan.traffic.sumo import ProgramPhase

__all__ = ["MaxPressure", "choose_phase", "is_transition", "phase_pressures"]

HOLD_S = 100000.0


def is_transition(state: str) -> bool:
    """Yellow or all-red (no green link)."""
    return not any(c in "Gg" for c in state) or any(c in "yY" for c in state)


def phase_pressures(
    phases: Sequence[ProgramPhase],
    links: Sequence[tuple[str, str]],
    counts: Mapping[str, float],
) -> dict[int, float]:
    """Pressure of every green phase: Σ (vehicles on in-lane − vehicles on out-lane)."""
    out: dict[int, float] = {}
    for i, ph in enumerate(phases):
        if is_transition(ph.state):
            continue
        total = 0.0
        for k, c in enumerate(ph.state):
            if c in "Gg" and k < len(links):
                lane_in, lane_out = links[k]
                total += counts.get(lane_in, 0.0) - counts.get(lane_out, 0.0)
        out[i] = total
    return out


def choose_phase(pressures: Mapping[int, float], current: int) -> int:
    """The phase with the largest pressure; the current one wins ties."""
    best = current if current in pressures else min(pressures)
    for i in sorted(pressures):
        if pressures[i] > pressures[best] + 1e-9:
            best = i
    return best


@dataclass
class _Tls:
    tls_id: str
    phases: list[ProgramPhase]
    links: list[tuple[str, str]]
    target: int | None = None
    mode: str = "auto"
    schedule_zero: float = 0.0
    """Simulation time at which the fixed-time cycle was at position 0."""
    held: bool = False


def _program(conn: Any, tls_id: str) -> list[ProgramPhase]:
    current = conn.trafficlight.getProgram(tls_id)
    for logic in conn.trafficlight.getAllProgramLogics(tls_id):
        if logic.programID == current:
            return [ProgramPhase(state=p.state, duration=float(p.duration)) for p in logic.phases]
    raise LookupError(tls_id)


def _links(conn: Any, tls_id: str, size: int) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = [("", "")] * size
    for k, group in enumerate(conn.trafficlight.getControlledLinks(tls_id)):
        if group and k < size:
            links[k] = (str(group[0][0]), str(group[0][1]))
    return links


def _advance(conn: Any, tls: _Tls, index: int) -> None:
    conn.trafficlight.setPhase(tls.tls_id, index)
    conn.trafficlight.setPhaseDuration(tls.tls_id, HOLD_S)


@dataclass
class MaxPressure:
    """Max-pressure control of every traffic light of the simulation."""

    min_green_s: float = 10.0
    max_green_s: float = 60.0
    period_s: float = 5.0
    _tls: dict[str, _Tls] = field(default_factory=dict)

    def start(self, conn: Any) -> None:
        """Take over every traffic light that has a green phase."""
        for tls_id in conn.trafficlight.getIDList():
            phases = _program(conn, tls_id)
            if all(is_transition(p.state) for p in phases):
                continue
            tls = _Tls(tls_id, phases, _links(conn, tls_id, len(phases[0].state)))
            self._tls[tls_id] = tls
            conn.trafficlight.setPhaseDuration(tls_id, HOLD_S)

    def step(self, conn: Any, time_s: float) -> None:
        """One simulation step's decisions."""
        counts: dict[str, float] = {}
        decide = round(time_s) % max(int(self.period_s), 1) == 0
        for tls in self._tls.values():
            cur = conn.trafficlight.getPhase(tls.tls_id)
            spent = conn.trafficlight.getSpentDuration(tls.tls_id)
            phase = tls.phases[cur]
            n = len(tls.phases)
            if is_transition(phase.state):
                if spent >= phase.duration - 1e-6:
                    nxt = (cur + 1) % n
                    if is_transition(tls.phases[nxt].state) or tls.target is None:
                        _advance(conn, tls, nxt)
                    else:
                        _advance(conn, tls, tls.target)
                        tls.target = None
                continue
            if spent < self.min_green_s - 1e-6 or not decide:
                continue
            for a, b in tls.links:
                for lane in (a, b):
                    if lane and lane not in counts:
                        counts[lane] = float(conn.lane.getLastStepVehicleNumber(lane))
            pressures = phase_pressures(tls.phases, tls.links, counts)
            best = choose_phase(pressures, cur)
            if best == cur:
                if spent < self.max_green_s:
                    continue
                # Maximum green reached: serve the best other phase.
                others = {k: v for k, v in pressures.items() if k != cur}
                if not others:
                    continue
                best = choose_phase(others, min(others))
            tls.target = best
            _advance(conn, tls, (cur + 1) % n)
