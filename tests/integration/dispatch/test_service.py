"""The dispatch desk's service on SQLite and PostgreSQL: the call → dispatch → close loop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pingan.city.models import District
from pingan.core import clock
from pingan.core.audit import AuditRecord
from pingan.core.auth.permissions import Principal
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.core.outbox import OutboxMessage
from pingan.dispatch import service
from pingan.dispatch.models import Incident, IncidentUnit, Unit, UnitStatusChange
from pingan.dispatch.recommend import UnitKind
from pingan.dispatch.schemas import (
    CallCreate,
    DispatchCreate,
    IncidentClose,
    PositionUpdate,
    StatusChange,
)

from .conftest import SCENE, World

FIGHT = "有人在街上打架，两个人打起来了"
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def call(world: World, text: str = FIGHT, **where: object) -> int:
    """Report a call (at the scene unless told otherwise); the incident's id."""
    if not where:
        where = {"lon": SCENE[0], "lat": SCENE[1]}
    with world.db.session() as s:
        incident = service.report_call(
            db=s,
            settings=world.settings,
            call_in=CallCreate(text=text, **where),  # type: ignore[arg-type]
            actor="test",
        )
        return incident.id


def read(world: World, incident_id: int) -> dict[str, object]:
    with world.db.session() as s:
        incident = service.get_incident(db=s, incident_id=incident_id)
        return service.incident_read(db=s, incident=incident).model_dump()


def dispatch(
    world: World, incident_id: int, unit_ids: list[int], reason: str | None = None
) -> None:
    with world.db.session() as s:
        service.dispatch_units(
            db=s,
            incident_id=incident_id,
            dispatch_in=DispatchCreate(unit_ids=unit_ids, override_reason=reason),
            actor="dispatcher-1",
        )


def status(world: World, unit_id: int, new: str) -> None:
    with world.db.session() as s:
        service.change_unit_status(
            db=s,
            unit_id=unit_id,
            status_in=StatusChange(status=new),
            actor="officer-1",  # type: ignore[arg-type]
        )


def two_cars(world: World) -> tuple[int, int]:
    near = world.unit("near-car", UnitKind.PATROL_CAR, world.node_at(150))
    far = world.unit("far-car", UnitKind.PATROL_CAR, world.node_at(1200))
    return near, far


def test_call_by_coordinates_is_triaged_and_the_nearer_unit_ranks_first(world: World) -> None:
    near, far = two_cars(world)
    incident_id = call(world)
    got = read(world, incident_id)
    assert got["call_type"] == "fight" and got["priority"] == "P2" and got["police"] is True
    assert got["call_type_label"] == {"zh-CN": "打架斗殴", "en": "Fight"}
    assert got["triage_reasons"], "triage explains itself"
    assert got["status"] == "new" and got["duplicate_of"] is None
    assert got["district"] is not None and got["district"]["code"]  # type: ignore[index]
    recs = got["recommendations"]
    assert [r["unit_id"] for r in recs] == [near, far]  # type: ignore[attr-defined]
    assert recs[0]["eta_s"] < recs[1]["eta_s"]  # type: ignore[index]
    assert recs[0]["reasons"][0]["code"] == "road_eta"  # type: ignore[index]
    with world.db.session() as s:
        subjects = list(s.scalars(select(OutboxMessage.subject)))
        assert "dispatch.incident.reported" in subjects
        payload = s.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.subject == "dispatch.incident.reported"
            )
        ).one()
        assert payload["id"] == incident_id and payload["priority"] == "P2"
        assert "caller_phone" not in payload and "text" not in payload
        audits = list(
            s.scalars(select(AuditRecord).where(AuditRecord.entity == "dispatch_incident"))
        )
        assert [a.action for a in audits] == ["create"]


def test_call_by_address_is_located_on_the_named_road(world: World) -> None:
    incident_id = call(world, "我的钱包被偷了", address="Mannerheimintie 5")
    got = read(world, incident_id)
    assert got["call_type"] == "theft" and got["priority"] == "P3"
    assert got["address"] == "Mannerheimintie 5"
    # Mannerheimintie runs north from the centre; the point is on it, inside the city.
    assert 24.93 < got["lon"] < 24.95 and 60.16 < got["lat"] < 60.18  # type: ignore[operator]


