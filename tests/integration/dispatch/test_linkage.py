"""Non-police linkage and follow-ups through the real app: real logins, real partner keys.

Staff sign in (JWT); linked departments call with API keys whose ``partner`` is the
department's code. Time is frozen (``core.clock``) so deadlines pass when the test says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from typer.testing import CliRunner

from pingan.city.models import City
from pingan.city.service import demo_pbf_path, import_city
from pingan.core import audit, clock
from pingan.core.audit import AuditRecord
from pingan.core.auth import service as auth
from pingan.core.auth.models import Jurisdiction
from pingan.core.auth.permissions import Principal
from pingan.core.auth.schemas import ApiKeyCreate, JurisdictionCreate, UserCreate
from pingan.core.db import Base, Database
from pingan.core.outbox import OutboxMessage
from pingan.core.settings import Settings, get_settings
from pingan.dispatch import linkage
from pingan.dispatch.linkage_schemas import SweepReport
from pingan.dispatch.models import FollowUpCase, Transfer, TransferUpdate
from pingan.web.app import create_app

from .conftest import SCENE

pytestmark = pytest.mark.usefixtures("fast_hasher")

PASSWORD = "linkage-pass-1"
CALLER = "13812345678"
T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
SYSTEM = Principal.system("test")

WATER = "我家停水了，整栋楼都没有水"
NOISE = "楼上装修噪音太大了，晚上十一点还在电钻"
FIGHT = "有人在街上打架，两个人打起来了"
UNCLEAR = "你好，我想说一下那个事情"
DISPUTE = "我和邻居因为停车位吵起来了，没有打架"
SPOTS = [(0.0, 0.001), (0.006, 0.001), (0.012, 0.001), (0.0, 0.006), (0.006, 0.006), (0.012, 0.006)]
"""Offsets from the scene, each more than the duplicate radius from the others."""


@dataclass
class Desk:
    """The app with a city, the demo departments, staff logins and department keys."""

    client: TestClient
    db: Database
    settings: Settings
    staff: dict[str, dict[str, str]] = field(default_factory=dict)
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    spot: int = 0

    def call(self, text: str, who: str = "dispatcher") -> dict[str, Any]:
        """Report a call at a fresh spot (so calls are never each other's duplicates)."""
        dlon, dlat = SPOTS[self.spot % len(SPOTS)]
        self.spot += 1
        r = self.client.post(
            "/api/dispatch/incidents",
            json={
                "text": text,
                "lon": SCENE[0] + dlon,
                "lat": SCENE[1] + dlat,
                "caller_phone": CALLER,
            },
            headers=self.staff[who],
        )
        assert r.status_code == 201, r.text
        incident: dict[str, Any] = r.json()
        return incident

    def get(self, path: str, who: str = "dispatcher", **params: Any) -> Any:
        """GET as a staff member or, by department code, as that department's key."""
        headers = self.staff.get(who) or self.keys[who]
        return self.client.get(path, headers=headers, params=params)

    def post(self, path: str, body: Any = None, who: str = "dispatcher") -> Any:
        """POST as a staff member or a department's key."""
        headers = self.staff.get(who) or self.keys[who]
        return self.client.post(path, json=body, headers=headers)

    def count(self, model: Any) -> int:
        """Rows of a table."""
        with self.db.session() as s:
            return int(s.scalars(select(func.count()).select_from(model)).one())

    def sweep(self) -> SweepReport:
        """One overdue sweep, committed (what the periodic job does)."""
        with self.db.session() as s:
            return linkage.sweep_overdue(db=s)


@pytest.fixture
def desk(settings: Settings, database: object) -> Iterator[Desk]:
    app = create_app(settings, background=False)
    db: Database = app.state.ctx.db
    Base.metadata.create_all(db.engine)
    report = import_city(
        db=db, path=demo_pbf_path(), name="helsinki", data_dir=settings.data_dir, actor="t"
    )
    plain: dict[str, str] = {}
    with db.session() as s:
        city = s.get(City, report.city_id)
        assert city is not None and city.jurisdiction_id is not None
        place = s.get(Jurisdiction, city.jurisdiction_id)
        assert place is not None
        assert linkage.seed_demo_departments(db=s) == len(linkage.DEMO_DEPARTMENTS)
        assert linkage.seed_demo_departments(db=s) == 0  # idempotent
        elsewhere = auth.create_jurisdiction(
            db=s,
            jurisdiction_in=JurisdictionCreate(code="elsewhere", name="外市", kind="city"),
            actor=SYSTEM,
        )
        auth.create_user(
            db=s,
            user_in=UserCreate(
                username="dispatcher-elsewhere",
                password=PASSWORD,
                roles=["dispatcher"],
                jurisdictions=[elsewhere.code],
            ),
            actor=SYSTEM,
        )
        for role in ("dispatcher", "officer", "analyst"):
            auth.create_user(
                db=s,
                user_in=UserCreate(
                    username=f"{role}-1",
                    password=PASSWORD,
                    roles=[role],
                    jurisdictions=[place.code],
                ),
                actor=SYSTEM,
            )
        for code in ("water_company", "power_company", "ecology_environment"):
            _key, plain[code] = auth.create_api_key(
                db=s,
                key_in=ApiKeyCreate(
                    name=code, partner=code, roles=["partner"], scopes=["dispatch.partner"]
                ),
                actor=SYSTEM,
            )
        _key, plain["bank"] = auth.create_api_key(
            db=s, key_in=ApiKeyCreate(name="bank", partner="bank"), actor=SYSTEM
        )
    with TestClient(app) as client:
        d = Desk(client=client, db=db, settings=settings)
        logins = {role: f"{role}-1" for role in ("dispatcher", "officer", "analyst")}
        logins["elsewhere"] = "dispatcher-elsewhere"
        for who, username in logins.items():
            r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            d.staff[who] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        d.keys = {code: {"X-API-Key": key} for code, key in plain.items()}
        yield d


def _error(r: Any, status: int, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["field"] == field, error
    return error


# ---------------------------------------------------------------------------- transfers


def test_transfer_then_the_department_acknowledges_and_resolves(desk: Desk) -> None:
    incident = desk.call(WATER)
    assert incident["police"] is False and incident["status"] == "new"
    assert incident["suggested_department"]["code"] == "water_company"
    assert incident["suggested_department"]["name"]["zh-CN"].startswith("市自来水公司")
    assert incident["transfer"] is None

    r = desk.post(f"/api/dispatch/incidents/{incident['id']}/transfer", {})
    assert r.status_code == 201, r.text
    transfer = r.json()
    assert transfer["department"]["code"] == "water_company"
    assert transfer["status"] == "transferred" and transfer["incident_id"] == incident["id"]
    detail = desk.get(f"/api/dispatch/incidents/{incident['id']}").json()
    assert detail["status"] == "transferred"
    assert detail["transfer"]["status"] == "transferred"
    assert detail["suggested_department"] is None
    # Transferred incidents stay in the open queue.
    assert incident["id"] in [i["id"] for i in desk.get("/api/dispatch/incidents").json()]

    # The department sees its own transfer: place, type and words, never the caller.
    r = desk.get("/api/dispatch/partner/transfers", who="water_company")
    assert r.status_code == 200, r.text
    (mine,) = r.json()
    assert mine["id"] == transfer["id"] and mine["incident"]["text"] == WATER
    assert mine["incident"]["call_type"] == "water_outage"
    assert CALLER not in r.text and "5678" not in r.text
    # Another department, and a bank's key, see nothing of it.
    assert desk.get("/api/dispatch/partner/transfers", who="power_company").json() == []
    assert desk.get("/api/dispatch/partner/transfers", who="bank").json() == []
    for who in ("power_company", "bank"):
        r = desk.get(f"/api/dispatch/partner/transfers/{transfer['id']}", who=who)
        _error(r, 404, "transfer_id")
        r = desk.post(f"/api/dispatch/partner/transfers/{transfer['id']}/ack", {}, who=who)
        _error(r, 404, "transfer_id")
    # Staff are not a department: 403 on every partner route.
    for who in ("dispatcher", "officer"):
        assert desk.get("/api/dispatch/partner/transfers", who=who).status_code == 403
        r = desk.post(f"/api/dispatch/partner/transfers/{transfer['id']}/ack", {}, who=who)
        assert r.status_code == 403
    # A dispatcher of another city sees none of it.
    assert desk.get("/api/dispatch/transfers", who="elsewhere").json() == []
    r = desk.post(f"/api/dispatch/incidents/{incident['id']}/transfer", {}, who="elsewhere")
    _error(r, 404, "incident_id")
    # ... and a department key cannot read staff routes.
    assert desk.get("/api/dispatch/incidents", who="water_company").status_code == 403
    assert desk.get("/api/dispatch/transfers", who="water_company").status_code == 403

    base = f"/api/dispatch/partner/transfers/{transfer['id']}"
    r = desk.post(f"{base}/ack", {"text": "已派抢修班组"}, who="water_company")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "acknowledged" and r.json()["acknowledged_at"]
    again = desk.post(f"{base}/ack", None, who="water_company")
    assert (
        again.status_code == 200 and again.json()["acknowledged_at"] == r.json()["acknowledged_at"]
    )
    r = desk.post(
        f"{base}/progress", {"text": "抢修人员已到场，预计两小时恢复"}, who="water_company"
    )
    assert r.status_code == 200, r.text
    r = desk.post(f"{base}/resolve", {"outcome": "管道已修复，恢复供水"}, who="water_company")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved"
    assert [u["kind"] for u in r.json()["updates"]] == ["ack", "progress", "resolve"]
    closed = desk.get(f"/api/dispatch/incidents/{incident['id']}").json()
    assert closed["status"] == "closed" and closed["outcome"] == "管道已修复，恢复供水"
    assert closed["transfer"]["status"] == "resolved"
    r = desk.post(f"{base}/resolve", {"outcome": "again"}, who="water_company")
    _error(r, 409, "status")
    with desk.db.session() as s:
        actions = s.scalars(
            select(AuditRecord.reason).where(AuditRecord.entity == "dispatch_transfer")
        ).all()
    assert list(actions) == ["", "acknowledge", "progress", "resolve"]


def test_police_and_unclear_calls_stay_with_the_desk_and_nothing_is_written(desk: Desk) -> None:
    fight = desk.call(FIGHT)
    unclear = desk.call(UNCLEAR)
    assert fight["suggested_department"] is None and unclear["suggested_department"] is None
    audits = desk.count(AuditRecord)
    r = desk.post(f"/api/dispatch/incidents/{fight['id']}/transfer", {})
    _error(r, 409, "police")
    r = desk.post(
        f"/api/dispatch/incidents/{unclear['id']}/transfer", {"department": "hotline_12345"}
    )
    error = _error(r, 409, "unclear")
    assert "首接负责" in error["message"]
    r = desk.client.post(
        f"/api/dispatch/incidents/{unclear['id']}/transfer?lang=en",
        json={},
        headers=desk.staff["dispatcher"],
    )
    assert "first-contact rule" in r.json()["error"]["message"]
    assert desk.count(Transfer) == 0 and desk.count(AuditRecord) == audits
    for incident in (fight, unclear):
        assert desk.get(f"/api/dispatch/incidents/{incident['id']}").json()["status"] == "new"
    # An officer takes calls but does not transfer them.
    water = desk.call(WATER, who="officer")
    r = desk.post(f"/api/dispatch/incidents/{water['id']}/transfer", {}, who="officer")
    assert r.status_code == 403


def _incident_updates(desk: Desk, incident_id: int) -> int:
    """Audit records of changes (not reads) to one incident."""
    with desk.db.session() as s:
        stmt = select(func.count()).where(
            AuditRecord.entity == "dispatch_incident",
            AuditRecord.entity_id == str(incident_id),
            AuditRecord.action == audit.UPDATE,
        )
        return int(s.scalars(stmt).one())


def test_an_unclear_call_leaves_the_desk_only_once_a_dispatcher_reclassifies_it(
    desk: Desk,
) -> None:
    unclear = desk.call(UNCLEAR)
    assert unclear["unclear"] is True and unclear["police"] is True
    path = f"/api/dispatch/incidents/{unclear['id']}/classify"
    audits = desk.count(AuditRecord)
    # Bad input and the wrong role change nothing.
    _error(desk.post(path, {"call_type": "no_such_type", "reason": "x"}), 422, "call_type")
    _error(desk.post(path, {"call_type": "water_outage"}), 422, "reason")
    _error(desk.post(path, {"call_type": "water_outage", "reason": "  "}), 422, "reason")
    _error(
        desk.post(path, {"call_type": "water_outage", "reason": "回访", "priority": "P9"}),
        422,
        "priority",
    )
    assert (
        desk.post(
            path, {"call_type": "water_outage", "reason": "回访确认"}, who="officer"
        ).status_code
        == 403
    )
    _error(
        desk.post(path, {"call_type": "water_outage", "reason": "回访确认"}, who="elsewhere"),
        404,
        "incident_id",
    )
    assert desk.count(AuditRecord) == audits
    assert desk.get(f"/api/dispatch/incidents/{unclear['id']}").json()["unclear"] is True
    updates = _incident_updates(desk, unclear["id"])

    r = desk.post(path, {"call_type": "water_outage", "reason": "回拨确认：小区停水"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["call_type"] == "water_outage" and done["police"] is False
    assert done["unclear"] is False and done["recommendations"] == []
    assert done["triage_reasons"][-1]["rule"] == "dispatcher"
    assert done["suggested_department"]["code"] == "water_company"
    assert _incident_updates(desk, unclear["id"]) == updates + 1
    r = desk.post(f"/api/dispatch/incidents/{unclear['id']}/transfer", {})
    assert r.status_code == 201, r.text
    # Once transferred, the desk no longer re-classifies it.
    _error(desk.post(path, {"call_type": "fight", "reason": "改判"}), 409, "incident_id")

    # The other way: a call taken as non-police turns out to be a police matter.
    noise = desk.call(NOISE)
    assert noise["recommendations"] == []
    r = desk.post(
        f"/api/dispatch/incidents/{noise['id']}/classify",
        {"call_type": "fight", "priority": "P1", "reason": "回拨听到打斗声"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["police"] is True and r.json()["priority"] == "P1"
    assert r.json()["suggested_department"] is None


def test_bad_department_and_empty_return_reason_are_refused(desk: Desk) -> None:
    incident = desk.call(NOISE)
    path = f"/api/dispatch/incidents/{incident['id']}/transfer"
    _error(desk.post(path, {"department": "no_such_department"}), 404, "department")
    _error(desk.post(path, {"department": "Not A Code!"}), 422, "department")
    assert desk.count(Transfer) == 0
    # The dispatcher may choose another department than the suggested one.
    r = desk.post(path, {"department": "power_company", "note": "疑似配电房噪声"})
    assert r.status_code == 201 and r.json()["department"]["code"] == "power_company"
    _error(desk.post(path, {}), 409, "status")  # already transferred
    back = f"/api/dispatch/partner/transfers/{r.json()['id']}/return"
    _error(desk.post(back, {"reason": "   "}, who="power_company"), 422, "reason")
    _error(desk.post(back, {}, who="power_company"), 422, "reason")
    assert desk.count(TransferUpdate) == 0
    assert desk.get(f"/api/dispatch/incidents/{incident['id']}").json()["status"] == "transferred"


def test_a_returned_transfer_puts_the_incident_back_with_the_reason(desk: Desk) -> None:
    incident = desk.call(NOISE)
    path = f"/api/dispatch/incidents/{incident['id']}/transfer"
    first = desk.post(path, {"department": "power_company"}).json()
    reason = "不属于供电故障，系装修噪声，请转生态环境部门"
    r = desk.post(
        f"/api/dispatch/partner/transfers/{first['id']}/return",
        {"reason": reason},
        who="power_company",
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "returned" and r.json()["returned_reason"] == reason
    back = desk.get(f"/api/dispatch/incidents/{incident['id']}").json()
    assert back["status"] == "new"
    assert back["transfer"]["status"] == "returned"
    assert back["transfer"]["returned_reason"] == reason
    assert back["suggested_department"]["code"] == "ecology_environment"
    # Transferred again, to the suggested department this time.
    second = desk.post(path, {})
    assert (
        second.status_code == 201 and second.json()["department"]["code"] == "ecology_environment"
    )
    assert desk.get("/api/dispatch/partner/transfers", who="power_company").json() == []
    returned = desk.get("/api/dispatch/partner/transfers", who="power_company", status="all")
    assert [t["status"] for t in returned.json()] == ["returned"]
    r = desk.post(f"/api/dispatch/partner/transfers/{first['id']}/ack", {}, who="power_company")
    _error(r, 409, "status")


def test_overdue_acknowledgement_and_feedback_are_flagged_by_the_sweep(desk: Desk) -> None:
    with clock.frozen(T0) as frozen:
        incident = desk.call(WATER)
        transfer = desk.post(f"/api/dispatch/incidents/{incident['id']}/transfer", {}).json()
        assert transfer["ack_due_at"].startswith("2026-11-30T01:30:00")
        assert desk.sweep() == SweepReport(ack_overdue=0, feedback_overdue=0, visits_overdue=0)

        frozen.advance(timedelta(minutes=31))
        report = desk.sweep()
        assert (report.ack_overdue, report.feedback_overdue) == (1, 0)
        assert desk.sweep().ack_overdue == 0  # flagged once
        late = desk.get("/api/dispatch/transfers", overdue="true").json()
        assert [t["id"] for t in late] == [transfer["id"]]
        assert late[0]["ack_overdue"] and not late[0]["feedback_overdue"]
        assert desk.get("/api/dispatch/transfers", overdue="false").json() == []
        detail = desk.get(f"/api/dispatch/incidents/{incident['id']}").json()
        assert detail["transfer"]["overdue"] and detail["transfer"]["ack_overdue"]
        mine = desk.get("/api/dispatch/partner/transfers", who="water_company", overdue="true")
        assert [t["id"] for t in mine.json()] == [transfer["id"]]

        # A late acknowledgement is taken; the feedback clock keeps running.
        r = desk.post(
            f"/api/dispatch/partner/transfers/{transfer['id']}/ack", {}, who="water_company"
        )
        assert r.status_code == 200 and r.json()["ack_overdue"] is True
        frozen.advance(timedelta(hours=4))
        # The periodic job runs the same sweep in its own session.
        report = asyncio.run(linkage.run_sweep(desk.client.app.state.ctx))  # type: ignore[attr-defined]
        assert (report.ack_overdue, report.feedback_overdue) == (0, 1)
        late = desk.get("/api/dispatch/transfers", overdue="true").json()
        assert late[0]["feedback_overdue"] is True
    with desk.db.session() as s:
        reasons = s.scalars(
            select(AuditRecord.reason).where(AuditRecord.reason.like("overdue%"))
        ).all()
    assert sorted(reasons) == ["overdue ack", "overdue feedback"]
    with desk.db.session() as s:
        subjects = s.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.id)).all()
    linked = [x for x in subjects if x.startswith("dispatch.transfer") or "transferred" in x]
    assert linked == [
        "dispatch.incident.transferred",
        "dispatch.transfer.overdue",
        "dispatch.transfer.acknowledged",
        "dispatch.transfer.overdue",
    ]


# ---------------------------------------------------------------------------- follow-ups


def test_a_dispute_becomes_a_follow_up_case_with_visits(desk: Desk) -> None:
    with clock.frozen(T0) as frozen:
        dispute = desk.call(DISPUTE)
        assert dispute["call_type"] == "neighbour_dispute"
        path = f"/api/dispatch/incidents/{dispute['id']}/follow-up"
        visits = [(T0 + timedelta(days=d)).isoformat() for d in (1, 7)]
        body = {"assignee": "officer-1", "summary": "停车位纠纷，双方情绪激动", "visits": visits}
        _error(desk.post(path, {**body, "assignee": "nobody-here"}), 422, "assignee")
        past = [(T0 - timedelta(hours=1)).isoformat()]
        _error(desk.post(path, {**body, "visits": past}), 422, "visits")
        _error(desk.post(path, {**body, "visits": []}), 422, "visits")
        _error(desk.post(path, {**body, "visits": [visits[0], visits[0]]}), 422, "visits")
        assert desk.count(FollowUpCase) == 0
        assert desk.post(path, body, who="analyst").status_code == 403

        r = desk.post(path, body, who="officer")
        assert r.status_code == 201, r.text
        case = r.json()
        assert case["status"] == "open" and case["assignee"] == "officer-1"
        assert [v["scheduled_at"][:10] for v in case["visits"]] == ["2026-12-01", "2026-12-07"]
        _error(desk.post(path, body), 409, "incident_id")
        listed = desk.get("/api/dispatch/follow-ups").json()
        assert [c["id"] for c in listed] == [case["id"]]
        due = desk.get("/api/dispatch/follow-ups/visits", within_h=48).json()
        assert [v["id"] for v in due] == [case["visits"][0]["id"]]

        first, second = (v["id"] for v in case["visits"])
        frozen.advance(timedelta(days=1, hours=2))
        visit = f"/api/dispatch/follow-ups/{case['id']}/visits/{first}"
        _error(desk.post(visit, {"outcome": ""}), 422, "outcome")
        r = desk.post(visit, {"outcome": "双方已达成调解协议，轮流使用车位"}, who="officer")
        assert r.status_code == 200, r.text
        assert r.json()["visits"][0]["done_at"] is not None
        _error(desk.post(visit, {"outcome": "again"}), 409, "visit_id")
        _error(
            desk.post(f"/api/dispatch/follow-ups/{case['id']}/visits/999999", {"outcome": "x"}),
            404,
            "visit_id",
        )

        frozen.advance(timedelta(days=7))  # the second visit was due yesterday and not made
        assert desk.sweep().visits_overdue == 1
        overdue = desk.get("/api/dispatch/follow-ups/visits", state="overdue").json()
        assert [v["id"] for v in overdue] == [second]
        assert overdue[0]["case_id"] == case["id"] and overdue[0]["assignee"] == "officer-1"
        brief = desk.get(f"/api/dispatch/incidents/{dispute['id']}").json()["follow_up"]
        assert brief["visits_done"] == 1 and brief["overdue_visits"] == 1

        close = f"/api/dispatch/follow-ups/{case['id']}/close"
        r = desk.post(close, {"outcome": "纠纷化解，双方签订协议"}, who="officer")
        assert r.status_code == 200 and r.json()["status"] == "closed"
        assert r.json()["visits"][1]["cancelled_at"] is not None
        _error(desk.post(close, {"outcome": "again"}), 409, "case_id")
        assert desk.get("/api/dispatch/follow-ups/visits", state="overdue").json() == []
        assert desk.get("/api/dispatch/follow-ups", status="closed").json()[0]["id"] == case["id"]
        assert desk.get(f"/api/dispatch/follow-ups/{case['id']}").status_code == 200
        assert desk.get("/api/dispatch/follow-ups", who="elsewhere", status="all").json() == []
        _error(desk.get(f"/api/dispatch/follow-ups/{case['id']}", who="elsewhere"), 404, "case_id")
        _error(desk.get("/api/dispatch/follow-ups/999999"), 404, "case_id")


# ---------------------------------------------------------------------------- the incident list


def _linked_three(desk: Desk) -> None:
    """A water call handed to the water company and a dispute with a follow-up case."""
    water = desk.call(WATER)
    r = desk.post(f"/api/dispatch/incidents/{water['id']}/transfer", {})
    assert r.status_code == 201, r.text
    dispute = desk.call(DISPUTE)
    visits = [(clock.now() + timedelta(days=d)).isoformat() for d in (1, 7)]
    body = {"assignee": "officer-1", "summary": "停车位纠纷", "visits": visits}
    r = desk.post(f"/api/dispatch/incidents/{dispute['id']}/follow-up", body, who="officer")
    assert r.status_code == 201, r.text
    desk.call(NOISE)  # new, with a suggested department


def test_the_incident_list_shows_what_each_incident_shows_in_a_fixed_number_of_queries(
    desk: Desk,
) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    def list_queries() -> tuple[int, list[dict[str, Any]]]:
        statements.clear()
        event.listen(desk.db.engine, "before_cursor_execute", count)
        try:
            r = desk.get("/api/dispatch/incidents", status="all")
        finally:
            event.remove(desk.db.engine, "before_cursor_execute", count)
        assert r.status_code == 200, r.text
        return len(statements), r.json()

    _linked_three(desk)
    few, listed = list_queries()
    assert len(listed) == 3
    _linked_three(desk)  # (the six spots of the scene are then used up)
    many, listed = list_queries()
    assert len(listed) == 6
    # Twice the incidents, the same queries (it was a handful more per incident).
    assert many == few, (few, many)
    # Each entry is what the incident's own page shows (lists always mask the phone).
    for entry in listed:
        own = desk.get(f"/api/dispatch/incidents/{entry['id']}").json()
        assert {k: v for k, v in entry.items() if k != "caller_phone"} == {
            k: v for k, v in own.items() if k != "caller_phone"
        }
    kinds = {(e["transfer"] is not None, e["follow_up"] is not None) for e in listed}
    assert kinds == {(True, False), (False, True), (False, False)}
    assert any(e["suggested_department"] for e in listed)
    assert all(e["follow_up"]["visits"] == 2 for e in listed if e["follow_up"])


# ---------------------------------------------------------------------------- CLI


def test_cli_lists_departments_makes_a_key_and_sweeps(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingan.cli import app as pingan

    monkeypatch.setenv("PINGAN_DATABASE_URL", desk.settings.database_url_resolved)
    monkeypatch.setenv("PINGAN_DATA_DIR", str(desk.settings.data_dir))
    monkeypatch.setenv("PINGAN_LANG", "en")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        listed = runner.invoke(pingan, ["dispatch", "departments"])
        assert listed.exit_code == 0, listed.output
        assert "water_company" in listed.output and "hotline_12345" in listed.output
        made = runner.invoke(pingan, ["dispatch", "department-key", "animal_control"])
        assert made.exit_code == 0, made.output
        key = next(line for line in made.output.splitlines() if "." in line and " " not in line)
        r = desk.client.get("/api/dispatch/partner/transfers", headers={"X-API-Key": key})
        assert r.status_code == 200 and r.json() == []
        assert desk.client.get("/api/dispatch/units", headers={"X-API-Key": key}).status_code == 403
        missing = runner.invoke(pingan, ["dispatch", "department-key", "nope"])
        assert missing.exit_code == 1 and "nope" in missing.output
        swept = runner.invoke(pingan, ["dispatch", "sweep"])
        assert swept.exit_code == 0 and "Overdue flagged" in swept.output
    finally:
        get_settings.cache_clear()
