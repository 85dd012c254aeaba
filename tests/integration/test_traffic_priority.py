"""Emergency priority on the demo city: dispatch events → green corridors → restore, and the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.city.graph import RoadGraph, haversine_m
from pingan.city.models import City, District, Poi
from pingan.city.service import demo_pbf_path, import_city, load_graph
from pingan.core import clock
from pingan.core.auth.deps import Principal, get_principal
from pingan.core.bus import InProcessBus
from pingan.core.db import Base, Database
from pingan.core.events import event_types
from pingan.core.module import Context
from pingan.core.outbox import OutboxMessage, idempotent_handler
from pingan.core.settings import Settings
from pingan.traffic import handlers
from pingan.traffic import priority_service as service
from pingan.traffic.priority_models import PriorityCorridor, PriorityRequest, PriorityUnit
from pingan.traffic.priority_routes import router as priority_router
from pingan.web.app import create_app

SCENE = (24.9395, 60.1650)
"""A street corner in Kamppi, central Helsinki (inside the demo extract)."""
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def frozen() -> Iterator[clock.FrozenClock]:
    fake = clock.FrozenClock(T0)
    previous = clock.set_clock(fake)
    try:
        yield fake
    finally:
        clock.set_clock(previous)


@dataclass
class World:
    """The demo city in a test database, with the platform's app around it."""

    app: FastAPI
    db: Database
    settings: Settings
    city_id: int
    graph: RoadGraph
    caller: dict[str, Any]

    @property
    def ctx(self) -> Context:
        return Context(settings=self.settings, db=self.db, bus=InProcessBus())

    def point_at(self, metres: float) -> tuple[float, float]:
        """A road node about ``metres`` (straight line) from the scene."""
        d = haversine_m(self.graph.lon, self.graph.lat, SCENE[0], SCENE[1])
        node = int(np.argmin(np.abs(d - metres)))
        return float(self.graph.lon[node]), float(self.graph.lat[node])

    def dispatched(
        self, incident_id: int, unit_id: int, start: tuple[float, float], **kw: Any
    ) -> dict[str, Any]:
        """The payload of ``dispatch.units.dispatched`` for one car sent from ``start``."""
        return {
            "incident_id": incident_id,
            "unit_ids": [unit_id],
            "callsigns": f"C-{unit_id}",
            "override": False,
            "priority": kw.get("priority", "P1"),
            "lon": SCENE[0],
            "lat": SCENE[1],
            "unit_kinds": [kw.get("kind", "patrol_car")],
            "unit_positions": [list(start)],
        }


@pytest.fixture
def world(settings: Settings, database: Database, frozen: clock.FrozenClock) -> Iterator[World]:
    app = create_app(settings, background=False)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/api/traffic/priority/active" not in paths:
        # Until the desk's router includes it (its prefix is /traffic).
        app.include_router(priority_router, prefix="/api/traffic")
    db = app.state.ctx.db
    Base.metadata.create_all(db.engine)
    report = import_city(
        db=db, path=demo_pbf_path(), name="helsinki", data_dir=settings.data_dir, actor="t"
    )
    with db.session() as s:
        city = s.get(City, report.city_id)
        assert city is not None
        graph = load_graph(city=city, data_dir=settings.data_dir)
    caller: dict[str, Any] = {"roles": frozenset({"traffic"}), "all": True, "ids": frozenset()}
    app.dependency_overrides[get_principal] = lambda: Principal(
        username="u",
        roles=caller["roles"],
        all_jurisdictions=caller["all"],
        jurisdiction_ids=caller["ids"],
    )
    yield World(app, db, settings, report.city_id, graph, caller)


def _corridors(db: Database) -> list[PriorityCorridor]:
    with db.session() as s:
        rows = list(s.scalars(select(PriorityCorridor).order_by(PriorityCorridor.id)))
        for row in rows:
            _ = row.requests
        s.expunge_all()
        return rows


def _subjects(db: Database, subject: str) -> int:
    with db.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.subject == subject)
            )
            or 0
        )


