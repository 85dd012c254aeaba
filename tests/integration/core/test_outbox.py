"""The transactional outbox on SQLite and PostgreSQL: record, relay, idempotent consumers."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, func, insert, select
from sqlalchemy.orm import Session

from pingan.core import clock
from pingan.core.bus import InProcessBus
from pingan.core.db import Base, Database
from pingan.core.events import Envelope, Event
from pingan.core.module import Context, Subscription
from pingan.core.outbox import (
    OutboxMessage,
    OutboxRelay,
    ProcessedEvent,
    idempotent_handler,
    purge_published,
    record,
    record_many,
    recording_history,
)
from pingan.core.settings import Settings

# The tests' own tables, on their own metadata so they never reach the platform's schema.
test_metadata = MetaData()
items = Table(
    "test_outbox_items",
    test_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(50), nullable=False),
)
effects = Table(
    "test_outbox_effects",
    test_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consumer", String(50), nullable=False),
    # Deliberately not unique: a double effect must be countable, not refused.
    Column("event_id", Uuid, nullable=False),
)


class ItemAdded(Event):
    subject = "test.outbox.item_added"
    name: str


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A database holding the outbox tables and the tests' own tables."""
    database = Database(database_url)
    Base.metadata.create_all(
        database.engine,
        tables=[Base.metadata.tables[t.__tablename__] for t in (OutboxMessage, ProcessedEvent)],
    )
    test_metadata.create_all(database.engine)
    try:
        yield database
    finally:
        database.dispose()


def add_item(db: Database, name: str) -> ItemAdded:
    """The pattern every desk follows: the change and its event in one transaction."""
    event = ItemAdded(name=name)
    with db.session() as session:
        session.execute(insert(items).values(name=name))
        record(session, event)
    return event


def count(db: Database, table: Table | type[Base]) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def collector(into: list[Envelope]):  # type: ignore[no-untyped-def]
    async def handle(env: Envelope) -> None:
        into.append(env)

    return handle


def test_record_commits_the_event_with_the_change(db: Database) -> None:
    event = add_item(db, "patrol car 7")
    assert count(db, items) == 1
    with db.session() as session:
        row = session.scalars(select(OutboxMessage)).one()
    assert row.envelope() == event.envelope()
    assert row.published_at is None
    assert row.attempts == 0


def test_a_rolled_back_transaction_leaves_no_outbox_row(db: Database) -> None:
    with pytest.raises(RuntimeError, match="validation failed"), db.session() as session:
        session.execute(insert(items).values(name="half-written"))
        record(session, ItemAdded(name="half-written"))
        session.flush()  # the row reached the database, inside the transaction
        raise RuntimeError("validation failed")
    assert count(db, items) == 0
    assert count(db, OutboxMessage) == 0


def test_record_does_not_commit(db: Database) -> None:
    session = db.session_factory()
    try:
        record(session, ItemAdded(name="uncommitted"))
        session.flush()
        session.rollback()
    finally:
        session.close()
    assert count(db, OutboxMessage) == 0


async def test_record_many_writes_the_events_in_order_with_the_change(db: Database) -> None:
    events = [ItemAdded(name=f"bulk {i}") for i in range(4)]
    with pytest.raises(RuntimeError), db.session() as session:
        session.execute(insert(items).values(name="half-written"))
        record_many(session, events[:2])
        raise RuntimeError("validation failed")
    assert count(db, OutboxMessage) == 0  # rolled back with the change
    with db.session() as session:
        session.execute(insert(items).values(name="bulk"))
        record_many(session, events)
        record_many(session, [])  # nothing to add: no statement, no error
    bus = InProcessBus()
    got: list[Envelope] = []
    await bus.subscribe("test.outbox.>", "reader", collector(got))
    assert await OutboxRelay(db, bus, interval_s=60).relay_once() == 4
    await bus.drain(timeout=5)
    assert got == [e.envelope() for e in events]


def test_record_many_in_recorded_history_is_already_published(db: Database) -> None:
    with recording_history(), db.session() as session:
        record_many(session, [ItemAdded(name="past 1"), ItemAdded(name="past 2")])
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert len(rows) == 2 and all(r.published_at is not None for r in rows)


