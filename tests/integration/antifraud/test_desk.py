"""The anti-fraud desk through the real app: real logins, real partner keys.

Operators and banks call with API keys whose ``partner`` is their code; staff sign in
(JWT). Time is frozen (``core.clock``) so deadlines and holds pass when the test says.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.antifraud import service
from pingan.antifraud.models import FraudWarning, PotentialVictim, Signal, StopPayment, Team
from pingan.antifraud.schemas import SweepReport
from pingan.city.models import City, District
from pingan.city.service import demo_pbf_path, import_city
from pingan.core import clock
from pingan.core.audit import AuditRecord
from pingan.core.auth import service as auth
from pingan.core.auth.models import Jurisdiction
from pingan.core.auth.permissions import Principal
from pingan.core.auth.schemas import ApiKeyCreate, JurisdictionCreate, UserCreate
from pingan.core.db import Base, Database
from pingan.core.outbox import OutboxMessage
from pingan.core.settings import Settings
from pingan.web.app import create_app

pytestmark = pytest.mark.usefixtures("fast_hasher")

PASSWORD = "antifraud-pass-1"
PHONE = "13812345678"
T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
SYSTEM = Principal.system("test")
ACCOUNT = "6222021234567890123"


@dataclass
class Desk:
    """The app with the demo city, its 179 teams, staff logins and partner keys."""

    client: TestClient
    db: Database
    settings: Settings
    district: str = ""
    other_district: str = ""
    staff: dict[str, dict[str, str]] = field(default_factory=dict)
    keys: dict[str, dict[str, str]] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        """A staff member's bearer token or a partner's key."""
        return self.staff.get(who) or self.keys[who]

    def get(self, path: str, who: str = "dissuasion", **params: Any) -> Any:
        """GET as ``who``."""
        return self.client.get(path, headers=self.headers(who), params=params)

    def post(self, path: str, body: Any = None, who: str = "dissuasion") -> Any:
        """POST as ``who``."""
        return self.client.post(path, json=body, headers=self.headers(who))

    def signals(self, items: list[dict[str, Any]], who: str = "cmcc") -> Any:
        """Push a batch as a partner."""
        return self.post("/api/antifraud/signals", {"signals": items}, who=who)

    def count(self, model: Any) -> int:
        """Rows of a table."""
        with self.db.session() as s:
            return int(s.scalars(select(func.count()).select_from(model)).one())

    def sweep(self) -> SweepReport:
        """One sweep, committed (what the periodic job does)."""
        with self.db.session() as s:
            return service.sweep(db=s)


def police_campaign(district: str, phone: str = PHONE, prefix: str = "s") -> list[dict[str, Any]]:
    """A police-impersonation campaign against one person: calls, content, an app."""
    return [
        {"id": f"{prefix}1", "kind": "call", "phone": phone, "jurisdiction": district,
         "caller_flag": "police_impersonation", "duration_s": 420},
        {"id": f"{prefix}2", "kind": "call", "phone": phone,
         "caller_flag": "police_impersonation", "duration_s": 300},
        {"id": f"{prefix}3", "kind": "sms", "phone": phone, "fraud_type": "police_impersonation",
         "probability": 0.92, "text": "您涉嫌洗钱，请配合安全账户核查"},
        {"id": f"{prefix}4", "kind": "app", "phone": phone, "app_kind": "remote",
         "app_name": "屏幕共享"},
    ]  # fmt: skip


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
        assert service.seed_demo_teams(db=s, city_id=city.id) == 179
        assert service.seed_demo_teams(db=s, city_id=city.id) == 0  # idempotent
        districts = list(
            s.scalars(select(District).where(District.city_id == city.id).order_by(District.name))
        )
        codes = [s.get(Jurisdiction, d.jurisdiction_id).code for d in districts]  # type: ignore[union-attr]
        elsewhere = auth.create_jurisdiction(
            db=s,
            jurisdiction_in=JurisdictionCreate(code="elsewhere", name="外市", kind="city"),
            actor=SYSTEM,
        )
        users = {
            "dissuasion": ("dissuasion", place.code),
            "commander": ("commander", place.code),
            "analyst": ("analyst", place.code),
            "officer": ("officer", place.code),
            "elsewhere": ("dissuasion", elsewhere.code),
        }
        for name, (role, where) in users.items():
            auth.create_user(
                db=s,
                user_in=UserCreate(
                    username=f"{name}-1", password=PASSWORD, roles=[role], jurisdictions=[where]
                ),
                actor=SYSTEM,
            )
        for code in ("cmcc", "icbc", "abc"):
            _key, plain[code] = auth.create_api_key(
                db=s, key_in=ApiKeyCreate(name=code, partner=code), actor=SYSTEM
            )
    with TestClient(app) as client:
        d = Desk(
            client=client, db=db, settings=settings, district=codes[0], other_district=codes[1]
        )
        for name in users:
            r = client.post("/api/auth/login", json={"username": f"{name}-1", "password": PASSWORD})
            assert r.status_code == 200, r.text
            d.staff[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        d.keys = {code: {"X-API-Key": key} for code, key in plain.items()}
        yield d


def _error(r: Any, status: int, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["field"] == field, error
    return error


# ---------------------------------------------------------------------------- signals


def test_signals_raise_a_warning_with_reasons_routed_to_a_team_of_the_place(desk: Desk) -> None:
    with clock.frozen(T0):
        r = desk.signals(police_campaign(desk.district))
    assert r.status_code == 200, r.text
    batch = r.json()
    assert batch["created"] == 4 and batch["duplicates"] == 0 and batch["warnings_raised"] == 1
    assert [x["status"] for x in batch["results"]] == ["created"] * 4
    assert batch["results"][-1]["level"] == "high"
    warning_id = batch["results"][-1]["warning_id"]
    assert warning_id is not None
    assert PHONE not in r.text

    queue = desk.get("/api/antifraud/warnings").json()
    (row,) = [w for w in queue if w["id"] == warning_id]
    assert row["level"] == "high" and row["typology"] == "police_impersonation"
    assert row["status"] == "assigned" and row["step"] == "dissuade"
    assert row["phone_masked"] == "138****5678"
    assert any("冒充公检法" in reason for reason in row["reasons"]["zh-CN"])
    assert any("impersonating police" in reason for reason in row["reasons"]["en"])
    # Routed to a team of the person's own district.
    with desk.db.session() as s:
        warning = s.get(FraudWarning, warning_id)
        assert warning is not None and warning.team_id is not None
        team = s.get(Team, warning.team_id)
        place = s.scalars(select(Jurisdiction).where(Jurisdiction.code == desk.district)).one()
        assert team is not None and team.jurisdiction_id == place.id
        assert warning.jurisdiction_id == place.id
        dissuade_s = service.default_policy()["high"]["dissuade"]
        assert warning.due_at == T0 + timedelta(seconds=dissuade_s)
        # The phone is stored once, on the person, under a keyed hash; never in a signal.
        victim = s.get(PotentialVictim, warning.victim_id)
        assert victim is not None and victim.key != PHONE and len(victim.key) == 64
        payloads = [sig.payload for sig in s.scalars(select(Signal))]
        assert all(PHONE not in str(p) for p in payloads)
    assert row["team"]["name"].split(" 预警劝阻专班 ")[0]


def test_second_warning_goes_to_the_least_loaded_team(desk: Desk) -> None:
    first = desk.signals(police_campaign(desk.district, "13900000001", "a")).json()
    second = desk.signals(police_campaign(desk.district, "13900000002", "b")).json()
    w1, w2 = first["results"][-1]["warning_id"], second["results"][-1]["warning_id"]
    with desk.db.session() as s:
        a, b = s.get(FraudWarning, w1), s.get(FraudWarning, w2)
        assert a is not None and b is not None and a.team_id is not None
        team = s.get(Team, a.team_id)
        assert team is not None
        same_place = s.scalars(
            select(func.count())
            .select_from(Team)
            .where(Team.jurisdiction_id == team.jurisdiction_id)
        ).one()
        assert same_place > 1  # 179 teams over the demo districts
        assert a.team_id != b.team_id


def test_duplicate_signals_are_idempotent(desk: Desk) -> None:
    items = police_campaign(desk.district)
    first = desk.signals(items)
    assert first.status_code == 200, first.text
    rows, audits = desk.count(Signal), desk.count(AuditRecord)
    again = desk.signals(items)
    assert again.status_code == 200, again.text
    assert again.json()["created"] == 0 and again.json()["duplicates"] == 4
    strip = [{k: v for k, v in x.items() if k != "status"} for x in first.json()["results"]]
    assert [{k: v for k, v in x.items() if k != "status"} for x in again.json()["results"]] == strip
    assert desk.count(Signal) == rows and desk.count(AuditRecord) == audits
    # Repeated inside one batch: the second is a duplicate of the first.
    r = desk.signals([items[0] | {"id": "x1"}, items[0] | {"id": "x1"}])
    assert [x["status"] for x in r.json()["results"]] == ["created", "duplicate"]
    assert desk.count(Signal) == rows + 1
    # The same id from another partner is another report.
    r = desk.signals([items[0]], who="icbc")
    assert r.json()["results"][0]["status"] == "created"


def test_malformed_signal_names_index_and_field_and_writes_nothing(desk: Desk) -> None:
    items = police_campaign(desk.district)
    bad = [*items[:2], {**items[2], "probability": 1.7}, items[3]]
    rows, audits = desk.count(Signal), desk.count(AuditRecord)
    _error(desk.signals(bad), 422, "signals[2].probability")
    _error(desk.signals([{"id": "k", "kind": "fax", "phone": PHONE}]), 422, "signals[0].kind")
    _error(desk.signals([{**items[0], "phone": "12345"}]), 422, "signals[0].phone")
    _error(desk.signals([{**items[0], "jurisdiction": "nowhere"}]), 422, "signals[0].jurisdiction")
    no_place = {k: v for k, v in items[0].items() if k != "jurisdiction"}
    _error(desk.signals([no_place]), 422, "signals[0].jurisdiction")
    _error(desk.signals([]), 422, "signals")
    assert desk.count(Signal) == rows and desk.count(AuditRecord) == audits
    assert desk.count(FraudWarning) == 0 and desk.count(PotentialVictim) == 0


def test_who_may_push_signals(desk: Desk) -> None:
    items = police_campaign(desk.district)
    # No key, a wrong key: 401.
    assert desk.client.post("/api/antifraud/signals", json={"signals": items}).status_code == 401
    r = desk.client.post(
        "/api/antifraud/signals", json={"signals": items}, headers={"X-API-Key": "nope"}
    )
    assert r.status_code == 401
    # Staff are not partners; a bank's key may report transfers (and anything else).
    assert desk.signals(items, who="dissuasion").status_code == 403
    transfer = {"id": "t1", "kind": "transfer", "phone": PHONE, "jurisdiction": desk.district,
                "amount": 48000, "account": ACCOUNT, "payee_fanin_24h": 37}  # fmt: skip
    assert desk.signals([transfer], who="icbc").status_code == 200


# ---------------------------------------------------------------------------- steps


def _raise(desk: Desk) -> int:
    r = desk.signals(police_campaign(desk.district))
    assert r.status_code == 200, r.text
    warning_id: int = r.json()["results"][-1]["warning_id"]
    return warning_id


def test_contacts_then_dissuaded_and_closed(desk: Desk) -> None:
    with clock.frozen(T0) as frozen:
        wid = _raise(desk)
        frozen.advance(120)
        base = f"/api/antifraud/warnings/{wid}"
        r = desk.post(f"{base}/contacts", {"channel": "call_96110", "outcome": "no_answer"})
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "contacting"
        assert r.json()["first_contact_at"].startswith("2026-11-30T01:02:00")
        r = desk.post(f"{base}/contacts", {"channel": "call_96110", "outcome": "refused"})
        assert r.json()["status"] == "refused"
        r = desk.post(
            f"{base}/contacts",
            {"channel": "call_96110", "outcome": "dissuaded", "note": "已讲解，停止转账"},
        )
        body = r.json()
        assert body["status"] == "dissuaded" and body["step"] == "feedback"
        assert [c["outcome"] for c in body["contacts"]] == ["no_answer", "refused", "dissuaded"]
        assert body["assignee"] == "dissuasion-1"
        # Analysts read but do not work warnings; the channel must be known.
        assert desk.post(f"{base}/contacts", {"channel": "call_96110", "outcome": "reached"},
                         who="analyst").status_code == 403  # fmt: skip
        _error(desk.post(f"{base}/contacts", {"channel": "fax", "outcome": "reached"}), 422,
               "channel")  # fmt: skip
        r = desk.post(f"{base}/close", {"outcome": "dissuaded"})
        assert r.status_code == 200 and r.json()["status"] == "closed"
        assert r.json()["due_at"] is None
        _error(desk.post(f"{base}/close", {"outcome": "dissuaded"}), 409, "status")
        mine = desk.get("/api/antifraud/warnings", scope="mine", status="closed").json()
        assert [w["id"] for w in mine] == [wid]
        dash = desk.get("/api/antifraud/dashboards", who="analyst", since="2026-11-29T00:00:00Z")
        assert dash.status_code == 200, dash.text
        figures = dash.json()
        assert figures["warnings"] == 1 and figures["dissuaded"] == 1
        assert figures["dissuasion_rate"] == 1.0 and figures["first_contact_median_s"] == 120
        assert figures["per_day"] == [
            {"day": "2026-11-30", "level": "high", "typology": "police_impersonation", "count": 1}
        ]


def test_visit_escalation_publishes_an_event_for_dispatch(desk: Desk) -> None:
    wid = _raise(desk)
    r = desk.post(f"/api/antifraud/warnings/{wid}/escalate-visit", {"urgency": "immediate"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "visit"
    with desk.db.session() as s:
        (msg,) = s.scalars(
            select(OutboxMessage).where(OutboxMessage.subject == "antifraud.visit.requested")
        ).all()
        assert msg.payload["warning_id"] == wid and msg.payload["urgency"] == "immediate"
        assert msg.payload["jurisdiction"] == desk.district
        assert PHONE not in str(msg.payload)


def test_sla_breach_is_escalated_by_the_sweep_once(desk: Desk) -> None:
    with clock.frozen(T0) as frozen:
        wid = _raise(desk)
        assert desk.sweep().escalated == []
        due = service.default_policy()["high"]["dissuade"]
        frozen.advance(due - 1)
        assert desk.sweep().escalated == []
        row = desk.get("/api/antifraud/warnings").json()[0]
        assert row["seconds_left"] == 1
        frozen.advance(2)
        assert desk.sweep().escalated == [wid]
        assert desk.sweep().escalated == []  # once
        row = desk.get(f"/api/antifraud/warnings/{wid}").json()
        assert row["breached"] and row["escalated"] and row["seconds_left"] == -1
        escalated = desk.get("/api/antifraud/warnings", escalated="true").json()
        assert [w["id"] for w in escalated] == [wid]
    with desk.db.session() as s:
        subjects = s.scalars(select(OutboxMessage.subject)).all()
    assert "antifraud.warning.escalated" in subjects


def test_supervisor_edits_the_sla_policy(desk: Desk) -> None:
    policy = desk.get("/api/antifraud/sla-policy", who="commander").json()
    assert policy == service.default_policy()
    assert desk.get("/api/antifraud/sla-policy", who="dissuasion").status_code == 403
    policy["high"]["dissuade"] = 120
    r = desk.client.put("/api/antifraud/sla-policy", json=policy, headers=desk.headers("commander"))
    assert r.status_code == 200 and r.json()["high"]["dissuade"] == 120
    bad = {**policy, "high": {**policy["high"], "push": 0}}
    r = desk.client.put("/api/antifraud/sla-policy", json=bad, headers=desk.headers("commander"))
    _error(r, 422, "high.push")
    with clock.frozen(T0):
        wid = _raise(desk)
        row = desk.get(f"/api/antifraud/warnings/{wid}").json()
        assert row["seconds_left"] == 120


# ---------------------------------------------------------------------------- stop-payment


def test_stop_payment_hold_renewals_and_expiry(desk: Desk) -> None:
    with clock.frozen(T0) as frozen:
        wid = _raise(desk)
        body = {"bank": "icbc", "account": ACCOUNT, "amount": 48000}
        _error(desk.post(f"/api/antifraud/warnings/{wid}/stop-payments",
                         {**body, "bank": "nobank"}), 422, "bank")  # fmt: skip
        r = desk.post(f"/api/antifraud/warnings/{wid}/stop-payments", body)
        assert r.status_code == 201, r.text
        (sp,) = r.json()["stop_payments"]
        assert sp["status"] == "requested" and r.json()["status"] == "stop_payment"
        sid = sp["id"]
        # The bank sees its own request, with the account; the other bank sees nothing.
        mine = desk.get("/api/antifraud/partner/stop-payments", who="icbc").json()
        assert [x["id"] for x in mine] == [sid] and mine[0]["account"] == ACCOUNT
        assert desk.get("/api/antifraud/partner/stop-payments", who="abc").json() == []
        answer = f"/api/antifraud/partner/stop-payments/{sid}/answer"
        _error(desk.post(answer, {"decision": "held"}, who="abc"), 404, "stop_payment_id")
        assert desk.post(answer, {"decision": "held"}, who="dissuasion").status_code == 403
        renew = f"/api/antifraud/stop-payments/{sid}/renew"
        _error(desk.post(renew), 409, "status")  # not held yet
        r = desk.post(answer, {"decision": "held", "bank_ref": "ICBC-1"}, who="icbc")
        assert r.status_code == 200, r.text
        assert r.json()["hold_until"].startswith("2026-12-02T01:00:00")
        again = desk.post(answer, {"decision": "held"}, who="icbc")
        assert again.status_code == 200 and again.json()["hold_until"] == r.json()["hold_until"]
        _error(desk.post(answer, {"decision": "rejected"}, who="icbc"), 409, "decision")
        for n in (1, 2):
            r = desk.post(renew)
            assert r.status_code == 200, r.text
            assert r.json()["renewals"] == n and r.json()["status"] == "renewed"
        assert r.json()["hold_until"].startswith("2026-12-06T01:00:00")
        _error(desk.post(renew), 409, "renewals")
        dash = desk.get("/api/antifraud/dashboards", who="analyst").json()
        assert dash["money_intercepted"] == 48000
        frozen.advance(timedelta(days=6))
        assert desk.sweep().expired == []  # exactly at hold_until: still held
        frozen.advance(1)
        report = desk.sweep()
        assert report.expired == [sid]
        with desk.db.session() as s:
            assert s.get(StopPayment, sid).status == "expired"  # type: ignore[union-attr]
        _error(desk.post(renew), 409, "status")
        assert desk.sweep().expired == []


def test_bank_freezes_a_held_account(desk: Desk) -> None:
    wid = _raise(desk)
    body = {"bank": "abc", "account": ACCOUNT, "amount": 9000}
    sid = desk.post(f"/api/antifraud/warnings/{wid}/stop-payments", body).json()["stop_payments"][
        0
    ]["id"]
    answer = f"/api/antifraud/partner/stop-payments/{sid}/answer"
    _error(desk.post(answer, {"decision": "frozen"}, who="abc"), 409, "decision")
    assert desk.post(answer, {"decision": "held"}, who="abc").status_code == 200
    r = desk.post(answer, {"decision": "frozen", "bank_ref": "F-9"}, who="abc")
    assert r.status_code == 200 and r.json()["status"] == "frozen"


# ---------------------------------------------------------------------------- privacy, scope


def reveals(desk: Desk) -> int:
    """Audit records of unmasked reads."""
    with desk.db.session() as s:
        stmt = select(func.count()).select_from(AuditRecord)
        return int(s.scalars(stmt.where(AuditRecord.action == "read_personal")).one())


def test_masking_by_role_and_audited_reveal(desk: Desk) -> None:
    wid = _raise(desk)
    desk.post(
        f"/api/antifraud/warnings/{wid}/stop-payments",
        {"bank": "icbc", "account": ACCOUNT, "amount": 1000},
    )
    before = reveals(desk)
    analyst = desk.get(f"/api/antifraud/warnings/{wid}", who="analyst")
    assert analyst.status_code == 200
    assert analyst.json()["phone"] == "138****5678" and PHONE not in analyst.text
    assert ACCOUNT not in analyst.text
    assert reveals(desk) == before  # a masked read is not a reveal
    member = desk.get(f"/api/antifraud/warnings/{wid}")
    assert member.json()["phone"] == PHONE
    assert member.json()["stop_payments"][0]["account"] == ACCOUNT
    with desk.db.session() as s:
        rec = s.scalars(
            select(AuditRecord)
            .where(AuditRecord.action == "read_personal", AuditRecord.entity == "antifraud_warning")
            .order_by(AuditRecord.id.desc())
        ).first()
    assert rec is not None and rec.actor == "dissuasion-1" and rec.entity_id == str(wid)
    assert rec.detail["fields"] == ["account", "phone"]


def test_other_jurisdiction_sees_nothing(desk: Desk) -> None:
    wid = _raise(desk)
    assert desk.get("/api/antifraud/warnings", who="elsewhere").json() == []
    _error(desk.get(f"/api/antifraud/warnings/{wid}", who="elsewhere"), 404, "warning_id")
    r = desk.post(
        f"/api/antifraud/warnings/{wid}/contacts",
        {"channel": "call_96110", "outcome": "reached"},
        who="elsewhere",
    )
    _error(r, 404, "warning_id")
    assert desk.get("/api/antifraud/dashboards", who="elsewhere").json()["warnings"] == 0
    assert desk.get("/api/antifraud/teams", who="elsewhere").json() == []
    assert len(desk.get("/api/antifraud/teams").json()) == 179
    # Officers are not on the desk; partners cannot read the queue.
    assert desk.get("/api/antifraud/warnings", who="officer").status_code == 403
    assert desk.get("/api/antifraud/warnings", who="cmcc").status_code == 403


def test_upgrade_from_medium_to_high_keeps_one_warning(desk: Desk) -> None:
    medium: list[dict[str, Any]] = [
        {"id": "m1", "kind": "sms", "phone": PHONE, "jurisdiction": desk.district,
         "fraud_type": "investment", "probability": 0.95},
        {"id": "m2", "kind": "app", "phone": PHONE, "app_kind": "finance"},
    ]  # fmt: skip
    r = desk.signals(medium).json()
    assert r["results"][-1]["level"] == "medium"
    wid = r["results"][-1]["warning_id"]
    more = [{"id": "m3", "kind": "transfer", "phone": PHONE, "amount": 60000,
             "account": ACCOUNT, "payee_fanin_24h": 12}]  # fmt: skip
    r = desk.signals(more, who="icbc").json()
    assert r["results"][0]["level"] == "high" and r["results"][0]["warning_id"] == wid
    assert desk.count(FraudWarning) == 1
    w = desk.get(f"/api/antifraud/warnings/{wid}").json()
    assert w["level"] == "high" and w["typology"] == "investment"


def test_bulk_file_jsonl_and_csv(desk: Desk) -> None:
    import json

    items = police_campaign(desk.district)
    body = "\n".join(json.dumps(x, ensure_ascii=False) for x in items).encode()
    headers = {**desk.keys["cmcc"], "Content-Type": "application/x-ndjson"}
    r = desk.client.post("/api/antifraud/signals/file", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 4 and r.json()["warnings_raised"] == 1
    csv_body = (
        "id,kind,phone,jurisdiction,amount,account,payee_fanin_24h,flagged\n"
        f"c1,transfer,13900001111,{desk.district},20000,{ACCOUNT},40,true\n"
        f"c2,transfer,13900001111,,abc,{ACCOUNT},40,true\n"
    ).encode("gb18030")
    headers = {**desk.keys["icbc"], "Content-Type": "text/csv"}
    rows = desk.count(Signal)
    r = desk.client.post("/api/antifraud/signals/file", content=csv_body, headers=headers)
    _error(r, 422, "signals[1].amount")
    assert desk.count(Signal) == rows
    ndjson = {**desk.keys["icbc"], "Content-Type": "application/x-ndjson"}
    r = desk.client.post(
        "/api/antifraud/signals/file", content=b'{"id": 1}\nnot json\n', headers=ndjson
    )
    _error(r, 422, "signals[1]")
    r = desk.client.post(
        "/api/antifraud/signals/file", content=csv_body.split(b"\nc2")[0], headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["level"] == "medium"
    r = desk.client.post("/api/antifraud/signals/file", content=b"", headers=headers)
    _error(r, 422, "file")
