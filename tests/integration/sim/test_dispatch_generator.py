"""The dispatch generator drives a living day through the desk's service functions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from pingan.city.service import demo_pbf_path, import_city
from pingan.core import clock
from pingan.core.bus import InProcessBus
from pingan.core.db import Database
from pingan.core.module import Context
from pingan.core.settings import Settings
from pingan.dispatch.models import Incident, IncidentUnit, StandbyPost, Unit, UnitStatusChange
from pingan.dispatch.service import seed_demo_units
from pingan.sim.runner import Simulation
from pingan.sim.scenario import Scenario

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def test_six_hours_of_calls_are_triaged_dispatched_served_and_closed(
    database: Database, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database.url)
    report = import_city(
        db=database, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="t"
    )
    # The force reports its first fixes just before the simulated morning starts.
    with clock.frozen(START - timedelta(minutes=1)), database.session() as session:
        seeded = seed_demo_units(db=session, settings=settings, city_id=report.city_id)
    assert seeded > 0
    ctx = Context(settings=settings, db=database, bus=InProcessBus())
    scenario = Scenario(
        city="helsinki",
        start=START,
        duration=timedelta(hours=6),
        speedup=0,
        seed=7,
        generators=("dispatch",),
    )
    result = asyncio.run(Simulation(scenario, ctx).run())

    assert result.failed == {}, result.failed
    with database.session() as s:
        incidents = s.scalar(select(func.count()).select_from(Incident)) or 0
        dispatched = (
            s.scalar(
                select(func.count())
                .select_from(Incident)
                .where(Incident.dispatched_at.is_not(None))
            )
            or 0
        )
        arrived = s.scalars(select(Incident).where(Incident.first_arrival_at.is_not(None))).all()
        closed = (
            s.scalar(
                select(func.count()).select_from(Incident).where(Incident.closed_at.is_not(None))
            )
            or 0
        )
        moved = (
            s.scalar(select(func.count()).select_from(Unit).where(Unit.position_at > START)) or 0
        )
        still_assigned = (
            s.scalar(
                select(func.count())
                .select_from(IncidentUnit)
                .join(Incident, Incident.id == IncidentUnit.incident_id)
                .where(IncidentUnit.cleared_at.is_(None), Incident.closed_at.is_not(None))
            )
            or 0
        )
        posts = s.scalar(select(func.count()).select_from(StandbyPost)) or 0
        # Standing units send an AVL heartbeat: at the end of the day no unit is silent
        # for more than a couple of minutes (cameras do not report; out-of-service may not).
        end = START + timedelta(hours=6)
        silent = s.scalars(
            select(Unit.callsign).where(
                Unit.kind != "camera",
                Unit.status != "out_of_service",
                Unit.position_at < end - timedelta(seconds=150),
            )
        ).all()
        standby_moves = (
            s.scalar(
                select(func.count())
                .select_from(UnitStatusChange)
                .where(UnitStatusChange.reason == "standby")
            )
            or 0
        )
    # 160 calls a day with a morning profile: a few dozen calls in 06:00-12:00
    assert 10 <= incidents <= 120, incidents
    assert dispatched >= incidents // 3
    assert arrived and all(
        i.received_at <= i.dispatched_at <= i.first_arrival_at  # type: ignore[operator]
        for i in arrived
    )
    assert closed > 0
    assert moved > 0  # units drove (and patrolled) on the road network
    assert still_assigned == 0  # closing released every unit
    assert posts > 0 and standby_moves > 0  # the dispatcher accepted move-up proposals
    assert silent == [], silent
