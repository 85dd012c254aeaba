"""Cross-checks with the ``sd-jwt`` reference library both ways, on the resident credential."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from pingan.identity import sdjwt
from pingan.identity.credential import issue_resident_credential
from pingan.identity.scenarios import CREDENTIAL_CLAIMS, Resident, credential_claims

pytest.importorskip("sd_jwt")
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

ISSUER = sdjwt.generate_key()
HOLDER = sdjwt.generate_key()
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
RESIDENT = Resident("王小明", "11010519491231002X", date(1990, 5, 17), "朝阳区", "sha256-00")


def _jwk(key: sdjwt.PrivateKey) -> JWK:
    return JWK.from_json(json.dumps(sdjwt.private_jwk(key)))


def test_reference_verifies_what_pingan_issues_and_presents() -> None:
    credential = issue_resident_credential(
        RESIDENT,
        issuer_key=ISSUER,
        issuer="https://bureau",
        holder_jwk=sdjwt.public_jwk(HOLDER),
        status_idx=1,
        status_uri="https://bureau/status/1",
        now=NOW,
    ).serialized
    presentation = sdjwt.present(
        credential,
        {"name": True, "age_over_18": True},
        holder_key=HOLDER,
        nonce="nonce-1",
        aud="https://rp",
    )
    public = JWK.from_json(json.dumps(sdjwt.public_jwk(ISSUER)))
    verifier = SDJWTVerifier(presentation, lambda iss, header: public, "https://rp", "nonce-1")
    claims = verifier.get_verified_payload()
    assert claims["name"] == "王小明" and claims["age_over_18"] is True
    assert "id_number" not in claims and "birth_date" not in claims
    # And the reference holder can present from Pingan's issuance.
    holder = SDJWTHolder(credential)
    holder.create_presentation({"id_number": True}, "nonce-2", "https://rp", _jwk(HOLDER))
    got = sdjwt.verify(
        holder.sd_jwt_presentation,
        issuer_keys=ISSUER.public_key(),
        expected_aud="https://rp",
        expected_nonce="nonce-2",
    )
    assert got.claims["id_number"] == "11010519491231002X" and "name" not in got.claims


def test_pingan_verifies_what_the_reference_issues_and_presents() -> None:
    claims = credential_claims(RESIDENT, NOW.date())
    user_claims: dict[Any, Any] = {"iss": "https://bureau", "iat": int(NOW.timestamp()), "vct": "x"}
    user_claims.update({SDObj(name): claims[name] for name in CREDENTIAL_CLAIMS})
    issuer = SDJWTIssuer(
        user_claims,
        _jwk(ISSUER),
        _jwk(HOLDER),
        add_decoy_claims=True,
        extra_header_parameters={"typ": "dc+sd-jwt"},
    )
    holder = SDJWTHolder(issuer.sd_jwt_issuance)
    holder.create_presentation(
        {"age_over_18": True, "address_district": True}, "n-9", "https://rp", _jwk(HOLDER)
    )
    got = sdjwt.verify(
        holder.sd_jwt_presentation,
        issuer_keys=ISSUER.public_key(),
        expected_aud="https://rp",
        expected_nonce="n-9",
        accepted_typs=frozenset({"dc+sd-jwt"}),
    )
    assert got.claims["age_over_18"] is True and got.claims["address_district"] == "朝阳区"
    assert {p[0] for p in got.disclosed_paths} == {"age_over_18", "address_district"}
    # A tampered reference presentation is refused by Pingan with the reason.
    jwt, first, *rest = holder.sd_jwt_presentation.split("~")
    tampered = "~".join([jwt, first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1], *rest])
    with pytest.raises(sdjwt.SdJwtError) as info:
        sdjwt.verify(
            tampered,
            issuer_keys=ISSUER.public_key(),
            expected_aud="https://rp",
            expected_nonce="n-9",
        )
    assert info.value.reason in {"unreferenced_disclosure", "malformed", "malformed_disclosure"}
