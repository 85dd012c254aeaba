"""The anti-fraud generator: campaigns against a population, the desk's team answering."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from pingan.antifraud import service as antifraud
from pingan.antifraud.models import ContactAttempt, FraudWarning, Signal, StopPayment, Team
from pingan.city.service import demo_pbf_path, import_city
from pingan.core.auth.permissions import Principal
from pingan.core.bus import InProcessBus
from pingan.core.db import Database
from pingan.core.module import Context
from pingan.core.outbox import OutboxMessage
from pingan.core.settings import Settings
from pingan.sim.runner import Simulation
from pingan.sim.scenario import Scenario

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 China time


def test_a_day_of_campaigns_makes_warnings_contacts_and_interceptions(
    database: Database, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database.url)
    import_city(db=database, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="t")
    ctx = Context(settings=settings, db=database, bus=InProcessBus())
    scenario = Scenario(
        city="helsinki",
        start=START,
        duration=timedelta(hours=30),
        speedup=0,
        seed=5,
        generators=("antifraud",),
    )
    result = asyncio.run(Simulation(scenario, ctx).run())
    assert result.failed == {}, result.failed
    with database.session() as s:

        def count(model: object, *where: object) -> int:
            stmt = select(func.count()).select_from(model)  # type: ignore[arg-type]
            return int(s.scalar(stmt.where(*where)) or 0)  # type: ignore[arg-type]

        assert count(Team) == 179
        assert count(Signal) > 100
        assert count(FraudWarning) > 10
        assert count(FraudWarning, FraudWarning.team_id.is_(None)) == 0
        levels = set(s.scalars(select(FraudWarning.level)))
        assert levels <= {"medium", "high"} and "high" in levels
        outcomes = set(s.scalars(select(ContactAttempt.outcome)))
        assert {"refused", "dissuaded"} <= outcomes
        refused = count(ContactAttempt, ContactAttempt.outcome == "refused")
        answered = count(ContactAttempt, ContactAttempt.outcome != "no_answer")
        assert 0.25 < refused / answered < 0.55
        assert count(StopPayment) > 0
        assert count(StopPayment, StopPayment.status.in_(("held", "renewed", "frozen"))) > 0
        subjects = set(s.scalars(select(OutboxMessage.subject)))
        assert "antifraud.visit.requested" in subjects
        figures = antifraud.dashboards(db=s, principal=Principal.system("t"), since=START)
        assert figures.money_intercepted > 0 and figures.dissuaded > 0
        assert figures.first_contact_median_s is not None
