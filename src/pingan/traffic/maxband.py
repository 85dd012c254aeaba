"""MAXBAND: the two-way green band along an arterial as a mixed-integer linear programme.

The formulation follows Little (1966) and Little, Kelson & Gartner (1981). Time is measured
in cycles; the decision variables are

* ``z = 1/C`` (cycles per second), bounded by the cycle range;
* ``b, b̄`` the outbound and inbound bandwidths (fractions of the cycle);
* ``w_i, w̄_i`` the interference at signal ``i``: time from the start of the through green to
  the band's left edge;
* ``t_i, t̄_i`` the travel times (cycles) between signals ``i`` and ``i+1``, bounded by the speed
  range (``d / v_max · z ≤ t ≤ d / v_min · z``: linear because ``d / v`` is in seconds);
* ``m_i`` the integer loop variables of the loop constraint between neighbouring signals.

For neighbours ``i`` and ``i+1`` the loop constraint is

    (w_{i+1} − w_i) − (w̄_{i+1} − w̄_i) − t_i − t̄_i − m_i = Δ_{i+1} − Δ_i

where ``Δ_i`` is the start of the inbound green relative to the outbound green at signal
``i`` (0 when both directions run in the same phase). ``w_i + b ≤ 1 − r_i`` keeps the band
inside the green, and ``w_i ≥ τ_i · z`` leaves room for a queue (or left-turn) clearance of
``τ_i`` seconds. The objective is ``b + k·b̄`` with Little's ratio constraint
``(1−k) b̄ ≥ (1−k) k b``; the symmetric variant fixes ``b = b̄``. The programme is solved by
HiGHS through :func:`scipy.optimize.milp`.

Offsets are returned in seconds as the start of the outbound through green at each signal
relative to signal 0, in ``[0, C)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from pingan.core.errors import ValidationFailed

__all__ = ["BandPlan", "Signal", "solve_maxband"]


@dataclass(frozen=True)
class Signal:
    """One signalised intersection on the corridor.

    ``red`` and ``red_inbound`` are the red fractions of the cycle for the through movement
    in each direction (``1 − green/C`` with the yellow and all-red counted as red);
    ``position_m`` is the distance along the corridor; ``inbound_shift`` is ``Δ_i`` (start of
    the inbound green minus the start of the outbound green, as a fraction of the cycle);
    ``queue_s`` / ``queue_inbound_s`` reserve queue-clearance time at the start of the green.
    """

    name: str
    position_m: float
    red: float
    red_inbound: float | None = None
    inbound_shift: float = 0.0
    queue_s: float = 0.0
    queue_inbound_s: float = 0.0

    @property
    def red_in(self) -> float:
        """The inbound red fraction (the outbound one when not given)."""
        return self.red if self.red_inbound is None else self.red_inbound


@dataclass(frozen=True)
class BandPlan:
    """A MAXBAND solution."""

    cycle_s: float
    offsets_s: list[float]
    """Start of the outbound through green at each signal, seconds after signal 0's, in [0, C)."""
    band_out_s: float
    band_in_s: float
    travel_out_s: list[float]
    """Design travel time between neighbouring signals, outbound (seconds)."""
    travel_in_s: list[float]
    band_out_start_s: float
    """Time the outbound band's left edge passes signal 0 (seconds, same clock as offsets)."""
    band_in_start_s: float
    """Time the inbound band's left edge passes signal 0 (seconds, same clock as offsets)."""
    signals: list[Signal] = field(default_factory=list)

    @property
    def efficiency(self) -> float:
        """Two-way band efficiency ``(b + b̄) / 2C``."""
        return (self.band_out_s + self.band_in_s) / (2.0 * self.cycle_s)

    @property
    def efficiency_out(self) -> float:
        """Outbound efficiency ``b / C``."""
        return self.band_out_s / self.cycle_s

    @property
    def efficiency_in(self) -> float:
        """Inbound efficiency ``b̄ / C``."""
        return self.band_in_s / self.cycle_s

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "cycle_s": round(self.cycle_s, 3),
            "offsets_s": [round(o, 3) for o in self.offsets_s],
            "band_out_s": round(self.band_out_s, 3),
            "band_in_s": round(self.band_in_s, 3),
            "efficiency": round(self.efficiency, 4),
            "travel_out_s": [round(t, 3) for t in self.travel_out_s],
            "travel_in_s": [round(t, 3) for t in self.travel_in_s],
            "signals": [s.name for s in self.signals],
        }


