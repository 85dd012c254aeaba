"""Self-service issuance: OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow.

1. **Start** — a clerk who has checked the person at the window, or a registered kiosk that
   read the ID card chip and checked the person's face and liveness (the platform applies its
   policy: chip signature valid, face score ≥ ``kiosk_min_face_score``, liveness when
   ``kiosk_liveness_required``; every check is recorded and audited, a failed one issues
   nothing) → a **credential offer** with a single-use pre-authorized code (10 minutes) and a
   transaction code (6-digit PIN) shown apart from the QR code.
2. **Token** — the wallet posts the code and the PIN (``grant_type =
   urn:ietf:params:oauth:grant-type:pre-authorized_code``) and gets an access token (5 minutes).
   A wrong PIN counts; the third burns the offer. Errors are OAuth errors (``invalid_grant``
   ...), not the platform's error body.
3. **Nonce** — ``POST`` the nonce endpoint: a single-use ``c_nonce``.
4. **Credential** — the access token and a key proof (``typ: openid4vci-proof+jwt``, the key in
   ``jwk``, ``aud`` = the credential issuer, ``nonce`` = the ``c_nonce``) → the SD-JWT VC bound
   to the proven key, issued by the same function as at the window.

Only hashes of the codes and the token are stored. The resident's data waits in the offer
sealed (AES-256-GCM) under a key derived from the pre-authorized code — then, once exchanged,
from the access token — so the database alone cannot read it; it is erased at issuance or
when the offer is burnt. The platform keeps no copy of the credential.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from pingan.core import audit, clock
from pingan.core.auth.models import ApiKey, Jurisdiction
from pingan.core.auth.permissions import Principal, actor_name
from pingan.core.auth.schemas import ApiKeyCreate
from pingan.core.auth.service import create_api_key
from pingan.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from pingan.core.module import Context
from pingan.core.outbox import record
from pingan.core.privacy import mask_id_number
from pingan.identity import sdjwt, service
from pingan.identity.credential import VCT
from pingan.identity.events import IdentityChecked, KioskRegistered
from pingan.identity.schemas import CredentialIssue
from pingan.identity.selfservice_models import (
    CredentialOffer,
    IssuanceCheck,
    IssuanceNonce,
    Kiosk,
)
from pingan.identity.selfservice_schemas import (
    KioskCreate,
    KioskOfferCreate,
    ResidentData,
    WindowOfferCreate,
)
from pingan.identity.settings import identity_settings

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYP = "openid4vci-proof+jwt"
CONFIGURATION_ID = "pingan_resident_id_sd_jwt"
"""The one credential configuration offered: the resident credential as an SD-JWT VC."""
OFFER_SCHEME = "openid-credential-offer://"
TX_CODE_LENGTH = 6
TX_CODE_DESCRIPTION = "窗口或自助机显示的取证码 / PIN shown at the service window or kiosk"
MAX_TX_FAILURES = 3
TOKEN_LIFE = timedelta(minutes=5)
NONCE_LIFE = timedelta(minutes=5)
PROOF_MAX_AGE = timedelta(minutes=5)
PROOF_LEEWAY = timedelta(seconds=60)
KIOSK_PARTNER_PREFIX = "kiosk:"
KIOSK_PERMISSION = "identity.kiosk"
OID4VCI_PATH = "/api/identity/oid4vci"


def endpoint(name: str) -> str:
    """An OpenID4VCI endpoint's public URL (``token``, ``nonce``, ``credential``)."""
    return f"{service.platform_url()}{OID4VCI_PATH}/{name}"


# ---------------------------------------------------------------------------- metadata


