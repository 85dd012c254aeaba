"""Year-on-year figures from plain facts: attribution of transfers, cases, losses, changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pingan.antifraud.yoy import TransferFact, WarningFact, attribute, compute

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _w(
    i: int, victim: int, at: datetime, held: float = 0.0, outcome: str | None = None
) -> WarningFact:
    return WarningFact(i, victim, at, outcome, held)


def test_transfers_count_for_their_warning_or_the_next_one_within_72_hours() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    warnings = [_w(1, 7, at), _w(2, 7, at + timedelta(days=10)), _w(3, 8, at)]
    transfers = [
        TransferFact(7, 1, at, 100.0),  # fed warning 1
        TransferFact(7, None, at - timedelta(hours=71), 50.0),  # before warning 1: counts
        TransferFact(7, None, at - timedelta(hours=73), 999.0),  # too early: nobody's
        TransferFact(7, None, at + timedelta(days=9), 20.0),  # before warning 2
        TransferFact(8, 99, at, 5.0),  # a warning outside the set: not counted
        TransferFact(9, None, at, 5.0),  # a person without warnings
    ]
    assert attribute(warnings, transfers) == {1: 150.0, 2: 20.0}


def test_cases_losses_and_change_against_the_same_period_last_year() -> None:
    march, last_march = datetime(2026, 3, 5, tzinfo=UTC), datetime(2025, 3, 5, tzinfo=UTC)
    warnings = [
        _w(1, 1, last_march, held=0.0),  # lost 1,000
        _w(2, 2, last_march, held=500.0),  # lost 500
        _w(3, 3, last_march, held=800.0),  # fully intercepted: not a case
        _w(4, 4, march, held=300.0),  # lost 700
        _w(5, 5, march, outcome="lost"),  # closed as lost without a reported transfer
        _w(6, 6, datetime(2025, 12, 1, tzinfo=UTC)),  # after the period last year
        _w(7, 7, datetime(2025, 11, 30, 13, tzinfo=UTC)),  # an hour after "now" a year ago
    ]
    transfers = [
        TransferFact(1, 1, last_march, 1000.0),
        TransferFact(2, 2, last_march, 1000.0),
        TransferFact(3, 3, last_march, 800.0),
        TransferFact(4, 4, march, 1000.0),
        TransferFact(6, 6, datetime(2025, 12, 1, tzinfo=UTC), 1000.0),
        TransferFact(7, 7, datetime(2025, 11, 30, 13, tzinfo=UTC), 1000.0),
    ]
    y = compute(warnings, transfers, year=2026, now=NOW)
    assert y.through_month == 11 and [m.month for m in y.months] == list(range(1, 12))
    m3 = y.months[2]
    assert (m3.cases, m3.cases_last_year, m3.cases_change_pct) == (2, 2, 0.0)
    assert (m3.losses, m3.losses_last_year, m3.losses_change_pct) == (700.0, 1500.0, -53.33)
    assert (m3.transferred, m3.intercepted) == (1000.0, 300.0)
    assert y.months[10].cases_last_year == 0  # the 13:00 case is after the same moment
    assert y.months[0].cases_change_pct is None  # nothing to compare with
    assert (y.cases, y.cases_last_year, y.losses, y.losses_last_year) == (2, 2, 700.0, 1500.0)
    full = compute(warnings, transfers, year=2025, now=NOW)
    assert full.through_month == 12 and full.cases == 4 and full.losses == 3500.0
