"""Signal timings of the desk's corridors: the assumed current plan, the green-wave design
per time-of-day period, coordination with intersecting corridors, the before/after estimate
and the two exports. Pure functions (no database, no SUMO).

A signal's timing is a fixed-time two-phase plan: ``phases`` run in order from the cycle
start at ``offset_s`` (absolute, on the common clock); ``through_phase`` is the phase that
serves *this* corridor's through movement in both directions (the other one serves the cross
street). Where a signal is shared with an already planned corridor, its timing is held:
same cycle, same phases, same offset; this corridor's through movement may then be the
other corridor's cross phase.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final

from pingan.core.errors import ValidationFailed
from pingan.traffic.maxband import BandAttempt, BandPlan, Signal, first_feasible
from pingan.traffic.sumo import Program, ProgramPhase, programs_xml
from pingan.traffic.webster import Phase, coordinated_plan, phase_delay, webster_plan

__all__ = [
    "PERIODS",
    "CycleCandidate",
    "DesignSignal",
    "Held",
    "PhaseTiming",
    "SignalTiming",
    "default_timing",
    "design_period",
    "estimate",
    "export_json",
    "export_sumo",
    "link_times",
]

PERIODS: Final[dict[str, tuple[tuple[int, int], ...]]] = {
    "am_peak": ((7, 9),),
    "off_peak": ((9, 17), (19, 24), (0, 7)),
    "pm_peak": ((17, 19),),
}
"""Time-of-day periods and their hours [start, end)."""

PERIOD_FACTOR: Final[dict[str, float]] = {"am_peak": 1.0, "off_peak": 0.6, "pm_peak": 0.9}
"""Assumed share of the morning-peak volume in each period (no counts in the city model)."""

DEFAULT_CYCLE_S: Final = 90.0
"""netconvert's default cycle (``--tls.cycle.time``): the assumed current plan."""
DEFAULT_YELLOW_S: Final = 3.0
SATURATION_THROUGH_VPH: Final = 3600.0
"""Two through lanes at 1,800 veh/h each (assumed: the OSM extract's lane counts are not kept)."""
SATURATION_CROSS_VPH: Final = 1800.0
MAIN_CROSSING_M: Final = 14.0
"""Pedestrians cross the main road (about four lanes) while the cross street has green."""
SIDE_CROSSING_M: Final = 8.0
PED_SPEED_MPS: Final = 1.2
WALK_S: Final = 7.0
SIDE_DEGREE: Final = 0.5
"""Side phases at degree of saturation 0.5 (the same rule as plan.py, see docs)."""
QUEUE_S: Final = 2.0
CYCLE_STEP_S: Final = 5.0
"""Candidate common cycles every 5 s from the critical Webster cycle (plan.py's step)."""


@dataclass(frozen=True)
class PhaseTiming:
    """One phase of a fixed-time plan: displayed green, yellow and all-red (seconds)."""

    name: str
    green_s: float
    yellow_s: float = DEFAULT_YELLOW_S
    all_red_s: float = 0.0

    @property
    def length_s(self) -> float:
        """Green plus change interval."""
        return self.green_s + self.yellow_s + self.all_red_s


@dataclass(frozen=True)
class SignalTiming:
    """A signal's plan on the common clock (see the module docstring)."""

    signal_id: int
    offset_s: float
    phases: tuple[PhaseTiming, ...]
    through_phase: int = 0
    source: str = "assumed_default"
    """``assumed_default`` | ``plan:<id>`` (a stored plan) | ``held:<plan id>`` (coordination)."""

    @property
    def cycle_s(self) -> float:
        """Sum of the phase lengths."""
        return sum(p.length_s for p in self.phases)

    def phase_start_s(self, index: int) -> float:
        """Start of phase ``index``'s green after the cycle start."""
        return sum(p.length_s for p in self.phases[:index])

    def through_green(self) -> tuple[float, float]:
        """(absolute start mod cycle, length) of this corridor's through green."""
        start = (self.offset_s + self.phase_start_s(self.through_phase)) % self.cycle_s
        return start, self.phases[self.through_phase].green_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        d = asdict(self)
        d["phases"] = [asdict(p) for p in self.phases]
        d["cycle_s"] = round(self.cycle_s, 2)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SignalTiming:
        """Back from :meth:`to_dict`."""
        return cls(
            signal_id=int(d["signal_id"]),
            offset_s=float(d["offset_s"]),
            phases=tuple(PhaseTiming(**p) for p in d["phases"]),
            through_phase=int(d.get("through_phase", 0)),
            source=str(d.get("source", "")),
        )


