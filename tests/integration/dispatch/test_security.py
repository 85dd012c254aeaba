"""Event security mode through the real app: events, posts, units, priority raise, board."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.city.models import District
from pingan.city.service import demo_pbf_path, import_city
from pingan.core.audit import AuditRecord
from pingan.core.auth.deps import Principal, get_principal
from pingan.core.db import Base
from pingan.core.settings import Settings
from pingan.dispatch.models import SecurityEvent, SecurityPost
from pingan.dispatch.service import seed_demo_units
from pingan.web.app import create_app

from .conftest import SCENE

BASE = "/api/dispatch/security-events"
STARTS = "2026-06-01T16:00:00+00:00"
ENDS = "2026-06-01T22:00:00+00:00"
DURING = "2026-06-01T18:30:00+00:00"
AFTER = "2026-06-01T23:30:00+00:00"
INSIDE = (24.9440, 60.1710)
"""Railway Square (Rautatientori), inside the demo venue's perimeter."""
FIGHT = "有人在街上打架，两个人打起来了"  # triaged P2


@pytest.fixture
def api(settings: Settings, database: object) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    app = create_app(settings, background=False)
    db = app.state.ctx.db
    Base.metadata.create_all(db.engine)
    report = import_city(
        db=db, path=demo_pbf_path(), name="helsinki", data_dir=settings.data_dir, actor="t"
    )
    caller: dict[str, Any] = {"roles": frozenset({"commander"}), "jurisdictions": None}

    def principal() -> Principal:
        if caller["jurisdictions"] is None:
            return Principal(username="cmd", roles=caller["roles"], all_jurisdictions=True)
        return Principal(
            username="cmd", roles=caller["roles"], jurisdiction_ids=caller["jurisdictions"]
        )

    app.dependency_overrides[get_principal] = principal
    with TestClient(app) as client:
        yield client, {"city_id": report.city_id, "caller": caller, "db": db, "settings": settings}


def _preset(client: TestClient) -> dict[str, Any]:
    r = client.get(f"{BASE}/presets", params={"city": "helsinki"})
    assert r.status_code == 200, r.text
    (venue,) = r.json()
    assert venue["key"] == "rautatientori"
    return dict(venue)


def _create(client: TestClient, city_id: int, **over: Any) -> Any:
    venue = _preset(client)
    body = {
        "city_id": city_id,
        "name": "城市篮球联赛总决赛",
        "perimeter": venue["perimeter"],
        "expected_crowd": venue["expected_crowd"],
        "starts_at": STARTS,
        "ends_at": ENDS,
        **over,
    }
    return client.post(BASE, json=body)


