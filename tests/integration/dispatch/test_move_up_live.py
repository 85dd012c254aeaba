"""Move-up on the live desk (补位) through the real app: posts, proposals, accepting, limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.city.graph import haversine_m
from pingan.city.models import City
from pingan.city.service import demo_pbf_path, import_city, load_graph
from pingan.core import clock
from pingan.core.audit import AuditRecord
from pingan.core.auth.deps import Principal, get_principal
from pingan.core.db import Base
from pingan.core.outbox import OutboxMessage
from pingan.core.settings import Settings
from pingan.dispatch.models import Incident, Unit, UnitStatusChange
from pingan.dispatch.settings import dispatch_settings
from pingan.web.app import create_app

from .conftest import SCENE

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
AREA_B_M = 1800.0
"""Area B lies this far (straight line) from area A (the Kamppi corner)."""


@pytest.fixture
def api(
    settings: Settings, database: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    monkeypatch.setenv("PINGAN_DISPATCH__MOVE_UP_MAX_PER_HOUR", "1")
    dispatch_settings.cache_clear()
    app = create_app(settings, background=False)
    db = app.state.ctx.db
    Base.metadata.create_all(db.engine)
    report = import_city(
        db=db, path=demo_pbf_path(), name="helsinki", data_dir=settings.data_dir, actor="t"
    )
    with db.session() as s:
        city = s.get(City, report.city_id)
        assert city is not None
        graph = load_graph(city=city, data_dir=settings.data_dir)
    caller: dict[str, Any] = {"roles": frozenset({"commander"})}
    app.dependency_overrides[get_principal] = lambda: Principal(
        username="u", roles=caller["roles"], all_jurisdictions=True
    )
    d = haversine_m(graph.lon, graph.lat, *SCENE)
    node_a = int(np.argmin(d))
    node_b = int(np.argmin(np.abs(d - AREA_B_M)))
    with clock.frozen(NOW), TestClient(app) as client:
        yield (
            client,
            {
                "city_id": report.city_id,
                "caller": caller,
                "db": db,
                "graph": graph,
                "a": node_a,
                "b": node_b,
            },
        )
    dispatch_settings.cache_clear()


def _near(graph: Any, node: int, metres: float, k: int) -> list[int]:
    d = haversine_m(graph.lon, graph.lat, float(graph.lon[node]), float(graph.lat[node]))
    return [int(n) for n in np.flatnonzero(d <= metres)[:k]]


def _record_incidents(ctx: dict[str, Any]) -> None:
    """30 past calls around area A and 30 around area B (closed, in the last days)."""
    graph = ctx["graph"]
    with ctx["db"].session() as s:
        for i, node in enumerate(
            _near(graph, ctx["a"], 250, 30) * 1 + _near(graph, ctx["b"], 250, 30)
        ):
            s.add(
                Incident(
                    city_id=ctx["city_id"],
                    lon=float(graph.lon[node]),
                    lat=float(graph.lat[node]),
                    node=node,
                    call_text="历史警情",
                    priority="P3",
                    status="closed",
                    received_at=NOW - timedelta(hours=6 + i),
                )
            )


def _car(client: TestClient, ctx: dict[str, Any], callsign: str, node: int) -> int:
    graph = ctx["graph"]
    r = client.post(
        "/api/dispatch/units",
        json={
            "callsign": callsign,
            "kind": "patrol_car",
            "city_id": ctx["city_id"],
            "lon": float(graph.lon[node]),
            "lat": float(graph.lat[node]),
        },
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _count(db: Any, model: Any, *where: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_posts_fall_back_to_pois_when_few_incidents(
    api: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = api
    _car(client, ctx, "A-1", ctx["a"])
    r = client.post(f"/api/dispatch/standby-posts/plan?city_id={ctx['city_id']}")
    assert r.status_code == 200, r.text
    assert [p["basis"] for p in r.json()] == ["pois"]
    r = client.get(f"/api/dispatch/move-up?city_id={ctx['city_id']}")
    assert r.json()["basis"] == "pois"


def test_move_up_after_dispatching_the_only_car_of_an_area(
    api: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = api
    db, graph, city_id = ctx["db"], ctx["graph"], ctx["city_id"]
    _record_incidents(ctx)
    a1 = _car(client, ctx, "A-1", ctx["a"])
    b1 = _car(client, ctx, "B-1", ctx["b"])
    b2 = _car(client, ctx, "B-2", ctx["b"])

    # before planning: nothing to propose, and the answer says so
    r = client.get(f"/api/dispatch/move-up?city_id={city_id}")
    assert r.status_code == 200 and r.json()["posts_planned"] is False

    r = client.post(f"/api/dispatch/standby-posts/plan?city_id={city_id}")
    assert r.status_code == 200, r.text
    posts = r.json()
    assert [p["rank"] for p in posts] == [1, 2, 3]
    assert {p["basis"] for p in posts} == {"incidents"}
    assert client.get(f"/api/dispatch/standby-posts?city_id={city_id}").json() == posts
    lon_a, lat_a = float(graph.lon[ctx["a"]]), float(graph.lat[ctx["a"]])
    lon_b, lat_b = float(graph.lon[ctx["b"]]), float(graph.lat[ctx["b"]])

    def in_a(p: dict[str, Any]) -> bool:
        da = float(haversine_m(np.array([p["lon"]]), np.array([p["lat"]]), lon_a, lat_a)[0])
        db_ = float(haversine_m(np.array([p["lon"]]), np.array([p["lat"]]), lon_b, lat_b)[0])
        return da < db_

    assert any(in_a(p) for p in posts[:2]) and not all(in_a(p) for p in posts[:2])

    # the only car of area A goes to a call there
    r = client.post(
        "/api/dispatch/incidents",
        json={"text": "有人打架", "lon": lon_a, "lat": lat_a, "received_at": NOW.isoformat()},
    )
    assert r.status_code == 201, r.text
    incident = r.json()["id"]
    r = client.post(
        f"/api/dispatch/incidents/{incident}/dispatch",
        json={"unit_ids": [a1], "override_reason": "区域警力"},
    )
    assert r.status_code == 200, r.text

    r = client.get(f"/api/dispatch/move-up?city_id={city_id}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["posts_planned"] and body["basis"] == "incidents" and body["idle_units"] == 2
    toward_a = [
        p
        for p in body["proposals"]
        if in_a({"lon": p["post_lon"], "lat": p["post_lat"]}) and p["unit_id"] in (b1, b2)
    ]
    assert len(toward_a) == 1, body
    proposal = toward_a[0]
    codes = [reason["code"] for reason in proposal["reasons"]]
    assert "post_uncovered" in codes and "expected_gain" in codes
    assert proposal["eta_s"] > 0 and proposal["expected_gain_s"] > 0
    assert body["expected_response_after_s"] < body["expected_response_s"]

    # the dispatcher accepts: the target post is recorded, audited, announced
    ctx["caller"]["roles"] = frozenset({"dispatcher"})
    audits = _count(db, AuditRecord, AuditRecord.entity == "dispatch_unit")
    r = client.post(
        f"/api/dispatch/units/{proposal['unit_id']}/standby",
        json={"rank": proposal["post_rank"]},
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["status"] == "available"  # moving to cover, still assignable
    assert moved["standby_node"] == proposal["post_node"]
    assert moved["standby_since"] is not None
    assert _count(db, AuditRecord, AuditRecord.entity == "dispatch_unit") == audits + 1
    assert _count(db, OutboxMessage, OutboxMessage.subject == "dispatch.unit.standby") == 1
    assert (
        _count(
            db,
            UnitStatusChange,
            UnitStatusChange.unit_id == proposal["unit_id"],
            UnitStatusChange.reason == "standby",
        )
        == 1
    )
    # now heading to its post: no longer proposed there
    again = client.get(f"/api/dispatch/move-up?city_id={city_id}").json()
    assert all(p["unit_id"] != proposal["unit_id"] for p in again["proposals"])

    # a busy unit: 409 on unit_id, nothing written
    r = client.post(f"/api/dispatch/units/{a1}/standby", json={"rank": 1})
    assert r.status_code == 409 and r.json()["error"]["field"] == "unit_id"
    # an unknown post: 422 on rank; no target at all: 422 on rank; half a point: 422 on lat
    other = b2 if proposal["unit_id"] == b1 else b1
    for body_in, field in (({"rank": 99}, "rank"), ({}, "rank"), ({"lon": lon_a}, "lat")):
        r = client.post(f"/api/dispatch/units/{other}/standby", json=body_in)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text
    with db.session() as s:
        unit = s.get(Unit, other)
        assert unit is not None and unit.standby_node is None

    # an officer reads the proposals but may not move units
    ctx["caller"]["roles"] = frozenset({"officer"})
    assert client.get(f"/api/dispatch/move-up?city_id={city_id}").status_code == 200
    r = client.post(f"/api/dispatch/units/{other}/standby", json={"rank": 1})
    assert r.status_code == 403

    # per-crew limit (1 move an hour in this test): the moved unit is held back
    ctx["caller"]["roles"] = frozenset({"dispatcher"})
    r = client.post(
        f"/api/dispatch/units/{proposal['unit_id']}/standby", json={"lon": lon_b, "lat": lat_b}
    )
    assert r.status_code == 409 and r.json()["error"]["field"] == "unit_id"
    callsign = moved["callsign"]
    held = client.get(f"/api/dispatch/move-up?city_id={city_id}").json()
    assert callsign in held["held_by_limit"]
    assert all(p["unit_id"] != proposal["unit_id"] for p in held["proposals"])
    clock.get_clock().advance(timedelta(minutes=61))  # type: ignore[attr-defined]
    r = client.post(
        f"/api/dispatch/units/{proposal['unit_id']}/standby", json={"lon": lon_b, "lat": lat_b}
    )
    assert r.status_code == 200, r.text

    # dispatching a unit clears its standby post
    r = client.post(
        f"/api/dispatch/incidents/{incident}/dispatch",
        json={"unit_ids": [proposal["unit_id"]], "override_reason": "增援"},
    )
    assert r.status_code == 200, r.text
    with db.session() as s:
        unit = s.get(Unit, proposal["unit_id"])
        assert unit is not None and unit.standby_node is None and unit.standby_since is None
