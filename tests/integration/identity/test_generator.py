"""The identity generator: residents show their digital ID at the demo relying parties."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from pingan.core.auth.permissions import Principal
from pingan.core.bus import InProcessBus
from pingan.core.db import Database
from pingan.core.module import Context
from pingan.core.privacy import is_valid_id_number
from pingan.core.settings import Settings
from pingan.identity import service as identity
from pingan.identity.models import Credential, RelyingParty, Verification
from pingan.sim.generators.identity import RESIDENTS, resident_id_number
from pingan.sim.runner import Simulation
from pingan.sim.scenario import Scenario

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 18:00 China time: the evening peak


def test_generated_residents_have_valid_id_numbers() -> None:
    import random

    rng = random.Random(1)
    for year in (1950, 1988, 2008):
        assert is_valid_id_number(resident_id_number(rng, datetime(year, 2, 28).date()))


def test_six_hours_of_id_checks_make_the_usage_figures(database: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database.url)
    ctx = Context(settings=settings, db=database, bus=InProcessBus())
    scenario = Scenario(
        city="helsinki",
        start=START,
        duration=timedelta(hours=6),
        speedup=0,
        seed=11,
        generators=("identity",),
    )
    result = asyncio.run(Simulation(scenario, ctx).run())
    assert result.failed == {}, result.failed
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Credential)) == RESIDENTS
        assert s.scalar(select(func.count()).select_from(RelyingParty)) == 4
        uses = s.scalar(select(func.count()).select_from(Verification)) or 0
        assert uses > 50
        reasons = set(s.scalars(select(Verification.reason)))
        assert "accepted" in reasons
        assert reasons <= {"accepted", "revoked", "kb_stale", "kb_bad_signature", "malformed"}
        report = identity.usage(
            db=s,
            principal=Principal.system("test"),
            since=START,
            until=START + timedelta(hours=6),
        )
    assert report.uses == uses
    assert 1 < report.distinct_people <= RESIDENTS
    assert report.distinct_enterprises == 4
    assert {d.scenario for d in report.days} == {
        "internet_cafe",
        "hotel_checkin",
        "ticket_gate",
        "hospital_registration",
    }