def credential_issuer_metadata() -> dict[str, Any]:
    """Credential Issuer Metadata (OpenID4VCI 1.0 section 12.2); the issuer is its own
    authorization server (no ``authorization_servers``)."""
    names = [
        {"name": "平安数字身份", "locale": "zh-CN"},
        {"name": "Pingan digital ID", "locale": "en"},
    ]
    from pingan.identity.scenarios import CREDENTIAL_CLAIMS

    return {
        "credential_issuer": service.issuer(),
        "credential_endpoint": endpoint("credential"),
        "nonce_endpoint": endpoint("nonce"),
        "display": names,
        "credential_configurations_supported": {
            CONFIGURATION_ID: {
                "format": "dc+sd-jwt",
                "vct": VCT,
                "scope": CONFIGURATION_ID,
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": ["ES256"],
                "proof_types_supported": {
                    "jwt": {"proof_signing_alg_values_supported": ["ES256", "ES384"]}
                },
                "credential_metadata": {
                    "display": [
                        {"name": "居民身份凭证", "locale": "zh-CN"},
                        {"name": "Resident ID credential", "locale": "en"},
                    ],
                    "claims": [{"path": [name]} for name in CREDENTIAL_CLAIMS],
                },
            }
        },
    }


def authorization_server_metadata() -> dict[str, Any]:
    """OAuth 2.0 Authorization Server Metadata (RFC 8414) for the pre-authorized code grant."""
    return {
        "issuer": service.issuer(),
        "token_endpoint": endpoint("token"),
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": True,
    }


# ---------------------------------------------------------------------------- hashing, sealing


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _tx_hash(data_dir: Path, ref: str, tx_code: str) -> str:
    # Keyed: a 6-digit PIN hashed without a secret would fall to 10^6 guesses.
    return hmac.new(
        service.pepper(data_dir), f"tx:{ref}:{tx_code}".encode(), hashlib.sha256
    ).hexdigest()


def _seal_key(data_dir: Path, kind: str, secret: str) -> bytes:
    return hmac.new(
        service.pepper(data_dir), f"seal:{kind}:{secret}".encode(), hashlib.sha256
    ).digest()


def _seal(key: bytes, ref: str, data: dict[str, Any]) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(key).encrypt(nonce, json.dumps(data).encode(), ref.encode())


def _unseal(key: bytes, ref: str, sealed: bytes) -> dict[str, Any]:
    opened: dict[str, Any] = json.loads(AESGCM(key).decrypt(sealed[:12], sealed[12:], ref.encode()))
    return opened


# ---------------------------------------------------------------------------- kiosks


def register_kiosk(*, db: Session, kiosk_in: KioskCreate, actor: Principal) -> tuple[Kiosk, str]:
    """Register a kiosk in a district and make its API key (partner ``kiosk:<code>``, limited
    to the kiosk permission); the key's plain text is returned once."""
    place = db.scalars(select(Jurisdiction).where(Jurisdiction.code == kiosk_in.district)).first()
    if place is None:
        raise ValidationFailed(
            "identity.error.unknown_jurisdiction", field="district", code=kiosk_in.district
        )
    if db.scalars(select(Kiosk).where(Kiosk.code == kiosk_in.code)).first() is not None:
        raise Conflict("identity.error.kiosk_exists", field="code", code=kiosk_in.code)
    row = Kiosk(
        code=kiosk_in.code,
        name=kiosk_in.name,
        jurisdiction_id=place.id,
        active=True,
        created_at=clock.now(),
        created_by=actor_name(actor),
    )
    db.add(row)
    db.flush()
    _key, plain = create_api_key(
        db=db,
        key_in=ApiKeyCreate(
            name=f"kiosk {row.code}",
            partner=KIOSK_PARTNER_PREFIX + row.code,
            roles=["partner"],
            scopes=[KIOSK_PERMISSION],
            jurisdiction=place.code,
        ),
        actor=actor,
    )
    audit.record(
        db,
        actor=actor,
        action="identity.kiosk.register",
        entity="identity_kiosk",
        entity_id=row.id,
        detail={"code": row.code, "district": place.code},
    )
    record(db, KioskRegistered(id=row.id, code=row.code, jurisdiction_id=place.id))
    return row, plain


def list_kiosks(*, db: Session, principal: Principal) -> list[Kiosk]:
    """Kiosks within the caller's jurisdictions."""
    stmt = service._scope(select(Kiosk), Kiosk.jurisdiction_id, principal)
    return list(db.scalars(stmt.order_by(Kiosk.code)))


