"""RFC 9901 SD-JWT: issuance, presentation, verification and every rejection reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pingan.identity import sdjwt
from pingan.identity.sdjwt import SD, SdJwtError

NOW = 1_800_000_000
ISSUER = sdjwt.generate_key()
HOLDER = sdjwt.generate_key()
OTHER = sdjwt.generate_key()
AUD = "https://hotel.example"
NONCE = "n-0123456789"


def _claims() -> dict[Any, Any]:
    return {
        "iss": "https://bureau.example",
        "iat": NOW - 10,
        "exp": NOW + 3600,
        SD("name"): "张三",
        SD("id_number"): "11010519491231002X",
        SD("address"): {SD("district"): "朝阳区", SD("street"): "建国路 1 号", "country": "CN"},
        "nationalities": [SD("CN"), SD("HK"), "MO"],
    }


def _issue(**kwargs: Any) -> sdjwt.Issued:
    base: dict[str, Any] = {
        "issuer_key": ISSUER,
        "holder_jwk": sdjwt.public_jwk(HOLDER),
    }
    base.update(kwargs)
    claims = base.pop("claims", _claims())
    return sdjwt.issue(claims, **base)


def _present(serialized: str, frame: Any, **kwargs: Any) -> str:
    opts: dict[str, Any] = {"holder_key": HOLDER, "nonce": NONCE, "aud": AUD, "iat": NOW}
    opts.update(kwargs)
    return sdjwt.present(serialized, frame, **opts)


def _verify(presentation: str, **kwargs: Any) -> sdjwt.Verified:
    opts: dict[str, Any] = {
        "issuer_keys": ISSUER.public_key(),
        "expected_aud": AUD,
        "expected_nonce": NONCE,
        "now": NOW,
    }
    opts.update(kwargs)
    return sdjwt.verify(presentation, **opts)


def _reason(presentation: str, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(SdJwtError) as info:
        _verify(presentation, **kwargs)
    return info.value.reason, info.value.part


# ------------------------------------------------------------------ happy paths


def test_issue_present_verify_only_the_chosen_claims() -> None:
    issued = _issue()
    assert issued.jwt.count(".") == 2
    header = json.loads(sdjwt.b64url_decode(issued.jwt.split(".")[0]))
    assert header == {"alg": "ES256", "typ": "dc+sd-jwt"}
    assert "name" not in issued.payload and len(issued.payload["_sd"]) == 3
    assert issued.payload["cnf"]["jwk"] == sdjwt.public_jwk(HOLDER)
    presentation = _present(issued.serialized, {"name": True, "address": {"district": True}})
    got = _verify(presentation)
    assert got.claims["name"] == "张三"
    assert got.claims["address"] == {"district": "朝阳区", "country": "CN"}
    assert "id_number" not in got.claims
    assert got.claims["nationalities"] == ["MO"]
    assert set(got.disclosed_paths) == {("name",), ("address",), ("address", "district")}
    assert got.kb_payload is not None and got.kb_payload["sd_hash"]


def test_array_elements_and_recursive_disclosures() -> None:
    issued = _issue()
    presentation = _present(issued.serialized, {"nationalities": [False, True]})
    assert _verify(presentation).claims["nationalities"] == ["HK", "MO"]
    # Asking for a nested claim brings its (disclosable) parent along.
    chosen = sdjwt.select(sdjwt.parse(issued.serialized), sdjwt.frame_for(["address.street"]))
    names = [sdjwt.Disclosure.parse(d, "d").name for d in chosen]
    assert names == ["address", "street"]


def test_decoys_are_indistinguishable_and_ignored() -> None:
    issued = _issue(decoys=True)
    assert len(issued.decoy_digests) >= 2
    signed_text = json.dumps([issued.payload, [d.value for d in issued.disclosures]])
    assert all(decoy in signed_text for decoy in issued.decoy_digests)
    assert set(issued.decoy_digests) & set(issued.payload["_sd"])
    got = _verify(_present(issued.serialized, {"name": True}))
    assert got.claims["name"] == "张三"


def test_without_key_binding_and_all_disclosures() -> None:
    issued = _issue(holder_jwk=None)
    got = sdjwt.verify(issued.serialized, issuer_keys=ISSUER.public_key(), now=NOW)
    assert got.kb_payload is None
    assert got.claims["address"]["street"] == "建国路 1 号"


@pytest.mark.parametrize("form", ["flattened", "general"])
def test_json_serializations_round_trip(form: sdjwt.Serialization) -> None:
    issued = _issue(serialization=form)
    doc = json.loads(issued.serialized)
    header = doc["header"] if form == "flattened" else doc["signatures"][0]["header"]
    assert len(header["disclosures"]) == len(issued.disclosures)
    presentation = _present(issued.serialized, {"name": True})
    got = _verify(presentation)
    assert got.claims["name"] == "张三"
    assert "id_number" not in got.claims
    # sd_hash covers the compact form, as RFC 9901 section 8 says.
    parsed = sdjwt.parse(presentation)
    assert got.kb_payload is not None
    assert got.kb_payload["sd_hash"] == sdjwt.digest(parsed.sd_hash_input())


def test_jwk_round_trip_and_key_checks() -> None:
    jwk = sdjwt.private_jwk(ISSUER)
    key = sdjwt.load_jwk(jwk)
    assert sdjwt.public_jwk(key) == sdjwt.public_jwk(ISSUER)
    with pytest.raises(SdJwtError) as info:
        sdjwt.load_jwk({"kty": "RSA", "n": "x", "e": "AQAB"})
    assert info.value.reason == "unsupported_key"
    with pytest.raises(SdJwtError):
        sdjwt.load_jwk({**sdjwt.public_jwk(ISSUER), "x": sdjwt.public_jwk(OTHER)["x"]})
    bad = dict(jwk, x=sdjwt.public_jwk(OTHER)["x"])
    with pytest.raises(SdJwtError) as info:
        sdjwt.load_jwk(bad)
    assert info.value.reason == "malformed"


# ------------------------------------------------------------------ rejections


def _tamper_payload(jwt: str, change: Any) -> str:
    h, p, s = jwt.split(".")
    payload = json.loads(sdjwt.b64url_decode(p))
    change(payload)
    return ".".join([h, sdjwt.b64url_encode(json.dumps(payload).encode()), s])


def test_wrong_signature() -> None:
    issued = _issue()
    presentation = _present(issued.serialized, {"name": True})
    assert _reason(presentation, issuer_keys=OTHER.public_key()) == ("bad_signature", "jwt")
    tampered = _tamper_payload(issued.jwt, lambda p: p.update(exp=NOW * 2))
    forged = presentation.replace(issued.jwt, tampered)
    assert _reason(forged)[0] == "bad_signature"


def test_signature_of_wrong_length_and_unknown_alg() -> None:
    issued = _issue(holder_jwk=None)
    h, p, _ = issued.jwt.split(".")
    short = f"{h}.{p}.{sdjwt.b64url_encode(b'x' * 10)}~"
    assert _reason(short, expected_aud=None, expected_nonce=None)[0] == "bad_signature"
    none_header = sdjwt.b64url_encode(b'{"alg": "none", "typ": "dc+sd-jwt"}')
    unsigned = f"{none_header}.{p}.~"
    assert _reason(unsigned, expected_aud=None, expected_nonce=None) == (
        "unsupported_alg",
        "jwt.header",
    )


def test_unknown_issuer_resolver() -> None:
    issued = _issue(holder_jwk=None)
    reason = _reason(
        issued.serialized, issuer_keys=lambda h, p: None, expected_aud=None, expected_nonce=None
    )
    assert reason == ("unknown_issuer", "jwt")


def test_tampered_disclosure_is_unreferenced() -> None:
    issued = _issue()
    presentation = _present(issued.serialized, {"name": True})
    parts = presentation.split("~")
    salt, name, _ = json.loads(sdjwt.b64url_decode(parts[1]))
    parts[1] = sdjwt.b64url_encode(json.dumps([salt, name, "李四"]).encode())
    reason, part = _reason("~".join(parts))
    assert (reason, part) == ("unreferenced_disclosure", "disclosure[0]")


def test_sd_hash_detects_an_added_disclosure() -> None:
    issued = _issue()
    presentation = _present(issued.serialized, {"name": True})
    extra = next(d.encoded for d in issued.disclosures if d.name == "id_number")
    jwt, first, kb = presentation.split("~")
    assert _reason(f"{jwt}~{first}~{extra}~{kb}") == ("kb_sd_hash_mismatch", "kb_jwt.payload")


def test_duplicate_disclosure_and_duplicate_digest() -> None:
    issued = _issue(holder_jwk=None)
    name = next(d.encoded for d in issued.disclosures if d.name == "name")
    doubled = f"{issued.jwt}~{name}~{name}~"
    assert _reason(doubled, expected_aud=None, expected_nonce=None) == (
        "duplicate_disclosure",
        "disclosure[1]",
    )
    # A digest that appears twice in the signed payload (issuer bug or crafted): refused.
    d = sdjwt.Disclosure.create("salt", "a", 1)
    jwt = sdjwt.jws_sign(
        {"alg": "ES256", "typ": "dc+sd-jwt"},
        {"_sd": [d.digest], "nested": {"_sd": [d.digest]}, "_sd_alg": "sha-256"},
        ISSUER,
    )
    assert _reason(f"{jwt}~{d.encoded}~", expected_aud=None, expected_nonce=None)[0] == (
        "duplicate_digest"
    )


def _signed(payload: dict[str, Any], *disclosures: sdjwt.Disclosure) -> str:
    jwt = sdjwt.jws_sign({"alg": "ES256", "typ": "dc+sd-jwt"}, payload, ISSUER)
    return "~".join([jwt, *(d.encoded for d in disclosures)]) + "~"


def _plain_reason(serialized: str, **kwargs: Any) -> tuple[str, str]:
    return _reason(serialized, expected_aud=None, expected_nonce=None, **kwargs)


def test_claim_collision_and_disclosure_kinds() -> None:
    d = sdjwt.Disclosure.create("s1", "name", "x")
    assert _plain_reason(_signed({"name": "y", "_sd": [d.digest]}, d)) == (
        "claim_collision",
        "disclosure[0]",
    )
    element = sdjwt.Disclosure.create("s2", None, "x")
    assert _plain_reason(_signed({"_sd": [element.digest]}, element))[0] == "disclosure_kind"
    assert _plain_reason(_signed({"list": [{"...": d.digest}]}, d))[0] == "disclosure_kind"


def test_forbidden_claim_names_and_malformed_disclosures() -> None:
    for content in (["s", "_sd", 1], ["s", "...", 1]):
        encoded = sdjwt.b64url_encode(json.dumps(content).encode())
        reason = _plain_reason(f"{_signed({'_sd': []})}{encoded}~")
        assert reason == ("forbidden_claim_name", "disclosure[0]")
    bad: list[Any] = [[1, "a", 2], ["s"], ["s", 1, 2], {"a": 1}, ["s", "a", 1, 2]]
    for content in bad:
        encoded = sdjwt.b64url_encode(json.dumps(content).encode())
        assert _plain_reason(f"{_signed({})}{encoded}~")[0] == "malformed_disclosure"
    assert _plain_reason(f"{_signed({})}!!notbase64~") == ("malformed", "disclosure[0]")
    assert _plain_reason(_signed({"_sd": "abc"})) == ("malformed", "jwt.payload")
    assert _plain_reason(_signed({"_sd": [1]})) == ("malformed", "jwt.payload")


def test_unsupported_sd_alg() -> None:
    assert _plain_reason(_signed({"_sd_alg": "md5"})) == ("unsupported_sd_alg", "jwt.payload")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": NOW - 61}, "expired"),
        ({"nbf": NOW + 61}, "not_yet_valid"),
        ({"iat": NOW + 61}, "issued_in_future"),
        ({"exp": "tomorrow"}, "malformed"),
        ({"exp": True}, "malformed"),
    ],
)
def test_time_claims(claims: dict[str, Any], reason: str) -> None:
    assert _plain_reason(_signed(claims))[0] == reason


def test_time_claims_within_leeway_pass() -> None:
    ok = _signed({"exp": NOW - 30, "nbf": NOW + 30, "iat": NOW + 30})
    assert sdjwt.verify(ok, issuer_keys=ISSUER, now=NOW).claims["exp"] == NOW - 30


def test_wrong_typ_when_a_profile_is_required() -> None:
    issued = _issue(typ="example+sd-jwt", holder_jwk=None)
    reason = _plain_reason(issued.serialized, accepted_typs=frozenset({"dc+sd-jwt"}))
    assert reason == ("wrong_typ", "jwt.header")


def test_key_binding_rejections() -> None:
    issued = _issue()
    frame = {"name": True}
    assert _reason(_present(issued.serialized, frame, nonce="other")) == (
        "kb_wrong_nonce",
        "kb_jwt.payload",
    )
    assert _reason(_present(issued.serialized, frame, aud="https://evil.example")) == (
        "kb_wrong_audience",
        "kb_jwt.payload",
    )
    assert _reason(_present(issued.serialized, frame, iat=NOW - 1000))[0] == "kb_stale"
    assert _reason(_present(issued.serialized, frame, iat=NOW + 1000))[0] == "kb_issued_in_future"
    assert _reason(_present(issued.serialized, frame, holder_key=OTHER)) == (
        "kb_bad_signature",
        "kb_jwt",
    )
    no_kb = sdjwt.present(issued.serialized, frame)
    assert no_kb.endswith("~")
    assert _reason(no_kb) == ("kb_missing", "kb_jwt")
    unbound = _issue(holder_jwk=None)
    assert _reason(_present(unbound.serialized, frame)) == ("no_holder_key", "jwt.payload")


def test_kb_jwt_with_wrong_typ() -> None:
    issued = _issue()
    presentation = _present(issued.serialized, {"name": True})
    head, _, kb = presentation.rpartition("~")
    kb_payload = json.loads(sdjwt.b64url_decode(kb.split(".")[1]))
    wrong = sdjwt.jws_sign({"alg": "ES256", "typ": "JWT"}, kb_payload, HOLDER)
    assert _reason(f"{head}~{wrong}") == ("kb_wrong_typ", "kb_jwt.header")


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("", "sd_jwt"),
        ("not-a-jwt", "sd_jwt"),
        ("a.b~", "jwt"),
        ("a.b.c.d~", "jwt"),
        ("!!.e30.AA~", "jwt.header"),
        ("e30.!!.AA~", "jwt.payload"),
        ("e30.e30.!!~", "jwt.signature"),
        ("W10.e30.AA~", "jwt.header"),
        ("e30.bnVsbA.AA~", "jwt.payload"),
        ("{", "sd_jwt"),
        ("{}", "sd_jwt"),
        ('{"payload": "e30"}', "signatures[0]"),
        ('{"payload": "e30", "signatures": []}', "sd_jwt"),
        ('{"payload": "e30", "protected": "e30", "signature": "AA"}', "sd_jwt"),
        ('{"payload": "e30", "protected": "e30", "signature": "AA", "header": []}', "sd_jwt"),
    ],
)
def test_malformed_input_names_the_part(text: str, part: str) -> None:
    with pytest.raises(SdJwtError) as info:
        sdjwt.verify(text, issuer_keys=ISSUER, now=NOW)
    assert info.value.reason == "malformed"
    assert info.value.part == part


def test_empty_disclosure_and_malformed_kb_jwt() -> None:
    issued = _issue()
    with pytest.raises(SdJwtError) as info:
        sdjwt.parse(f"{issued.jwt}~~x.y.z")
    assert (info.value.reason, info.value.part) == ("malformed", "disclosure[0]")
    assert _reason(f"{issued.jwt}~not-a-kb") == ("malformed", "kb_jwt")


def test_issue_refuses_reserved_names() -> None:
    with pytest.raises(SdJwtError) as info:
        sdjwt.issue({"_sd": []}, issuer_key=ISSUER)
    assert info.value.reason == "invalid_claims"
    with pytest.raises(SdJwtError):
        sdjwt.issue({"a": SD(1)}, issuer_key=ISSUER)
    with pytest.raises(SdJwtError) as info:
        sdjwt.present(_issue().serialized, {"name": True}, holder_key=HOLDER)
    assert info.value.reason == "invalid_request"


def test_signature_cache_skips_only_the_issuer_signature_it_has_seen() -> None:
    cache = sdjwt.SignatureCache(size=2)
    issued = _issue()
    presentation = _present(issued.serialized, {"name": True})
    assert _verify(presentation, signature_cache=cache).claims["name"] == "张三"
    assert len(cache._seen) == 1
    # A hit still checks the key binding, the disclosures and the time claims.
    assert (
        _reason(_present(issued.serialized, {"name": True}, nonce="x"), signature_cache=cache)[0]
        == "kb_wrong_nonce"
    )
    assert _reason(presentation, signature_cache=cache, now=NOW + 7200)[0] == "expired"
    # A forged payload with the cached signature is not a hit.
    forged = presentation.replace(
        issued.jwt, _tamper_payload(issued.jwt, lambda p: p.update(exp=NOW * 2))
    )
    assert _reason(forged, signature_cache=cache)[0] == "bad_signature"
    # Nor is the same JWT under another key.
    assert _reason(presentation, signature_cache=cache, issuer_keys=OTHER.public_key())[0] == (
        "bad_signature"
    )
    for _ in range(3):  # bounded
        _verify(_present(_issue().serialized, {"name": True}), signature_cache=cache)
    assert len(cache._seen) == 2


def test_critical_header_parameters_are_refused() -> None:
    payload = {"iss": "x"}
    jwt = sdjwt.jws_sign({"alg": "ES256", "typ": "dc+sd-jwt", "crit": ["b64"]}, payload, ISSUER)
    assert _plain_reason(jwt + "~") == ("unsupported_crit", "jwt.header")
    issued = _issue()
    head, _, kb = _present(issued.serialized, {"name": True}).rpartition("~")
    kb_payload = json.loads(sdjwt.b64url_decode(kb.split(".")[1]))
    crit_kb = sdjwt.jws_sign({"alg": "ES256", "typ": "kb+jwt", "crit": ["x"]}, kb_payload, HOLDER)
    assert _reason(f"{head}~{crit_kb}") == ("kb_unsupported_crit", "kb_jwt.header")


def test_default_times_come_from_the_platform_clock() -> None:
    from datetime import UTC, datetime

    from pingan.core import clock

    at = datetime.fromtimestamp(NOW, UTC)
    issued = _issue()
    with clock.frozen(at):
        presentation = sdjwt.present(
            issued.serialized, {"name": True}, holder_key=HOLDER, nonce=NONCE, aud=AUD
        )
        assert sdjwt.verify(
            presentation, issuer_keys=ISSUER, expected_aud=AUD, expected_nonce=NONCE
        ).kb_payload == {
            "nonce": NONCE,
            "aud": AUD,
            "iat": NOW,
            "sd_hash": sdjwt.digest(sdjwt.parse(presentation).sd_hash_input()),
        }
    with clock.frozen(datetime.fromtimestamp(NOW + 7200, UTC)):
        assert _reason(presentation, now=None)[0] == "expired"


def test_the_seed_reproduces_the_rfc_first_salt() -> None:
    # RFC 9901 section 5.1: the given_name disclosure of the main example.
    assert sdjwt.ExampleRandomness(0).salt() == "2GLC42sKQveCfGfryNRN9w"
    d = sdjwt.Disclosure.create("2GLC42sKQveCfGfryNRN9w", "given_name", "John")
    assert d.encoded == "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd"
    assert d.digest == "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4"


def test_frame_for_merges_paths() -> None:
    assert sdjwt.frame_for(["address", "address.district", "name"]) == {
        "address": {"district": True},
        "name": True,
    }
    assert sdjwt.frame_for(["address.district", "address"]) == {"address": {"district": True}}
    issued = _issue()
    got = _verify(_present(issued.serialized, sdjwt.frame_for(["address", "address.street"])))
    assert got.claims["address"] == {"street": "建国路 1 号", "country": "CN"}


def test_issue_refuses_values_that_are_not_json() -> None:
    from datetime import date

    with pytest.raises(SdJwtError) as info:
        sdjwt.issue({SD("birth"): date(2000, 1, 1)}, issuer_key=ISSUER)
    assert (info.value.reason, info.value.part) == ("invalid_claims", "claims")


def test_jwk_thumbprint_matches_jwcrypto() -> None:
    jwk_mod = pytest.importorskip("jwcrypto.jwk")
    ours = sdjwt.jwk_thumbprint(HOLDER)
    theirs = jwk_mod.JWK.from_json(json.dumps(sdjwt.public_jwk(HOLDER))).thumbprint()
    assert ours == theirs == sdjwt.jwk_thumbprint(sdjwt.private_jwk(HOLDER))
    with pytest.raises(SdJwtError):
        sdjwt.jwk_thumbprint({"kty": "EC", "crv": "P-256"})
