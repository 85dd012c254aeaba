"""HTTP API of identity and access (mounted under ``/api``): login, users, keys, jurisdictions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from pingan.core.auth import service
from pingan.core.auth.deps import ensure_in_jurisdiction, require
from pingan.core.auth.models import ApiKey, User
from pingan.core.auth.permissions import Principal, registered_permissions
from pingan.core.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    JurisdictionCreate,
    JurisdictionNode,
    JurisdictionRead,
    LoginRequest,
    MeRead,
    PasswordSet,
    TokenResponse,
    UserBrief,
    UserCreate,
    UserRead,
    UserUpdate,
)
from pingan.core.auth.tokens import create_access_token
from pingan.core.deps import MAX_ROW_ID, DbSession, PlatformContext
from pingan.core.errors import NotAuthenticated, NotFound

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or expired credentials"},
    403: {"description": "The caller's role or jurisdiction does not allow this"},
}

router = APIRouter(responses=AUTH_RESPONSES)

SelfUser = Annotated[Principal, require("auth.self")]
UserAdmin = Annotated[Principal, require("users.manage")]
KeyAdmin = Annotated[Principal, require("apikeys.manage")]
JurisdictionReader = Annotated[Principal, require("jurisdictions.read")]
JurisdictionAdmin = Annotated[Principal, require("jurisdictions.manage")]
UserId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The user's id.")]
ApiKeyId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The API key's id.")]
JurisdictionId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The jurisdiction's id.")]


def user_read(user: User) -> UserRead:
    """``user`` as the API shows them."""
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=list(user.roles),
        language=user.language,
        active=user.active,
        jurisdictions=service.user_jurisdiction_codes(user),
        created_at=user.created_at,
    )


def _key_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead.model_validate(key, from_attributes=True)


def _user_or_404(db: DbSession, user_id: int) -> User:
    user = service.get_user(db=db, user_id=user_id)
    if user is None:
        raise NotFound(field="user_id")
    return user


# ---------------------------------------------------------------------------- login


@router.post(
    "/auth/login",
    response_model=TokenResponse,
    tags=["auth"],
    summary="Sign in with a username and password",
)
def login(body: LoginRequest, request: Request, db: DbSession, ctx: PlatformContext) -> Any:
    """An access token for the ``Authorization: Bearer`` header (public)."""
    ip = request.client.host if request.client is not None else None
    user = service.authenticate(db=db, username=body.username, password=body.password, ip=ip)
    if user is None:
        db.commit()  # keep the audit record of the failed attempt
        raise NotAuthenticated("core.error.bad_credentials")
    principal = service.principal_for_user(db=db, user=user, ip=ip)
    issued = create_access_token(principal, ctx.settings)
    return TokenResponse(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        user=UserBrief(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            roles=list(user.roles),
            language=user.language,
        ),
    )


@router.get("/auth/me", response_model=MeRead, tags=["auth"], summary="Who am I")
def me(who: SelfUser, db: DbSession) -> Any:
    """The caller's identity, roles, jurisdictions and permissions."""
    user = service.get_user(db=db, user_id=who.user_id) if who.user_id is not None else None
    return MeRead(
        username=who.username,
        user_id=who.user_id,
        api_key_id=who.api_key_id,
        display_name=user.display_name if user is not None else who.username,
        roles=sorted(who.roles),
        language=who.language,
        jurisdiction_ids=sorted(who.jurisdiction_ids),
        all_jurisdictions=who.all_jurisdictions,
        permissions=sorted(p for p in registered_permissions() if who.can(p)),
    )


# ---------------------------------------------------------------------------- users


@router.get("/users", response_model=list[UserRead], tags=["users"], summary="List users")
def list_users(_who: UserAdmin, db: DbSession) -> Any:
    """Every user (administrators)."""
    return [user_read(u) for u in service.list_users(db=db)]


@router.post(
    "/users",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    tags=["users"],
    summary="Create a user",
)
def create_user(body: UserCreate, who: UserAdmin, db: DbSession) -> Any:
    """A new user with roles and jurisdictions (administrators)."""
    return user_read(service.create_user(db=db, user_in=body, actor=who))


@router.get("/users/{user_id}", response_model=UserRead, tags=["users"], summary="Get a user")
def get_user(user_id: UserId, _who: UserAdmin, db: DbSession) -> Any:
    """One user (administrators)."""
    return user_read(_user_or_404(db, user_id))


