"""Crash safety with real processes, a real database and a real JetStream server.

(a) A process that commits a change and its outbox row, then is SIGKILLed before it
    relays, loses nothing: the next relay publishes the event exactly as recorded.
(b) A consumer that dies while handling (before commit, or after commit but before the
    ack) gets the event again, and its effect happens exactly once.
(c) Two worker processes on one durable consumer share the work: every event handled,
    none handled by both, one effect each.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import nats
import pytest
from sqlalchemy import func, select

from pingan.core.db import Base, Database
from pingan.core.events import Envelope
from pingan.core.nats_bus import NatsJetStreamBus
from pingan.core.outbox import OutboxMessage, OutboxRelay, ProcessedEvent, record
from pingan.core.settings import BusSettings
from tests.integration.core.workers.outbox_worker import (
    SUBJECT_PATTERN,
    CrashItemAdded,
    crash_effects,
    crash_items,
    worker_metadata,
)

pytestmark = [pytest.mark.nats, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[3]
WORKER_MODULE = "tests.integration.core.workers.outbox_worker"
HANG_GUARD_S = 30.0
"""Upper bound on any wait, so a broken build fails instead of hanging."""


class Worker:
    """A worker subprocess whose stdout lines can be awaited."""

    def __init__(self, command: str, *args: str, stderr_path: Path) -> None:
        self.stderr_path = stderr_path
        self._stderr = open(stderr_path, "wb")  # noqa: SIM115 - closed in wait()/kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, command, *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")[-3000:]

    def expect(self, prefix: str, timeout: float = HANG_GUARD_S) -> str:
        """The next stdout line, which must start with ``prefix``."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no {prefix!r} line from worker (exit {self.proc.poll()}):\n{self.stderr()}"
            ) from None
        assert line.startswith(prefix), f"{line!r}\n{self.stderr()}"
        return line[len(prefix) :].strip()

    def wait(self, timeout: float = HANG_GUARD_S) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.wait()

    def stop(self) -> int:
        """SIGTERM (a graceful shutdown) and the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    """Started workers, all killed at the end whatever happened."""
    started: list[Worker] = []
    yield started
    for w in started:
        with contextlib.suppress(Exception):
            w.kill()


def spawn(workers: list[Worker], tmp_path: Path, command: str, *args: str) -> Worker:
    w = Worker(command, *args, stderr_path=tmp_path / f"worker-{len(workers)}.stderr")
    workers.append(w)
    return w


def prepare(url: str) -> Database:
    db = Database(url)
    Base.metadata.create_all(
        db.engine,
        tables=[Base.metadata.tables[t.__tablename__] for t in (OutboxMessage, ProcessedEvent)],
    )
    worker_metadata.create_all(db.engine)
    return db


def nats_args(settings: BusSettings) -> list[str]:
    return [
        "--nats",
        settings.nats_url,
        "--stream",
        settings.stream,
        "--prefix",
        settings.subject_prefix,
    ]


def scalar(db: Database, stmt: object) -> int:
    with db.session() as session:
        return int(session.scalar(stmt) or 0)  # type: ignore[call-overload]


async def stream_messages(settings: BusSettings) -> int:
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        try:
            return int((await js.stream_info(settings.stream)).state.messages)
        except nats.js.errors.NotFoundError:
            return 0
    finally:
        await nc.close()


async def eventually(check, timeout: float = HANG_GUARD_S) -> None:  # type: ignore[no-untyped-def]
    """Poll a synchronous ``check`` until true (a hang guard, not a measurement)."""

    async def poll() -> None:
        while not await asyncio.to_thread(check):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


# --- (a) SIGKILL between commit and relay ----------------------------------------------


async def test_a_sigkill_between_commit_and_relay_loses_no_event(
    database_url: str, bus_settings: BusSettings, workers: list[Worker], tmp_path: Path
) -> None:
    db = prepare(database_url)
    try:
        writer = spawn(
            workers, tmp_path, "commit-and-hang", "--db", database_url, "--name", "伤者 2 人"
        )
        recorded = Envelope.model_validate_json(writer.expect("COMMITTED"))
        os.kill(writer.proc.pid, signal.SIGKILL)
        assert writer.wait() == -signal.SIGKILL

        # The change and its event survived the kill, and nothing reached the bus.
        assert scalar(db, select(func.count()).select_from(crash_items)) == 1
        with db.session() as session:
            row = session.scalars(select(OutboxMessage)).one()
        assert row.published_at is None
        assert row.envelope() == recorded
        assert await stream_messages(bus_settings) == 0

        # Restart: a fresh process relays what the dead one left behind.
        restarted = spawn(
            workers, tmp_path, "relay", "--db", database_url, *nats_args(bus_settings)
        )
        assert restarted.expect("RELAYED") == "1"
        assert restarted.wait() == 0

        bus = NatsJetStreamBus(bus_settings)
        await bus.start()
        try:
            got: list[Envelope] = []

            async def collect(env: Envelope) -> None:
                got.append(env)

            await bus.subscribe(SUBJECT_PATTERN, "checker", collect)
            await eventually(lambda: len(got) >= 1)
        finally:
            await bus.close()
        assert got == [recorded]  # same id, subject, time and payload
        assert await stream_messages(bus_settings) == 1
        with db.session() as session:
            assert session.scalars(select(OutboxMessage)).one().published_at is not None
    finally:
        db.dispose()


# --- (b) a consumer crashes mid-handling ----------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("crash", ["in-handler", "after-commit"])
async def test_a_consumer_killed_mid_handling_gets_the_event_again_and_acts_once(
    crash: str,
    database_url: str,
    bus_settings: BusSettings,
    workers: list[Worker],
    tmp_path: Path,
) -> None:
    db = prepare(database_url)
    log = tmp_path / "deliveries.log"
    consumer_args = [
        "--db",
        database_url,
        *nats_args(bus_settings),
        "--durable",
        "effects",
        "--log",
        str(log),
        "--ack-wait",
        "2",
    ]
    try:
        event = CrashItemAdded(name="dispatch ambulance")
        with db.session() as session:
            record(session, event)
        bus = NatsJetStreamBus(bus_settings)
        await bus.start()
        try:
            assert await OutboxRelay(db, bus, interval_s=1).relay_once() == 1
        finally:
            await bus.close()

        first = spawn(
            workers, tmp_path, "consume", *consumer_args, "--worker", "first", "--crash", crash
        )
        assert first.wait() == -signal.SIGKILL, first.stderr()
        effects_after_crash = scalar(db, select(func.count()).select_from(crash_effects))
        marks_after_crash = scalar(db, select(func.count()).select_from(ProcessedEvent))
        if crash == "in-handler":
            # Died before commit: the half-done effect and the dedup mark went together.
            assert (effects_after_crash, marks_after_crash) == (0, 0)
        else:
            # Died after commit, before the ack: the effect is done, NATS does not know.
            assert (effects_after_crash, marks_after_crash) == (1, 1)

        second = spawn(workers, tmp_path, "consume", *consumer_args, "--worker", "second")
        second.expect("READY")

        def redelivered_and_handled() -> bool:
            # "done <id> <delivery>" with a delivery after the first.
            return any(
                line.startswith(f"done {event.event_id} ") and int(line.split()[2]) > 1
                for line in log.read_text().splitlines()
            )

        # JetStream redelivers once the dead consumer's ack wait runs out.
        await eventually(redelivered_and_handled)
        assert second.stop() == 0, second.stderr()

        lines = log.read_text().splitlines()
        assert lines[0] == f"recv {event.event_id} 1"
        assert f"recv {event.event_id} 2" in lines  # the same event, delivered again
        with db.session() as session:
            effect_rows = session.execute(select(crash_effects)).all()
            marks = session.scalars(select(ProcessedEvent)).all()
        assert len(effect_rows) == 1
        assert effect_rows[0].event_id == event.event_id
        expected_worker = "second" if crash == "in-handler" else "first"
        assert effect_rows[0].worker == expected_worker
        assert [(m.consumer, m.event_id) for m in marks] == [("effects", event.event_id)]
    finally:
        db.dispose()


# --- (c) two workers, one durable consumer ---------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_worker_processes_share_one_durable_with_no_event_handled_twice(
    database_url: str, bus_settings: BusSettings, workers: list[Worker], tmp_path: Path
) -> None:
    n_events = 300
    db = prepare(database_url)
    logs = {name: tmp_path / f"{name}.log" for name in ("w1", "w2")}
    try:
        procs = [
            spawn(
                workers,
                tmp_path,
                "consume",
                "--db",
                database_url,
                *nats_args(bus_settings),
                "--durable",
                "shared",
                "--worker",
                name,
                "--log",
                str(path),
                "--batch",
                "5",
            )
            for name, path in logs.items()
        ]
        for p in procs:
            p.expect("READY")

        events = [CrashItemAdded(name=f"call {i}") for i in range(n_events)]
        with db.session() as session:
            for e in events:
                record(session, e)
        bus = NatsJetStreamBus(bus_settings)
        await bus.start()
        try:
            assert await OutboxRelay(db, bus, interval_s=1).relay_once() == n_events
        finally:
            await bus.close()

        def all_done() -> bool:
            return scalar(db, select(func.count()).select_from(ProcessedEvent)) >= n_events

        await eventually(all_done)
        for p in procs:
            assert p.stop() == 0, p.stderr()

        received: dict[str, Counter[UUID]] = {}
        for name, path in logs.items():
            received[name] = Counter(
                UUID(line.split()[1])
                for line in path.read_text().splitlines()
                if line.startswith("recv ")
            )
        w1, w2 = set(received["w1"]), set(received["w2"])
        assert w1 | w2 == {e.event_id for e in events}
        assert not w1 & w2, f"{len(w1 & w2)} events were handled by both workers"
        assert max(received["w1"].values()) == 1 and max(received["w2"].values()) == 1
        assert w1 and w2, "one worker did all the work"
        with db.session() as session:
            rows = session.execute(select(crash_effects.c.worker, crash_effects.c.event_id)).all()
        assert len(rows) == n_events
        assert len({r.event_id for r in rows}) == n_events
        assert {r.event_id for r in rows if r.worker == "w1"} == w1
    finally:
        db.dispose()
