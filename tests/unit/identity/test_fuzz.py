"""Fuzzing the SD-JWT parser and verifier: any input ends in a result or an SdJwtError."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pingan.identity import sdjwt
from pingan.identity.statuslist import StatusList, StatusListError

ISSUER = sdjwt.generate_key()
HOLDER = sdjwt.generate_key()
NOW = 1_800_000_000
ISSUED = sdjwt.issue(
    {
        "iss": "https://bureau",
        "exp": NOW + 3600,
        sdjwt.SD("name"): "张三",
        sdjwt.SD("address"): {sdjwt.SD("district"): "朝阳区"},
        "tags": [sdjwt.SD("a"), "b"],
    },
    issuer_key=ISSUER,
    holder_jwk=sdjwt.public_jwk(HOLDER),
    decoys=True,
).serialized
PRESENTATION = sdjwt.present(
    ISSUED,
    {"name": True, "address": {"district": True}, "tags": [True]},
    holder_key=HOLDER,
    nonce="n",
    aud="a",
    iat=NOW,
)
JSON_PRESENTATION = sdjwt.present(
    sdjwt.issue(
        {sdjwt.SD("name"): "x"},
        issuer_key=ISSUER,
        holder_jwk=sdjwt.public_jwk(HOLDER),
        serialization="flattened",
    ).serialized,
    {"name": True},
    holder_key=HOLDER,
    nonce="n",
    aud="a",
    iat=NOW,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "_sd",
                    "...",
                    "a",
                    "payload",
                    "protected",
                    "signature",
                    "header",
                    "disclosures",
                    "kb_jwt",
                    "signatures",
                ]
            )
            | st.text(max_size=4),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def _attempt(text: Any) -> None:
    try:
        sdjwt.verify(text, issuer_keys=ISSUER.public_key(), now=NOW)
    except sdjwt.SdJwtError as exc:
        assert exc.reason in sdjwt.REASONS
        assert exc.part


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from("~.{}[]\"':,eyJ0-_AaZz9 \\"), max_size=120))
@example("~")
@example("..~")
@example("~~~")
@example("[" * 5000 + "]" * 5000)
@example("{" + '"a":' * 3000)
def test_random_text(text: str) -> None:
    _attempt(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_presentations(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from([PRESENTATION, JSON_PRESENTATION]))
    pos = data.draw(st.integers(0, len(base) - 1))
    action = data.draw(st.sampled_from(["replace", "delete", "insert", "swap_parts"]))
    char = data.draw(st.sampled_from('~.A_-={}"x0'))
    if action == "replace":
        mutated = base[:pos] + char + base[pos + 1 :]
    elif action == "delete":
        mutated = base[:pos] + base[pos + 1 :]
    elif action == "insert":
        mutated = base[:pos] + char + base[pos:]
    else:
        parts = base.split("~")
        data.draw(st.randoms()).shuffle(parts)
        mutated = "~".join(parts)
    if mutated == base:
        return
    try:
        got = sdjwt.verify(mutated, issuer_keys=ISSUER.public_key(), now=NOW)
    except sdjwt.SdJwtError as exc:
        assert exc.reason in sdjwt.REASONS
        return
    # Whatever survives a mutation must still be exactly what the issuer signed.
    assert got.claims["name"] == "张三" or got.claims.get("name") in (None, "x")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_json_documents(value: Any) -> None:
    _attempt(json.dumps(value))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values, max_size=4), json_values)
def test_signed_payloads_with_arbitrary_disclosures(disclosures: list[Any], payload: Any) -> None:
    """Even a correctly signed payload of any shape, with any disclosures, never crashes."""
    body = payload if isinstance(payload, dict) else {"x": payload}
    jwt = sdjwt.jws_sign({"alg": "ES256", "typ": "dc+sd-jwt"}, body, ISSUER)
    encoded = [sdjwt.b64url_encode(json.dumps(d).encode()) for d in disclosures]
    _attempt("~".join([jwt, *encoded]) + "~")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.integers(-2, 9))
def test_status_list_decoding(lst: str, bits: int) -> None:
    try:
        StatusList.decode(lst, bits)
    except StatusListError as exc:
        assert exc.reason == "malformed"