def test_unknown_address_and_outside_coordinates_are_refused_naming_the_field(
    world: World,
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        call(world, address="不存在的路 123")
    assert exc.value.field == "address"
    with pytest.raises(ValidationFailed) as exc:
        call(world, lon=116.39, lat=39.90)  # Beijing is not in the Helsinki extract
    assert exc.value.field == "lon"
    with pytest.raises(ValidationFailed) as exc:
        call(world, lon=24.94)
    assert exc.value.field == "lat"
    with world.db.session() as s:
        assert s.scalars(select(Incident)).first() is None


def test_second_caller_reporting_the_same_fight_is_a_duplicate(world: World) -> None:
    first = call(world)
    second = call(world, "街上有两个人打架", lon=SCENE[0] + 0.0004, lat=SCENE[1])
    got = read(world, second)
    assert got["status"] == "duplicate" and got["duplicate_of"] == first
    assert got["duplicates"][0]["incident_id"] == first  # type: ignore[index]
    assert got["duplicates"][0]["score"] >= 0.6  # type: ignore[index]
    # A different matter at the same corner is not a duplicate.
    other = call(world, "楼上噪音太大，一直在装修")
    assert read(world, other)["duplicate_of"] is None


def test_accepting_the_recommendation_needs_no_reason(world: World) -> None:
    near, far = two_cars(world)
    incident_id = call(world)
    dispatch(world, incident_id, [near, far])
    got = read(world, incident_id)
    assert got["status"] == "dispatched" and got["override_reason"] is None
    assert got["dispatched_at"] is not None
    assert {u["unit_id"] for u in got["units"]} == {near, far}  # type: ignore[attr-defined]
    assert world.get_unit(near).status == "dispatched"
    assert world.get_unit(near).incident_id == incident_id


def test_override_needs_a_reason_which_is_recorded(world: World) -> None:
    _near, far = two_cars(world)
    incident_id = call(world)
    with pytest.raises(ValidationFailed) as exc:
        dispatch(world, incident_id, [far])
    assert exc.value.field == "override_reason"
    assert world.get_unit(far).status == "available"
    dispatch(world, incident_id, [far], reason="近处警车正在处理交通事故")
    got = read(world, incident_id)
    assert got["override_reason"] == "近处警车正在处理交通事故"
    with world.db.session() as s:
        last = s.scalars(
            select(AuditRecord)
            .where(AuditRecord.entity == "dispatch_incident")
            .order_by(AuditRecord.id.desc())
        ).first()
        assert last is not None and last.reason == "近处警车正在处理交通事故"
        assert last.detail["override"] is True


def test_a_unit_cannot_be_dispatched_to_two_incidents(world: World) -> None:
    near, _far = two_cars(world)
    first = call(world)
    second = call(world, "有人持刀抢劫", lon=SCENE[0] + 0.01, lat=SCENE[1] + 0.005)
    dispatch(world, first, [near], reason="只派一辆")
    with pytest.raises(Conflict) as exc:
        dispatch(world, second, [near], reason="再派")
    assert exc.value.field == "unit_ids"
    assert read(world, second)["units"] == []
    # The database itself refuses a second active assignment.
    with pytest.raises(IntegrityError), world.db.session() as s:
        s.add(IncidentUnit(incident_id=second, unit_id=near, dispatched_at=clock.now()))
        s.flush()


def test_concurrent_dispatch_of_one_unit_lets_only_one_win(world: World, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer; the race needs PostgreSQL's concurrent sessions")
    near, _far = two_cars(world)
    first = call(world)
    second = call(world, "有人持刀抢劫", lon=SCENE[0] + 0.01, lat=SCENE[1] + 0.005)
    s1 = world.db.session_factory()
    s2 = world.db.session_factory()
    outcome: dict[str, object] = {}
    try:
        service.dispatch_units(
            db=s1,
            incident_id=first,
            dispatch_in=DispatchCreate(unit_ids=[near], override_reason="one"),
            actor="a",
        )

        def second_dispatcher() -> None:
            try:
                service.dispatch_units(
                    db=s2,
                    incident_id=second,
                    dispatch_in=DispatchCreate(unit_ids=[near], override_reason="two"),
                    actor="b",
                )
                s2.commit()
                outcome["result"] = "committed"
            except Conflict as exc:
                s2.rollback()
                outcome["result"] = exc.field

        racer = threading.Thread(target=second_dispatcher)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive(), "the second dispatcher waits on the first one's index entry"
        s1.commit()
        racer.join(timeout=30)
        assert outcome["result"] == "unit_ids"
    finally:
        s1.close()
        s2.close()
    with world.db.session() as s:
        active = list(
            s.scalars(
                select(IncidentUnit).where(
                    IncidentUnit.unit_id == near, IncidentUnit.cleared_at.is_(None)
                )
            )
        )
        assert [a.incident_id for a in active] == [first]
        assert s.get(Incident, second).status == "new"  # type: ignore[union-attr]


def test_a_status_jump_is_refused_and_changes_nothing(world: World) -> None:
    unit_id = world.unit("car-1", UnitKind.PATROL_CAR, world.node_at(100))
    with world.db.session() as s:
        before = len(list(s.scalars(select(UnitStatusChange))))
    with pytest.raises(Conflict) as exc:
        status(world, unit_id, "on_scene")
    assert exc.value.field == "status"
    assert exc.value.params["current"] == "available" and exc.value.params["new"] == "on_scene"
    assert "available" in exc.value.message("en") and "on_scene" in exc.value.message("en")
    assert world.get_unit(unit_id).status == "available"
    with world.db.session() as s:
        assert len(list(s.scalars(select(UnitStatusChange)))) == before


def test_full_timeline_is_kept_after_close_and_feeds_the_statistics(world: World) -> None:
    with clock.frozen(T0) as frozen:
        near = world.unit("car-1", UnitKind.PATROL_CAR, world.node_at(150))
        far = world.unit("car-2", UnitKind.PATROL_CAR, world.node_at(1200))
        incident_id = call(world)
        frozen.advance(60)
        dispatch(world, incident_id, [near, far])
        frozen.advance(30)
        status(world, near, "en_route")
        frozen.advance(210)
        status(world, near, "on_scene")
        frozen.advance(600)
        with world.db.session() as s:
            service.close_incident(
                db=s,
                incident_id=incident_id,
                close_in=IncidentClose(outcome="双方已调解"),
                actor="dispatcher-1",
            )
        got = read(world, incident_id)
        assert got["status"] == "closed" and got["closed_at"] == T0 + timedelta(seconds=900)
        assert got["first_arrival_at"] == T0 + timedelta(seconds=300)
        with world.db.session() as s:
            steps = service.unit_timeline(db=s, unit_id=near)
            assert [(x.from_status, x.to_status) for x in steps] == [
                (None, "available"),
                ("available", "dispatched"),
                ("dispatched", "en_route"),
                ("en_route", "on_scene"),
                ("on_scene", "available"),
            ]
            assert all(x.incident_id == incident_id for x in steps[1:])
            assert steps[-1].reason == "incident closed"
            assert s.get(Unit, far).status == "available"  # type: ignore[union-attr]
            assert s.get(Unit, near).incident_id is None  # type: ignore[union-attr]
            stats = service.response_statistics(
                db=s,
                principal=Principal.system(),
                since=T0 - timedelta(hours=1),
                until=T0 + timedelta(hours=1),
            )
    assert stats.count == 1
    assert stats.overall.call_to_dispatch.mean == 60.0
    assert stats.overall.dispatch_to_arrival.mean == 240.0
    assert stats.overall.total.mean == 300.0
    assert stats.overall.within_target == 1.0  # 300 s meets the urban 5-minute target
    assert [g.key for g in stats.by_priority] == ["P2"]
    assert [g.key for g in stats.by_hour] == ["16"]  # 08:00 UTC is 16:00 in China
    with world.db.session() as s:
        subjects = set(s.scalars(select(OutboxMessage.subject)))
    assert {
        "dispatch.incident.reported",
        "dispatch.units.dispatched",
        "dispatch.unit.status_changed",
        "dispatch.incident.closed",
    } <= subjects


def test_stale_positions_are_flagged_and_a_report_refreshes_them(world: World) -> None:
    with clock.frozen(T0) as frozen:
        unit_id = world.unit("car-1", UnitKind.PATROL_CAR, world.node_at(100))
        camera = world.unit("cam-1", UnitKind.CAMERA, world.node_at(50), coverage_m=80.0)
        with world.db.session() as s:
            fresh = {u.id: u.stale for u in service.list_units(db=s, principal=Principal.system())}
        assert fresh == {unit_id: False, camera: False}
        frozen.advance(121)
        with world.db.session() as s:
            later = {u.id: u.stale for u in service.list_units(db=s, principal=Principal.system())}
        assert later == {unit_id: True, camera: False}
        node = world.node_at(300)
        with world.db.session() as s:
            service.update_position(
                db=s,
                unit_id=unit_id,
                position_in=PositionUpdate(
                    lon=float(world.graph.lon[node]), lat=float(world.graph.lat[node])
                ),
                actor="avl",
                data_dir=world.settings.data_dir,
            )
            unit = s.get(Unit, unit_id)
            assert unit is not None and unit.node == node
            assert not service.is_stale(unit, clock.now(), 120)


def test_positions_outside_the_city_and_unknown_units_are_refused(world: World) -> None:
    unit_id = world.unit("car-1", UnitKind.PATROL_CAR, world.node_at(100))
    before = world.get_unit(unit_id)
    with pytest.raises(ValidationFailed) as exc, world.db.session() as s:
        service.update_position(
            db=s,
            unit_id=unit_id,
            position_in=PositionUpdate(lon=0.0, lat=0.0),
            actor="avl",
            data_dir=world.settings.data_dir,
        )
    assert exc.value.field == "lon"
    after = world.get_unit(unit_id)
    assert (after.lon, after.lat, after.position_at) == (
        before.lon,
        before.lat,
        before.position_at,
    )
    with pytest.raises(NotFound) as missing, world.db.session() as s:
        service.change_unit_status(
            db=s,
            unit_id=999_999,
            status_in=StatusChange(status="en_route"),
            actor="x",  # type: ignore[arg-type]
        )
    assert missing.value.field == "unit_id"
    incident_id = call(world)
    with pytest.raises(NotFound) as missing:
        dispatch(world, incident_id, [999_999], reason="unknown")
    assert missing.value.field == "unit_ids"


def test_a_district_user_sees_only_their_districts_incidents_and_units(world: World) -> None:
    with world.db.session() as s:
        districts = list(s.scalars(select(District).where(District.city_id == world.city_id)))
        home = s.scalars(select(Incident)).first()
    assert home is None
    mine_id = call(world)
    with world.db.session() as s:
        mine = s.get(Incident, mine_id)
        assert mine is not None
        my_district = next(d for d in districts if d.id == mine.district_id)
        other_district = next(d for d in districts if d.id != mine.district_id)
    # A call placed in another district: at one of that district's own nodes.
    with world.db.session() as s:
        city = s.get(District, other_district.id)
        assert city is not None
        ids = service.node_districts(
            db=s,
            city=city.city,
            graph=world.graph,
        )
    node = int((ids == other_district.id).nonzero()[0][0])
    theirs_id = call(
        world, "我的钱包被偷了", lon=float(world.graph.lon[node]), lat=float(world.graph.lat[node])
    )
    my_unit = world.unit("mine", UnitKind.FOOT, world.node_at(80))
    their_unit = world.unit("theirs", UnitKind.FOOT, node)
    user = Principal(
        username="district-dispatcher",
        roles=frozenset({"dispatcher"}),
        jurisdiction_ids=frozenset({my_district.jurisdiction_id or -1}),
    )
    with world.db.session() as s:
        seen = [i.id for i in service.list_incidents(db=s, principal=user, status="all")]
        assert seen == [mine_id]
        assert [u.id for u in service.list_units(db=s, principal=user)] == [my_unit]
        with pytest.raises(NotFound):
            service.get_incident(db=s, incident_id=theirs_id, principal=user)
        with pytest.raises(NotFound):
            service.get_unit(db=s, unit_id=their_unit, principal=user)
        everything = service.list_incidents(db=s, principal=Principal.system(), status="all")
        assert {i.id for i in everything} == {mine_id, theirs_id}


def test_demo_force_is_seeded_once(world: World) -> None:
    with world.db.session() as s:
        created = service.seed_demo_units(db=s, settings=world.settings, city_id=world.city_id)
    with world.db.session() as s:
        units = list(s.scalars(select(Unit)))
        districts = list(s.scalars(select(District).where(District.city_id == world.city_id)))
        again = service.seed_demo_units(db=s, settings=world.settings, city_id=world.city_id)
    assert created == len(units) and again == 0
    assert all(u.demo for u in units)
    kinds = [u.kind for u in units]
    assert kinds.count("patrol_car") == 2 * len(districts)
    assert kinds.count("drone") == 2 and kinds.count("k9") == 1
    assert 0 < kinds.count("camera") <= 30
    assert all(u.coverage_m == 80.0 for u in units if u.kind == "camera")
    assert all(u.jurisdiction_id is not None for u in units)
