"""Tables of self-service issuance (OpenID4VCI pre-authorized code flow): kiosks, identity
checks, credential offers and proof nonces.

What is stored, and what is not:

- **Kiosks**: a registered self-service device (code, name, district); its partner API key
  carries ``ApiKey.partner == "kiosk:<code>"`` and is limited to the kiosk permission.
- **Identity checks**: who checked (a clerk's username, or which kiosk), the kiosk's results
  (chip signature valid, face-match score, liveness), the policy applied, passed or refused
  with the reason, the masked ID number and ``subject_ref``; never the photo, the name or the
  ID number in clear.
- **Offers**: hashes of the pre-authorized code, the transaction code (PIN, keyed with the
  desk's pepper) and the access token, never the codes themselves; the state and attempt
  counter; the resident's data for the credential *sealed* (AES-256-GCM) under a key derived
  from the pre-authorized code and then from the access token, neither of which is stored,
  and erased once the credential is issued. No copy of the credential.
- **Nonces**: the ``c_nonce`` values handed out by the nonce endpoint, single use.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from pingan.core.db import Base, UTCDateTime


class Kiosk(Base):
    """A registered self-service issuance kiosk (自助发证终端) in a district."""

    __tablename__ = "identity_kiosks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))


class IssuanceCheck(Base):
    """One identity check before issuance: at a window (clerk) or at a kiosk (device results)."""

    __tablename__ = "identity_issuance_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)  # window | kiosk
    kiosk_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_kiosks.id"), default=None, index=True
    )
    checked_by: Mapped[str] = mapped_column(String(64))
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    subject_ref: Mapped[str] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str] = mapped_column(String(32))
    chip_signature_valid: Mapped[bool | None] = mapped_column(Boolean, default=None)
    face_score: Mapped[float | None] = mapped_column(Float, default=None)
    liveness_passed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    policy: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    """The policy applied (minimum face score, liveness required) at the time of the check."""
    passed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class CredentialOffer(Base):
    """A credential offer with a single-use pre-authorized code (hashes only, see above)."""

    __tablename__ = "identity_credential_offers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    """Public reference for the clerk's or kiosk's screen to follow the offer."""
    check_id: Mapped[int] = mapped_column(ForeignKey("identity_issuance_checks.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    kiosk_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_kiosks.id"), default=None, index=True
    )
    created_by: Mapped[str] = mapped_column(String(64))
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    id_number_masked: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tx_code_hash: Mapped[str] = mapped_column(String(64))
    tx_failures: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), index=True)
    """``offered`` → ``token_issued`` → ``issued``; or ``burnt`` (too many wrong PINs)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    """The resident's data, AES-256-GCM under a key derived from the code, then the token."""
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_credentials.id"), default=None
    )
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    burnt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class IssuanceNonce(Base):
    """A ``c_nonce`` from the nonce endpoint: single use, short-lived."""

    __tablename__ = "identity_issuance_nonces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
