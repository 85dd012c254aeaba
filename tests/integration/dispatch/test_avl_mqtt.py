"""AVL over a REAL MQTT broker (Mosquitto at 127.0.0.1:1883): publish, bridge, database.

Skipped with the reason when no broker listens there. Arrival is polled with a generous
deadline; nothing asserts on how fast it is.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from pingan.core import clock
from pingan.dispatch.avl import AvlBridge, AvlConsumer, AvlPublisher, Coalescer
from pingan.dispatch.models import Unit
from pingan.dispatch.recommend import UnitKind

from .conftest import World

BROKER = ("127.0.0.1", 1883)
URL = f"mqtt://{BROKER[0]}:{BROKER[1]}"
DEADLINE_S = 20.0


def _broker_reason() -> str | None:
    try:
        with socket.create_connection(BROKER, timeout=1.0):
            return None
    except OSError as exc:
        return f"no MQTT broker at {BROKER[0]}:{BROKER[1]} ({exc})"


pytestmark = pytest.mark.skipif(
    _broker_reason() is not None, reason=_broker_reason() or "MQTT broker unreachable"
)


def _until(check: Callable[[], bool], what: str, step: Callable[[], object] | None = None) -> None:
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        if step is not None:
            step()
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def bridge(world: World) -> Iterator[tuple[AvlBridge, AvlPublisher]]:
    prefix = f"pingan-test/{uuid.uuid4().hex[:10]}"  # no crosstalk between test runs
    bridge = AvlBridge(database=world.db, data_dir=world.settings.data_dir, url=URL, prefix=prefix)
    publisher = AvlPublisher(url=URL, prefix=prefix)
    bridge.consumer.start()
    try:
        _until(bridge.consumer.connected.is_set, "the bridge to connect")
        _until(publisher.connected.is_set, "the publisher to connect")
        time.sleep(0.2)  # let the SUBACK land before the first publish
        yield bridge, publisher
    finally:
        publisher.close()
        bridge.consumer.stop()


def _unit(world: World, unit_id: int) -> Unit:
    return world.get_unit(unit_id)


def test_positions_published_over_mqtt_reach_the_database(
    world: World, bridge: tuple[AvlBridge, AvlPublisher]
) -> None:
    avl, pub = bridge
    car = world.unit("AVL-CAR", UnitKind.PATROL_CAR, world.node_at(400))
    drone = world.unit("AVL-UAV", UnitKind.DRONE, world.node_at(200), endurance_min=40.0)
    target = world.node_at(800)
    lon, lat = float(world.graph.lon[target]), float(world.graph.lat[target])
    at = clock.now()

    assert pub.publish(city="helsinki", callsign="AVL-CAR", lon=lon, lat=lat, at=at)
    assert pub.publish(
        city="helsinki", callsign="AVL-UAV", lon=lon, lat=lat, at=at, battery_pct=62.5
    )

    def arrived() -> bool:
        return _unit(world, car).node == target and _unit(world, drone).battery_pct == 62.5

    _until(arrived, "both positions", step=avl.flush)
    moved = _unit(world, car)
    assert (moved.lon, moved.lat) == pytest.approx((lon, lat))
    assert moved.position_at is not None and abs(moved.position_at - at) < timedelta(seconds=1)
    uav = _unit(world, drone)
    assert uav.battery_at is not None
    assert avl.stats.snapshot()["applied"] >= 2


def test_bad_messages_are_dropped_and_counted_and_later_good_ones_apply(
    world: World, bridge: tuple[AvlBridge, AvlPublisher]
) -> None:
    avl, pub = bridge
    car = world.unit("AVL-CAR2", UnitKind.PATROL_CAR, world.node_at(300))
    before = _unit(world, car)
    topic = f"{avl.consumer.prefix}/helsinki/AVL-CAR2"
    now = clock.now()

    assert pub.publish_raw(topic, b"{not json")
    assert pub.publish(city="helsinki", callsign="NOBODY", lon=24.94, lat=60.165)
    assert pub.publish(city="helsinki", callsign="AVL-CAR2", lon=10.0, lat=50.0)
    assert pub.publish(city="elsewhere", callsign="AVL-CAR2", lon=24.94, lat=60.165)
    assert pub.publish(
        city="helsinki",
        callsign="AVL-CAR2",
        lon=24.94,
        lat=60.165,
        at=now + timedelta(hours=1),
    )
    assert pub.publish(
        city="helsinki",
        callsign="AVL-CAR2",
        lon=24.94,
        lat=60.165,
        at=before.position_at - timedelta(minutes=5) if before.position_at else now,
    )

    expected = {
        "json": 1,
        "unknown_unit": 1,
        "outside_city": 1,
        "wrong_city": 1,
        "future": 1,
        "out_of_order": 1,
    }

    def all_dropped() -> bool:
        dropped = avl.stats.snapshot()["dropped"]
        return all(dropped.get(k, 0) >= n for k, n in expected.items())

    _until(all_dropped, f"the drops {expected}", step=avl.flush)
    unchanged = _unit(world, car)
    assert (unchanged.lon, unchanged.lat, unchanged.node) == (before.lon, before.lat, before.node)

    # The bridge is still alive: a good report after the bad ones applies.
    target = world.node_at(900)
    lon, lat = float(world.graph.lon[target]), float(world.graph.lat[target])
    assert pub.publish(city="helsinki", callsign="AVL-CAR2", lon=lon, lat=lat, at=clock.now())
    _until(lambda: _unit(world, car).node == target, "the good report", step=avl.flush)
    assert avl.stats.snapshot()["dropped"] == expected


def test_a_burst_is_coalesced_into_the_newest_fix(
    world: World, bridge: tuple[AvlBridge, AvlPublisher]
) -> None:
    avl, pub = bridge
    car = world.unit("AVL-CAR3", UnitKind.PATROL_CAR, world.node_at(300))
    nodes = [world.node_at(m) for m in (500, 600, 700, 800, 900)]
    start = clock.now()
    for i, node in enumerate(nodes):
        lon, lat = float(world.graph.lon[node]), float(world.graph.lat[node])
        at = start + timedelta(seconds=i)
        assert pub.publish(city="helsinki", callsign="AVL-CAR3", lon=lon, lat=lat, at=at)
    # Without flushing, wait until the burst is in: the newest fix is what is held.
    _until(lambda: avl.stats.snapshot()["received"] >= len(nodes), "the burst")
    assert len(avl.coalescer) == 1
    assert avl.flush() == 1
    assert _unit(world, car).node == nodes[-1]
    assert avl.stats.snapshot()["coalesced"] == len(nodes) - 1


def test_an_unreachable_broker_is_logged_and_does_not_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # a port nothing listens on once closed
    consumer = AvlConsumer(
        url=f"mqtt://127.0.0.1:{port}", prefix="pingan-test/down", coalescer=Coalescer()
    )
    with caplog.at_level(logging.INFO, logger="pingan.dispatch.avl"):
        consumer.start()
        try:
            _until(lambda: "unreachable" in caplog.text, "the unreachable-broker warning")
        finally:
            consumer.stop()
    assert not consumer.connected.is_set()


def test_the_module_job_bridges_mqtt_when_configured(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from pingan.core.module import Context
    from pingan.dispatch import module
    from pingan.dispatch.settings import dispatch_settings

    prefix = f"pingan-test/{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("PINGAN_DISPATCH__MQTT_URL", URL)
    monkeypatch.setenv("PINGAN_DISPATCH__MQTT_TOPIC_PREFIX", prefix)
    monkeypatch.setenv("PINGAN_DISPATCH__AVL_FLUSH_S", "0.2")
    dispatch_settings.cache_clear()
    car = world.unit("AVL-JOB", UnitKind.PATROL_CAR, world.node_at(300))
    target = world.node_at(700)
    lon, lat = float(world.graph.lon[target]), float(world.graph.lat[target])
    (job,) = [j for j in module().jobs if j.name == "dispatch-avl"]
    ctx = Context(settings=world.settings, db=world.db, bus=None)  # type: ignore[arg-type]
    publisher = AvlPublisher(url=URL, prefix=prefix)

    async def main() -> None:
        task: asyncio.Future[Any] = asyncio.ensure_future(job.run(ctx))
        try:
            end = time.monotonic() + DEADLINE_S
            while time.monotonic() < end:
                # republish until the bridge (subscribing in the background) has it
                publisher.publish(
                    city="helsinki", callsign="AVL-JOB", lon=lon, lat=lat, at=clock.now()
                )
                await asyncio.sleep(0.3)
                if (await asyncio.to_thread(_unit, world, car)).node == target:
                    return
            raise AssertionError("the job did not apply the position")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    try:
        _until(publisher.connected.is_set, "the publisher to connect")
        asyncio.run(main())
    finally:
        publisher.close()
        dispatch_settings.cache_clear()


@pytest.mark.parametrize(("group", "copies"), [("pingan-avl", 1), ("", 2)])
def test_processes_in_one_share_group_receive_each_report_once(group: str, copies: int) -> None:
    """The server and a worker both run the AVL job: in one shared-subscription group the
    broker hands each report to one of them; without a group each gets every report."""
    prefix = f"pingan-test/{uuid.uuid4().hex[:10]}"
    tag = uuid.uuid4().hex[:8]
    consumers = [
        AvlConsumer(
            url=URL, prefix=prefix, coalescer=Coalescer(), group=f"{group}-{tag}" if group else ""
        )
        for _ in range(2)
    ]
    publisher = AvlPublisher(url=URL, prefix=prefix)
    for consumer in consumers:
        consumer.start()
    try:
        for consumer in consumers:
            _until(consumer.connected.is_set, "a consumer to connect")
        _until(publisher.connected.is_set, "the publisher to connect")
        time.sleep(0.3)  # let both SUBACKs land before the first publish
        sent = 20
        for i in range(sent):
            assert publisher.publish(
                city="helsinki", callsign=f"SHARE-{i}", lon=24.94, lat=60.165, at=clock.now()
            )

        def received() -> int:
            return sum(c.stats.snapshot()["received"] for c in consumers)

        _until(lambda: received() >= sent * copies, f"{sent * copies} deliveries")
        time.sleep(0.5)  # a duplicate delivery would have arrived by now
        assert received() == sent * copies
        held = [[r.callsign for r in c.coalescer.drain()] for c in consumers]
        everyone = {f"SHARE-{i}" for i in range(sent)}
        if copies == 1:  # each report with exactly one of the two
            assert sorted(held[0] + held[1]) == sorted(everyone)
        else:  # each report with both
            assert set(held[0]) == set(held[1]) == everyone
    finally:
        publisher.close()
        for consumer in consumers:
            consumer.stop()
