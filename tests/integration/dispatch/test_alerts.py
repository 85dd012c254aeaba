"""Public warnings (CAP 1.2 out) through the real app: draft → issue → update → cancel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.city.service import demo_pbf_path, import_city
from pingan.core import clock
from pingan.core.audit import AuditRecord
from pingan.core.auth.deps import Principal, get_principal
from pingan.core.db import Base
from pingan.core.outbox import OutboxMessage
from pingan.core.settings import Settings
from pingan.dispatch import cap
from pingan.dispatch.models import Alert
from pingan.web.app import create_app

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
LON, LAT = 24.944, 60.170
"""Central Helsinki, well inside the demo extract."""


@pytest.fixture
def api(settings: Settings, database: object) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    app = create_app(settings, background=False)
    db = app.state.ctx.db
    Base.metadata.create_all(db.engine)
    report = import_city(
        db=db, path=demo_pbf_path(), name="helsinki", data_dir=settings.data_dir, actor="t"
    )
    caller: dict[str, Any] = {"roles": frozenset({"dispatcher"})}
    app.dependency_overrides[get_principal] = lambda: Principal(
        username="u", roles=caller["roles"], all_jurisdictions=True
    )
    with clock.frozen(NOW), TestClient(app) as client:
        yield client, {"city_id": report.city_id, "caller": caller, "db": db}


def _missing(city_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "city_id": city_id,
        "kind": "missing_person",
        "contact": "0755-110",
        "area": {
            "description": "Kamppi",
            "circle": {"lat": LAT, "lon": LON, "radius_km": 0.5},
            "polygon": [[LAT - 0.002, LON - 0.002], [LAT + 0.002, LON - 0.002], [LAT, LON + 0.002]],
        },
        "person": {
            "name": "张小明",
            "age": 8,
            "appearance": "红色外套，蓝色书包",
            "last_seen_place": "Kamppi 地铁站",
            "last_seen_at": "2026-11-29T09:30:00+08:00",
        },
        "instruction": {"zh-CN": "如发现请拨打 110", "en": "If you see him call 110"},
        "expires_at": (NOW + timedelta(hours=24)).isoformat(),
    }
    body.update(changes)
    return body


def _count(db: Any, model: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_draft_issue_update_cancel(api: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = api
    r = client.post("/api/dispatch/alerts", json=_missing(ctx["city_id"]))
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["status"] == "draft" and draft["sent_at"] is None
    assert draft["person"]["name"] == "张小明"  # a dispatcher sees it (audited)
    assert "张小明" in draft["headline"]["zh-CN"]

    # a dispatcher may draft, not broadcast
    assert client.post(f"/api/dispatch/alerts/{draft['id']}/issue").status_code == 403
    ctx["caller"]["roles"] = frozenset({"commander"})
    r = client.post(f"/api/dispatch/alerts/{draft['id']}/issue")
    assert r.status_code == 200, r.text
    issued = r.json()
    assert issued["status"] == "issued" and issued["msg_type"] == "Alert"
    again = client.post(f"/api/dispatch/alerts/{draft['id']}/issue")
    assert again.status_code == 409 and again.json()["error"]["field"] == "status"

    r = client.get(f"/api/dispatch/alerts/{draft['id']}/cap")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(cap.MEDIA_TYPE)
    assert cap.validate_alert(r.text) == []
    original = cap.parse_alert(r.text)
    assert original.msg_type == "Alert" and original.status == "Actual"
    assert [i.language for i in original.infos] == ["zh-CN", "en"]
    assert original.infos[0].categories == ("Rescue",)
    # the public needs the name, age and clothing to recognise the child
    assert "张小明" in (original.infos[0].description or "")
    assert "红色外套" in (original.infos[0].description or "")
    assert original.infos[0].areas[0].circles[0].lat == pytest.approx(LAT)
    assert original.sent.utcoffset() == timedelta(hours=8)

    feed = client.get("/api/dispatch/public/alerts")
    assert feed.status_code == 200 and original.identifier in feed.text

    r = client.post(f"/api/dispatch/alerts/{draft['id']}/update", json={"urgency": "Expected"})
    assert r.status_code == 200, r.text
    update = cap.parse_alert(client.get(f"/api/dispatch/alerts/{draft['id']}/cap").text)
    assert update.msg_type == "Update" and update.identifier != original.identifier
    assert update.references == (
        f"{original.sender},{original.identifier},{cap.cap_datetime(original.sent)}",
    )

    r = client.post(
        f"/api/dispatch/alerts/{draft['id']}/cancel",
        json={"reason": {"zh-CN": "已找到", "en": "Found safe"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    cancel = cap.parse_alert(client.get(f"/api/dispatch/alerts/{draft['id']}/cap").text)
    assert cancel.msg_type == "Cancel"
    assert original.identifier in " ".join(cancel.references)
    assert update.identifier in " ".join(cancel.references)
    assert original.identifier not in client.get("/api/dispatch/public/alerts").text
    again = client.post(
        f"/api/dispatch/alerts/{draft['id']}/cancel",
        json={"reason": {"zh-CN": "已找到", "en": "Found safe"}},
    )
    assert again.status_code == 409

    with ctx["db"].session() as s:
        subjects = [e.subject for e in s.scalars(select(OutboxMessage))]
    assert subjects.count("dispatch.alert.issued") == 2
    assert subjects.count("dispatch.alert.cancelled") == 1


def test_names_masked_in_lists_and_for_roles_without_need(
    api: tuple[TestClient, dict[str, Any]],
) -> None:
    client, ctx = api
    alert_id = client.post("/api/dispatch/alerts", json=_missing(ctx["city_id"])).json()["id"]
    listed = client.get("/api/dispatch/alerts").json()
    assert listed[0]["person"]["name"] == "张**"
    assert "张小明" not in str(listed)

    ctx["caller"]["roles"] = frozenset({"officer"})
    before = _count(ctx["db"], AuditRecord)
    one = client.get(f"/api/dispatch/alerts/{alert_id}").json()
    assert one["person"]["name"] == "张**" and "张小明" not in str(one)
    preview = client.get(f"/api/dispatch/alerts/{alert_id}/cap").text
    assert "张小明" not in preview and "张**" in preview
    assert _count(ctx["db"], AuditRecord) == before  # nothing revealed, nothing audited
    assert client.post("/api/dispatch/alerts", json=_missing(ctx["city_id"])).status_code == 403

    ctx["caller"]["roles"] = frozenset({"commander"})
    one = client.get(f"/api/dispatch/alerts/{alert_id}").json()
    assert one["person"]["name"] == "张小明"
    with ctx["db"].session() as s:
        last = s.scalars(select(AuditRecord).order_by(AuditRecord.id.desc())).first()
        assert last is not None and last.action == "read_personal"
        assert last.entity == "dispatch_alert"
    # a draft is not public
    assert "PINGAN" not in client.get("/api/dispatch/public/alerts").text


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"expires_at": (NOW - timedelta(hours=1)).isoformat()}, 422, "expires_at"),
        (
            {
                "effective_at": (NOW + timedelta(hours=30)).isoformat(),
            },
            422,
            "expires_at",
        ),
        (
            {"kind": "public_safety", "person": None, "headline": {"zh-CN": " ", "en": "x"}},
            422,
            "headline",
        ),
        ({"kind": "public_safety", "person": None}, 422, "headline"),
        (
            {"area": {"description": "far", "circle": {"lat": 39.9, "lon": 116.4, "radius_km": 1}}},
            422,
            "area",
        ),
        ({"area": {"description": "nothing"}}, 422, "area"),
        ({"incident_id": 424242}, 404, "incident_id"),
        ({"person": None}, 422, "person"),
        ({"city": 999_999}, 404, "city_id"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    api: tuple[TestClient, dict[str, Any]], changes: dict[str, Any], status: int, field: str
) -> None:
    client, ctx = api
    before = _count(ctx["db"], AuditRecord)
    changes = dict(changes)  # the parameter is shared by the sqlite and postgresql runs
    city_id = changes.pop("city", ctx["city_id"])
    r = client.post("/api/dispatch/alerts?lang=en", json=_missing(city_id, **changes))
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert field in (error.get("field") or "") or field in str(error), error
    assert _count(ctx["db"], Alert) == 0
    assert _count(ctx["db"], AuditRecord) == before


def test_expired_alerts_leave_the_public_feed(api: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = api
    ctx["caller"]["roles"] = frozenset({"commander"})
    body = _missing(ctx["city_id"], expires_at=(NOW + timedelta(hours=1)).isoformat())
    alert_id = client.post("/api/dispatch/alerts", json=body).json()["id"]
    client.post(f"/api/dispatch/alerts/{alert_id}/issue")
    assert "<entry>" in client.get("/api/dispatch/public/alerts").text
    with clock.frozen(NOW + timedelta(hours=2)):
        assert "<entry>" not in client.get("/api/dispatch/public/alerts").text
