"""Cases and losses year on year (同比), computed from the desk's records.

**Definitions** (all from rows; nothing is entered by hand):

- *transferred* for a warning: the amounts of the person's ``transfer`` reports (banks'
  signals) that fed the warning, plus those received in the 72 hours before it was raised
  that fed no warning (each such report counts once, for the person's first warning
  raised within the 72 hours after it);
- *intercepted*: the warning's stop-payments that are held, renewed or frozen, at most
  what was transferred;
- *lost* = transferred − intercepted;
- a *case* (案件): a warning whose person lost money (lost > 0) or that was closed with
  the outcome ``lost`` — a fraud that succeeded at least in part, as opposed to a warning
  dissuaded or intercepted in full;
- *losses*: the money lost in those cases.

Each case counts in the month its warning was raised. This year runs from 1 January to
now; last year from 1 January to the same moment one year earlier, so the current month
is compared with the same days of that month, not with the whole month. The change is
``(this − last) / last`` in percent, none when last year had nothing.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.antifraud.caseroom_schemas import MonthFigures, YearOnYear
from pingan.antifraud.models import HOLDING_STATUSES, FraudWarning, Signal, StopPayment
from pingan.core import clock
from pingan.core.auth.deps import scope_to_jurisdictions
from pingan.core.auth.permissions import Principal

LOOKBACK: Final = timedelta(hours=72)
"""Transfers this long before a warning that fed no warning are counted for it."""
DEFINITION: Final = (
    "case = warning whose person lost money (transferred - intercepted > 0) or closed as "
    "'lost'; transferred = transfer reports of the warning (+ 72 h before it); intercepted "
    "= stop-payments held, renewed or frozen"
)


@dataclass(frozen=True, slots=True)
class WarningFact:
    """What the figures need of one warning."""

    id: int
    victim_id: int
    created_at: datetime
    outcome: str | None
    intercepted: float


@dataclass(frozen=True, slots=True)
class TransferFact:
    """One transfer report: whose, which warning it fed (if any), when, how much."""

    victim_id: int
    warning_id: int | None
    received_at: datetime
    amount: float


def attribute(
    warnings: Sequence[WarningFact], transfers: Iterable[TransferFact]
) -> dict[int, float]:
    """Money transferred per warning id (see the module docstring)."""
    out: dict[int, float] = defaultdict(float)
    known = {w.id for w in warnings}
    by_victim: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for w in warnings:
        by_victim[w.victim_id].append((w.created_at, w.id))
    for rows in by_victim.values():
        rows.sort()
    for t in transfers:
        if t.warning_id is not None:
            if t.warning_id in known:
                out[t.warning_id] += t.amount
            continue
        mine = by_victim.get(t.victim_id)
        if not mine:
            continue
        i = bisect.bisect_left(mine, (t.received_at, -1))
        if i < len(mine) and mine[i][0] - t.received_at <= LOOKBACK:
            out[mine[i][1]] += t.amount
    return dict(out)


def _pct(now: float, before: float) -> float | None:
    return None if before == 0 else round((now - before) / before * 100.0, 2)


def compute(
    warnings: Sequence[WarningFact],
    transfers: Iterable[TransferFact],
    *,
    year: int,
    now: datetime,
) -> YearOnYear:
    """Cases and losses per month of ``year`` (to ``now`` when it is the current year)
    against the same months — and, for the current month, the same days — a year before."""
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = min(now, datetime(year + 1, 1, 1, tzinfo=UTC))
    last_start = datetime(year - 1, 1, 1, tzinfo=UTC)
    try:
        last_end = end.replace(year=year - 1)
    except ValueError:  # 29 February
        last_end = end.replace(year=year - 1, day=28)
    through = 12 if end >= datetime(year + 1, 1, 1, tzinfo=UTC) else end.month
    transferred = attribute(warnings, transfers)
    cases: dict[tuple[int, int], int] = defaultdict(int)
    losses: dict[tuple[int, int], float] = defaultdict(float)
    moved: dict[int, float] = defaultdict(float)
    stopped: dict[int, float] = defaultdict(float)
    for w in warnings:
        if start <= w.created_at < end:
            y = year
        elif last_start <= w.created_at < last_end:
            y = year - 1
        else:
            continue
        sent = transferred.get(w.id, 0.0)
        held = min(w.intercepted, sent)
        lost = sent - held
        if y == year:
            moved[w.created_at.month] += sent
            stopped[w.created_at.month] += held
        if lost > 0 or w.outcome == "lost":
            cases[(y, w.created_at.month)] += 1
            losses[(y, w.created_at.month)] += lost
    months = []
    for m in range(1, through + 1):
        c, cl = cases[(year, m)], cases[(year - 1, m)]
        lo, ll = losses[(year, m)], losses[(year - 1, m)]
        months.append(
            MonthFigures(
                month=m,
                cases=c,
                cases_last_year=cl,
                cases_change_pct=_pct(c, cl),
                losses=round(lo, 2),
                losses_last_year=round(ll, 2),
                losses_change_pct=_pct(lo, ll),
                transferred=round(moved[m], 2),
                intercepted=round(stopped[m], 2),
            )
        )
    total = sum(x.cases for x in months)
    total_last = sum(x.cases_last_year for x in months)
    lost_now = sum(x.losses for x in months)
    lost_last = sum(x.losses_last_year for x in months)
    return YearOnYear(
        year=year,
        through_month=through,
        definition=DEFINITION,
        months=months,
        cases=total,
        cases_last_year=total_last,
        cases_change_pct=_pct(total, total_last),
        losses=round(lost_now, 2),
        losses_last_year=round(lost_last, 2),
        losses_change_pct=_pct(lost_now, lost_last),
    )


def year_on_year(
    *, db: Session, principal: Principal | None = None, year: int | None = None
) -> YearOnYear:
    """The figures of :func:`compute` from the warnings of the caller's jurisdictions."""
    now = clock.now()
    year = year or now.year
    since = datetime(year - 1, 1, 1, tzinfo=UTC)
    until = min(now, datetime(year + 1, 1, 1, tzinfo=UTC))
    stmt = select(
        FraudWarning.id, FraudWarning.victim_id, FraudWarning.created_at, FraudWarning.outcome
    ).where(FraudWarning.created_at >= since, FraudWarning.created_at < until)
    if principal is not None:
        stmt = scope_to_jurisdictions(stmt, FraudWarning.jurisdiction_id, principal)  # type: ignore[arg-type,assignment]
    rows = db.execute(stmt).all()
    ids = [int(r.id) for r in rows]
    held: dict[int, float] = defaultdict(float)
    for start in range(0, len(ids), 1000):
        for warning_id, amount in db.execute(
            select(StopPayment.warning_id, StopPayment.amount).where(
                StopPayment.warning_id.in_(ids[start : start + 1000]),
                StopPayment.status.in_((*HOLDING_STATUSES, "frozen")),
            )
        ):
            held[int(warning_id)] += float(amount)
    warnings = [
        WarningFact(int(r.id), int(r.victim_id), r.created_at, r.outcome, held.get(int(r.id), 0.0))
        for r in rows
    ]
    victims = sorted({w.victim_id for w in warnings})
    transfers: list[TransferFact] = []
    for start in range(0, len(victims), 1000):
        for victim_id, warning_id, received_at, payload in db.execute(
            select(Signal.victim_id, Signal.warning_id, Signal.received_at, Signal.payload).where(
                Signal.kind == "transfer",
                Signal.victim_id.in_(victims[start : start + 1000]),
                Signal.received_at >= since - LOOKBACK,
                Signal.received_at < until,
            )
        ):
            try:
                amount = float((payload or {}).get("amount", 0.0))
            except (TypeError, ValueError):
                continue
            transfers.append(TransferFact(int(victim_id), warning_id, received_at, amount))
    return compute(warnings, transfers, year=year, now=now)
