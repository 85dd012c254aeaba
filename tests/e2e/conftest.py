"""A real platform for end-to-end tests: the demo city imported, a user, a served app."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

USERNAME = "zhihui"
PASSWORD = "Pingan-e2e-2025!"
ARTIFACTS = Path(
    os.environ.get("PINGAN_ARTIFACTS") or Path(__file__).resolve().parents[1] / "artifacts"
)


@dataclass
class Platform:
    """Settings of a prepared platform and the account to sign in with."""

    settings: Any
    username: str = USERNAME
    password: str = PASSWORD


def prepare_platform(root: Path) -> Platform:
    """A fresh database under ``root`` with every table, the demo city and one administrator."""
    from pingan.assembly import load_modules
    from pingan.city.service import ensure_demo_city
    from pingan.core.auth.permissions import Principal
    from pingan.core.auth.schemas import UserCreate
    from pingan.core.auth.service import create_user
    from pingan.core.db import Base, Database
    from pingan.core.settings import Settings

    settings = Settings(
        data_dir=root / "data",
        database_url=f"sqlite:///{root / 'pingan.db'}",
        sim={"enabled": False},
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    load_modules()  # every module's tables join the one metadata
    db = Database(settings.database_url_resolved)
    try:
        Base.metadata.create_all(db.engine)
        ensure_demo_city(db=db, settings=settings)
        with db.session() as session:
            create_user(
                db=session,
                user_in=UserCreate(
                    username=USERNAME,
                    password=PASSWORD,
                    display_name="值班指挥长",
                    roles=["admin", "commander"],
                    language="zh-CN",
                ),
                actor=Principal.system(),
            )
    finally:
        db.dispose()
    return Platform(settings=settings)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """The platform served by uvicorn in a background thread."""

    base_url: str
    app: Any
    platform: Platform
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run ``coro`` on the server's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@contextmanager
def serving(app: Any, name: str) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    """Serve ``app`` with uvicorn (lifespan on) on a free local port in a background thread."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve())

    thread = threading.Thread(target=serve, name=f"uvicorn-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the {name} server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", loop
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The whole platform (relay, bus, feed) answering HTTP on a free local port."""
    from pingan.web.app import create_app

    platform = prepare_platform(tmp_path_factory.mktemp("live"))
    app = create_app(platform.settings)
    with serving(app, "e2e") as (base_url, loop):
        yield LiveServer(base_url, app, platform, loop)


def chromium_path() -> str | None:
    """Debian's chromium (or ``$CHROMIUM``), when present."""
    candidate = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if Path(candidate).exists():
        return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave screenshots (``$PINGAN_ARTIFACTS`` or tests/artifacts)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian chromium driven by Playwright (skips when either is missing)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium at /usr/bin/chromium (set CHROMIUM to another binary)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=executable,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        try:
            yield launched
        finally:
            launched.close()
