"""The digital ID desk's service layer: issuing, status, keys, relying parties, verification.

Keyword-only functions over the caller's session; they never commit. Bureau actions
(issue, revoke/suspend/reinstate, key rotation, relying-party registration) are audited and
record their events in the outbox. A presentation's check is logged in
``identity_verifications`` (the verdict, the claim *names*, keyed pseudonyms) and recorded as an
event; it is not copied into the audit chain, which would otherwise grow by one record per ID
check (the report's 106 million uses).

Secrets live in the data directory, not in the database:

- ``<data_dir>/identity/keys/<kid>.pem`` (encrypted PKCS#8, when
  ``PINGAN_IDENTITY__KEY_PASSPHRASE`` is set) or ``<kid>.jwk`` (plain): each issuer private key
  (mode 0600; see :mod:`pingan.identity.keystore`);
- ``<data_dir>/identity/pepper``: 32 random bytes (mode 0600) keying ``subject_ref`` (the
  ID number's HMAC) and the verification pseudonyms.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from pingan.core import audit, clock
from pingan.core.auth.deps import scope_to_jurisdictions
from pingan.core.auth.models import ApiKey, Jurisdiction, UserJurisdiction
from pingan.core.auth.permissions import Principal, actor_name
from pingan.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from pingan.core.i18n import translate
from pingan.core.outbox import record
from pingan.core.privacy import CHINA_TZ, mask_id_number, mask_name, normalise_id_number
from pingan.identity import keystore, sdjwt
from pingan.identity import statuslist as sl
from pingan.identity.credential import (
    VCT,
    NonceStore,
    Verdict,
    issue_resident_credential,
    verify_for_scenario,
)
from pingan.identity.events import (
    CredentialIssued,
    CredentialStatusChanged,
    IssuerKeyRotated,
    PresentationVerified,
    RelyingPartyRegistered,
)
from pingan.identity.models import (
    Credential,
    IssuerKey,
    PresentationRequest,
    RelyingParty,
    StatusList,
    Verification,
)
from pingan.identity.scenarios import CATEGORIES, Resident, Scenario, ScenarioError, get_scenario
from pingan.identity.schemas import CredentialIssue, RelyingPartyCreate, UsageDay, UsageReport
from pingan.identity.settings import identity_settings

Actor = Principal | str

ISSUER_PATH = "/identity"
"""The issuer's path under the platform's public URL (``PINGAN_IDENTITY__PUBLIC_URL``)."""


def platform_url() -> str:
    """The platform's public base URL: the base of ``iss``, status list URIs, request links."""
    return identity_settings().public_url


def issuer() -> str:
    """The issuer identifier (``iss``) of the credentials this platform issues."""
    return f"{platform_url()}{ISSUER_PATH}"


STATUS_LIST_SIZE = 1 << 16
"""Entries per status list (2 bits each: 16 KiB raw, a few hundred bytes compressed)."""
STATUS_STRIDE = 40_503
"""Odd, so ``n * STRIDE mod size`` visits every slot once: indexes are not in issue order."""
STATUS_TOKEN_TTL_S = 300
STATUS_TOKEN_LIFE = timedelta(days=1)
CREDENTIAL_LIFE = timedelta(days=365)
REQUEST_LIFE = timedelta(minutes=5)
"""A presentation request (and its nonce) lives this long: the QR code is the capability."""
KEY_LEEWAY = timedelta(days=1)

STATUS_VALUES = {"valid": sl.VALID, "revoked": sl.INVALID, "suspended": sl.SUSPENDED}
TRANSITIONS: dict[str, tuple[set[str], str]] = {
    "revoke": ({"valid", "suspended"}, "revoked"),
    "suspend": ({"valid"}, "suspended"),
    "reinstate": ({"suspended"}, "valid"),
}


# ---------------------------------------------------------------------------- secrets


def _identity_dir(data_dir: Path) -> Path:
    path = Path(data_dir) / "identity"
    (path / "keys").mkdir(parents=True, exist_ok=True)
    return path


_write_secret = keystore.write_secret


