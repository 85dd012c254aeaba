"""`pingan worker` (a real process) relays committed events to NATS JetStream."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pingan.core.bus import EnvelopeHandler
from pingan.core.db import Database
from pingan.core.events import Envelope, Event
from pingan.core.nats_bus import NatsJetStreamBus
from pingan.core.outbox import OutboxMessage, record
from pingan.core.settings import BusSettings
from pingan.migrations import upgrade

pytestmark = pytest.mark.nats


class WorkerProbed(Event):
    """Only for this test."""

    subject = "test.worker.probed"
    n: int


async def test_worker_process_relays_events_committed_by_another_process(
    tmp_path: Path, bus_settings: BusSettings
) -> None:
    url = f"sqlite:///{tmp_path / 'pingan.db'}"
    upgrade(url)
    received: list[Envelope] = []

    async def collect(env: Envelope) -> None:
        received.append(env)

    handler: EnvelopeHandler = collect
    probe = NatsJetStreamBus(bus_settings)
    await probe.start()
    await probe.subscribe("test.worker.>", "probe", handler)

    env = {
        **os.environ,
        "PINGAN_DATA_DIR": str(tmp_path),
        "PINGAN_BUS__KIND": "nats",
        "PINGAN_BUS__NATS_URL": bus_settings.nats_url,
        "PINGAN_BUS__STREAM": bus_settings.stream,
        "PINGAN_BUS__SUBJECT_PREFIX": bus_settings.subject_prefix,
        "PINGAN_BUS__RELAY_INTERVAL_S": "0.2",
        "PINGAN_SIM__ENABLED": "false",
    }
    env.pop("PINGAN_DATABASE_URL", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "pingan", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    db = Database(url)
    try:
        events = [WorkerProbed(n=i) for i in range(5)]
        with db.session() as session:  # this process only commits; the worker relays
            for ev in events:
                record(session, ev)
        for _ in range(300):
            if len(received) >= len(events) or worker.poll() is not None:
                break
            await asyncio.sleep(0.1)
        assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
        assert sorted(e.event().n for e in received) == [0, 1, 2, 3, 4]  # type: ignore[attr-defined]
        assert {e.event_id for e in received} == {e.event_id for e in events}
        # The relay publishes first and marks the rows afterwards, in its own commit;
        # the probe can see the messages before that commit lands.
        published: list[bool] = []
        for _ in range(100):
            with db.session() as session:
                published = [r.published_at is not None for r in session.query(OutboxMessage)]
            if published and all(published):
                break
            await asyncio.sleep(0.1)
        assert len(published) == len(events) and all(published), published
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        await probe.close()
        db.dispose()
