"""The digital ID wallet page and bureau panel in a real browser.

The wallet's key is made by WebCrypto in the page (never leaves it); the clerk issues a
credential to the key the page shows; a hotel's request is fetched and consented to in the
page, which builds the KB-JWT in JavaScript; the platform accepts it and the hotel reads
the two claims it asked for. Then the commander's panel shows the usage figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Platform, chromium_path, prepare_platform, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if chromium_path() is None:
    pytest.skip(
        "no chromium at /usr/bin/chromium (set CHROMIUM to another binary)", allow_module_level=True
    )
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

TIMEOUT_MS = 30_000
RESIDENT = {
    "name": "王小明",
    "id_number": "11010519491231002X",
    "birth_date": "1949-12-31",
    "address_district": "朝阳区",
    "photo_hash": "sha256-abc",
}


@pytest.fixture(scope="module")
def identity_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Platform, str]]:
    """The platform with the demo relying parties and the demo hotel's API key."""
    from pingan.core.auth.permissions import Principal
    from pingan.core.auth.schemas import ApiKeyCreate
    from pingan.core.auth.service import create_api_key
    from pingan.core.db import Database
    from pingan.identity.service import seed_demo_relying_parties
    from pingan.web.app import create_app

    platform = prepare_platform(tmp_path_factory.mktemp("identity-live"))
    db = Database(platform.settings.database_url_resolved)
    try:
        with db.session() as session:
            seed_demo_relying_parties(db=session)
            _key, plain = create_api_key(
                db=session,
                key_in=ApiKeyCreate(name="hotel", partner="demo_hotel"),
                actor=Principal.system(),
            )
    finally:
        db.dispose()
    app = create_app(platform.settings)
    with serving(app, "identity-e2e") as (base_url, _loop):
        yield base_url, platform, plain


def test_wallet_page_presents_and_panel_counts(
    browser: Any, identity_server: tuple[str, Platform, str], artifacts_dir: Path
) -> None:
    base, platform, hotel_key = identity_server
    login = httpx.post(
        base + "/api/auth/login",
        json={"username": platform.username, "password": platform.password},
    )
    staff = {"Authorization": f"Bearer {login.json()['access_token']}"}
    hotel = {"X-API-Key": hotel_key}
    context = browser.new_context(viewport={"width": 900, "height": 1000}, locale="en-US")
    errors: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/static/identity/wallet.html")
        page.click("#init")
        page.wait_for_function("document.getElementById('public-jwk').textContent.length > 20")
        holder_jwk = json.loads(page.inner_text("#public-jwk"))
        assert set(holder_jwk) == {"kty", "crv", "x", "y"}

        issued = httpx.post(
            base + "/api/identity/credentials",
            json={**RESIDENT, "holder_jwk": holder_jwk},
            headers=staff,
        )
        assert issued.status_code == 201, issued.text
        page.fill("#credential", issued.json()["sd_jwt"])
        page.click("#import")
        page.wait_for_function(
            "document.getElementById('import-status').textContent.includes('urn:pingan')"
        )

        created = httpx.post(
            base + "/api/identity/requests", json={"scenario": "hotel_checkin"}, headers=hotel
        )
        assert created.status_code == 201, created.text
        ref = created.json()["ref"]
        page.goto(f"{base}/static/identity/wallet.html?ref={ref}")
        page.wait_for_selector("#request:not([hidden])")
        assert "Riverside Hotel" in page.inner_text("#asks")
        assert page.inner_text("#claims").split() == ["id_number", "name"]
        page.screenshot(path=str(artifacts_dir / "identity-wallet-request.png"))
        page.click("#consent")
        page.wait_for_selector("#verdict.ok")
        page.screenshot(path=str(artifacts_dir / "identity-wallet-accepted.png"))

        result = httpx.get(base + f"/api/identity/requests/{ref}/result", headers=hotel).json()
        assert result["status"] == "accepted"
        assert result["claims"] == {"id_number": "11010519491231002X", "name": "王小明"}

        # A second request declined: nothing is sent.
        again = httpx.post(
            base + "/api/identity/requests", json={"scenario": "hotel_checkin"}, headers=hotel
        ).json()
        page.goto(f"{base}/static/identity/wallet.html?ref={again['ref']}")
        page.wait_for_selector("#request:not([hidden])")
        page.click("#decline")
        pending = httpx.get(base + f"/api/identity/requests/{again['ref']}/result", headers=hotel)
        assert pending.json()["status"] == "pending"

        usage = httpx.get(base + "/api/identity/usage", headers=staff).json()
        assert usage["uses"] == 1 and usage["distinct_people"] == 1

        # The commander's panel: usage figures, then a revocation with a reason.
        centre = context.new_page()
        centre.set_default_timeout(TIMEOUT_MS)
        centre.on("pageerror", lambda e: errors.append(str(e)))
        centre.on("dialog", lambda dialog: dialog.accept("手机丢失"))
        centre.goto(base + "/")
        centre.wait_for_selector("#login-form", state="visible")
        centre.fill("#login-username", platform.username)
        centre.fill("#login-password", platform.password)
        centre.click("#login-submit")
        centre.wait_for_selector(".id-panel [data-figure='uses']")
        assert centre.inner_text(".id-panel [data-figure='uses']") == "1"
        assert centre.inner_text(".id-panel [data-figure='people']") == "1"
        assert centre.locator(".id-panel .id-chart rect").count() == 2
        cid = issued.json()["credential"]["id"]
        row = centre.locator(f".id-panel tr[data-credential='{cid}']")
        row.wait_for()
        row.scroll_into_view_if_needed()
        row.locator("button.id-action").last.click()  # revoke, with the reason in the prompt
        centre.wait_for_selector(f".id-panel tr[data-credential='{cid}'] button", state="detached")
        centre.locator(".id-panel").screenshot(path=str(artifacts_dir / "identity-panel.png"))
        status = httpx.get(base + f"/api/identity/credentials/{cid}", headers=staff).json()
        assert status["status"] == "revoked" and status["status_reason"] == "手机丢失"
        assert not errors, errors
    finally:
        context.close()