def default_timing(signal_id: int) -> SignalTiming:
    """The assumed current plan: netconvert's default, 90 s two-phase, offset 0."""
    green = (DEFAULT_CYCLE_S - 2 * DEFAULT_YELLOW_S) / 2.0
    return SignalTiming(
        signal_id=signal_id,
        offset_s=0.0,
        phases=(PhaseTiming("main", green), PhaseTiming("cross", green)),
    )


@dataclass(frozen=True)
class DesignSignal:
    """A corridor signal as the design sees it."""

    signal_id: int
    position_m: float
    through_vph: float
    cross_vph: float


@dataclass(frozen=True)
class Held:
    """A shared signal's timing that this corridor must keep (from another corridor's plan)."""

    timing: SignalTiming
    plan_id: int
    corridor_id: int


@dataclass(frozen=True)
class CycleCandidate:
    """A common cycle the design compared: its bands and estimated delay."""

    cycle_s: float
    band_out_s: float
    band_in_s: float
    delay_veh_s_per_h: float
    """Webster's uniform delay × flow over every signal and phase, through traffic inside the
    band counted as not stopping (:func:`_design_delay`)."""

    def to_dict(self) -> dict[str, float]:
        """JSON-ready (rounded)."""
        return {
            "cycle_s": round(self.cycle_s, 1),
            "band_out_s": round(self.band_out_s, 2),
            "band_in_s": round(self.band_in_s, 2),
            "delay_veh_s_per_h": round(self.delay_veh_s_per_h, 1),
        }


@dataclass
class PeriodDesign:
    """One period's green wave: the band, the signals' timings and how it was reached."""

    period: str
    band: BandPlan
    timings: list[SignalTiming]
    webster_cycle_s: float
    """The critical (largest) Webster cycle over the corridor's own signals."""
    one_way: bool = False
    held: list[dict[str, Any]] = field(default_factory=list)
    maxband_cycle_s: float | None = None
    """MAXBAND's widest-band cycle over the cycle range (rounded up to 0.1 s); with held
    signals, the held cycle."""
    cycle_choice: str = "least_delay"
    """``least_delay`` (the cheapest of :attr:`cycle_candidates`) | ``held`` (fixed by held
    signals)."""
    cycle_candidates: list[CycleCandidate] = field(default_factory=list)
    """The cycles compared, ascending (empty when the cycle is held)."""

    def cycle_choice_dict(self) -> dict[str, Any]:
        """How the common cycle was chosen, JSON-ready."""
        return {
            "rule": self.cycle_choice,
            "maxband_cycle_s": (
                None if self.maxband_cycle_s is None else round(self.maxband_cycle_s, 1)
            ),
            "chosen_cycle_s": round(self.band.cycle_s, 1),
            "candidates": [c.to_dict() for c in self.cycle_candidates],
        }

    def band_dict(self) -> dict[str, Any]:
        """Everything the time-space diagram needs, JSON-ready."""
        b = self.band
        return {
            "cycle_s": b.cycle_s,
            "offsets_s": b.offsets_s,
            "band_out_s": b.band_out_s,
            "band_in_s": b.band_in_s,
            "travel_out_s": b.travel_out_s,
            "travel_in_s": b.travel_in_s,
            "band_out_start_s": b.band_out_start_s,
            "band_in_start_s": b.band_in_start_s,
            "efficiency": b.efficiency,
            "signals": [asdict(s) for s in b.signals],
        }