def _invalid(key: str, field_name: str, **params: object) -> ValidationFailed:
    return ValidationFailed(f"traffic.error.{key}", field=field_name, **params)


def _validate(
    signals: Sequence[Signal],
    cycle_range: tuple[float, float],
    speed_range: tuple[float, float],
    ratio: float,
) -> None:
    if len(signals) < 2:
        raise _invalid("too_few_signals", "signals", count=len(signals))
    c_min, c_max = cycle_range
    if not (math.isfinite(c_min) and math.isfinite(c_max)) or c_min <= 0 or c_max < c_min:
        raise _invalid("cycle_range", "cycle_range", low=c_min, high=c_max)
    v_min, v_max = speed_range
    if not (math.isfinite(v_min) and math.isfinite(v_max)) or v_min <= 0 or v_max < v_min:
        raise _invalid("speed_range", "speed_range", low=v_min, high=v_max)
    if not 0.0 <= ratio <= 1.0 or not math.isfinite(ratio):
        raise _invalid("ratio", "ratio", value=ratio)
    previous = -math.inf
    for i, s in enumerate(signals):
        if not math.isfinite(s.position_m) or s.position_m <= previous:
            raise _invalid("positions", f"signals[{i}].position_m", value=s.position_m)
        previous = s.position_m
        for name, red in (("red", s.red), ("red_inbound", s.red_in)):
            if not math.isfinite(red) or not 0.0 <= red < 1.0:
                raise _invalid("red", f"signals[{i}].{name}", value=red)
        for name, q in (("queue_s", s.queue_s), ("queue_inbound_s", s.queue_inbound_s)):
            if not math.isfinite(q) or q < 0:
                raise _invalid("queue", f"signals[{i}].{name}", value=q)
        # The green must hold the queue clearance at the longest allowed cycle.
        if s.queue_s / c_max > 1.0 - s.red or s.queue_inbound_s / c_max > 1.0 - s.red_in:
            raise _invalid("queue_too_long", f"signals[{i}].queue_s", value=s.queue_s)


