"""The command-centre page: assets served locally, catalogue complete, desks listed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pingan.core.auth.roles import ALL_ROLES
from pingan.core.i18n import catalogue as messages
from pingan.core.i18n import register_catalogue
from pingan.core.module import Module, Panel
from pingan.core.settings import Settings
from pingan.web.desks import DESKS, catalogue
from pingan.web.feed import LiveFeed
from pingan.web.page import LOCALES_DIR, STATIC_DIR, mount_page, swagger_ui_dir

register_catalogue(LOCALES_DIR)

URL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    panel_dir = tmp_path / "dispatch_static"
    panel_dir.mkdir()
    (panel_dir / "panel.js").write_text("export function mount(root) {}\n", encoding="utf-8")
    app = FastAPI()
    app.state.ctx = SimpleNamespace(settings=Settings(data_dir=tmp_path))
    modules = [Module(name="dispatch", panel=Panel(script="panel.js"), static_dir=panel_dir)]
    mount_page(app, modules, LiveFeed())
    return TestClient(app)


def test_the_page_is_served_in_chinese_by_default(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.text
    assert "智慧公安指挥中心" in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    for hook in (
        'id="login-form"',
        'id="map"',
        'id="feed"',
        'id="lang-toggle"',
        'id="roads-count"',
        'id="districts-count"',
    ):
        assert hook in response.text


def test_the_page_follows_the_language_cookie(client: TestClient) -> None:
    client.cookies.set("pingan_lang", "en")
    assert '<html lang="en">' in client.get("/").text


def test_assets_come_from_this_server(client: TestClient) -> None:
    for path in (
        "/static/vendor/leaflet/leaflet-src.esm.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/core/app.js",
        "/static/core/style.css",
        "/static/dispatch/panel.js",
    ):
        assert client.get(path).status_code == 200, path


def test_the_page_references_no_other_host() -> None:
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in {".html", ".js", ".css"}:
            assert not URL.findall(path.read_text(encoding="utf-8")), path


def test_catalogue_endpoint(client: TestClient) -> None:
    body = client.get("/api/i18n/en").json()
    assert body["language"] == "en"
    assert body["messages"]["web.desks.not_in_service"] == "This desk is not yet in service."
    zh = client.get("/api/i18n/zh-CN").json()["messages"]
    assert zh["web.desks.not_in_service"] == "本系统尚未投入使用。"
    assert client.get("/api/i18n/fr").status_code == 422


def test_docs_work_offline(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404  # ReDoc only exists on a CDN
    docs = client.get("/docs")
    if swagger_ui_dir() is None:
        assert docs.status_code == 404
        return
    assert docs.status_code == 200
    assert not URL.findall(docs.text.replace("https://swagger.io", ""))
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def _locale(lang: str) -> dict[str, str]:
    flat: dict[str, str] = {}

    def walk(tree: dict[str, object], prefix: str) -> None:
        for key, value in tree.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                flat[f"{prefix}{key}"] = str(value)

    walk(json.loads((LOCALES_DIR / f"{lang}.json").read_text(encoding="utf-8")), "")
    return flat


def test_both_languages_have_the_same_keys() -> None:
    zh, en = _locale("zh-CN"), _locale("en")
    assert set(zh) == set(en)
    assert all(k.startswith(("web.", "desk.")) for k in zh)


def test_every_key_the_page_uses_exists() -> None:
    used: set[str] = set()
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in {".html", ".js"}:
            text = path.read_text(encoding="utf-8")
            used |= set(re.findall(r"""["'=](web\.[a-z_]+(?:\.[a-z_]+)+)""", text))
    used |= {f"web.live.{s}" for s in ("off", "connecting", "live")}
    used |= {f"web.role.{r}" for r in ALL_ROLES}
    used |= {
        f"web.poi.{k}"
        for k in (
            "hospital",
            "clinic",
            "police",
            "fire_station",
            "school",
            "university",
            "traffic_signals",
        )
    }
    for lang in ("zh-CN", "en"):
        missing = used - set(_locale(lang))
        assert not missing, (lang, sorted(missing))


def test_the_fourteen_desks_are_named_in_both_languages() -> None:
    assert [d.number for d in DESKS] == list(range(1, 15))
    assert len({d.key for d in DESKS}) == 14
    for lang in ("zh-CN", "en"):
        for desk in DESKS:
            assert messages(lang)[desk.name_key] != desk.name_key
            assert messages(lang)[desk.purpose_key]


def test_desks_without_a_module_say_they_are_not_in_service() -> None:
    modules = [
        Module(name="dispatch", panel=Panel(script="panel.js", order=5)),
        Module(name="traffic"),
        Module(name="city", panel=Panel(script="city.js", order=1)),
        Module(name="auth"),
    ]
    desks = {d.key: d for d in catalogue(modules, "en")}
    assert desks["dispatch"].active
    assert desks["dispatch"].panel_script == "/static/dispatch/panel.js"
    assert desks["greenwave"].active and desks["greenwave"].module == "traffic"
    assert desks["greenwave"].panel_script is None
    assert not desks["antifraud"].active and desks["antifraud"].module is None
    assert desks["antifraud"].name == "Anti-fraud early warning"
    assert desks["city"].number == 0 and desks["city"].panel_script == "/static/city/city.js"
    assert "auth" not in desks
    # The 12345 linkage desk works inside the dispatch desk's panel.
    assert desks["linkage"].active and desks["linkage"].hosted_by == "dispatch"
    assert desks["linkage"].panel_script is None
    assert sum(d.active for d in desks.values() if d.number) == 3


def test_a_hosted_desk_is_out_of_service_without_its_host() -> None:
    desks = {d.key: d for d in catalogue([Module(name="traffic")], "en")}
    assert not desks["linkage"].active and desks["linkage"].hosted_by is None
