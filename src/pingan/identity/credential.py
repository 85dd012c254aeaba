"""The resident digital ID: an SD-JWT VC (``typ: dc+sd-jwt``) issued by the bureau.

- :func:`issue_resident_credential`: ES256, holder-bound (``cnf.jwk``), every personal claim and
  derived age claim selectively disclosable, ``vct``, ``iss``, ``iat``, ``exp`` and the Token
  Status List reference (``status.status_list``) always in clear, as SD-JWT VC requires;
- :func:`present_for_scenario`: the holder discloses exactly the claims a scenario asks for,
  with a Key Binding JWT over the verifier's nonce and audience;
- :func:`verify_for_scenario`: the relying party's check — SD-JWT verification, ``vct``, nonce
  freshness and replay (:class:`NonceStore`), status (revoked/suspended), the scenario's
  claims present and nothing more (over-disclosure is refused) — answered as a :class:`Verdict`
  with a machine reason and the part at fault.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pingan.identity import sdjwt
from pingan.identity.scenarios import (
    AGE_THRESHOLDS,
    CREDENTIAL_CLAIMS,
    Resident,
    Scenario,
    credential_claims,
)
from pingan.identity.statuslist import (
    INVALID,
    SUSPENDED,
    VALID,
    StatusList,
    StatusListError,
    status_reference,
)

VCT = "urn:pingan:credential:resident-id:1"
ACCEPTED_TYPS = frozenset({sdjwt.SD_JWT_VC_TYP})
#: Claims SD-JWT VC keeps in clear (never selectively disclosable).
VC_CLEAR_CLAIMS = frozenset({"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"})

#: Every reason a verdict can carry besides the SD-JWT ones (``sdjwt.REASONS``).
VERDICT_REASONS: tuple[str, ...] = (
    "accepted",
    "wrong_vct",
    "vc_claim_disclosable",
    "unknown_nonce",
    "replayed_nonce",
    "nonce_expired",
    "revoked",
    "suspended",
    "status_unavailable",
    "missing_claims",
    "over_disclosure",
    "claim_mismatch",
)


def _next_threshold(birth_date: date, on: date) -> date | None:
    """The first day after ``on`` on which an age claim turns true (None when all are)."""
    for n in AGE_THRESHOLDS:
        try:
            birthday = birth_date.replace(year=birth_date.year + n)
        except ValueError:  # 29 February in a common year: of age on 1 March
            birthday = date(birth_date.year + n, 3, 1)
        if birthday > on:
            return birthday
    return None


def issue_resident_credential(
    resident: Resident,
    *,
    issuer_key: sdjwt.PrivateKey,
    issuer: str,
    holder_jwk: Mapping[str, Any],
    status_idx: int,
    status_uri: str,
    now: datetime,
    valid_for: timedelta = timedelta(days=365),
    kid: str | None = None,
    decoys: sdjwt.Decoys = "disclosable_objects",
    randomness: sdjwt.Randomness | None = None,
) -> sdjwt.Issued:
    """Issue a resident's digital ID credential.

    Age claims are computed on the day of issuance; the credential expires no later than the
    day an age claim would change, so a disclosed ``age_over_N`` is never stale.
    """
    claims = credential_claims(resident, now.date())
    exp = now + valid_for
    turning = _next_threshold(resident.birth_date, now.date())
    if turning is not None:
        exp = min(exp, datetime.combine(turning, now.timetz()))
    payload: dict[Any, Any] = {
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int(exp.timestamp()),
        "vct": VCT,
        "status": {"status_list": {"idx": status_idx, "uri": status_uri}},
    }
    for name in CREDENTIAL_CLAIMS:
        payload[sdjwt.SD(name)] = claims[name]
    return sdjwt.issue(
        payload,
        issuer_key=issuer_key,
        holder_jwk=holder_jwk,
        kid=kid,
        decoys=decoys,
        randomness=randomness,
    )


def present_for_scenario(
    credential: str,
    scenario: Scenario,
    *,
    holder_key: sdjwt.PrivateKey,
    nonce: str,
    audience: str,
    now: datetime,
) -> str:
    """The holder's presentation of exactly the claims ``scenario`` asks for."""
    return sdjwt.present(
        credential,
        {name: True for name in scenario.claims},
        holder_key=holder_key,
        nonce=nonce,
        aud=audience,
        iat=int(now.timestamp()),
    )