def solve_maxband(
    signals: Sequence[Signal],
    *,
    cycle_range: tuple[float, float],
    speed_range: tuple[float, float],
    symmetric: bool = True,
    ratio: float = 1.0,
    one_way: bool = False,
    time_limit_s: float = 30.0,
    relative_offsets: Sequence[tuple[int, int, float]] = (),
) -> BandPlan:
    """Maximise the two-way green bandwidth along ``signals`` (ordered outbound).

    ``cycle_range`` is (C_min, C_max) in seconds, ``speed_range`` (v_min, v_max) in m/s.
    With ``symmetric`` the bands are equal; otherwise ``ratio`` is Little's ``k`` (target
    inbound/outbound band ratio, e.g. the inbound/outbound volume ratio). ``one_way`` drops
    the inbound band and the loop constraints (always feasible: the fallback when the
    greens are too short for a two-way band). ``relative_offsets`` holds offsets that are
    already fixed (a signal shared with a coordinated crossing corridor): each ``(i, j, δ)``
    requires signal ``j``'s offset minus signal ``i``'s to be ``δ`` cycles (mod 1). Raises
    :class:`ValidationFailed` naming the offending field for bad input and
    ``traffic.error.infeasible`` when no plan exists.
    """
    _validate(signals, cycle_range, speed_range, ratio)
    n = len(signals)
    for q, (i, j, delta) in enumerate(relative_offsets):
        if not (0 <= i < j < n) or not math.isfinite(delta):
            raise _invalid("relative_offset", f"relative_offsets[{q}]", value=(i, j, delta))
    c_min, c_max = cycle_range
    v_min, v_max = speed_range
    dists = [signals[i + 1].position_m - signals[i].position_m for i in range(n - 1)]

    # Variable layout.
    iz, ib, ibb = 0, 1, 2
    iw = 3
    iwb = iw + n
    it = iwb + n
    itb = it + (n - 1)
    im = itb + (n - 1)
    ir = im + (n - 1)
    nvar = ir + len(relative_offsets)

    lo = np.zeros(nvar)
    hi = np.full(nvar, np.inf)
    lo[iz], hi[iz] = 1.0 / c_max, 1.0 / c_min
    hi[ib] = hi[ibb] = 1.0
    hi[iw : iw + 2 * n] = 1.0
    hi[it : it + 2 * (n - 1)] = np.inf
    lo[im:] = -float(4 * n + 10)
    hi[im:] = float(4 * n + 10)
    integrality = np.zeros(nvar)
    integrality[im:] = 1
    lo[ir:] = -float(4 * n + 10)
    hi[ir:] = float(4 * n + 10)

    rows: list[np.ndarray] = []
    row_lo: list[float] = []
    row_hi: list[float] = []

    def add(coeffs: dict[int, float], low: float, high: float) -> None:
        row = np.zeros(nvar)
        for k, v in coeffs.items():
            row[k] += v
        rows.append(row)
        row_lo.append(low)
        row_hi.append(high)

    for i, s in enumerate(signals):
        # Band inside the green.
        add({iw + i: 1.0, ib: 1.0}, -np.inf, 1.0 - s.red)
        if not one_way:
            add({iwb + i: 1.0, ibb: 1.0}, -np.inf, 1.0 - s.red_in)
        # Queue clearance: w_i ≥ τ_i z.
        if s.queue_s > 0:
            add({iw + i: 1.0, iz: -s.queue_s}, 0.0, np.inf)
        if s.queue_inbound_s > 0 and not one_way:
            add({iwb + i: 1.0, iz: -s.queue_inbound_s}, 0.0, np.inf)
    for i, d in enumerate(dists):
        # Travel time within the speed range: d/v_max z ≤ t ≤ d/v_min z.
        for idx in (it + i, itb + i):
            add({idx: 1.0, iz: -d / v_max}, 0.0, np.inf)
            add({idx: 1.0, iz: -d / v_min}, -np.inf, 0.0)
        if one_way:
            continue
        # Loop constraint.
        shift = signals[i + 1].inbound_shift - signals[i].inbound_shift
        add(
            {
                iw + i + 1: 1.0,
                iw + i: -1.0,
                iwb + i + 1: -1.0,
                iwb + i: 1.0,
                it + i: -1.0,
                itb + i: -1.0,
                im + i: -1.0,
            },
            shift,
            shift,
        )
    for r, (i, j, delta) in enumerate(relative_offsets):
        # Offset (cycles) of signal s relative to signal 0: T_s − w_s, T_s = Σ_{k<s} t_k.
        coeffs: dict[int, float] = {iw + j: -1.0, iw + i: 1.0, ir + r: -1.0}
        for link in range(i, j):
            coeffs[it + link] = coeffs.get(it + link, 0.0) + 1.0
        add(coeffs, delta % 1.0, delta % 1.0)
    if one_way:
        hi[ibb] = 0.0
        hi[iwb : iwb + n] = 0.0
        hi[im:ir] = lo[im:ir] = 0.0
        k = 0.0
    elif symmetric:
        add({ib: 1.0, ibb: -1.0}, 0.0, 0.0)
        k = 1.0
    else:
        k = ratio
        if k < 1.0:
            add({ibb: 1.0 - k, ib: -(1.0 - k) * k}, 0.0, np.inf)

    c = np.zeros(nvar)
    c[ib] = -1.0
    c[ibb] = -k
    # Tie-breaks: prefer the shorter cycle, then small interference (band at start of green).
    c[iz] = -1e-3 * c_min
    c[iw : iw + 2 * n] = 1e-5

    result = milp(
        c,
        constraints=LinearConstraint(np.vstack(rows), np.array(row_lo), np.array(row_hi)),
        integrality=integrality,
        bounds=Bounds(lo, hi),
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-6},
    )
    if result.x is None:
        raise ValidationFailed("traffic.error.infeasible", field="signals", status=result.message)
    x = result.x
    z = float(x[iz])
    cycle = 1.0 / z
    b, bb = max(0.0, float(x[ib])), max(0.0, float(x[ibb]))
    w = x[iw : iw + n]
    wb = x[iwb : iwb + n]
    t = x[it : it + n - 1]
    tb = x[itb : itb + n - 1]

    # Offsets: the outbound band's left edge passes signal 0 at time s = 0 (cycles), signal i
    # at T_i = Σ_{k<i} t_k; the green there starts w_i earlier.
    arrival = np.concatenate([[0.0], np.cumsum(t)])
    phi = arrival - w
    base = phi[0]
    offsets = [float(((p - base) % 1.0) * cycle) for p in phi]
    offsets = [0.0 if abs(o - cycle) < 1e-6 else o for o in offsets]
    out_start = float(((0.0 - base) % 1.0) * cycle)
    # Inbound left edge at signal 0: the inbound green there starts at phi_0 + Δ_0 and the
    # band sits w̄_0 into it.
    in_start = float(((signals[0].inbound_shift + wb[0]) % 1.0) * cycle)
    return BandPlan(
        cycle_s=cycle,
        offsets_s=offsets,
        band_out_s=b * cycle,
        band_in_s=bb * cycle,
        travel_out_s=[float(v) * cycle for v in t],
        travel_in_s=[float(v) * cycle for v in tb],
        band_out_start_s=out_start,
        band_in_start_s=in_start,
        signals=list(signals),
    )


