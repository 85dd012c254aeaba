"""The run-card editor (出动标准) of the dispatch panel in headless Chromium.

A commander raises the fight call type to P1, types a count of 0 (the server refuses and the
page shows the field path), corrects it to 3, adds and removes a line, and saves: the API
then serves the new priority and run card.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Platform, prepare_platform, serving

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def rules_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Platform]]:
    """The platform (demo city imported) served on a free port."""
    from pingan.web.app import create_app

    platform = prepare_platform(tmp_path_factory.mktemp("dispatch-rules"))
    app = create_app(platform.settings)
    with serving(app, "dispatch-rules-e2e") as (base_url, _loop):
        yield base_url, platform


def test_commander_edits_a_run_card_in_the_panel(
    browser: Any, rules_server: tuple[str, Platform], artifacts_dir: Path
) -> None:
    base, platform = rules_server
    token = httpx.post(
        f"{base}/api/auth/login",
        json={"username": platform.username, "password": platform.password},
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    document = httpx.get(f"{base}/api/dispatch/triage-rules", headers=auth).json()["document"]
    fight = next(i for i, ct in enumerate(document["call_types"]) if ct["id"] == "fight")

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
        box = page.locator("[data-testid='dispatch-rules'][data-ready='true']")
        box.wait_for()
        assert "内置默认规则" in page.locator("[data-testid='rules-meta']").text_content()
        page.click("[data-testid='rules-open']")
        assert page.locator("[data-testid='rules-save']").is_disabled()  # nothing edited yet

        page.select_option("[data-testid='rules-priority-fight']", "P1")
        page.fill("[data-testid='rules-count-fight-0']", "0")
        page.click("[data-testid='rules-save']")
        error = page.locator("[data-testid='rules-msg'][data-kind='error']")
        error.wait_for()
        assert f"document.call_types[{fight}].run_card[0].count" in error.text_content()
        assert httpx.get(f"{base}/api/dispatch/triage-rules", headers=auth).json()["id"] is None

        page.fill("[data-testid='rules-count-fight-0']", "3")
        page.click("[data-testid='rules-add-fight']")
        page.locator("[data-testid='rules-count-fight-1']").wait_for()
        page.click("[data-testid='rules-remove-fight-1']")
        assert page.locator("[data-testid='rules-count-fight-1']").count() == 0
        page.fill("[data-testid='rules-note']", "斗殴一级响应")
        page.click("[data-testid='rules-save']")
        page.locator("[data-testid='rules-msg'][data-kind='ok']").wait_for()
        page.screenshot(path=str(artifacts_dir / "dispatch-rules.png"))

        saved = httpx.get(f"{base}/api/dispatch/triage-rules", headers=auth).json()
        assert saved["id"] is not None and saved["note"] == "斗殴一级响应"
        assert saved["created_by"] == platform.username
        ct = saved["document"]["call_types"][fight]
        assert ct["priority"] == "P1" and ct["run_card"] == [{"kind": "patrol_car", "count": 3}]
        # Everything else went back untouched.
        others = [c for i, c in enumerate(saved["document"]["call_types"]) if i != fight]
        assert others == [c for i, c in enumerate(document["call_types"]) if i != fight]
        assert f"#{saved['id']}" in page.locator("[data-testid='rules-meta']").text_content()
        assert not errors, errors
    finally:
        context.close()