def test_units_sent_with_lights_get_an_ordered_corridor_of_signal_requests(world: World) -> None:
    start = world.point_at(900)
    with world.db.session() as s:
        opened = handlers.on_units_dispatched(s, world.dispatched(7, 11, start), world.ctx)
    assert opened == 1
    (corridor,) = _corridors(world.db)
    assert corridor.status == "active" and corridor.kind == "incident"
    assert corridor.unit_id == 11 and corridor.incident_id == 7 and corridor.priority == "P1"
    assert corridor.callsign == "C-11"
    assert corridor.route_s > 0 and len(corridor.geometry) >= 2
    reqs = corridor.requests
    assert len(reqs) >= 2, "a 900 m drive through Kamppi crosses signalised junctions"
    # In driving order, each asked ahead of the vehicle by the lead time + the safe transition.
    etas = [r.eta_at for r in reqs]
    assert etas == sorted(etas) and [r.seq for r in reqs] == list(range(len(reqs)))
    assert [r.route_index for r in reqs] == sorted(r.route_index for r in reqs)
    settings = service.priority_settings()
    for r in reqs:
        assert r.eta_at > T0
        assert r.request_at >= T0
        lead = (r.eta_at - r.request_at).total_seconds()
        wanted = settings.lead_s + r.transition_s
        assert lead == pytest.approx(min(wanted, (r.eta_at - T0).total_seconds()), abs=1e-3)
        # Transition = minimum green + yellow (+ all-red) of the plan, never less.
        kinds = [p["kind"] for p in r.plan["phases"]]
        assert "yellow" in kinds and r.transition_s >= settings.min_green_s + 3.0
        assert r.plan["phases"][r.phase]["kind"] == "green"
        assert r.state in ("requested", "serving")
    # The desk's signals: every request stands on a signal of the city.
    from pingan.traffic.models import TrafficSignal

    with world.db.session() as s:
        nodes = {sig.node_index for sig in s.scalars(select(TrafficSignal))}
        assert {r.node for r in reqs} <= nodes
        unit = s.get(PriorityUnit, 11)
        assert unit is not None and unit.status == "dispatched" and unit.lon == start[0]
    assert _subjects(world.db, "traffic.priority.requested") == 1


def test_no_corridor_without_lights_or_for_a_foot_patrol(world: World) -> None:
    start = world.point_at(700)
    with world.db.session() as s:
        assert (
            handlers.on_units_dispatched(s, world.dispatched(1, 1, start, priority="P3"), world.ctx)
            == 0
        )
        assert (
            handlers.on_units_dispatched(s, world.dispatched(2, 2, start, kind="foot"), world.ctx)
            == 0
        )
        # An event without positions (a dispatch desk that does not send them): logged, nothing.
        bare = world.dispatched(3, 3, start)
        del bare["unit_positions"]
        assert handlers.on_units_dispatched(s, bare, world.ctx) == 0
    assert _corridors(world.db) == []


def test_the_same_dispatch_twice_keeps_one_corridor(world: World) -> None:
    payload = world.dispatched(7, 11, world.point_at(800))
    with world.db.session() as s:
        handlers.on_units_dispatched(s, payload, world.ctx)
    with world.db.session() as s:
        assert handlers.on_units_dispatched(s, payload, world.ctx) == 0
    assert len(_corridors(world.db)) == 1


def test_signals_serve_release_and_restore_on_time_then_the_corridor_clears(
    world: World, frozen: clock.FrozenClock
) -> None:
    with world.db.session() as s:
        handlers.on_units_dispatched(s, world.dispatched(7, 11, world.point_at(900)), world.ctx)
    (corridor,) = _corridors(world.db)
    first = corridor.requests[0]
    # At the first request time the signal serves; later ones still wait.
    frozen.set(first.request_at)
    with world.db.session() as s:
        service.advance(db=s)
    (corridor,) = _corridors(world.db)
    assert corridor.requests[0].state == "serving"
    assert (
        corridor.requests[-1].state == "requested"
        or corridor.requests[-1].request_at <= first.request_at
    )
    # No position: the signal is released at ETA + margin and restored by the shortest way.
    frozen.set(first.serve_until + timedelta(seconds=0.5))
    with world.db.session() as s:
        service.advance(db=s)
    (corridor,) = _corridors(world.db)
    r0 = corridor.requests[0]
    assert r0.state in ("released", "restored") and r0.release_reason == "eta"
    assert r0.released_at == first.serve_until
    assert r0.restore_at is not None and r0.restore_s is not None
    # The way back takes no longer than one cycle of minimum greens and full changes.
    cycle_min = sum(
        service.priority_settings().min_green_s if p["kind"] == "green" else p["duration_s"]
        for p in r0.plan["phases"]
    )
    assert 0 <= r0.restore_s <= cycle_min + 1e-6
    # Long after the last ETA every signal is restored and the corridor clears by itself.
    frozen.set(max(r.serve_until for r in corridor.requests) + timedelta(minutes=5))
    with world.db.session() as s:
        service.advance(db=s)
    (corridor,) = _corridors(world.db)
    assert corridor.status == "cleared" and "passed" in corridor.reason
    assert all(r.state == "restored" for r in corridor.requests)
    assert _subjects(world.db, "traffic.priority.cleared") == 1


