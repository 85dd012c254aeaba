"""The NATS JetStream adapter against a real server (each test on its own stream)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import uuid4

import nats
import pytest
from nats.aio.msg import Msg

from pingan.core.bus import EnvelopeHandler
from pingan.core.events import Envelope
from pingan.core.nats_bus import NatsJetStreamBus
from pingan.core.settings import BusSettings

pytestmark = pytest.mark.nats


def envelope(subject: str = "test.nats.happened", n: int = 0) -> Envelope:
    return Envelope(
        event_id=uuid4(),
        subject=subject,
        occurred_at=datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC),
        payload={"n": n, "name": "张三"},
    )


async def wait_until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 15) -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` (a hang guard, not a measurement)."""

    async def poll() -> None:
        while True:
            result = check()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


def collector(into: list[Envelope]) -> EnvelopeHandler:
    async def handle(env: Envelope) -> None:
        into.append(env)

    return handle


async def stream_message_count(settings: BusSettings) -> int:
    nc = await nats.connect(settings.nats_url)
    try:
        info = await nc.jetstream().stream_info(settings.stream)
        return int(info.state.messages)
    finally:
        await nc.close()


async def test_publish_reaches_a_durable_consumer_intact_on_the_prefixed_subject(
    bus_settings: BusSettings,
) -> None:
    bus = NatsJetStreamBus(bus_settings)
    await bus.start()
    raw = await nats.connect(bus_settings.nats_url)
    raw_msgs: list[Msg] = []

    async def on_raw(msg: Msg) -> None:
        raw_msgs.append(msg)

    await raw.subscribe(f"{bus_settings.subject_prefix}.>", cb=on_raw)
    try:
        got: list[Envelope] = []
        await bus.subscribe("test.nats.*", "reader", collector(got))
        sent = envelope()
        await bus.publish(sent)
        await wait_until(lambda: len(got) == 1 and len(raw_msgs) == 1)
        assert got[0] == sent  # id, subject, time (to the microsecond), payload, delivery 1
        assert raw_msgs[0].subject == f"{bus_settings.subject_prefix}.test.nats.happened"
        assert raw_msgs[0].headers is not None
        assert raw_msgs[0].headers["Nats-Msg-Id"] == str(sent.event_id)
    finally:
        await raw.close()
        await bus.close()


async def test_the_same_event_published_twice_is_stored_once(bus_settings: BusSettings) -> None:
    bus = NatsJetStreamBus(bus_settings)
    await bus.start()
    try:
        first, second = envelope(n=1), envelope(n=2)
        await bus.publish(first)
        await bus.publish(first)  # a relay that crashed after publishing, before marking
        await bus.publish(second)
        assert await stream_message_count(bus_settings) == 2
        got: list[Envelope] = []
        await bus.subscribe(">", "all", collector(got))
        await wait_until(lambda: len(got) == 2)
        assert [e.event_id for e in got] == [first.event_id, second.event_id]
    finally:
        await bus.close()


async def test_distinct_durables_each_get_everything_and_one_durable_splits_the_work(
    bus_settings: BusSettings,
) -> None:
    # Three connections, as three processes would have: two share "shared", one is "audit".
    buses = [NatsJetStreamBus(bus_settings, fetch_batch=5) for _ in range(3)]
    for b in buses:
        await b.start()
    try:
        shared_1: list[Envelope] = []
        shared_2: list[Envelope] = []
        audit: list[Envelope] = []

        def slow_collector(into: list[Envelope]) -> EnvelopeHandler:
            async def handle(env: Envelope) -> None:
                await asyncio.sleep(0.002)  # real work takes time; lets the other worker pull
                into.append(env)

            return handle

        await buses[0].subscribe("test.>", "shared", slow_collector(shared_1))
        await buses[1].subscribe("test.>", "shared", slow_collector(shared_2))
        await buses[2].subscribe("test.>", "audit", collector(audit))
        sent = [envelope(n=n) for n in range(100)]
        for env in sent:
            await buses[2].publish(env)
        await wait_until(lambda: len(shared_1) + len(shared_2) >= 100 and len(audit) >= 100)
        ids = {e.event_id for e in sent}
        one, two = {e.event_id for e in shared_1}, {e.event_id for e in shared_2}
        assert one | two == ids
        assert not one & two, "an event went to both members of one durable"
        assert len(shared_1) + len(shared_2) == 100
        assert one and two, "both members should have taken part"
        assert [e.event_id for e in audit] == [e.event_id for e in sent]  # in order
    finally:
        for b in buses:
            await b.close()


