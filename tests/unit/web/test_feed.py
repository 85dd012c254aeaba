"""The live feed: ring buffer, fan-out, bounded queues and SSE framing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import pytest

from pingan.core.events import Envelope
from pingan.web.feed import LiveFeed, sse_comment, sse_event


def envelope(n: int, subject: str = "dispatch.incident.reported", **payload: Any) -> Envelope:
    return Envelope(
        event_id=uuid.UUID(int=n + 1),
        subject=subject,
        occurred_at=datetime(2025, 6, 1, 8, 0, n % 60, tzinfo=UTC),
        payload={"n": n, **payload},
    )


def parse_frame(frame: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in frame.strip("\n").split("\n"):
        key, _, value = line.partition(": ")
        fields[key] = fields[key] + "\n" + value if key in fields else value
    return fields


async def test_backlog_keeps_only_the_most_recent_envelopes() -> None:
    feed = LiveFeed(backlog_size=5)
    for n in range(12):
        await feed.publish(envelope(n))
    assert [e.payload["n"] for e in feed.recent()] == [7, 8, 9, 10, 11]
    assert [e.payload["n"] for e in feed.recent(2)] == [10, 11]


async def test_a_redelivered_event_is_shown_once() -> None:
    feed = LiveFeed()
    with feed.subscribe() as sub:
        await feed.publish(envelope(1))
        await feed.publish(envelope(1).model_copy(update={"delivery": 2}))
        assert len(feed.recent()) == 1
        assert sub.queue.qsize() == 1


async def test_an_evicted_event_id_can_be_seen_again_without_growing_memory() -> None:
    feed = LiveFeed(backlog_size=2)
    for n in (1, 2, 3):
        await feed.publish(envelope(n))
    assert len(feed._ids) == 2  # ids of evicted envelopes are forgotten with them


async def test_every_subscriber_gets_every_event() -> None:
    feed = LiveFeed()
    with feed.subscribe() as a, feed.subscribe() as b:
        assert feed.subscriber_count == 2
        for n in range(3):
            await feed.publish(envelope(n))
        got_a = [a.queue.get_nowait().payload["n"] for _ in range(3)]
        got_b = [b.queue.get_nowait().payload["n"] for _ in range(3)]
    assert got_a == got_b == [0, 1, 2]
    assert feed.subscriber_count == 0


async def test_a_slow_client_loses_its_oldest_events_and_never_blocks_publishing() -> None:
    feed = LiveFeed(client_queue_size=3)
    with feed.subscribe() as slow, feed.subscribe() as fast:
        for n in range(10):
            await feed.publish(envelope(n))  # would hang here if publishing waited
            fast.queue.get_nowait()
        assert slow.queue.qsize() == 3
        assert [slow.queue.get_nowait().payload["n"] for _ in range(3)] == [7, 8, 9]
        assert slow.dropped == 7
        assert fast.dropped == 0


async def test_since_resumes_after_the_last_event_id() -> None:
    feed = LiveFeed()
    for n in range(5):
        await feed.publish(envelope(n))
    after = feed.since(str(uuid.UUID(int=3)))  # the envelope with n == 2
    assert [e.payload["n"] for e in after] == [3, 4]
    assert len(feed.since("not-an-id-we-know")) == 5
    assert len(feed.since(None)) == 5
    assert feed.since(str(uuid.UUID(int=5))) == []


def test_sse_event_frame_carries_the_event_id_and_json() -> None:
    env = envelope(7, subject="city.imported", name="helsinki", note="line1\nline2")
    frame = sse_event(env)
    assert frame.endswith("\n\n")
    fields = parse_frame(frame)
    assert fields["id"] == str(env.event_id)
    assert fields["event"] == "envelope"
    data = json.loads(fields["data"])
    assert data["event_id"] == str(env.event_id)
    assert data["subject"] == "city.imported"
    assert data["payload"] == {"n": 7, "name": "helsinki", "note": "line1\nline2"}
    assert datetime.fromisoformat(data["occurred_at"]) == env.occurred_at


def test_sse_comment_is_ignored_by_event_source() -> None:
    assert sse_comment("heartbeat") == ": heartbeat\n\n"


async def test_stream_sends_backlog_then_live_events() -> None:
    feed = LiveFeed()
    await feed.publish(envelope(0))
    await feed.publish(envelope(1))
    stream = feed.stream(last_event_id=str(uuid.UUID(int=1)), heartbeat_s=60)
    assert isinstance(stream, AsyncGenerator)
    assert (await anext(stream)).startswith("retry: ")
    first = parse_frame(await anext(stream))
    assert json.loads(first["data"])["payload"]["n"] == 1  # n == 0 was already seen
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    assert feed.subscriber_count == 1
    await feed.publish(envelope(2))
    live = parse_frame(await asyncio.wait_for(pending, timeout=5))
    assert live["id"] == str(uuid.UUID(int=3))
    await stream.aclose()
    assert feed.subscriber_count == 0


async def test_stream_sends_heartbeats_and_ends_when_the_client_leaves() -> None:
    feed = LiveFeed()
    connected = [True]

    async def is_disconnected() -> bool:
        return not connected[0]

    stream = feed.stream(is_disconnected=is_disconnected, heartbeat_s=0.01)
    assert (await anext(stream)).startswith("retry: ")
    assert await asyncio.wait_for(anext(stream), timeout=5) == ": heartbeat\n\n"
    connected[0] = False
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(stream), timeout=5)
    assert feed.subscriber_count == 0


async def test_no_event_is_lost_between_backlog_and_live() -> None:
    feed = LiveFeed()
    for n in range(3):
        await feed.publish(envelope(n))
    stream = feed.stream(heartbeat_s=60)
    assert isinstance(stream, AsyncGenerator)
    frames = [await anext(stream) for _ in range(4)]  # retry + 3 backlog
    await feed.publish(envelope(3))
    frames.append(await asyncio.wait_for(anext(stream), timeout=5))
    ids = [parse_frame(f)["id"] for f in frames[1:]]
    assert ids == [str(uuid.UUID(int=n + 1)) for n in range(4)]
    await stream.aclose()
