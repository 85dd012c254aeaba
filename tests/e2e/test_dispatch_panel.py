"""The dispatch desk's panel in a real browser: take a call, accept, move units, override.

A platform with the demo city and its demo force is served by uvicorn; headless Debian
chromium (driven by Playwright) signs in as an administrator and works the desk through
the page only, the way a call-taker and a dispatcher would.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from tests.e2e.conftest import Platform, chromium_path, prepare_platform, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = chromium_path()
if CHROMIUM is None:
    pytest.skip(
        "no chromium at /usr/bin/chromium (set CHROMIUM to another binary)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def _dispatch_missing() -> str | None:
    """Why the dispatch desk cannot be served yet, or None when it can."""
    try:
        dispatch = importlib.import_module("pingan.dispatch")
    except ImportError as exc:  # pragma: no cover - the package is in the tree
        return f"pingan.dispatch does not import: {exc}"
    if not hasattr(dispatch, "module"):
        return "pingan.dispatch has no `module` yet (the desk is not assembled)"
    from pingan.assembly import MODULE_PATHS

    if "pingan.dispatch" not in MODULE_PATHS:
        return "pingan.dispatch is not in pingan.assembly.MODULE_PATHS yet"
    try:
        dispatch.module()
    except Exception as exc:  # an unfinished desk: say what is missing
        return f"pingan.dispatch.module() fails: {exc!r}"
    service = importlib.import_module("pingan.dispatch.service")
    if not hasattr(service, "seed_demo_units"):
        return "pingan.dispatch.service has no seed_demo_units yet"
    return None


MISSING = _dispatch_missing()
if MISSING:
    pytest.skip(MISSING, allow_module_level=True)

TIMEOUT_MS = 30_000
CALL_TEXT = "有人在商场门口打架，好像有人受伤了"
SECOND_CALL = "路口两辆车撞了，司机在吵架"
UNCLEAR_CALL = "你好，我想说一下那个事情"


@pytest.fixture(scope="module")
def dispatch_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Platform, int]]:
    """The demo city and its demo force served on a free port; one foot patrol's fix is old."""
    from sqlalchemy import select

    from pingan.city.models import City
    from pingan.core.db import Database
    from pingan.dispatch.linkage import seed_demo_departments
    from pingan.dispatch.models import Unit
    from pingan.dispatch.service import seed_demo_units
    from pingan.web.app import create_app

    platform = prepare_platform(tmp_path_factory.mktemp("dispatch-live"))
    db = Database(platform.settings.database_url_resolved)
    try:
        with db.session() as session:
            city_id = session.scalars(select(City.id).order_by(City.id)).first()
            assert city_id is not None, "the demo city was not imported"
            seeded = seed_demo_units(db=session, settings=platform.settings, city_id=city_id)
            assert seeded > 0
            assert seed_demo_departments(db=session) > 0  # as `pingan run` does
            # A foot patrol whose last position report is an hour old (newer-only AVL
            # reports cannot make a unit stale through the API).
            foot = session.scalars(
                select(Unit).where(Unit.city_id == city_id, Unit.kind == "foot").order_by(Unit.id)
            ).first()
            assert foot is not None
            foot.position_at = datetime.now(UTC) - timedelta(hours=1)
            stale_id = foot.id
    finally:
        db.dispose()

    app = create_app(platform.settings)
    with serving(app, "dispatch-e2e") as (base_url, _loop):
        yield base_url, platform, stale_id


