"""The case-room box of the anti-fraud panel in a real browser: open a room for the
selected warning, post an entry, see it on the shared timeline; the year-on-year chart."""

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

PHONE = "13812340000"
HTTP_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Platform, str, str]]:
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

    platform = prepare_platform(tmp_path_factory.mktemp("antifraud-caseroom"))
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
    with serving(app, "antifraud-caseroom") as (base, _loop):
        yield base, platform, plain, code


def test_open_a_room_post_an_entry_and_see_the_chart(
    server: tuple[str, Platform, str, str], browser: Any, artifacts_dir: Path
) -> None:
    base, platform, key, place = server
    signals = [
        {"id": "c1", "kind": "call", "phone": PHONE, "jurisdiction": place,
         "caller_flag": "police_impersonation", "duration_s": 600},
        {"id": "c2", "kind": "call", "phone": PHONE, "caller_flag": "police_impersonation"},
        {"id": "c3", "kind": "sms", "phone": PHONE, "fraud_type": "police_impersonation",
         "probability": 0.95},
        {"id": "c4", "kind": "app", "phone": PHONE, "app_kind": "remote"},
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
        page.wait_for_selector(".af-cr [data-figure='yoy-cases']")
        assert page.locator(".af-cr .af-yoy svg").count() == 2  # cases and losses, by hand
        page.locator(f".af-panel tr[data-warning='{warning_id}']").click()
        button = page.locator(".af-cr button[data-action='open-room']")
        page.wait_for_function(
            "() => !document.querySelector(\".af-cr button[data-action='open-room']\").disabled"
        )
        assert str(warning_id) in button.inner_text()
        button.click()
        page.wait_for_selector(".af-cr .af-cr-timeline li[data-kind='opened']")
        assert page.locator(".af-cr .af-cr-timeline li[data-kind='warning_raised']").count() == 1
        page.fill(".af-cr .af-cr-form input[type='text']", "已联系银行冻结")
        page.click(".af-cr button[data-action='post-entry']")
        page.wait_for_selector(".af-cr .af-cr-timeline li[data-kind='note']")
        assert "已联系银行冻结" in page.inner_text(".af-cr .af-cr-timeline")
        page.locator(".af-cr").screenshot(path=str(artifacts_dir / "antifraud-caseroom.png"))
    finally:
        context.close()
