"""The in-process bus: fan-out, shared work, redelivery, dead letters, ephemeral subscribers."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from pingan.core.bus import EventBus, InProcessBus, make_bus, subject_matches
from pingan.core.events import Envelope
from pingan.core.settings import BusSettings


def envelope(subject: str = "test.bus.happened", n: int = 0) -> Envelope:
    return Envelope(
        event_id=uuid4(),
        subject=subject,
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        payload={"n": n},
    )


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("dispatch.*.created", "dispatch.incident.created", True),
        ("dispatch.*.created", "dispatch.incident.closed", False),
        ("dispatch.>", "dispatch.incident.created", True),
        ("*", "dispatch", True),
        ("*", "dispatch.incident", False),
        ("dispatch.incident.created.>", "dispatch.incident.created", False),
    ],
)
def test_subject_matching_tokens(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected


def test_make_bus_picks_the_adapter_from_settings() -> None:
    bus = make_bus(BusSettings(max_deliveries=3))
    assert isinstance(bus, InProcessBus)
    assert bus.max_deliveries == 3
    from pingan.core.nats_bus import NatsJetStreamBus

    nats_bus = make_bus(BusSettings(kind="nats", stream="S1", subject_prefix="p1"))
    assert isinstance(nats_bus, NatsJetStreamBus)
    assert nats_bus.nats_subject("a.*") == "p1.a.*"


async def test_distinct_durables_each_see_every_matching_envelope() -> None:
    bus = InProcessBus()
    seen: dict[str, list[int]] = {"a": [], "b": [], "other": []}

    def recorder(name: str):  # type: ignore[no-untyped-def]
        async def handle(env: Envelope) -> None:
            seen[name].append(env.payload["n"])

        return handle

    await bus.subscribe("test.>", "a", recorder("a"))
    await bus.subscribe("test.bus.*", "b", recorder("b"))
    await bus.subscribe("other.>", "other", recorder("other"))
    for n in range(5):
        await bus.publish(envelope(n=n))
    await bus.drain(timeout=5)
    assert seen == {"a": [0, 1, 2, 3, 4], "b": [0, 1, 2, 3, 4], "other": []}
    await bus.close()


async def test_subscribers_sharing_a_durable_share_the_work() -> None:
    bus = InProcessBus()
    handled: list[tuple[str, int]] = []

    def worker(name: str):  # type: ignore[no-untyped-def]
        async def handle(env: Envelope) -> None:
            await asyncio.sleep(0)  # let the other worker take the next envelope
            handled.append((name, env.payload["n"]))

        return handle

    await bus.subscribe("test.>", "shared", worker("w1"))
    await bus.subscribe("test.>", "shared", worker("w2"))
    for n in range(50):
        await bus.publish(envelope(n=n))
    await bus.drain(timeout=5)
    numbers = Counter(n for _, n in handled)
    assert sorted(numbers) == list(range(50))
    assert set(numbers.values()) == {1}, "an envelope went to both workers of one durable"
    assert {name for name, _ in handled} == {"w1", "w2"}
    await bus.close()


async def test_a_durable_keeps_its_pattern() -> None:
    bus = InProcessBus()

    async def noop(env: Envelope) -> None:
        return None

    await bus.subscribe("test.>", "d", noop)
    with pytest.raises(ValueError, match="already subscribed"):
        await bus.subscribe("other.>", "d", noop)
    await bus.close()


async def test_a_raising_handler_gets_the_envelope_again_with_delivery_counted() -> None:
    bus = InProcessBus(max_deliveries=5, redelivery_delay_s=0.01)
    deliveries: list[int] = []

    async def flaky(env: Envelope) -> None:
        deliveries.append(env.delivery)
        if env.delivery < 3:
            raise RuntimeError("transient")

    await bus.subscribe("test.>", "flaky", flaky)
    env = envelope()
    await bus.publish(env)
    await bus.drain(timeout=5)
    assert deliveries == [1, 2, 3]
    assert bus.dead_letters == []
    await bus.close()


async def test_an_envelope_that_always_fails_is_parked_as_dead_and_others_go_on() -> None:
    bus = InProcessBus(max_deliveries=3, redelivery_delay_s=0)
    attempts: Counter[int] = Counter()

    async def poisoned(env: Envelope) -> None:
        attempts[env.payload["n"]] += 1
        if env.payload["n"] == 0:
            raise ValueError("poison")

    await bus.subscribe("test.>", "p", poisoned)
    poison = envelope(n=0)
    await bus.publish(poison)
    await bus.publish(envelope(n=1))
    await bus.drain(timeout=5)
    assert attempts == {0: 3, 1: 1}
    assert len(bus.dead_letters) == 1
    dead = bus.dead_letters[0]
    assert dead.durable == "p"
    assert dead.envelope.event_id == poison.event_id
    assert dead.envelope.delivery == 3
    assert "poison" in dead.error
    await bus.close()


async def test_a_failure_in_one_durable_does_not_redeliver_to_another() -> None:
    bus = InProcessBus(max_deliveries=3, redelivery_delay_s=0)
    good: list[int] = []

    async def ok(env: Envelope) -> None:
        good.append(env.delivery)

    async def bad(env: Envelope) -> None:
        raise RuntimeError("always")

    await bus.subscribe("test.>", "good", ok)
    await bus.subscribe("test.>", "bad", bad)
    await bus.publish(envelope())
    await bus.drain(timeout=5)
    assert good == [1]
    assert [d.durable for d in bus.dead_letters] == ["bad"]
    await bus.close()


async def test_ephemeral_subscriber_sees_only_later_envelopes_and_is_not_retried() -> None:
    bus: EventBus = InProcessBus(redelivery_delay_s=0)
    assert isinstance(bus, InProcessBus)
    before = envelope(n=0)
    await bus.publish(before)
    await bus.drain(timeout=5)
    seen: list[tuple[int, int]] = []

    async def live(env: Envelope) -> None:
        seen.append((env.payload["n"], env.delivery))
        if env.payload["n"] == 1:
            raise RuntimeError("a broken page must not stall the bus")

    await bus.subscribe(">", None, live)
    for n in (1, 2):
        await bus.publish(envelope(n=n))
    await bus.drain(timeout=5)
    assert seen == [(1, 1), (2, 1)]
    await bus.close()


async def test_publish_after_close_is_refused() -> None:
    bus = InProcessBus()
    await bus.start()
    await bus.close()
    with pytest.raises(RuntimeError, match="closed"):
        await bus.publish(envelope())
