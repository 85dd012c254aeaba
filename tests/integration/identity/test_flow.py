"""The digital ID desk through the real app: issue, request, present, verify, revoke, rotate.

Staff sign in (JWT); relying parties call with API keys whose ``partner`` is their code; the
wallet is played by the standards core (``present_for_scenario``) over the public routes.
Time is frozen (``core.clock``) and moved by the test.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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
from pingan.identity import sdjwt
from pingan.identity import service as identity
from pingan.identity.credential import present_for_scenario
from pingan.identity.models import Credential, PresentationRequest, Verification
from pingan.identity.scenarios import get_scenario
from pingan.identity.schemas import RelyingPartyCreate
from pingan.identity.statuslist import STATUS_LIST_MEDIA_TYPE, verify_status_list_token
from pingan.web.app import create_app

pytestmark = pytest.mark.usefixtures("fast_hasher")

PASSWORD = "identity-pass-1"
T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
SYSTEM = Principal.system("test")
RESIDENT = {
    "name": "王小明",
    "id_number": "11010519491231002X",
    "birth_date": "1949-12-31",
    "address_district": "朝阳区",
    "photo_hash": "sha256-abc",
}


@dataclass
class Desk:
    """The app with relying parties, staff logins, partner keys and a frozen clock."""

    client: TestClient
    db: Database
    settings: Settings
    frozen: clock.FrozenClock
    staff: dict[str, dict[str, str]] = field(default_factory=dict)
    keys: dict[str, dict[str, str]] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        """A staff login's or a relying party key's headers."""
        return self.staff.get(who) or self.keys[who]

    def get(self, path: str, who: str | None = None, **params: Any) -> Any:
        """GET as ``who`` (None: anonymous)."""
        return self.client.get(path, headers=self.headers(who) if who else {}, params=params)

    def post(self, path: str, body: Any = None, who: str | None = None) -> Any:
        """POST as ``who`` (None: anonymous)."""
        return self.client.post(path, json=body, headers=self.headers(who) if who else {})

    def issue(self, holder: sdjwt.PrivateKey, **changes: Any) -> dict[str, Any]:
        """Issue a credential to ``holder`` as the clerk."""
        body = {**RESIDENT, "holder_jwk": sdjwt.public_jwk(holder), **changes}
        r = self.post("/api/identity/credentials", body, who="clerk")
        assert r.status_code == 201, r.text
        issued: dict[str, Any] = r.json()
        return issued

    def request(self, rp: str, scenario: str) -> dict[str, Any]:
        """A relying party creates a presentation request."""
        r = self.post("/api/identity/requests", {"scenario": scenario}, who=rp)
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created

    def present(
        self,
        ref: str,
        credential: str,
        holder: sdjwt.PrivateKey,
        *,
        scenario: str | None = None,
        aud: str | None = None,
    ) -> Any:
        """The wallet: fetch the request, present its scenario's claims, post the response."""
        asked = self.get(f"/api/identity/requests/{ref}").json()
        shown = present_for_scenario(
            credential,
            get_scenario(scenario or asked["scenario"]["id"]),
            holder_key=holder,
            nonce=asked["nonce"],
            audience=aud or asked["aud"],
            now=clock.now(),
        )
        return self.post(f"/api/identity/requests/{ref}/response", {"presentation": shown})

    def count(self, model: Any) -> int:
        """Rows of a table."""
        with self.db.session() as s:
            return int(s.scalars(select(func.count()).select_from(model)).one())


