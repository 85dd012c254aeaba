"""The dispatch desk's HTTP API through the real app: contract, masking, errors in two languages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.city.service import demo_pbf_path, import_city
from pingan.core.audit import AuditRecord
from pingan.core.auth.deps import Principal, get_principal
from pingan.core.db import Base
from pingan.core.settings import Settings
from pingan.dispatch.models import Incident
from pingan.web.app import create_app
from tests.unit.dispatch.test_eido import _sample, _validator, needs_eido

from .conftest import SCENE

CALLER = "13812345678"


@pytest.fixture
def api(settings: Settings, database: object) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    app = create_app(settings, background=False)
    db = app.state.ctx.db
    Base.metadata.create_all(db.engine)
    report = import_city(
        db=db, path=demo_pbf_path(), name="helsinki", data_dir=settings.data_dir, actor="t"
    )
    caller: dict[str, Any] = {"roles": frozenset({"commander"})}
    app.dependency_overrides[get_principal] = lambda: Principal(
        username="u", roles=caller["roles"], all_jurisdictions=True
    )
    with TestClient(app) as client:
        yield client, {"city_id": report.city_id, "caller": caller, "db": db}


def _unit(client: TestClient, city_id: int, callsign: str, dlon: float) -> dict[str, Any]:
    r = client.post(
        "/api/dispatch/units",
        json={
            "callsign": callsign,
            "kind": "patrol_car",
            "city_id": city_id,
            "lon": SCENE[0] + dlon,
            "lat": SCENE[1],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_call_dispatch_status_close_through_the_api(
    api: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = api
    near = _unit(client, ctx["city_id"], "A-01", 0.001)
    far = _unit(client, ctx["city_id"], "A-02", 0.012)
    assert set(near) >= {
        "id",
        "callsign",
        "kind",
        "status",
        "lon",
        "lat",
        "position_at",
        "stale",
        "incident_id",
        "jurisdiction_id",
        "capabilities",
        "endurance_min",
    }
    ctx["caller"]["roles"] = frozenset({"dispatcher"})
    r = client.post(
        "/api/dispatch/incidents",
        json={
            "text": "有人在街上打架，两个人打起来了",
            "lon": SCENE[0],
            "lat": SCENE[1],
            "caller_phone": CALLER,
            "source": "page",
        },
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    assert incident["priority"] == "P2" and incident["call_type"] == "fight"
    assert incident["call_type_label"]["en"] == "Fight"
    assert incident["caller_phone"] == CALLER  # a dispatcher calls back: unmasked, and audited
    assert [x["unit_id"] for x in incident["recommendations"]] == [near["id"], far["id"]]
    assert set(incident["district"]) == {"id", "code", "name"}
    with ctx["db"].session() as s:
        reads = list(s.scalars(select(AuditRecord).where(AuditRecord.action == "read_personal")))
        assert [x.entity_id for x in reads] == [str(incident["id"])]

    ctx["caller"]["roles"] = frozenset({"officer"})
    masked = client.get(f"/api/dispatch/incidents/{incident['id']}").json()
    assert masked["caller_phone"] == "138****5678"

    ctx["caller"]["roles"] = frozenset({"dispatcher"})
    r = client.post(
        f"/api/dispatch/incidents/{incident['id']}/dispatch", json={"unit_ids": [near["id"]]}
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "override_reason"
    assert "override_reason" in r.json()["error"]["message"]
    r = client.post(
        f"/api/dispatch/incidents/{incident['id']}/dispatch",
        json={"unit_ids": [near["id"], far["id"]]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dispatched"
    assert [u["callsign"] for u in r.json()["units"]] == ["A-01", "A-02"]

    for step in ("en_route", "on_scene"):
        r = client.post(f"/api/dispatch/units/{near['id']}/status", json={"status": step})
        assert r.status_code == 200, r.text
    assert client.get(f"/api/dispatch/incidents/{incident['id']}").json()["status"] == "on_scene"
    r = client.post(f"/api/dispatch/incidents/{incident['id']}/close", json={"outcome": "已处置"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    timeline = client.get(f"/api/dispatch/units/{near['id']}/timeline").json()
    assert [x["to_status"] for x in timeline] == [
        "available",
        "dispatched",
        "en_route",
        "on_scene",
        "available",
    ]
    assert client.get("/api/dispatch/incidents").json() == []
    closed = client.get("/api/dispatch/incidents", params={"status": "closed"}).json()
    assert [x["id"] for x in closed] == [incident["id"]]
    assert closed[0]["caller_phone"] == "138****5678"  # lists are always masked
    stats = client.get("/api/dispatch/statistics/response-times").json()
    assert stats["count"] == 1 and stats["by_priority"][0]["key"] == "P2"
    cards = client.get("/api/dispatch/run-cards").json()
    fight = next(c for c in cards if c["id"] == "fight")
    assert fight["priority"] == "P2" and fight["run_card"] == [{"kind": "patrol_car", "count": 2}]


def test_errors_in_chinese_by_default_and_english_on_request(
    api: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = api
    unit = _unit(client, ctx["city_id"], "B-01", 0.001)
    r = client.post(f"/api/dispatch/units/{unit['id']}/status", json={"status": "on_scene"})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["field"] == "status"
    assert err["message"] == (
        "警力 B-01 不能从“available”直接变为“on_scene”（可变为：dispatched, out_of_service）"
    )
    r = client.post(
        f"/api/dispatch/units/{unit['id']}/status",
        json={"status": "on_scene"},
        headers={"Accept-Language": "en"},
    )
    assert r.json()["error"]["message"] == (
        "Unit B-01 cannot go from available to on_scene (allowed: dispatched, out_of_service)"
    )
    r = client.post("/api/dispatch/incidents", json={"text": "有人打架", "address": "火星路"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "address"
    assert r.json()["error"]["message"] == "无法识别地址“火星路”：未找到同名道路或地点"
    r = client.post("/api/dispatch/incidents?lang=en", json={"text": "x", "lon": 0.0, "lat": 0.0})
    assert r.status_code == 422 and r.json()["error"]["field"] == "lon"
    assert r.json()["error"]["message"].startswith("The coordinates (0.0, 0.0) are outside")
    r = client.post("/api/dispatch/incidents", json={"text": "", "lon": SCENE[0]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "text"
    r = client.post(
        "/api/dispatch/incidents",
        json={"text": "有人打架", "lon": SCENE[0], "lat": SCENE[1], "caller_phone": "12345"},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "caller_phone"
    r = client.get("/api/dispatch/units/424242", headers={"Accept-Language": "en"})
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "Unit 424242 does not exist"
    r = client.post(
        f"/api/dispatch/units/{unit['id']}/position",
        json={"lon": 0.0, "lat": 0.0},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "lon"
    r = client.post(
        "/api/dispatch/units",
        json={
            "callsign": "D-1",
            "kind": "drone",
            "city_id": ctx["city_id"],
            "lon": 24.94,
            "lat": 60.17,
        },
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "endurance_min"


def _moved_into_the_city(doc: dict[str, Any]) -> dict[str, Any]:
    """The NENA sample with its civic address moved to a street of the demo city."""
    text = json.dumps(doc)
    assert "<RD>Cellular</RD>" in text, "the sample's civic address names its road"
    moved: dict[str, Any] = json.loads(text.replace("<RD>Cellular</RD>", "<RD>Bulevardi</RD>"))
    return moved


@needs_eido
def test_eido_import_export_through_the_api(api: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = api
    sample = _sample()
    with ctx["db"].session() as s:
        before = s.scalar(select(func.count()).select_from(Incident))

    # The NENA sample's civic address is in Wilmington, not in this city: a 422, nothing written.
    r = client.post("/api/dispatch/incidents/eido", json=sample, headers={"Accept-Language": "en"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "address"
    # A malformed document names its field.
    broken = {k: v for k, v in sample.items() if k != "eidoVersion"}
    r = client.post("/api/dispatch/incidents/eido", json=broken)
    assert r.status_code == 422 and r.json()["error"]["field"] == "eidoVersion"
    with ctx["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == before

    r = client.post("/api/dispatch/incidents/eido", json=_moved_into_the_city(sample))
    assert r.status_code == 201, r.text
    incident = r.json()
    assert incident["source"] == "eido" and "Bulevardi" in incident["address"]
    assert incident["received_at"].startswith("2021-04-30T18:40:00")  # callStartTimestamp, UTC

    exported = client.get(f"/api/dispatch/incidents/{incident['id']}/eido")
    assert exported.status_code == 200
    doc = exported.json()
    errors = [str(e) for e in _validator().iter_errors(doc)]
    assert errors == []
    exported_type = doc["incidentComponent"]["incidentTypeCommonRegistryText"]
    assert exported_type == (incident["call_type"] or "unclassified")
    # and what we export, we can import again
    again = client.post("/api/dispatch/incidents/eido", json=doc)
    assert again.status_code == 201, again.text