def kiosk_for(*, db: Session, principal: Principal, code: str) -> Kiosk:
    """The kiosk the calling API key is bound to, which must be ``code``.

    A key bound to no kiosk gets 404 (as for relying parties); a kiosk's key naming another
    kiosk gets 403.
    """
    key = db.get(ApiKey, principal.api_key_id) if principal.api_key_id is not None else None
    kiosk = None
    if key is not None and key.revoked_at is None and key.partner.startswith(KIOSK_PARTNER_PREFIX):
        own = key.partner[len(KIOSK_PARTNER_PREFIX) :]
        kiosk = db.scalars(select(Kiosk).where(Kiosk.code == own)).first()
    if kiosk is None or not kiosk.active:
        raise NotFound("identity.error.not_a_kiosk", field="code", code=code)
    if kiosk.code != code:
        raise PermissionDenied("identity.error.other_kiosk", field="code", code=code)
    return kiosk


# ---------------------------------------------------------------------------- checks and offers


@dataclass(frozen=True)
class NewOffer:
    """An offer just made: the row and what is shown once (the code is in the offer)."""

    row: CredentialOffer
    credential_offer: dict[str, Any]
    offer_uri: str
    tx_code: str


def kiosk_policy() -> dict[str, object]:
    """The kiosk check policy in force (recorded with every check)."""
    s = identity_settings()
    return {
        "min_face_score": s.kiosk_min_face_score,
        "liveness_required": s.kiosk_liveness_required,
    }


def kiosk_refusal(body: KioskOfferCreate) -> tuple[str, str] | None:
    """``(reason, field)`` when the kiosk's results fail the policy, else None."""
    policy = identity_settings()
    if not body.chip_signature_valid:
        return "chip_signature_invalid", "chip_signature_valid"
    if policy.kiosk_liveness_required and not body.liveness_passed:
        return "liveness_failed", "liveness_passed"
    if body.face_score < policy.kiosk_min_face_score:
        return "face_score_low", "face_score"
    return None


def _check_birth_date(resident: ResidentData) -> None:
    if resident.birth_date.strftime("%Y%m%d") != resident.id_number[6:14]:
        raise ValidationFailed("identity.error.birth_date_mismatch", field="birth_date")


def _record_check(
    db: Session,
    data_dir: Path,
    *,
    actor: Principal,
    resident: ResidentData,
    channel: str,
    kiosk: Kiosk | None,
    jurisdiction_id: int | None,
    passed: bool,
    reason: str,
    results: KioskOfferCreate | None = None,
) -> IssuanceCheck:
    row = IssuanceCheck(
        channel=channel,
        kiosk_id=kiosk.id if kiosk else None,
        checked_by=actor_name(actor),
        jurisdiction_id=jurisdiction_id,
        subject_ref=service.subject_ref(data_dir, resident.id_number),
        id_number_masked=mask_id_number(resident.id_number),
        chip_signature_valid=results.chip_signature_valid if results else None,
        face_score=results.face_score if results else None,
        liveness_passed=results.liveness_passed if results else None,
        policy=kiosk_policy() if results else {},
        passed=passed,
        reason=reason,
        at=clock.now(),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="identity.issuance.check",
        entity="identity_issuance_check",
        entity_id=row.id,
        reason=reason,
        detail={
            "channel": channel,
            "kiosk": kiosk.code if kiosk else None,
            "id_number": row.id_number_masked,
            "passed": passed,
            "chip_signature_valid": row.chip_signature_valid,
            "face_score": row.face_score,
            "liveness_passed": row.liveness_passed,
            "policy": row.policy,
        },
    )
    record(
        db,
        IdentityChecked(
            check_id=row.id,
            channel=channel,
            kiosk_id=row.kiosk_id,
            passed=passed,
            reason=reason,
            jurisdiction_id=jurisdiction_id,
        ),
    )
    return row