def band_from_dict(d: Mapping[str, Any]) -> BandPlan:
    """A stored band back as a :class:`BandPlan` (for the diagram)."""
    return BandPlan(
        cycle_s=float(d["cycle_s"]),
        offsets_s=[float(x) for x in d["offsets_s"]],
        band_out_s=float(d["band_out_s"]),
        band_in_s=float(d["band_in_s"]),
        travel_out_s=[float(x) for x in d["travel_out_s"]],
        travel_in_s=[float(x) for x in d["travel_in_s"]],
        band_out_start_s=float(d["band_out_start_s"]),
        band_in_start_s=float(d["band_in_start_s"]),
        signals=[Signal(**s) for s in d["signals"]],
    )


def _phases(sig: DesignSignal) -> list[Phase]:
    return [
        Phase(
            "main",
            flow_vph=sig.through_vph,
            saturation_vph=SATURATION_THROUGH_VPH,
            yellow_s=DEFAULT_YELLOW_S,
            all_red_s=1.0,
            crossing_m=SIDE_CROSSING_M,
            walk_s=WALK_S,
            ped_speed_mps=PED_SPEED_MPS,
        ),
        Phase(
            "cross",
            flow_vph=sig.cross_vph,
            saturation_vph=SATURATION_CROSS_VPH,
            yellow_s=DEFAULT_YELLOW_S,
            all_red_s=1.0,
            crossing_m=MAIN_CROSSING_M,
            walk_s=WALK_S,
            ped_speed_mps=PED_SPEED_MPS,
        ),
    ]


def _design_delay(
    phases: Mapping[int, Sequence[Phase]],
    timings: Mapping[int, SignalTiming],
    band: BandPlan,
) -> float:
    """Estimated delay (vehicle-seconds per hour) of a design: every phase's flow at
    Webster's uniform delay, the through phase discounted by the share of its green the
    larger band covers (plan.py's ``_plan_delay`` on the desk's two-phase signals)."""
    band_s = max(band.band_out_s, band.band_in_s)
    total = 0.0
    for signal_id, ph in phases.items():
        t = timings[signal_id]
        for k, (phase, pt) in enumerate(zip(ph, t.phases, strict=True)):
            total += phase_delay(
                phase,
                cycle_s=t.cycle_s,
                green_s=pt.green_s,
                band_s=band_s if k == t.through_phase else 0.0,
            )
    return total


def _circular_gap(a: float, b: float, cycle: float) -> float:
    d = (a - b) % cycle
    return min(d, cycle - d)


