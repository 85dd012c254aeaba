"""The green-corridor page module (static/priority.js) in headless Chromium, with a fake context.

The module is loaded as the page loads it (an ES module with ``mount(el, ctx)``); the
context's ``api`` answers from canned data, ``t`` returns the key with its parameters so the
test reads which message is shown. Checks: per-signal states and countdowns from the stored
times, a live event refreshes the list, cancelling posts the reason.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import browser  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser]

STATIC = Path(__file__).resolve().parents[2] / "src" / "pingan" / "traffic" / "static"

PAGE = """<!doctype html><meta charset="utf-8"><div id="root"></div>
<script type="module">
import { mount } from "./priority.js";
const at = (s) => new Date(Date.now() + s * 1000).toISOString();
const signal = (seq, state, extra) => ({
  seq, node: seq, signal_ids: [seq], lon: 24.94, lat: 60.17, approach: "northbound", phase: 0,
  state, transition_s: 11, eta_at: at(400), request_at: at(-5), green_by_at: at(6),
  serve_until: at(50), capped: false, released_at: null, release_reason: null,
  restore_s: null, restore_at: null, restored_at: null, plan: {}, ...extra,
});
window.__data = { now: at(0), corridors: [{
  id: 1, city_id: 1, jurisdiction_id: 1, kind: "incident", status: "active", unit_id: 3,
  callsign: "A-01", incident_id: 7, priority: "P1", destination_name: "#7", hospital_id: null,
  origin: [24.94, 60.17], destination: [24.95, 60.17], route_s: 120, route_m: 900,
  reason: "", requested_by: "traffic-desk", started_at: at(-10), ended_at: null,
  geometry: { type: "LineString", coordinates: [[24.94, 60.17], [24.95, 60.17]] },
  signals: [
    signal(0, "requested", { request_at: at(300), green_by_at: at(311) }),
    signal(1, "serving", { green_by_at: at(-1), serve_until: at(200) }),
    signal(2, "released", { restore_at: at(100) }),
    signal(3, "restored", {}),
  ],
}]};
window.__calls = [];
let listener = null;
const ctx = {
  api: async (path, init = {}) => {
    window.__calls.push([init.method || "GET", path, init.body || null]);
    if (path.endsWith("/cancel")) return {};
    return window.__data;
  },
  t: (key, params = {}) => `${key}${Object.keys(params).length ? JSON.stringify(params) : ""}`,
  lang: () => "en",
  onEvent: (cb) => { listener = cb; },
  onLanguage: () => {},
  map: null,
  L: null,
};
window.__emit = (item) => listener && listener(item);
mount(document.getElementById("root"), ctx);
</script>"""


@pytest.fixture
def page_url(tmp_path: Path) -> Iterator[str]:
    shutil.copy(STATIC / "priority.js", tmp_path / "priority.js")
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def test_corridor_signals_show_states_countdowns_live_refresh_and_cancel(
    browser: Any,  # noqa: F811
    page_url: str,
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(page_url)
    page.wait_for_selector("#root[data-ready='true']", timeout=20_000)
    rows = page.locator("[data-testid='priority-signals'] li")
    assert rows.count() == 4
    states = [rows.nth(i).get_attribute("data-state") for i in range(4)]
    # Asked later / transition running / releasing / back on plan.
    assert states == ["requested", "serving", "released", "restored"]
    counts = page.locator("[data-testid='priority-countdown']").all_text_contents()
    assert counts[0].startswith("traffic.priority.panel.green_in")
    assert counts[1].startswith("traffic.priority.panel.holding")
    assert counts[2].startswith("traffic.priority.panel.restoring")
    assert counts[3] == "traffic.priority.panel.done"
    held = int(counts[1].split('"s":')[1].rstrip("}"))
    assert 100 <= held <= 200  # counted down from the stored time, not from the page's load
    # Cancelling asks for a reason and posts it.
    page.once("dialog", lambda dialog: dialog.accept("wrong unit"))
    page.click("[data-testid='priority-cancel']")
    page.wait_for_function(
        "window.__calls.some(([m, p]) => m === 'POST' && p.endsWith('/1/cancel'))"
    )
    calls = page.evaluate("window.__calls")
    assert ["POST", "/api/traffic/priority/1/cancel", {"reason": "wrong unit"}] in calls
    # A traffic.priority event refreshes the list: the corridor has ended.
    page.evaluate("window.__data = { now: new Date().toISOString(), corridors: [] }")
    page.evaluate("window.__emit({ subject: 'traffic.priority.cleared', payload: {} })")
    page.wait_for_selector("[data-testid='priority-empty']", timeout=10_000)
    assert errors == []
    page.close()