def test_clerk_issues_through_the_panel_form(
    browser: Any, identity_server: tuple[str, Platform, str], artifacts_dir: Path
) -> None:
    """The window form: a bad ID number names the field and issues nothing; a good one shows
    the credential once, which downloads and imports into the wallet whose key it names."""
    base, platform, _hotel_key = identity_server
    login = httpx.post(
        base + "/api/auth/login",
        json={"username": platform.username, "password": platform.password},
    )
    staff = {"Authorization": f"Bearer {login.json()['access_token']}"}

    def issued_count() -> int:
        rows = httpx.get(base + "/api/identity/credentials?limit=500", headers=staff).json()
        return len(rows)

    context = browser.new_context(
        viewport={"width": 900, "height": 1200}, locale="en-US", accept_downloads=True
    )
    errors: list[str] = []
    try:
        wallet = context.new_page()
        wallet.set_default_timeout(TIMEOUT_MS)
        wallet.on("pageerror", lambda e: errors.append(str(e)))
        wallet.goto(base + "/static/identity/wallet.html")
        wallet.click("#init")
        wallet.wait_for_function("document.getElementById('public-jwk').textContent.length > 20")
        holder_jwk_text = wallet.inner_text("#public-jwk")

        centre = context.new_page()
        centre.set_default_timeout(TIMEOUT_MS)
        centre.on("pageerror", lambda e: errors.append(str(e)))
        centre.goto(base + "/")
        centre.wait_for_selector("#login-form", state="visible")
        centre.fill("#login-username", platform.username)
        centre.fill("#login-password", platform.password)
        centre.click("#login-submit")
        form = centre.locator(".id-panel .id-issue-form")
        form.wait_for()
        before = issued_count()

        # A key that is not JSON is refused in the page, naming the key field.
        form.locator("#id-issue-name").fill(RESIDENT["name"])
        form.locator("#id-issue-id_number").fill("110105194912310021")  # wrong check digit
        form.locator("#id-issue-birth_date").fill(RESIDENT["birth_date"])
        form.locator("#id-issue-address_district").fill(RESIDENT["address_district"])
        form.locator("#id-issue-holder_jwk").fill("not a key")
        form.locator("button[type=submit]").click()
        error = centre.locator(".id-panel .id-issue-error")
        error.wait_for(state="visible")
        assert error.get_attribute("data-field") == "holder_jwk"

        # A bad ID number: the server's 422 names the field, shown inline; nothing is issued.
        form.locator("#id-issue-holder_jwk").fill(holder_jwk_text)
        form.locator("button[type=submit]").click()
        centre.wait_for_selector(".id-panel .id-issue-error[data-field='id_number']")
        assert error.is_visible()
        # the field's label in the user's language, then the server's message
        assert error.inner_text().split(":")[0] in {"ID number", "身份证号"}
        assert "is-invalid" in (form.locator("#id-issue-id_number").get_attribute("class") or "")
        centre.locator(".id-panel .id-issue").screenshot(
            path=str(artifacts_dir / "identity-issue-error.png")
        )
        assert issued_count() == before

        # The right number: the credential is shown once, to copy or download.
        form.locator("#id-issue-id_number").fill(RESIDENT["id_number"])
        form.locator("button[type=submit]").click()
        shown = centre.locator(".id-panel .id-issued textarea")
        shown.wait_for()
        assert error.is_hidden() and form.is_hidden()
        sd_jwt = shown.input_value()
        assert sd_jwt.startswith("eyJ") and sd_jwt.count("~") >= 9
        assert issued_count() == before + 1
        centre.locator(".id-panel .id-issue").screenshot(
            path=str(artifacts_dir / "identity-issue-issued.png")
        )
        with centre.expect_download() as info:
            centre.locator(".id-panel .id-issued button[data-action=download]").click()
        download = info.value
        assert download.suggested_filename.endswith(".sd-jwt")
        assert Path(download.path()).read_text() == sd_jwt

        # The wallet takes it (bound to its key).
        wallet.fill("#credential", sd_jwt)
        wallet.click("#import")
        wallet.wait_for_function(
            "document.getElementById('import-status').textContent.includes('urn:pingan')"
        )

        # Done clears it: it is not shown again.
        centre.locator(".id-panel .id-issued button[data-action=done]").click()
        centre.wait_for_selector(".id-panel .id-issued", state="detached")
        assert form.is_visible()
        assert not errors, errors
    finally:
        context.close()


