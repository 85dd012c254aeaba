"""The traffic panel in a real browser: a traffic engineer picks a clinic, proposes corridors,
saves one, computes the green wave (time-space diagram and before/after inline) and marks
the morning-peak plan deployed."""

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

USERNAME = "engineer"
PASSWORD = "traffic-pass-1"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def traffic_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Platform]]:
    """The platform with the demo city and a traffic engineer of the city."""
    from sqlalchemy import select

    from pingan.city.models import City
    from pingan.core.auth.models import Jurisdiction
    from pingan.core.auth.permissions import Principal
    from pingan.core.auth.schemas import UserCreate
    from pingan.core.auth.service import create_user
    from pingan.core.db import Database
    from pingan.web.app import create_app

    platform = prepare_platform(tmp_path_factory.mktemp("traffic-live"))
    db = Database(platform.settings.database_url_resolved)
    try:
        with db.session() as session:
            city = session.scalars(select(City)).one()
            place = session.get(Jurisdiction, city.jurisdiction_id)
            assert place is not None
            create_user(
                db=session,
                user_in=UserCreate(
                    username=USERNAME,
                    password=PASSWORD,
                    roles=["traffic"],
                    jurisdictions=[place.code],
                    language="zh-CN",
                ),
                actor=Principal.system(),
            )
    finally:
        db.dispose()
    app = create_app(platform.settings, background=False)
    with serving(app, "traffic-live") as (base, _loop):
        yield base, platform


def test_pick_propose_plan_deploy(
    traffic_server: tuple[str, Platform], browser: Any, artifacts_dir: Path
) -> None:
    base, _platform = traffic_server
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(base + "/")
        page.wait_for_selector("#login-form", state="visible")
        page.fill("#login-username", USERNAME)
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        panel = ".tr-panel"
        page.wait_for_selector(
            f"{panel} select[name='destination'] option:nth-child(2)", state="attached"
        )
        # The demo extract has no hospital: the panel says so and lists clinics.
        assert "诊所" in page.inner_text(panel)
        page.select_option(f"{panel} select[name='destination']", index=1)
        page.click(f"{panel} button[data-action='propose']")
        page.wait_for_selector(f"{panel} button[data-action='save'][data-index='0']")
        page.click(f"{panel} button[data-action='save'][data-index='0']")
        page.wait_for_selector(f"{panel} button[data-action='plan']")
        page.wait_for_selector(
            f"{panel} select[name='corridor'] option[selected]", state="attached"
        )
        page.click(f"{panel} button[data-action='plan']")
        page.wait_for_selector(f"{panel} .tr-diagram svg")
        before = page.inner_text(f"{panel} td[data-before='compare.out.travel']")
        after = page.inner_text(f"{panel} td[data-after='compare.out.travel']")
        assert float(after) < float(before)
        assert page.locator(f"{panel} .tr-history td[data-status='draft']").count() == 3
        page.click(f"{panel} button[data-action='deploy']")
        page.wait_for_selector(f"{panel} .tr-history td[data-status='deployed']")
        # Ask for the plan's SUMO evaluation: it is queued and listed with its progress bar
        # (this server runs no background jobs, so it stays queued).
        page.click(f"{panel} button[data-action='evaluate-plan']")
        page.wait_for_selector(f"{panel} tr[data-evaluation] progress")
        page.locator(panel).screenshot(path=str(artifacts_dir / "traffic-panel.png"))
    finally:
        context.close()
    login = httpx.post(
        base + "/api/auth/login", json={"username": USERNAME, "password": PASSWORD}, timeout=60
    )
    staff = {"Authorization": f"Bearer {login.json()['access_token']}"}
    corridors = httpx.get(base + "/api/traffic/corridors", headers=staff, timeout=60).json()
    assert len(corridors) == 1
    plans = httpx.get(
        f"{base}/api/traffic/corridors/{corridors[0]['id']}/plans", headers=staff, timeout=60
    ).json()
    assert sorted(p["status"] for p in plans) == ["deployed", "draft", "draft"]
    queued = httpx.get(base + "/api/traffic/evaluations", headers=staff, timeout=60).json()
    assert [e["plan_id"] for e in queued] == [p["id"] for p in plans if p["status"] == "deployed"]
    assert queued[0]["seeds"] == 3 and "pingan+priority" in queued[0]["controllers"]
