"""Webster's cycle and green splits, with minimum pedestrian greens and time-of-day plans.

Webster (1958): the delay-minimising cycle is ``C0 = (1.5 L + 5) / (1 − Y)`` where ``L`` is
the lost time per cycle and ``Y`` the sum of the critical flow ratios ``y = q / s``
(flow over saturation flow) of the phases. Effective green is shared in proportion to ``y``:
``g_i = (C − L) y_i / Y``. The displayed green is the effective green plus the phase's lost
time minus its yellow and all-red. A phase's displayed green never goes below its minimum
(vehicle minimum, and the pedestrian walk plus crossing time); when minima bind, the other
phases share what is left in proportion to ``y``, and the cycle grows if it must.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from pingan.core.errors import ValidationFailed

__all__ = [
    "Phase",
    "SignalPlan",
    "TimeOfDayPlan",
    "coordinated_plan",
    "phase_delay",
    "time_of_day_plans",
    "uniform_delay",
    "webster_cycle",
    "webster_plan",
]


@dataclass(frozen=True)
class Phase:
    """A signal phase: its critical flow and saturation flow, change intervals and minima."""

    name: str
    flow_vph: float
    saturation_vph: float = 1800.0
    yellow_s: float = 3.0
    all_red_s: float = 2.0
    lost_s: float = 4.0
    """Lost time of the phase (start-up plus clearance lost time)."""
    min_green_s: float = 5.0
    crossing_m: float = 0.0
    """Length of the pedestrian crossing served by this phase (0: none)."""
    walk_s: float = 7.0
    ped_speed_mps: float = 1.0

    @property
    def ratio(self) -> float:
        """Flow ratio ``y = q / s``."""
        return self.flow_vph / self.saturation_vph

    @property
    def min_display_green_s(self) -> float:
        """The minimum displayed green: vehicle minimum, or walk plus crossing time."""
        ped = self.walk_s + self.crossing_m / self.ped_speed_mps if self.crossing_m > 0 else 0.0
        return max(self.min_green_s, ped)

    @property
    def change_s(self) -> float:
        """Yellow plus all-red."""
        return self.yellow_s + self.all_red_s


@dataclass(frozen=True)
class SignalPlan:
    """A fixed-time plan: the cycle and each phase's displayed green."""

    cycle_s: float
    greens_s: list[float]
    phases: list[Phase]
    flow_ratio: float
    """``Y``: sum of critical flow ratios."""
    oversaturated: bool
    """True when ``Y`` leaves no room for Webster's formula (the cycle is then the maximum)."""

    def red_fraction(self, phase: int) -> float:
        """Share of the cycle that is not green for ``phase`` (yellow and all-red count as red)."""
        return 1.0 - self.greens_s[phase] / self.cycle_s

    def phase_start_s(self, phase: int) -> float:
        """Start of ``phase``'s green within the cycle (phases run in order)."""
        start = 0.0
        for i in range(phase):
            start += self.greens_s[i] + self.phases[i].change_s
        return start


def _validate(phases: Sequence[Phase]) -> None:
    if not phases:
        raise ValidationFailed("traffic.error.no_phases", field="phases")
    for i, p in enumerate(phases):
        checks = (
            ("flow_vph", p.flow_vph, p.flow_vph >= 0),
            ("saturation_vph", p.saturation_vph, p.saturation_vph > 0),
            ("yellow_s", p.yellow_s, p.yellow_s >= 0),
            ("all_red_s", p.all_red_s, p.all_red_s >= 0),
            ("lost_s", p.lost_s, p.lost_s >= 0),
            ("min_green_s", p.min_green_s, p.min_green_s >= 0),
            ("crossing_m", p.crossing_m, p.crossing_m >= 0),
            ("ped_speed_mps", p.ped_speed_mps, p.ped_speed_mps > 0),
        )
        for name, value, ok in checks:
            if not ok or not math.isfinite(value):
                raise ValidationFailed(
                    "traffic.error.phase_value", field=f"phases[{i}].{name}", value=value
                )


def webster_cycle(lost_s: float, flow_ratio: float) -> float:
    """Webster's optimal cycle ``(1.5 L + 5) / (1 − Y)`` in seconds (``inf`` when ``Y ≥ 1``)."""
    if flow_ratio >= 1.0:
        return math.inf
    return (1.5 * lost_s + 5.0) / (1.0 - flow_ratio)


