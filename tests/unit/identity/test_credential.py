"""The resident digital ID (SD-JWT VC) and relying-party scenarios, end to end."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from pingan.identity import sdjwt
from pingan.identity.credential import (
    VCT,
    NonceStore,
    Verdict,
    issue_resident_credential,
    present_for_scenario,
    verify_for_scenario,
)
from pingan.identity.scenarios import (
    CREDENTIAL_CLAIMS,
    DEFAULT_REGISTRY,
    Resident,
    ScenarioError,
    age_claims,
    age_on,
    get_scenario,
    load_registry,
    parse_registry,
)
from pingan.identity.statuslist import INVALID, SUSPENDED, StatusList

ISSUER = sdjwt.generate_key()
HOLDER = sdjwt.generate_key()
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
URI = "https://pingan.example/identity/status/1"
RESIDENT = Resident(
    name="王小明",
    id_number="11010519491231002X",
    birth_date=date(2000, 2, 29),
    address_district="朝阳区",
    photo_hash="sha256-" + "ab" * 32,
)


def _credential(resident: Resident = RESIDENT, now: datetime = NOW, idx: int = 0) -> str:
    return issue_resident_credential(
        resident,
        issuer_key=ISSUER,
        issuer="https://bureau.pingan.example",
        holder_jwk=sdjwt.public_jwk(HOLDER),
        status_idx=idx,
        status_uri=URI,
        now=now,
    ).serialized


class Desk:
    """A relying party: nonce store, status list, audience."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.nonces = NonceStore()
        self.status = StatusList.from_statuses(statuses or [0] * 16, bits=2)
        self.audience = "https://rp.example/desk-1"

    def check(self, presentation: str, scenario_id: str, nonce: str, **kwargs: Any) -> Verdict:
        return verify_for_scenario(
            presentation,
            get_scenario(scenario_id),
            issuer_keys=ISSUER.public_key(),
            audience=self.audience,
            nonce=nonce,
            nonces=self.nonces,
            status_lists=lambda uri: self.status,
            now=kwargs.pop("now", NOW),
            **kwargs,
        )

    def round(self, scenario_id: str, credential: str | None = None, **kwargs: Any) -> Verdict:
        nonce = self.nonces.issue(self.audience, NOW)
        presentation = present_for_scenario(
            credential or _credential(),
            get_scenario(scenario_id),
            holder_key=HOLDER,
            nonce=nonce,
            audience=self.audience,
            now=NOW,
        )
        return self.check(presentation, scenario_id, nonce, **kwargs)