async def test_a_failing_handler_is_redelivered_then_parked_after_max_deliveries(
    bus_settings: BusSettings,
) -> None:
    settings = bus_settings.model_copy(update={"max_deliveries": 3})
    bus = NatsJetStreamBus(settings, nak_delay_s=0.01)
    await bus.start()
    try:
        deliveries: Counter[int] = Counter()
        by_event: dict[int, list[int]] = {0: [], 1: []}

        async def handler(env: Envelope) -> None:
            n = env.payload["n"]
            by_event[n].append(env.delivery)
            deliveries[n] += 1
            if n == 0 or env.delivery < 2:
                raise RuntimeError("boom")

        await bus.subscribe("test.>", "flaky", handler)
        await bus.publish(envelope(n=0))  # always fails: parked after 3
        await bus.publish(envelope(n=1))  # fails once, then succeeds
        await wait_until(lambda: len(by_event[0]) == 3 and len(by_event[1]) == 2)
        assert by_event == {0: [1, 2, 3], 1: [1, 2]}

        async def settled() -> bool:
            info = await bus.js.consumer_info(settings.stream, "flaky")
            return bool(info.num_ack_pending == 0 and info.num_pending == 0)

        # Both are settled on the server: one acknowledged, one terminated.
        await wait_until(settled)
    finally:
        await bus.close()


async def test_a_durable_resumes_where_it_left_off(bus_settings: BusSettings) -> None:
    early = [envelope(n=n) for n in range(3)]
    late = [envelope(n=n) for n in range(3, 5)]
    publisher = NatsJetStreamBus(bus_settings)
    await publisher.start()
    try:
        for env in early:
            await publisher.publish(env)
        first: list[Envelope] = []
        # A fetch still open on the server when a consumer stops can take the next
        # messages; JetStream hands them out again after the ack wait (at-least-once), so
        # keep that short here: the point is that nothing is lost or repeated.
        consumer = NatsJetStreamBus(bus_settings, ack_wait_s=2.0)
        await consumer.start()
        # A new durable catches up on what was published before it existed.
        await consumer.subscribe("test.>", "desk", collector(first))
        await wait_until(lambda: len(first) == 3)
        await consumer.close()  # the process stops
        for env in late:
            await publisher.publish(env)
        second: list[Envelope] = []
        restarted = NatsJetStreamBus(bus_settings, ack_wait_s=2.0)
        await restarted.start()
        await restarted.subscribe("test.>", "desk", collector(second))
        await wait_until(lambda: len(second) == 2)
        await restarted.close()
        assert [e.event_id for e in first] == [e.event_id for e in early]
        assert [e.event_id for e in second] == [e.event_id for e in late]
    finally:
        await publisher.close()


async def test_ephemeral_subscriber_sees_only_what_is_published_after_it(
    bus_settings: BusSettings,
) -> None:
    bus = NatsJetStreamBus(bus_settings)
    await bus.start()
    try:
        before, after = envelope(n=0), envelope(n=1)
        await bus.publish(before)
        live: list[Envelope] = []
        await bus.subscribe(">", None, collector(live))
        await bus.publish(after)
        await wait_until(lambda: len(live) >= 1)
        # Stored in the stream, but the live feed starts at new messages.
        assert [e.event_id for e in live] == [after.event_id]
        assert await stream_message_count(bus_settings) == 2
    finally:
        await bus.close()


async def test_start_adds_the_prefix_to_an_existing_stream(bus_settings: BusSettings) -> None:
    nc = await nats.connect(bus_settings.nats_url)
    try:
        js = nc.jetstream()
        await js.add_stream(name=bus_settings.stream, subjects=["legacy.>"])
        bus = NatsJetStreamBus(bus_settings)
        await bus.start()
        await bus.close()
        info = await js.stream_info(bus_settings.stream)
        assert set(info.config.subjects or []) == {"legacy.>", f"{bus_settings.subject_prefix}.>"}
    finally:
        await nc.close()


async def test_a_handler_slower_than_ack_wait_is_not_redelivered_elsewhere(
    bus_settings: BusSettings,
) -> None:
    # The slow worker reports progress, so its twin on the same durable never gets a copy.
    slow = NatsJetStreamBus(bus_settings, ack_wait_s=1.0)
    twin = NatsJetStreamBus(bus_settings, ack_wait_s=1.0)
    await slow.start()
    await twin.start()
    try:
        slow_got: list[Envelope] = []
        twin_got: list[Envelope] = []
        started = asyncio.Event()

        async def slow_handler(env: Envelope) -> None:
            slow_got.append(env)
            started.set()
            await asyncio.sleep(2.5)  # longer than the ack wait

        await slow.publish(envelope())
        await slow.subscribe("test.>", "slow", slow_handler)
        await asyncio.wait_for(started.wait(), 15)
        await twin.subscribe("test.>", "slow", collector(twin_got))

        async def acked() -> bool:
            info = await slow.js.consumer_info(bus_settings.stream, "slow")
            return bool(info.num_ack_pending == 0 and info.num_pending == 0)

        await wait_until(acked)
        assert len(slow_got) == 1
        assert twin_got == []
        assert slow_got[0].delivery == 1
    finally:
        await twin.close()
        await slow.close()