def _call(client: TestClient, lon: float, lat: float, at: str) -> dict[str, Any]:
    r = client.post(
        "/api/dispatch/incidents",
        json={"text": FIGHT, "lon": lon, "lat": lat, "received_at": at, "source": "api"},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _raised(incident: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r
        for r in incident["triage_reasons"]
        if isinstance(r, dict) and r.get("rule") == "event_security"
    ]


def test_event_posts_units_priority_and_board(api: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = api
    with ctx["db"].session() as s:
        seed_demo_units(db=s, settings=ctx["settings"], city_id=ctx["city_id"])

    r = _create(client, ctx["city_id"])
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["status"] == "planned" and event["posts"] == []
    assert event["jurisdiction_id"] is not None
    eid = event["id"]

    r = client.post(f"{BASE}/{eid}/posts/propose", json={"foot": 4, "k9": 1, "drones": 1})
    assert r.status_code == 200, r.text
    event = r.json()
    kinds = sorted(p["kind"] for p in event["posts"])
    assert kinds == ["drone", "foot", "foot", "foot", "foot", "k9"]
    assert len({p["node"] for p in event["posts"]}) == 6  # no two posts on one node
    plan = {k["kind"]: k for k in event["plan"]["kinds"]}
    assert plan["foot"]["method"] == "milp" and plan["foot"]["gap"] <= 1e-6
    assert 0.5 < plan["foot"]["coverage"] <= 1.0
    assert all(0.0 <= p["covered_share"] <= 1.0 for p in event["posts"])
    assert all(p["reasons"][0]["code"] == "serves" for p in event["posts"])

    # counts scaled from the crowd when the request gives none (15,000 → 6 foot, 2 K9, 1 drone)
    r = client.post(f"{BASE}/{eid}/posts/propose", json={})
    assert r.status_code == 200, r.text
    assert len(r.json()["posts"]) == 9

    r = client.post(f"{BASE}/{eid}/posts/assign", json={})
    assert r.status_code == 200, r.text
    event = r.json()
    staffed = [p for p in event["posts"] if p["unit_id"] is not None]
    assert staffed, event["posts"]
    unit_ids = [p["unit_id"] for p in staffed]
    assert len(unit_ids) == len(set(unit_ids))
    units = {u["id"]: u for u in client.get("/api/dispatch/units").json()}
    for p in staffed:
        assert units[p["unit_id"]]["kind"] == p["kind"]
        assert p["callsign"] == units[p["unit_id"]]["callsign"]
        assert p["eta_s"] is not None and p["eta_s"] >= 0
        assert p["stale"] is not None

    # planned, not active: no raise
    before = _call(client, *INSIDE, DURING)
    assert before["priority"] == "P2" and not _raised(before)

    r = client.post(f"{BASE}/{eid}/activate")
    assert r.status_code == 200 and r.json()["status"] == "active"
    r = client.post(f"{BASE}/{eid}/activate")
    assert r.status_code == 409 and r.json()["error"]["field"] == "status"

    inside = _call(client, *INSIDE, DURING)
    assert inside["priority"] == "P1"
    (reason,) = _raised(inside)
    assert reason["match"] == "城市篮球联赛总决赛" and reason["event_id"] == eid
    assert (reason["from"], reason["to"]) == ("P2", "P1")
    outside = _call(client, SCENE[0], SCENE[1], DURING)
    assert outside["priority"] == "P2" and not _raised(outside)
    late = _call(client, *INSIDE, AFTER)
    assert late["priority"] == "P2" and not _raised(late)

    r = client.get(f"{BASE}/{eid}/board")
    assert r.status_code == 200, r.text
    board = r.json()
    shown = {i["id"]: i for i in board["incidents"]}
    assert inside["id"] in shown and shown[inside["id"]]["raised"] is True
    assert outside["id"] not in shown
    assert before["id"] in shown and shown[before["id"]]["raised"] is False
    assert board["counts_by_priority"]["P1"] >= 1
    assert board["posts"] == 9 and board["staffed"] == len(staffed)
    assert set(board["coverage"]) == {"foot", "k9", "drone"}

    r = client.get(BASE, params={"status": "active"})
    assert [e["id"] for e in r.json()] == [eid]

    r = client.post(f"{BASE}/{eid}/end")
    assert r.status_code == 200 and r.json()["status"] == "ended"
    again = _call(client, *INSIDE, DURING)
    assert again["priority"] == "P2" and not _raised(again)
    r = client.post(f"{BASE}/{eid}/posts/propose", json={})
    assert r.status_code == 409

    with ctx["db"].session() as s:
        actions = list(
            s.scalars(
                select(AuditRecord.action).where(AuditRecord.entity == "dispatch_security_event")
            )
        )
        assert actions.count("create") == 1 and actions.count("update") >= 5


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"perimeter": {"type": "Point", "coordinates": [24.944, 60.171]}}, "perimeter"),
        ({"perimeter": {"type": "Polygon", "coordinates": [[[1, 2]]]}}, "perimeter"),
        (
            {
                "perimeter": {
                    "type": "Polygon",
                    "coordinates": [[[24.94, 60.17], [25.5, 60.17], [25.5, 60.2], [24.94, 60.17]]],
                }
            },
            "perimeter",
        ),
        ({"ends_at": "2026-06-01T15:00:00+00:00"}, "ends_at"),
        ({"expected_crowd": 0}, "expected_crowd"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    api: tuple[TestClient, dict[str, Any]], over: dict[str, Any], field: str
) -> None:
    client, ctx = api
    r = _create(client, ctx["city_id"], **over)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == field, error
    assert error["message"]
    with ctx["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(SecurityEvent)) == 0
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditRecord)
                .where(AuditRecord.entity == "dispatch_security_event")
            )
            == 0
        )


