"""Passwords (Argon2id), access tokens (JWT HS256) and the permission registry."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from argon2 import PasswordHasher, Type

from pingan.core.auth import passwords
from pingan.core.auth.permissions import (
    Principal,
    UnknownPermission,
    has_permission,
    register_permissions,
    roles_for,
)
from pingan.core.auth.roles import ALL_ROLES
from pingan.core.auth.schemas import Role
from pingan.core.auth.tokens import ISSUER, create_access_token, decode_access_token
from pingan.core.errors import NotAuthenticated
from pingan.core.settings import Settings

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def cheap_hasher() -> Iterator[PasswordHasher]:
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    previous = passwords.configure_hasher(hasher)
    try:
        yield hasher
    finally:
        passwords.configure_hasher(previous)


def test_hash_and_verify(cheap_hasher: PasswordHasher) -> None:
    digest = passwords.hash_password("correct horse")
    assert digest.startswith("$argon2id$")
    assert "correct horse" not in digest
    assert passwords.verify_password(digest, "correct horse")
    assert not passwords.verify_password(digest, "correct horsE")
    assert not passwords.verify_password("not-a-hash", "correct horse")
    assert passwords.hash_password("correct horse") != digest  # salted


def test_needs_rehash_when_parameters_change(cheap_hasher: PasswordHasher) -> None:
    digest = passwords.hash_password("correct horse")
    assert not passwords.needs_rehash(digest)
    previous = passwords.configure_hasher(
        PasswordHasher(time_cost=2, memory_cost=16, parallelism=1, type=Type.ID)
    )
    try:
        assert passwords.needs_rehash(digest)
        assert passwords.verify_password(digest, "correct horse")  # old hashes still verify
    finally:
        passwords.configure_hasher(previous)
    assert passwords.needs_rehash("garbage")


def test_default_hasher_is_argon2id() -> None:
    assert passwords.current_hasher().type is Type.ID


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "auth.error.password_too_short"),
        (" " * 12, "auth.error.password_blank"),
        ("x" * 257, "auth.error.password_too_long"),
        ("long enough", None),
    ],
)
def test_password_policy(password: str, problem: str | None) -> None:
    assert passwords.password_problem(password) == problem


# ---------------------------------------------------------------------------- tokens


@pytest.fixture
def settings(tmp_path: typing.Any) -> Settings:
    return Settings(data_dir=tmp_path, auth={"secret_key": "k" * 64, "token_ttl_s": 600})  # type: ignore[arg-type]


def principal() -> Principal:
    return Principal(
        username="li.lei",
        user_id=7,
        roles=frozenset({"officer", "analyst"}),
        jurisdiction_ids=frozenset({3, 4, 9}),
        language="en",
    )


def test_token_round_trip(settings: Settings) -> None:
    issued = create_access_token(principal(), settings, now=T0)
    assert issued.expires_in == 600
    assert issued.expires_at == T0 + timedelta(seconds=600)
    back = decode_access_token(issued.access_token, settings, now=T0 + timedelta(seconds=599))
    assert back == principal()
    claims = jwt.decode(issued.access_token, options={"verify_signature": False})
    assert {"sub", "uid", "roles", "jur", "exp", "iat", "jti"} <= set(claims)
    assert claims["sub"] == "li.lei"
    assert claims["jur"] == [3, 4, 9]
    assert jwt.get_unverified_header(issued.access_token)["alg"] == "HS256"


def test_each_token_has_its_own_id(settings: Settings) -> None:
    a = create_access_token(principal(), settings, now=T0)
    b = create_access_token(principal(), settings, now=T0)
    assert a.jti != b.jti


def test_expired_token_is_refused(settings: Settings) -> None:
    issued = create_access_token(principal(), settings, now=T0)
    with pytest.raises(NotAuthenticated) as err:
        decode_access_token(issued.access_token, settings, now=T0 + timedelta(seconds=600))
    assert err.value.key == "core.error.token_expired"
    assert err.value.status_code == 401


def test_token_from_the_future_is_refused(settings: Settings) -> None:
    issued = create_access_token(principal(), settings, now=T0 + timedelta(minutes=5))
    with pytest.raises(NotAuthenticated) as err:
        decode_access_token(issued.access_token, settings, now=T0)
    assert err.value.key == "core.error.not_authenticated"


def test_wrong_secret_is_refused(settings: Settings, tmp_path: typing.Any) -> None:
    issued = create_access_token(principal(), settings, now=T0)
    other = Settings(data_dir=tmp_path, auth={"secret_key": "z" * 64})  # type: ignore[arg-type]
    with pytest.raises(NotAuthenticated) as err:
        decode_access_token(issued.access_token, other, now=T0)
    assert err.value.key == "core.error.not_authenticated"


def _claims(**override: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": "li.lei",
        "uid": 7,
        "roles": ["admin"],
        "jur": [],
        "jall": True,
        "iat": int(T0.timestamp()),
        "exp": int(T0.timestamp()) + 600,
        "jti": "x",
    }
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    "claims",
    [
        _claims(jti=None),
        _claims(uid=None),
        _claims(exp=None),
        _claims(iss="someone-else"),
        _claims(uid="seven"),
        _claims(jur=["a"]),
    ],
)
def test_crafted_tokens_with_bad_claims_are_refused(
    settings: Settings, claims: dict[str, object]
) -> None:
    token = jwt.encode(claims, settings.auth.secret_key, algorithm="HS256")
    with pytest.raises(NotAuthenticated):
        decode_access_token(token, settings, now=T0)


def test_crafted_token_with_good_claims_is_accepted(settings: Settings) -> None:
    token = jwt.encode(_claims(), settings.auth.secret_key, algorithm="HS256")
    assert decode_access_token(token, settings, now=T0).all_jurisdictions


def test_unsigned_and_other_algorithm_tokens_are_refused(settings: Settings) -> None:
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    hs512 = jwt.encode(_claims(), settings.auth.secret_key, algorithm="HS512")
    for token in (unsigned, hs512, "not.a.token", ""):
        with pytest.raises(NotAuthenticated):
            decode_access_token(token, settings, now=T0)


def test_tampered_payload_is_refused(settings: Settings) -> None:
    token = create_access_token(principal(), settings, now=T0).access_token
    head, _body, sig = token.split(".")
    forged_body = jwt.encode(_claims(), "o" * 64, algorithm="HS256").split(".")[1]
    with pytest.raises(NotAuthenticated):
        decode_access_token(f"{head}.{forged_body}.{sig}", settings, now=T0)


def test_api_key_principals_get_no_access_token(settings: Settings) -> None:
    with pytest.raises(ValueError, match="principal"):
        create_access_token(Principal(username="apikey:x", roles=frozenset({"partner"})), settings)


# ---------------------------------------------------------------------------- permissions


def test_permissions_merge_and_check() -> None:
    register_permissions({"unittest_perm.read": {"officer"}})
    register_permissions({"unittest_perm.read": {"analyst"}, "unittest_perm.write": {"admin"}})
    assert roles_for("unittest_perm.read") == {"officer", "analyst"}
    assert has_permission({"analyst"}, "unittest_perm.read")
    assert not has_permission({"partner", "dispatcher"}, "unittest_perm.read")
    assert not has_permission(set(), "unittest_perm.write")


def test_unknown_permission_is_a_programming_error() -> None:
    with pytest.raises(UnknownPermission):
        roles_for("unittest_perm.nobody_registered_this")
    with pytest.raises(UnknownPermission):
        has_permission({"admin"}, "unittest_perm.nobody_registered_this")
    with pytest.raises(UnknownPermission):
        Principal.system().can("unittest_perm.nobody_registered_this")


def test_registering_an_unknown_role_fails() -> None:
    with pytest.raises(ValueError, match="unknown roles"):
        register_permissions({"unittest_perm.bad": {"janitor"}})


def test_scopes_limit_an_api_key() -> None:
    register_permissions({"unittest_scope.a": {"partner"}, "unittest_scope.b": {"partner"}})
    key = Principal(
        username="apikey:p",
        roles=frozenset({"partner"}),
        api_key_id=1,
        scopes=frozenset({"unittest_scope.a"}),
    )
    assert key.can("unittest_scope.a")
    assert not key.can("unittest_scope.b")
    unscoped = Principal(username="apikey:q", roles=frozenset({"partner"}), api_key_id=2)
    assert unscoped.can("unittest_scope.b")


def test_principal_sees_only_its_jurisdictions() -> None:
    p = principal()
    assert p.sees(3) and p.sees(9)
    assert not p.sees(5)
    assert not p.sees(None)
    assert Principal.system().sees(5) and Principal.system().sees(None)


def test_role_literal_matches_the_role_list() -> None:
    assert set(typing.get_args(Role)) == ALL_ROLES


# ---------------------------------------------------------------------------- messages


def _flatten(tree: dict[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


def test_auth_audit_privacy_messages_are_complete_in_both_languages() -> None:
    import json
    import re
    from pathlib import Path

    import pingan.core.audit
    from pingan.core.auth.module import LOCALES_DIR

    zh = _flatten(json.loads((LOCALES_DIR / "zh-CN.json").read_text(encoding="utf-8")))
    en = _flatten(json.loads((LOCALES_DIR / "en.json").read_text(encoding="utf-8")))
    assert set(zh) == set(en)
    assert all(k.split(".")[0] in ("auth", "audit", "privacy") for k in zh)
    for key in zh:  # the same placeholders in both languages
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key
    assert {f"auth.role.{r}" for r in ALL_ROLES} <= set(zh)
    # every catalogue key the code names exists
    core = Path(pingan.core.audit.__file__).parent
    sources = [core / "audit.py", core / "audit_module.py", *sorted((core / "auth").glob("*.py"))]
    used: set[str] = set()
    for source in sources:
        used |= set(re.findall(r'"((?:auth|audit)\.(?:error|cli)\.\w+)"', source.read_text()))
    assert used, "no keys found: the pattern is stale"
    assert used <= set(zh), used - set(zh)
    problems = {f"audit.verify.{p}" for p in typing.get_args(pingan.core.audit.Problem)}
    assert problems | {"audit.verify.ok"} <= set(zh)