async def test_relay_publishes_committed_rows_in_order_exactly_as_recorded(db: Database) -> None:
    events = [add_item(db, f"item {i}") for i in range(5)]
    bus = InProcessBus()
    got: list[Envelope] = []
    await bus.subscribe("test.outbox.>", "reader", collector(got))
    relay = OutboxRelay(db, bus, interval_s=60, batch_size=2)  # several batches
    assert await relay.relay_once() == 5
    await bus.drain(timeout=5)
    assert got == [e.envelope() for e in events]
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert all(r.published_at is not None for r in rows)
    assert all(r.attempts == 1 for r in rows)
    assert await relay.relay_once() == 0  # nothing is sent twice by one relay
    await bus.drain(timeout=5)
    assert len(got) == 5
    await bus.close()


async def test_sqlite_publishes_while_another_writer_holds_the_lock_and_marks_after(
    db: Database,
) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite's single writer: PostgreSQL marks under row locks instead")
    events = [add_item(db, f"item {i}") for i in range(3)]
    bus = InProcessBus()
    got: list[Envelope] = []
    await bus.subscribe("test.outbox.>", "reader", collector(got))
    relay = OutboxRelay(db, bus, interval_s=60)
    writer = db.engine.raw_connection()
    try:
        # Another writer (a partner's batch) holds SQLite's write lock.
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO test_outbox_items (name) VALUES ('in progress')")
        assert await relay.relay_once(settle=False) == 3
        await bus.drain(timeout=5)
        assert got == [e.envelope() for e in events]  # out before their marks
        with db.session() as session:  # a reader is not blocked (WAL)
            assert (
                session.scalar(select(func.count()).where(OutboxMessage.published_at.is_(None)))
                == 3
            )
        # The next round does not send them again while their marks wait.
        assert await relay.relay_once(settle=False) == 0
    finally:
        writer.rollback()
        writer.close()
    await relay.settle()
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.published_at is not None, r.attempts) for r in rows] == [(True, 1)] * 3
    # Marked: the next claim starts from the beginning again, so an id SQLite hands out
    # again once the table's top rows are purged is published, not skipped.
    with db.session() as session:
        session.execute(OutboxMessage.__table__.delete())
    again = add_item(db, "after the purge")
    assert await relay.relay_once() == 1
    await bus.drain(timeout=5)
    assert got[-1] == again.envelope()
    await bus.close()


class FailingBus(InProcessBus):
    """A bus that refuses the n-th publish (the broker went away mid-batch)."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.calls = 0

    async def publish(self, envelope: Envelope) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("broker unavailable")
        await super().publish(envelope)


async def test_a_failed_publish_leaves_the_rest_for_the_next_round(db: Database) -> None:
    events = [add_item(db, f"item {i}") for i in range(3)]
    bus = FailingBus(fail_at=2)
    got: list[Envelope] = []
    await bus.subscribe(">", "reader", collector(got))
    relay = OutboxRelay(db, bus, interval_s=60)
    assert await relay.relay_once() == 1
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.published_at is not None for r in rows] == [True, False, False]
    assert [r.attempts for r in rows] == [1, 1, 0]
    assert await relay.relay_once() == 2
    await bus.drain(timeout=5)
    assert [e.event_id for e in got] == [e.event_id for e in events]
    await bus.close()


class CountingRelay(OutboxRelay):
    """A relay that reports each finished round, so a test knows when it sleeps."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.rounds: list[int] = []

    async def relay_once(self, *, settle: bool = True) -> int:
        n = await super().relay_once(settle=settle)
        self.rounds.append(n)
        return n


async def test_a_commit_in_another_thread_wakes_the_sleeping_relay(db: Database) -> None:
    bus = InProcessBus()
    got: list[Envelope] = []
    await bus.subscribe(">", "reader", collector(got))
    # The interval is far longer than the test's timeout: only the commit hook can relay.
    relay = CountingRelay(db, bus, interval_s=3600)
    relay.install()
    task = asyncio.create_task(relay.run())

    async def until(check: Callable[[], bool]) -> None:
        while not check():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(until(lambda: relay.rounds == [0]), timeout=10)
        # The relay is now asleep. Routes commit in threadpool threads; the hook must
        # cross into the loop safely.
        event = await asyncio.to_thread(add_item, db, "from a worker thread")
        await asyncio.wait_for(until(lambda: len(relay.rounds) == 2), timeout=10)
        await bus.drain(timeout=5)
        assert relay.rounds == [0, 1]
        assert [e.event_id for e in got] == [event.event_id]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        relay.uninstall()
        await bus.close()