def pepper(data_dir: Path) -> bytes:
    """The desk's secret pepper (created on first use, mode 0600)."""
    path = _identity_dir(data_dir) / "pepper"
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first
            _write_secret(path, secrets.token_bytes(32))
    return path.read_bytes()


def _keyed(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def subject_ref(data_dir: Path, id_number: str) -> str:
    """The keyed hash naming a resident by ID number (the number itself is not stored)."""
    return _keyed(pepper(data_dir), "subject:" + normalise_id_number(id_number))


# ---------------------------------------------------------------------------- issuer keys


def _new_key(db: Session, data_dir: Path, now: datetime) -> IssuerKey:
    key = sdjwt.generate_key()
    kid = f"bureau-{now:%Y%m%d}-{secrets.token_hex(3)}"
    keystore.write_key(data_dir, kid, key)
    row = IssuerKey(kid=kid, public_jwk=sdjwt.public_jwk(key), status="active", created_at=now)
    db.add(row)
    db.flush()
    return row


def _private_key(data_dir: Path, kid: str) -> sdjwt.PrivateKey:
    return keystore.load_key(data_dir, kid)


def active_key(*, db: Session, data_dir: Path) -> tuple[IssuerKey, sdjwt.PrivateKey]:
    """The active issuer key (made on first use) and its private key."""
    row = db.scalars(
        select(IssuerKey).where(IssuerKey.status == "active").order_by(IssuerKey.id.desc())
    ).first()
    if row is None:
        row = _new_key(db, data_dir, clock.now())
    return row, _private_key(data_dir, row.kid)


def rotate_key(*, db: Session, data_dir: Path, actor: Actor) -> IssuerKey:
    """Make a new active key; the old one retires but stays published while it can matter."""
    now = clock.now()
    retired: str | None = None
    for old in db.scalars(select(IssuerKey).where(IssuerKey.status == "active")):
        old.status, old.retired_at = "retired", now
        old.publish_until = now + CREDENTIAL_LIFE + KEY_LEEWAY
        retired = old.kid
    row = _new_key(db, data_dir, now)
    audit.record(
        db,
        actor=actor,
        action="identity.key.rotate",
        entity="identity_issuer_key",
        entity_id=row.kid,
        detail={"retired": retired},
    )
    record(db, IssuerKeyRotated(kid=row.kid, retired_kid=retired))
    return row


def published_keys(*, db: Session) -> list[IssuerKey]:
    """Keys in the JWKS: the active one and retired ones not yet past ``publish_until``."""
    now = clock.now()
    rows = db.scalars(select(IssuerKey).order_by(IssuerKey.id)).all()
    return [
        k
        for k in rows
        if k.status == "active" or (k.publish_until is not None and k.publish_until > now)
    ]


def jwks(*, db: Session) -> dict[str, Any]:
    """The published JWKS (public keys only, each with ``kid``, ``use`` and ``alg``)."""
    return {
        "keys": [
            {**k.public_jwk, "kid": k.kid, "use": "sig", "alg": "ES256"}
            for k in published_keys(db=db)
        ]
    }


def issuer_metadata(*, db: Session) -> dict[str, Any]:
    """JWT VC Issuer Metadata (SD-JWT VC draft): ``issuer`` equal to the ``iss`` of the
    credentials, with the published keys inline (``jwks``; the draft forbids also giving
    ``jwks_uri``, which would be ``/api/identity/jwks`` with the same keys)."""
    return {"issuer": issuer(), "jwks": jwks(db=db)}


def _key_resolver(db: Session) -> sdjwt.KeyResolver:
    keys = {k.kid: sdjwt.load_jwk(k.public_jwk) for k in published_keys(db=db)}

    def resolve(header: Mapping[str, Any], _payload: Mapping[str, Any]) -> sdjwt.AnyKey | None:
        kid = header.get("kid")
        return keys.get(kid) if isinstance(kid, str) else None

    return resolve


# ---------------------------------------------------------------------------- status lists


def _allocate_slot(db: Session) -> tuple[StatusList, int]:
    """A free slot of the current status list (a new list when it is full)."""
    lst = db.scalars(
        select(StatusList)
        .where(StatusList.allocated < StatusList.size)
        .order_by(StatusList.id)
        .with_for_update()
    ).first()
    if lst is None:
        empty = sl.StatusList.empty(STATUS_LIST_SIZE, bits=2)
        lst = StatusList(
            uri=f"pending-{secrets.token_hex(8)}",
            bits=2,
            size=STATUS_LIST_SIZE,
            data=bytes(empty.data),
            allocated=0,
        )
        db.add(lst)
        db.flush()
        lst.uri = f"{platform_url()}/api/identity/status-lists/{lst.id}"
    idx = (lst.allocated * STATUS_STRIDE) % lst.size
    lst.allocated += 1
    return lst, idx


def _set_status(lst: StatusList, idx: int, value: int) -> None:
    data = sl.StatusList(lst.bits, bytearray(lst.data))
    data.set(idx, value)
    lst.data = bytes(data.data)
    lst.token = None  # the next read signs a fresh token


def status_list_token(*, db: Session, data_dir: Path, list_id: int) -> str:
    """The signed status list token (``statuslist+jwt``), re-signed when stale or changed."""
    lst = db.get(StatusList, list_id)
    if lst is None:
        raise NotFound("identity.error.status_list_not_found", field="list_id", list_id=list_id)
    now = clock.now()
    fresh = (
        lst.token is not None
        and lst.token_iat is not None
        and now - lst.token_iat < timedelta(seconds=STATUS_TOKEN_TTL_S)
        and lst.token_iat <= now
    )
    if fresh and lst.token is not None:
        return lst.token
    row, key = active_key(db=db, data_dir=data_dir)
    lst.token = sl.issue_status_list_token(
        sl.StatusList(lst.bits, bytearray(lst.data)),
        uri=lst.uri,
        key=key,
        iat=int(now.timestamp()),
        exp=int((now + STATUS_TOKEN_LIFE).timestamp()),
        ttl=STATUS_TOKEN_TTL_S,
        kid=row.kid,
    )
    lst.token_iat, lst.token_exp = now, now + STATUS_TOKEN_LIFE
    return lst.token


# ---------------------------------------------------------------------------- credentials


def _issuing_jurisdiction(db: Session, actor: Actor, code: str | None) -> int | None:
    if code is not None:
        place = db.scalars(select(Jurisdiction).where(Jurisdiction.code == code)).first()
        if place is None:
            raise ValidationFailed(
                "identity.error.unknown_jurisdiction", field="jurisdiction", code=code
            )
        if isinstance(actor, Principal) and not actor.sees(place.id):
            raise PermissionDenied("core.error.out_of_jurisdiction")
        return place.id
    if isinstance(actor, Principal) and actor.user_id is not None:
        first = db.scalars(
            select(UserJurisdiction.jurisdiction_id)
            .where(UserJurisdiction.user_id == actor.user_id)
            .order_by(UserJurisdiction.id)
        ).first()
        return first
    return None


def _scope(
    stmt: Select[Any], column: Any, principal: Principal, *, include_unassigned: bool = False
) -> Select[Any]:
    """``stmt`` limited to the caller's jurisdictions (typed for SQLAlchemy 2.1's Select)."""
    return scope_to_jurisdictions(stmt, column, principal, include_unassigned=include_unassigned)


def issue_credential(
    *, db: Session, data_dir: Path, issue_in: CredentialIssue, actor: Actor
) -> tuple[Credential, str]:
    """Issue a resident credential bound to ``issue_in.holder_jwk``: the row and the SD-JWT VC.

    The birth date must match the ID number's; the holder key must be a public EC JWK. Only
    the masked ID number and name, the keyed ``subject_ref`` and the holder key's thumbprint
    are kept.
    """
    id_birth = issue_in.id_number[6:14]
    if issue_in.birth_date.strftime("%Y%m%d") != id_birth:
        raise ValidationFailed("identity.error.birth_date_mismatch", field="birth_date")
    if "d" in issue_in.holder_jwk:
        raise ValidationFailed("identity.error.holder_key_private", field="holder_jwk")
    try:
        sdjwt.load_jwk(issue_in.holder_jwk, "holder_jwk")
        thumbprint = sdjwt.jwk_thumbprint(issue_in.holder_jwk)
    except sdjwt.SdJwtError as exc:
        raise ValidationFailed(
            "identity.error.holder_key_invalid", field="holder_jwk", detail=exc.detail
        ) from None
    jurisdiction_id = _issuing_jurisdiction(db, actor, issue_in.jurisdiction)
    now = clock.now()
    key_row, key = active_key(db=db, data_dir=data_dir)
    lst, idx = _allocate_slot(db)
    resident = Resident(
        name=issue_in.name,
        id_number=issue_in.id_number,
        birth_date=issue_in.birth_date,
        address_district=issue_in.address_district,
        photo_hash=issue_in.photo_hash,
    )
    try:
        issued = issue_resident_credential(
            resident,
            issuer_key=key,
            issuer=issuer(),
            holder_jwk={k: issue_in.holder_jwk[k] for k in ("kty", "crv", "x", "y")},
            status_idx=idx,
            status_uri=lst.uri,
            now=now,
            valid_for=CREDENTIAL_LIFE,
            kid=key_row.kid,
        )
    except ScenarioError as exc:
        raise ValidationFailed("identity.error.birth_date_mismatch", field=exc.field) from None
    _set_status(lst, idx, sl.VALID)
    row = Credential(
        holder_thumbprint=thumbprint,
        subject_ref=subject_ref(data_dir, issue_in.id_number),
        id_number_masked=mask_id_number(issue_in.id_number),
        name_masked=mask_name(issue_in.name),
        vct=VCT,
        kid=key_row.kid,
        issued_at=now,
        expires_at=datetime.fromtimestamp(issued.payload["exp"], tz=now.tzinfo),
        status_list_id=lst.id,
        status_idx=idx,
        status="valid",
        jurisdiction_id=jurisdiction_id,
        issued_by=actor_name(actor),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="identity.credential.issue",
        entity="identity_credential",
        entity_id=row.id,
        detail={"id_number": row.id_number_masked, "kid": row.kid, "status_list": lst.id},
    )
    record(
        db,
        CredentialIssued(
            credential_id=row.id,
            kid=row.kid,
            status_list_id=lst.id,
            jurisdiction_id=jurisdiction_id,
        ),
    )
    return row, issued.serialized


def get_credential(*, db: Session, principal: Principal, credential_id: int) -> Credential:
    """One credential within the caller's reach (404 otherwise)."""
    row = db.get(Credential, credential_id)
    if row is None or not principal.sees(row.jurisdiction_id):
        raise NotFound(
            "identity.error.credential_not_found", field="credential_id", id=credential_id
        )
    return row


def list_credentials(
    *,
    db: Session,
    principal: Principal,
    data_dir: Path,
    id_number: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[Credential]:
    """Credentials within the caller's reach, newest first; ``id_number`` finds a resident's."""
    stmt = select(Credential)
    if id_number:
        stmt = stmt.where(Credential.subject_ref == subject_ref(data_dir, id_number))
    if status:
        stmt = stmt.where(Credential.status == status)
    stmt = _scope(stmt, Credential.jurisdiction_id, principal)
    return list(db.scalars(stmt.order_by(Credential.id.desc()).limit(limit)))


def change_status(
    *,
    db: Session,
    principal: Principal,
    credential_id: int,
    action: str,
    reason: str,
) -> Credential:
    """Revoke, suspend or reinstate a credential and update its status list slot."""
    allowed, target = TRANSITIONS[action]
    row = get_credential(db=db, principal=principal, credential_id=credential_id)
    if row.status not in allowed:
        raise Conflict(
            "identity.error.status_transition", field="status", status=row.status, action=action
        )
    lst = db.get(StatusList, row.status_list_id)
    assert lst is not None
    before = row.status
    _set_status(lst, row.status_idx, STATUS_VALUES[target])
    row.status, row.status_reason, row.status_changed_at = target, reason, clock.now()
    audit.record(
        db,
        actor=principal,
        action=f"identity.credential.{action}",
        entity="identity_credential",
        entity_id=row.id,
        reason=reason,
        detail={"from": before, "to": target},
    )
    record(
        db,
        CredentialStatusChanged(
            credential_id=row.id, from_status=before, to_status=target, status_list_id=lst.id
        ),
    )
    return row


# ---------------------------------------------------------------------------- relying parties


def register_relying_party(
    *, db: Session, rp_in: RelyingPartyCreate, actor: Actor, demo: bool = False
) -> RelyingParty:
    """Register an enterprise and the scenarios it may use (each must exist)."""
    if rp_in.category not in CATEGORIES:
        raise ValidationFailed(
            "identity.error.unknown_category", field="category", category=rp_in.category
        )
    for i, sid in enumerate(rp_in.scenarios):
        try:
            get_scenario(sid)
        except ScenarioError:
            raise ValidationFailed(
                "identity.error.unknown_scenario", field=f"scenarios.{i}", scenario=sid
            ) from None
    if db.scalars(select(RelyingParty).where(RelyingParty.code == rp_in.code)).first():
        raise Conflict("identity.error.rp_exists", field="code", code=rp_in.code)
    jurisdiction_id = None
    if rp_in.jurisdiction is not None:
        place = db.scalars(select(Jurisdiction).where(Jurisdiction.code == rp_in.jurisdiction))
        found = place.first()
        if found is None:
            raise ValidationFailed(
                "identity.error.unknown_jurisdiction", field="jurisdiction", code=rp_in.jurisdiction
            )
        jurisdiction_id = found.id
    row = RelyingParty(
        code=rp_in.code,
        name_zh=rp_in.name_zh,
        name_en=rp_in.name_en or rp_in.name_zh,
        category=rp_in.category,
        scenarios=sorted(set(rp_in.scenarios)),
        jurisdiction_id=jurisdiction_id,
        active=True,
        demo=demo,
        created_at=clock.now(),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="identity.relying_party.register",
        entity="identity_relying_party",
        entity_id=row.id,
        detail={"code": row.code, "scenarios": row.scenarios},
    )
    record(db, RelyingPartyRegistered(id=row.id, code=row.code, scenarios=row.scenarios))
    return row


def list_relying_parties(*, db: Session, principal: Principal) -> list[RelyingParty]:
    """Relying parties within the caller's reach (platform-wide ones included)."""
    stmt = _scope(
        select(RelyingParty), RelyingParty.jurisdiction_id, principal, include_unassigned=True
    )
    return list(db.scalars(stmt.order_by(RelyingParty.code)))


DEMO_RELYING_PARTIES: tuple[dict[str, Any], ...] = (
    {
        "code": "demo_netcafe",
        "name_zh": "星际网咖（演示）",
        "name_en": "Star Internet Café (demo)",
        "category": "entertainment",
        "scenarios": ["internet_cafe"],
    },
    {
        "code": "demo_hotel",
        "name_zh": "滨江大酒店（演示）",
        "name_en": "Riverside Hotel (demo)",
        "category": "lodging",
        "scenarios": ["hotel_checkin"],
    },
    {
        "code": "demo_railway",
        "name_zh": "市火车站检票口（演示）",
        "name_en": "City Railway Station ticket gate (demo)",
        "category": "transport",
        "scenarios": ["ticket_gate"],
    },
    {
        "code": "demo_hospital",
        "name_zh": "市第一人民医院（演示）",
        "name_en": "First People's Hospital (demo)",
        "category": "healthcare",
        "scenarios": ["hospital_registration"],
    },
)


def seed_demo_relying_parties(*, db: Session, actor: Actor = "system") -> int:
    """Register the demo relying parties that are missing (scenarios the registry lacks are
    skipped); how many were added."""
    from pingan.identity.scenarios import load_registry

    known = load_registry()
    added = 0
    for spec in DEMO_RELYING_PARTIES:
        if db.scalars(select(RelyingParty).where(RelyingParty.code == spec["code"])).first():
            continue
        scenarios = [s for s in spec["scenarios"] if s in known]
        if not scenarios:
            continue
        register_relying_party(
            db=db,
            rp_in=RelyingPartyCreate(**{**spec, "scenarios": scenarios}),
            actor=actor,
            demo=True,
        )
        added += 1
    return added


def relying_party_for(*, db: Session, principal: Principal) -> RelyingParty:
    """The relying party a partner API key speaks for (``ApiKey.partner`` is its code)."""
    key = db.get(ApiKey, principal.api_key_id) if principal.api_key_id is not None else None
    rp = None
    if key is not None and key.revoked_at is None:
        rp = db.scalars(select(RelyingParty).where(RelyingParty.code == key.partner)).first()
    if rp is None or not rp.active:  # as if nothing were there, like other partner routes
        raise NotFound("identity.error.not_a_relying_party", field="partner")
    return rp


# ---------------------------------------------------------------------------- presentation requests


def audience_of(rp: RelyingParty) -> str:
    """The KB-JWT audience a relying party's requests carry."""
    return f"{platform_url()}/rp/{rp.code}"


def create_request(
    *, db: Session, principal: Principal, scenario_id: str
) -> tuple[PresentationRequest, RelyingParty]:
    """A presentation request for one of the calling relying party's scenarios."""
    rp = relying_party_for(db=db, principal=principal)
    return request_for(db=db, rp=rp, scenario_id=scenario_id), rp


def request_for(*, db: Session, rp: RelyingParty, scenario_id: str) -> PresentationRequest:
    """A presentation request of ``rp`` (a scenario it is registered for) with a fresh nonce."""
    try:
        get_scenario(scenario_id)
    except ScenarioError:
        raise ValidationFailed(
            "identity.error.unknown_scenario", field="scenario", scenario=scenario_id
        ) from None
    if scenario_id not in rp.scenarios:
        raise PermissionDenied(
            "identity.error.scenario_not_registered", field="scenario", scenario=scenario_id
        )
    now = clock.now()
    row = PresentationRequest(
        ref=secrets.token_urlsafe(12),
        relying_party_id=rp.id,
        scenario_id=scenario_id,
        nonce=secrets.token_urlsafe(16),
        audience=audience_of(rp),
        created_at=now,
        expires_at=now + REQUEST_LIFE,
    )
    db.add(row)
    db.flush()
    return row


def get_request(*, db: Session, ref: str) -> tuple[PresentationRequest, RelyingParty, Scenario]:
    """A request by reference, with its relying party and scenario (404 when unknown)."""
    row = db.scalars(select(PresentationRequest).where(PresentationRequest.ref == ref)).first()
    if row is None:
        raise NotFound("identity.error.request_not_found", field="ref", ref=ref)
    rp = db.get(RelyingParty, row.relying_party_id)
    assert rp is not None
    return row, rp, get_scenario(row.scenario_id)


def public_request(*, db: Session, ref: str) -> dict[str, Any]:
    """What the wallet is shown: who asks, for which scenario and claims, nonce, audience."""
    row, rp, scenario = get_request(db=db, ref=ref)
    return {
        "ref": row.ref,
        "relying_party": {"code": rp.code, "zh-CN": rp.name_zh, "en": rp.name_en},
        "scenario": {
            "id": scenario.id,
            "name": dict(scenario.name),
            "purpose": dict(scenario.purpose),
            "category": scenario.category,
        },
        "claims": sorted(scenario.claims),
        "nonce": row.nonce,
        "aud": row.audience,
        "expires_at": row.expires_at,
        "used": row.used_at is not None,
    }


class _ClaimedNonce(NonceStore):
    """The request's nonce, already claimed in the database by a conditional UPDATE."""

    def check(self, nonce: str, audience: str, now: datetime) -> str | None:
        """Claimed beforehand: nothing left to check."""
        return None

    def consume(self, nonce: str) -> None:
        """Already marked used in the database."""


def reason_messages(reason: str) -> dict[str, str]:
    """A verdict reason in zh-CN and en."""
    key = f"identity.reason.{reason}"
    return {lang: translate(key, lang) for lang in ("zh-CN", "en")}


@dataclass(frozen=True)
class Outcome:
    """A checked presentation: the verdict and the request it answered."""

    ref: str
    verdict: Verdict


def _status_resolver(db: Session, data_dir: Path, keys: sdjwt.KeyResolver) -> Any:
    def resolve(uri: str) -> sl.StatusList:
        lst = db.scalars(select(StatusList).where(StatusList.uri == uri)).first()
        if lst is None:
            raise sl.StatusListError("status_unavailable", "status.uri", "unknown status list")
        token = status_list_token(db=db, data_dir=data_dir, list_id=lst.id)
        header = sdjwt.parse_jws(token, "status_list_token").header
        key = keys(header, {})
        if key is None:
            raise sl.StatusListError("status_unavailable", "status_list_token", "unknown kid")
        return sl.verify_status_list_token(
            token, key=key, expected_uri=uri, now=clock.now().timestamp()
        )

    return resolve


def _pseudonyms(
    db: Session, data_dir: Path, presentation: str, rp: RelyingParty
) -> tuple[str | None, str | None]:
    """(per relying party, platform-wide) pseudonyms of an accepted presentation's holder."""
    payload = sdjwt.parse(presentation).jwt.payload
    secret = pepper(data_dir)
    cnf = payload.get("cnf")
    holder = None
    if isinstance(cnf, dict) and isinstance(cnf.get("jwk"), dict):
        holder = _keyed(secret, f"rp:{rp.id}:{sdjwt.jwk_thumbprint(cnf['jwk'])}")
    ref = sl.status_reference(payload)
    person = None
    if ref is not None:
        cred = db.scalars(
            select(Credential)
            .join(StatusList, StatusList.id == Credential.status_list_id)
            .where(StatusList.uri == ref[1], Credential.status_idx == ref[0])
        ).first()
        if cred is not None:
            person = _keyed(secret, "person:" + cred.subject_ref)
    return holder, person


def respond(*, db: Session, data_dir: Path, ref: str, presentation: str) -> Outcome:
    """Check the wallet's presentation for request ``ref`` and store the verdict.

    The nonce is claimed first with a conditional UPDATE (single use across processes); a
    second response is refused as ``replayed_nonce``, a late one as ``nonce_expired``.
    """
    row, rp, scenario = get_request(db=db, ref=ref)
    now = clock.now()
    verdict: Verdict | None = None
    claimed = db.execute(
        update(PresentationRequest)
        .where(PresentationRequest.id == row.id, PresentationRequest.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    first = getattr(claimed, "rowcount", 0) == 1
    if not first:
        verdict = Verdict.reject("replayed_nonce", "kb_jwt.payload", "the request was answered")
    elif now > row.expires_at:
        verdict = Verdict.reject("nonce_expired", "kb_jwt.payload", "the request expired")
    if verdict is None:
        keys = _key_resolver(db)
        verdict = verify_for_scenario(
            presentation,
            scenario,
            issuer_keys=keys,
            audience=row.audience,
            nonce=row.nonce,
            nonces=_ClaimedNonce(),
            status_lists=_status_resolver(db, data_dir, keys),
            now=now,
        )
    holder = person = None
    if verdict.accepted:
        holder, person = _pseudonyms(db, data_dir, presentation, rp)
    if first:
        db.refresh(row)
        row.result = "accepted" if verdict.accepted else "rejected"
        row.reason = verdict.reason
        row.claims = dict(verdict.claims) if verdict.accepted else None
    db.add(
        Verification(
            request_ref=row.ref,
            scenario_id=scenario.id,
            relying_party_id=rp.id,
            jurisdiction_id=rp.jurisdiction_id,
            accepted=verdict.accepted,
            reason=verdict.reason,
            part=verdict.part[:100],
            at=now,
            holder_pseudonym=holder,
            person_pseudonym=person,
            disclosed=sorted(verdict.claims),
            demo=rp.demo,
        )
    )
    record(
        db,
        PresentationVerified(
            request_ref=row.ref,
            scenario_id=scenario.id,
            relying_party_id=rp.id,
            accepted=verdict.accepted,
            reason=verdict.reason,
        ),
    )
    return Outcome(ref=row.ref, verdict=verdict)


def request_result(*, db: Session, principal: Principal, ref: str) -> dict[str, Any]:
    """The calling relying party's request: pending or the verdict; the disclosed claims are
    handed over once, then erased (another relying party gets 404)."""
    rp = relying_party_for(db=db, principal=principal)
    row = db.scalars(select(PresentationRequest).where(PresentationRequest.ref == ref)).first()
    if row is None or row.relying_party_id != rp.id:
        raise NotFound("identity.error.request_not_found", field="ref", ref=ref)
    if row.result is None:
        status = "expired" if clock.now() > row.expires_at else "pending"
        return {
            "ref": row.ref,
            "scenario": row.scenario_id,
            "status": status,
            "reason": None,
            "message": None,
            "claims": None,
        }
    claims = row.claims
    if claims is not None:
        row.claims, row.result_read_at = None, clock.now()
    return {
        "ref": row.ref,
        "scenario": row.scenario_id,
        "status": row.result,
        "reason": row.reason,
        "message": reason_messages(row.reason or ""),
        "claims": claims,
    }


# ---------------------------------------------------------------------------- usage


def _scenario_name(scenario_id: str) -> dict[str, str]:
    try:
        return dict(get_scenario(scenario_id).name)
    except ScenarioError:  # a scenario since removed from the registry
        return {"zh-CN": scenario_id, "en": scenario_id}


def usage(*, db: Session, principal: Principal, since: datetime, until: datetime) -> UsageReport:
    """Uses per scenario and day (China time): accepted, rejected by reason, distinct people
    (accepted uses, by platform-wide pseudonym) and distinct enterprises; and the totals."""
    # A time without a zone is China time (the bureau's days).
    since = since if since.tzinfo else since.replace(tzinfo=CHINA_TZ)
    until = until if until.tzinfo else until.replace(tzinfo=CHINA_TZ)
    if until <= since:
        raise ValidationFailed("identity.error.bad_period", field="until")
    stmt = _scope(
        select(  # type: ignore[arg-type]
            Verification.scenario_id,
            Verification.at,
            Verification.accepted,
            Verification.reason,
            Verification.person_pseudonym,
            Verification.relying_party_id,
        ).where(Verification.at >= since, Verification.at < until),
        Verification.jurisdiction_id,
        principal,
        include_unassigned=True,
    )
    groups: dict[tuple[str, date], dict[str, Any]] = {}
    people: set[str] = set()
    enterprises: set[int] = set()
    uses = accepted = 0
    for scenario_id, at, ok, reason, person, rp_id in db.execute(stmt):
        day = at.astimezone(CHINA_TZ).date()
        g = groups.setdefault(
            (scenario_id, day),
            {"uses": 0, "accepted": 0, "rejected": defaultdict(int), "people": set(), "rps": set()},
        )
        g["uses"] += 1
        g["rps"].add(rp_id)
        enterprises.add(rp_id)
        uses += 1
        if ok:
            g["accepted"] += 1
            accepted += 1
            if person:
                g["people"].add(person)
                people.add(person)
        else:
            g["rejected"][reason] += 1
    days = [
        UsageDay(
            scenario=sid,
            scenario_name=_scenario_name(sid),
            day=day,
            uses=g["uses"],
            accepted=g["accepted"],
            rejected=dict(sorted(g["rejected"].items())),
            distinct_people=len(g["people"]),
            distinct_enterprises=len(g["rps"]),
        )
        for (sid, day), g in sorted(groups.items(), key=lambda item: (item[0][1], item[0][0]))
    ]
    return UsageReport(
        since=since,
        until=until,
        uses=uses,
        accepted=accepted,
        distinct_people=len(people),
        distinct_enterprises=len(enterprises),
        days=days,
    )