def test_registry_has_at_least_30_bilingual_scenarios() -> None:
    registry = load_registry()
    assert len(registry) >= 30
    for scenario in registry.values():
        assert scenario.claims <= set(CREDENTIAL_CLAIMS)
        assert scenario.label("zh-CN") and scenario.label("en")
    assert get_scenario("internet_cafe").claims == {"age_over_18"}
    assert get_scenario("hotel_checkin").claims == {"name", "id_number"}
    assert get_scenario("ticket_gate").claims == {"name"}


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({}, "scenarios"),
        ({"scenarios": [1]}, "scenarios[0]"),
        ({"scenarios": [{"id": "a b"}]}, "scenarios[0].id"),
        ({"scenarios": [{"id": "a", "name": {"en": "A"}}]}, "scenarios[0].name"),
    ],
)
def test_registry_validation_names_the_field(document: Any, field: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_registry(document)
    assert info.value.field == field


def test_registry_refuses_unknown_claims_and_duplicates() -> None:
    raw = json.loads(DEFAULT_REGISTRY.read_text(encoding="utf-8"))
    one = raw["scenarios"][0]
    with pytest.raises(ScenarioError) as info:
        parse_registry({"scenarios": [dict(one, claims=["blood_type"])]})
    assert info.value.field == "scenarios[0].claims"
    with pytest.raises(ScenarioError) as info:
        parse_registry({"scenarios": [one, one]})
    assert info.value.field == "scenarios[1].id"
    with pytest.raises(ScenarioError):
        get_scenario("casino")


def test_age_claims_including_leap_day_birthdays() -> None:
    assert age_on(date(2008, 11, 29), date(2026, 11, 29)) == 18
    assert age_on(date(2008, 11, 30), date(2026, 11, 29)) == 17
    assert age_claims(date(2008, 2, 29), date(2026, 2, 28))["age_over_18"] is False
    assert age_claims(date(2008, 2, 29), date(2026, 3, 1))["age_over_18"] is True
    assert age_claims(date(1960, 1, 1), date(2026, 1, 1)) == {
        "age_over_14": True,
        "age_over_16": True,
        "age_over_18": True,
        "age_over_60": True,
    }
    with pytest.raises(ScenarioError):
        age_on(date(2030, 1, 1), date(2026, 1, 1))


def test_credential_shape() -> None:
    issued = issue_resident_credential(
        RESIDENT,
        issuer_key=ISSUER,
        issuer="https://bureau",
        holder_jwk=sdjwt.public_jwk(HOLDER),
        status_idx=7,
        status_uri=URI,
        now=NOW,
        kid="bureau-1",
    )
    header = sdjwt.parse(issued.serialized).jwt.header
    assert header == {"alg": "ES256", "typ": "dc+sd-jwt", "kid": "bureau-1"}
    p = issued.payload
    assert p["vct"] == VCT and p["status"] == {"status_list": {"idx": 7, "uri": URI}}
    assert p["cnf"]["jwk"] == sdjwt.public_jwk(HOLDER)
    assert {d.name for d in issued.disclosures} == set(CREDENTIAL_CLAIMS)
    assert not set(CREDENTIAL_CLAIMS) & set(p)
    assert len(p["_sd"]) > len(CREDENTIAL_CLAIMS)  # decoys


def test_expiry_is_capped_at_the_next_age_threshold() -> None:
    young = Resident("李雷", "11010520091130001X", date(2009, 3, 1), "海淀区", "h")
    issued = issue_resident_credential(
        young,
        issuer_key=ISSUER,
        issuer="i",
        holder_jwk=sdjwt.public_jwk(HOLDER),
        status_idx=0,
        status_uri=URI,
        now=NOW,
    )
    assert datetime.fromtimestamp(issued.payload["exp"], UTC).date() == date(2027, 3, 1)
    claims = {d.name: d.value for d in issued.disclosures}
    assert claims["age_over_16"] is True and claims["age_over_18"] is False


def test_internet_cafe_sees_only_age_over_18() -> None:
    verdict = Desk().round("internet_cafe")
    assert verdict.accepted and verdict.reason == "accepted"
    assert verdict.claims == {"age_over_18": True}


def test_hotel_and_ticket_gate_name_match() -> None:
    desk = Desk()
    hotel = desk.round("hotel_checkin")
    assert hotel.claims == {"name": "王小明", "id_number": "11010519491231002X"}
    assert desk.round("ticket_gate", expected={"name": "王小明"}).accepted
    mismatch = desk.round("ticket_gate", expected={"name": "韩梅梅"})
    assert (mismatch.accepted, mismatch.reason, mismatch.part) == (False, "claim_mismatch", "name")


def test_every_scenario_round_trips() -> None:
    desk = Desk()
    for scenario_id, scenario in load_registry().items():
        verdict = desk.round(scenario_id)
        assert verdict.accepted, (scenario_id, verdict)
        assert set(verdict.claims) == scenario.claims


def test_over_disclosure_is_refused() -> None:
    desk = Desk()
    nonce = desk.nonces.issue(desk.audience, NOW)
    presentation = sdjwt.present(
        _credential(),
        {"age_over_18": True, "name": True},
        holder_key=HOLDER,
        nonce=nonce,
        aud=desk.audience,
        iat=int(NOW.timestamp()),
    )
    verdict = desk.check(presentation, "internet_cafe", nonce)
    assert (verdict.reason, verdict.detail) == ("over_disclosure", "name")
    assert verdict.claims == {}


def test_missing_claims() -> None:
    desk = Desk()
    nonce = desk.nonces.issue(desk.audience, NOW)
    presentation = sdjwt.present(
        _credential(),
        {"name": True},
        holder_key=HOLDER,
        nonce=nonce,
        aud=desk.audience,
        iat=int(NOW.timestamp()),
    )
    verdict = desk.check(presentation, "hotel_checkin", nonce)
    assert (verdict.reason, verdict.detail) == ("missing_claims", "id_number")


def test_replayed_unknown_and_expired_nonces() -> None:
    desk = Desk()
    nonce = desk.nonces.issue(desk.audience, NOW)
    presentation = present_for_scenario(
        _credential(),
        get_scenario("internet_cafe"),
        holder_key=HOLDER,
        nonce=nonce,
        audience=desk.audience,
        now=NOW,
    )
    assert desk.check(presentation, "internet_cafe", nonce).accepted
    assert desk.check(presentation, "internet_cafe", nonce).reason == "replayed_nonce"
    assert desk.check(presentation, "internet_cafe", "made-up").reason == "unknown_nonce"
    late = desk.nonces.issue(desk.audience, NOW)
    verdict = desk.check(presentation, "internet_cafe", late, now=NOW + timedelta(minutes=6))
    assert verdict.reason == "nonce_expired"


def test_wrong_audience_and_nonce_in_the_kb_jwt() -> None:
    desk = Desk()
    nonce = desk.nonces.issue(desk.audience, NOW)
    elsewhere = present_for_scenario(
        _credential(),
        get_scenario("internet_cafe"),
        holder_key=HOLDER,
        nonce=nonce,
        audience="https://other-rp.example",
        now=NOW,
    )
    assert desk.check(elsewhere, "internet_cafe", nonce).reason == "kb_wrong_audience"
    other_nonce = desk.nonces.issue(desk.audience, NOW)
    assert desk.check(elsewhere.replace("x", "x"), "internet_cafe", other_nonce).reason in {
        "kb_wrong_audience",
        "kb_wrong_nonce",
    }


@pytest.mark.parametrize(("status", "reason"), [(INVALID, "revoked"), (SUSPENDED, "suspended")])
def test_revoked_and_suspended(status: int, reason: str) -> None:
    desk = Desk([0, 0, 0, status])
    verdict = desk.round("hotel_checkin", credential=_credential(idx=3))
    assert (verdict.accepted, verdict.reason, verdict.part) == (False, reason, "status")
    assert desk.round("hotel_checkin", credential=_credential(idx=2)).accepted


def test_status_index_outside_the_list_and_unavailable_list() -> None:
    desk = Desk()
    assert desk.round("hotel_checkin", credential=_credential(idx=10_000)).reason == (
        "status_index_out_of_range"
    )

    def unavailable(uri: str) -> StatusList:
        from pingan.identity.statuslist import StatusListError

        raise StatusListError("bad_signature", "status_list_token", "")

    nonce = desk.nonces.issue(desk.audience, NOW)
    presentation = present_for_scenario(
        _credential(),
        get_scenario("ticket_gate"),
        holder_key=HOLDER,
        nonce=nonce,
        audience=desk.audience,
        now=NOW,
    )
    verdict = verify_for_scenario(
        presentation,
        get_scenario("ticket_gate"),
        issuer_keys=ISSUER.public_key(),
        audience=desk.audience,
        nonce=nonce,
        nonces=desk.nonces,
        status_lists=unavailable,
        now=NOW,
    )
    assert verdict.reason == "status_unavailable"


def test_expired_and_not_yet_valid_credentials() -> None:
    desk = Desk()
    old = _credential(now=NOW - timedelta(days=400))
    assert desk.round("ticket_gate", credential=old).reason == "expired"
    future = _credential(now=NOW + timedelta(days=2))
    assert desk.round("ticket_gate", credential=future).reason == "issued_in_future"


def test_wrong_issuer_key_and_wrong_typ() -> None:
    desk = Desk()
    forged = issue_resident_credential(
        RESIDENT,
        issuer_key=sdjwt.generate_key(),
        issuer="https://bureau",
        holder_jwk=sdjwt.public_jwk(HOLDER),
        status_idx=0,
        status_uri=URI,
        now=NOW,
    ).serialized
    assert desk.round("ticket_gate", credential=forged).reason == "bad_signature"
    plain = sdjwt.issue(
        {"vct": VCT, sdjwt.SD("name"): "王小明"},
        issuer_key=ISSUER,
        typ="JWT",
        holder_jwk=sdjwt.public_jwk(HOLDER),
    ).serialized
    assert desk.round("ticket_gate", credential=plain).reason == "wrong_typ"
    no_vct = sdjwt.issue(
        {sdjwt.SD("name"): "王小明"},
        issuer_key=ISSUER,
        holder_jwk=sdjwt.public_jwk(HOLDER),
    ).serialized
    assert desk.round("ticket_gate", credential=no_vct).reason == "wrong_vct"


def test_vc_claims_made_disclosable_are_refused() -> None:
    desk = Desk()
    sneaky = sdjwt.issue(
        {
            "iss": "https://bureau",
            sdjwt.SD("vct"): VCT,
            "status": {"status_list": {"idx": 0, "uri": URI}},
            sdjwt.SD("name"): "王小明",
        },
        issuer_key=ISSUER,
        holder_jwk=sdjwt.public_jwk(HOLDER),
    ).serialized
    nonce = desk.nonces.issue(desk.audience, NOW)
    presentation = sdjwt.present(
        sneaky,
        {"vct": True, "name": True},
        holder_key=HOLDER,
        nonce=nonce,
        aud=desk.audience,
        iat=int(NOW.timestamp()),
    )
    verdict = desk.check(presentation, "ticket_gate", nonce)
    assert (verdict.reason, verdict.detail) == ("vc_claim_disclosable", "vct")
