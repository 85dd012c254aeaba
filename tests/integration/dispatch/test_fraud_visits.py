"""An anti-fraud visit request becomes a dispatch incident, once, through the real consumer."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pingan.antifraud.events import VisitRequested
from pingan.city.models import District
from pingan.core.auth.models import Jurisdiction
from pingan.core.bus import InProcessBus
from pingan.core.module import Context
from pingan.core.outbox import idempotent_handler
from pingan.dispatch import module as dispatch_module
from pingan.dispatch.models import Incident
from pingan.dispatch.recommend import UnitKind

from .conftest import SCENE, World


def _subscription(ctx: Context) -> object:
    (sub,) = [s for s in dispatch_module().subscriptions if s.pattern == VisitRequested.subject]
    return idempotent_handler(ctx, sub)


async def test_a_visit_request_becomes_one_fraud_incident_with_a_community_unit(
    world: World,
) -> None:
    foot = world.unit("FOOT-1", UnitKind.FOOT, world.node_at(250))
    ctx = Context(settings=world.settings, db=world.db, bus=InProcessBus())
    handle = _subscription(ctx)
    event = VisitRequested(
        warning_id=42,
        jurisdiction=None,
        lon=SCENE[0],
        lat=SCENE[1],
        urgency="immediate",
        level="high",
        typology="impersonating_police",
        note="电话劝阻两次被拒",
    )
    await handle(event.envelope())  # type: ignore[operator]
    await handle(event.envelope())  # type: ignore[operator]  # redelivered: no second task
    with world.db.session() as s:
        (incident,) = s.scalars(select(Incident)).all()
        assert incident.call_type == "fraud" and incident.police
        assert incident.priority == "P1"  # an immediate visit
        assert "预警 42" in incident.call_text and "电话劝阻两次被拒" in incident.call_text
        assert [r["unit_id"] for r in incident.recommendation] == [foot]
        assert incident.triage_reasons[-1]["rule"] == "dispatcher"


async def test_a_visit_without_coordinates_goes_to_the_persons_district(world: World) -> None:
    with world.db.session() as s:
        district, code = s.execute(
            select(District, Jurisdiction.code)
            .join(Jurisdiction, Jurisdiction.id == District.jurisdiction_id)
            .where(District.city_id == world.city_id)
            .order_by(District.node_count.desc())
        ).first()  # type: ignore[misc]
        district_id = district.id
    ctx = Context(settings=world.settings, db=world.db, bus=InProcessBus())
    handle = _subscription(ctx)
    event = VisitRequested(
        warning_id=7, jurisdiction=code, urgency="normal", level="medium", typology="loan"
    )
    await handle(event.envelope())  # type: ignore[operator]
    with world.db.session() as s:
        (incident,) = s.scalars(select(Incident)).all()
        assert incident.district_id == district_id and incident.call_type == "fraud"
        assert incident.priority == "P3"  # the fraud type's own priority
    # A place nobody can find is logged, not turned into a task, and not retried.
    lost = VisitRequested(
        warning_id=8, jurisdiction="nowhere", urgency="urgent", level="high", typology="loan"
    )
    await handle(lost.envelope())  # type: ignore[operator]
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 1


@pytest.mark.parametrize("urgency", ["urgent"])
async def test_urgent_visits_are_p2(world: World, urgency: str) -> None:
    ctx = Context(settings=world.settings, db=world.db, bus=InProcessBus())
    handle = _subscription(ctx)
    event = VisitRequested(
        warning_id=9,
        jurisdiction=None,
        lon=SCENE[0],
        lat=SCENE[1],
        urgency=urgency,
        level="high",
        typology="loan",
    )
    await handle(event.envelope())  # type: ignore[operator]
    with world.db.session() as s:
        (incident,) = s.scalars(select(Incident)).all()
        assert incident.priority == "P2"
