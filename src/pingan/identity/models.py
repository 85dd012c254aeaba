"""Tables of the digital ID desk: issuer keys, credentials, status lists, relying parties,
presentation requests and the verification log.

What is stored, and what is not:

- **Issuer keys**: the ``kid``, the public JWK and the status (``active`` | ``retired``). The
  private key is *not* in the database: it is a file ``<data_dir>/identity/keys/<kid>.jwe``
  (encrypted with ``PINGAN_IDENTITY__KEY_PASSPHRASE``) or ``<kid>.jwk`` (plain, without one),
  written with mode 0600 (see :mod:`pingan.identity.keystore`).
- **Credentials**: never the resident's name or ID number in clear. The row holds the holder
  key's RFC 7638 thumbprint, ``subject_ref`` (an HMAC-SHA256 of the normalised ID number under
  the desk's secret pepper, so the bureau can find a resident's credentials from the ID
  number without storing it), the *masked* ID number and name for the clerk's list
  (``110105********002X``, ``王**``), the type, validity, status list slot and status.
- **Verifications**: the scenario, the relying party, accept/reject with the reason, the
  *names* of the disclosed claims (never their values) and two keyed pseudonyms: one per
  relying party (``holder_pseudonym``) and one platform-wide (``person_pseudonym``) that lets
  the usage figures count distinct people without knowing who they are.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pingan.core.db import Base, UTCDateTime


class IssuerKey(Base):
    """A bureau signing key (ES256): public part here, private part in a 0600 key file."""

    __tablename__ = "identity_issuer_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | retired
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    publish_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """A retired key stays in the JWKS until the last credential it signed has expired."""


class StatusList(Base):
    """An IETF Token Status List (2 bits per credential) with its cached signed token."""

    __tablename__ = "identity_status_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uri: Mapped[str] = mapped_column(String(300), unique=True)
    bits: Mapped[int] = mapped_column(Integer, default=2)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    """The raw list (``size * bits / 8`` bytes), index 0 in the low bits of byte 0."""
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    """How many slots were handed out; slot ``n`` is index ``n * STRIDE mod size``."""
    token: Mapped[str | None] = mapped_column(Text, default=None)
    token_iat: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    token_exp: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Credential(Base):
    """One issued resident credential (no plain personal data; see the module docstring)."""

    __tablename__ = "identity_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_thumbprint: Mapped[str] = mapped_column(String(64), index=True)
    subject_ref: Mapped[str] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str] = mapped_column(String(32))
    name_masked: Mapped[str] = mapped_column(String(100))
    vct: Mapped[str] = mapped_column(String(100))
    kid: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_list_id: Mapped[int] = mapped_column(ForeignKey("identity_status_lists.id"))
    status_idx: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # valid | revoked | suspended
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    issued_by: Mapped[str] = mapped_column(String(64))


class RelyingParty(Base):
    """An enterprise that checks digital IDs (internet café, hotel, ticket gate, hospital ...).

    Its partner API keys carry ``ApiKey.partner == code``; ``scenarios`` lists the scenario
    ids it may request (each scenario declares the claims it needs and nothing more).
    """

    __tablename__ = "identity_relying_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(32))
    scenarios: Mapped[list[str]] = mapped_column(JSON, default=list)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PresentationRequest(Base):
    """A relying party's request for a presentation: the QR code carries only ``ref``.

    ``nonce`` is single use: the response handler marks ``used_at`` with a conditional
    UPDATE, so a replayed or concurrent second response finds it used.
    """

    __tablename__ = "identity_presentation_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    relying_party_id: Mapped[int] = mapped_column(
        ForeignKey("identity_relying_parties.id"), index=True
    )
    scenario_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    audience: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    result: Mapped[str | None] = mapped_column(String(16), default=None)  # accepted | rejected
    reason: Mapped[str | None] = mapped_column(String(64), default=None)
    claims: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
    """The disclosed claims, kept only until the relying party has read the result once."""
    result_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Verification(Base):
    """One checked presentation: what, for whom, the verdict; never the claim values."""

    __tablename__ = "identity_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_ref: Mapped[str] = mapped_column(String(32), index=True)
    scenario_id: Mapped[str] = mapped_column(String(64), index=True)
    relying_party_id: Mapped[int] = mapped_column(
        ForeignKey("identity_relying_parties.id"), index=True
    )
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdictions.id"), default=None, index=True
    )
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(64))
    part: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    holder_pseudonym: Mapped[str | None] = mapped_column(String(64), default=None)
    person_pseudonym: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    disclosed: Mapped[list[str]] = mapped_column(JSON, default=list)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
