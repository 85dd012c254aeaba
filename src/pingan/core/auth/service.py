"""Identity and access: users, logins, API keys and jurisdictions.

Functions are keyword-only and never commit: the caller (a route, a CLI command)
commits once, so the change and its audit record land together or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pingan.core import audit
from pingan.core.auth.models import ApiKey, Jurisdiction, User, UserJurisdiction
from pingan.core.auth.passwords import (
    burn_verification_time,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from pingan.core.auth.permissions import Principal
from pingan.core.auth.roles import ADMIN, ALL_ROLES
from pingan.core.auth.schemas import (
    ApiKeyCreate,
    JurisdictionCreate,
    JurisdictionNode,
    UserCreate,
    UserUpdate,
)
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.core.settings import Settings

_KIND_RANK = {"city": 0, "district": 1, "station": 2}
API_KEY_ROLES_REFUSED = frozenset({ADMIN})
"""Roles a partner system's key may never carry."""


# ---------------------------------------------------------------------------- jurisdictions


def get_jurisdiction(*, db: Session, jurisdiction_id: int) -> Jurisdiction | None:
    """Gets a jurisdiction by its id."""
    return db.get(Jurisdiction, jurisdiction_id)


def get_jurisdiction_by_code(*, db: Session, code: str) -> Jurisdiction | None:
    """Gets a jurisdiction by its code."""
    return db.execute(select(Jurisdiction).where(Jurisdiction.code == code)).scalar_one_or_none()


def _jurisdictions_by_code(*, db: Session, codes: Iterable[str], field: str) -> list[Jurisdiction]:
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return []
    found = {
        j.code: j
        for j in db.execute(select(Jurisdiction).where(Jurisdiction.code.in_(wanted))).scalars()
    }
    missing = [c for c in wanted if c not in found]
    if missing:
        raise ValidationFailed("auth.error.unknown_jurisdiction", field=field, code=missing[0])
    return [found[c] for c in wanted]


def create_jurisdiction(
    *, db: Session, jurisdiction_in: JurisdictionCreate, actor: Principal
) -> Jurisdiction:
    """Creates a jurisdiction below its parent (a city has none; a station's is a district)."""
    if get_jurisdiction_by_code(db=db, code=jurisdiction_in.code) is not None:
        raise Conflict("auth.error.jurisdiction_exists", field="code", code=jurisdiction_in.code)
    parent: Jurisdiction | None = None
    if jurisdiction_in.parent is not None:
        parent = get_jurisdiction_by_code(db=db, code=jurisdiction_in.parent)
        if parent is None:
            raise ValidationFailed(
                "auth.error.unknown_jurisdiction", field="parent", code=jurisdiction_in.parent
            )
    rank = _KIND_RANK[jurisdiction_in.kind]
    if (parent is None) != (rank == 0) or (
        parent is not None and _KIND_RANK.get(parent.kind, 99) >= rank
    ):
        raise ValidationFailed("auth.error.bad_parent", field="parent", kind=jurisdiction_in.kind)
    row = Jurisdiction(
        code=jurisdiction_in.code,
        name=jurisdiction_in.name,
        name_en=jurisdiction_in.name_en,
        kind=jurisdiction_in.kind,
        parent_id=parent.id if parent else None,
        path=(parent.path if parent else "/") + jurisdiction_in.code + "/",
        city_id=jurisdiction_in.city_id
        if jurisdiction_in.city_id is not None
        else (parent.city_id if parent else None),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="jurisdiction",
        entity_id=row.id,
        detail={"code": row.code, "kind": row.kind, "path": row.path},
    )
    return row


def expand_jurisdictions(*, db: Session, jurisdiction_ids: Iterable[int]) -> frozenset[int]:
    """The given jurisdictions and every jurisdiction below them."""
    ids = list(set(jurisdiction_ids))
    if not ids:
        return frozenset()
    paths = db.execute(select(Jurisdiction.path).where(Jurisdiction.id.in_(ids))).scalars().all()
    if not paths:
        return frozenset()
    below = select(Jurisdiction.id).where(
        or_(*(Jurisdiction.path.startswith(p, autoescape=True) for p in paths))
    )
    return frozenset(db.execute(below).scalars())


def list_jurisdictions(*, db: Session, principal: Principal | None = None) -> list[Jurisdiction]:
    """Jurisdictions (those ``principal`` may see, when given), in tree order."""
    stmt = select(Jurisdiction).order_by(Jurisdiction.path)
    if principal is not None and not principal.all_jurisdictions:
        stmt = stmt.where(Jurisdiction.id.in_(sorted(principal.jurisdiction_ids)))
    return list(db.execute(stmt).scalars())


def jurisdiction_tree(*, db: Session, principal: Principal | None = None) -> list[JurisdictionNode]:
    """The jurisdictions ``principal`` may see as a forest (roots: those whose parent is hidden)."""
    rows = list_jurisdictions(db=db, principal=principal)
    nodes = {j.id: JurisdictionNode.model_validate(j, from_attributes=True) for j in rows}
    roots: list[JurisdictionNode] = []
    for j in rows:  # every node exists already, so the order only sorts siblings
        node = nodes[j.id]
        parent = nodes.get(j.parent_id) if j.parent_id is not None else None
        (parent.children if parent is not None else roots).append(node)
    return roots


