"""A real worker process for the crash-safety tests; run with ``python -m`` from the repo root.

Commands:

``commit-and-hang``  commit a change and its outbox row, print ``COMMITTED <envelope>``,
                     then hang until killed (the window between commit and relay).
``relay``            one relay round to NATS (the restart), print ``RELAYED <count>``.
``consume``          a durable consumer that writes one effect row per event through
                     :func:`pingan.core.outbox.idempotent_handler`; prints ``READY``,
                     appends ``recv``/``done`` lines to ``--log``, and can SIGKILL itself
                     mid-handling (``--crash in-handler``) or after commit, before the ack
                     (``--crash after-commit``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time

from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, insert
from sqlalchemy.orm import Session

from pingan.core.db import Database
from pingan.core.events import Envelope, Event
from pingan.core.module import Context, Subscription
from pingan.core.nats_bus import NatsJetStreamBus
from pingan.core.outbox import OutboxRelay, idempotent_handler, record
from pingan.core.settings import BusSettings, Settings

SUBJECT_PATTERN = "test.crash.>"

worker_metadata = MetaData()
crash_items = Table(
    "test_crash_items",
    worker_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(50), nullable=False),
)
crash_effects = Table(
    "test_crash_effects",
    worker_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("worker", String(50), nullable=False),
    # Not unique on purpose: a duplicated effect must show up as a second row.
    Column("event_id", Uuid, nullable=False),
)


class CrashItemAdded(Event):
    subject = "test.crash.item_added"
    name: str


def _bus_settings(args: argparse.Namespace) -> BusSettings:
    return BusSettings(
        kind="nats",
        nats_url=args.nats,
        stream=args.stream,
        subject_prefix=args.prefix,
        max_deliveries=5,
    )


def _say(line: str) -> None:
    print(line, flush=True)


def commit_and_hang(args: argparse.Namespace) -> None:
    db = Database(args.db)
    event = CrashItemAdded(name=args.name)
    with db.session() as session:
        session.execute(insert(crash_items).values(name=args.name))
        record(session, event)
    # Committed; a real process would now relay. This one is killed first.
    _say("COMMITTED " + event.envelope().model_dump_json())
    while True:
        time.sleep(60)


async def relay(args: argparse.Namespace) -> None:
    db = Database(args.db)
    bus = NatsJetStreamBus(_bus_settings(args))
    await bus.start()
    try:
        count = await OutboxRelay(db, bus, interval_s=1.0).relay_once()
    finally:
        await bus.close()
        db.dispose()
    _say(f"RELAYED {count}")


async def consume(args: argparse.Namespace) -> None:
    db = Database(args.db)
    bus = NatsJetStreamBus(
        _bus_settings(args),
        ack_wait_s=args.ack_wait,
        fetch_batch=args.batch,
        client_name=args.worker,
    )
    ctx = Context(settings=Settings(database_url=args.db), db=db, bus=bus)
    log = open(args.log, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    def write_effect(session: Session, event: Event, _ctx: Context) -> None:
        session.execute(insert(crash_effects).values(worker=args.worker, event_id=event.event_id))
        if args.crash == "in-handler":
            session.flush()  # the effect is in the database, uncommitted
            os.kill(os.getpid(), signal.SIGKILL)

    handle = idempotent_handler(ctx, Subscription(SUBJECT_PATTERN, args.durable, write_effect))

    async def on_envelope(envelope: Envelope) -> None:
        log.write(f"recv {envelope.event_id} {envelope.delivery}\n")
        await handle(envelope)
        log.write(f"done {envelope.event_id} {envelope.delivery}\n")
        if args.crash == "after-commit":
            os.kill(os.getpid(), signal.SIGKILL)  # effect committed, ack never sent

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await bus.start()
    await bus.subscribe(SUBJECT_PATTERN, args.durable, on_envelope)
    _say("READY")
    await stop.wait()
    await bus.close()
    db.dispose()
    log.close()
    _say("STOPPED")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["commit-and-hang", "relay", "consume"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--stream", default="")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--name", default="item")
    parser.add_argument("--durable", default="crash-test")
    parser.add_argument("--worker", default="worker")
    parser.add_argument("--log", default=os.devnull)
    parser.add_argument("--crash", choices=["in-handler", "after-commit"], default=None)
    parser.add_argument("--ack-wait", type=float, default=30.0)
    parser.add_argument("--batch", type=int, default=10)
    args = parser.parse_args(argv)
    if args.command == "commit-and-hang":
        commit_and_hang(args)
    elif args.command == "relay":
        asyncio.run(relay(args))
    else:
        asyncio.run(consume(args))


if __name__ == "__main__":
    main(sys.argv[1:])