async def test_only_commits_that_recorded_events_wake_an_installed_relay(db: Database) -> None:
    bus = InProcessBus()
    relay = OutboxRelay(db, bus, interval_s=3600)
    relay.install()
    try:
        wake = relay._wake
        assert wake is not None

        def commit_without_event() -> None:
            with db.session() as session:
                session.execute(insert(items).values(name="no event"))

        def record_then_roll_back() -> None:
            session = db.session_factory()
            try:
                record(session, ItemAdded(name="rolled back"))
                session.flush()
                session.rollback()
                session.execute(insert(items).values(name="later, no event"))
                session.commit()
            finally:
                session.close()

        # The hook runs in the committing thread and schedules the wake-up on the loop
        # before the thread finishes, so it has run by the time to_thread returns.
        await asyncio.to_thread(commit_without_event)
        await asyncio.to_thread(record_then_roll_back)
        await asyncio.sleep(0)
        assert not wake.is_set()
        await asyncio.to_thread(add_item, db, "with an event")
        await asyncio.sleep(0)
        assert wake.is_set()

        wake.clear()
        relay.uninstall()
        await asyncio.to_thread(add_item, db, "nobody listens")
        await asyncio.sleep(0)
        assert not wake.is_set()
    finally:
        relay.uninstall()
        await bus.close()


async def test_savepoints_neither_wake_the_relay_early_nor_lose_the_wake_up(db: Database) -> None:
    """SQLAlchemy fires after_commit / after_rollback for SAVEPOINTs too: the relay is woken
    by the outermost commit only, and a savepoint rolled back after an event was recorded
    does not swallow that event's wake-up."""
    bus = InProcessBus()
    relay = OutboxRelay(db, bus, interval_s=3600)
    relay.install()
    try:
        wake = relay._wake
        assert wake is not None
        session = db.session_factory()
        try:
            with session.begin_nested():
                session.execute(insert(items).values(name="in a savepoint"))
                record(session, ItemAdded(name="in a savepoint"))
            await asyncio.sleep(0)
            assert not wake.is_set()  # released, not committed: nothing to relay yet
            nested = session.begin_nested()
            session.execute(insert(items).values(name="undone"))
            nested.rollback()
            session.commit()
        finally:
            session.close()
        await asyncio.sleep(0)
        assert wake.is_set()
    finally:
        relay.uninstall()
        await bus.close()


async def test_concurrent_relays_publish_everything(db: Database, database_url: str) -> None:
    for i in range(4):
        with db.session() as session:
            for j in range(50):
                record(session, ItemAdded(name=f"batch {i} item {j}"))
    bus = InProcessBus()
    got: list[Envelope] = []
    await bus.subscribe(">", "reader", collector(got))
    # Two relays with their own engines, as two processes would have.
    other_db = Database(database_url)
    try:
        relay_a = OutboxRelay(db, bus, interval_s=60, batch_size=20)
        relay_b = OutboxRelay(other_db, bus, interval_s=60, batch_size=20)
        counts = list(await asyncio.gather(relay_a.relay_once(), relay_b.relay_once()))
        # A relay that found everything locked stops early; a last sweep catches any tail.
        counts.append(await relay_a.relay_once())
    finally:
        other_db.dispose()
    await bus.drain(timeout=10)
    published = Counter(e.event_id for e in got)
    with db.session() as session:
        recorded = set(session.scalars(select(OutboxMessage.event_id)))
        unpublished = session.scalar(
            select(func.count()).where(OutboxMessage.published_at.is_(None))
        )
    assert set(published) == recorded
    assert len(recorded) == 200
    assert unpublished == 0
    if not db.is_sqlite:
        # Row locks with SKIP LOCKED keep PostgreSQL relays apart: nothing sent twice.
        assert max(published.values()) == 1
        assert sum(counts) == 200
    await bus.close()


