"""API schemas of self-service issuance (credential offers, kiosks) — pydantic v2."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from pingan.core.privacy import IdNumber, PersonName


class ResidentData(BaseModel):
    """The resident's data the credential will carry (as for issuance at the window)."""

    model_config = ConfigDict(extra="forbid")

    name: PersonName
    id_number: IdNumber
    birth_date: date
    address_district: str = Field(min_length=1, max_length=100)
    photo_hash: str = Field(default="", max_length=200)


class WindowOfferCreate(ResidentData):
    """A clerk has checked the person at the window and starts self-service receipt."""

    jurisdiction: str | None = Field(default=None, max_length=64)
    """Jurisdiction code of the issuing office (default: the clerk's first assignment)."""


class KioskOfferCreate(ResidentData):
    """What a kiosk read from the ID card chip, and its own checks of the person."""

    chip_signature_valid: StrictBool
    """The chip's data signature verified against the card issuer's certificate."""
    face_score: float = Field(ge=0.0, le=1.0)
    """Face match of the camera image against the chip photo (0 to 1)."""
    liveness_passed: StrictBool


class OfferCreated(BaseModel):
    """A credential offer: the QR carries ``offer_uri``; the PIN is shown apart from it."""

    ref: str
    check_id: int
    expires_at: datetime
    credential_offer: dict[str, Any]
    offer_uri: str
    """``openid-credential-offer://?credential_offer=...`` (what the QR code encodes)."""
    qr_svg: str
    tx_code: str
    """The transaction code (PIN) the resident types into the wallet: shown once, not in the QR."""


class OfferRead(BaseModel):
    """An offer's state, for the clerk's or kiosk's screen (no codes)."""

    ref: str
    channel: str
    state: str
    """``offered``, ``token_issued``, ``issued``, ``burnt`` or ``expired``."""
    id_number_masked: str
    created_at: datetime
    expires_at: datetime
    tx_failures: int
    credential_id: int | None
    issued_at: datetime | None


class KioskCreate(BaseModel):
    """A self-service kiosk to register; its API key is made with it."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9_\-]+$")
    name: str = Field(min_length=1, max_length=200)
    district: str = Field(min_length=1, max_length=64)
    """Jurisdiction code of the district the kiosk stands in."""


class KioskRead(BaseModel):
    """A registered kiosk."""

    id: int
    code: str
    name: str
    jurisdiction_id: int
    active: bool
    created_at: datetime
    created_by: str


class KioskRegistered(BaseModel):
    """The kiosk and its API key (shown once: only its hash is kept)."""

    kiosk: KioskRead
    api_key: str
