"""Linkage case rooms and the year-on-year dashboard through the real app.

A small world without a city: a city jurisdiction with two districts and another city,
one dissuasion team, staff of several units (real logins) and partner keys (an operator
and two banks). Time is frozen so the timeline's order is the test's. The teams' member
lists (and the team queue they drive) are tested here too, in the same small world.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.antifraud import caseroom, module
from pingan.antifraud.models import (
    CaseRoom,
    CaseRoomEntry,
    CaseRoomMember,
    FraudWarning,
    Team,
    TeamMember,
)
from pingan.core import clock
from pingan.core.audit import AuditRecord
from pingan.core.auth import service as auth
from pingan.core.auth.models import Jurisdiction, User
from pingan.core.auth.permissions import Principal
from pingan.core.auth.schemas import ApiKeyCreate, JurisdictionCreate, UserCreate
from pingan.core.bus import InProcessBus
from pingan.core.db import Base, Database
from pingan.core.module import Context
from pingan.core.outbox import OutboxMessage, idempotent_handler
from pingan.core.settings import Settings
from pingan.web.app import create_app

pytestmark = pytest.mark.usefixtures("fast_hasher")

PASSWORD = "caseroom-pass-1"
SYSTEM = Principal.system("test")
T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
ACCOUNT = "6222021234567890123"


@dataclass
class Room:
    """The app with staff logins and partner keys."""

    client: TestClient
    db: Database
    settings: Settings
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def get(self, path: str, who: str, **params: Any) -> Any:
        """GET as ``who``."""
        return self.client.get(path, headers=self.headers[who], params=params)

    def post(self, path: str, body: Any, who: str) -> Any:
        """POST as ``who``."""
        return self.client.post(path, json=body, headers=self.headers[who])

    def put(self, path: str, body: Any, who: str) -> Any:
        """PUT as ``who``."""
        return self.client.put(path, json=body, headers=self.headers[who])

    def count(self, model: Any) -> int:
        """Rows of a table."""
        with self.db.session() as s:
            return int(s.scalars(select(func.count()).select_from(model)).one())

    def warning(
        self,
        phone: str,
        *,
        extra: list[dict[str, Any]] | None = None,
        campaign: bool = True,
        prefix: str = "s",
        place: str = "cr-d1",
    ) -> int:
        """A warning about ``phone``: a police-impersonation campaign (high) and/or extra
        reports; returns its id."""
        items: list[dict[str, Any]] = []
        if campaign:
            items = [
                {
                    "id": f"{prefix}1",
                    "kind": "call",
                    "phone": phone,
                    "jurisdiction": place,
                    "caller_flag": "police_impersonation",
                    "duration_s": 420,
                },
                {
                    "id": f"{prefix}2",
                    "kind": "call",
                    "phone": phone,
                    "caller_flag": "police_impersonation",
                    "duration_s": 300,
                },
                {
                    "id": f"{prefix}3",
                    "kind": "sms",
                    "phone": phone,
                    "fraud_type": "police_impersonation",
                    "probability": 0.92,
                },
                {"id": f"{prefix}4", "kind": "app", "phone": phone, "app_kind": "remote"},
            ]
        items += extra or []
        r = self.post("/api/antifraud/signals", {"signals": items}, "cmcc")
        assert r.status_code == 200, r.text
        warning_id = r.json()["results"][-1]["warning_id"]
        assert warning_id is not None
        return int(warning_id)


def _error(r: Any, status: int, field_name: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"]["field"] == field_name, r.json()


@pytest.fixture
def room(settings: Settings, database: object) -> Iterator[Room]:
    app = create_app(settings, background=False)
    db: Database = app.state.ctx.db
    Base.metadata.create_all(db.engine)
    keys: dict[str, str] = {}
    with db.session() as s:
        for code, kind, parent in (
            ("cr-city", "city", None),
            ("cr-d1", "district", "cr-city"),
            ("cr-d2", "district", "cr-city"),
            ("cr-other", "city", None),
        ):
            auth.create_jurisdiction(
                db=s,
                jurisdiction_in=JurisdictionCreate(code=code, name=code, kind=kind, parent=parent),
                actor=SYSTEM,
            )
        place = s.scalars(select(Jurisdiction).where(Jurisdiction.code == "cr-d1")).one()
        other = s.scalars(select(Jurisdiction).where(Jurisdiction.code == "cr-other")).one()
        s.add(Team(code="cr-team-1", name="专班 1", jurisdiction_id=place.id, capacity=20))
        s.add(Team(code="cr-team-x", name="外市专班", jurisdiction_id=other.id, capacity=20))
        users = {
            "dissuasion": ("dissuasion", "cr-d1"),
            "commander": ("commander", "cr-city"),
            "investigator": ("officer", "cr-d1"),  # 刑侦
            "intel": ("dispatcher", "cr-city"),  # 情指
            "station": ("officer", "cr-d2"),  # 派出所 of another district
            "bystander": ("officer", "cr-d1"),
            "clerk": ("clerk", "cr-d1"),
            "far": ("officer", "cr-other"),
            "far-commander": ("commander", "cr-other"),
        }
        for name, (role, where) in users.items():
            auth.create_user(
                db=s,
                user_in=UserCreate(
                    username=name,
                    password=PASSWORD,
                    roles=[role],
                    jurisdictions=[where],
                ),
                actor=SYSTEM,
            )
        for code in ("cmcc", "icbc", "abc"):
            _key, keys[code] = auth.create_api_key(
                db=s, key_in=ApiKeyCreate(name=code, partner=code), actor=SYSTEM
            )
    with TestClient(app) as client:
        r = Room(client=client, db=db, settings=settings)
        for name in users:
            login = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
            assert login.status_code == 200, login.text
            r.headers[name] = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for code, key in keys.items():
            r.headers[code] = {"X-API-Key": key}
        yield r


def _feed_captured(r: Room) -> None:
    """Deliver the outbox's captured subjects to the desk's own subscriptions through the
    real idempotent consumer wrapper — each event twice, as a redelivering bus would."""
    ctx = Context(settings=r.settings, db=r.db, bus=InProcessBus())
    subs = module().subscriptions
    assert {s.pattern for s in subs} == set(caseroom.CAPTURED_SUBJECTS)
    handlers = {s.pattern: idempotent_handler(ctx, s) for s in subs}
    with r.db.session() as s:
        envelopes = [
            row.envelope()
            for row in s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.subject.in_(caseroom.CAPTURED_SUBJECTS))
                .order_by(OutboxMessage.id)
            )
        ]

    async def deliver() -> None:
        for envelope in envelopes:
            await handlers[envelope.subject](envelope)
            await handlers[envelope.subject](envelope)

    asyncio.run(deliver())


# ---------------------------------------------------------------------------- opening


def test_open_a_room_for_an_urgent_warning_and_refuse_the_rest(room: Room) -> None:
    with clock.frozen(T0):
        high = room.warning("13800000001")
    with clock.frozen(T0 + timedelta(minutes=5)):
        r = room.post(
            "/api/antifraud/case-rooms", {"warning_id": high, "title": "300万拦截"}, "dissuasion"
        )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "open" and body["title"] == "300万拦截"
    assert body["level"] == "high" and body["warning_id"] == high
    (member,) = body["members_list"]
    assert member["username"] == "dissuasion" and member["role"] == "member"
    kinds = [i["kind"] for i in body["timeline"]]
    assert kinds == ["warning_raised", "opened"]
    assert body["timeline"][0]["at"].startswith("2026-11-30T01:00")
    with room.db.session() as s:
        subjects = set(s.scalars(select(OutboxMessage.subject)))
    assert "antifraud.caseroom.opened" in subjects

    # A second room for the same warning: 409 on warning_id; nothing added.
    _error(
        room.post("/api/antifraud/case-rooms", {"warning_id": high}, "commander"), 409, "warning_id"
    )
    assert room.count(CaseRoom) == 1
    # Unknown warning, or one of another city: 404.
    _error(
        room.post("/api/antifraud/case-rooms", {"warning_id": 99999}, "dissuasion"),
        404,
        "warning_id",
    )
    _error(
        room.post("/api/antifraud/case-rooms", {"warning_id": high}, "far-commander"),
        404,
        "warning_id",
    )
    # Bad input names the field; officers may not open rooms.
    _error(
        room.post("/api/antifraud/case-rooms", {"warning_id": "x"}, "dissuasion"), 422, "warning_id"
    )
    _error(
        room.post("/api/antifraud/case-rooms", {"warning_id": high, "unit": "army"}, "dissuasion"),
        422,
        "unit",
    )
    assert (
        room.post("/api/antifraud/case-rooms", {"warning_id": high}, "investigator").status_code
        == 403
    )
    assert room.count(CaseRoom) == 1


def test_medium_warning_needs_money_moving(room: Room) -> None:
    phone = "13800000003"
    medium_items = [
        {
            "id": "m1",
            "kind": "sms",
            "phone": phone,
            "jurisdiction": "cr-d1",
            "fraud_type": "investment",
            "probability": 0.95,
        },
        {"id": "m2", "kind": "app", "phone": phone, "app_kind": "finance"},
    ]
    r = room.post("/api/antifraud/signals", {"signals": medium_items}, "cmcc")
    assert r.status_code == 200, r.text
    result = r.json()["results"][-1]
    if result["level"] != "medium":
        pytest.skip(f"the typology config grades this {result['level']}, not medium")
    warning_id = result["warning_id"]
    _error(
        room.post("/api/antifraud/case-rooms", {"warning_id": warning_id}, "dissuasion"),
        422,
        "warning_id",
    )
    assert room.count(CaseRoom) == 0
    # The bank reports a transfer to a new payee: money is moving, the room may open.
    transfer = {
        "id": "m3",
        "kind": "transfer",
        "phone": phone,
        "amount": 5000.0,
        "account": ACCOUNT,
        "new_payee": True,
    }
    assert room.post("/api/antifraud/signals", {"signals": [transfer]}, "icbc").status_code == 200
    r = room.post("/api/antifraud/case-rooms", {"warning_id": warning_id}, "dissuasion")
    assert r.status_code == 201, r.text


# ---------------------------------------------------------------------------- members


def test_invite_units_permissions_and_bad_input(room: Room) -> None:
    with clock.frozen(T0):
        warning_id = room.warning("13800000004")
        opened = room.post("/api/antifraud/case-rooms", {"warning_id": warning_id}, "dissuasion")
    room_id = opened.json()["id"]
    path = f"/api/antifraud/case-rooms/{room_id}/members"
    # The opener is a member, not the commander: only a supervisor invites.
    r = room.post(
        path, {"username": "investigator", "unit": "criminal_investigation"}, "dissuasion"
    )
    assert r.status_code == 403, r.text
    # The commander of the city takes command and invites the units.
    r = room.post(
        path,
        {"username": "commander", "unit": "intelligence_command", "role": "commander"},
        "commander",
    )
    assert r.status_code == 201, r.text
    for body in (
        {"username": "investigator", "unit": "criminal_investigation", "unit_name": "刑侦大队"},
        {"username": "intel", "unit": "intelligence_command", "unit_name": "情指中心"},
        {"partner": "icbc", "unit": "bank", "unit_name": "工商银行"},
    ):
        r = room.post(path, body, "commander")
        assert r.status_code == 201, r.text
    members = r.json()["members_list"]
    assert {(m["username"] or m["partner"], m["unit"]) for m in members} == {
        ("dissuasion", "dissuasion"),
        ("commander", "intelligence_command"),
        ("investigator", "criminal_investigation"),
        ("intel", "intelligence_command"),
        ("icbc", "bank"),
    }
    before = room.count(CaseRoomMember), room.count(CaseRoomEntry)
    # Bad input: 4xx naming the field, nothing written.
    for body, status, field_name in (
        ({"username": "nobody", "unit": "other"}, 422, "username"),
        ({"username": "clerk", "unit": "other"}, 422, "username"),  # role not allowed
        ({"username": "far", "unit": "police_station"}, 422, "username"),  # other city
        ({"username": "station", "unit": "police_station"}, 422, "username"),  # other district
        ({"username": "investigator", "partner": "abc", "unit": "bank"}, 422, "username"),
        ({"unit": "bank"}, 422, "username"),
        ({"partner": "no-such-bank", "unit": "bank"}, 422, "partner"),
        ({"partner": "abc", "unit": "bank", "role": "commander"}, 422, "role"),
        ({"username": "bystander", "unit": "army"}, 422, "unit"),
        ({"username": "bystander", "unit": "bank"}, 422, "unit"),
        ({"username": "investigator", "unit": "criminal_investigation"}, 409, "username"),
        ({"partner": "icbc", "unit": "bank"}, 409, "partner"),
        ({"username": "x" * 65, "unit": "other"}, 422, "username"),
    ):
        _error(room.post(path, body, "commander"), status, field_name)
    assert (room.count(CaseRoomMember), room.count(CaseRoomEntry)) == before


def test_only_members_and_supervisors_see_a_room(room: Room) -> None:
    with clock.frozen(T0):
        warning_id = room.warning("13800000005")
        room_id = room.post(
            "/api/antifraud/case-rooms", {"warning_id": warning_id}, "commander"
        ).json()["id"]
        room.post(
            f"/api/antifraud/case-rooms/{room_id}/members",
            {"username": "investigator", "unit": "criminal_investigation"},
            "commander",
        )
    url = f"/api/antifraud/case-rooms/{room_id}"
    assert room.get(url, "investigator").status_code == 200  # a member
    assert room.get(url, "commander").status_code == 200  # the supervisor
    _error(room.get(url, "bystander"), 403, "room_id")  # same district, not a member
    _error(room.get(url, "far"), 404, "room_id")  # another city: as if it did not exist
    _error(room.get(url, "far-commander"), 404, "room_id")
    assert room.get(url, "clerk").status_code == 403  # no case-room permission at all
    assert [x["id"] for x in room.get("/api/antifraud/case-rooms", "investigator").json()] == [
        room_id
    ]
    assert room.get("/api/antifraud/case-rooms", "bystander").json() == []
    assert room.get("/api/antifraud/case-rooms", "far-commander").json() == []
    # Non-members may not post either.
    _error(room.post(f"{url}/entries", {"kind": "note", "text": "x"}, "bystander"), 403, "room_id")
    _error(room.get("/api/antifraud/case-rooms", "commander", status="nope"), 422, "status")


# ---------------------------------------------------------------------------- timeline


def test_shared_timeline_money_and_closing(room: Room) -> None:
    phone = "13800000006"
    with clock.frozen(T0):
        warning_id = room.warning(phone)
    with clock.frozen(T0 + timedelta(minutes=2)):
        r = room.post(
            f"/api/antifraud/warnings/{warning_id}/contacts",
            {"channel": "call_96110", "outcome": "refused", "note": "不听劝"},
            "dissuasion",
        )
        assert r.status_code == 201, r.text
    with clock.frozen(T0 + timedelta(minutes=4)):
        r = room.post(
            f"/api/antifraud/warnings/{warning_id}/stop-payments",
            {"bank": "icbc", "account": ACCOUNT, "amount": 3_000_000.0},
            "dissuasion",
        )
        assert r.status_code == 201, r.text
        stop_id = r.json()["stop_payments"][0]["id"]
    with clock.frozen(T0 + timedelta(minutes=5)):
        room_id = room.post(
            "/api/antifraud/case-rooms", {"warning_id": warning_id}, "commander"
        ).json()["id"]
        for body in (
            {"username": "investigator", "unit": "criminal_investigation"},
            {"partner": "icbc", "unit": "bank"},
        ):
            assert (
                room.post(
                    f"/api/antifraud/case-rooms/{room_id}/members", body, "commander"
                ).status_code
                == 201
            )
    url = f"/api/antifraud/case-rooms/{room_id}"
    with clock.frozen(T0 + timedelta(minutes=20)):
        # The bank holds the money (its partner API): an event captured into the room.
        r = room.post(
            f"/api/antifraud/partner/stop-payments/{stop_id}/answer",
            {"decision": "held", "bank_ref": "ICBC-1"},
            "icbc",
        )
        assert r.status_code == 200, r.text
    with clock.frozen(T0 + timedelta(minutes=30)):
        r = room.post(
            f"{url}/entries",
            {"kind": "account_frozen", "text": "冻结账户，开户人手机 13912345678"},
            "investigator",
        )
        assert r.status_code == 201, r.text
    with clock.frozen(T0 + timedelta(minutes=40)):
        r = room.post(
            f"/api/antifraud/warnings/{warning_id}/escalate-visit",
            {"urgency": "immediate"},
            "dissuasion",
        )
        assert r.status_code == 200, r.text
    with clock.frozen(T0 + timedelta(minutes=50)):
        r = room.post(
            f"{url}/entries", {"kind": "suspect_located", "text": "嫌疑人在某酒店"}, "investigator"
        )
        assert r.status_code == 201, r.text
    _feed_captured(room)
    body = room.get(url, "investigator").json()
    kinds = [(i["source"], i["kind"]) for i in body["timeline"]]
    assert kinds[:6] == [
        ("warning", "warning_raised"),
        ("warning", "contact"),
        ("warning", "stop_payment_requested"),
        ("room", "opened"),
        ("room", "member_added"),
        ("room", "member_added"),
    ]
    # Captured from the bus once each, although every event was delivered twice.
    assert kinds.count(("warning", "stop_payment_changed")) == 1
    assert kinds.count(("warning", "visit_requested")) == 1
    assert ("member", "account_frozen") in kinds and ("warning", "visit_requested") in kinds
    times = [i["at"] for i in body["timeline"]]
    assert times == sorted(times)
    frozen = next(i for i in body["timeline"] if i["kind"] == "account_frozen")
    assert "13912345678" not in frozen["text"] and "139****5678" in frozen["text"]
    assert frozen["unit"] == "criminal_investigation"
    assert body["money_requested"] == 3_000_000.0 and body["money_intercepted"] == 3_000_000.0

    # Closing: the commander only; then the room is read-only.
    close = {"outcome": "intercepted", "summary": "2小时内拦截300万元"}
    _error(room.post(f"{url}/close", close, "investigator"), 403, "room_id")
    _error(room.post(f"{url}/close", {"outcome": "won"}, "commander"), 422, "outcome")
    with clock.frozen(T0 + timedelta(hours=2)):
        r = room.post(f"{url}/close", close, "commander")
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed" and closed["outcome"] == "intercepted"
    assert closed["timeline"][-1]["kind"] == "closed"
    assert closed["timeline"][-1]["detail"]["intercepted"] == 3_000_000.0
    _error(room.post(f"{url}/close", close, "commander"), 409, "status")
    _error(
        room.post(f"{url}/entries", {"kind": "note", "text": "late"}, "investigator"), 409, "status"
    )
    _error(room.post(f"{url}/entries", {"kind": "note"}, "commander"), 422, "text")
    _error(room.post(f"{url}/entries", {"kind": "gossip", "text": "x"}, "commander"), 422, "kind")
    with room.db.session() as s:
        subjects = [m.subject for m in s.scalars(select(OutboxMessage))]
    assert "antifraud.caseroom.entry_posted" in subjects
    assert "antifraud.caseroom.closed" in subjects


def test_captured_event_is_written_once_per_room_and_not_before_it(room: Room) -> None:
    with clock.frozen(T0):
        warning_id = room.warning("13800000007")
        # Escalated to a visit before any room: shown from the warning's state.
        room.post(f"/api/antifraud/warnings/{warning_id}/escalate-visit", {}, "dissuasion")
    with clock.frozen(T0 + timedelta(minutes=1)):
        room_id = room.post(
            "/api/antifraud/case-rooms", {"warning_id": warning_id}, "dissuasion"
        ).json()["id"]
    _feed_captured(room)
    assert room.count(CaseRoomEntry) == 1  # only "opened": the visit came before the room
    body = room.get(f"/api/antifraud/case-rooms/{room_id}", "dissuasion").json()
    assert [i["kind"] for i in body["timeline"]] == ["warning_raised", "visit_requested", "opened"]


# ---------------------------------------------------------------------------- banks


def test_a_bank_reads_only_its_own_rooms(room: Room) -> None:
    with clock.frozen(T0):
        warning_id = room.warning("13800000008")
        room_id = room.post(
            "/api/antifraud/case-rooms", {"warning_id": warning_id}, "commander"
        ).json()["id"]
        room.post(
            f"/api/antifraud/case-rooms/{room_id}/members",
            {"partner": "icbc", "unit": "bank"},
            "commander",
        )
        room.post(
            f"/api/antifraud/case-rooms/{room_id}/members",
            {"username": "investigator", "unit": "criminal_investigation"},
            "commander",
        )
    mine = room.get("/api/antifraud/partner/case-rooms", "icbc")
    assert mine.status_code == 200 and [x["id"] for x in mine.json()] == [room_id]
    with clock.frozen(T0 + timedelta(minutes=1)):
        for who, kind, text in (
            ("investigator", "suspect_located", "嫌疑人在某酒店"),
            ("commander", "account_frozen", "工行已冻结"),
        ):
            r = room.post(
                f"/api/antifraud/case-rooms/{room_id}/entries", {"kind": kind, "text": text}, who
            )
            assert r.status_code == 201, r.text
        for bank in ("icbc", "abc"):
            r = room.post(
                f"/api/antifraud/warnings/{warning_id}/stop-payments",
                {"bank": bank, "account": ACCOUNT, "amount": 1000.0},
                "commander",
            )
            assert r.status_code == 201, r.text
    seen = room.get(f"/api/antifraud/partner/case-rooms/{room_id}", "icbc")
    assert seen.status_code == 200, seen.text
    lines = [(i["kind"], i["detail"].get("bank")) for i in seen.json()["timeline"]]
    # The money, its own stop-payment only; not the suspect, not the person's contacts.
    assert lines == [
        ("opened", None),
        ("stop_payment_requested", "icbc"),
        ("account_frozen", None),
    ]
    names = {m["username"] for m in seen.json()["members_list"]}
    assert names == {None}
    assert room.get("/api/antifraud/partner/case-rooms", "abc").json() == []
    _error(room.get(f"/api/antifraud/partner/case-rooms/{room_id}", "abc"), 404, "room_id")
    assert room.get(f"/api/antifraud/partner/case-rooms/{room_id}", "commander").status_code == 403
    # A bank cannot use the staff routes.
    assert room.get(f"/api/antifraud/case-rooms/{room_id}", "icbc").status_code == 403


def test_a_bank_posts_to_its_own_open_room(room: Room) -> None:
    with clock.frozen(T0):
        warning_id = room.warning("13800000009")
        room_id = room.post(
            "/api/antifraud/case-rooms", {"warning_id": warning_id}, "commander"
        ).json()["id"]
        for body in (
            {"partner": "icbc", "unit": "bank", "unit_name": "工商银行"},
            {"username": "investigator", "unit": "criminal_investigation"},
        ):
            r = room.post(f"/api/antifraud/case-rooms/{room_id}/members", body, "commander")
            assert r.status_code == 201, r.text
        r = room.post(
            f"/api/antifraud/case-rooms/{room_id}/entries",
            {"kind": "suspect_located", "text": "嫌疑人在某酒店"},
            "investigator",
        )
        assert r.status_code == 201, r.text
    url = f"/api/antifraud/partner/case-rooms/{room_id}/entries"
    with clock.frozen(T0 + timedelta(minutes=1)):
        r = room.post(
            url,
            {"kind": "account_frozen", "text": "已冻结收款账户，开户人手机 13912345678"},
            "icbc",
        )
    assert r.status_code == 201, r.text
    # The answer is the room as the bank sees it: its post, still no investigation, no names.
    seen = r.json()
    assert [(i["source"], i["kind"]) for i in seen["timeline"]] == [
        ("room", "opened"),
        ("partner", "account_frozen"),
    ]
    assert {m["username"] for m in seen["members_list"]} == {None}
    with clock.frozen(T0 + timedelta(minutes=2)):
        r = room.post(url, {"text": "  请提供涉案账户的开户信息  "}, "icbc")  # kind: note
    assert r.status_code == 201, r.text

    # Staff see the posts in the shared timeline, marked as from the bank, number masked.
    staff = room.get(f"/api/antifraud/case-rooms/{room_id}", "investigator").json()
    posts = [i for i in staff["timeline"] if i["source"] == "partner"]
    assert [(i["kind"], i["author"], i["unit"], i["detail"]) for i in posts] == [
        ("account_frozen", "icbc", "bank", {"partner": "icbc"}),
        ("note", "icbc", "bank", {"partner": "icbc"}),
    ]
    assert posts[0]["text"] == "已冻结收款账户，开户人手机 139****5678"
    assert posts[1]["text"] == "请提供涉案账户的开户信息"
    assert ("member", "suspect_located") in [(i["source"], i["kind"]) for i in staff["timeline"]]
    with room.db.session() as s:
        audits = [
            a.detail
            for a in s.scalars(
                select(AuditRecord).where(
                    AuditRecord.entity == "antifraud_case_room",
                    AuditRecord.entity_id == str(room_id),
                )
            )
            if a.detail.get("partner") == "icbc"
        ]
        events = [
            m.payload
            for m in s.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.subject == "antifraud.caseroom.entry_posted"
                )
            )
        ]
    assert sorted(a["kind"] for a in audits) == ["account_frozen", "note"]
    assert sum(1 for e in events if e.get("unit") == "bank") == 2
    assert all("text" not in e for e in events)

    entries, records = room.count(CaseRoomEntry), room.count(AuditRecord)
    # Another bank (not invited), an unknown room: 404 as reading it is. Staff: 403.
    _error(room.post(url, {"text": "x"}, "abc"), 404, "room_id")
    _error(
        room.post("/api/antifraud/partner/case-rooms/99999/entries", {"text": "x"}, "icbc"),
        404,
        "room_id",
    )
    assert room.post(url, {"text": "x"}, "commander").status_code == 403
    # Bad input names the field.
    for body, field_name in (
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"kind": "suspect_located", "text": "x"}, "kind"),
        ({"text": "x", "author": "commander"}, "author"),
    ):
        _error(room.post(url, body, "icbc"), 422, field_name)
    assert (room.count(CaseRoomEntry), room.count(AuditRecord)) == (entries, records)

    # A second bank joins: it sees neither the first bank's posts nor is seen by it.
    r = room.post(
        f"/api/antifraud/case-rooms/{room_id}/members",
        {"partner": "abc", "unit": "bank"},
        "commander",
    )
    assert r.status_code == 201, r.text
    with clock.frozen(T0 + timedelta(minutes=3)):
        assert (
            room.post(url, {"kind": "funds_traced", "text": "资金已转出"}, "abc").status_code == 201
        )
    abc = room.get(f"/api/antifraud/partner/case-rooms/{room_id}", "abc").json()
    assert [(i["author"], i["kind"]) for i in abc["timeline"] if i["source"] == "partner"] == [
        ("abc", "funds_traced")
    ]
    icbc = room.get(f"/api/antifraud/partner/case-rooms/{room_id}", "icbc").json()
    assert [(i["author"], i["kind"]) for i in icbc["timeline"] if i["source"] == "partner"] == [
        ("icbc", "account_frozen"),
        ("icbc", "note"),
    ]
    staff = room.get(f"/api/antifraud/case-rooms/{room_id}", "commander").json()
    assert [i["author"] for i in staff["timeline"] if i["source"] == "partner"] == [
        "icbc",
        "icbc",
        "abc",
    ]

    # A closed room: 409 on status, nothing written.
    with clock.frozen(T0 + timedelta(hours=1)):
        closed = room.post(
            f"/api/antifraud/case-rooms/{room_id}/close", {"outcome": "intercepted"}, "commander"
        )
    assert closed.status_code == 200, closed.text
    entries, records = room.count(CaseRoomEntry), room.count(AuditRecord)
    _error(room.post(url, {"text": "还在吗"}, "icbc"), 409, "status")
    _error(room.post(url, {"text": "还在吗"}, "abc"), 409, "status")
    assert (room.count(CaseRoomEntry), room.count(AuditRecord)) == (entries, records)


# ---------------------------------------------------------------------------- year on year


def _transfer(sid: str, phone: str, amount: float) -> dict[str, Any]:
    return {
        "id": sid,
        "kind": "transfer",
        "phone": phone,
        "amount": amount,
        "account": ACCOUNT,
        "flagged": True,
        "new_payee": True,
    }


def test_year_on_year_cases_and_losses_from_records(room: Room) -> None:
    def case(
        at: datetime, phone: str, sent: float, held: float, prefix: str, place: str = "cr-d1"
    ) -> None:
        with clock.frozen(at):
            wid = room.warning(
                phone, extra=[_transfer(f"{prefix}t", phone, sent)], prefix=prefix, place=place
            )
        if held:
            with clock.frozen(at + timedelta(minutes=10)):
                r = room.post(
                    f"/api/antifraud/warnings/{wid}/stop-payments",
                    {"bank": "icbc", "account": ACCOUNT, "amount": held},
                    "commander",
                )
                sp = r.json()["stop_payments"][0]["id"]
                answer = {"decision": "held"}
                assert (
                    room.post(
                        f"/api/antifraud/partner/stop-payments/{sp}/answer", answer, "icbc"
                    ).status_code
                    == 200
                )

    case(datetime(2025, 3, 10, 9, tzinfo=UTC), "13900000001", 48_000, 48_000, "a")  # all held
    case(datetime(2025, 3, 12, 9, tzinfo=UTC), "13900000002", 20_000, 0, "b")  # lost 20k
    case(datetime(2025, 12, 5, 9, tzinfo=UTC), "13900000003", 5_000, 0, "c")  # after the period
    case(datetime(2026, 3, 15, 9, tzinfo=UTC), "13900000004", 30_000, 10_000, "d")  # lost 20k
    case(datetime(2026, 3, 20, 9, tzinfo=UTC), "13900000005", 9_000, 0, "e")  # lost 9k
    case(datetime(2026, 5, 2, 9, tzinfo=UTC), "13900000006", 7_000, 0, "f", "cr-other")
    with clock.frozen(T0):
        r = room.get("/api/antifraud/dashboard/year-on-year", "dissuasion")
    assert r.status_code == 200, r.text
    y = r.json()
    assert y["year"] == 2026 and y["through_month"] == 11 and len(y["months"]) == 11
    march = y["months"][2]
    assert (march["cases"], march["cases_last_year"], march["cases_change_pct"]) == (2, 1, 100.0)
    assert (march["losses"], march["losses_last_year"]) == (29_000.0, 20_000.0)
    assert march["losses_change_pct"] == 45.0
    assert march["transferred"] == 39_000.0 and march["intercepted"] == 10_000.0
    assert y["months"][4]["cases"] == 0  # the other city's case is not the caller's
    assert (y["cases"], y["cases_last_year"], y["losses"], y["losses_last_year"]) == (
        2,
        1,
        29_000.0,
        20_000.0,
    )
    # A supervisor of the other city sees only its case; no base last year: no percentage.
    with clock.frozen(T0):
        far = room.get("/api/antifraud/dashboard/year-on-year", "far-commander").json()
    assert (far["cases"], far["cases_last_year"], far["cases_change_pct"]) == (1, 0, None)
    # A past year runs to December; 2025 has the December case.
    with clock.frozen(T0):
        last = room.get("/api/antifraud/dashboard/year-on-year", "commander", year=2025).json()
    assert last["through_month"] == 12 and last["cases"] == 2 and last["losses"] == 25_000.0
    _error(room.get("/api/antifraud/dashboard/year-on-year", "commander", year=1900), 422, "year")
    assert room.get("/api/antifraud/dashboard/year-on-year", "investigator").status_code == 403


# ---------------------------------------------------------------------------- teams


def _team(room: Room, code: str) -> int:
    with room.db.session() as s:
        return int(s.scalars(select(Team.id).where(Team.code == code)).one())


def _staff(room: Room, users: dict[str, tuple[str, str]], *, login: bool = False) -> None:
    """More staff: name -> (role, jurisdiction code); ``login`` signs them in."""
    with room.db.session() as s:
        for name, (role, where) in users.items():
            auth.create_user(
                db=s,
                user_in=UserCreate(
                    username=name, password=PASSWORD, roles=[role], jurisdictions=[where]
                ),
                actor=SYSTEM,
            )
    for name in users if login else ():
        r = room.client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        room.headers[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}


def _set_user(room: Room, name: str, **values: Any) -> None:
    with room.db.session() as s:
        user = s.scalars(select(User).where(User.username == name)).one()
        for key, value in values.items():
            setattr(user, key, value)


def _members(room: Room) -> set[tuple[int, str]]:
    with room.db.session() as s:
        return {(m.team_id, m.username) for m in s.scalars(select(TeamMember))}


def _team_audits(room: Room, team_id: int) -> list[dict[str, Any]]:
    with room.db.session() as s:
        return [
            dict(a.detail)
            for a in s.scalars(
                select(AuditRecord)
                .where(
                    AuditRecord.entity == "antifraud_team", AuditRecord.entity_id == str(team_id)
                )
                .order_by(AuditRecord.id)
            )
        ]


def test_a_supervisor_sets_a_teams_members(room: Room) -> None:
    _staff(
        room,
        {
            "dissuasion-2": ("dissuasion", "cr-d1"),
            "analyst-1": ("analyst", "cr-d1"),
            "dissuasion-d2": ("dissuasion", "cr-d2"),
            "retired": ("dissuasion", "cr-d1"),
        },
    )
    _set_user(room, "retired", active=False)
    team = _team(room, "cr-team-1")
    url = f"/api/antifraud/teams/{team}/members"
    r = room.get(url, "dissuasion")
    assert r.status_code == 200, r.text
    assert r.json()["code"] == "cr-team-1" and r.json()["members"] == []

    # Duplicates collapse; the answer lists the members by username.
    with clock.frozen(T0):
        r = room.put(url, {"usernames": ["dissuasion", "analyst-1", "dissuasion"]}, "commander")
    assert r.status_code == 200, r.text
    assert [m["username"] for m in r.json()["members"]] == ["analyst-1", "dissuasion"]
    assert r.json()["members"][0]["added_at"].startswith("2026-11-30T01:00")
    assert _members(room) == {(team, "analyst-1"), (team, "dissuasion")}
    assert _team_audits(room, team) == [
        {"team": "cr-team-1", "added": ["analyst-1", "dissuasion"], "removed": []}
    ]
    teams = {t["code"]: t for t in room.get("/api/antifraud/teams", "dissuasion").json()}
    assert teams["cr-team-1"]["members"] == 2
    assert [m["username"] for m in room.get(url, "commander").json()["members"]] == [
        "analyst-1",
        "dissuasion",
    ]

    # Replacing: one added, one removed, one audit record naming both.
    r = room.put(url, {"usernames": ["dissuasion-2", "dissuasion"]}, "commander")
    assert r.status_code == 200, r.text
    assert _members(room) == {(team, "dissuasion"), (team, "dissuasion-2")}
    assert _team_audits(room, team)[-1] == {
        "team": "cr-team-1",
        "added": ["dissuasion-2"],
        "removed": ["analyst-1"],
    }
    # The same list again changes nothing and records nothing.
    assert (
        room.put(url, {"usernames": ["dissuasion", "dissuasion-2"]}, "commander").status_code == 200
    )
    assert len(_team_audits(room, team)) == 2

    before = _members(room), room.count(AuditRecord)
    other_city_team = _team(room, "cr-team-x")
    for who, path, body, status, field_name in (
        # Unknown or inactive users, users who cannot see the team's warnings.
        ("commander", url, {"usernames": ["dissuasion", "nobody"]}, 422, "usernames[1]"),
        ("commander", url, {"usernames": ["retired"]}, 422, "usernames[0]"),
        ("commander", url, {"usernames": ["dissuasion", "dissuasion-d2"]}, 422, "usernames[1]"),
        ("commander", url, {"usernames": ["dissuasion", "far"]}, 422, "usernames[1]"),
        ("commander", url, {"usernames": ["clerk"]}, 422, "usernames[0]"),  # role
        ("commander", url, {"usernames": ["investigator"]}, 422, "usernames[0]"),  # officer
        ("commander", url, {"usernames": ["x" * 65]}, 422, "usernames[0]"),
        ("commander", url, {"usernames": ["dissuasion", ""]}, 422, "usernames[1]"),
        # Malformed bodies.
        ("commander", url, {"usernames": "dissuasion"}, 422, "usernames"),
        ("commander", url, {"usernames": ["a"] * 501}, 422, "usernames"),
        ("commander", url, {"usernames": [], "extra": 1}, 422, "extra"),
        # No such team, or one outside the caller's jurisdictions: as if it did not exist.
        ("commander", "/api/antifraud/teams/99999/members", {"usernames": []}, 404, "team_id"),
        (
            "commander",
            f"/api/antifraud/teams/{other_city_team}/members",
            {"usernames": []},
            404,
            "team_id",
        ),
        ("far-commander", url, {"usernames": []}, 404, "team_id"),
    ):
        _error(room.put(path, body, who), status, field_name)
    # The reasons differ: the user exists but serves another district.
    r = room.put(url, {"usernames": ["dissuasion-d2"]}, "commander")
    assert r.json()["error"]["code"] == "antifraud.error.member_other_jurisdiction"
    assert room.put(url, {"usernames": ["clerk"]}, "commander").json()["error"]["code"] == (
        "antifraud.error.member_role"
    )
    # Wrong roles: dissuasion members read the list but do not set it; officers neither.
    assert room.put(url, {"usernames": []}, "dissuasion").status_code == 403
    assert room.get(url, "investigator").status_code == 403
    _error(
        room.get(f"/api/antifraud/teams/{other_city_team}/members", "dissuasion"), 404, "team_id"
    )
    assert (_members(room), room.count(AuditRecord)) == before

    # Emptying the team.
    assert room.put(url, {"usernames": []}, "commander").json()["members"] == []
    assert _members(room) == set()
    assert _team_audits(room, team)[-1]["removed"] == ["dissuasion", "dissuasion-2"]


def test_team_queue_of_a_member_and_of_a_non_member(room: Room) -> None:
    _staff(room, {"dissuasion-2": ("dissuasion", "cr-d1")}, login=True)
    team_1 = _team(room, "cr-team-1")
    with room.db.session() as s:
        place = s.scalars(select(Jurisdiction.id).where(Jurisdiction.code == "cr-d1")).one()
        second = Team(code="cr-team-2", name="专班 2", jurisdiction_id=place, capacity=20)
        s.add(second)
        s.flush()
        team_2 = second.id
    with clock.frozen(T0):
        w1 = room.warning("13800000031", prefix="q1")
        w2 = room.warning("13800000032", prefix="q2")
        w3 = room.warning("13800000033", prefix="q3")
        w4 = room.warning("13800000034", prefix="q4", place="cr-d2")
    # The routing balances load; the test decides which team holds which warning. The
    # other district's warning is on team 1, outside a cr-d1 member's jurisdictions.
    with room.db.session() as s:
        for warning_id, team_id in ((w1, team_1), (w2, team_2), (w3, team_1), (w4, team_1)):
            warning = s.get(FraudWarning, warning_id)
            assert warning is not None
            warning.team_id = team_id

    def queue(who: str, **params: Any) -> set[int]:
        r = room.get("/api/antifraud/warnings", who, **params)
        assert r.status_code == 200, r.text
        return {w["id"] for w in r.json()}

    # No one on any team yet: the team queue is the caller's jurisdictions'.
    assert queue("dissuasion") == {w1, w2, w3}
    assert queue("commander") == {w1, w2, w3, w4}
    r = room.put(
        f"/api/antifraud/teams/{team_1}/members", {"usernames": ["dissuasion"]}, "commander"
    )
    assert r.status_code == 200, r.text
    # A member: their team's warnings, still within their jurisdictions (not w4).
    assert queue("dissuasion") == {w1, w3}
    assert queue("dissuasion", scope="team") == {w1, w3}
    assert queue("dissuasion", scope="all") == {w1, w2, w3}
    assert queue("dissuasion", team_id=team_2) == set()
    # Non-members keep the jurisdiction's queue.
    assert queue("dissuasion-2") == {w1, w2, w3}
    assert queue("commander") == {w1, w2, w3, w4}
    # Two teams: both teams' warnings.
    r = room.put(
        f"/api/antifraud/teams/{team_2}/members", {"usernames": ["dissuasion"]}, "commander"
    )
    assert r.status_code == 200, r.text
    assert queue("dissuasion") == {w1, w2, w3}
    assert queue("dissuasion", team_id=team_2) == {w2}
    # Off every team again: back to the jurisdiction's queue.
    for team_id in (team_1, team_2):
        room.put(f"/api/antifraud/teams/{team_id}/members", {"usernames": []}, "commander")
    assert queue("dissuasion") == {w1, w2, w3}


def test_invite_a_whole_team_into_a_case_room(room: Room) -> None:
    _staff(
        room,
        {
            "dissuasion-2": ("dissuasion", "cr-d1"),
            "analyst-1": ("analyst", "cr-d1"),
            "retired": ("dissuasion", "cr-d1"),
            "demoted": ("dissuasion", "cr-d1"),
        },
        login=True,
    )
    team = _team(room, "cr-team-1")
    r = room.put(
        f"/api/antifraud/teams/{team}/members",
        {"usernames": ["dissuasion", "dissuasion-2", "analyst-1", "retired", "demoted"]},
        "commander",
    )
    assert r.status_code == 200, r.text
    # Since then: one user left, one lost the roles that work case rooms.
    _set_user(room, "retired", active=False)
    _set_user(room, "demoted", roles=["clerk"])
    with clock.frozen(T0):
        warning_id = room.warning("13800000041", prefix="t")
        room_id = room.post(
            "/api/antifraud/case-rooms", {"warning_id": warning_id}, "dissuasion"
        ).json()["id"]
    path = f"/api/antifraud/case-rooms/{room_id}/members"
    invite = {"team_id": team, "unit": "dissuasion"}

    # Same permission as one invitation: the opener is a plain member.
    _error(room.post(path, invite, "dissuasion"), 403, "room_id")
    counts = room.count(CaseRoomMember), room.count(CaseRoomEntry), room.count(AuditRecord)
    other_city_team = _team(room, "cr-team-x")
    for body, status, field_name in (
        ({"team_id": 99999, "unit": "dissuasion"}, 404, "team_id"),
        ({"team_id": other_city_team, "unit": "dissuasion"}, 404, "team_id"),
        ({**invite, "username": "investigator"}, 422, "team_id"),
        ({"team_id": team, "partner": "icbc", "unit": "bank"}, 422, "team_id"),
        ({"team_id": team, "unit": "bank"}, 422, "unit"),
        ({**invite, "role": "commander"}, 422, "role"),
        ({"team_id": 0, "unit": "dissuasion"}, 422, "team_id"),
        ({"team_id": "x", "unit": "dissuasion"}, 422, "team_id"),
        ({"team_id": team}, 422, "unit"),
    ):
        _error(room.post(path, body, "commander"), status, field_name)
    assert (
        room.count(CaseRoomMember),
        room.count(CaseRoomEntry),
        room.count(AuditRecord),
    ) == counts

    with clock.frozen(T0 + timedelta(minutes=3)):
        r = room.post(path, invite, "commander")
    assert r.status_code == 201, r.text
    body = r.json()
    # Exactly the team's active members who may join and are not in the room yet.
    assert {
        (m["username"], m["unit"], m["role"], m["unit_name"]) for m in body["members_list"]
    } == {
        ("dissuasion", "dissuasion", "member", ""),  # the opener, already in
        ("analyst-1", "dissuasion", "member", "专班 1"),
        ("dissuasion-2", "dissuasion", "member", "专班 1"),
    }
    joined = [i for i in body["timeline"] if i["kind"] == "member_added"]
    assert len(joined) == 1
    assert joined[0]["detail"]["team"] == "cr-team-1"
    assert joined[0]["detail"]["members"] == ["analyst-1", "dissuasion-2"]
    assert joined[0]["author"] == "commander"
    with room.db.session() as s:
        record = s.scalars(
            select(AuditRecord)
            .where(
                AuditRecord.entity == "antifraud_case_room", AuditRecord.entity_id == str(room_id)
            )
            .order_by(AuditRecord.id.desc())
        ).first()
        assert record is not None
        assert record.detail["team"] == "cr-team-1"
        assert record.detail["members"] == ["analyst-1", "dissuasion-2"]
        assert record.detail["skipped"] == ["demoted", "retired"]
        added_events = s.scalars(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.subject == "antifraud.caseroom.member_added")
        ).one()
    assert added_events == 1
    # The new members see the room.
    assert room.count(CaseRoomMember) == counts[0] + 2
    assert room.get(f"/api/antifraud/case-rooms/{room_id}", "analyst-1").status_code == 200

    # Again: nobody added, no error, nothing written.
    counts = room.count(CaseRoomMember), room.count(CaseRoomEntry), room.count(AuditRecord)
    r = room.post(path, invite, "commander")
    assert r.status_code == 200, r.text
    assert len(r.json()["members_list"]) == 3
    assert (
        room.count(CaseRoomMember),
        room.count(CaseRoomEntry),
        room.count(AuditRecord),
    ) == counts

    # The retired user comes back: the next invitation adds only them.
    _set_user(room, "retired", active=True)
    with clock.frozen(T0 + timedelta(minutes=5)):
        r = room.post(path, invite, "commander")
    assert r.status_code == 201, r.text
    assert [
        i["detail"]["members"] for i in r.json()["timeline"] if i["kind"] == "member_added"
    ] == [
        ["analyst-1", "dissuasion-2"],
        ["retired"],
    ]
    # A closed room takes no team either.
    room.post(f"/api/antifraud/case-rooms/{room_id}/close", {"outcome": "no_fraud"}, "commander")
    _error(room.post(path, invite, "commander"), 409, "status")
