"""IETF Token Status List: encoding, test vectors, the status list token, status references."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.identity import sdjwt
from pingan.identity.statuslist import (
    INVALID,
    SUSPENDED,
    VALID,
    StatusList,
    StatusListError,
    issue_status_list_token,
    status_reference,
    verify_status_list_token,
)

KEY = sdjwt.generate_key()
URI = "https://pingan.example/identity/status/1"
NOW = 1_800_000_000


def test_one_bit_test_vector() -> None:
    statuses = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
    lst = StatusList.from_statuses(statuses, bits=1)
    assert bytes(lst.data) == b"\xb9\xa3"
    assert lst.encode() == "eNrbuRgAAhcBXQ"
    decoded = StatusList.decode("eNrbuRgAAhcBXQ", 1)
    assert [decoded.get(i) for i in range(16)] == statuses


def test_two_bit_statuses_valid_invalid_suspended() -> None:
    statuses = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
    lst = StatusList.from_statuses(statuses, bits=2)
    assert bytes(lst.data) == b"\xc9\x44\xf9"  # draft-ietf-oauth-status-list section 4.1 example
    assert lst.encode() == "eNo76fITAAPfAgc"
    back = StatusList.decode(lst.encode(), 2)
    assert [back.get(i) for i in range(len(statuses))] == statuses
    assert back.get(1) == SUSPENDED and back.get(0) == INVALID and back.get(2) == VALID


@settings(deadline=None)
@given(st.sampled_from([1, 2, 4, 8]), st.data())
def test_round_trip_any_bits(bits: int, data: st.DataObject) -> None:
    statuses = data.draw(st.lists(st.integers(0, (1 << bits) - 1), max_size=200))
    lst = StatusList.from_statuses(statuses, bits)
    back = StatusList.decode(lst.encode(), bits)
    assert [back.get(i) for i in range(len(statuses))] == statuses


def test_set_and_bounds() -> None:
    lst = StatusList.empty(10, bits=2)
    assert len(lst) == 12  # whole bytes
    lst.set(9, SUSPENDED)
    assert lst.get(9) == SUSPENDED and lst.get(8) == VALID
    for bad in (-1, 12, True):
        with pytest.raises(StatusListError) as info:
            lst.get(bad)
        assert info.value.reason == "status_index_out_of_range"
    with pytest.raises(StatusListError):
        lst.set(0, 4)
    with pytest.raises(StatusListError):
        StatusList.empty(8, bits=3)


@pytest.mark.parametrize(
    "claim",
    [
        None,
        [],
        {"bits": 1},
        {"bits": "1", "lst": "eNrbuRgAAhcBXQ"},
        {"bits": 3, "lst": "eNo"},
        {"bits": 1, "lst": "!!"},
        {"bits": 1, "lst": sdjwt.b64url_encode(b"not zlib")},
        {"bits": 1, "lst": sdjwt.b64url_encode(zlib.compress(b"\x00" * 100)[:-4])},
    ],
)
def test_malformed_status_list_claims(claim: object) -> None:
    with pytest.raises(StatusListError) as info:
        StatusList.from_claim(claim)
    assert info.value.reason == "malformed"


def test_zip_bomb_is_refused() -> None:
    bomb = sdjwt.b64url_encode(zlib.compress(b"\x00" * (17 * 1024 * 1024), 9))
    with pytest.raises(StatusListError) as info:
        StatusList.decode(bomb, 1)
    assert info.value.reason == "malformed"


def test_status_list_token_round_trip_and_rejections() -> None:
    lst = StatusList.from_statuses([0, 1, 2, 0], bits=2)
    token = issue_status_list_token(lst, uri=URI, key=KEY, iat=NOW, exp=NOW + 3600, ttl=300)
    header = sdjwt.parse_jws(token).header
    assert header["typ"] == "statuslist+jwt"
    got = verify_status_list_token(token, key=KEY.public_key(), expected_uri=URI, now=NOW)
    assert [got.get(i) for i in range(4)] == [0, 1, 2, 0]
    cases = [
        (
            {"key": sdjwt.generate_key().public_key(), "expected_uri": URI, "now": NOW},
            "bad_signature",
        ),
        ({"key": KEY, "expected_uri": URI + "x", "now": NOW}, "status_uri_mismatch"),
        ({"key": KEY, "expected_uri": URI, "now": NOW + 7200}, "expired"),
    ]
    for kwargs, reason in cases:
        with pytest.raises(StatusListError) as info:
            verify_status_list_token(token, **kwargs)  # type: ignore[arg-type]
        assert info.value.reason == reason
    wrong_typ = sdjwt.jws_sign({"alg": "ES256", "typ": "JWT"}, {"sub": URI}, KEY)
    with pytest.raises(StatusListError) as info:
        verify_status_list_token(wrong_typ, key=KEY, expected_uri=URI, now=NOW)
    assert info.value.reason == "wrong_typ"


def test_status_reference() -> None:
    assert status_reference({}) is None
    assert status_reference({"status": {"status_list": {"idx": 3, "uri": URI}}}) == (3, URI)
    for bad in (
        {"status": 1},
        {"status": {"status_list": {"idx": -1, "uri": URI}}},
        {"status": {"status_list": {"idx": "3", "uri": URI}}},
    ):
        with pytest.raises(StatusListError):
            status_reference(bad)
