"""Duplicate-call detection (重复警情): several callers reporting the same incident.

A candidate open call must be within ``radius_m`` (haversine) and ``window_s`` of the new
call; it is then scored from closeness in space and time, character-bigram Jaccard
similarity of the descriptions, and agreement of the triaged types. Every score comes with
its reasons. Pure function over plain dataclasses: no database, no HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pingan.city.graph import haversine_m

WEIGHTS: Final = {"distance": 0.35, "time": 0.25, "text": 0.25, "type": 0.15}
_NOISE = re.compile(r"[\s\W_]+")


@dataclass(frozen=True, slots=True)
class CallSnapshot:
    """What duplicate detection needs to know about one call."""

    id: str
    received_at: datetime
    lat: float | None
    lon: float | None
    text: str
    type: str | None = None


@dataclass(frozen=True, slots=True)
class DuplicateCandidate:
    """An open call that may be the same incident, with its score (0..1) and reasons."""

    call_id: str
    score: float
    reasons: list[str]


def bigrams(text: str) -> set[str]:
    """Character bigrams of ``text`` without spaces and punctuation."""
    clean = _NOISE.sub("", text.lower())
    if len(clean) == 1:
        return {clean}
    return {clean[i : i + 2] for i in range(len(clean) - 1)}


def jaccard(a: str, b: str) -> float:
    """Character-bigram Jaccard similarity of two texts (0 when either is empty)."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def _check(call: CallSnapshot, name: str) -> None:
    if (call.lat is None) != (call.lon is None):
        raise ValueError(f"{name}.lat/lon: give both or neither")
    if call.lat is not None and not -90 <= call.lat <= 90:
        raise ValueError(f"{name}.lat: must be between -90 and 90")
    if call.lon is not None and not -180 <= call.lon <= 180:
        raise ValueError(f"{name}.lon: must be between -180 and 180")
    if call.received_at.tzinfo is None:
        raise ValueError(f"{name}.received_at: must be timezone-aware")


def find_duplicates(
    new_call: CallSnapshot,
    open_calls: Sequence[CallSnapshot],
    *,
    radius_m: float,
    window_s: float,
    min_score: float = 0.5,
) -> list[tuple[str, float, list[str]]]:
    """Open calls that look like the same incident: (id, score, reasons), best first."""
    if not radius_m > 0:
        raise ValueError("radius_m: must be positive")
    if not window_s > 0:
        raise ValueError("window_s: must be positive")
    _check(new_call, "new_call")
    found: list[tuple[str, float, list[str]]] = []
    for i, other in enumerate(open_calls):
        _check(other, f"open_calls[{i}]")
        if other.id == new_call.id:
            continue
        reasons: list[str] = []
        dt = abs((new_call.received_at - other.received_at).total_seconds())
        if dt > window_s:
            continue
        time_score = 1.0 - dt / window_s
        reasons.append(f"time: {dt:.0f} s apart (window {window_s:.0f} s)")
        if new_call.lat is None or other.lat is None:
            # no position on one side: say so, and let text and type carry the decision
            dist_score = 0.5
            reasons.append("distance: unknown (a call has no coordinates)")
        else:
            assert new_call.lon is not None and other.lon is not None
            d = float(haversine_m(new_call.lon, new_call.lat, other.lon, other.lat))
            if d > radius_m:
                continue
            dist_score = 1.0 - d / radius_m
            reasons.append(f"distance: {d:.0f} m (radius {radius_m:.0f} m)")
        text_score = jaccard(new_call.text, other.text)
        reasons.append(f"text: bigram Jaccard {text_score:.2f}")
        if new_call.type is None or other.type is None:
            type_score = 0.5
            reasons.append("type: unknown on one call")
        elif new_call.type == other.type:
            type_score = 1.0
            reasons.append(f"type: both {new_call.type}")
        else:
            type_score = 0.0
            reasons.append(f"type: {new_call.type} vs {other.type}")
        score = (
            WEIGHTS["distance"] * dist_score
            + WEIGHTS["time"] * time_score
            + WEIGHTS["text"] * text_score
            + WEIGHTS["type"] * type_score
        )
        # Same place and time but a different type and different words is a second incident.
        if type_score == 0.0 and text_score < 0.3:
            continue
        if score >= min_score:
            found.append((other.id, round(score, 4), reasons))
    found.sort(key=lambda f: (-f[1], f[0]))
    return found