def uniform_delay(cycle: float, green_eff: float, ratio: float) -> float:
    """Webster's uniform delay per vehicle ``C (1 − λ)² / 2 (1 − x λ)``, ``x`` capped at 1."""
    lam = min(max(green_eff / cycle, 0.0), 1.0)
    x = min(ratio / lam, 1.0) if lam > 0 else 1.0
    denom = 1.0 - x * lam
    return cycle * (1.0 - lam) ** 2 / (2.0 * denom) if denom > 1e-9 else cycle / 2.0


def phase_delay(phase: Phase, *, cycle_s: float, green_s: float, band_s: float = 0.0) -> float:
    """Estimated delay (vehicle-seconds per hour) of ``phase`` at displayed green ``green_s``.

    The phase's critical flow suffers :func:`uniform_delay` at its effective green (displayed
    + yellow + all-red − lost time). ``band_s``: a green wave's band through this phase; the
    share of the green it covers arrives in the band and does not stop (0 for phases that do
    not serve the corridor). A longer cycle widens a band but delays every movement.
    """
    green_eff = green_s + phase.change_s - phase.lost_s
    delay = uniform_delay(cycle_s, green_eff, phase.ratio)
    delay *= 1.0 - min(band_s / max(green_s, 1e-9), 1.0)
    return phase.flow_vph * delay


def webster_plan(
    phases: Sequence[Phase],
    *,
    cycle_range: tuple[float, float] = (40.0, 150.0),
    cycle_s: float | None = None,
    max_ratio: float = 0.95,
) -> SignalPlan:
    """The Webster plan for ``phases`` (optionally at a given ``cycle_s``, e.g. a corridor's).

    The cycle is clamped to ``cycle_range`` and raised until every phase's minimum displayed
    green fits. ``Y ≥ max_ratio`` is treated as oversaturated: the cycle is the maximum.
    """
    _validate(phases)
    c_min, c_max = cycle_range
    if not (0 < c_min <= c_max) or not math.isfinite(c_max):
        raise ValidationFailed(
            "traffic.error.cycle_range", field="cycle_range", low=c_min, high=c_max
        )
    lost = sum(p.lost_s for p in phases)
    y_total = sum(p.ratio for p in phases)
    oversaturated = y_total >= max_ratio
    minimum_cycle = sum(p.min_display_green_s + p.change_s for p in phases)
    if cycle_s is not None:
        if not math.isfinite(cycle_s) or cycle_s <= 0:
            raise ValidationFailed("traffic.error.cycle", field="cycle_s", value=cycle_s)
        cycle = cycle_s
        if cycle < minimum_cycle - 1e-9:
            raise ValidationFailed(
                "traffic.error.cycle_too_short",
                field="cycle_s",
                value=cycle_s,
                minimum=round(minimum_cycle, 1),
            )
    else:
        cycle = c_max if oversaturated else webster_cycle(lost, y_total)
        cycle = min(max(cycle, c_min), c_max)
        cycle = max(cycle, minimum_cycle)
    greens = _split(phases, cycle)
    return SignalPlan(
        cycle_s=cycle,
        greens_s=greens,
        phases=list(phases),
        flow_ratio=y_total,
        oversaturated=oversaturated,
    )


def coordinated_plan(
    phases: Sequence[Phase],
    *,
    cycle_s: float,
    coordinated: Sequence[int],
    degree: float = 0.9,
) -> SignalPlan:
    """Splits for a coordinated signal: the slack of the common cycle goes to the arterial.

    Each non-coordinated phase gets the green that keeps its degree of saturation at
    ``degree`` (``g = y C / degree``, at least its minimum); the coordinated phases share
    the rest in proportion to their flow ratios. When the rest does not cover the
    coordinated phases' own needs, the plain Webster split at ``cycle_s`` is returned.
    """
    base = webster_plan(phases, cycle_s=cycle_s)
    if not coordinated or not 0 < degree <= 1:
        return base
    chosen = set(coordinated)
    if not chosen <= set(range(len(phases))):
        raise ValidationFailed("traffic.error.phase_value", field="coordinated", value=coordinated)
    greens: list[float] = [0.0] * len(phases)
    used = 0.0
    for i, p in enumerate(phases):
        if i in chosen:
            continue
        effective = p.ratio * cycle_s / degree
        greens[i] = max(p.min_display_green_s, effective + p.lost_s - p.change_s)
        used += greens[i]
    rest = cycle_s - sum(p.change_s for p in phases) - used
    weights = [max(phases[i].ratio, 1e-6) for i in sorted(chosen)]
    total = sum(weights)
    for i, w in zip(sorted(chosen), weights, strict=True):
        greens[i] = rest * w / total
        need = max(
            phases[i].min_display_green_s,
            phases[i].ratio * cycle_s / degree + phases[i].lost_s - phases[i].change_s,
        )
        if greens[i] < need - 1e-9:
            return base
    return replace(base, greens_s=greens)