# ---------------------------------------------------------------------------- users


def get_user(*, db: Session, user_id: int) -> User | None:
    """Gets a user by their id."""
    return db.get(User, user_id)


def get_user_by_username(*, db: Session, username: str) -> User | None:
    """Gets a user by their username."""
    return db.execute(select(User).where(User.username == username)).scalar_one_or_none()


def list_users(*, db: Session, include_inactive: bool = True) -> list[User]:
    """Every user, by username."""
    stmt = select(User).order_by(User.username)
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    return list(db.execute(stmt).scalars())


def user_jurisdiction_codes(user: User) -> list[str]:
    """The codes of the jurisdictions ``user`` is assigned to."""
    return sorted(link.jurisdiction.code for link in user.jurisdictions)


def _check_password(password: str) -> None:
    problem = password_problem(password)
    if problem is not None:
        raise ValidationFailed(problem, field="password")


def create_user(*, db: Session, user_in: UserCreate, actor: Principal) -> User:
    """Creates a user with a hashed password, their roles and jurisdictions."""
    _check_password(user_in.password)
    if get_user_by_username(db=db, username=user_in.username) is not None:
        raise Conflict("auth.error.username_taken", field="username", username=user_in.username)
    places = _jurisdictions_by_code(db=db, codes=user_in.jurisdictions, field="jurisdictions")
    user = User(
        username=user_in.username,
        display_name=user_in.display_name,
        password_hash=hash_password(user_in.password),
        roles=sorted(set(user_in.roles)),
        language=user_in.language,
        active=True,
    )
    user.jurisdictions = [UserJurisdiction(jurisdiction_id=j.id) for j in places]
    db.add(user)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="user",
        entity_id=user.id,
        detail={
            "username": user.username,
            "roles": user.roles,
            "jurisdictions": [j.code for j in places],
        },
    )
    return user


def update_user(*, db: Session, user: User, user_in: UserUpdate, actor: Principal) -> User:
    """Changes a user's name, language, roles, jurisdictions or active flag."""
    changes = user_in.model_dump(exclude_unset=True)
    if changes.get("active") is False or (
        "roles" in changes and ADMIN not in (changes["roles"] or [])
    ):
        _refuse_self_lockout(user=user, actor=actor)
    detail: dict[str, object] = {}
    if user_in.display_name is not None:
        user.display_name = user_in.display_name
        detail["display_name"] = user_in.display_name
    if user_in.language is not None:
        user.language = user_in.language
        detail["language"] = user_in.language
    if user_in.roles is not None:
        user.roles = sorted(set(user_in.roles))
        detail["roles"] = user.roles
    if user_in.jurisdictions is not None:
        places = _jurisdictions_by_code(db=db, codes=user_in.jurisdictions, field="jurisdictions")
        user.jurisdictions = [UserJurisdiction(jurisdiction_id=j.id) for j in places]
        detail["jurisdictions"] = [j.code for j in places]
    if user_in.active is not None:
        user.active = user_in.active
        detail["active"] = user_in.active
    db.flush()
    if detail:
        audit.record(
            db, actor=actor, action=audit.UPDATE, entity="user", entity_id=user.id, detail=detail
        )
    db.refresh(user)
    return user


def _refuse_self_lockout(*, user: User, actor: Principal) -> None:
    if actor.user_id is not None and actor.user_id == user.id:
        raise Conflict("auth.error.self_lockout", field="user_id")


def set_password(*, db: Session, user: User, password: str, actor: Principal) -> User:
    """Sets a user's password (hashed; the audit record holds no trace of it)."""
    _check_password(password)
    user.password_hash = hash_password(password)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="user",
        entity_id=user.id,
        detail={"password": "changed"},
    )
    return user


def deactivate_user(*, db: Session, user: User, actor: Principal) -> User:
    """Deactivates a user (kept for the audit trail; their tokens stop working at once)."""
    _refuse_self_lockout(user=user, actor=actor)
    if not user.active:
        return user
    user.active = False
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="user",
        entity_id=user.id,
        detail={"active": False},
    )
    return user


def principal_for_user(*, db: Session, user: User, ip: str | None = None) -> Principal:
    """The principal a signed-in ``user`` acts as (jurisdictions expanded)."""
    assigned = [link.jurisdiction_id for link in user.jurisdictions]
    return Principal(
        username=user.username,
        user_id=user.id,
        roles=frozenset(user.roles),
        jurisdiction_ids=expand_jurisdictions(db=db, jurisdiction_ids=assigned),
        all_jurisdictions=ADMIN in user.roles,
        language=user.language,
        ip=ip,
    )


