"""Logins, tokens, API keys, users, jurisdictions and jurisdiction scoping over HTTP.

Runs on SQLite and (when reachable) PostgreSQL, with a small app holding only the
auth and audit routers, so it does not depend on the rest of the platform.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pytest
from argon2 import PasswordHasher, Type
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, func, select

from pingan.core import audit_module
from pingan.core.audit import AuditRecord
from pingan.core.auth import module as auth_module
from pingan.core.auth import passwords, service
from pingan.core.auth.deps import require, scope_to_jurisdictions
from pingan.core.auth.models import ApiKey, Jurisdiction, User
from pingan.core.auth.permissions import Principal, register_permissions
from pingan.core.auth.schemas import JurisdictionCreate, UserCreate
from pingan.core.auth.tokens import create_access_token
from pingan.core.db import Database
from pingan.core.deps import get_language
from pingan.core.errors import PinganError
from pingan.core.i18n import register_catalogue
from pingan.core.module import Context
from pingan.core.settings import Settings

pytestmark = pytest.mark.usefixtures("fast_hasher")

SYSTEM = Principal.system("test")
PASSWORD = "s3cret-passw0rd"


def build_app(settings: Settings, db: Database) -> FastAPI:
    """An app with only the auth and audit routers and the PinganError handler."""
    app = FastAPI()
    app.state.ctx = Context(settings=settings, db=db, bus=None)  # type: ignore[arg-type]
    for m in (auth_module.module(), audit_module.module()):
        assert m.locales_dir is not None and m.router is not None
        register_catalogue(m.locales_dir)
        register_permissions(m.permissions)
        app.include_router(m.router, prefix="/api")

    @app.exception_handler(PinganError)
    async def _error(request: Request, exc: PinganError) -> JSONResponse:
        body = {"code": exc.key, "message": exc.message(get_language(request)), "field": exc.field}
        return JSONResponse({"error": body}, status_code=exc.status_code)

    return app


@pytest.fixture
def db(database: Database) -> Database:
    """Every table of every module, on SQLite and PostgreSQL (see tests/conftest.py)."""
    return database


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(build_app(settings, db)) as c:
        yield c


@pytest.fixture
def places(db: Database) -> dict[str, int]:
    """City hel -> districts d1, d2 -> stations s1 (in d1), s2 (in d2)."""
    tree = [
        ("hel", "city", None),
        ("d1", "district", "hel"),
        ("d2", "district", "hel"),
        ("s1", "station", "d1"),
        ("s2", "station", "d2"),
    ]
    ids: dict[str, int] = {}
    with db.session() as s:
        for code, kind, parent in tree:
            j = service.create_jurisdiction(
                db=s,
                jurisdiction_in=JurisdictionCreate(
                    code=code, name=code.upper(), kind=kind, parent=parent
                ),  # type: ignore[arg-type]
                actor=SYSTEM,
            )
            ids[code] = j.id
    return ids


def add_user(
    db: Database, username: str, roles: list[str], jurisdictions: list[str] | None = None
) -> int:
    with db.session() as s:
        user = service.create_user(
            db=s,
            user_in=UserCreate(
                username=username,
                password=PASSWORD,
                roles=roles,  # type: ignore[arg-type]
                jurisdictions=jurisdictions or [],
            ),
            actor=SYSTEM,
        )
        return user.id


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def audit_rows(db: Database, **where: Any) -> list[AuditRecord]:
    with db.session() as s:
        stmt = select(AuditRecord).order_by(AuditRecord.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditRecord, key) == value)
        return list(s.execute(stmt).scalars())


# ---------------------------------------------------------------------------- first admin


def test_first_admin_is_created_once(db: Database, settings: Settings) -> None:
    with db.session() as s:
        password = service.ensure_first_admin(s, settings)
    assert password is not None and len(password) >= 16
    with db.session() as s:
        assert service.ensure_first_admin(s, settings) is None
        admin = service.get_user_by_username(db=s, username="admin")
        assert admin is not None and admin.roles == ["admin"]
        assert passwords.verify_password(admin.password_hash, password)
    assert [r.action for r in audit_rows(db, entity="user")] == ["create"]


def test_first_admin_takes_the_configured_password(db: Database, settings: Settings) -> None:
    configured = settings.model_copy(
        update={"auth": settings.auth.model_copy(update={"first_admin_password": "from-config-1"})}
    )
    with db.session() as s:
        assert service.ensure_first_admin(s, configured) == "from-config-1"


# ---------------------------------------------------------------------------- login


def test_login_and_me(client: TestClient, db: Database, places: dict[str, int]) -> None:
    add_user(db, "zhang.san", ["officer"], ["d1"])
    r = client.post("/api/auth/login", json={"username": "zhang.san", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["user"]["username"] == "zhang.san"
    assert body["user"]["roles"] == ["officer"]
    assert "password" not in r.text
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["jurisdiction_ids"] == sorted([places["d1"], places["s1"]])
    assert me.json()["all_jurisdictions"] is False
    assert "jurisdictions.read" in me.json()["permissions"]
    assert "users.manage" not in me.json()["permissions"]
    (row,) = audit_rows(db, action="login")
    assert row.actor == "zhang.san"
    assert row.ip  # the test client's address


def test_bad_password_unknown_user_and_inactive_user_get_401_and_are_audited(
    client: TestClient, db: Database
) -> None:
    uid = add_user(db, "li.si", ["officer"])
    add_user(db, "wang.wu", ["officer"])
    with db.session() as s:
        user = service.get_user(db=s, user_id=uid)
        assert user is not None
        service.deactivate_user(db=s, user=user, actor=SYSTEM)
    attempts = [("wang.wu", "wrong-password"), ("nobody", PASSWORD), ("li.si", PASSWORD)]
    for username, password in attempts:
        r = client.post(
            "/api/auth/login?lang=en", json={"username": username, "password": password}
        )
        assert r.status_code == 401, username
        assert r.json()["error"]["code"] == "core.error.bad_credentials"
        assert r.json()["error"]["message"] == "Wrong username or password"
        assert "access_token" not in r.text
    failures = audit_rows(db, action="login_failed")
    assert [(f.actor, f.detail["failure"]) for f in failures] == [
        ("wang.wu", "bad_password"),
        ("nobody", "unknown_user"),
        ("li.si", "inactive"),
    ]
    assert audit_rows(db, action="login") == []


def test_login_body_is_validated(client: TestClient) -> None:
    r = client.post("/api/auth/login", json={"username": "x"})
    assert r.status_code == 422
    assert "password" in r.text


def test_login_rehashes_a_password_made_with_old_parameters(
    client: TestClient, db: Database
) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    previous = passwords.configure_hasher(cheap)
    try:
        uid = add_user(db, "old.hash", ["analyst"])
    finally:
        passwords.configure_hasher(previous)
    with db.session() as s:
        old = s.get(User, uid)
        assert old is not None
        old_hash = old.password_hash
    assert passwords.needs_rehash(old_hash)
    login(client, "old.hash")
    with db.session() as s:
        new = s.get(User, uid)
        assert new is not None
        assert new.password_hash != old_hash
        assert not passwords.needs_rehash(new.password_hash)
        assert passwords.verify_password(new.password_hash, PASSWORD)


def test_token_problems_get_401(client: TestClient, db: Database, settings: Settings) -> None:
    uid = add_user(db, "zhao.liu", ["analyst"])
    principal = Principal(username="zhao.liu", user_id=uid, roles=frozenset({"analyst"}))
    expired = create_access_token(
        principal,
        settings,
        now=datetime.now(UTC) - timedelta(seconds=settings.auth.token_ttl_s + 5),
    )
    r = client.get("/api/auth/me", headers={"Authorization": f"Bearer {expired.access_token}"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "core.error.token_expired"
    assert r.headers.get("content-type", "").startswith("application/json")
    for header in ("Bearer", "Bearer not-a-jwt", "Basic emhhbzpsaXU=", "Token abc"):
        r = client.get("/api/auth/me", headers={"Authorization": header})
        assert r.status_code == 401, header
    assert client.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me").json()["error"]["code"] == "core.error.not_authenticated"


def test_deactivated_user_token_stops_working_at_once(client: TestClient, db: Database) -> None:
    uid = add_user(db, "short.lived", ["dispatcher"])
    headers = login(client, "short.lived")
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    with db.session() as s:
        user = s.get(User, uid)
        assert user is not None
        service.deactivate_user(db=s, user=user, actor=SYSTEM)
    assert client.get("/api/auth/me", headers=headers).status_code == 401


# ---------------------------------------------------------------------------- API keys


def test_api_key_lifecycle(client: TestClient, db: Database, places: dict[str, int]) -> None:
    add_user(db, "root", ["admin"])
    admin = login(client, "root")
    r = client.post(
        "/api/api-keys",
        json={"name": "fraud signals", "partner": "ICBC", "jurisdiction": "d2"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    plain = created["key"]
    prefix, _, secret = plain.partition(".")
    assert created["prefix"] == prefix and created["roles"] == ["partner"]
    with db.session() as s:
        stored = s.get(ApiKey, created["id"])
        assert stored is not None
        assert secret not in stored.secret_hash  # only a hash is kept
    listed = client.get("/api/api-keys", headers=admin).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0] and secret not in str(listed)

    me = client.get("/api/auth/me", headers={"X-API-Key": plain})
    assert me.status_code == 200
    assert me.json()["api_key_id"] == created["id"]
    assert me.json()["roles"] == ["partner"]
    assert me.json()["jurisdiction_ids"] == sorted([places["d2"], places["s2"]])
    assert client.get("/api/jurisdictions", headers={"X-API-Key": plain}).status_code == 403
    bad = {"X-API-Key": f"{prefix}.{secret[:-1]}x"}
    assert client.get("/api/auth/me", headers=bad).status_code == 401
    assert client.get("/api/auth/me", headers={"X-API-Key": "garbage"}).status_code == 401

    r = client.delete(f"/api/api-keys/{created['id']}", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    r = client.get("/api/auth/me", headers={"X-API-Key": plain})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.error.bad_api_key"
    assert client.delete(f"/api/api-keys/{created['id']}", headers=admin).status_code == 409
    assert client.delete("/api/api-keys/9999", headers=admin).status_code == 404
    actions = [(r.action, r.entity) for r in audit_rows(db, entity="api_key")]
    assert actions == [("create", "api_key"), ("revoke", "api_key")]


def test_api_keys_may_not_be_admins(client: TestClient, db: Database) -> None:
    add_user(db, "root", ["admin"])
    admin = login(client, "root")
    r = client.post(
        "/api/api-keys", json={"name": "x", "partner": "y", "roles": ["admin"]}, headers=admin
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "roles"
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(ApiKey)).scalar_one() == 0


def test_api_key_scopes_limit_what_it_may_do(client: TestClient, db: Database) -> None:
    with db.session() as s:
        from pingan.core.auth.schemas import ApiKeyCreate

        _key, plain = service.create_api_key(
            db=s,
            key_in=ApiKeyCreate(name="n", partner="p", roles=["analyst"], scopes=["auth.self"]),
            actor=SYSTEM,
        )
    assert client.get("/api/auth/me", headers={"X-API-Key": plain}).status_code == 200
    # analysts may read jurisdictions, but this key is scoped to auth.self only
    assert client.get("/api/jurisdictions", headers={"X-API-Key": plain}).status_code == 403


# ---------------------------------------------------------------------------- users


def test_user_crud_and_validation(client: TestClient, db: Database, places: dict[str, int]) -> None:
    root_id = add_user(db, "root", ["admin"])
    admin = login(client, "root")
    before = len(audit_rows(db))

    bad_inputs = [
        ({"username": "ab", "password": PASSWORD, "roles": ["officer"]}, "username"),
        ({"username": "abc", "password": "short", "roles": ["officer"]}, "password"),
        ({"username": "abc", "password": PASSWORD, "roles": []}, "roles"),
        ({"username": "abc", "password": PASSWORD, "roles": ["janitor"]}, "roles.0"),
    ]
    for body, field in bad_inputs:
        r = client.post("/api/users", json=body, headers=admin)
        assert r.status_code == 422, body
        assert field in [".".join(map(str, e["loc"][1:])) for e in r.json()["detail"]], r.text
    r = client.post(
        "/api/users",
        json={
            "username": "abc",
            "password": PASSWORD,
            "roles": ["officer"],
            "jurisdictions": ["s1", "nowhere"],
        },
        headers=admin,
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "jurisdictions"
    assert "nowhere" in r.json()["error"]["message"]
    # nothing half-written: no user, no link, no audit record
    with db.session() as s:
        assert service.get_user_by_username(db=s, username="abc") is None
    assert len(audit_rows(db)) == before

    r = client.post(
        "/api/users",
        json={
            "username": "abc",
            "password": PASSWORD,
            "roles": ["officer"],
            "jurisdictions": ["s1"],
            "display_name": "阿北",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["jurisdictions"] == ["s1"] and user["active"] is True
    assert "password" not in r.text
    dup = client.post(
        "/api/users",
        json={"username": "abc", "password": PASSWORD, "roles": ["officer"]},
        headers=admin,
    )
    assert dup.status_code == 409 and dup.json()["error"]["field"] == "username"

    uid = user["id"]
    assert client.get(f"/api/users/{uid}", headers=admin).json()["username"] == "abc"
    assert client.get("/api/users/9999", headers=admin).status_code == 404
    assert client.get("/api/users/3000000000", headers=admin).status_code == 422  # int32 ids
    r = client.patch(
        f"/api/users/{uid}",
        json={"roles": ["officer", "analyst"], "jurisdictions": ["d2"]},
        headers=admin,
    )
    assert r.status_code == 200
    assert r.json()["roles"] == ["analyst", "officer"] and r.json()["jurisdictions"] == ["d2"]
    assert client.patch(f"/api/users/{uid}", json={"roles": []}, headers=admin).status_code == 422

    assert (
        client.post(f"/api/users/{uid}/password", json={"password": "x"}, headers=admin).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/users/{uid}/password", json={"password": "brand-new-pass"}, headers=admin
        ).status_code
        == 204
    )
    login(client, "abc", "brand-new-pass")

    assert client.delete(f"/api/users/{root_id}", headers=admin).status_code == 409  # not yourself
    r = client.delete(f"/api/users/{uid}", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert [u["username"] for u in client.get("/api/users", headers=admin).json()] == [
        "abc",
        "root",
    ]

    changes = [(r.action, r.detail) for r in audit_rows(db, entity="user", entity_id=str(uid))]
    assert [a for a, _ in changes] == ["create", "update", "update", "login", "update"]
    assert changes[2][1] == {"password": "changed"}
    assert "brand-new-pass" not in str(changes)


def test_non_admins_may_not_manage_users(client: TestClient, db: Database) -> None:
    add_user(db, "cmdr", ["commander", "auditor"])
    headers = login(client, "cmdr")
    assert client.get("/api/users", headers=headers).status_code == 403
    r = client.post(
        "/api/users",
        json={"username": "abc", "password": PASSWORD, "roles": ["admin"]},
        headers=headers,
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "core.error.forbidden"
    assert client.get("/api/users").status_code == 401


# ---------------------------------------------------------------------------- jurisdictions


def test_jurisdiction_rules(client: TestClient, db: Database, places: dict[str, int]) -> None:
    add_user(db, "root", ["admin"])
    admin = login(client, "root")
    cases = [
        ({"code": "s9", "name": "S9", "kind": "station"}, "parent"),
        ({"code": "c2", "name": "C2", "kind": "city", "parent": "hel"}, "parent"),
        ({"code": "d9", "name": "D9", "kind": "district", "parent": "s1"}, "parent"),
        ({"code": "d9", "name": "D9", "kind": "district", "parent": "nowhere"}, "parent"),
    ]
    for body, field in cases:
        r = client.post("/api/jurisdictions", json=body, headers=admin)
        assert r.status_code == 422, body
        assert r.json()["error"]["field"] == field
    r = client.post(
        "/api/jurisdictions",
        json={"code": "d1", "name": "again", "kind": "district", "parent": "hel"},
        headers=admin,
    )
    assert r.status_code == 409
    r = client.post(
        "/api/jurisdictions",
        json={"code": "s3", "name": "S3", "kind": "station", "parent": "d1"},
        headers=admin,
    )
    assert r.status_code == 201
    assert r.json()["path"] == "/hel/d1/s3/"
    tree = client.get("/api/jurisdictions/tree", headers=admin).json()
    assert [n["code"] for n in tree] == ["hel"]
    assert [n["code"] for n in tree[0]["children"]] == ["d1", "d2"]
    assert [n["code"] for n in tree[0]["children"][0]["children"]] == ["s1", "s3"]


def test_district_user_sees_its_district_and_stations(
    client: TestClient, db: Database, places: dict[str, int]
) -> None:
    add_user(db, "d1.officer", ["officer"], ["d1"])
    add_user(db, "s1.officer", ["officer"], ["s1"])
    add_user(db, "nowhere", ["officer"])
    add_user(db, "boss", ["admin"])
    add_user(db, "city.commander", ["commander"], ["hel"])

    def codes(username: str) -> list[str]:
        r = client.get("/api/jurisdictions", headers=login(client, username))
        assert r.status_code == 200
        return [j["code"] for j in r.json()]

    assert codes("d1.officer") == ["d1", "s1"]
    assert codes("s1.officer") == ["s1"]
    assert codes("nowhere") == []
    assert codes("boss") == ["hel", "d1", "s1", "d2", "s2"]
    assert codes("city.commander") == ["hel", "d1", "s1", "d2", "s2"]

    headers = login(client, "d1.officer")
    assert client.get(f"/api/jurisdictions/{places['s1']}", headers=headers).status_code == 200
    r = client.get(f"/api/jurisdictions/{places['s2']}?lang=en", headers=headers)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "core.error.out_of_jurisdiction"
    assert r.json()["error"]["message"] == "Outside your jurisdiction"
    tree = client.get("/api/jurisdictions/tree", headers=headers).json()
    assert [(n["code"], [c["code"] for c in n["children"]]) for n in tree] == [("d1", ["s1"])]


def test_scope_to_jurisdictions_filters_rows(db: Database, places: dict[str, int]) -> None:
    """A desk's rows, scoped by the caller's expanded jurisdictions."""
    md = MetaData()
    cases = Table(
        "test_scoped_cases",
        md,
        Column("id", Integer, primary_key=True),
        Column("label", String(20)),
        Column("jurisdiction_id", Integer, ForeignKey(Jurisdiction.id), nullable=True),
    )
    md.create_all(db.engine)
    rows = [
        ("in-d1", "d1"),
        ("in-s1", "s1"),
        ("in-d2", "d2"),
        ("in-s2", "s2"),
        ("city", "hel"),
        ("none", None),
    ]
    with db.session() as s:
        s.execute(
            cases.insert(),
            [{"label": label, "jurisdiction_id": places[c] if c else None} for label, c in rows],
        )
    with db.session() as s:
        users = {
            "d1": add_user(db, "u.d1", ["officer"], ["d1"]),
            "s2": add_user(db, "u.s2", ["officer"], ["s2"]),
            "none": add_user(db, "u.none", ["officer"]),
            "admin": add_user(db, "u.admin", ["admin"]),
        }

        def visible(key: str, **kw: bool) -> set[str]:
            user = s.get(User, users[key])
            assert user is not None
            who = service.principal_for_user(db=s, user=user)
            stmt = scope_to_jurisdictions(select(cases.c.label), cases.c.jurisdiction_id, who, **kw)
            return set(s.execute(stmt).scalars())

        assert visible("d1") == {"in-d1", "in-s1"}
        assert visible("s2") == {"in-s2"}
        assert visible("none") == set()
        assert visible("admin") == {label for label, _ in rows}
        assert visible("d1", include_unassigned=True) == {"in-d1", "in-s1", "none"}


def test_jurisdiction_codes_with_like_wildcards_do_not_leak(db: Database) -> None:
    with db.session() as s:
        for code, kind, parent in [
            ("c_1", "city", None),
            ("cx1", "city", None),
            ("c_1-d", "district", "c_1"),
            ("cx1-d", "district", "cx1"),
        ]:
            service.create_jurisdiction(
                db=s,
                jurisdiction_in=JurisdictionCreate(code=code, name=code, kind=kind, parent=parent),  # type: ignore[arg-type]
                actor=SYSTEM,
            )
    with db.session() as s:
        c1 = service.get_jurisdiction_by_code(db=s, code="c_1")
        assert c1 is not None
        expanded = service.expand_jurisdictions(db=s, jurisdiction_ids=[c1.id])
        codes = {s.get(Jurisdiction, i).code for i in expanded}  # type: ignore[union-attr]
    assert codes == {"c_1", "c_1-d"}


def test_require_works_as_marker_and_inside_depends(settings: Settings, db: Database) -> None:
    app = build_app(settings, db)

    @app.get("/probe/marker")
    def marker(who: Annotated[Principal, require("users.manage")]) -> str:
        return who.username

    @app.get("/probe/wrapped", dependencies=[Depends(require("users.manage"))])
    def wrapped() -> str:
        return "ok"

    add_user(db, "root", ["admin"])
    add_user(db, "cop", ["officer"])
    with TestClient(app) as client:
        admin, cop = login(client, "root"), login(client, "cop")
        assert client.get("/probe/marker", headers=admin).json() == "root"
        assert client.get("/probe/wrapped", headers=admin).status_code == 200
        for path in ("/probe/marker", "/probe/wrapped"):
            assert client.get(path, headers=cop).status_code == 403
            assert client.get(path).status_code == 401
    with pytest.raises(ValueError):
        require()