@pytest.fixture
def desk(settings: Settings, database: object) -> Iterator[Desk]:
    with clock.frozen(T0) as frozen:
        app = create_app(settings, background=False)
        db: Database = app.state.ctx.db
        Base.metadata.create_all(db.engine)
        plain: dict[str, str] = {}
        with db.session() as s:
            city = auth.create_jurisdiction(
                db=s,
                jurisdiction_in=JurisdictionCreate(code="id-city", name="市局", kind="city"),
                actor=SYSTEM,
            )
            for role in ("clerk", "commander", "analyst", "officer"):
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
            assert identity.seed_demo_relying_parties(db=s) == 4
            assert identity.seed_demo_relying_parties(db=s) == 0  # idempotent
            identity.register_relying_party(
                db=s,
                rp_in=RelyingPartyCreate(
                    code="other_hotel",
                    name_zh="另一家酒店",
                    category="lodging",
                    scenarios=["hotel_checkin"],
                ),
                actor=SYSTEM,
            )
            for code in ("demo_netcafe", "demo_hotel", "demo_railway", "other_hotel"):
                _key, plain[code] = auth.create_api_key(
                    db=s, key_in=ApiKeyCreate(name=code, partner=code), actor=SYSTEM
                )
        with TestClient(app) as client:
            d = Desk(client=client, db=db, settings=settings, frozen=frozen)
            for role in ("clerk", "commander", "analyst", "officer"):
                r = client.post(
                    "/api/auth/login", json={"username": f"{role}-1", "password": PASSWORD}
                )
                assert r.status_code == 200, r.text
                d.staff[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            d.keys = {code: {"X-API-Key": key} for code, key in plain.items()}
            yield d


def _error(r: Any, status: int, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["field"] == field, error
    return error


# ---------------------------------------------------------------------------- the whole flow


def test_issue_request_present_accept(desk: Desk) -> None:
    holder = sdjwt.generate_key()
    issued = desk.issue(holder)
    cred = issued["credential"]
    assert cred["id_number_masked"] == "110105********002X"
    assert cred["name_masked"].startswith("王") and "小明" not in cred["name_masked"]
    assert cred["status"] == "valid" and cred["holder_thumbprint"] == sdjwt.jwk_thumbprint(holder)
    assert issued["sd_jwt"].count("~") >= 9

    created = desk.request("demo_hotel", "hotel_checkin")
    assert created["qr_payload"].startswith(f"pingan-id://request?ref={created['ref']}&host=")
    assert created["qr_svg"].startswith("<svg") and "</svg>" in created["qr_svg"]
    assert created["url"].endswith(f"/api/identity/requests/{created['ref']}")

    asked = desk.get(f"/api/identity/requests/{created['ref']}").json()
    assert asked["relying_party"]["en"] == "Riverside Hotel (demo)"
    assert asked["scenario"]["id"] == "hotel_checkin"
    assert asked["claims"] == ["id_number", "name"] and asked["used"] is False

    pending = desk.get(f"/api/identity/requests/{created['ref']}/result", who="demo_hotel")
    assert pending.status_code == 200 and pending.json()["status"] == "pending"

    r = desk.present(created["ref"], issued["sd_jwt"], holder)
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["accepted"] is True and verdict["reason"] == "accepted"
    assert set(verdict["message"]) == {"zh-CN", "en"}

    result = desk.get(f"/api/identity/requests/{created['ref']}/result", who="demo_hotel").json()
    assert result["status"] == "accepted"
    assert result["claims"] == {"id_number": "11010519491231002X", "name": "王小明"}
    # The claims are handed over once, then erased from the platform.
    again = desk.get(f"/api/identity/requests/{created['ref']}/result", who="demo_hotel").json()
    assert again["status"] == "accepted" and again["claims"] is None

    # The log keeps claim names and pseudonyms, never values.
    with desk.db.session() as s:
        v = s.scalars(select(Verification)).one()
        assert v.accepted and v.disclosed == ["id_number", "name"]
        assert v.holder_pseudonym and v.person_pseudonym
        assert "王小明" not in repr(v.__dict__) and "11010519491231002X" not in repr(v.__dict__)
        row = s.scalars(select(Credential)).one()
        assert "11010519491231002X" not in repr(row.__dict__)
        assert "王小明" not in repr(row.__dict__)
        actions = set(s.scalars(select(AuditRecord.action)))
        assert "identity.credential.issue" in actions


def test_other_relying_party_cannot_read_the_result(desk: Desk) -> None:
    created = desk.request("demo_hotel", "hotel_checkin")
    r = desk.get(f"/api/identity/requests/{created['ref']}/result", who="other_hotel")
    _error(r, 404, "ref")
    # Staff are not relying parties: the partner-only route refuses them.
    r = desk.get(f"/api/identity/requests/{created['ref']}/result", who="commander")
    assert r.status_code == 403


def test_scenario_not_registered_is_refused(desk: Desk) -> None:
    r = desk.post("/api/identity/requests", {"scenario": "bank_account"}, who="demo_netcafe")
    _error(r, 403, "scenario")
    r = desk.post("/api/identity/requests", {"scenario": "no_such_thing"}, who="demo_netcafe")
    _error(r, 422, "scenario")
    assert desk.count(PresentationRequest) == 0


def test_over_disclosure_is_rejected(desk: Desk) -> None:
    holder = sdjwt.generate_key()
    issued = desk.issue(holder)
    created = desk.request("demo_netcafe", "internet_cafe")  # asks for age_over_18 only
    r = desk.present(created["ref"], issued["sd_jwt"], holder, scenario="hotel_checkin")
    assert r.status_code == 200
    assert r.json()["accepted"] is False and r.json()["reason"] == "over_disclosure"


def test_replayed_response_is_rejected(desk: Desk) -> None:
    holder = sdjwt.generate_key()
    issued = desk.issue(holder)
    created = desk.request("demo_netcafe", "internet_cafe")
    asked = desk.get(f"/api/identity/requests/{created['ref']}").json()
    shown = present_for_scenario(
        issued["sd_jwt"],
        get_scenario("internet_cafe"),
        holder_key=holder,
        nonce=asked["nonce"],
        audience=asked["aud"],
        now=clock.now(),
    )
    url = f"/api/identity/requests/{created['ref']}/response"
    first = desk.post(url, {"presentation": shown}).json()
    second = desk.post(url, {"presentation": shown}).json()
    assert first["accepted"] is True
    assert second["accepted"] is False and second["reason"] == "replayed_nonce"
    # The first verdict stands for the relying party.
    result = desk.get(f"/api/identity/requests/{created['ref']}/result", who="demo_netcafe")
    assert result.json()["status"] == "accepted"
    assert desk.get(f"/api/identity/requests/{created['ref']}").json()["used"] is True


def test_wrong_audience_and_expired_request(desk: Desk) -> None:
    holder = sdjwt.generate_key()
    issued = desk.issue(holder)
    created = desk.request("demo_netcafe", "internet_cafe")
    r = desk.present(created["ref"], issued["sd_jwt"], holder, aud="https://evil.example/rp")
    assert r.json()["reason"] == "kb_wrong_audience"

    late = desk.request("demo_netcafe", "internet_cafe")
    desk.frozen.advance(identity.REQUEST_LIFE + timedelta(seconds=1))
    r = desk.present(late["ref"], issued["sd_jwt"], holder)
    assert r.json()["accepted"] is False and r.json()["reason"] == "nonce_expired"
    result = desk.get(f"/api/identity/requests/{late['ref']}/result", who="demo_netcafe")
    assert result.json()["status"] == "rejected"


def test_revoked_credential_is_rejected_after_the_status_list_updates(desk: Desk) -> None:
    holder = sdjwt.generate_key()
    issued = desk.issue(holder)
    cid = issued["credential"]["id"]
    lst_id = issued["credential"]["status_list_id"]
    before = desk.get(f"/api/identity/status-lists/{lst_id}")
    assert before.status_code == 200
    assert before.headers["content-type"].startswith(STATUS_LIST_MEDIA_TYPE)

    # A clerk cannot revoke; a commander can, with a reason.
    r = desk.post(f"/api/identity/credentials/{cid}/revoke", {"reason": "lost"}, who="clerk")
    assert r.status_code == 403
    r = desk.post(f"/api/identity/credentials/{cid}/revoke", {"reason": ""}, who="commander")
    _error(r, 422, "reason")
    r = desk.post(
        f"/api/identity/credentials/{cid}/revoke", {"reason": "手机丢失"}, who="commander"
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "revoked" and r.json()["status_reason"] == "手机丢失"

    # The published token shows the new status at once (re-signed on change).
    jwks = desk.get("/api/identity/jwks").json()
    token = desk.get(f"/api/identity/status-lists/{lst_id}").text
    key = sdjwt.load_jwk(
        {k: v for k, v in jwks["keys"][0].items() if k in ("kty", "crv", "x", "y")}
    )
    with desk.db.session() as s:
        row = s.get(Credential, cid)
        assert row is not None
        uri, idx = identity.platform_url() + f"/api/identity/status-lists/{lst_id}", row.status_idx
    lst = verify_status_list_token(token, key=key, expected_uri=uri, now=clock.now().timestamp())
    assert lst.get(idx) == 1

    created = desk.request("demo_hotel", "hotel_checkin")
    r = desk.present(created["ref"], issued["sd_jwt"], holder)
    assert r.json()["accepted"] is False and r.json()["reason"] == "revoked"

    r = desk.post(f"/api/identity/credentials/{cid}/reinstate", {"reason": "x"}, who="commander")
    _error(r, 409, "status")


def test_suspend_then_reinstate(desk: Desk) -> None:
    holder = sdjwt.generate_key()
    issued = desk.issue(holder)
    cid = issued["credential"]["id"]
    r = desk.post(f"/api/identity/credentials/{cid}/suspend", {"reason": "核查"}, who="commander")
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    created = desk.request("demo_railway", "ticket_gate")
    assert desk.present(created["ref"], issued["sd_jwt"], holder).json()["reason"] == "suspended"
    r = desk.post(
        f"/api/identity/credentials/{cid}/reinstate", {"reason": "核查完毕"}, who="commander"
    )
    assert r.status_code == 200 and r.json()["status"] == "valid"
    created = desk.request("demo_railway", "ticket_gate")
    assert desk.present(created["ref"], issued["sd_jwt"], holder).json()["accepted"] is True
    with desk.db.session() as s:
        actions = list(s.scalars(select(AuditRecord.action).order_by(AuditRecord.id)))
    assert "identity.credential.suspend" in actions and "identity.credential.reinstate" in actions


def test_bad_input_names_the_field_and_writes_nothing(desk: Desk) -> None:
    holder = sdjwt.generate_key()
    jwk = sdjwt.public_jwk(holder)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"id_number": "110105194912310021"}, "id_number"),  # wrong check digit
        ({"birth_date": "1990-01-01"}, "birth_date"),  # not the ID number's
        ({"name": "  "}, "name"),
        ({"holder_jwk": {"kty": "RSA", "n": "x", "e": "AQAB"}}, "holder_jwk"),
        ({"holder_jwk": sdjwt.private_jwk(holder)}, "holder_jwk"),
        ({"address_district": ""}, "address_district"),
    ]
    for change, fld in cases:
        body = {**RESIDENT, "holder_jwk": jwk, **change}
        _error(desk.post("/api/identity/credentials", body, who="clerk"), 422, fld)
    assert desk.count(Credential) == 0
    # An officer may read but not issue.
    body = {**RESIDENT, "holder_jwk": jwk}
    assert desk.post("/api/identity/credentials", body, who="officer").status_code == 403


