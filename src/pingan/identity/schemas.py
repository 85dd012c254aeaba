"""API schemas of the digital ID desk (pydantic v2)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pingan.core.privacy import IdNumber, PersonName

CredentialStatus = Literal["valid", "revoked", "suspended"]


class CredentialIssue(BaseModel):
    """What a clerk enters at the window (or self-service submits) to issue a credential."""

    model_config = ConfigDict(extra="forbid")

    name: PersonName
    id_number: IdNumber
    birth_date: date
    address_district: str = Field(min_length=1, max_length=100)
    photo_hash: str = Field(default="", max_length=200)
    holder_jwk: dict[str, Any]
    jurisdiction: str | None = Field(default=None, max_length=64)
    """Jurisdiction code of the issuing office (default: the clerk's first assignment)."""


class CredentialRead(BaseModel):
    """An issued credential as the bureau lists it (masked: no plain personal data exists)."""

    id: int
    id_number_masked: str
    name_masked: str
    holder_thumbprint: str
    vct: str
    kid: str
    issued_at: datetime
    expires_at: datetime
    status: str
    status_reason: str
    status_changed_at: datetime | None
    status_list_id: int
    status_idx: int
    jurisdiction_id: int | None
    issued_by: str


class CredentialIssued(BaseModel):
    """The issued SD-JWT VC, handed to the holder's wallet once (the platform keeps no copy)."""

    credential: CredentialRead
    sd_jwt: str
    media_type: str = "application/dc+sd-jwt"


class StatusChange(BaseModel):
    """Why a credential is revoked, suspended or reinstated."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class IssuerKeyRead(BaseModel):
    """An issuer key (public part only)."""

    kid: str
    status: str
    created_at: datetime
    retired_at: datetime | None
    publish_until: datetime | None
    public_jwk: dict[str, str]


class RelyingPartyCreate(BaseModel):
    """An enterprise registered as a relying party."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9_\-]+$")
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)
    category: str = Field(min_length=1, max_length=32)
    scenarios: list[str] = Field(min_length=1)
    jurisdiction: str | None = Field(default=None, max_length=64)


class RelyingPartyRead(BaseModel):
    """A relying party."""

    id: int
    code: str
    name_zh: str
    name_en: str
    category: str
    scenarios: list[str]
    jurisdiction_id: int | None
    active: bool


class RequestCreate(BaseModel):
    """A relying party asks for a presentation for one of its scenarios."""

    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(min_length=1, max_length=64)


class RequestCreated(BaseModel):
    """The reference the QR code carries, and the QR code itself."""

    ref: str
    scenario: str
    expires_at: datetime
    url: str
    """The https address of the request (what the wallet fetches)."""
    qr_payload: str
    """``pingan-id://request?ref=...&host=...``: what the QR code encodes."""
    qr_svg: str


class RequestPublic(BaseModel):
    """What the wallet is shown: who asks, for what, which claims, and the nonce/audience."""

    ref: str
    relying_party: dict[str, str]
    scenario: dict[str, Any]
    claims: list[str]
    nonce: str
    aud: str
    expires_at: datetime
    used: bool


class PresentationSubmit(BaseModel):
    """The wallet's presentation (SD-JWT+KB, compact or JSON serialization)."""

    model_config = ConfigDict(extra="forbid")

    presentation: str = Field(min_length=1, max_length=65536)


class VerdictRead(BaseModel):
    """Accept or reject, the reason and its message in zh-CN and en."""

    ref: str
    accepted: bool
    reason: str
    part: str
    message: dict[str, str]


class RequestResult(BaseModel):
    """The relying party's view of its request: pending, or the verdict and disclosed claims."""

    ref: str
    scenario: str
    status: Literal["pending", "accepted", "rejected", "expired"]
    reason: str | None
    message: dict[str, str] | None
    claims: dict[str, Any] | None
    """The disclosed claims: handed over once, then erased from the platform."""


class UsageDay(BaseModel):
    """Usage of one scenario on one day (China time)."""

    scenario: str
    scenario_name: dict[str, str]
    day: date
    uses: int
    accepted: int
    rejected: dict[str, int]
    distinct_people: int
    distinct_enterprises: int


class UsageReport(BaseModel):
    """Usage figures over a period: per scenario and day, and the totals."""

    since: datetime
    until: datetime
    uses: int
    accepted: int
    distinct_people: int
    distinct_enterprises: int
    days: list[UsageDay]
