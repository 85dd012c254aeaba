"""Camera tasking (video patrol) and drone battery through the real app.

Cameras covering an incident are tasked to look at it, never dispatched: no
assignment, no en-route or on-scene; several incidents may share a camera; closing
releases. A drone whose battery is below the limit is not recommended.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.city.service import demo_pbf_path, import_city
from pingan.core.auth.deps import Principal, get_principal
from pingan.core.db import Base
from pingan.core.settings import Settings
from pingan.dispatch.models import CameraTask, IncidentUnit
from pingan.web.app import create_app

from .conftest import SCENE

# About 1 degree of longitude at 60.165° N is 55.5 km: 0.0005° ≈ 28 m, 0.01° ≈ 555 m.


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
        yield client, {"city_id": report.city_id, "db": db}


def _unit(
    client: TestClient, city_id: int, callsign: str, kind: str, dlon: float, **extra: Any
) -> dict[str, Any]:
    body = {
        "callsign": callsign,
        "kind": kind,
        "city_id": city_id,
        "lon": SCENE[0] + dlon,
        "lat": SCENE[1],
        **extra,
    }
    r = client.post("/api/dispatch/units", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def _call(client: TestClient, text: str = "有人在路口抢劫", dlon: float = 0.0) -> dict[str, Any]:
    r = client.post(
        "/api/dispatch/incidents", json={"text": text, "lon": SCENE[0] + dlon, "lat": SCENE[1]}
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def _tasks(db: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(CameraTask)) or 0)


def _board(client: TestClient) -> dict[str, dict[str, Any]]:
    r = client.get("/api/dispatch/units")
    assert r.status_code == 200
    return {u["callsign"]: u for u in r.json()}


def test_covering_cameras_are_tasked_shared_released_and_closed(
    api: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = api
    cam = _unit(client, ctx["city_id"], "CAM-1", "camera", 0.0005, coverage_m=150.0)
    far = _unit(client, ctx["city_id"], "CAM-FAR", "camera", 0.01, coverage_m=80.0)
    car = _unit(client, ctx["city_id"], "CAR-1", "patrol_car", 0.002)
    first = _call(client)
    second = _call(client, "这里有人打架", dlon=0.0003)

    # Non-covering camera: 422 naming unit_ids, nothing written.
    r = client.post(
        f"/api/dispatch/incidents/{first['id']}/cameras", json={"unit_ids": [far["id"]]}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "unit_ids"
    assert "CAM-FAR" in r.json()["error"]["message"]
    # A patrol car is not a camera: 422 naming unit_ids.
    r = client.post(
        f"/api/dispatch/incidents/{first['id']}/cameras", json={"unit_ids": [car["id"]]}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "unit_ids"
    # Bad bodies.
    bodies: list[dict[str, Any]] = [{"unit_ids": []}, {}, {"unit_ids": [cam["id"], cam["id"]]}]
    for body in bodies:
        r = client.post(f"/api/dispatch/incidents/{first['id']}/cameras", json=body)
        assert r.status_code == 422, (body, r.text)
    r = client.post("/api/dispatch/incidents/999999/cameras", json={"unit_ids": [cam["id"]]})
    assert r.status_code == 404
    assert _tasks(ctx["db"]) == 0

    # The covering camera is tasked to both incidents (shared); tasking again changes nothing.
    r = client.post(
        f"/api/dispatch/incidents/{first['id']}/cameras", json={"unit_ids": [cam["id"]]}
    )
    assert r.status_code == 200, r.text
    cams = r.json()["cameras"]
    assert [(c["unit_id"], c["callsign"], c["released_at"]) for c in cams] == [
        (cam["id"], "CAM-1", None)
    ]
    assert r.json()["units"] == []
    assert r.json()["status"] == "new"  # a camera watching is not a dispatch
    r = client.post(
        f"/api/dispatch/incidents/{first['id']}/cameras", json={"unit_ids": [cam["id"]]}
    )
    assert r.status_code == 200 and len(r.json()["cameras"]) == 1
    r = client.post(
        f"/api/dispatch/incidents/{second['id']}/cameras", json={"unit_ids": [cam["id"]]}
    )
    assert r.status_code == 200, r.text
    board = _board(client)
    assert board["CAM-1"]["status"] == "available"
    assert board["CAM-1"]["incident_id"] is None
    assert sorted(board["CAM-1"]["tasked_incidents"]) == sorted([first["id"], second["id"]])

    # Release from the second; releasing again is a 422 naming unit_ids.
    r = client.post(
        f"/api/dispatch/incidents/{second['id']}/cameras/release", json={"unit_ids": [cam["id"]]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["cameras"][0]["released_at"] is not None
    r = client.post(
        f"/api/dispatch/incidents/{second['id']}/cameras/release", json={"unit_ids": [cam["id"]]}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "unit_ids"
    assert _board(client)["CAM-1"]["tasked_incidents"] == [first["id"]]

    # Closing the first incident releases its camera; a closed incident takes no camera.
    r = client.post(f"/api/dispatch/incidents/{first['id']}/close", json={"outcome": "处置完毕"})
    assert r.status_code == 200, r.text
    assert r.json()["cameras"][0]["released_at"] is not None
    assert _board(client)["CAM-1"]["tasked_incidents"] == []
    r = client.post(
        f"/api/dispatch/incidents/{first['id']}/cameras", json={"unit_ids": [cam["id"]]}
    )
    assert r.status_code == 409


def test_dispatching_a_camera_tasks_it_and_cameras_have_no_en_route(
    api: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = api
    cam = _unit(client, ctx["city_id"], "CAM-2", "camera", 0.0005, coverage_m=150.0)
    far = _unit(client, ctx["city_id"], "CAM-FAR2", "camera", 0.01, coverage_m=80.0)
    car = _unit(client, ctx["city_id"], "CAR-2", "patrol_car", 0.002)
    incident = _call(client)
    recommended = {r["unit_id"] for r in incident["recommendations"]}
    assert cam["id"] in recommended  # the covering camera is proposed (video patrol)
    assert far["id"] not in recommended

    # Dispatch with a non-covering camera: 422 on unit_ids and nothing written at all.
    r = client.post(
        f"/api/dispatch/incidents/{incident['id']}/dispatch",
        json={"unit_ids": [car["id"], far["id"]], "override_reason": "试试"},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "unit_ids"
    with ctx["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(IncidentUnit)) == 0
    assert _tasks(ctx["db"]) == 0

    # Accepting the recommendation: ground units are dispatched, the camera is tasked.
    r = client.post(
        f"/api/dispatch/incidents/{incident['id']}/dispatch",
        json={"unit_ids": sorted(recommended)},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert cam["id"] not in {u["unit_id"] for u in body["units"]}
    assert car["id"] in {u["unit_id"] for u in body["units"]}
    assert [c["unit_id"] for c in body["cameras"]] == [cam["id"]]
    assert body["override_reason"] is None
    board = _board(client)
    assert board["CAM-2"]["status"] == "available"
    assert board["CAM-2"]["tasked_incidents"] == [incident["id"]]
    assert board["CAR-2"]["status"] == "dispatched"

    # A camera never goes en route or on scene (409 on status); in/out of service is fine.
    for status in ("en_route", "on_scene", "transporting"):
        r = client.post(f"/api/dispatch/units/{cam['id']}/status", json={"status": status})
        assert r.status_code == 409, r.text
        assert r.json()["error"]["field"] == "status"
        assert "/cameras" in r.json()["error"]["message"]
    r = client.post(f"/api/dispatch/units/{cam['id']}/status", json={"status": "out_of_service"})
    assert r.status_code == 200
    other = _call(client, "这里有人打架", dlon=0.0003)
    r = client.post(
        f"/api/dispatch/incidents/{other['id']}/cameras", json={"unit_ids": [cam["id"]]}
    )
    assert r.status_code == 409 and r.json()["error"]["field"] == "unit_ids"


def test_a_drone_with_a_low_battery_is_not_recommended(
    api: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = api
    _unit(client, ctx["city_id"], "CAR-3", "patrol_car", 0.002)
    low = _unit(client, ctx["city_id"], "UAV-LOW", "drone", 0.003, endurance_min=40.0)
    full = _unit(client, ctx["city_id"], "UAV-FULL", "drone", 0.004, endurance_min=40.0)
    position = {"lon": SCENE[0] + 0.003, "lat": SCENE[1]}
    r = client.post(
        f"/api/dispatch/units/{low['id']}/position", json={**position, "battery_pct": 12}
    )
    assert r.status_code == 200, r.text
    assert r.json()["battery_pct"] == 12 and r.json()["battery_at"] is not None
    r = client.post(
        f"/api/dispatch/units/{full['id']}/position",
        json={"lon": SCENE[0] + 0.004, "lat": SCENE[1], "battery_pct": 95},
    )
    assert r.status_code == 200
    r = client.post(
        f"/api/dispatch/units/{low['id']}/position", json={**position, "battery_pct": 140}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "battery_pct"

    incident = _call(client)  # robbery: urgent, so a drone is asked for
    drones = [r for r in incident["recommendations"] if r["kind"] == "drone"]
    assert [d["unit_id"] for d in drones] == [full["id"]]
    battery = [
        p
        for code, p in ((x["code"], x["params"]) for x in drones[0]["reasons"])
        if code == "battery_ok"
    ]
    assert battery and battery[0]["battery_pct"] == 95

    # Charged again, the drone is proposed.
    r = client.post(
        f"/api/dispatch/units/{low['id']}/position", json={**position, "battery_pct": 80}
    )
    assert r.status_code == 200
    again = _call(client, "又有人抢劫", dlon=0.0002)
    assert low["id"] in {r["unit_id"] for r in again["recommendations"] if r["kind"] == "drone"}