def _split(phases: Sequence[Phase], cycle: float) -> list[float]:
    """Displayed greens: effective green ∝ y, with minima held and the rest re-shared."""
    n = len(phases)
    lost = sum(p.lost_s for p in phases)
    # Displayed green = effective green + lost − yellow − all-red. Total displayed green
    # is cycle minus all change intervals.
    available = cycle - sum(p.change_s for p in phases)
    fixed: dict[int, float] = {}
    while True:
        free = [i for i in range(n) if i not in fixed]
        remaining = available - sum(fixed.values())
        if not free:
            break
        weights = [max(phases[i].ratio, 1e-6) for i in free]
        total_w = sum(weights)
        # Effective green available to the free phases.
        effective = remaining - sum(phases[i].lost_s - phases[i].change_s for i in free)
        effective = max(effective, 0.0)
        greens = {
            i: effective * w / total_w + phases[i].lost_s - phases[i].change_s
            for i, w in zip(free, weights, strict=True)
        }
        short = [i for i in free if greens[i] < phases[i].min_display_green_s - 1e-9]
        if not short:
            fixed.update(greens)
            break
        for i in short:
            fixed[i] = phases[i].min_display_green_s
    del lost
    return [fixed[i] for i in range(n)]


@dataclass(frozen=True)
class TimeOfDayPlan:
    """A plan that runs from ``start_hour`` (inclusive) to ``end_hour`` (exclusive)."""

    start_hour: int
    end_hour: int
    plan: SignalPlan


def time_of_day_plans(
    phases: Sequence[Phase],
    hourly_flows: Mapping[int, Sequence[float]],
    *,
    cycle_range: tuple[float, float] = (40.0, 150.0),
    tolerance_s: float = 10.0,
) -> list[TimeOfDayPlan]:
    """Time-of-day plans from hourly critical flows (``hour -> flow per phase``).

    Each hour gets its Webster cycle; consecutive hours whose cycles differ by at most
    ``tolerance_s`` share a plan designed for the busiest flows of the block (per phase).
    """
    if not hourly_flows:
        raise ValidationFailed("traffic.error.no_flows", field="hourly_flows")
    hours = sorted(hourly_flows)
    for h in hours:
        if not 0 <= h <= 23:
            raise ValidationFailed("traffic.error.hour", field="hourly_flows", value=h)
        if len(hourly_flows[h]) != len(phases):
            raise ValidationFailed(
                "traffic.error.flow_count",
                field=f"hourly_flows[{h}]",
                expected=len(phases),
                got=len(hourly_flows[h]),
            )

    def with_flows(flows: Sequence[float]) -> list[Phase]:
        return [_replace_flow(p, f) for p, f in zip(phases, flows, strict=True)]

    blocks: list[list[int]] = []
    block_cycle: list[float] = []
    for h in hours:
        c = webster_plan(with_flows(hourly_flows[h]), cycle_range=cycle_range).cycle_s
        if blocks and h == blocks[-1][-1] + 1 and abs(c - block_cycle[-1]) <= tolerance_s:
            blocks[-1].append(h)
        else:
            blocks.append([h])
            block_cycle.append(c)
    plans: list[TimeOfDayPlan] = []
    for block in blocks:
        peak = [max(hourly_flows[h][i] for h in block) for i in range(len(phases))]
        plans.append(
            TimeOfDayPlan(
                start_hour=block[0],
                end_hour=block[-1] + 1,
                plan=webster_plan(with_flows(peak), cycle_range=cycle_range),
            )
        )
    return plans


def _replace_flow(phase: Phase, flow: float) -> Phase:
    return replace(phase, flow_vph=flow)
