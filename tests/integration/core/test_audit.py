"""The audit trail: one hash chain under concurrent writers, tamper detection, triggers, CLI.

Tampering tests first drop the append-only triggers on purpose — as a database
superuser could — because detecting what happens after that is the chain's job.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from pingan.core import audit, audit_module
from pingan.core.audit import AuditRecord, verify_chain
from pingan.core.auth import module as auth_module
from pingan.core.auth import passwords, service
from pingan.core.auth.cli import apikey_app, user_app
from pingan.core.auth.models import ApiKey, User
from pingan.core.auth.permissions import Principal
from pingan.core.auth.schemas import UserCreate
from pingan.core.db import Database
from pingan.core.errors import ValidationFailed
from pingan.core.i18n import register_catalogue
from pingan.core.settings import Settings, get_settings
from tests.integration.core.test_auth import build_app

pytestmark = pytest.mark.usefixtures("fast_hasher")

SYSTEM = Principal.system("test")
PASSWORD = "s3cret-passw0rd"


@pytest.fixture
def db(database: Database) -> Database:
    """Every table of every module, on SQLite and PostgreSQL (see tests/conftest.py)."""
    return database


def write(db: Database, n: int, *, actor: str = "officer.li") -> None:
    """``n`` audit records, two per transaction."""
    for i in range(n):
        with db.session() as s:
            audit.record(
                s,
                actor=actor,
                action="update",
                entity="incident",
                entity_id=i,
                reason=f"step {i}",
                detail={"n": i, "when": datetime(2025, 1, 1, tzinfo=UTC)},
            )


def bypass_triggers(db: Database) -> None:
    """Drop the append-only triggers, as an attacker with the database's keys could."""
    with db.engine.begin() as conn:
        for statement in audit.remove_append_only_statements(conn.dialect.name):
            conn.execute(text(statement))


def tamper(db: Database, sql: str, **params: object) -> None:
    bypass_triggers(db)
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


def verify(db: Database, anchor: str | None = None) -> audit.VerifyResult:
    with db.session() as s:
        return verify_chain(s, anchor=anchor)


# ---------------------------------------------------------------------------- the chain


def test_empty_chain_is_intact(db: Database) -> None:
    result = verify(db)
    assert result.ok and result.checked == 0 and result.head_id is None


def test_chain_is_intact_after_many_writes(db: Database) -> None:
    write(db, 40)
    result = verify(db)
    assert result.ok, result
    assert result.checked == 40
    assert result.head_id == 40
    with db.session() as s:
        rows = list(s.execute(select(AuditRecord).order_by(AuditRecord.id)).scalars())
    assert [r.id for r in rows] == list(range(1, 41))
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert result.head_hash == rows[-1].hash
    assert rows[3].detail == {"n": 3, "when": "2025-01-01 00:00:00+00:00"}


def test_record_many_continues_the_chain_as_single_records_would(db: Database) -> None:
    write(db, 2)
    officer = Principal(username="officer.wang", roles=frozenset({"dispatcher"}), ip="10.0.0.9")
    entries = [
        audit.Entry(actor=officer, action="create", entity="warning", entity_id=i, detail={"i": i})
        for i in range(5)
    ]
    with db.session() as s:
        audit.record_many(s, entries)
        audit.record_many(s, [])  # nothing: no lock taken, no row
        audit.record(s, actor="system", action="update", entity="batch", entity_id="x")
    result = verify(db)
    assert result.ok, result
    assert result.checked == 8
    with db.session() as s:
        rows = list(s.execute(select(AuditRecord).order_by(AuditRecord.id)).scalars())
    bulk = rows[2:7]
    assert [r.entity_id for r in bulk] == ["0", "1", "2", "3", "4"]
    assert all(r.actor == "officer.wang" and r.ip == "10.0.0.9" for r in bulk)
    assert bulk[0].actor_roles == ["dispatcher"] and bulk[4].detail == {"i": 4}
    assert all(audit.row_hash(r) == r.hash for r in rows)
    assert rows[7].prev_hash == bulk[-1].hash