@dataclass(frozen=True, slots=True)
class BandAttempt:
    """One way of asking MAXBAND for a band, tried in order until one is feasible."""

    speed_range: tuple[float, float]
    one_way: bool = False
    no_queue: bool = False
    """Drop the queue-clearance times (``queue_s``) — greens too short to hold them."""

    def signals(self, signals: Sequence[Signal]) -> list[Signal]:
        """The signals as this attempt poses them."""
        if not self.no_queue:
            return list(signals)
        return [replace(s, queue_s=0.0, queue_inbound_s=0.0) for s in signals]

    def solve(
        self,
        signals: Sequence[Signal],
        *,
        cycle_range: tuple[float, float],
        relative_offsets: Sequence[tuple[int, int, float]] = (),
    ) -> BandPlan:
        """MAXBAND for this attempt (``traffic.error.infeasible`` when there is no band)."""
        return solve_maxband(
            self.signals(signals),
            cycle_range=cycle_range,
            speed_range=self.speed_range,
            one_way=self.one_way,
            relative_offsets=relative_offsets,
        )


def first_feasible(
    signals: Sequence[Signal],
    attempts: Sequence[BandAttempt],
    *,
    cycle_range: tuple[float, float],
    relative_offsets: Sequence[tuple[int, int, float]] = (),
) -> tuple[BandPlan, BandAttempt] | None:
    """The band of the first feasible attempt and that attempt; None when none is feasible.
    Errors other than infeasibility (bad input) are raised."""
    for attempt in attempts:
        try:
            plan = attempt.solve(
                signals, cycle_range=cycle_range, relative_offsets=relative_offsets
            )
        except ValidationFailed as exc:
            if exc.key != "traffic.error.infeasible":
                raise
            continue
        return plan, attempt
    return None
