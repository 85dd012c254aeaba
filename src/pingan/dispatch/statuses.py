"""Unit statuses (警力状态) and the transitions between them.

Six statuses. "Back in service" (恢复备勤) is not a status of its own: it is the
*event* that takes a unit from ``on_scene``, ``transporting`` or ``out_of_service``
back to ``available``; the status a unit is in afterwards is simply ``available``.
Keeping it an event means there is exactly one status in which a unit can be sent.

Allowed transitions (anything else is refused, including "from X to X": a
repeated status report is for the caller to drop, not a transition)::

    available       -> dispatched, out_of_service
    dispatched      -> en_route, available (cancelled), out_of_service
    en_route        -> on_scene, available (cancelled or stood down), out_of_service
    on_scene        -> transporting, available (back in service), out_of_service
    transporting    -> available (back in service), out_of_service
    out_of_service  -> available (back in service)

A unit may drop out of service from any status (breakdown, injury); it comes back
only as ``available``. Skipping steps (``available -> on_scene``) is refused: the
dispatch record must show when the unit was sent and when it started driving.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class UnitStatus(StrEnum):
    """Where a unit is in its duty cycle."""

    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    TRANSPORTING = "transporting"
    OUT_OF_SERVICE = "out_of_service"


S = UnitStatus
TRANSITIONS: Final[Mapping[UnitStatus, frozenset[UnitStatus]]] = MappingProxyType(
    {
        S.AVAILABLE: frozenset({S.DISPATCHED, S.OUT_OF_SERVICE}),
        S.DISPATCHED: frozenset({S.EN_ROUTE, S.AVAILABLE, S.OUT_OF_SERVICE}),
        S.EN_ROUTE: frozenset({S.ON_SCENE, S.AVAILABLE, S.OUT_OF_SERVICE}),
        S.ON_SCENE: frozenset({S.TRANSPORTING, S.AVAILABLE, S.OUT_OF_SERVICE}),
        S.TRANSPORTING: frozenset({S.AVAILABLE, S.OUT_OF_SERVICE}),
        S.OUT_OF_SERVICE: frozenset({S.AVAILABLE}),
    }
)
"""For each status, the statuses a unit may move to next."""

BACK_IN_SERVICE_FROM: Final = frozenset({S.ON_SCENE, S.TRANSPORTING, S.OUT_OF_SERVICE})
"""Statuses from which the move to ``available`` is a "back in service" event."""

ASSIGNABLE: Final = frozenset({S.AVAILABLE})
"""Statuses in which a unit may be recommended for a new incident."""


class TransitionRefused(ValueError):
    """A status change that the transition table does not allow."""

    def __init__(self, current: UnitStatus, new: UnitStatus) -> None:
        self.current = current
        self.new = new
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        super().__init__(f"status: {current} -> {new} is not allowed (from {current}: {allowed})")


def _status(value: UnitStatus | str, field: str) -> UnitStatus:
    try:
        return UnitStatus(value)
    except ValueError:
        raise ValueError(f"{field}: unknown unit status {value!r}") from None


def check_transition(current: UnitStatus | str, new: UnitStatus | str) -> None:
    """Raise :class:`TransitionRefused` unless ``current -> new`` is allowed."""
    cur, nxt = _status(current, "current"), _status(new, "new")
    if nxt not in TRANSITIONS[cur]:
        raise TransitionRefused(cur, nxt)


def is_back_in_service(current: UnitStatus | str, new: UnitStatus | str) -> bool:
    """Whether ``current -> new`` is the "back in service" event."""
    cur, nxt = _status(current, "current"), _status(new, "new")
    return nxt is UnitStatus.AVAILABLE and cur in BACK_IN_SERVICE_FROM


def is_assignable(status: UnitStatus | str) -> bool:
    """Whether a unit in ``status`` may be sent to a new incident."""
    return _status(status, "status") in ASSIGNABLE
