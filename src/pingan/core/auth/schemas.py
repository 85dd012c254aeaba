"""Pydantic ladders of identity and access: users, logins, API keys, jurisdictions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pingan.core.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

Role = Literal[
    "admin",
    "commander",
    "dispatcher",
    "officer",
    "analyst",
    "dissuasion",
    "clerk",
    "auditor",
    "partner",
    "traffic",
]
"""One of :data:`pingan.core.auth.roles.ALL_ROLES` (kept equal by a unit test)."""

Language = Literal["zh-CN", "en"]
JurisdictionKind = Literal["city", "district", "station"]

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.@-]{3,64}$")
]
Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]
JurisdictionCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
]
PermissionName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------- users


class UserBase(_Model):
    """What every user view shares."""

    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    language: Language = "zh-CN"


class UserCreate(UserBase):
    """A new user: at least one role; jurisdictions by code."""

    username: Username
    password: Password
    roles: list[Role] = Field(min_length=1)
    jurisdictions: list[JurisdictionCode] = Field(default_factory=list)


class UserUpdate(_Model):
    """A change to a user; fields left out stay as they are."""

    display_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None
    ) = None
    language: Language | None = None
    roles: list[Role] | None = Field(default=None, min_length=1)
    jurisdictions: list[JurisdictionCode] | None = None
    active: bool | None = None


class PasswordSet(_Model):
    """A new password for a user."""

    password: Password


class UserBrief(BaseModel):
    """A user as the login answer shows them."""

    id: int
    username: str
    display_name: str
    roles: list[str]
    language: str


class UserRead(UserBrief):
    """A user as the API shows them (never the password hash)."""

    active: bool
    jurisdictions: list[str]
    created_at: datetime


# ---------------------------------------------------------------------------- login


class LoginRequest(_Model):
    """A username and password."""

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class TokenResponse(BaseModel):
    """An access token for the ``Authorization: Bearer`` header."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
    user: UserBrief


class MeRead(BaseModel):
    """Who the caller is, as the platform sees them."""

    username: str
    user_id: int | None
    api_key_id: int | None
    display_name: str
    roles: list[str]
    language: str
    jurisdiction_ids: list[int]
    all_jurisdictions: bool
    permissions: list[str]


# ---------------------------------------------------------------------------- API keys


def _partner_only() -> list[Role]:
    return ["partner"]


class ApiKeyCreate(_Model):
    """A new key for a partner system (bank, relying party, linked department)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    partner: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    roles: list[Role] = Field(default_factory=_partner_only, min_length=1)
    scopes: list[PermissionName] = Field(
        default_factory=list, description="Permissions the key is limited to; empty = its roles'."
    )
    jurisdiction: JurisdictionCode | None = None


class ApiKeyRead(BaseModel):
    """A key as listed (never its secret)."""

    id: int
    prefix: str
    name: str
    partner: str
    roles: list[str]
    scopes: list[str]
    jurisdiction_id: int | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    """A key just created: ``key`` is shown this once and never stored."""

    key: str = Field(description="Send as `X-API-Key`; shown once, store it safely.")


# ---------------------------------------------------------------------------- jurisdictions


class JurisdictionCreate(_Model):
    """A new city, district (分局) or station (派出所); parent by code."""

    code: JurisdictionCode
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    name_en: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    kind: JurisdictionKind
    parent: JurisdictionCode | None = None
    city_id: int | None = None


class JurisdictionRead(BaseModel):
    """A jurisdiction as the API shows it."""

    id: int
    code: str
    name: str
    name_en: str
    kind: str
    parent_id: int | None
    path: str
    city_id: int | None


class JurisdictionNode(JurisdictionRead):
    """A jurisdiction with the ones below it."""

    children: list[JurisdictionNode] = Field(default_factory=list)