def _token(base: str, platform: Platform) -> str:
    response = httpx.post(
        f"{base}/api/auth/login",
        json={"username": platform.username, "password": platform.password},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def _pick_on_map(page: Any, first: int = 0) -> None:
    """Arm the pick button and click the map until the panel takes a point."""
    spots = [(0.5, 0.5), (0.42, 0.46), (0.58, 0.55), (0.47, 0.6), (0.55, 0.4)]
    for fx, fy in spots[first:] + spots[:first]:
        if "is-on" not in (page.get_attribute("[data-testid='dispatch-pick']", "class") or ""):
            page.click("[data-testid='dispatch-pick']")
        page.locator("#map").scroll_into_view_if_needed()
        box = page.locator("#map").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        if page.get_attribute("[data-testid='dispatch-pick-text']", "data-picked") == "true":
            page.keyboard.press("Escape")
            return
    raise AssertionError("no map click reached the dispatch panel")


def _unit_row(page: Any, unit_id: Any) -> str:
    return f"[data-testid='unit-row'][data-unit-id='{unit_id}']"


def test_dispatch_panel_call_accept_status_override_language(
    browser: Any, dispatch_server: tuple[str, Platform, int], artifacts_dir: Path
) -> None:
    base, platform, stale_id = dispatch_server
    token = _token(base, platform)

    context = browser.new_context(viewport={"width": 1680, "height": 1050}, locale="zh-CN")
    try:
        _work_the_desk(context, base, platform, token, stale_id, artifacts_dir)
    finally:
        context.close()


def _work_the_desk(
    context: Any, base: str, platform: Platform, token: str, stale_id: int, artifacts_dir: Path
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    foreign: list[str] = []
    errors: list[str] = []
    page.on(
        "request",
        lambda r: (
            foreign.append(r.url)
            if r.url.startswith("http") and urlparse(r.url).hostname != "127.0.0.1"
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(base + "/")
    page.wait_for_selector("#login-form", state="visible")
    page.fill("#login-username", platform.username)
    page.fill("#login-password", platform.password)
    page.click("#login-submit")
    page.wait_for_selector("#map[data-ready='true']")
    panel = page.locator("[data-testid='dispatch-panel'][data-ready='true']")
    panel.wait_for()
    assert page.get_attribute("[data-testid='desk-dispatch']", "data-active") == "true"

    # The unit board shows the demo force grouped by kind, the stale patrol greyed and badged.
    page.wait_for_selector("[data-testid='board-group-patrol_car'] [data-testid='unit-row']")
    for kind in ("patrol_car", "motorbike", "foot", "k9", "drone"):
        assert page.locator(f"[data-testid='board-group-{kind}']").count() == 1, kind
    stale_row = page.locator(_unit_row(page, stale_id))
    assert stale_row.get_attribute("data-stale") == "true"
    # "位置过期 60 分钟": how long ago the last fix was
    assert stale_row.locator("[data-testid='stale-badge']").text_content().startswith("位置过期 ")
    assert page.locator("[data-testid='drone-battery']").count() >= 1
    assert "分" in page.locator("[data-testid='drone-battery']").first.text_content()

    # A call-taker types the call and clicks its place on the map.
    page.fill("[data-testid='dispatch-call-text']", CALL_TEXT)
    _pick_on_map(page)
    page.click("[data-testid='dispatch-call-submit']")
    msg = page.locator("[data-testid='dispatch-intake-msg'][data-kind='ok']")
    msg.wait_for()
    assert "已受理" in msg.text_content()

    # The incident is in the queue with its priority chip, and its detail recommends units.
    row = page.locator("[data-testid='incident-row']").first
    row.wait_for()
    incident_id = row.get_attribute("data-incident-id")
    chip = row.locator("[data-testid='priority-chip']").text_content()
    assert chip in {"P1", "P2", "P3", "P4"}
    detail = page.locator(f"[data-testid='dispatch-detail'][data-incident-id='{incident_id}']")
    detail.wait_for()
    incident = httpx.get(f"{base}/api/dispatch/incidents/{incident_id}", headers=auth).json()
    assert incident["text"] == CALL_TEXT
    assert (
        detail.locator("[data-testid='detail-type']").text_content()
        == (incident["call_type_label"]["zh-CN"])
    )
    recs = detail.locator("[data-testid='recommendation']")
    assert recs.count() == len(incident["recommendations"]) > 0
    first_eta = recs.first.locator("[data-testid='recommendation-eta']").text_content()
    assert ":" in first_eta  # m:ss
    reasons = recs.first.locator("[data-testid='recommendation-reasons']").text_content()
    assert reasons and "road_eta" not in reasons  # codes are rendered as sentences
    assert page.locator(".leaflet-pane[data-layer='dispatch'] path").count() >= 1

    # One click accepts the recommendation: the units are dispatched and the board follows.
    page.click("[data-testid='dispatch-accept']")
    page.wait_for_selector(
        f"[data-testid='dispatch-detail'][data-incident-id='{incident_id}'][data-status='dispatched']"
    )
    sent = [r["unit_id"] for r in incident["recommendations"]]
    ground = next(
        (r["unit_id"] for r in incident["recommendations"] if r["kind"] not in ("camera", "drone")),
        sent[0],
    )
    # Cameras are tasked to look, not dispatched: they are listed apart, without status buttons.
    cameras = [r for r in incident["recommendations"] if r["kind"] == "camera"]
    assert detail.locator("[data-testid='detail-unit']").count() == len(sent) - len(cameras)
    assert detail.locator("[data-testid='detail-camera']").count() == len(cameras)
    page.wait_for_selector(f"{_unit_row(page, ground)}[data-status='dispatched']")

    # The unit reports en route, then on scene, through the panel's status buttons.
    page.click(
        f"[data-testid='detail-unit'][data-unit-id='{ground}'] "
        "[data-testid='unit-status-btn'][data-status='en_route']"
    )
    page.wait_for_selector(f"{_unit_row(page, ground)}[data-status='en_route']")
    page.click(f"{_unit_row(page, ground)} [data-testid='unit-status-btn'][data-status='on_scene']")
    page.wait_for_selector(f"{_unit_row(page, ground)}[data-status='on_scene']")
    page.wait_for_selector(
        f"[data-testid='dispatch-detail'][data-incident-id='{incident_id}'][data-status='on_scene']"
    )
    # Its timeline shows every step.
    page.click(f"{_unit_row(page, ground)} .dp-callsign")
    timeline = page.locator("[data-testid='unit-timeline'] li")
    timeline.nth(2).wait_for()
    assert timeline.count() >= 3

    # A second call, overridden: without a reason the server refuses, and the page says why.
    page.fill("[data-testid='dispatch-call-text']", SECOND_CALL)
    _pick_on_map(page)
    page.click("[data-testid='dispatch-call-submit']")
    page.wait_for_function(
        "id => { const d = document.querySelector(\"[data-testid='dispatch-detail']\");"
        " return d && d.dataset.incidentId && d.dataset.incidentId !== id; }",
        arg=incident_id,
    )
    second_id = page.get_attribute("[data-testid='dispatch-detail']", "data-incident-id")
    second = httpx.get(f"{base}/api/dispatch/incidents/{second_id}", headers=auth).json()
    recommended = {r["unit_id"] for r in second["recommendations"]}
    page.click("[data-testid='dispatch-override']")
    boxes = page.locator("[data-testid='override-unit']")
    boxes.first.wait_for()
    other = next(
        int(boxes.nth(i).get_attribute("data-unit-id"))
        for i in range(boxes.count())
        if int(boxes.nth(i).get_attribute("data-unit-id")) not in recommended
    )
    expected = httpx.post(
        f"{base}/api/dispatch/incidents/{second_id}/dispatch",
        json={"unit_ids": [other]},
        headers={**auth, "Accept-Language": "zh-CN"},
    )
    assert expected.status_code == 422
    assert expected.json()["error"]["field"] == "override_reason"
    page.check(f"[data-testid='override-unit'][data-unit-id='{other}']")
    page.click("[data-testid='override-submit']")
    error = page.locator("[data-testid='dispatch-error'][data-field='override_reason']")
    error.wait_for()
    assert error.text_content() == expected.json()["error"]["message"]
    # With a reason it goes through, and the reason is kept on the incident.
    page.fill("[data-testid='override-reason']", "推荐警力绕行较远，附近摩托更快")
    page.click("[data-testid='override-submit']")
    page.wait_for_selector(
        f"[data-testid='dispatch-detail'][data-incident-id='{second_id}'][data-status='dispatched']"
    )
    assert "附近摩托更快" in page.text_content("[data-testid='detail-override-reason']")
    page.wait_for_selector(f"{_unit_row(page, other)}[data-status='dispatched']")

    # An unclear call stays with the desk (首接负责) until the dispatcher re-classifies it;
    # then, as a non-police matter, it goes to its department with one click.
    page.fill("[data-testid='dispatch-call-text']", UNCLEAR_CALL)
    _pick_on_map(page, first=3)  # away from the other calls: not anyone's duplicate
    page.click("[data-testid='dispatch-call-submit']")
    page.wait_for_function(
        "id => { const d = document.querySelector(\"[data-testid='dispatch-detail']\");"
        " return d && d.dataset.incidentId && d.dataset.incidentId !== id; }",
        arg=second_id,
        timeout=TIMEOUT_MS,
    )
    unclear_id = page.get_attribute("[data-testid='dispatch-detail']", "data-incident-id")
    page.wait_for_selector("[data-testid='transfer-unclear']")
    page.wait_for_selector(
        "[data-testid='classify-type'] option[value='water_outage']", state="attached"
    )
    page.select_option("[data-testid='classify-type']", "water_outage")
    page.click("[data-testid='classify-submit']")
    assert page.locator("[data-testid='dispatch-error']").count() >= 1  # no reason given
    page.fill("[data-testid='classify-reason']", "回拨核实：小区停水")
    page.click("[data-testid='classify-submit']")
    page.wait_for_selector("[data-testid='transfer-submit']", timeout=TIMEOUT_MS)
    assert page.locator("[data-testid='transfer-unclear']").count() == 0
    page.click("[data-testid='transfer-submit']")
    page.wait_for_selector(
        f"[data-testid='dispatch-detail'][data-incident-id='{unclear_id}']"
        "[data-status='transferred'] [data-testid='transfer-info'][data-status='transferred']",
        timeout=TIMEOUT_MS,
    )

    # Back on the first incident for the picture: queue, detail, board and map together.
    page.click(f"[data-testid='incident-row'][data-incident-id='{incident_id}']")
    page.wait_for_selector(f"[data-testid='dispatch-detail'][data-incident-id='{incident_id}']")
    assert page.locator("[data-testid='incident-row']").count() >= 2
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    page.locator("[data-testid='desk-dispatch']").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "dispatch-panel-page-zh.png"), full_page=True)
    page.locator("[data-testid='desk-dispatch']").screenshot(
        path=str(artifacts_dir / "dispatch-panel-zh.png")
    )

    # English: every label of the panel re-renders without a reload.
    page.click("#lang-toggle")
    page.wait_for_selector("html[lang='en']")
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='dispatch-board'] h4\")"
        ".textContent === 'Unit board'"
    )
    assert page.text_content("[data-testid='dispatch-intake'] h4") == "Call intake"
    assert page.text_content("[data-testid='dispatch-call-submit']") == "Take the call"
    assert (
        detail.locator("[data-testid='detail-type']").text_content()
        == (incident["call_type_label"]["en"])
    )
    assert stale_row.locator("[data-testid='stale-badge']").text_content().startswith("stale ")
    assert page.text_content(f"{_unit_row(page, ground)} .dp-status") == "On scene"
    assert "min" in page.locator("[data-testid='drone-battery']").first.text_content()

    shot = artifacts_dir / "dispatch-panel.png"
    page.locator("[data-testid='desk-dispatch']").screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    page.screenshot(path=str(artifacts_dir / "dispatch-panel-page.png"), full_page=True)

    assert not foreign, f"the page reached other hosts: {foreign}"
    assert not errors, errors
