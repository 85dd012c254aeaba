"""Emergency-vehicle priority (preemption) on fixed-time signals through TraCI.

An emergency vehicle within ``detect_m`` of a signal on its route gets green for its
movement: a conflicting green is cut after its minimum green, the yellow and all-red phases
run their full programmed durations (never skipped), and the serving phase is held until the
vehicle has passed. Then the signal re-synchronises with its fixed-time schedule by the
short way (greens cut to their minimum, phases always in programme order) and is handed
back to its programme, so a green wave recovers within about a cycle. A claim older than
``max_claim_s`` is dropped: a vehicle stuck in a queue the green cannot clear must not starve
the cross streets (in an oversaturated network that spreads gridlock).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pingan.traffic.maxpressure import HOLD_S, _advance, _program, _Tls, is_transition
from pingan.traffic.sumo import ProgramPhase

__all__ = ["Preemption", "expected_phase", "unsafe_changes"]


def expected_phase(phases: Sequence[ProgramPhase], position_s: float) -> tuple[int, float]:
    """Phase index and remaining seconds at ``position_s`` into a fixed-time cycle."""
    cycle = sum(p.duration for p in phases)
    pos = position_s % cycle
    start = 0.0
    for i, p in enumerate(phases):
        if pos < start + p.duration - 1e-9:
            return i, start + p.duration - pos
        start += p.duration
    return len(phases) - 1, 0.0


def unsafe_changes(states: Sequence[str]) -> list[tuple[int, int]]:
    """(step, link) where a link went straight from green to red without a yellow."""
    bad: list[tuple[int, int]] = []
    for step in range(1, len(states)):
        before, after = states[step - 1], states[step]
        for k, (a, b) in enumerate(zip(before, after, strict=False)):
            if a in "Gg" and b in "rRs":
                bad.append((step, k))
    return bad


@dataclass
class Preemption:
    """Emergency-vehicle priority on fixed-time signals, with safe transitions and recovery."""

    prefix: str = "ev."
    detect_m: float = 600.0
    min_green_s: float = 5.0
    max_claim_s: float = 90.0
    """A claim this old (counted from detection, ``detect_m`` ≈ 45 s away at 50 km/h) is
    dropped: the vehicle is stuck in a queue the green cannot clear, and cross traffic must
    not starve nor gridlock spread."""
    tls_ids: Sequence[str] | None = None
    preemptions: int = 0
    expired: int = 0
    _tls: dict[str, _Tls] = field(default_factory=dict)
    _claimed_at: dict[tuple[str, str], float] = field(default_factory=dict)
    _dropped: set[tuple[str, str]] = field(default_factory=set)

    def start(self, conn: Any) -> None:
        """Learn the programmes and each signal's schedule."""
        now = float(conn.simulation.getTime())
        for tls_id in self.tls_ids or conn.trafficlight.getIDList():
            phases = _program(conn, tls_id)
            cur = conn.trafficlight.getPhase(tls_id)
            spent = float(conn.trafficlight.getSpentDuration(tls_id))
            start = sum(p.duration for p in phases[:cur])
            self._tls[tls_id] = _Tls(tls_id, phases, [], schedule_zero=now - (start + spent))

    def step(self, conn: Any, time_s: float) -> None:
        """Claim signals for approaching emergency vehicles; serve, hold, release, recover."""
        claims: dict[str, int] = {}
        active: set[tuple[str, str]] = set()
        for vid in conn.vehicle.getIDList():
            if not vid.startswith(self.prefix):
                continue
            # Every signal on its route within detect_m: green ahead flushes the queues
            # the vehicle would otherwise meet.
            for tls_id, link, dist, _state in conn.vehicle.getNextTLS(vid):
                if dist > self.detect_m:
                    break
                key = (vid, tls_id)
                if tls_id not in self._tls or tls_id in claims or key in self._dropped:
                    continue
                since = self._claimed_at.setdefault(key, time_s)
                if time_s - since > self.max_claim_s:
                    self._dropped.add(key)
                    self.expired += 1
                    continue
                active.add(key)
                claims[tls_id] = int(link)
        for key in [k for k in self._claimed_at if k not in active]:
            del self._claimed_at[key]
        for tls in self._tls.values():
            link = claims.get(tls.tls_id)
            if link is not None:
                if tls.mode != "preempt":
                    self.preemptions += 1
                    tls.held = False
                tls.mode = "preempt"
                self._serve(conn, tls, link)
            elif tls.mode == "preempt":
                tls.mode = "recover"
                tls.held = False
                self._recover(conn, tls, time_s)
            elif tls.mode == "recover":
                self._recover(conn, tls, time_s)

    def _serve(self, conn: Any, tls: _Tls, link: int) -> None:
        cur = conn.trafficlight.getPhase(tls.tls_id)
        spent = float(conn.trafficlight.getSpentDuration(tls.tls_id))
        phase = tls.phases[cur]
        n = len(tls.phases)
        if is_transition(phase.state):
            # Yellow / all-red: always the full programmed duration, then the next phase.
            if spent >= phase.duration - 1e-6:
                _advance(conn, tls, (cur + 1) % n)
            else:
                conn.trafficlight.setPhaseDuration(tls.tls_id, max(phase.duration - spent, 0.0))
            return
        if link < len(phase.state) and phase.state[link] in "Gg":
            if not tls.held:
                conn.trafficlight.setPhaseDuration(tls.tls_id, HOLD_S)
                tls.held = True
            return
        tls.held = False
        if spent >= self.min_green_s - 1e-6:
            _advance(conn, tls, (cur + 1) % n)
        else:
            conn.trafficlight.setPhaseDuration(tls.tls_id, HOLD_S)

    def _recover(self, conn: Any, tls: _Tls, time_s: float) -> None:
        cur = conn.trafficlight.getPhase(tls.tls_id)
        spent = float(conn.trafficlight.getSpentDuration(tls.tls_id))
        phase = tls.phases[cur]
        n = len(tls.phases)
        if is_transition(phase.state):
            if spent >= phase.duration - 1e-6:
                _advance(conn, tls, (cur + 1) % n)
            return
        expected, remaining = expected_phase(tls.phases, time_s - tls.schedule_zero)
        if expected == cur:
            # Back in step with the schedule: hand the signal back to its programme.
            conn.trafficlight.setPhaseDuration(tls.tls_id, max(remaining, 1.0))
            tls.mode = "auto"
            return
        if spent >= self.min_green_s - 1e-6:
            _advance(conn, tls, (cur + 1) % n)
        else:
            conn.trafficlight.setPhaseDuration(tls.tls_id, HOLD_S)