def test_proposal_errors_name_the_field(api: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = api
    eid = _create(client, ctx["city_id"]).json()["id"]
    r = client.post(f"{BASE}/{eid}/posts/propose", json={"foot": 0, "k9": 0, "drones": 0})
    assert r.status_code == 422 and r.json()["error"]["field"] == "foot"
    r = client.post(f"{BASE}/{eid}/posts/propose", json={"foot": -1})
    assert r.status_code == 422 and r.json()["error"]["field"] == "foot"
    r = client.post(f"{BASE}/{eid}/posts/assign", json={})
    assert r.status_code == 409  # no posts yet
    with ctx["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(SecurityPost)) == 0


def test_dispatcher_may_read_but_not_manage(api: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = api
    eid = _create(client, ctx["city_id"]).json()["id"]
    ctx["caller"]["roles"] = frozenset({"dispatcher"})
    r = _create(client, ctx["city_id"])
    assert r.status_code == 403
    for path in ("posts/propose", "posts/assign"):
        assert client.post(f"{BASE}/{eid}/{path}", json={}).status_code == 403
    assert client.post(f"{BASE}/{eid}/activate").status_code == 403
    assert client.get(f"{BASE}/{eid}").status_code == 200
    assert client.get(f"{BASE}/{eid}/board").status_code == 200
    with ctx["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(SecurityEvent)) == 1


def test_other_jurisdiction_cannot_see_the_event(api: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = api
    event = _create(client, ctx["city_id"]).json()
    with ctx["db"].session() as s:
        others = [
            d.jurisdiction_id
            for d in s.scalars(select(District).where(District.city_id == ctx["city_id"]))
            if d.jurisdiction_id is not None and d.jurisdiction_id != event["jurisdiction_id"]
        ]
    assert others
    ctx["caller"]["jurisdictions"] = frozenset(others[:1])
    assert client.get(BASE).json() == []
    assert client.get(f"{BASE}/{event['id']}").status_code == 404
    assert client.get(f"{BASE}/{event['id']}/board").status_code == 404
    assert client.post(f"{BASE}/{event['id']}/activate").status_code == 404
    # creating an event outside one's jurisdictions is refused, and writes nothing
    r = _create(client, ctx["city_id"])
    assert r.status_code == 403 and r.json()["error"]["field"] == "perimeter"
    ctx["caller"]["jurisdictions"] = frozenset({event["jurisdiction_id"]})
    assert [e["id"] for e in client.get(BASE).json()] == [event["id"]]
    with ctx["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(SecurityEvent)) == 1


def test_cli_security_plan_prints_posts_and_writes_nothing(
    api: tuple[TestClient, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from typer.testing import CliRunner

    from pingan.cli import app as pingan
    from pingan.core.settings import get_settings

    _client, ctx = api
    settings = ctx["settings"]
    monkeypatch.setenv("PINGAN_DATABASE_URL", settings.database_url_resolved)
    monkeypatch.setenv("PINGAN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PINGAN_LANG", "en")
    perimeter = tmp_path / "venue.geojson"
    perimeter.write_text(
        '{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": '
        "[[[24.9405, 60.1695], [24.9475, 60.1695], [24.9475, 60.1725], [24.9405, 60.1725], "
        "[24.9405, 60.1695]]]}}",
        encoding="utf-8",
    )
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        ok = runner.invoke(
            pingan,
            [
                *("dispatch", "security-plan", "--perimeter", str(perimeter), "--crowd", "8000"),
                *("--foot", "3", "--k9", "1", "--drones", "1"),
            ],
        )
        assert ok.exit_code == 0, ok.output
        out = " ".join(ok.output.split())  # Rich wraps at the runner's 80 columns
        assert "Security posts for 8000 people" in out
        assert "Foot patrol: 3 posts, exact MILP (HiGHS)" in out and "Drone: 1 posts" in out
        assert out.count("gap 0.00%") == 3
        bad = tmp_path / "bad.geojson"
        bad.write_text('{"type": "Point", "coordinates": [24.94, 60.17]}', encoding="utf-8")
        refused = runner.invoke(
            pingan, ["dispatch", "security-plan", "--perimeter", str(bad), "--crowd", "10"]
        )
        assert refused.exit_code == 1 and "polygon" in refused.output
    finally:
        get_settings.cache_clear()
    with ctx["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(SecurityEvent)) == 0