def test_a_position_past_a_signal_releases_it_before_its_eta(
    world: World, frozen: clock.FrozenClock
) -> None:
    with world.db.session() as s:
        handlers.on_units_dispatched(s, world.dispatched(7, 11, world.point_at(900)), world.ctx)
    (corridor,) = _corridors(world.db)
    second = corridor.requests[1]
    # The unit reports a position on the route just beyond the second signal.
    beyond = corridor.route_nodes[second.route_index + 1]
    frozen.set(second.request_at + timedelta(seconds=1))
    payload = {
        "unit_id": 11,
        "callsign": "C-11",
        "from_status": "dispatched",
        "to_status": "en_route",
        "incident_id": 7,
        "lon": float(world.graph.lon[beyond]),
        "lat": float(world.graph.lat[beyond]),
    }
    with world.db.session() as s:
        handlers.on_unit_status_changed(s, payload, world.ctx)
    (corridor,) = _corridors(world.db)
    assert [r.release_reason for r in corridor.requests[:2]] == ["passed", "passed"]
    assert all(r.release_reason is None for r in corridor.requests[2:])
    assert corridor.status == "active"


async def test_arrival_clears_the_corridor_and_redelivery_changes_nothing(
    world: World, frozen: clock.FrozenClock
) -> None:
    with world.db.session() as s:
        handlers.on_units_dispatched(s, world.dispatched(7, 11, world.point_at(900)), world.ctx)
    frozen.advance(30)
    status_changed = event_types()["dispatch.unit.status_changed"]
    arrived = status_changed.model_validate(
        {
            "unit_id": 11,
            "callsign": "C-11",
            "from_status": "en_route",
            "to_status": "on_scene",
            "incident_id": 7,
        }
    )
    (sub,) = handlers.SUBSCRIPTIONS
    handle = idempotent_handler(world.ctx, sub)
    await handle(arrived.envelope())
    await handle(arrived.envelope())  # redelivered: no second effect
    (corridor,) = _corridors(world.db)
    assert corridor.status == "cleared" and corridor.reason.endswith("arrived")
    assert corridor.ended_at == T0 + timedelta(seconds=30)
    assert all(r.state in ("released", "restored") for r in corridor.requests)
    assert {r.release_reason for r in corridor.requests} <= {"ended", "eta"}
    assert _subjects(world.db, "traffic.priority.cleared") == 1


def test_incident_closed_clears_every_corridor_towards_it(world: World) -> None:
    with world.db.session() as s:
        handlers.on_units_dispatched(s, world.dispatched(7, 11, world.point_at(900)), world.ctx)
        handlers.on_units_dispatched(s, world.dispatched(7, 12, world.point_at(600)), world.ctx)
        handlers.on_units_dispatched(s, world.dispatched(8, 13, world.point_at(600)), world.ctx)
    closed = event_types()["dispatch.incident.closed"].model_validate(
        {"id": 7, "call_type": "fight", "priority": "P1"}
    )
    with world.db.session() as s:
        handlers.on_dispatch_event(s, closed, world.ctx)
    status = {c.unit_id: c.status for c in _corridors(world.db)}
    assert status == {11: "cleared", 12: "cleared", 13: "active"}


def test_transport_gets_a_corridor_to_the_nearest_hospital(world: World) -> None:
    with world.db.session() as s:
        handlers.on_units_dispatched(s, world.dispatched(7, 11, world.point_at(900)), world.ctx)
        handlers.on_unit_status_changed(
            s,
            {
                "unit_id": 11,
                "callsign": "C-11",
                "from_status": "on_scene",
                "to_status": "transporting",
                "incident_id": 7,
            },
            world.ctx,
        )
    first, second = _corridors(world.db)
    assert first.status == "cleared" and second.status == "active" and second.kind == "hospital"
    # From the scene (where the unit stood) to a hospital (the demo extract has clinics only).
    assert haversine_m(second.origin_lon, second.origin_lat, first.dest_lon, first.dest_lat) < 1
    with world.db.session() as s:
        poi = s.get(Poi, second.hospital_id)
        assert poi is not None and poi.kind in ("hospital", "clinic")
        # Back in service after the transport: delivered.
        handlers.on_unit_status_changed(
            s,
            {
                "unit_id": 11,
                "callsign": "C-11",
                "from_status": "transporting",
                "to_status": "available",
            },
            world.ctx,
        )
    assert _corridors(world.db)[1].status == "cleared"


# ------------------------------------------------------------------------------ the API