def test_key_rotation_keeps_old_credentials_verifiable(desk: Desk) -> None:
    holder = sdjwt.generate_key()
    old = desk.issue(holder)
    old_kid = old["credential"]["kid"]
    assert desk.post("/api/identity/keys/rotate", who="clerk").status_code == 403
    r = desk.post("/api/identity/keys/rotate", who="commander")
    assert r.status_code == 200, r.text
    new_kid = r.json()["kid"]
    assert new_kid != old_kid and "d" not in r.json()["public_jwk"]
    jwks = desk.get("/api/identity/jwks").json()
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}
    assert all("d" not in k for k in jwks["keys"])

    fresh = desk.issue(sdjwt.generate_key())
    assert fresh["credential"]["kid"] == new_kid
    created = desk.request("demo_netcafe", "internet_cafe")
    assert desk.present(created["ref"], old["sd_jwt"], holder).json()["accepted"] is True

    # Once the retired key is no longer published, its credentials cannot be verified.
    desk.frozen.advance(identity.CREDENTIAL_LIFE + identity.KEY_LEEWAY + timedelta(days=1))
    jwks = desk.get("/api/identity/jwks").json()
    assert [k["kid"] for k in jwks["keys"]] == [new_kid]


def test_private_keys_and_pepper_are_files_only_the_owner_reads(desk: Desk) -> None:
    issued = desk.issue(sdjwt.generate_key())
    base = desk.settings.data_dir / "identity"
    key_file = base / "keys" / f"{issued['credential']['kid']}.jwk"
    for path in (key_file, base / "pepper"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert '"d"' in key_file.read_text()


def test_credentials_list_and_search(desk: Desk) -> None:
    desk.issue(sdjwt.generate_key())
    other = {"id_number": "110105200001010016", "birth_date": "2000-01-01", "name": "李四"}
    desk.issue(sdjwt.generate_key(), **other)
    rows = desk.get("/api/identity/credentials", who="officer").json()
    assert len(rows) == 2 and all("*" in r["id_number_masked"] for r in rows)
    found = desk.get("/api/identity/credentials", who="officer", id_number="110105200001010016")
    assert [r["id_number_masked"] for r in found.json()] == ["110105********0016"]
    one = desk.get(f"/api/identity/credentials/{rows[0]['id']}", who="officer")
    assert one.status_code == 200
    assert desk.get("/api/identity/credentials/999", who="officer").status_code == 404
    rps = desk.get("/api/identity/relying-parties", who="officer").json()
    assert {r["code"] for r in rps} >= {"demo_hotel", "demo_netcafe", "other_hotel"}


def test_usage_counts_uses_people_and_enterprises(desk: Desk) -> None:
    people = [(sdjwt.generate_key(), None), (sdjwt.generate_key(), "110105200001010016")]
    creds = []
    for holder, number in people:
        change = {"id_number": number, "birth_date": "2000-01-01"} if number else {}
        creds.append((holder, desk.issue(holder, **change)["sd_jwt"]))
    for rp in ("demo_netcafe", "demo_netcafe"):
        for holder, cred in creds:
            created = desk.request(rp, "internet_cafe")
            assert desk.present(created["ref"], cred, holder).json()["accepted"] is True
    created = desk.request("demo_hotel", "hotel_checkin")
    desk.present(created["ref"], creds[0][1], creds[0][0], scenario="hotel_checkin")
    created = desk.request("demo_hotel", "hotel_checkin")
    desk.present(created["ref"], creds[0][1], creds[0][0], aud="https://elsewhere.example")

    assert desk.get("/api/identity/usage", who="clerk").status_code == 403
    r = desk.get("/api/identity/usage", who="analyst")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["uses"] == 6 and report["accepted"] == 5
    assert report["distinct_people"] == 2 and report["distinct_enterprises"] == 2
    by = {d["scenario"]: d for d in report["days"]}
    assert by["internet_cafe"]["uses"] == 4 and by["internet_cafe"]["distinct_people"] == 2
    assert by["internet_cafe"]["distinct_enterprises"] == 1
    assert by["hotel_checkin"]["rejected"] == {"kb_wrong_audience": 1}
    assert by["hotel_checkin"]["day"] == "2026-11-30"
    r = desk.get(
        "/api/identity/usage",
        who="analyst",
        since="2026-12-01T00:00:00+00:00",
        until="2026-11-01T00:00:00+00:00",
    )
    _error(r, 422, "until")


def test_unknown_request_and_status_list(desk: Desk) -> None:
    assert desk.get("/api/identity/requests/no-such-ref-1").status_code == 404
    r = desk.post("/api/identity/requests/no-such-ref-1/response", {"presentation": "x~"})
    _error(r, 404, "ref")
    assert desk.get("/api/identity/status-lists/999").status_code == 404
    created = desk.request("demo_netcafe", "internet_cafe")
    r = desk.post(f"/api/identity/requests/{created['ref']}/response", {"presentation": "junk"})
    assert r.status_code == 200 and r.json()["reason"] == "malformed"


# ---------------------------------------------------------------------------- wallet CLI


class _Borrowed:
    """The app's test client lent to the wallet CLI (entering it must not restart the app)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def __enter__(self) -> TestClient:
        return self.client

    def __exit__(self, *exc: object) -> None:
        return None


def test_wallet_cli_init_import_present(
    desk: Desk, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from pingan.identity import cli

    monkeypatch.setenv("PINGAN_LANG", "en")
    monkeypatch.setattr(cli, "http_client", lambda host: _Borrowed(desk.client))
    runner = CliRunner()
    wallet = tmp_path / "wallet"
    made = runner.invoke(cli.app, ["wallet", "init", "--dir", str(wallet)])
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(os.stat(wallet / "holder.jwk").st_mode) == 0o600
    assert runner.invoke(cli.app, ["wallet", "init", "--dir", str(wallet)]).exit_code == 1

    holder_pub = json.loads((wallet / "holder.pub.jwk").read_text())
    r = desk.post("/api/identity/credentials", {**RESIDENT, "holder_jwk": holder_pub}, "clerk")
    assert r.status_code == 201, r.text
    (tmp_path / "issued.json").write_text(r.text)
    imported = runner.invoke(
        cli.app, ["wallet", "import", str(tmp_path / "issued.json"), "--dir", str(wallet)]
    )
    assert imported.exit_code == 0, imported.output

    # Someone else's credential is refused.
    stranger = desk.issue(sdjwt.generate_key())
    (tmp_path / "other.txt").write_text(stranger["sd_jwt"])
    refused = runner.invoke(
        cli.app, ["wallet", "import", str(tmp_path / "other.txt"), "--dir", str(wallet)]
    )
    assert refused.exit_code == 1

    created = desk.request("demo_hotel", "hotel_checkin")
    declined = runner.invoke(
        cli.app, ["wallet", "present", created["qr_payload"], "--dir", str(wallet)], input="n\n"
    )
    assert declined.exit_code == 1 and "Riverside Hotel" in declined.output
    assert desk.get(f"/api/identity/requests/{created['ref']}").json()["used"] is False

    shown = runner.invoke(
        cli.app, ["wallet", "present", created["qr_payload"], "--yes", "--dir", str(wallet)]
    )
    assert shown.exit_code == 0, shown.output
    assert "Accepted" in shown.output
    result = desk.get(f"/api/identity/requests/{created['ref']}/result", who="demo_hotel")
    assert result.json()["claims"] == {"id_number": "11010519491231002X", "name": "王小明"}

    replay = runner.invoke(
        cli.app,
        ["wallet", "present", created["ref"], "--host", "http://testserver", "--yes",
         "--dir", str(wallet)],
    )  # fmt: skip
    assert replay.exit_code == 1 and "replayed_nonce" in replay.output


# ---------------------------------------------------------------------------- issuer metadata


@pytest.mark.parametrize(
    "path", ["/.well-known/jwt-vc-issuer", "/.well-known/jwt-vc-issuer/identity"]
)
def test_issuer_metadata_names_the_issuer_and_its_keys_verify(desk: Desk, path: str) -> None:
    holder = sdjwt.generate_key()
    issued = desk.issue(holder)
    r = desk.get(path)  # public: no credentials
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    meta = r.json()
    jws = sdjwt.parse_jws(issued["sd_jwt"].split("~")[0])
    assert meta["issuer"] == jws.payload["iss"] == identity.issuer()
    assert "jwks_uri" not in meta  # the draft: jwks or jwks_uri, not both
    assert meta["jwks"] == desk.get("/api/identity/jwks").json()
    keys = {k["kid"]: k for k in meta["jwks"]["keys"]}
    assert all("d" not in k for k in keys.values())
    sdjwt.jws_verify(jws, sdjwt.load_jwk(keys[jws.header["kid"]]))  # raises if it does not
    # The whole credential verifies against the published key alone.
    verified = sdjwt.verify(
        issued["sd_jwt"],
        issuer_keys=sdjwt.load_jwk(keys[jws.header["kid"]]),
        now=clock.now().timestamp(),
        accepted_typs=frozenset({"dc+sd-jwt"}),
    )
    assert verified.claims["iss"] == meta["issuer"]

    # After a rotation the metadata lists the new key too; a new credential names it.
    assert desk.post("/api/identity/keys/rotate", who="commander").status_code == 200
    fresh = sdjwt.parse_jws(desk.issue(sdjwt.generate_key())["sd_jwt"].split("~")[0])
    kids = {k["kid"] for k in desk.get(path).json()["jwks"]["keys"]}
    assert {jws.header["kid"], fresh.header["kid"]} <= kids
    assert fresh.header["kid"] != jws.header["kid"]


def test_issuer_metadata_is_not_under_api_and_not_writable(desk: Desk) -> None:
    assert desk.get("/api/.well-known/jwt-vc-issuer").status_code == 404
    assert desk.post("/.well-known/jwt-vc-issuer", {}).status_code == 405
    assert desk.get("/.well-known/jwt-vc-issuer/other").status_code == 404
