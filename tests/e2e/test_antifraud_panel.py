"""The anti-fraud panel in a real browser: the queue with its countdown, a warning's reasons
and the call-back number (the commander calls back), a contact recorded from the page."""

from __future__ import annotations

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

PHONE = "13812345678"
HTTP_TIMEOUT_S = 60.0
"""The first scoring loads the typology configuration; the machine may be shared."""


@pytest.fixture(scope="module")
def antifraud_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Platform, str, str]]:
    """The platform with the demo teams and an operator's key; (base, platform, key, place)."""
    from sqlalchemy import select

    from pingan.antifraud.service import seed_demo_teams
    from pingan.city.models import City, District
    from pingan.core.auth.models import Jurisdiction
    from pingan.core.auth.permissions import Principal
    from pingan.core.auth.schemas import ApiKeyCreate
    from pingan.core.auth.service import create_api_key
    from pingan.core.db import Database
    from pingan.web.app import create_app

    platform = prepare_platform(tmp_path_factory.mktemp("antifraud-live"))
    db = Database(platform.settings.database_url_resolved)
    try:
        with db.session() as session:
            city = session.scalars(select(City)).one()
            seed_demo_teams(db=session, city_id=city.id)
            district = session.scalars(select(District).order_by(District.name)).first()
            assert district is not None and district.jurisdiction_id is not None
            place = session.get(Jurisdiction, district.jurisdiction_id)
            assert place is not None
            code = place.code
            _key, plain = create_api_key(
                db=session,
                key_in=ApiKeyCreate(name="operator", partner="cmcc"),
                actor=Principal.system(),
            )
    finally:
        db.dispose()
    app = create_app(platform.settings, background=False)
    with serving(app, "antifraud-live") as (base, _loop):
        yield base, platform, plain, code


def test_queue_detail_and_contact(
    antifraud_server: tuple[str, Platform, str, str], browser: Any, artifacts_dir: Path
) -> None:
    base, platform, key, place = antifraud_server
    signals = [
        {"id": "e1", "kind": "call", "phone": PHONE, "jurisdiction": place,
         "caller_flag": "police_impersonation", "duration_s": 600},
        {"id": "e2", "kind": "call", "phone": PHONE, "caller_flag": "police_impersonation"},
        {"id": "e3", "kind": "sms", "phone": PHONE, "fraud_type": "police_impersonation",
         "probability": 0.95},
        {"id": "e4", "kind": "app", "phone": PHONE, "app_kind": "remote"},
    ]  # fmt: skip
    r = httpx.post(
        base + "/api/antifraud/signals",
        json={"signals": signals},
        headers={"X-API-Key": key},
        timeout=HTTP_TIMEOUT_S,
    )
    assert r.status_code == 200, r.text
    warning_id = r.json()["results"][-1]["warning_id"]
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(base + "/")
        page.wait_for_selector("#login-form", state="visible")
        page.fill("#login-username", platform.username)
        page.fill("#login-password", platform.password)
        page.click("#login-submit")
        row = page.locator(f".af-panel tr[data-warning='{warning_id}']")
        row.wait_for()
        assert "138****5678" in row.inner_text()
        assert page.inner_text(".af-panel [data-figure='warnings']") == "1"
        row.click()
        page.wait_for_selector(f".af-panel h3[data-phone='{PHONE}']")
        assert "冒充公检法" in page.inner_text(".af-panel .af-detail")
        page.select_option(".af-panel select[name='outcome']", "dissuaded")
        page.click(".af-panel button[data-action='contact']")
        page.wait_for_selector(".af-panel .af-contacts li")
        page.locator(".af-panel").screenshot(path=str(artifacts_dir / "antifraud-panel.png"))
    finally:
        context.close()
    login = httpx.post(
        base + "/api/auth/login",
        json={"username": platform.username, "password": platform.password},
        timeout=HTTP_TIMEOUT_S,
    )
    staff = {"Authorization": f"Bearer {login.json()['access_token']}"}
    detail = httpx.get(
        f"{base}/api/antifraud/warnings/{warning_id}", headers=staff, timeout=HTTP_TIMEOUT_S
    ).json()
    assert detail["status"] == "dissuaded"
    assert [c["outcome"] for c in detail["contacts"]] == ["dissuaded"]