@dataclass
class NonceStore:
    """Verifier nonces: issued for an audience, valid for ``ttl``, usable once (replay guard)."""

    ttl: timedelta = timedelta(minutes=5)
    _issued: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)

    def issue(self, audience: str, now: datetime) -> str:
        """A fresh nonce for ``audience``."""
        nonce = secrets.token_urlsafe(16)
        self._issued[nonce] = (audience, now + self.ttl)
        return nonce

    def check(self, nonce: str, audience: str, now: datetime) -> str | None:
        """Why ``nonce`` cannot be used now (a verdict reason), or None when it can."""
        if nonce in self._used:
            return "replayed_nonce"
        entry = self._issued.get(nonce)
        if entry is None or entry[0] != audience:
            return "unknown_nonce"
        if now > entry[1]:
            return "nonce_expired"
        return None

    def consume(self, nonce: str) -> None:
        """Mark ``nonce`` used: a second presentation with it is a replay."""
        self._issued.pop(nonce, None)
        self._used.add(nonce)


@dataclass(frozen=True)
class Verdict:
    """A relying party's answer: accepted or not, why, the part at fault, the disclosed claims."""

    accepted: bool
    reason: str
    part: str = ""
    detail: str = ""
    claims: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def reject(cls, reason: str, part: str, detail: str = "") -> Verdict:
        """A refusal."""
        return cls(False, reason, part, detail)


StatusResolver = Callable[[str], StatusList]


def verify_for_scenario(
    presentation: str,
    scenario: Scenario,
    *,
    issuer_keys: sdjwt.IssuerKeys,
    audience: str,
    nonce: str,
    nonces: NonceStore,
    status_lists: StatusResolver,
    now: datetime,
    expected: Mapping[str, Any] | None = None,
    kb_max_age: float = 300,
    signature_cache: sdjwt.SignatureCache | None = None,
) -> Verdict:
    """Check a presentation for ``scenario`` and answer accept/reject with the reason.

    ``expected`` (claim -> value) checks disclosed values, e.g. the name on a train ticket.
    """
    unusable = nonces.check(nonce, audience, now)
    if unusable is not None:
        return Verdict.reject(unusable, "kb_jwt.payload", "the nonce cannot be used")
    try:
        verified = sdjwt.verify(
            presentation,
            issuer_keys=issuer_keys,
            expected_aud=audience,
            expected_nonce=nonce,
            require_key_binding=True,
            now=now.timestamp(),
            kb_max_age=kb_max_age,
            accepted_typs=ACCEPTED_TYPS,
            signature_cache=signature_cache,
        )
    except sdjwt.SdJwtError as exc:
        return Verdict.reject(exc.reason, exc.part, exc.detail)
    nonces.consume(nonce)
    claims = verified.claims
    hidden_vc = sorted({str(p[0]) for p in verified.disclosed_paths} & VC_CLEAR_CLAIMS)
    if hidden_vc:  # SD-JWT VC: these claims must not be selectively disclosable
        return Verdict.reject("vc_claim_disclosable", "jwt.payload", ", ".join(hidden_vc))
    if claims.get("vct") != VCT:
        return Verdict.reject("wrong_vct", "jwt.payload", f"vct {claims.get('vct')!r}")
    try:
        ref = status_reference(claims)
    except StatusListError as exc:
        return Verdict.reject(exc.reason, exc.part, exc.detail)
    if ref is None:
        return Verdict.reject("status_unavailable", "jwt.payload", "no status reference")
    try:
        status = status_lists(ref[1]).get(ref[0])
    except StatusListError as exc:
        reason = exc.reason if exc.reason == "status_index_out_of_range" else "status_unavailable"
        return Verdict.reject(reason, exc.part, exc.detail)
    if status == INVALID:
        return Verdict.reject("revoked", "status", "the credential is revoked")
    if status == SUSPENDED:
        return Verdict.reject("suspended", "status", "the credential is suspended")
    if status != VALID:
        return Verdict.reject("status_unavailable", "status", f"status {status}")
    disclosed = {str(p[0]) for p in verified.disclosed_paths}
    extra = sorted(disclosed - scenario.claims)
    if extra:
        return Verdict.reject("over_disclosure", "disclosures", ", ".join(extra))
    missing = sorted(scenario.claims - set(claims))
    if missing:
        return Verdict.reject("missing_claims", "disclosures", ", ".join(missing))
    for name, value in (expected or {}).items():
        if claims.get(name) != value:
            return Verdict.reject("claim_mismatch", name, f"{name} does not match")
    shown = {name: claims[name] for name in sorted(scenario.claims)}
    return Verdict(True, "accepted", claims=shown)
