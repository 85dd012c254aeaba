"""Self-service issuance (OpenID4VCI 1.0 pre-authorized code flow) through the real app.

A clerk (after checking the person) or a registered kiosk (with its chip, face and liveness
results) makes a credential offer; the wallet — played here by the standards core, and by the
wallet CLI — redeems it at the token, nonce and credential endpoints with a key proof; the
credential is then verified by the existing relying-party flow. Time is frozen and moved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.core import clock
from pingan.core.audit import AuditRecord
from pingan.core.auth import service as auth
from pingan.core.auth.permissions import Principal
from pingan.core.auth.schemas import ApiKeyCreate, JurisdictionCreate, UserCreate
from pingan.core.db import Base, Database
from pingan.core.settings import Settings
from pingan.identity import sdjwt, selfservice
from pingan.identity import service as identity
from pingan.identity.credential import present_for_scenario
from pingan.identity.models import Credential
from pingan.identity.scenarios import get_scenario
from pingan.identity.selfservice_models import CredentialOffer, IssuanceCheck
from pingan.identity.selfservice_schemas import KioskCreate
from pingan.web.app import create_app

pytestmark = pytest.mark.usefixtures("fast_hasher")

PASSWORD = "identity-pass-1"
T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
SYSTEM = Principal.system("test")
ISSUER = "https://pingan.example/identity"
RESIDENT = {
    "name": "王小明",
    "id_number": "11010519491231002X",
    "birth_date": "1949-12-31",
    "address_district": "朝阳区",
    "photo_hash": "sha256-abc",
}
GOOD_CHECKS = {"chip_signature_valid": True, "face_score": 0.93, "liveness_passed": True}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Desk:
    """The app with staff logins, kiosk keys, a relying party key and a frozen clock."""

    client: TestClient
    db: Database
    settings: Settings
    frozen: clock.FrozenClock
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def post(self, path: str, body: Any = None, who: str | None = None) -> Any:
        """POST JSON as ``who`` (None: anonymous)."""
        return self.client.post(path, json=body, headers=self.headers[who] if who else {})

    def get(self, path: str, who: str | None = None) -> Any:
        """GET as ``who``."""
        return self.client.get(path, headers=self.headers[who] if who else {})

    def count(self, model: Any) -> int:
        """Rows of a table."""
        with self.db.session() as s:
            return int(s.scalars(select(func.count()).select_from(model)).one())

    def window_offer(self, **changes: Any) -> dict[str, Any]:
        """A clerk's offer."""
        r = self.post("/api/identity/offers", {**RESIDENT, **changes}, who="clerk")
        assert r.status_code == 201, r.text
        made: dict[str, Any] = r.json()
        return made

    def kiosk_offer(self, kiosk: str = "hall-1", **changes: Any) -> Any:
        """A kiosk's check and offer (the raw response)."""
        body = {**RESIDENT, **GOOD_CHECKS, **changes}
        return self.post(f"/api/identity/kiosks/{kiosk}/offers", body, who=kiosk)

    def token(self, offer: dict[str, Any], pin: str | None) -> Any:
        """The wallet exchanges the pre-authorized code (and PIN) at the token endpoint."""
        grant = offer["credential_offer"]["grants"][selfservice.PRE_AUTHORIZED_GRANT]
        form = {
            "grant_type": selfservice.PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": grant["pre-authorized_code"],
        }
        if pin is not None:
            form["tx_code"] = pin
        return self.client.post("/api/identity/oid4vci/token", data=form, headers=FORM)

    def nonce(self) -> str:
        """A fresh c_nonce."""
        r = self.client.post("/api/identity/oid4vci/nonce")
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text
        value: str = r.json()["c_nonce"]
        return value

    def credential(self, access_token: str, proof: str, **body: Any) -> Any:
        """The wallet asks for the credential with its key proof."""
        request = {
            "credential_configuration_id": selfservice.CONFIGURATION_ID,
            "proofs": {"jwt": [proof]},
            **body,
        }
        return self.client.post(
            "/api/identity/oid4vci/credential",
            json=request,
            headers={"Authorization": f"Bearer {access_token}"},
        )


