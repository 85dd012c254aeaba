"""The command centre in a real browser (headless Debian chromium driven by Playwright)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from tests.e2e.conftest import LiveServer, chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = chromium_path()
if CHROMIUM is None:
    pytest.skip(
        "no chromium at /usr/bin/chromium (set CHROMIUM to another binary)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

TIMEOUT_MS = 30_000


def _count(page: Any, selector: str) -> int:
    return int(page.get_attribute(selector, "data-count") or "0")


def test_command_centre_login_map_feed_language(
    browser: Any, live_server: LiveServer, artifacts_dir: Path
) -> None:
    base = live_server.base_url
    platform = live_server.platform
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    foreign: list[str] = []
    errors: list[str] = []

    def note_foreign(request: Any) -> None:
        if request.url.startswith("http") and urlparse(request.url).hostname != "127.0.0.1":
            foreign.append(request.url)

    page.on("request", note_foreign)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # The login page, in Chinese by default.
    page.goto(base + "/")
    page.wait_for_selector("#login-form", state="visible")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.text_content("#login-form h1") == "指挥中心登录"
    assert page.is_hidden("#centre-view")

    # A wrong password shows the server's own (translated) message.
    expected = httpx.post(
        f"{base}/api/auth/login",
        json={"username": platform.username, "password": "wrong-password"},
        headers={"Accept-Language": "zh-CN"},
    ).json()["error"]["message"]
    page.fill("#login-username", platform.username)
    page.fill("#login-password", "wrong-password")
    page.click("#login-submit")
    page.wait_for_selector("#login-error", state="visible")
    assert page.text_content("#login-error") == expected

    # Signing in opens the command centre with the demo city's own roads and districts.
    page.fill("#login-password", platform.password)
    page.click("#login-submit")
    page.wait_for_selector("#centre-view", state="visible")
    page.wait_for_selector("#map[data-ready='true']")
    roads = _count(page, "#roads-count")
    districts = _count(page, "#districts-count")
    assert roads > 0
    assert districts > 0
    assert page.locator(".leaflet-pane[data-layer='roads'] canvas").count() >= 1
    assert page.locator(".leaflet-pane[data-layer='districts'] path").count() == districts
    assert page.locator(".leaflet-tile").count() == 0  # no tile server
    assert "OpenStreetMap contributors" in page.text_content(".leaflet-control-attribution")
    assert page.locator("[data-testid='layer-control'] input").count() >= 3

    # The feed shows the city import relayed from the outbox, then a live event.
    page.wait_for_selector("#feed li[data-subject='city.imported']")
    page.wait_for_selector("#live-status[data-state='live']")
    from pingan.core.events import Envelope

    live_id = uuid.uuid4()
    live_server.run(
        live_server.app.state.ctx.bus.publish(
            Envelope(
                event_id=live_id,
                subject="test.e2e.pinged",
                occurred_at=datetime.now(UTC),
                payload={"note": "hello from the e2e test"},
            )
        )
    )
    page.wait_for_selector(f"#feed li[data-event-id='{live_id}']")
    assert "hello from the e2e test" in page.text_content(f"#feed li[data-event-id='{live_id}']")

    # One panel per desk; desks without a module say so.
    page.wait_for_selector("[data-testid='desk-report']")
    assert page.locator("#panels [data-desk]").count() >= 14
    idle = page.locator("#panels [data-active='false'] .panel-idle")
    assert idle.count() > 0
    assert idle.first.text_content() == "本系统尚未投入使用。"
    map_title_zh = page.text_content("#map-title")
    page.screenshot(path=str(artifacts_dir / "command-centre-zh.png"))

    # Switching language re-renders every text without a reload.
    page.click("#lang-toggle")
    page.wait_for_selector("html[lang='en']")
    assert page.text_content("#map-title") == "City situation"
    assert page.text_content("#map-title") != map_title_zh
    assert page.text_content("#feed-title") == "Live feed"
    assert idle.first.text_content() == "This desk is not yet in service."
    assert page.text_content("#lang-toggle") == "中文"
    assert page.evaluate("localStorage.getItem('pingan.lang')") == "en"

    shot = artifacts_dir / "command-centre.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    # The choice survives a reload; so does the session (the token is in sessionStorage).
    page.reload()
    page.wait_for_selector("#map[data-ready='true']")
    assert page.get_attribute("html", "lang") == "en"

    # Signing out returns to the login page.
    page.click("#logout")
    page.wait_for_selector("#login-form", state="visible")
    assert page.evaluate("sessionStorage.getItem('pingan.token')") is None

    assert not foreign, f"the page reached other hosts: {foreign}"
    assert not errors, errors
    context.close()