def design_period(
    period: str,
    signals: Sequence[DesignSignal],
    *,
    cycle_range: tuple[float, float],
    speed_range: tuple[float, float],
    held: Mapping[int, Held] | None = None,
) -> PeriodDesign:
    """Webster splits + MAXBAND offsets for one period (see the module docstring).

    Raises :class:`ValidationFailed`: ``signals`` (fewer than two), ``cycle_range`` (bad
    range, minimum greens do not fit in its maximum, or a held cycle outside it),
    ``signals[i]`` (two held signals whose offsets cannot both be kept).
    """
    held = dict(held or {})
    if len(signals) < 2:
        raise ValidationFailed("traffic.error.too_few_signals", field="signals", count=len(signals))
    c_min, c_max = cycle_range
    if not (math.isfinite(c_min) and math.isfinite(c_max)) or not 0 < c_min <= c_max:
        raise ValidationFailed(
            "traffic.error.cycle_range", field="cycle_range", low=c_min, high=c_max
        )
    held_cycles = {round(h.timing.cycle_s, 1) for h in held.values()}
    if len(held_cycles) > 1:
        raise ValidationFailed(
            "traffic.error.coordination_cycles",
            field="signals",
            cycles=", ".join(f"{c:g}" for c in sorted(held_cycles)),
        )
    fixed_cycle = next(iter(held_cycles)) if held_cycles else None
    if fixed_cycle is not None and not c_min - 1e-6 <= fixed_cycle <= c_max + 1e-6:
        raise ValidationFailed(
            "traffic.error.coordination_cycle_range",
            field="cycle_range",
            cycle=fixed_cycle,
            low=c_min,
            high=c_max,
        )
    own = [s for s in signals if s.signal_id not in held]
    phases = {s.signal_id: _phases(s) for s in own}
    minimum = max(
        (sum(p.min_display_green_s + p.change_s for p in ph) for ph in phases.values()),
        default=0.0,
    )
    if minimum > c_max + 1e-9:
        raise ValidationFailed(
            "traffic.error.cycle_range_infeasible",
            field="cycle_range",
            high=c_max,
            minimum=round(minimum, 1),
        )
    critical = max(
        (
            webster_plan(ph, cycle_range=(max(c_min, minimum), c_max)).cycle_s
            for ph in phases.values()
        ),
        default=c_min,
    )

    def timings_at(cycle: float) -> tuple[list[Signal], dict[int, SignalTiming]]:
        band_signals: list[Signal] = []
        out: dict[int, SignalTiming] = {}
        for s in signals:
            if s.signal_id in held:
                timing = held[s.signal_id].timing
            else:
                split = coordinated_plan(
                    phases[s.signal_id], cycle_s=cycle, coordinated=[0], degree=SIDE_DEGREE
                )
                ph = phases[s.signal_id]
                greens = [round(g, 1) for g in split.greens_s]
                greens[0] += cycle - (sum(greens) + sum(p.change_s for p in ph))  # rounding
                timing = SignalTiming(
                    signal_id=s.signal_id,
                    offset_s=0.0,
                    phases=tuple(
                        PhaseTiming(p.name, g, p.yellow_s, p.all_red_s)
                        for p, g in zip(ph, greens, strict=True)
                    ),
                    source="design",
                )
            out[s.signal_id] = timing
            green = timing.phases[timing.through_phase].green_s
            band_signals.append(
                Signal(
                    name=str(s.signal_id),
                    position_m=s.position_m,
                    red=max(0.0, 1.0 - green / cycle),
                    queue_s=QUEUE_S,
                    queue_inbound_s=QUEUE_S,
                )
            )
        return band_signals, out

    lo = fixed_cycle if fixed_cycle is not None else max(c_min, min(critical, c_max))
    hi = fixed_cycle if fixed_cycle is not None else c_max
    first, _ = timings_at(lo)
    # Two or more held signals: their offsets relative to each other are fixed (the cycle
    # is fixed too), a constraint of the MAXBAND programme.
    held_at = [i for i, s in enumerate(signals) if s.signal_id in held]
    relative: list[tuple[int, int, float]] = []
    if fixed_cycle is not None and len(held_at) > 1:
        a = held_at[0]
        start_a, _ = held[signals[a].signal_id].timing.through_green()
        for j in held_at[1:]:
            start_j, _ = held[signals[j].signal_id].timing.through_green()
            relative.append((a, j, ((start_j - start_a) / fixed_cycle) % 1.0))
    attempts = [
        BandAttempt(speed_range),
        BandAttempt(speed_range, no_queue=True),
        BandAttempt(speed_range, one_way=True, no_queue=True),
    ]
    found = first_feasible(first, attempts, cycle_range=(lo, hi), relative_offsets=relative)
    if found is None and relative:
        # No speed in the range links the held offsets: name the second held signal.
        j = held_at[1]
        raise ValidationFailed(
            "traffic.error.coordination_conflict",
            field=f"signals[{j}]",
            signal=signals[j].signal_id,
            corridor=held[signals[j].signal_id].corridor_id,
            gap="—",
        )
    if found is None:
        raise ValidationFailed("traffic.error.infeasible", field="signals")
    trial, chosen = found
    widest = math.ceil(trial.cycle_s * 10 - 1e-6) / 10
    candidates: list[CycleCandidate] = []
    if fixed_cycle is not None:
        cycle = fixed_cycle
        final, timings = timings_at(cycle)
        band = chosen.solve(final, cycle_range=(cycle, cycle), relative_offsets=relative)
    else:
        # MAXBAND maximises the band as a share of the cycle, blind to what a longer cycle
        # costs every movement (and the queues it spills). Every CYCLE_STEP_S from the
        # critical cycle up to MAXBAND's, plus MAXBAND's own, is re-split and re-solved at
        # that fixed cycle and costed by estimated delay; the cheapest wins (as in plan.py).
        cycles = sorted(
            {widest}
            | {
                math.ceil((lo + k * CYCLE_STEP_S) * 10 - 1e-6) / 10
                for k in range(int((widest - lo) // CYCLE_STEP_S) + 1)
            }
        )
        best: tuple[float, float, dict[int, SignalTiming], BandPlan] | None = None
        for c in cycles:
            sigs_c, timings_c = timings_at(c)
            try:
                band_c = chosen.solve(sigs_c, cycle_range=(c, c), relative_offsets=relative)
            except ValidationFailed as exc:
                if exc.key != "traffic.error.infeasible":
                    raise
                continue
            cost = _design_delay(phases, timings_c, band_c)
            candidates.append(CycleCandidate(c, band_c.band_out_s, band_c.band_in_s, cost))
            if best is None or cost < best[0] - 1e-9:
                best = (cost, c, timings_c, band_c)
        if best is None:
            raise ValidationFailed("traffic.error.infeasible", field="signals")
        _cost, cycle, timings, band = best
    # Place the corridor on the common clock: a held signal's through green fixes the shift.
    shift = 0.0
    held_report: list[dict[str, Any]] = []
    anchor: int | None = None
    for i, s in enumerate(signals):
        if s.signal_id not in held:
            continue
        start, _len = held[s.signal_id].timing.through_green()
        if anchor is None:
            anchor = i
            shift = (start - band.offsets_s[i]) % cycle
        else:
            placed = (band.offsets_s[i] + shift) % cycle
            if _circular_gap(placed, start, cycle) > 1.0:
                raise ValidationFailed(
                    "traffic.error.coordination_conflict",
                    field=f"signals[{i}]",
                    signal=s.signal_id,
                    corridor=held[s.signal_id].corridor_id,
                    gap=round(_circular_gap(placed, start, cycle), 1),
                )
        held_report.append(
            {
                "signal_id": s.signal_id,
                "plan_id": held[s.signal_id].plan_id,
                "corridor_id": held[s.signal_id].corridor_id,
                "through_phase": held[s.signal_id].timing.through_phase,
            }
        )
    final_timings: list[SignalTiming] = []
    for i, s in enumerate(signals):
        t = timings[s.signal_id]
        if s.signal_id in held:
            final_timings.append(replace(t, source=f"held:{held[s.signal_id].plan_id}"))
            continue
        green_start = (band.offsets_s[i] + shift) % cycle
        final_timings.append(
            replace(t, offset_s=round((green_start - t.phase_start_s(t.through_phase)) % cycle, 2))
        )
    return PeriodDesign(
        period=period,
        band=band,
        timings=final_timings,
        webster_cycle_s=critical,
        one_way=chosen.one_way,
        held=held_report,
        maxband_cycle_s=cycle if fixed_cycle is not None else widest,
        cycle_choice="held" if fixed_cycle is not None else "least_delay",
        cycle_candidates=candidates,
    )


# --------------------------------------------------------------------------------------
# Before / after estimate


def _drive(
    timings: Sequence[SignalTiming], links_s: Sequence[float], depart: float
) -> tuple[float, int]:
    t = depart
    stops = 0
    for i, timing in enumerate(timings):
        if i > 0:
            t += links_s[i - 1]
        start, green = timing.through_green()
        into = (t - start) % timing.cycle_s
        if into > green + 1e-9:
            t += timing.cycle_s - into
            stops += 1
    return t - depart, stops


def link_times(positions: Sequence[float], speed_mps: float) -> list[float]:
    """Seconds between neighbouring signals at a constant speed."""
    return [abs(b - a) / speed_mps for a, b in itertools.pairwise(positions)]


def estimate(
    timings: Sequence[SignalTiming],
    *,
    links_out_s: Sequence[float],
    links_in_s: Sequence[float],
    horizon_s: float = 3600.0,
    step_s: float = 1.0,
) -> dict[str, Any]:
    """Deterministic estimate of corridor travel time and stops (both directions).

    One vehicle departs the first signal every ``step_s`` over ``horizon_s``, drives each
    link in the given time (``links_in_s[i]``: inbound, signal i+1 to i), stops at a red
    and leaves at the start of the next green (no queues, no other traffic): an estimate
    of what the timing alone does, not a simulation.
    """
    n_steps = max(1, int(horizon_s / step_s))
    cycles = {round(t.cycle_s, 1) for t in timings}
    out: dict[str, Any] = {}
    runs = (
        ("out", list(timings), list(links_out_s)),
        ("in", list(timings)[::-1], list(links_in_s)[::-1]),
    )
    for direction, ts, links in runs:
        times: list[float] = []
        stops: list[int] = []
        for k in range(n_steps):
            tt, st = _drive(ts, links, k * step_s)
            times.append(tt)
            stops.append(st)
        nonstop = sum(1 for x in stops if x == 0) / n_steps
        out[direction] = {
            "travel_time_s": round(sum(times) / n_steps, 1),
            "stops": round(sum(stops) / n_steps, 2),
            "nonstop_share": round(nonstop, 3),
            "bandwidth_s": round(nonstop * next(iter(cycles)), 1) if len(cycles) == 1 else None,
        }
    return out


# --------------------------------------------------------------------------------------
# Exports


def content_hash(doc: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a plan's content."""
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _states(n_phases: int, active: int, kind: str) -> str:
    """Schematic state string: two links per phase group, ``active``'s group lit."""
    lit = {"green": "GG", "yellow": "yy", "all_red": "rr"}[kind]
    return "".join(lit if k == active else "rr" for k in range(n_phases))


def export_sumo(
    timings: Sequence[SignalTiming],
    tls_ids: Mapping[int, str],
    *,
    program_id: str,
    comment: str = "",
) -> str:
    """The plan as a SUMO ``additional`` file (one ``tlLogic`` per signal).

    The state strings are schematic (two links per phase group, in phase order): map them
    to the intersection's real link indices when the network is built (``tls_ids`` are the
    OSM node ids, which netconvert uses for unjoined OSM signals).
    """
    programs: list[Program] = []
    for t in timings:
        n = len(t.phases)
        phases: list[ProgramPhase] = []
        for k, p in enumerate(t.phases):
            phases.append(ProgramPhase(_states(n, k, "green"), round(p.green_s, 2)))
            if p.yellow_s > 0:
                phases.append(ProgramPhase(_states(n, k, "yellow"), round(p.yellow_s, 2)))
            if p.all_red_s > 0:
                phases.append(ProgramPhase(_states(n, k, "all_red"), round(p.all_red_s, 2)))
        programs.append(
            Program(
                tls_id=tls_ids[t.signal_id],
                program_id=program_id,
                offset=round(t.offset_s % t.cycle_s, 2),
                phases=phases,
            )
        )
    return programs_xml(programs, comment=comment)


def export_json(
    *,
    plan: Mapping[str, Any],
    timings: Sequence[SignalTiming],
    signals: Mapping[int, Mapping[str, Any]],
) -> dict[str, Any]:
    """Vendor-neutral JSON (``pingan.greenwave/1``): cycle, band, per signal every phase."""
    return {
        "format": "pingan.greenwave/1",
        **plan,
        "signals": [
            {
                "id": t.signal_id,
                **signals[t.signal_id],
                "offset_s": round(t.offset_s, 2),
                "cycle_s": round(t.cycle_s, 2),
                "through_phase": t.through_phase,
                "phases": [
                    {"name": p.name, "kind": kind, "duration_s": round(seconds, 2)}
                    for p in t.phases
                    for kind, seconds in (
                        ("green", p.green_s),
                        ("yellow", p.yellow_s),
                        ("all_red", p.all_red_s),
                    )
                    if seconds > 0
                ],
            }
            for t in timings
        ],
    }
