"""Event security mode in a real browser: demo venue, posts on the map, units, activation."""

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
INSIDE = (24.9440, 60.1710)


@pytest.fixture(scope="module")
def security_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Platform]]:
    """The demo city with its demo force, served on a free port."""
    from sqlalchemy import select

    from pingan.city.models import City
    from pingan.core.db import Database
    from pingan.dispatch.service import seed_demo_units
    from pingan.web.app import create_app

    platform = prepare_platform(tmp_path_factory.mktemp("security-live"))
    db = Database(platform.settings.database_url_resolved)
    try:
        with db.session() as session:
            city_id = session.scalars(select(City.id).order_by(City.id)).first()
            assert city_id is not None
            seed_demo_units(db=session, settings=platform.settings, city_id=city_id)
    finally:
        db.dispose()
    app = create_app(platform.settings)
    with serving(app, "security-e2e") as (base_url, _loop):
        yield base_url, platform


def test_commander_plans_and_activates_an_event(
    browser: Any, security_server: tuple[str, Platform], artifacts_dir: Path
) -> None:
    base, platform = security_server
    context = browser.new_context(viewport={"width": 1680, "height": 1050}, locale="zh-CN")
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
        box = page.locator("[data-testid='dispatch-security'][data-ready='true']")
        box.wait_for()

        # The commander takes the demo venue and creates the event.
        page.click("[data-testid='security-new'] > summary")
        page.click("[data-testid='security-preset']")
        assert "4" in (page.text_content("[data-testid='security-points']") or "")
        page.click("[data-testid='security-create']")
        page.wait_for_selector("[data-testid='security-msg'][data-kind='ok']")
        page.wait_for_selector("[data-testid='security-event'][data-status='planned']")

        # Posts by p-median, shown in the list and on the map with kind glyphs.
        page.fill("[data-testid='security-foot']", "4")
        page.fill("[data-testid='security-k9']", "1")
        page.fill("[data-testid='security-drones']", "1")
        page.click("[data-testid='security-propose']")
        page.wait_for_selector("[data-testid='security-posts'] li[data-kind='foot']")
        assert page.locator("[data-testid='security-posts'] li[data-post-id]").count() == 6
        assert page.locator(".ds-post-mark").count() == 6
        assert page.locator("[data-testid='security-plan-line']").count() == 3

        page.click("[data-testid='security-assign']")
        page.wait_for_selector(".ds-post-mark.is-staffed")
        page.click("[data-testid='security-activate']")
        page.wait_for_selector("[data-testid='security-event'][data-status='active']")
        assert page.text_content("[data-testid='security-status']") == "进行中"

        # A call inside the perimeter is raised and appears on the board.
        token = httpx.post(
            f"{base}/api/auth/login",
            json={"username": platform.username, "password": platform.password},
        ).json()["access_token"]
        r = httpx.post(
            f"{base}/api/dispatch/incidents",
            json={"text": "有人在街上打架，两个人打起来了", "lon": INSIDE[0], "lat": INSIDE[1]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["priority"] == "P1"
        page.wait_for_selector(
            f"[data-testid='security-incidents'] li[data-incident-id='{r.json()['id']}']"
            "[data-raised='true']"
        )
        page.screenshot(path=str(artifacts_dir / "dispatch-security.png"))
        assert not errors, errors
    finally:
        context.close()