@router.patch("/users/{user_id}", response_model=UserRead, tags=["users"], summary="Change a user")
def update_user(user_id: UserId, body: UserUpdate, who: UserAdmin, db: DbSession) -> Any:
    """Change a user's name, language, roles, jurisdictions or active flag (administrators)."""
    user = _user_or_404(db, user_id)
    return user_read(service.update_user(db=db, user=user, user_in=body, actor=who))


@router.post(
    "/users/{user_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["users"],
    summary="Set a user's password",
)
def set_password(user_id: UserId, body: PasswordSet, who: UserAdmin, db: DbSession) -> Response:
    """Set a new password for a user (administrators)."""
    user = _user_or_404(db, user_id)
    service.set_password(db=db, user=user, password=body.password, actor=who)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/users/{user_id}", response_model=UserRead, tags=["users"], summary="Deactivate a user"
)
def deactivate_user(user_id: UserId, who: UserAdmin, db: DbSession) -> Any:
    """Deactivate a user; kept for the audit trail (administrators)."""
    user = _user_or_404(db, user_id)
    return user_read(service.deactivate_user(db=db, user=user, actor=who))


# ---------------------------------------------------------------------------- API keys


@router.get(
    "/api-keys", response_model=list[ApiKeyRead], tags=["api-keys"], summary="List API keys"
)
def list_api_keys(_who: KeyAdmin, db: DbSession) -> Any:
    """Every partner key, revoked ones included (administrators)."""
    return [_key_read(k) for k in service.list_api_keys(db=db)]


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["api-keys"],
    summary="Create an API key",
)
def create_api_key(body: ApiKeyCreate, who: KeyAdmin, db: DbSession) -> Any:
    """A new key for a partner system; the secret is in this answer only (administrators)."""
    key, plain = service.create_api_key(db=db, key_in=body, actor=who)
    return ApiKeyCreated(**_key_read(key).model_dump(), key=plain)


@router.delete(
    "/api-keys/{api_key_id}",
    response_model=ApiKeyRead,
    tags=["api-keys"],
    summary="Revoke an API key",
)
def revoke_api_key(api_key_id: ApiKeyId, who: KeyAdmin, db: DbSession) -> Any:
    """Revoke a key; it is refused from the next request on (administrators)."""
    return _key_read(service.revoke_api_key(db=db, api_key_id=api_key_id, actor=who))


# ---------------------------------------------------------------------------- jurisdictions


@router.get(
    "/jurisdictions",
    response_model=list[JurisdictionRead],
    tags=["jurisdictions"],
    summary="List jurisdictions",
)
def list_jurisdictions(who: JurisdictionReader, db: DbSession) -> Any:
    """The jurisdictions the caller works in, and those below them."""
    return [
        JurisdictionRead.model_validate(j, from_attributes=True)
        for j in service.list_jurisdictions(db=db, principal=who)
    ]


@router.get(
    "/jurisdictions/tree",
    response_model=list[JurisdictionNode],
    tags=["jurisdictions"],
    summary="Jurisdictions as a tree",
)
def jurisdiction_tree(who: JurisdictionReader, db: DbSession) -> Any:
    """The caller's jurisdictions nested city → district → station."""
    return service.jurisdiction_tree(db=db, principal=who)


@router.get(
    "/jurisdictions/{jurisdiction_id}",
    response_model=JurisdictionRead,
    tags=["jurisdictions"],
    summary="Get a jurisdiction",
)
def get_jurisdiction(
    jurisdiction_id: JurisdictionId, who: JurisdictionReader, db: DbSession
) -> Any:
    """One jurisdiction within the caller's reach."""
    row = service.get_jurisdiction(db=db, jurisdiction_id=jurisdiction_id)
    if row is None:
        raise NotFound(field="jurisdiction_id")
    ensure_in_jurisdiction(who, row.id)
    return JurisdictionRead.model_validate(row, from_attributes=True)


@router.post(
    "/jurisdictions",
    response_model=JurisdictionRead,
    status_code=status.HTTP_201_CREATED,
    tags=["jurisdictions"],
    summary="Create a jurisdiction",
)
def create_jurisdiction(body: JurisdictionCreate, who: JurisdictionAdmin, db: DbSession) -> Any:
    """A new city, district or station (administrators)."""
    row = service.create_jurisdiction(db=db, jurisdiction_in=body, actor=who)
    return JurisdictionRead.model_validate(row, from_attributes=True)