def authenticate(
    *, db: Session, username: str, password: str, ip: str | None = None
) -> User | None:
    """The active user with these credentials, or None; audits the attempt either way.

    The caller must commit even when None comes back, so the failed attempt's audit
    record is kept. A stored hash made with older parameters is replaced.
    """
    user = get_user_by_username(db=db, username=username)
    failure: str | None = None
    if user is None:
        burn_verification_time(password)
        failure = "unknown_user"
    elif not verify_password(user.password_hash, password):
        failure = "bad_password"
    elif not user.active:
        failure = "inactive"
    if failure is not None or user is None:
        # The caller hears only "wrong username or password" whatever the cause.
        audit.record(
            db,
            actor=username[:200],
            action=audit.LOGIN_FAILED,
            entity="user",
            entity_id=user.id if user is not None else "",
            ip=ip,
            detail={"failure": failure},
        )
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(
        db,
        actor=user.username,
        action=audit.LOGIN,
        entity="user",
        entity_id=user.id,
        ip=ip,
        detail={"roles": user.roles},
    )
    return user


def ensure_first_admin(db: Session, settings: Settings) -> str | None:
    """Creates the first administrator when missing; returns their password only then."""
    username = settings.auth.first_admin_username
    if get_user_by_username(db=db, username=username) is not None:
        return None
    password = settings.auth.first_admin_password or secrets.token_urlsafe(12)
    create_user(
        db=db,
        user_in=UserCreate.model_construct(
            username=username,
            password=password,
            roles=["admin"],
            jurisdictions=[],
            display_name="Administrator",
            language=settings.web.default_language,
        ),
        actor=Principal.system("system:first-start"),
    )
    return password


# ---------------------------------------------------------------------------- API keys


def _secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_api_key(*, db: Session, key_in: ApiKeyCreate, actor: Principal) -> tuple[ApiKey, str]:
    """Creates a partner system's key; returns it and the plain ``prefix.secret`` (shown once)."""
    refused = set(key_in.roles) & API_KEY_ROLES_REFUSED
    if refused:
        raise ValidationFailed("auth.error.api_key_role", field="roles", role=sorted(refused)[0])
    unknown = set(key_in.roles) - ALL_ROLES
    if unknown:  # the schema already refuses these; kept for callers building models by hand
        raise ValidationFailed("core.error.invalid", field="roles")
    jurisdiction_id: int | None = None
    if key_in.jurisdiction is not None:
        (place,) = _jurisdictions_by_code(db=db, codes=[key_in.jurisdiction], field="jurisdiction")
        jurisdiction_id = place.id
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        prefix=prefix,
        secret_hash=_secret_digest(secret),
        name=key_in.name,
        partner=key_in.partner,
        roles=sorted(set(key_in.roles)),
        scopes=sorted(set(key_in.scopes)),
        jurisdiction_id=jurisdiction_id,
        created_by=actor.username,
    )
    db.add(key)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="api_key",
        entity_id=key.id,
        detail={
            "prefix": prefix,
            "name": key.name,
            "partner": key.partner,
            "roles": key.roles,
            "scopes": key.scopes,
            "jurisdiction_id": jurisdiction_id,
        },
    )
    return key, f"{prefix}.{secret}"


def get_api_key(*, db: Session, api_key_id: int) -> ApiKey | None:
    """Gets an API key by its id."""
    return db.get(ApiKey, api_key_id)


def list_api_keys(*, db: Session, include_revoked: bool = True) -> list[ApiKey]:
    """Every API key, newest first."""
    stmt = select(ApiKey).order_by(ApiKey.id.desc())
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(db.execute(stmt).scalars())


def revoke_api_key(*, db: Session, api_key_id: int, actor: Principal) -> ApiKey:
    """Revokes a key; it is refused from the next request on."""
    key = get_api_key(db=db, api_key_id=api_key_id)
    if key is None:
        raise NotFound(field="api_key_id")
    if key.revoked_at is not None:
        raise Conflict("auth.error.api_key_revoked", field="api_key_id")
    key.revoked_at = datetime.now(UTC)  # wall clock, like the tokens it stands beside
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.REVOKE,
        entity="api_key",
        entity_id=key.id,
        detail={"prefix": key.prefix},
    )
    return key


def authenticate_api_key(*, db: Session, presented: str) -> ApiKey | None:
    """The unrevoked key matching ``presented`` (``prefix.secret``), or None."""
    prefix, dot, secret = presented.strip().partition(".")
    if not dot or not prefix or not secret or len(prefix) > 16:
        return None
    key = db.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
    digest = _secret_digest(secret)
    if key is None:
        hmac.compare_digest(digest, digest)  # keep timing alike
        return None
    if not hmac.compare_digest(key.secret_hash, digest) or key.revoked_at is not None:
        return None
    return key


def principal_for_api_key(*, db: Session, key: ApiKey, ip: str | None = None) -> Principal:
    """The principal a partner system acts as with ``key``."""
    assigned = [key.jurisdiction_id] if key.jurisdiction_id is not None else []
    return Principal(
        username=f"apikey:{key.prefix}",
        api_key_id=key.id,
        roles=frozenset(key.roles),
        jurisdiction_ids=expand_jurisdictions(db=db, jurisdiction_ids=assigned),
        all_jurisdictions=False,
        scopes=frozenset(key.scopes) if key.scopes else None,
        ip=ip,
    )
