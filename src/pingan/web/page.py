"""The command-centre page (指挥中心): static assets, message catalogue and API docs.

Everything the browser loads comes from this process: the page from ``web/static``,
Leaflet from the ``xstatic-leaflet`` package, each desk's panel from its module's
static folder and Swagger UI from the ``swagger-ui-bundle`` package. There is no CDN
and no tile server, so the command centre works on a network cut off from the world.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.routing import BaseRoute, Route

from pingan.core.auth.permissions import register_permissions
from pingan.core.auth.roles import STAFF_ROLES
from pingan.core.i18n import DEFAULT_LANGUAGE, catalogue, register_catalogue, translate
from pingan.core.module import Module
from pingan.web.desks import desks_router
from pingan.web.feed import FEED_PERMISSION, LiveFeed, feed_router

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
LOCALES_DIR = WEB_DIR / "locales"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
"""Only this server: proves (and enforces) that the page loads nothing from elsewhere."""


def module() -> Module:
    """The web layer's own module: the feed permission and the page's messages."""
    return Module(
        name="web",
        locales_dir=LOCALES_DIR,
        permissions={FEED_PERMISSION: STAFF_ROLES},
    )


class MessageCatalogue(BaseModel):
    """Every message of the platform in one language, for the page."""

    language: Literal["zh-CN", "en"] = Field(description="The catalogue's language.")
    messages: dict[str, str] = Field(description="Dotted key -> message template.")


def swagger_ui_dir() -> Path | None:
    """Swagger UI's files from the ``swagger-ui-bundle`` package, when installed."""
    try:
        import swagger_ui_bundle  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    path = Path(swagger_ui_bundle.swagger_ui_path)
    return path if (path / "swagger-ui-bundle.js").exists() else None


def leaflet_dir() -> Path:
    """Leaflet's files from the ``xstatic-leaflet`` package."""
    import xstatic.pkg.leaflet as xstatic_leaflet  # type: ignore[import-untyped,unused-ignore]

    return Path(xstatic_leaflet.BASE_DIR)


@lru_cache(maxsize=4)
def _index_template(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def render_index(lang: str) -> str:
    """The page's HTML with ``<html lang>`` and the title in ``lang``."""
    html = _index_template(STATIC_DIR / "index.html")
    return html.replace("{{lang}}", lang).replace("{{title}}", translate("web.title", lang))


def _replace_cdn_docs(app: FastAPI) -> None:
    """Serve /docs from the package's Swagger UI; drop the CDN-only docs pages.

    FastAPI's own /docs and /redoc pull their scripts from a CDN. Without the
    Swagger UI package the schema stays at /openapi.json and /docs is not offered.
    """
    cdn_paths = {p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p}
    kept: list[BaseRoute] = [
        r for r in app.router.routes if not (isinstance(r, Route) and r.path in cdn_paths)
    ]
    app.router.routes[:] = kept
    swagger = swagger_ui_dir()
    if swagger is None or app.openapi_url is None:
        return
    app.mount("/static/vendor/swagger-ui", StaticFiles(directory=swagger), name="vendor-swagger-ui")
    docs_url = app.docs_url or "/docs"
    redirect_url = f"{docs_url}/oauth2-redirect"
    openapi_url = app.openapi_url
    title = f"{app.title} — API"

    @app.get(docs_url, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/core/favicon.svg",
            oauth2_redirect_url=redirect_url,
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get(redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def mount_page(app: FastAPI, modules: Sequence[Module], feed: LiveFeed) -> None:
    """Mount the feed, desk and catalogue routes, the static assets and the page itself."""
    register_catalogue(LOCALES_DIR)
    # Registered here too so the page works whether or not the lead lists this module.
    register_permissions(module().permissions)
    app.include_router(feed_router(feed), prefix="/api")
    app.include_router(desks_router(modules), prefix="/api")

    @app.get(
        "/api/i18n/{lang}",
        response_model=MessageCatalogue,
        tags=["i18n"],
        summary="The message catalogue",
    )
    def message_catalogue(
        lang: Annotated[Literal["zh-CN", "en"], PathParam(description="`zh-CN` or `en`.")],
    ) -> MessageCatalogue:
        """Every message the page shows, in ``lang`` (public: the login page needs it)."""
        return MessageCatalogue(language=lang, messages=catalogue(lang))

    _replace_cdn_docs(app)
    app.mount("/static/vendor/leaflet", StaticFiles(directory=leaflet_dir()), name="vendor-leaflet")
    app.mount("/static/core", StaticFiles(directory=STATIC_DIR), name="static-core")
    for m in modules:
        if m.static_dir is not None and m.name not in {"core", "vendor"}:
            app.mount(
                f"/static/{m.name}", StaticFiles(directory=m.static_dir), name=f"static-{m.name}"
            )

    default_language = _default_language(app)

    @app.get("/", include_in_schema=False)
    def command_centre(request: Request) -> HTMLResponse:
        lang = request.cookies.get("pingan_lang")
        if lang not in ("zh-CN", "en"):
            lang = default_language
        return HTMLResponse(
            render_index(lang),
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> HTMLResponse:
        svg = (STATIC_DIR / "favicon.svg").read_text(encoding="utf-8")
        return HTMLResponse(svg, media_type="image/svg+xml")


def _default_language(app: FastAPI) -> str:
    ctx: Any = getattr(app.state, "ctx", None)
    settings = getattr(ctx, "settings", None)
    web = getattr(settings, "web", None)
    lang = getattr(web, "default_language", DEFAULT_LANGUAGE)
    return lang if lang in ("zh-CN", "en") else DEFAULT_LANGUAGE