def test_record_many_rolls_back_whole(db: Database) -> None:
    write(db, 1)
    with pytest.raises(RuntimeError), db.session() as s:
        audit.record_many(s, [audit.Entry(actor="x", action="create", entity="t")] * 3)
        raise RuntimeError("the change failed")
    write(db, 1)
    result = verify(db)
    assert result.ok and result.checked == 2


def test_a_rolled_back_write_leaves_no_gap(db: Database) -> None:
    write(db, 3)
    with pytest.raises(RuntimeError), db.session() as s:
        audit.record(s, actor="x", action="create", entity="thing", entity_id=1)
        raise RuntimeError("the change failed")
    write(db, 2)
    result = verify(db)
    assert result.ok and result.checked == 5


def test_concurrent_writers_keep_one_chain(db: Database) -> None:
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(10):
                with db.session() as s:
                    audit.record(s, actor=f"w{k}", action="create", entity="t", entity_id=i)
        except BaseException as exc:  # report to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = verify(db)
    assert result.ok, result
    assert result.checked == 60


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("reason", "nothing to see"),
        ("actor", "someone.else"),
        ("entity_id", "999"),
        ("ip", "10.0.0.1"),
    ],
)
def test_editing_a_row_is_reported_at_that_row(db: Database, column: str, value: str) -> None:
    write(db, 30)
    tamper(db, f"UPDATE audit_records SET {column} = :v WHERE id = 17", v=value)
    result = verify(db)
    assert not result.ok
    assert result.broken_id == 17
    assert result.problem == "hash_mismatch"
    assert result.checked == 16
    assert "17" in result.message("en") and "edited" in result.message("en")


