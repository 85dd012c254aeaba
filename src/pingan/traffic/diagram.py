"""A time-space diagram of a green-wave plan as SVG (pure string building, no plotting library).

Time runs left to right over a few cycles; distance along the corridor runs bottom to top.
Each signal is a horizontal bar, green where its through movement has green and red
otherwise (the upper half is the outbound direction, the lower half the inbound one); the
outbound and inbound bands are drawn as translucent parallelograms.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from pingan.traffic.maxband import BandPlan

__all__ = ["time_space_svg"]

_GREEN = "#2e9d4a"
_RED = "#d64541"
_OUT = "#1f77b4"
_IN = "#ff7f0e"


def _intervals(
    start: float, length: float, cycle: float, horizon: float
) -> list[tuple[float, float]]:
    """``[start, start+length)`` repeated every cycle, clipped to ``[0, horizon]``."""
    out: list[tuple[float, float]] = []
    k = -1
    while True:
        a = start % cycle + k * cycle
        if a > horizon:
            break
        lo, hi = max(a, 0.0), min(a + length, horizon)
        if hi > lo:
            out.append((lo, hi))
        k += 1
    return out


def time_space_svg(
    plan: BandPlan,
    *,
    cycles: int = 3,
    title: str = "",
    width: int = 900,
    height: int = 520,
) -> str:
    """The plan's time-space diagram as a standalone SVG document."""
    cycle = plan.cycle_s
    horizon = cycles * cycle
    sigs = plan.signals
    top, bottom, left, right = 50.0, 50.0, 110.0, 20.0
    span = max(sigs[-1].position_m - sigs[0].position_m, 1.0)
    origin = sigs[0].position_m

    def x(t: float) -> float:
        return left + (t / horizon) * (width - left - right)

    def y(d: float) -> float:
        return top + (1.0 - (d - origin) / span) * (height - top - bottom)

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<clipPath id="plot"><rect x="{left}" y="{top - 8}" width="{width - left - right}" '
        f'height="{height - top - bottom + 16}"/></clipPath>',
    ]
    heading = title or "Time-space diagram"
    parts.append(
        f'<text x="{left}" y="20" font-size="14" font-weight="bold">{escape(heading)}</text>'
    )
    parts.append(
        f'<text x="{left}" y="36">C = {cycle:.1f} s · band out {plan.band_out_s:.1f} s · '
        f"band in {plan.band_in_s:.1f} s · efficiency {plan.efficiency:.0%}</text>"
    )

    # Bands first so that signal bars stay readable on top.
    cum_out = [0.0]
    for t in plan.travel_out_s:
        cum_out.append(cum_out[-1] + t)
    cum_in = [0.0]
    for t in plan.travel_in_s:
        cum_in.append(cum_in[-1] + t)
    last = len(sigs) - 1
    for k in range(-2, cycles + 2):
        if plan.band_out_s > 0:
            t0 = plan.band_out_start_s + k * cycle
            pts = [
                (t0, sigs[0].position_m),
                (t0 + cum_out[last], sigs[last].position_m),
                (t0 + cum_out[last] + plan.band_out_s, sigs[last].position_m),
                (t0 + plan.band_out_s, sigs[0].position_m),
            ]
            parts.append(_polygon(pts, x, y, _OUT))
        if plan.band_in_s > 0:
            t0 = plan.band_in_start_s + k * cycle
            pts = [
                (t0 - cum_in[last], sigs[last].position_m),
                (t0, sigs[0].position_m),
                (t0 + plan.band_in_s, sigs[0].position_m),
                (t0 - cum_in[last] + plan.band_in_s, sigs[last].position_m),
            ]
            parts.append(_polygon(pts, x, y, _IN))

    bar = 4.0
    for i, sig in enumerate(sigs):
        yy = y(sig.position_m)
        parts.append(
            f'<rect x="{x(0):.1f}" y="{yy - bar:.1f}" width="{x(horizon) - x(0):.1f}" '
            f'height="{2 * bar:.1f}" fill="{_RED}"/>'
        )
        green_out = (1.0 - sig.red) * cycle
        for a, b in _intervals(plan.offsets_s[i], green_out, cycle, horizon):
            parts.append(
                f'<rect x="{x(a):.1f}" y="{yy - bar:.1f}" width="{x(b) - x(a):.1f}" '
                f'height="{bar:.1f}" fill="{_GREEN}"/>'
            )
        green_in = (1.0 - sig.red_in) * cycle
        start_in = plan.offsets_s[i] + sig.inbound_shift * cycle
        for a, b in _intervals(start_in, green_in, cycle, horizon):
            parts.append(
                f'<rect x="{x(a):.1f}" y="{yy:.1f}" width="{x(b) - x(a):.1f}" '
                f'height="{bar:.1f}" fill="{_GREEN}"/>'
            )
        parts.append(
            f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">'
            f"{escape(sig.name[:14])} {sig.position_m - origin:.0f} m</text>"
        )
    # Time axis.
    axis_y = height - bottom + 14
    for k in range(cycles + 1):
        t = k * cycle
        parts.append(
            f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{height - bottom + 4}" '
            'stroke="#999" stroke-dasharray="3,3"/>'
        )
        parts.append(f'<text x="{x(t):.1f}" y="{axis_y:.1f}" text-anchor="middle">{t:.0f} s</text>')
    parts.append(
        f'<text x="{(x(0) + x(horizon)) / 2:.1f}" y="{height - 12}" text-anchor="middle">'
        "time (s) · outbound band blue, inbound band orange</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _polygon(
    pts: list[tuple[float, float]],
    x: Callable[[float], float],
    y: Callable[[float], float],
    colour: str,
) -> str:
    coords = " ".join(f"{x(t):.1f},{y(d):.1f}" for t, d in pts)
    return (
        f'<polygon points="{coords}" fill="{colour}" fill-opacity="0.25" stroke="{colour}" '
        'clip-path="url(#plot)"/>'
    )
