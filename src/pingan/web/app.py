"""``create_app(settings)``: the one place that builds the engine, the bus and every module.

Importing this module connects to nothing; the database and the bus are opened when
the app is built, and background work (outbox relay, subscriptions, jobs, the
simulator) starts in the app's lifespan.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text

from pingan import __version__
from pingan.core.deps import get_language
from pingan.core.errors import PinganError
from pingan.core.i18n import translate
from pingan.core.settings import Settings, get_settings
from pingan.runtime import Runtime
from pingan.web.feed import LiveFeed
from pingan.web.page import mount_page

log = logging.getLogger(__name__)

SERVER_GC_THRESHOLD = 20_000
"""Net container allocations between young-generation collections in a server (CPython's
default is 700; see :func:`create_app`'s ``server_gc``)."""


def _error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    body.update(extra)
    return {"error": body}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PinganError)
    async def _pingan_error(request: Request, exc: PinganError) -> JSONResponse:
        lang = get_language(request)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(
            _error_body(exc.key, exc.message(lang), exc.field),
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = get_language(request)
        problems = [_problem(err, lang) for err in exc.errors()]
        first = problems[0] if problems else {"field": "body", "message": "", "reason": ""}
        return JSONResponse(
            _error_body("core.error.invalid", first["message"], first["field"], problems=problems),
            status_code=422,
        )


def _problem(err: Any, lang: str) -> dict[str, str]:
    """One validation problem: the field, a message in the caller's language, pydantic's reason."""
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
    field = ".".join(loc) or "body"
    params = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
    params.setdefault("reason", str(err.get("msg", "")))
    key = f"core.validation.{err.get('type')}"
    message = translate(key, lang, field=field, **{k: v for k, v in params.items() if k != "field"})
    if message == key:  # a type we have no message for: say which field, in the caller's language
        message = translate("core.error.invalid", lang, field=field)
    return {"field": field, "message": message, "reason": str(err.get("msg", ""))}


def create_app(
    settings: Settings | None = None, *, background: bool = True, server_gc: bool = False
) -> FastAPI:
    """Build the platform's web app.

    ``background=False`` builds it without the relay, subscriptions, jobs and
    simulator (tests that drive those by hand).

    ``server_gc`` (servers: ``pingan run`` / ``serve``): once start-up is complete, collect
    and move every object alive (modules, models, the road graph, what the modules' start-up
    hooks loaded) to the garbage collector's permanent generation, so the collections that
    request allocations trigger do not rescan them, and collect the youngest generation
    every :data:`SERVER_GC_THRESHOLD` net allocations instead of 700. Measured on signal
    ingest at 5,000 signals/s (bench/antifraud/streaming.py with ``PINGAN_BENCH_GCLOG``):
    with CPython's defaults a full collection ran about once a second and paused 11–38 ms
    (121 ms for the whole heap before the freeze); with the larger threshold one ran in
    25 s, and signal → warning p99 fell from 107/143 ms to 98/105 ms in paired runs (batches
    of 500), for ~13 MiB more resident memory. Not for test processes that build many apps
    (they would pin each app's garbage).
    """
    settings = settings or get_settings()
    runtime = Runtime(settings)
    feed = LiveFeed()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(
            background=background,
            simulate=background and settings.sim.enabled,
            live_feed=feed.publish,
        )
        if server_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(SERVER_GC_THRESHOLD, 20, 10)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="Pingan 平安",
        version=__version__,
        description="Smart public-safety platform: command centre, desks and partner APIs.",
        lifespan=lifespan,
    )
    app.state.ctx = runtime.ctx
    app.state.runtime = runtime
    app.state.feed = feed
    _install_error_handlers(app)

    @app.get("/healthz", tags=["health"], summary="Liveness")
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "version": __version__}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness",
        responses={503: {"description": "Not ready"}},
    )
    def readyz() -> JSONResponse:
        """The database answers and the bus is connected."""
        checks: dict[str, str] = {}
        try:
            with runtime.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # report, do not raise: this is a probe
            checks["database"] = f"error: {type(exc).__name__}"
        checks["bus"] = "ok" if runtime.bus_ready else "not connected"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    for m in runtime.modules:
        if m.router is not None:
            app.include_router(m.router, prefix="/api")
        if m.root_router is not None:  # e.g. /.well-known/... metadata
            app.include_router(m.root_router)
    mount_page(app, runtime.modules, feed)
    return app
