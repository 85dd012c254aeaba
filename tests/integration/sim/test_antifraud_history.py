"""The simulated anti-fraud history: made through the desk, once, and year on year shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from pingan.antifraud import yoy
from pingan.antifraud.models import FraudWarning, Signal, StopPayment
from pingan.city.service import demo_pbf_path, import_city
from pingan.core import clock
from pingan.core.db import Database
from pingan.core.outbox import OutboxMessage
from pingan.sim import antifraud_history as history

UNTIL = datetime(2026, 3, 1, 12, tzinfo=UTC)
YEARS = {
    "previous": history.YearParams(0.3, transfer_share=0.8, stop_share=0.2, freeze_share=0.5),
    "current": history.YearParams(0.3, transfer_share=0.8, stop_share=0.9, freeze_share=1.0),
}


def test_history_is_made_once_by_the_desk_and_feeds_year_on_year(
    database: Database, tmp_path: Path
) -> None:
    import_city(db=database, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="t")
    since = datetime(2025, 1, 1, tzinfo=UTC)
    report = history.backfill(
        db=database, secret="s" * 40, city="helsinki", until=UNTIL, since=since, seed=3,
        years=YEARS,
    )  # fmt: skip
    assert not report.skipped and report.days == 425
    assert report.people == report.warnings > 50 and report.stop_payments > 0
    again = history.backfill(db=database, secret="s" * 40, city="helsinki", until=UNTIL)
    assert again.skipped and again.people == 0
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(FraudWarning)) == report.warnings
        first, last = s.execute(
            select(func.min(FraudWarning.created_at), func.max(FraudWarning.created_at))
        ).one()
        assert since <= first and last < UNTIL
        assert s.scalar(select(func.count()).where(Signal.partner_signal_id.like("hist-%")))
        assert s.scalar(
            select(func.count()).select_from(StopPayment).where(StopPayment.status == "frozen")
        )
        # History is not news: nothing left for the relay to publish.
        unpublished = select(OutboxMessage.subject).where(OutboxMessage.published_at.is_(None))
        assert list(s.scalars(unpublished)) == ["city.imported"]  # made before the history
        with clock.frozen(UNTIL):
            figures = yoy.year_on_year(db=s)
    assert figures.through_month == 3 and figures.cases_last_year > 0
    assert figures.losses_last_year > 0 and figures.cases > 0
    # This year's simulated desk stops and freezes most of the money moved.
    moved = sum(m.transferred for m in figures.months)
    assert sum(m.intercepted for m in figures.months) > 0.3 * moved > 0