def _make_offer(
    db: Session,
    data_dir: Path,
    *,
    resident: ResidentData,
    check: IssuanceCheck,
    created_by: str,
    jurisdiction_code: str | None,
) -> NewOffer:
    now = clock.now()
    ref = secrets.token_urlsafe(12)
    code = secrets.token_urlsafe(32)
    tx_code = f"{secrets.randbelow(10**TX_CODE_LENGTH):0{TX_CODE_LENGTH}d}"
    data = {
        # Field by field: the ID number's serializer masks it in dumps.
        "name": str(resident.name),
        "id_number": str(resident.id_number),
        "birth_date": resident.birth_date.isoformat(),
        "address_district": resident.address_district,
        "photo_hash": resident.photo_hash,
        "jurisdiction": jurisdiction_code,
    }
    row = CredentialOffer(
        ref=ref,
        check_id=check.id,
        channel=check.channel,
        kiosk_id=check.kiosk_id,
        created_by=created_by,
        jurisdiction_id=check.jurisdiction_id,
        id_number_masked=check.id_number_masked,
        code_hash=_sha256(code),
        tx_code_hash=_tx_hash(data_dir, ref, tx_code),
        tx_failures=0,
        state="offered",
        created_at=now,
        expires_at=now + timedelta(minutes=identity_settings().offer_minutes),
        sealed=_seal(_seal_key(data_dir, "code", code), ref, data),
    )
    db.add(row)
    db.flush()
    offer = {
        "credential_issuer": service.issuer(),
        "credential_configuration_ids": [CONFIGURATION_ID],
        "grants": {
            PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": code,
                "tx_code": {
                    "input_mode": "numeric",
                    "length": TX_CODE_LENGTH,
                    "description": TX_CODE_DESCRIPTION,
                },
            }
        },
    }
    compact = json.dumps(offer, separators=(",", ":"), ensure_ascii=False)
    uri = f"{OFFER_SCHEME}?credential_offer={quote(compact, safe='')}"
    audit.record(
        db,
        actor=created_by,
        action="identity.offer.create",
        entity="identity_credential_offer",
        entity_id=row.id,
        detail={"ref": ref, "check": check.id, "id_number": row.id_number_masked},
    )
    return NewOffer(row=row, credential_offer=offer, offer_uri=uri, tx_code=tx_code)


def window_offer(
    *, db: Session, data_dir: Path, body: WindowOfferCreate, actor: Principal
) -> NewOffer:
    """A clerk who checked the person at the window makes a credential offer."""
    _check_birth_date(body)
    jurisdiction_id = service._issuing_jurisdiction(db, actor, body.jurisdiction)
    place = db.get(Jurisdiction, jurisdiction_id) if jurisdiction_id is not None else None
    check = _record_check(
        db,
        data_dir,
        actor=actor,
        resident=body,
        channel="window",
        kiosk=None,
        jurisdiction_id=jurisdiction_id,
        passed=True,
        reason="clerk_checked",
    )
    return _make_offer(
        db,
        data_dir,
        resident=body,
        check=check,
        created_by=actor_name(actor),
        jurisdiction_code=place.code if place else None,
    )


@dataclass(frozen=True)
class KioskOutcome:
    """A kiosk's check: refused with the reason and field, or an offer."""

    check: IssuanceCheck
    offer: NewOffer | None
    field: str | None = None


def kiosk_offer(
    *, db: Session, data_dir: Path, kiosk: Kiosk, body: KioskOfferCreate, actor: Principal
) -> KioskOutcome:
    """Apply the policy to a kiosk's check; record it; an offer when it passes."""
    _check_birth_date(body)
    refusal = kiosk_refusal(body)
    check = _record_check(
        db,
        data_dir,
        actor=actor,
        resident=body,
        channel="kiosk",
        kiosk=kiosk,
        jurisdiction_id=kiosk.jurisdiction_id,
        passed=refusal is None,
        reason=refusal[0] if refusal else "checks_passed",
        results=body,
    )
    if refusal is not None:
        return KioskOutcome(check=check, offer=None, field=refusal[1])
    place = db.get(Jurisdiction, kiosk.jurisdiction_id)
    offer = _make_offer(
        db,
        data_dir,
        resident=body,
        check=check,
        created_by=KIOSK_PARTNER_PREFIX + kiosk.code,
        jurisdiction_code=place.code if place else None,
    )
    return KioskOutcome(check=check, offer=offer)


