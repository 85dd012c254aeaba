"""The city model's HTTP routes on a small app: layers, routing, errors, authorisation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pingan.core.auth.deps", reason="core auth dependencies not available")

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from pingan.city import PERMISSIONS
from pingan.city.routes import router
from pingan.city.service import demo_pbf_path, import_city
from pingan.core.auth.deps import Principal, get_principal
from pingan.core.auth.permissions import register_permissions
from pingan.core.db import Database
from pingan.core.errors import PinganError
from pingan.core.module import Context
from pingan.core.settings import Settings


@pytest.fixture
def client(database: Database, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    settings = Settings(data_dir=tmp_path, database_url=database.url)
    report = import_city(
        db=database, path=demo_pbf_path(), name="helsinki", data_dir=tmp_path, actor="t"
    )
    register_permissions(PERMISSIONS)
    app = FastAPI()
    app.state.ctx = Context(settings=settings, db=database, bus=None)  # type: ignore[arg-type]
    app.include_router(router, prefix="/api")
    caller = {"roles": frozenset({"dispatcher"})}
    app.dependency_overrides[get_principal] = lambda: Principal(username="u", roles=caller["roles"])

    @app.exception_handler(PinganError)
    async def _err(request: Request, exc: PinganError) -> JSONResponse:
        return JSONResponse(
            {"key": exc.key, "field": exc.field, "message": exc.message("en")},
            status_code=exc.status_code,
        )

    with TestClient(app) as c:
        yield c, {"city_id": report.city_id, "caller": caller}


def test_layers_and_city(client: tuple[TestClient, dict[str, Any]]) -> None:
    c, ctx = client
    cid = ctx["city_id"]
    cities = c.get("/api/city/cities").json()
    assert [x["name"] for x in cities] == ["helsinki"]
    assert cities[0]["attribution"] == "© OpenStreetMap contributors"
    one = c.get(f"/api/city/cities/{cid}").json()
    assert one["node_count"] == 1577 and one["district_method"] == "admin"
    assert c.get("/api/city/cities/999").status_code == 404
    roads = c.get(f"/api/city/cities/{cid}/roads").json()
    assert roads["type"] == "FeatureCollection" and roads["features"]
    assert roads["features"][0]["geometry"]["type"] == "LineString"
    assert set(roads["features"][0]["properties"]) == {"highway", "name"}
    districts = c.get(f"/api/city/cities/{cid}/districts").json()["features"]
    assert len(districts) == 6 and all(d["properties"]["jurisdiction_id"] for d in districts)
    signals = c.get(f"/api/city/cities/{cid}/pois", params={"kind": "traffic_signals"}).json()
    assert len(signals["features"]) == 135
    bad = c.get(f"/api/city/cities/{cid}/pois", params={"kind": "nope"})
    assert bad.status_code == 422 and bad.json()["field"] == "kind"


def test_route_and_travel_times(client: tuple[TestClient, dict[str, Any]]) -> None:
    c, ctx = client
    cid = ctx["city_id"]
    a = {"from_lon": 24.9395, "from_lat": 60.1650, "to_lon": 24.9510, "to_lat": 60.1720}
    r = c.get(f"/api/city/cities/{cid}/route", params=a)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["seconds"] > 0 and body["metres"] > 0
    assert body["geometry"]["type"] == "LineString" and len(body["geometry"]["coordinates"]) > 2
    far = c.get(f"/api/city/cities/{cid}/route", params={**a, "from_lon": 26.0})
    assert far.status_code == 422 and far.json()["field"] == "from_lon"
    origin = {"lon": a["from_lon"], "lat": a["from_lat"]}
    times = c.post(
        f"/api/city/cities/{cid}/travel-times",
        json={
            "origin": origin,
            "targets": [origin, {"lon": a["to_lon"], "lat": a["to_lat"]}],
        },
    ).json()
    assert times["seconds"][0] == 0.0
    assert times["seconds"][1] == pytest.approx(body["seconds"], abs=0.2)
    iso = c.post(
        f"/api/city/cities/{cid}/travel-times", json={"origin": origin, "cutoff_s": 60}
    ).json()["reachable"]
    assert iso and all(s <= 60 for _lon, _lat, s in iso)
    assert (
        c.post(f"/api/city/cities/{cid}/travel-times", json={"origin": origin}).status_code == 422
    )


def test_partners_may_not_read_the_city(client: tuple[TestClient, dict[str, Any]]) -> None:
    c, ctx = client
    ctx["caller"]["roles"] = frozenset({"partner"})
    assert c.get("/api/city/cities").status_code == 403