def proof_jwt(
    holder: sdjwt.PrivateKey,
    nonce: str,
    *,
    aud: str = ISSUER,
    typ: str = selfservice.PROOF_TYP,
    iat: float | None = None,
) -> str:
    """An OpenID4VCI key proof (``jwt`` proof type)."""
    return sdjwt.jws_sign(
        {"alg": "ES256", "typ": typ, "jwk": sdjwt.public_jwk(holder)},
        {
            "aud": aud,
            "iat": int(iat if iat is not None else clock.now().timestamp()),
            "nonce": nonce,
        },
        holder,
    )


@pytest.fixture
def desk(settings: Settings, database: object) -> Iterator[Desk]:
    with clock.frozen(T0) as frozen:
        app = create_app(settings, background=False)
        db: Database = app.state.ctx.db
        Base.metadata.create_all(db.engine)
        keys: dict[str, str] = {}
        with db.session() as s:
            city = auth.create_jurisdiction(
                db=s,
                jurisdiction_in=JurisdictionCreate(code="id-city", name="市局", kind="city"),
                actor=SYSTEM,
            )
            auth.create_jurisdiction(
                db=s,
                jurisdiction_in=JurisdictionCreate(code="id-other", name="外市", kind="city"),
                actor=SYSTEM,
            )
            for role in ("clerk", "commander", "admin", "officer"):
                auth.create_user(
                    db=s,
                    user_in=UserCreate(
                        username=f"{role}-1",
                        password=PASSWORD,
                        roles=[role],
                        jurisdictions=[city.code],
                    ),
                    actor=SYSTEM,
                )
            identity.seed_demo_relying_parties(db=s)
            _k, keys["demo_hotel"] = auth.create_api_key(
                db=s, key_in=ApiKeyCreate(name="hotel", partner="demo_hotel"), actor=SYSTEM
            )
            for code in ("hall-1", "hall-2"):
                _row, keys[code] = selfservice.register_kiosk(
                    db=s,
                    kiosk_in=KioskCreate(code=code, name=f"自助机 {code}", district="id-city"),
                    actor=SYSTEM,
                )
        with TestClient(app) as client:
            d = Desk(client=client, db=db, settings=settings, frozen=frozen)
            for role in ("clerk", "commander", "admin", "officer"):
                r = client.post(
                    "/api/auth/login", json={"username": f"{role}-1", "password": PASSWORD}
                )
                assert r.status_code == 200, r.text
                d.headers[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            d.headers.update({code: {"X-API-Key": key} for code, key in keys.items()})
            yield d


def _redeem(desk: Desk, offer: dict[str, Any], holder: sdjwt.PrivateKey) -> str:
    """Token, nonce, credential: the issued SD-JWT VC."""
    r = desk.token(offer, offer["tx_code"])
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    tok = r.json()
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 300
    r = desk.credential(tok["access_token"], proof_jwt(holder, desk.nonce()))
    assert r.status_code == 200, r.text
    credential: str = r.json()["credentials"][0]["credential"]
    return credential


def _verify_at_hotel(desk: Desk, credential: str, holder: sdjwt.PrivateKey) -> dict[str, Any]:
    created = desk.post("/api/identity/requests", {"scenario": "hotel_checkin"}, who="demo_hotel")
    assert created.status_code == 201, created.text
    ref = created.json()["ref"]
    asked = desk.get(f"/api/identity/requests/{ref}").json()
    shown = present_for_scenario(
        credential,
        get_scenario("hotel_checkin"),
        holder_key=holder,
        nonce=asked["nonce"],
        audience=asked["aud"],
        now=clock.now(),
    )
    verdict: dict[str, Any] = desk.post(
        f"/api/identity/requests/{ref}/response", {"presentation": shown}
    ).json()
    return verdict


def _oauth_error(r: Any, status: int, error: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error, body
    description: str = body["error_description"]
    return description


# ---------------------------------------------------------------------------- whole flows


def test_metadata_is_published_at_the_well_known_paths(desk: Desk) -> None:
    for path in (
        "/.well-known/openid-credential-issuer",
        "/.well-known/openid-credential-issuer/identity",
    ):
        meta = desk.get(path).json()
        assert meta["credential_issuer"] == ISSUER
        assert (
            meta["credential_endpoint"] == "https://pingan.example/api/identity/oid4vci/credential"
        )
        assert meta["nonce_endpoint"] == "https://pingan.example/api/identity/oid4vci/nonce"
        config = meta["credential_configurations_supported"][selfservice.CONFIGURATION_ID]
        assert config["format"] == "dc+sd-jwt"
        assert config["vct"] == "urn:pingan:credential:resident-id:1"
        assert config["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
    server = desk.get("/.well-known/oauth-authorization-server/identity").json()
    assert server["issuer"] == ISSUER
    assert server["token_endpoint"] == "https://pingan.example/api/identity/oid4vci/token"
    assert server["pre-authorized_grant_anonymous_access_supported"] is True
    assert selfservice.PRE_AUTHORIZED_GRANT in server["grant_types_supported"]


def test_window_offer_redeemed_by_the_wallet_and_verified(desk: Desk) -> None:
    offer = desk.window_offer()
    # The QR carries the offer (with the code), not the PIN.
    assert offer["offer_uri"].startswith("openid-credential-offer://?credential_offer=")
    carried = json.loads(parse_qs(urlsplit(offer["offer_uri"]).query)["credential_offer"][0])
    assert carried == offer["credential_offer"]
    assert carried["credential_issuer"] == ISSUER
    assert carried["credential_configuration_ids"] == [selfservice.CONFIGURATION_ID]
    grant = carried["grants"][selfservice.PRE_AUTHORIZED_GRANT]
    assert grant["tx_code"]["length"] == 6 and grant["tx_code"]["input_mode"] == "numeric"
    assert offer["tx_code"].isdigit() and len(offer["tx_code"]) == 6
    assert offer["tx_code"] not in offer["offer_uri"].replace(grant["pre-authorized_code"], "")
    assert offer["qr_svg"].startswith("<svg")
    assert offer["expires_at"].startswith("2026-11-30T02:10:00")

    # Nothing secret is stored: hashes only, the resident's data sealed.
    with desk.db.session() as s:
        row = s.scalars(select(CredentialOffer)).one()
        assert row.code_hash != grant["pre-authorized_code"]
        assert grant["pre-authorized_code"] not in row.code_hash
        assert row.tx_code_hash != offer["tx_code"] and row.sealed is not None
        assert "王小明".encode() not in row.sealed and b"11010519491231002X" not in row.sealed
        check = s.get(IssuanceCheck, row.check_id)
        assert check is not None and check.channel == "window" and check.passed
        assert check.checked_by == "clerk-1" and check.id_number_masked == "110105********002X"

    holder = sdjwt.generate_key()
    credential = _redeem(desk, offer, holder)
    payload = sdjwt.parse(credential).jwt.payload
    assert payload["iss"] == ISSUER and payload["cnf"]["jwk"] == sdjwt.public_jwk(holder)
    assert sdjwt.parse(credential).jwt.header["typ"] == "dc+sd-jwt"

    # The same relying-party check as for a window-issued credential accepts it.
    verdict = _verify_at_hotel(desk, credential, holder)
    assert verdict["accepted"] is True, verdict

    state = desk.get(f"/api/identity/offers/{offer['ref']}", who="clerk").json()
    assert state["state"] == "issued" and state["credential_id"] is not None
    with desk.db.session() as s:
        row = s.scalars(select(CredentialOffer)).one()
        assert row.sealed is None  # erased once issued
        cred = s.get(Credential, row.credential_id)
        assert cred is not None and cred.issued_by == "clerk-1"
        assert cred.holder_thumbprint == sdjwt.jwk_thumbprint(holder)
        actions = set(s.scalars(select(AuditRecord.action)))
    assert {"identity.issuance.check", "identity.offer.create"} <= actions
    assert "identity.credential.issue" in actions


def test_kiosk_offer_redeemed_and_recorded(desk: Desk) -> None:
    r = desk.kiosk_offer()
    assert r.status_code == 201, r.text
    offer = r.json()
    holder = sdjwt.generate_key()
    credential = _redeem(desk, offer, holder)
    assert _verify_at_hotel(desk, credential, holder)["accepted"] is True
    state = desk.get(f"/api/identity/kiosks/hall-1/offers/{offer['ref']}", who="hall-1")
    assert state.status_code == 200 and state.json()["state"] == "issued"
    # Another kiosk cannot see it (its own code: 404; naming hall-1: 403).
    assert (
        desk.get(f"/api/identity/kiosks/hall-2/offers/{offer['ref']}", who="hall-2").status_code
        == 404
    )
    assert (
        desk.get(f"/api/identity/kiosks/hall-1/offers/{offer['ref']}", who="hall-2").status_code
        == 403
    )
    with desk.db.session() as s:
        check = s.get(IssuanceCheck, offer["check_id"])
        assert check is not None and check.passed and check.reason == "checks_passed"
        assert check.face_score == pytest.approx(0.93) and check.liveness_passed is True
        assert check.checked_by.startswith("apikey:")
        assert check.policy == {"min_face_score": 0.8, "liveness_required": True}
        row = s.scalars(select(CredentialOffer)).one()
        cred = s.get(Credential, row.credential_id)
        assert cred is not None and cred.issued_by == "kiosk:hall-1"
        audit = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "identity.issuance.check")
        ).one()
        assert audit.detail["kiosk"] == "hall-1" and audit.detail["face_score"] == 0.93
        assert "photo" not in json.dumps(audit.detail)


# ---------------------------------------------------------------------------- kiosk policy


@pytest.mark.parametrize(
    ("changes", "reason", "field_name"),
    [
        ({"face_score": 0.5}, "face_score_low", "face_score"),
        ({"liveness_passed": False}, "liveness_failed", "liveness_passed"),
        ({"chip_signature_valid": False}, "chip_signature_invalid", "chip_signature_valid"),
    ],
)
def test_kiosk_check_failing_the_policy_is_refused_and_recorded(
    desk: Desk, changes: dict[str, Any], reason: str, field_name: str
) -> None:
    r = desk.kiosk_offer(**changes)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["reason"] == reason and error["field"] == field_name
    assert error["message"] and error["check_id"]
    assert desk.count(CredentialOffer) == 0 and desk.count(Credential) == 0
    with desk.db.session() as s:
        check = s.get(IssuanceCheck, error["check_id"])
        assert check is not None and not check.passed and check.reason == reason
        assert check.channel == "kiosk" and check.kiosk_id is not None
        assert (
            s.scalars(select(AuditRecord).where(AuditRecord.action == "identity.issuance.check"))
            .one()
            .reason
            == reason
        )


def test_kiosk_keys_and_roles(desk: Desk) -> None:
    # Another kiosk's key naming this kiosk: 403; a relying party's key: 404; staff: 403.
    r = desk.post("/api/identity/kiosks/hall-1/offers", {**RESIDENT, **GOOD_CHECKS}, who="hall-2")
    assert r.status_code == 403 and r.json()["error"]["field"] == "code"
    r = desk.post(
        "/api/identity/kiosks/hall-1/offers", {**RESIDENT, **GOOD_CHECKS}, who="demo_hotel"
    )
    assert r.status_code == 404
    for who in ("clerk", "admin"):
        r = desk.post("/api/identity/kiosks/hall-1/offers", {**RESIDENT, **GOOD_CHECKS}, who=who)
        assert r.status_code == 403
    # A kiosk key cannot act as a relying party or a clerk (its scope is the kiosk's).
    assert (
        desk.post("/api/identity/requests", {"scenario": "hotel_checkin"}, who="hall-1").status_code
        == 403
    )
    assert desk.post("/api/identity/offers", RESIDENT, who="hall-1").status_code == 403
    assert desk.post("/api/identity/offers", RESIDENT, who="officer").status_code == 403
    assert desk.count(IssuanceCheck) == 0


def test_bad_input_is_refused_naming_the_field(desk: Desk) -> None:
    for body, field_name in (
        ({**RESIDENT, **GOOD_CHECKS, "face_score": 1.5}, "face_score"),
        ({**RESIDENT, **GOOD_CHECKS, "liveness_passed": "yes"}, "liveness_passed"),
        ({**RESIDENT, "face_score": 0.9, "liveness_passed": True}, "chip_signature_valid"),
        ({**RESIDENT, **GOOD_CHECKS, "id_number": "110105194912310021"}, "id_number"),
        ({**RESIDENT, **GOOD_CHECKS, "birth_date": "1950-01-01"}, "birth_date"),
    ):
        r = desk.post("/api/identity/kiosks/hall-1/offers", body, who="hall-1")
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field_name, r.json()
    r = desk.post("/api/identity/offers", {**RESIDENT, "name": ""}, who="clerk")
    assert r.status_code == 422 and r.json()["error"]["field"] == "name"
    r = desk.post("/api/identity/offers", {**RESIDENT, "jurisdiction": "nowhere"}, who="clerk")
    assert r.status_code == 422 and r.json()["error"]["field"] == "jurisdiction"
    assert desk.count(CredentialOffer) == 0 and desk.count(IssuanceCheck) == 0


# ---------------------------------------------------------------------------- token endpoint


def test_wrong_pin_attempts_then_the_offer_is_burnt(desk: Desk) -> None:
    offer = desk.window_offer()
    wrong = f"{(int(offer['tx_code']) + 1) % 1_000_000:06d}"
    assert "2 attempt" in _oauth_error(desk.token(offer, wrong), 400, "invalid_grant")
    assert "1 attempt" in _oauth_error(desk.token(offer, wrong), 400, "invalid_grant")
    _oauth_error(desk.token(offer, None), 400, "invalid_request")  # no PIN: not an attempt
    assert "withdrawn" in _oauth_error(desk.token(offer, wrong), 400, "invalid_grant")
    # Burnt: even the right PIN no longer works, and the sealed data is gone.
    _oauth_error(desk.token(offer, offer["tx_code"]), 400, "invalid_grant")
    state = desk.get(f"/api/identity/offers/{offer['ref']}", who="clerk").json()
    assert state["state"] == "burnt" and state["tx_failures"] == 3
    with desk.db.session() as s:
        assert s.scalars(select(CredentialOffer)).one().sealed is None
    assert desk.count(Credential) == 0


def test_expired_code(desk: Desk) -> None:
    offer = desk.window_offer()
    exchanged = desk.window_offer()
    assert desk.token(exchanged, exchanged["tx_code"]).status_code == 200
    desk.frozen.advance(timedelta(minutes=10, seconds=1))
    assert "expired" in _oauth_error(desk.token(offer, offer["tx_code"]), 400, "invalid_grant")
    state = desk.get(f"/api/identity/offers/{offer['ref']}", who="clerk").json()
    assert state["state"] == "expired"
    # The sweep erases the sealed data of both (code expired; token expired unused).
    with desk.db.session() as s:
        assert selfservice.sweep_offers(db=s) == 2
    with desk.db.session() as s:
        assert all(row.sealed is None for row in s.scalars(select(CredentialOffer)))
        assert selfservice.sweep_offers(db=s) == 0


def test_reused_code_and_token_are_refused(desk: Desk) -> None:
    offer = desk.window_offer()
    holder = sdjwt.generate_key()
    first = desk.token(offer, offer["tx_code"])
    assert first.status_code == 200
    assert "used" in _oauth_error(desk.token(offer, offer["tx_code"]), 400, "invalid_grant")
    access_token = first.json()["access_token"]
    assert desk.credential(access_token, proof_jwt(holder, desk.nonce())).status_code == 200
    again = desk.credential(access_token, proof_jwt(holder, desk.nonce()))
    _oauth_error(again, 401, "invalid_token")
    assert again.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert desk.count(Credential) == 1


def test_token_endpoint_protocol_errors(desk: Desk) -> None:
    url = "/api/identity/oid4vci/token"
    _oauth_error(desk.client.post(url, json={"grant_type": "x"}), 400, "invalid_request")
    _oauth_error(desk.client.post(url, data={}, headers=FORM), 400, "invalid_request")
    r = desk.client.post(url, data={"grant_type": "authorization_code"}, headers=FORM)
    _oauth_error(r, 400, "unsupported_grant_type")
    r = desk.client.post(
        url,
        data={"grant_type": selfservice.PRE_AUTHORIZED_GRANT, "pre-authorized_code": "nope"},
        headers=FORM,
    )
    _oauth_error(r, 400, "invalid_grant")
    # A repeated parameter is refused (RFC 6749 section 3.2).
    r = desk.client.post(url, content="grant_type=a&grant_type=b", headers=FORM)
    _oauth_error(r, 400, "invalid_request")


# ---------------------------------------------------------------------------- credential endpoint


def test_bad_proofs_are_refused(desk: Desk) -> None:
    offer = desk.window_offer()
    holder = sdjwt.generate_key()
    access_token = desk.token(offer, offer["tx_code"]).json()["access_token"]

    def refused(proof: str, error: str = "invalid_proof", **body: Any) -> str:
        return _oauth_error(desk.credential(access_token, proof, **body), 400, error)

    assert "nonce" in refused(proof_jwt(holder, "not-a-nonce"), "invalid_nonce")
    assert "aud" in refused(proof_jwt(holder, desk.nonce(), aud="https://evil.example"))
    assert "typ" in refused(proof_jwt(holder, desk.nonce(), typ="JWT"))
    assert "iat" in refused(proof_jwt(holder, desk.nonce(), iat=clock.now().timestamp() - 3600))
    tampered = proof_jwt(holder, desk.nonce())
    head, _body, sig = tampered.split(".")
    other = sdjwt.b64url_encode(json.dumps({"aud": ISSUER, "iat": 1, "nonce": "x"}).encode())
    assert "bad_signature" in refused(f"{head}.{other}.{sig}")
    refused("junk")
    # A used nonce is refused; an expired one too.
    used = desk.nonce()
    assert desk.credential(access_token, proof_jwt(holder, used)).status_code == 200
    # (that token is now spent: check the nonce rules with a second offer)
    stale = desk.nonce()
    desk.frozen.advance(timedelta(minutes=5, seconds=1))
    offer2 = desk.window_offer()
    token2 = desk.token(offer2, offer2["tx_code"]).json()["access_token"]
    _oauth_error(desk.credential(token2, proof_jwt(holder, used)), 400, "invalid_nonce")
    _oauth_error(desk.credential(token2, proof_jwt(holder, stale)), 400, "invalid_nonce")
    fresh = desk.nonce()
    r = desk.credential(token2, proof_jwt(holder, fresh), credential_configuration_id="x")
    _oauth_error(r, 400, "unknown_credential_configuration")
    r = desk.credential(token2, proof_jwt(holder, fresh))
    assert r.status_code == 200, r.text
    assert desk.count(Credential) == 2


def test_credential_endpoint_needs_its_own_access_token(desk: Desk) -> None:
    holder = sdjwt.generate_key()
    url = "/api/identity/oid4vci/credential"
    for headers in ({}, desk.headers["clerk"], {"Authorization": "Bearer nope"}):
        r = desk.client.post(
            url, json={"proofs": {"jwt": [proof_jwt(holder, "n")]}}, headers=headers
        )
        _oauth_error(r, 401, "invalid_token")
    offer = desk.window_offer()
    access_token = desk.token(offer, offer["tx_code"]).json()["access_token"]
    desk.frozen.advance(timedelta(minutes=5, seconds=1))
    r = desk.credential(access_token, proof_jwt(holder, desk.nonce()))
    assert "expired" in _oauth_error(r, 401, "invalid_token")


# ---------------------------------------------------------------------------- kiosks, wallet CLI


def test_register_kiosk_admin_only(desk: Desk) -> None:
    body = {"code": "hall-3", "name": "三号自助机", "district": "id-city"}
    assert desk.post("/api/identity/kiosks", body, who="commander").status_code == 403
    r = desk.post("/api/identity/kiosks", body, who="admin")
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    assert r.json()["kiosk"]["code"] == "hall-3"
    assert desk.post("/api/identity/kiosks", body, who="admin").status_code == 409
    r = desk.post("/api/identity/kiosks", {**body, "code": "hall-4", "district": "x"}, who="admin")
    assert r.status_code == 422 and r.json()["error"]["field"] == "district"
    r = desk.post("/api/identity/kiosks", {**body, "code": "Hall 4"}, who="admin")
    assert r.status_code == 422 and r.json()["error"]["field"] == "code"
    listed = desk.get("/api/identity/kiosks", who="officer").json()
    assert [k["code"] for k in listed] == ["hall-1", "hall-2", "hall-3"]
    desk.headers["hall-3"] = {"X-API-Key": key}
    assert desk.kiosk_offer("hall-3").status_code == 201


class _Borrowed:
    """The app's test client lent to the wallet CLI."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def __enter__(self) -> TestClient:
        return self.client

    def __exit__(self, *exc: object) -> None:
        return None


def test_wallet_cli_receives_from_an_offer(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from pingan.identity import cli

    hosts: list[str] = []

    def borrow(host: str) -> _Borrowed:
        hosts.append(host)
        return _Borrowed(desk.client)

    monkeypatch.setattr(cli, "http_client", borrow)
    runner = CliRunner()
    wallet = tmp_path / "wallet"
    assert runner.invoke(cli.app, ["wallet", "init", "--dir", str(wallet)]).exit_code == 0
    offer = desk.kiosk_offer().json()
    wrong = f"{(int(offer['tx_code']) + 1) % 1_000_000:06d}"
    failed = runner.invoke(
        cli.app, ["wallet", "receive", offer["offer_uri"], "--pin", wrong, "--dir", str(wallet)]
    )
    assert failed.exit_code == 1 and "invalid_grant" in failed.output
    ok = runner.invoke(
        cli.app,
        [
            "wallet",
            "receive",
            offer["offer_uri"],
            "--pin",
            offer["tx_code"],
            "--host",
            "http://testserver",
            "--dir",
            str(wallet),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert hosts == ["https://pingan.example", "http://testserver"]
    credential = (wallet / "credential.txt").read_text().strip()
    holder = sdjwt.load_jwk(json.loads((wallet / "holder.jwk").read_text()))
    assert isinstance(holder, sdjwt.PrivateKey)
    assert _verify_at_hotel(desk, credential, holder)["accepted"] is True
    bad = runner.invoke(cli.app, ["wallet", "receive", "https://x/?a=1", "--dir", str(wallet)])
    assert bad.exit_code != 0


# ---------------------------------------------------------------------------- issuer keys at rest


def test_issuer_keys_encrypted_at_rest_and_a_wrong_passphrase_stops_the_start(
    settings: Settings, database: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingan.identity import keystore
    from pingan.identity.settings import identity_settings

    def passphrase(value: str) -> None:
        monkeypatch.setenv(keystore.PASSPHRASE_ENV, value)
        identity_settings.cache_clear()
        keystore._cache.clear()

    monkeypatch.setattr(keystore, "_cache", {})
    monkeypatch.setattr(keystore, "KDF_ROUNDS", 1_000)
    monkeypatch.delenv(keystore.PASSPHRASE_ENV, raising=False)
    identity_settings.cache_clear()
    try:
        app = create_app(settings, background=False)
        Base.metadata.create_all(app.state.ctx.db.engine)
        with app.state.ctx.db.session() as s:
            old, _key = identity.active_key(db=s, data_dir=settings.data_dir)
            old_kid = old.kid
        keys = settings.data_dir / "identity" / "keys"
        assert (keys / f"{old_kid}.jwk").exists()  # no passphrase: today's plain file

        passphrase("s3cret passphrase")
        app = create_app(settings, background=False)
        with TestClient(app) as client:  # start-up migrates the plain file
            assert not (keys / f"{old_kid}.jwk").exists()
            assert (keys / f"{old_kid}.jwe").exists()
            r = client.post("/api/auth/login", json={"username": "x", "password": "y"})
            assert r.status_code == 401
        with app.state.ctx.db.session() as s:  # a rotated key is written encrypted
            new = identity.rotate_key(db=s, data_dir=settings.data_dir, actor=SYSTEM)
            new_kid = new.kid
        assert (keys / f"{new_kid}.jwe").exists() and not (keys / f"{new_kid}.jwk").exists()
        keystore._cache.clear()
        with app.state.ctx.db.session() as s:  # and is read back from the encrypted file
            row, key = identity.active_key(db=s, data_dir=settings.data_dir)
            assert row.kid == new_kid and sdjwt.public_jwk(key) == row.public_jwk

        passphrase("wrong passphrase")
        app = create_app(settings, background=False)
        with (
            pytest.raises(keystore.IssuerKeyError, match=keystore.PASSPHRASE_ENV),
            TestClient(app),
        ):
            pass
    finally:
        identity_settings.cache_clear()


def test_cli_registers_a_kiosk_and_checks_the_keys(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from pingan.core.settings import get_settings
    from pingan.identity import cli

    monkeypatch.setenv("PINGAN_DATABASE_URL", desk.settings.database_url_resolved)
    monkeypatch.setenv("PINGAN_DATA_DIR", str(desk.settings.data_dir))
    monkeypatch.setenv("PINGAN_LANG", "en")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        made = runner.invoke(
            cli.app, ["kiosk", "register", "hall-9", "--district", "id-city", "--name", "九号机"]
        )
        assert made.exit_code == 0, made.output
        key = made.output.strip().splitlines()[-1]
        assert "." in key and " " not in key
        again = runner.invoke(cli.app, ["kiosk", "register", "hall-9", "--district", "id-city"])
        assert again.exit_code == 1 and "hall-9" in again.output
        nowhere = runner.invoke(cli.app, ["kiosk", "register", "hall-8", "--district", "nowhere"])
        assert nowhere.exit_code == 1
        bad = runner.invoke(cli.app, ["kiosk", "register", "Hall 8", "--district", "id-city"])
        assert bad.exit_code != 0
        desk.headers["hall-9"] = {"X-API-Key": key}
        assert desk.kiosk_offer("hall-9").status_code == 201
        with desk.db.session() as s:  # the first issuer key is made on first use
            identity.active_key(db=s, data_dir=desk.settings.data_dir)
        checked = runner.invoke(cli.app, ["keys", "check"])
        assert checked.exit_code == 0, checked.output
        assert "1 issuer key file" in checked.output
    finally:
        get_settings.cache_clear()