def test_manual_request_read_and_cancel_through_the_api(world: World) -> None:
    start = world.point_at(900)
    with TestClient(world.app) as client:
        r = client.post(
            "/api/traffic/priority/requests",
            json={"origin": {"lon": start[0], "lat": start[1]}, "reason": "ambulance to clinic"},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["kind"] == "hospital" and body["status"] == "active"
        assert body["geometry"]["type"] == "LineString"
        assert body["signals"] and body["signals"][0]["state"] in ("requested", "serving")
        active = client.get("/api/traffic/priority/active").json()
        assert [c["id"] for c in active["corridors"]] == [body["id"]]
        assert client.get(f"/api/traffic/priority/{body['id']}").json()["id"] == body["id"]
        r = client.post(f"/api/traffic/priority/{body['id']}/cancel", json={"reason": "wrong unit"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled"
        assert all(s["state"] in ("released", "restored") for s in r.json()["signals"])
        assert client.get("/api/traffic/priority/active").json()["corridors"] == []
        again = client.post(f"/api/traffic/priority/{body['id']}/cancel", json={"reason": "x"})
        assert again.status_code == 409 and again.json()["error"]["field"] == "corridor_id"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"reason": "x"}, "origin", 422),
        ({"origin": {"lon": 24.94, "lat": 60.17}, "unit_id": 3, "reason": "x"}, "origin", 422),
        ({"origin": {"lon": 200, "lat": 60.17}, "reason": "x"}, "lon", 422),
        ({"origin": {"lon": 24.94, "lat": 60.17}}, "reason", 422),
        ({"origin": {"lon": 10.0, "lat": 50.0}, "reason": "x"}, "origin", 422),
        (
            {
                "origin": {"lon": 24.94, "lat": 60.17},
                "destination": {"lon": 10.0, "lat": 50.0},
                "reason": "x",
            },
            "destination",
            422,
        ),
        (
            {
                "origin": {"lon": 24.94, "lat": 60.17},
                "destination": {"lon": 24.945, "lat": 60.17},
                "hospital_id": 1,
                "reason": "x",
            },
            "hospital_id",
            422,
        ),
        (
            {"origin": {"lon": 24.94, "lat": 60.17}, "hospital_id": 999999, "reason": "x"},
            "hospital_id",
            404,
        ),
        ({"unit_id": 4242, "reason": "x"}, "unit_id", 404),
    ],
)
def test_bad_requests_name_the_field_and_write_nothing(
    world: World, body: dict[str, Any], field: str, code: int
) -> None:
    with TestClient(world.app) as client:
        r = client.post(
            "/api/traffic/priority/requests", json=body, headers={"Accept-Language": "en"}
        )
    assert r.status_code == code, r.text
    error = r.json()["error"]
    assert field in (error.get("field") or "") or any(
        field in str(p.get("field", "")) for p in error.get("problems", [])
    ), error
    assert _corridors(world.db) == []


def test_roles_and_jurisdictions_are_enforced(world: World) -> None:
    start = world.point_at(900)
    with world.db.session() as s:
        districts = [
            d.jurisdiction_id
            for d in s.scalars(select(District).where(District.city_id == world.city_id))
        ]
    with TestClient(world.app) as client:
        world.caller["roles"] = frozenset({"analyst"})  # may read, may not ask for priority
        r = client.post(
            "/api/traffic/priority/requests",
            json={"origin": {"lon": start[0], "lat": start[1]}, "reason": "x"},
        )
        assert r.status_code == 403
        assert client.get("/api/traffic/priority/active").status_code == 200
        world.caller["roles"] = frozenset({"officer"})  # no traffic permission at all
        assert client.get("/api/traffic/priority/active").status_code == 403
        world.caller["roles"] = frozenset({"dispatcher"})
        r = client.post(
            "/api/traffic/priority/requests",
            json={
                "origin": {"lon": start[0], "lat": start[1]},
                "destination": {"lon": SCENE[0], "lat": SCENE[1]},
                "reason": "x",
            },
        )
        assert r.status_code == 201, r.text
        corridor_id, jurisdiction = r.json()["id"], r.json()["jurisdiction_id"]
        assert jurisdiction is not None
        # A dispatcher of another jurisdiction neither sees it nor may ask for green there.
        other = frozenset(
            {j for j in districts if j is not None and j != jurisdiction} or {999_999}
        )
        world.caller.update(all=False, ids=other)
        assert client.get("/api/traffic/priority/active").json()["corridors"] == []
        assert client.get(f"/api/traffic/priority/{corridor_id}").status_code == 404
        assert (
            client.post(
                f"/api/traffic/priority/{corridor_id}/cancel", json={"reason": "x"}
            ).status_code
            == 404
        )
        r = client.post(
            "/api/traffic/priority/requests",
            json={
                "origin": {"lon": start[0], "lat": start[1]},
                "destination": {"lon": SCENE[0], "lat": SCENE[1]},
                "reason": "x",
            },
        )
        assert r.status_code == 403
        # Its own jurisdiction: visible.
        world.caller.update(ids=frozenset({jurisdiction}))
        assert client.get(f"/api/traffic/priority/{corridor_id}").status_code == 200
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(PriorityCorridor)) == 1
        assert (s.scalar(select(func.count()).select_from(PriorityRequest)) or 0) >= 1