def test_wallet_page_receives_from_a_credential_offer(
    browser: Any, identity_server: tuple[str, Platform, str], artifacts_dir: Path
) -> None:
    """OpenID4VCI in the page: paste the offer, a wrong PIN is refused, the right one
    receives the credential bound to the page's WebCrypto key."""
    base, platform, _hotel_key = identity_server
    login = httpx.post(
        base + "/api/auth/login",
        json={"username": platform.username, "password": platform.password},
    )
    staff = {"Authorization": f"Bearer {login.json()['access_token']}"}
    offer = httpx.post(base + "/api/identity/offers", json=RESIDENT, headers=staff)
    assert offer.status_code == 201, offer.text
    made = offer.json()
    context = browser.new_context(viewport={"width": 900, "height": 1000}, locale="en-US")
    errors: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/static/identity/wallet.html")
        page.click("#init")
        page.wait_for_function("document.getElementById('thumbprint').textContent.length > 20")
        thumbprint = page.inner_text("#thumbprint")
        page.fill("#offer", "not an offer")
        page.click("#receive")
        page.wait_for_selector("#receive-status.bad")
        page.fill("#offer", made["offer_uri"])
        page.fill("#pin", f"{(int(made['tx_code']) + 1) % 1_000_000:06d}")
        page.click("#receive")
        page.wait_for_function(
            "document.getElementById('receive-status').textContent.includes('invalid_grant')"
        )
        page.fill("#pin", made["tx_code"])
        page.click("#receive")
        page.wait_for_selector("#receive-status.ok")
        assert "urn:pingan:credential:resident-id:1" in page.inner_text("#receive-status")
        page.screenshot(path=str(artifacts_dir / "identity-wallet-received.png"))
        state = httpx.get(base + f"/api/identity/offers/{made['ref']}", headers=staff).json()
        assert state["state"] == "issued" and state["tx_failures"] == 1
        cred = httpx.get(
            base + f"/api/identity/credentials/{state['credential_id']}", headers=staff
        ).json()
        assert cred["holder_thumbprint"] == thumbprint
        assert not errors, errors
    finally:
        context.close()


def test_clerk_offers_through_the_panel_and_the_wallet_receives(
    browser: Any, identity_server: tuple[str, Platform, str], artifacts_dir: Path
) -> None:
    """The window form's offer: a QR and the PIN apart; the wallet page opens the offer (same
    device link), takes the PIN, receives; the panel then shows the offer as issued."""
    base, platform, _hotel_key = identity_server
    context = browser.new_context(viewport={"width": 900, "height": 1200}, locale="en-US")
    errors: list[str] = []
    try:
        centre = context.new_page()
        centre.set_default_timeout(TIMEOUT_MS)
        centre.on("pageerror", lambda e: errors.append(str(e)))
        centre.goto(base + "/")
        centre.wait_for_selector("#login-form", state="visible")
        centre.fill("#login-username", platform.username)
        centre.fill("#login-password", platform.password)
        centre.click("#login-submit")
        form = centre.locator(".id-panel .id-issue-form")
        form.wait_for()
        form.locator("#id-issue-name").fill(RESIDENT["name"])
        form.locator("#id-issue-id_number").fill(RESIDENT["id_number"])
        form.locator("#id-issue-birth_date").fill("1950-01-01")  # not the ID number's date
        form.locator("#id-issue-address_district").fill(RESIDENT["address_district"])
        form.locator("button[data-action=offer]").click()
        centre.wait_for_selector(".id-panel .id-issue-error[data-field='birth_date']")
        form.locator("#id-issue-birth_date").fill(RESIDENT["birth_date"])
        form.locator("button[data-action=offer]").click()
        offer = centre.locator(".id-panel .id-offer")
        offer.wait_for()
        assert offer.locator(".id-offer-qr svg").count() == 1
        pin = offer.locator(".id-offer-pin").inner_text().strip()
        assert pin.isdigit() and len(pin) == 6
        link = offer.locator("a.id-offer-link").get_attribute("href") or ""
        assert "credential_offer=" in link and pin not in link.split("pre-authorized_code")[0]
        centre.locator(".id-panel .id-issue").screenshot(
            path=str(artifacts_dir / "identity-offer-qr.png")
        )

        wallet = context.new_page()
        wallet.set_default_timeout(TIMEOUT_MS)
        wallet.on("pageerror", lambda e: errors.append(str(e)))
        wallet.goto(base + link)
        wallet.click("#init")
        wallet.wait_for_function("document.getElementById('thumbprint').textContent.length > 20")
        assert wallet.input_value("#offer").startswith("openid-credential-offer://")
        wallet.fill("#pin", pin)
        wallet.click("#receive")
        wallet.wait_for_selector("#receive-status.ok")
        offer.locator(".id-offer-state[data-state='issued']").wait_for()
        assert not errors, errors
    finally:
        context.close()