def offer_state(row: CredentialOffer, now: datetime | None = None) -> str:
    """The state shown: ``expired`` once the code (or token) can no longer be used."""
    now = now or clock.now()
    if row.state == "offered" and now > row.expires_at:
        return "expired"
    if row.state == "token_issued" and row.token_expires_at and now > row.token_expires_at:
        return "expired"
    return row.state


def get_offer(
    *, db: Session, ref: str, principal: Principal, kiosk: Kiosk | None = None
) -> CredentialOffer:
    """An offer by reference: a kiosk sees its own, staff those of their jurisdictions."""
    row = db.scalars(select(CredentialOffer).where(CredentialOffer.ref == ref)).first()
    if kiosk is not None:
        visible = row is not None and row.kiosk_id == kiosk.id
    else:
        visible = row is not None and principal.sees(row.jurisdiction_id)
    if row is None or not visible:
        raise NotFound("identity.error.offer_not_found", field="ref", ref=ref)
    return row


# ---------------------------------------------------------------------------- OAuth answers


@dataclass(frozen=True)
class OAuthAnswer:
    """An OAuth/OpenID4VCI answer: status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @classmethod
    def error(cls, status: int, code: str, description: str) -> OAuthAnswer:
        """An error answer ``{"error", "error_description"}``."""
        headers = {"Cache-Control": "no-store"}
        if status == 401:
            headers["WWW-Authenticate"] = (
                f'Bearer error="{code}", error_description="{description}"'
            )
        return cls(status, {"error": code, "error_description": description}, headers)

    @classmethod
    def ok(cls, body: dict[str, Any]) -> OAuthAnswer:
        """A successful answer (never cached)."""
        return cls(200, body, {"Cache-Control": "no-store"})


def token(*, db: Session, data_dir: Path, form: dict[str, str]) -> OAuthAnswer:
    """The token endpoint: pre-authorized code + transaction code → access token."""
    grant = form.get("grant_type")
    if not grant:
        return OAuthAnswer.error(400, "invalid_request", "grant_type is missing")
    if grant != PRE_AUTHORIZED_GRANT:
        return OAuthAnswer.error(400, "unsupported_grant_type", "only the pre-authorized code")
    code = form.get("pre-authorized_code")
    if not code:
        return OAuthAnswer.error(400, "invalid_request", "pre-authorized_code is missing")
    row = db.scalars(
        select(CredentialOffer).where(CredentialOffer.code_hash == _sha256(code))
    ).first()
    now = clock.now()
    if row is None:
        return OAuthAnswer.error(400, "invalid_grant", "unknown pre-authorized code")
    if row.state == "burnt":
        return OAuthAnswer.error(400, "invalid_grant", "the offer was withdrawn (wrong PINs)")
    if row.state != "offered":
        return OAuthAnswer.error(400, "invalid_grant", "the pre-authorized code was used")
    if now > row.expires_at:
        return OAuthAnswer.error(400, "invalid_grant", "the pre-authorized code has expired")
    tx_code = form.get("tx_code")
    if not tx_code:
        return OAuthAnswer.error(400, "invalid_request", "tx_code is missing")
    # Count the attempt *before* comparing, under the row lock this UPDATE takes: parallel
    # guesses queue behind it and see the new count, so at most MAX_TX_FAILURES PINs are
    # ever compared for one offer.
    counted = db.execute(
        update(CredentialOffer)
        .where(
            CredentialOffer.id == row.id,
            CredentialOffer.state == "offered",
            CredentialOffer.tx_failures < MAX_TX_FAILURES,
        )
        .values(tx_failures=CredentialOffer.tx_failures + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(counted, "rowcount", 0) != 1:
        db.refresh(row)
        if row.state == "offered":  # the count ran out in a parallel request
            return _burn(db, row, now)
        return OAuthAnswer.error(400, "invalid_grant", "the pre-authorized code was used")
    if not hmac.compare_digest(_tx_hash(data_dir, row.ref, tx_code), row.tx_code_hash):
        return _wrong_tx_code(db, row, now)
    access_token = secrets.token_urlsafe(32)
    claimed = db.execute(
        update(CredentialOffer)
        .where(CredentialOffer.id == row.id, CredentialOffer.state == "offered")
        .values(
            state="token_issued",
            token_hash=_sha256(access_token),
            token_expires_at=now + TOKEN_LIFE,
            tx_failures=CredentialOffer.tx_failures - 1,  # the right PIN is no failure
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:  # another request took it first
        return OAuthAnswer.error(400, "invalid_grant", "the pre-authorized code was used")
    db.refresh(row)
    if row.sealed is not None:  # re-seal under the token: the code is spent
        data = _unseal(_seal_key(data_dir, "code", code), row.ref, row.sealed)
        row.sealed = _seal(_seal_key(data_dir, "token", access_token), row.ref, data)
    return OAuthAnswer.ok(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(TOKEN_LIFE.total_seconds()),
            # No authorization_details: none were requested, so the wallet names the
            # configuration (credential_configuration_id) in the credential request.
        }
    )


def _wrong_tx_code(db: Session, row: CredentialOffer, now: datetime) -> OAuthAnswer:
    """A wrong PIN (already counted); the last allowed one burns the offer."""
    db.refresh(row)
    left = MAX_TX_FAILURES - row.tx_failures
    if left <= 0:
        return _burn(db, row, now)
    return OAuthAnswer.error(400, "invalid_grant", f"wrong tx_code; {left} attempt(s) left")


def _burn(db: Session, row: CredentialOffer, now: datetime) -> OAuthAnswer:
    """Withdraw the offer after too many wrong PINs: its sealed data is erased."""
    row.state, row.burnt_at, row.sealed = "burnt", now, None
    audit.record(
        db,
        actor="oid4vci",
        action="identity.offer.burn",
        entity="identity_credential_offer",
        entity_id=row.id,
        reason="tx_code",
        detail={"ref": row.ref, "failures": row.tx_failures},
    )
    return OAuthAnswer.error(400, "invalid_grant", "wrong tx_code; the offer is withdrawn")


def new_nonce(*, db: Session) -> OAuthAnswer:
    """The nonce endpoint: a fresh single-use ``c_nonce``."""
    now = clock.now()
    value = secrets.token_urlsafe(24)
    db.add(IssuanceNonce(nonce=value, created_at=now, expires_at=now + NONCE_LIFE))
    db.flush()
    return OAuthAnswer.ok({"c_nonce": value})


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


class _ProofError(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _check_proof(db: Session, proof: Any, now: datetime) -> dict[str, str]:
    """The holder's public JWK from a valid ``openid4vci-proof+jwt`` (its nonce is spent)."""
    try:
        jws = sdjwt.parse_jws(proof if isinstance(proof, str) else "", "proof")
    except sdjwt.SdJwtError as exc:
        raise _ProofError("invalid_proof", f"malformed proof: {exc.detail}") from None
    header, payload = jws.header, jws.payload
    if header.get("typ") != PROOF_TYP:
        raise _ProofError("invalid_proof", f"typ must be {PROOF_TYP}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or "kid" in header or "x5c" in header:
        raise _ProofError("invalid_proof", "the key must be given as jwk (no kid, no x5c)")
    if "d" in jwk:
        raise _ProofError("invalid_proof", "jwk must be a public key")
    try:
        key = sdjwt.load_jwk(jwk, "proof.header.jwk")
        sdjwt.jws_verify(jws, key, "proof")
    except sdjwt.SdJwtError as exc:
        raise _ProofError("invalid_proof", f"{exc.reason}: {exc.detail}") from None
    if payload.get("aud") != service.issuer():
        raise _ProofError("invalid_proof", "aud must be the credential issuer")
    iat = payload.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise _ProofError("invalid_proof", "iat is missing")
    ts = now.timestamp()
    if iat > ts + PROOF_LEEWAY.total_seconds() or iat < ts - PROOF_MAX_AGE.total_seconds():
        raise _ProofError("invalid_proof", "iat is too old or in the future")
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise _ProofError("invalid_proof", "the proof carries no c_nonce")
    claimed = db.execute(
        update(IssuanceNonce)
        .where(
            IssuanceNonce.nonce == nonce,
            IssuanceNonce.used_at.is_(None),
            IssuanceNonce.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise _ProofError("invalid_nonce", "unknown, used or expired c_nonce")
    return {k: str(jwk[k]) for k in ("kty", "crv", "x", "y")}


def credential(*, db: Session, data_dir: Path, authorization: str | None, body: Any) -> OAuthAnswer:
    """The credential endpoint: access token + key proof → the SD-JWT VC bound to the key."""
    access_token = _bearer(authorization)
    if access_token is None:
        return OAuthAnswer.error(401, "invalid_token", "a Bearer access token is required")
    now = clock.now()
    row = db.scalars(
        select(CredentialOffer).where(CredentialOffer.token_hash == _sha256(access_token))
    ).first()
    if row is None or row.state != "token_issued":
        return OAuthAnswer.error(401, "invalid_token", "unknown or used access token")
    if row.token_expires_at is None or now > row.token_expires_at:
        return OAuthAnswer.error(401, "invalid_token", "the access token has expired")
    if not isinstance(body, dict):
        return OAuthAnswer.error(400, "invalid_credential_request", "a JSON object is expected")
    if body.get("credential_configuration_id") != CONFIGURATION_ID:
        return OAuthAnswer.error(
            400, "unknown_credential_configuration", f"expected {CONFIGURATION_ID}"
        )
    proofs = body.get("proofs")
    jwts = proofs.get("jwt") if isinstance(proofs, dict) and set(proofs) == {"jwt"} else None
    if not isinstance(jwts, list) or len(jwts) != 1:
        return OAuthAnswer.error(400, "invalid_proof", "proofs must hold exactly one jwt proof")
    try:
        holder_jwk = _check_proof(db, jwts[0], now)
    except _ProofError as exc:
        return OAuthAnswer.error(400, exc.code, exc.description)
    claimed = db.execute(
        update(CredentialOffer)
        .where(CredentialOffer.id == row.id, CredentialOffer.state == "token_issued")
        .values(state="issued", issued_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return OAuthAnswer.error(401, "invalid_token", "unknown or used access token")
    db.refresh(row)
    if row.sealed is None:
        return OAuthAnswer.error(400, "credential_request_denied", "the offer holds no data")
    try:
        data = _unseal(_seal_key(data_dir, "token", access_token), row.ref, row.sealed)
    except InvalidTag:
        return OAuthAnswer.error(400, "credential_request_denied", "the offer cannot be opened")
    issue_in = CredentialIssue(
        name=data["name"],
        id_number=data["id_number"],
        birth_date=date.fromisoformat(data["birth_date"]),
        address_district=data["address_district"],
        photo_hash=data["photo_hash"],
        holder_jwk=holder_jwk,
        jurisdiction=data["jurisdiction"],
    )
    issued, sd_jwt = service.issue_credential(
        db=db, data_dir=data_dir, issue_in=issue_in, actor=row.created_by
    )
    row.credential_id, row.sealed = issued.id, None
    return OAuthAnswer.ok({"credentials": [{"credential": sd_jwt}]})


# ---------------------------------------------------------------------------- housekeeping

SWEEP_INTERVAL_S = 60.0
NONCE_KEEP = timedelta(days=1)


def sweep_offers(*, db: Session) -> int:
    """Erase the sealed data of offers whose code or token has expired unused, and drop
    nonces a day past their expiry; how many offers were erased."""
    now = clock.now()
    erased = db.execute(
        update(CredentialOffer)
        .where(
            CredentialOffer.sealed.is_not(None),
            ((CredentialOffer.state == "offered") & (CredentialOffer.expires_at < now))
            | (
                (CredentialOffer.state == "token_issued") & (CredentialOffer.token_expires_at < now)
            ),
        )
        .values(sealed=None)
        .execution_options(synchronize_session=False)
    )
    db.execute(delete(IssuanceNonce).where(IssuanceNonce.expires_at < now - NONCE_KEEP))
    return int(getattr(erased, "rowcount", 0) or 0)


async def run_sweep(ctx: Context) -> int:
    """The desk's periodic job: one sweep in its own session, committed."""

    def sweep() -> int:
        with ctx.db.session() as session:
            return sweep_offers(db=session)

    return await asyncio.to_thread(sweep)
