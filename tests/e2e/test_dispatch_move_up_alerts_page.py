"""Move-up (补位) and public warnings (预警发布) in the dispatch panel, in a real browser.

The demo city with its demo force and planned standby posts is served by uvicorn; the
page's user is a commander (and administrator): accepts a move-up proposal with one
click, drafts a missing-person alert at a point picked on the map, issues it, downloads
its CAP 1.2 XML and cancels it.
"""

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

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def move_up_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Platform]]:
    """The demo city, its demo force and its standby posts, served on a free port."""
    from sqlalchemy import select

    from pingan.city.models import City
    from pingan.core.db import Database
    from pingan.dispatch.service import seed_demo_units
    from pingan.dispatch.standby import plan_posts
    from pingan.web.app import create_app

    platform = prepare_platform(tmp_path_factory.mktemp("move-up-live"))
    db = Database(platform.settings.database_url_resolved)
    try:
        with db.session() as session:
            city_id = session.scalars(select(City.id).order_by(City.id)).first()
            assert city_id is not None
            seed_demo_units(db=session, settings=platform.settings, city_id=city_id)
        with db.session() as session:
            assert plan_posts(
                db=session, city_id=city_id, data_dir=platform.settings.data_dir, actor="t"
            )
    finally:
        db.dispose()
    app = create_app(platform.settings)
    with serving(app, "move-up-e2e") as (base_url, _loop):
        yield base_url, platform


def test_move_up_and_missing_person_alert_from_the_panel(
    browser: Any, move_up_server: tuple[str, Platform], artifacts_dir: Path
) -> None:
    base, platform = move_up_server
    token = httpx.post(
        f"{base}/api/auth/login",
        json={"username": platform.username, "password": platform.password},
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    context = browser.new_context(
        viewport={"width": 1680, "height": 1050}, locale="zh-CN", accept_downloads=True
    )
    errors: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")
        page.wait_for_selector("#login-form", state="visible")
        page.fill("#login-username", platform.username)
        page.fill("#login-password", platform.password)
        page.click("#login-submit")
        page.wait_for_selector("#map[data-ready='true']")
        page.locator("[data-testid='dispatch-panel'][data-ready='true']").wait_for()

        # Move-up: the posts are on the map, the proposals in the box; one click sends a unit.
        box = page.locator("[data-testid='dispatch-move-up']")
        box.locator("[data-testid='move-up-basis']").wait_for()
        assert box.locator("[data-testid='move-up-basis']").get_attribute("data-basis") == "pois"
        assert page.locator(".dp-post-mark").count() >= 1
        proposal = box.locator("[data-testid='move-up-proposal']").first
        proposal.wait_for()
        unit_id = proposal.get_attribute("data-unit-id")
        assert "→" in (proposal.text_content() or "")
        proposal.locator("[data-testid='move-up-accept']").click()
        box.locator("[data-testid='move-up-msg'][data-kind='ok']").wait_for()
        page.wait_for_selector(
            f"[data-testid='unit-row'][data-unit-id='{unit_id}'] [data-testid='unit-standby']"
        )
        unit = httpx.get(f"{base}/api/dispatch/units/{unit_id}", headers=auth).json()
        assert unit["status"] == "available" and unit["standby_node"] is not None
        assert page.locator(".dp-post-mark.is-filled").count() >= 1

        # A missing-person alert: drafted at a point picked on the map.
        alerts = page.locator("[data-testid='dispatch-alerts']")
        alerts.locator("[data-testid='alert-new'] > summary").click()
        page.fill("[data-testid='alert-name']", "张小明")
        page.fill("[data-testid='alert-age']", "8")
        page.fill("[data-testid='alert-appearance']", "红色外套，蓝色书包")
        page.fill("[data-testid='alert-place']", "Kamppi 地铁站")
        page.fill("[data-testid='alert-seen-at']", "2026-01-05T09:30")
        page.fill("[data-testid='alert-radius']", "1")
        # Without a place the draft is refused by the page, which says why.
        page.click("[data-testid='alert-draft']")
        alerts.locator("[data-testid='alert-msg'][data-kind='error']").wait_for()
        page.click("[data-testid='alert-use-pick']")
        page.locator("#map").scroll_into_view_if_needed()
        map_box = page.locator("#map").bounding_box()
        assert map_box is not None
        for fx, fy in ((0.5, 0.5), (0.42, 0.46), (0.58, 0.55)):
            page.mouse.click(
                map_box["x"] + map_box["width"] * fx, map_box["y"] + map_box["height"] * fy
            )
            if page.get_attribute("[data-testid='alert-where']", "data-set") == "true":
                break
            page.click("[data-testid='alert-use-pick']")
        assert page.get_attribute("[data-testid='alert-where']", "data-set") == "true"
        page.click("[data-testid='alert-draft']")
        alerts.locator("[data-testid='alert-msg'][data-kind='ok']").wait_for()
        row = alerts.locator("[data-testid='alert-row'][data-status='draft']").first
        row.wait_for()
        alert_id = row.get_attribute("data-alert-id")

        # The commander issues it; the CAP document is one click away; then it is cancelled.
        row.locator("[data-testid='alert-issue']").click()
        issued = alerts.locator(f"[data-testid='alert-row'][data-alert-id='{alert_id}']")
        page.wait_for_selector(
            f"[data-testid='alert-row'][data-alert-id='{alert_id}'][data-status='issued']"
        )
        with page.expect_download() as download_info:
            issued.locator("[data-testid='alert-cap']").click()
        xml = Path(download_info.value.path()).read_text(encoding="utf-8")
        assert "urn:oasis:names:tc:emergency:cap:1.2" in xml and "<msgType>Alert</msgType>" in xml
        issued.locator("[data-testid='alert-cancel']").click()
        page.wait_for_selector(
            f"[data-testid='alert-row'][data-alert-id='{alert_id}'][data-status='cancelled']"
        )
        api_alert = httpx.get(f"{base}/api/dispatch/alerts/{alert_id}", headers=auth).json()
        assert api_alert["status"] == "cancelled" and api_alert["kind"] == "missing_person"
        assert api_alert["area"]["circle"]["radius_km"] == 1

        # English, without a reload.
        page.click("#lang-toggle")
        page.wait_for_selector("html[lang='en']")
        page.wait_for_function(
            "() => document.querySelector(\"[data-testid='dispatch-alerts'] h4\")"
            ".textContent === 'Public warnings'"
        )
        assert page.text_content("[data-testid='dispatch-move-up'] h4") == "Move-up"
        page.locator("[data-testid='dispatch-move-up']").screenshot(
            path=str(artifacts_dir / "dispatch-move-up.png")
        )
        page.locator("[data-testid='dispatch-alerts']").screenshot(
            path=str(artifacts_dir / "dispatch-alerts.png")
        )
        assert not errors, errors
    finally:
        context.close()
