"""``create_app(settings)``: the one place that builds the engine, the bus and every module.

Importing this module connects to nothing; the database and the bus are opened when
the app is built, and background work (outbox relay, subscriptions, jobs, the
simulator) starts in the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text

from pingan import __version__
from pingan.assembly import load_modules
from pingan.core.auth.permissions import register_permissions
from pingan.core.bus import make_bus
from pingan.core.db import Database
from pingan.core.deps import get_language
from pingan.core.errors import PinganError
from pingan.core.i18n import translate
from pingan.core.module import Context, Module
from pingan.core.outbox import OutboxRelay, idempotent_handler
from pingan.core.settings import Settings, get_settings
from pingan.web.feed import LiveFeed
from pingan.web.page import mount_page

log = logging.getLogger(__name__)


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
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            field = ".".join(loc) or "body"
            key = "core.error.required" if err.get("type") == "missing" else "core.error.invalid"
            problems.append(
                {"field": field, "message": translate(key, lang, field=field), "reason": err["msg"]}
            )
        first = problems[0] if problems else {"field": "body", "message": "", "reason": ""}
        return JSONResponse(
            _error_body(
                "core.error.invalid",
                f"{first['message']}: {first['reason']}",
                first["field"],
                problems=problems,
            ),
            status_code=422,
        )


async def _run_job(ctx: Context, name: str, interval_s: float, fn: Any) -> None:
    while True:
        try:
            await fn(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:  # a failing job must not stop the others; it is logged and retried
            log.exception("job %s failed", name)
        await asyncio.sleep(interval_s)


def create_app(settings: Settings | None = None, *, background: bool = True) -> FastAPI:
    """Build the platform's web app.

    ``background=False`` builds it without the relay, subscriptions, jobs and
    simulator (tests that drive those by hand).
    """
    settings = settings or get_settings()
    db = Database(settings.database_url_resolved, echo=settings.db.echo,
                  pool_size=settings.db.pool_size)
    bus = make_bus(settings.bus)
    ctx = Context(settings=settings, db=db, bus=bus)
    modules: list[Module] = load_modules()
    for m in modules:
        register_permissions(m.permissions)
    relay = OutboxRelay(db, bus, interval_s=settings.bus.relay_interval_s)
    feed = LiveFeed()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[Any]] = []
        await bus.start()
        app.state.bus_ready = True
        if background:
            await bus.subscribe(">", None, feed.publish)
            for m in modules:
                for sub in m.subscriptions:
                    await bus.subscribe(sub.pattern, sub.durable, idempotent_handler(ctx, sub))
            relay.install()
            tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
            for m in modules:
                for job in m.jobs:
                    tasks.append(
                        asyncio.create_task(_run_job(ctx, job.name, job.interval_s, job.run),
                                            name=f"job-{job.name}")
                    )
            if settings.sim.enabled:
                from pingan.sim.runner import start_demo_simulation

                tasks.append(asyncio.create_task(start_demo_simulation(ctx), name="simulator"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            relay.uninstall()
            await bus.close()
            db.dispose()

    app = FastAPI(
        title="Pingan 平安",
        version=__version__,
        description="Smart public-safety platform: command centre, desks and partner APIs.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.modules = modules
    app.state.feed = feed
    app.state.relay = relay
    app.state.bus_ready = False
    _install_error_handlers(app)

    @app.get("/healthz", tags=["health"], summary="Liveness")
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["health"], summary="Readiness",
             responses={503: {"description": "Not ready"}})
    def readyz() -> JSONResponse:
        """The database answers and the bus is connected."""
        checks: dict[str, str] = {}
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # report, do not raise: this is a probe
            checks["database"] = f"error: {type(exc).__name__}"
        checks["bus"] = "ok" if app.state.bus_ready else "not connected"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    for m in modules:
        if m.router is not None:
            app.include_router(m.router, prefix="/api")
    mount_page(app, modules, feed)
    return app