def test_purge_published_keeps_what_is_unsent_or_recent(db: Database) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with clock.frozen(start) as frozen:
        for name in ("old", "recent", "unsent"):
            add_item(db, name)
        with db.session() as session:
            rows = {r.payload["name"]: r for r in session.scalars(select(OutboxMessage))}
            rows["old"].published_at = start - timedelta(days=10)
            rows["recent"].published_at = start - timedelta(hours=1)
        with db.session() as session:
            assert purge_published(session, frozen.now() - timedelta(days=7)) == 1
        with db.session() as session:
            left = sorted(r.payload["name"] for r in session.scalars(select(OutboxMessage)))
    assert left == ["recent", "unsent"]


def write_effect(session: Session, event: Event, ctx: Context) -> None:
    session.execute(insert(effects).values(consumer="effects", event_id=event.event_id))


@pytest.fixture
def ctx(db: Database, database_url: str) -> Context:
    return Context(settings=Settings(database_url=database_url), db=db, bus=InProcessBus())


async def test_the_same_envelope_delivered_twice_has_its_effect_once(ctx: Context) -> None:
    handle = idempotent_handler(ctx, Subscription("test.outbox.>", "effects", write_effect))
    env = ItemAdded(name="duplicate").envelope()
    await handle(env)
    await handle(env.model_copy(update={"delivery": 2}))  # redelivered by the bus
    assert count(ctx.db, effects) == 1
    with ctx.db.session() as session:
        mark = session.scalars(select(ProcessedEvent)).one()
    assert (mark.consumer, mark.event_id) == ("effects", env.event_id)


async def test_each_durable_consumer_has_its_own_dedup(ctx: Context) -> None:
    env = ItemAdded(name="fan-out").envelope()
    for durable in ("desk-a", "desk-b", "desk-a"):
        await idempotent_handler(ctx, Subscription(">", durable, write_effect))(env)
    with ctx.db.session() as session:
        consumers = sorted(session.scalars(select(ProcessedEvent.consumer)))
    assert consumers == ["desk-a", "desk-b"]
    assert count(ctx.db, effects) == 2


async def test_a_handler_that_raises_leaves_neither_effect_nor_mark(ctx: Context) -> None:
    calls = 0

    def crash_once(session: Session, event: Event, c: Context) -> None:
        nonlocal calls
        calls += 1
        write_effect(session, event, c)
        session.flush()  # the effect reached the database inside the transaction
        if calls == 1:
            raise RuntimeError("crashed mid-handling")

    handle = idempotent_handler(ctx, Subscription(">", "effects", crash_once))
    env = ItemAdded(name="crashy").envelope()
    with pytest.raises(RuntimeError, match="mid-handling"):
        await handle(env)
    assert count(ctx.db, effects) == 0
    assert count(ctx.db, ProcessedEvent) == 0
    await handle(env.model_copy(update={"delivery": 2}))
    await handle(env.model_copy(update={"delivery": 3}))
    assert calls == 2
    assert count(ctx.db, effects) == 1


async def test_idempotent_handler_on_the_bus_with_redelivery(ctx: Context) -> None:
    """End to end in one process: record, relay, a failing first delivery, one effect."""
    failures = {"left": 1}

    def flaky(session: Session, event: Event, c: Context) -> None:
        write_effect(session, event, c)
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("downstream hiccup")

    bus = InProcessBus(redelivery_delay_s=0)
    await bus.subscribe(
        "test.outbox.>",
        "effects",
        idempotent_handler(ctx, Subscription("test.outbox.>", "effects", flaky)),
    )
    event = add_item(ctx.db, "through the bus")
    relay = OutboxRelay(ctx.db, bus, interval_s=60)
    assert await relay.relay_once() == 1
    await bus.publish(event.envelope())  # and a duplicate, as a second relay might send
    await bus.drain(timeout=10)
    assert count(ctx.db, effects) == 1
    assert bus.dead_letters == []
    await bus.close()


def test_idempotent_handler_needs_a_durable_name(ctx: Context) -> None:
    with pytest.raises(ValueError, match="durable"):
        idempotent_handler(ctx, Subscription(">", "", write_effect))