def test_editing_the_time_or_detail_is_reported(db: Database) -> None:
    write(db, 10)
    tamper(
        db, "UPDATE audit_records SET at = :at WHERE id = 4", at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    assert verify(db).broken_id == 4
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records WHERE id >= 4"))
    write(db, 3)  # the chain continues from row 3 again
    assert verify(db).ok
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET detail = :d WHERE id = 5"), {"d": '{"n": 99}'})
    assert verify(db).broken_id == 5


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(db: Database) -> None:
    write(db, 20)
    bypass_triggers(db)
    with db.session() as s:
        row = s.get(AuditRecord, 12)
        assert row is not None
        row.reason = "rewritten"
        row.hash = audit.row_hash(row)  # a careful attacker re-hashes the edited row
    result = verify(db)
    assert (result.broken_id, result.problem) == (13, "prev_hash_mismatch")


def test_deleting_a_row_is_reported_as_a_gap(db: Database) -> None:
    write(db, 25)
    tamper(db, "DELETE FROM audit_records WHERE id = 11")
    result = verify(db)
    assert not result.ok
    assert (result.broken_id, result.problem) == (12, "missing_rows")
    assert result.expected == "11"
    assert "11" in result.message("zh-CN") and "12" in result.message("zh-CN")


def test_deleting_the_first_row_is_reported(db: Database) -> None:
    write(db, 5)
    tamper(db, "DELETE FROM audit_records WHERE id = 1")
    assert (verify(db).broken_id, verify(db).problem) == (2, "missing_rows")


def test_deleting_and_renumbering_is_reported(db: Database) -> None:
    write(db, 8)
    tamper(db, "DELETE FROM audit_records WHERE id = 5")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET id = id - 1 WHERE id > 5"))
    result = verify(db)
    assert (result.broken_id, result.problem) == (5, "prev_hash_mismatch")


def test_cutting_off_the_end_is_caught_with_an_anchor(db: Database) -> None:
    write(db, 10)
    head = verify(db).head_hash
    assert head is not None
    assert verify(db, anchor=head).ok
    tamper(db, "DELETE FROM audit_records WHERE id > 7")
    shorter = verify(db)
    assert shorter.ok and shorter.checked == 7  # a shorter chain is still a chain...
    anchored = verify(db, anchor=head)
    assert not anchored.ok and anchored.problem == "anchor_missing"  # ...but not the one noted


def test_triggers_refuse_update_and_delete(db: Database) -> None:
    write(db, 3)
    statements = [
        "UPDATE audit_records SET reason = 'x' WHERE id = 2",
        "DELETE FROM audit_records WHERE id = 3",
        "DELETE FROM audit_records",
    ]
    if db.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_records")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(AuditRecord)).scalar_one() == 3
        row = s.get(AuditRecord, 2)
        assert row is not None and row.reason == "step 1"
    assert verify(db).ok


def test_orm_updates_are_refused_too(db: Database) -> None:
    write(db, 2)
    with pytest.raises(DBAPIError, match="append-only"), db.session() as s:
        row = s.get(AuditRecord, 1)
        assert row is not None
        s.delete(row)
        s.flush()


def test_append_only_sql_is_available_for_migrations() -> None:
    pg = " ".join(audit.append_only_statements("postgresql"))
    assert "BEFORE UPDATE OR DELETE ON audit_records" in pg and "TRUNCATE" in pg
    assert "RAISE(ABORT" in " ".join(audit.append_only_statements("sqlite"))
    with pytest.raises(ValueError):
        audit.append_only_statements("mysql")


# ---------------------------------------------------------------------------- what is audited


def test_reveal_records_who_what_and_why(db: Database) -> None:
    clerk = Principal(username="clerk.wang", user_id=5, roles=frozenset({"clerk"}), ip="10.1.2.3")
    with db.session() as s, pytest.raises(ValidationFailed) as err:
        audit.reveal(
            s, principal=clerk, entity="person", entity_id=42, fields=["id_number"], reason="  "
        )
    assert err.value.field == "reason"
    with db.session() as s:
        row = audit.reveal(
            s,
            principal=clerk,
            entity="person",
            entity_id=42,
            fields=["mobile", "id_number"],
            reason="verifying an application",
        )
    assert row.action == "read_personal"
    assert (row.actor, row.actor_roles, row.ip) == ("clerk.wang", ["clerk"], "10.1.2.3")
    assert (row.entity, row.entity_id) == ("person", "42")
    assert row.detail == {"fields": ["id_number", "mobile"]}
    assert row.reason == "verifying an application"
    assert verify(db).ok


def test_a_write_and_its_audit_record_commit_together(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        service.create_user(
            db=s,
            user_in=UserCreate(username="ghost", password=PASSWORD, roles=["officer"]),
            actor=SYSTEM,
        )
        assert s.execute(select(func.count()).select_from(AuditRecord)).scalar_one() == 1
        raise RuntimeError("something later in the request failed")
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(User)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(AuditRecord)).scalar_one() == 0


def test_every_service_write_is_audited(db: Database) -> None:
    from pingan.core.auth.schemas import ApiKeyCreate, JurisdictionCreate

    with db.session() as s:
        city = service.create_jurisdiction(
            db=s,
            jurisdiction_in=JurisdictionCreate(code="hel", name="HEL", kind="city"),
            actor=SYSTEM,
        )
        user = service.create_user(
            db=s,
            user_in=UserCreate(username="u01", password=PASSWORD, roles=["officer"]),
            actor=SYSTEM,
        )
        service.set_password(db=s, user=user, password="another-pass", actor=SYSTEM)
        service.deactivate_user(db=s, user=user, actor=SYSTEM)
        key, _ = service.create_api_key(
            db=s, key_in=ApiKeyCreate(name="k", partner="bank"), actor=SYSTEM
        )
        service.revoke_api_key(db=s, api_key_id=key.id, actor=SYSTEM)
    with db.session() as s:
        rows = list(s.execute(select(AuditRecord).order_by(AuditRecord.id)).scalars())
    assert [(r.action, r.entity, r.entity_id) for r in rows] == [
        ("create", "jurisdiction", str(city.id)),
        ("create", "user", str(user.id)),
        ("update", "user", str(user.id)),
        ("update", "user", str(user.id)),
        ("create", "api_key", str(key.id)),
        ("revoke", "api_key", str(key.id)),
    ]
    assert all(r.actor == "test" and r.actor_roles == ["admin"] for r in rows)
    assert "another-pass" not in str([r.detail for r in rows])


# ---------------------------------------------------------------------------- HTTP


def test_audit_api(settings: Settings, db: Database) -> None:
    with db.session() as s:
        for name, roles in [("aud", ["auditor"]), ("boss", ["admin"]), ("cop", ["officer"])]:
            service.create_user(
                db=s,
                user_in=UserCreate(username=name, password=PASSWORD, roles=roles),  # type: ignore[arg-type]
                actor=SYSTEM,
            )
    write(db, 5, actor="officer.li")
    with TestClient(build_app(settings, db)) as client:

        def headers(name: str) -> dict[str, str]:
            r = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        aud = headers("aud")
        assert client.get("/api/audit", headers=headers("cop")).status_code == 403
        assert client.get("/api/audit/verify", headers=headers("cop")).status_code == 403
        assert client.get("/api/audit").status_code == 401
        assert client.get("/api/audit", headers=headers("boss")).status_code == 200

        page = client.get("/api/audit?actor=officer.li&limit=2", headers=aud).json()
        assert [i["entity_id"] for i in page["items"]] == ["4", "3"]
        nxt = client.get(
            f"/api/audit?actor=officer.li&limit=2&before_id={page['next_before_id']}", headers=aud
        ).json()
        assert [i["entity_id"] for i in nxt["items"]] == ["2", "1"]
        logins = client.get("/api/audit?action=login", headers=aud).json()["items"]
        assert {i["actor"] for i in logins} == {"aud", "boss", "cop"}
        users = client.get("/api/audit?entity=user&action=create", headers=aud).json()["items"]
        assert len(users) == 3

        all_items = client.get("/api/audit?limit=500", headers=aud).json()["items"]
        first_at = min(datetime.fromisoformat(i["at"]) for i in all_items)
        since = (first_at + timedelta(microseconds=1)).isoformat()
        later = client.get("/api/audit", params={"since": since, "limit": 500}, headers=aud)
        assert len(later.json()["items"]) == len(all_items) - 1
        until = client.get("/api/audit", params={"until": since}, headers=aud).json()["items"]
        assert len(until) == 1
        naive = client.get("/api/audit", params={"since": "2025-01-01T00:00:00"}, headers=aud)
        assert naive.status_code == 422 and "since" in naive.text
        assert client.get("/api/audit?limit=0", headers=aud).status_code == 422

        ok = client.get("/api/audit/verify?lang=en", headers=aud).json()
        assert ok["ok"] is True and ok["broken_id"] is None
        assert ok["message"].startswith("Audit chain intact")
        tamper(db, "UPDATE audit_records SET reason = 'x' WHERE id = 3")
        broken = client.get("/api/audit/verify", headers=aud).json()
        assert (broken["ok"], broken["broken_id"], broken["problem"]) == (False, 3, "hash_mismatch")
        assert "第 3 条" in broken["message"]


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PINGAN_DATABASE_URL", settings.database_url_resolved)
    monkeypatch.setenv("PINGAN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PINGAN_LANG", "en")
    get_settings.cache_clear()
    register_catalogue(auth_module.LOCALES_DIR)
    try:
        yield
    finally:
        get_settings.cache_clear()


def test_cli_audit_verify_exit_codes(db: Database, cli_env: None) -> None:
    runner = CliRunner()
    write(db, 12)
    ok = runner.invoke(audit_module.audit_app, ["verify"])
    assert ok.exit_code == 0, ok.output
    assert "12 records checked" in ok.output
    head = verify(db).head_hash
    assert head is not None and head in ok.output.replace("\n", "")
    listed = runner.invoke(audit_module.audit_app, ["list", "--limit", "3"])
    assert listed.exit_code == 0 and "step 11" in listed.output

    tamper(db, "DELETE FROM audit_records WHERE id = 9")
    broken = runner.invoke(audit_module.audit_app, ["verify"])
    assert broken.exit_code == 1
    assert "record 10" in broken.output and "9" in broken.output


def test_cli_verify_with_anchor(db: Database, cli_env: None) -> None:
    runner = CliRunner()
    write(db, 4)
    head = verify(db).head_hash
    assert head is not None
    tamper(db, "DELETE FROM audit_records WHERE id = 4")
    assert runner.invoke(audit_module.audit_app, ["verify"]).exit_code == 0
    assert runner.invoke(audit_module.audit_app, ["verify", "--anchor", head]).exit_code == 1


def test_cli_user_and_apikey_commands(db: Database, cli_env: None) -> None:
    runner = CliRunner()
    r = runner.invoke(
        user_app,
        [
            "add",
            "zhou",
            "--role",
            "officer",
            "--role",
            "analyst",
            "--password",
            PASSWORD,
            "--name",
            "周",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Created user zhou" in r.output
    assert runner.invoke(user_app, ["add", "zhou", "-r", "officer", "-p", PASSWORD]).exit_code == 1
    bad_role = runner.invoke(user_app, ["add", "qian", "--role", "janitor", "-p", PASSWORD])
    assert bad_role.exit_code == 2 and "roles" in bad_role.output
    bad_place = runner.invoke(
        user_app, ["add", "qian", "-r", "officer", "-j", "nowhere", "-p", PASSWORD]
    )
    assert bad_place.exit_code == 2 and "nowhere" in bad_place.output
    prompted = runner.invoke(
        user_app, ["add", "sun", "-r", "clerk"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output
    listed = runner.invoke(user_app, ["list"])
    assert listed.exit_code == 0 and "zhou" in listed.output and "sun" in listed.output
    assert runner.invoke(user_app, ["passwd", "zhou", "-p", "new-password-1"]).exit_code == 0
    assert runner.invoke(user_app, ["passwd", "nobody", "-p", "new-password-1"]).exit_code == 1
    with db.session() as s:
        zhou = service.get_user_by_username(db=s, username="zhou")
        assert zhou is not None and zhou.roles == ["analyst", "officer"]
        assert passwords.verify_password(zhou.password_hash, "new-password-1")
        assert service.get_user_by_username(db=s, username="qian") is None

    created = runner.invoke(apikey_app, ["create", "signals", "--partner", "ICBC"])
    assert created.exit_code == 0, created.output
    plain = created.output.strip().splitlines()[-1]
    prefix = plain.split(".")[0]
    with db.session() as s:
        key = service.authenticate_api_key(db=s, presented=plain)
        assert key is not None and key.partner == "ICBC"
    assert prefix in runner.invoke(apikey_app, ["list"]).output
    assert runner.invoke(apikey_app, ["revoke", prefix]).exit_code == 0
    assert runner.invoke(apikey_app, ["revoke", prefix]).exit_code == 1
    assert (
        runner.invoke(apikey_app, ["create", "x", "--partner", "y", "-r", "admin"]).exit_code == 2
    )
    with db.session() as s:
        assert service.authenticate_api_key(db=s, presented=plain) is None
        assert s.execute(select(func.count()).select_from(ApiKey)).scalar_one() == 1
        actors = set(s.execute(select(AuditRecord.actor)).scalars())
    assert len(actors) == 1 and actors.pop().startswith("cli:")
    assert verify(db).ok
