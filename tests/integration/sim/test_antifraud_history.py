"""The simulated anti-fraud history: made through the desk, once, and year on year shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pingan.antifraud import yoy
from pingan.antifraud.models import FraudWarning, Signal, StopPayment
from pingan.city.service import demo_pbf_path, import_city
from pingan.core import clock
from pingan.core.audit import AuditRecord
from pingan.core.db import Base, Database
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


class _Killed(Exception):
    """Stands for the process being killed."""


def test_a_backfill_killed_part_way_is_resumed_to_the_same_history(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = datetime(2025, 6, 1, tzinfo=UTC)
    args: dict[str, Any] = {
        "secret": "s" * 40, "city": "helsinki", "until": UNTIL, "since": since, "seed": 5,
        "years": YEARS,
    }  # fmt: skip

    def made(db: Database) -> tuple[int, int, int, int, int]:
        with db.session() as s:
            return (
                s.scalar(select(func.count()).select_from(FraudWarning)) or 0,
                s.scalar(
                    select(func.count()).where(FraudWarning.status != "closed")
                    .select_from(FraudWarning)
                ) or 0,
                s.scalar(select(func.count()).select_from(StopPayment)) or 0,
                s.scalar(
                    select(func.count()).select_from(StopPayment)
                    .where(StopPayment.status == "frozen")
                ) or 0,
                s.scalar(select(func.count()).where(Signal.partner_signal_id.like("hist-%"))) or 0,
            )  # fmt: skip

    # The same history made in one go, in another database.
    whole = Database(f"sqlite:///{tmp_path / 'whole.db'}")
    Base.metadata.create_all(whole.engine)
    import_city(db=whole, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path / "w", actor="t")
    in_one_go = history.backfill(db=whole, **args)
    expected = made(whole)
    whole.dispose()
    assert expected[0] > 30 and expected[1] == 0 and expected[2] > 0

    import_city(db=database, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="t")
    follow_up = history._follow_up
    calls = {"n": 0}

    def killed_on_the_twentieth(*a: Any, **kw: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 20:  # its reports and warning are committed, its follow-up is not
            raise _Killed
        follow_up(*a, **kw)

    monkeypatch.setattr(history, "_follow_up", killed_on_the_twentieth)
    with pytest.raises(_Killed):
        history.backfill(db=database, **args)
    monkeypatch.setattr(history, "_follow_up", follow_up)
    partial = made(database)
    assert partial[1] == 1 and partial[0] < expected[0]  # one warning left open
    assert not history.has_history(db=database)  # not finished: not history yet

    resumed = history.backfill(db=database, **args)
    assert resumed.resumed and not resumed.skipped
    assert made(database) == expected
    assert (resumed.people, resumed.warnings, resumed.stop_payments, resumed.frozen) == (
        in_one_go.people, in_one_go.warnings, in_one_go.stop_payments, in_one_go.frozen,
    )  # fmt: skip
    assert history.has_history(db=database)
    assert history.backfill(db=database, **args).skipped
    with database.session() as s:
        done = s.scalars(
            select(AuditRecord).where(AuditRecord.entity == history.HISTORY_ENTITY)
        ).all()
    assert len(done) == 1 and done[0].detail["resumed"] is True
