"""AVL over MQTT without a broker: topic and payload validation, coalescing, counters."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from pingan.dispatch.avl import (
    AvlReport,
    AvlStats,
    Coalescer,
    Dropped,
    parse_message,
    parse_topic,
    parse_url,
    payload_for,
    subscription,
    topic_for,
)

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
PREFIX = "pingan/avl"
TOPIC = "pingan/avl/helsinki/helsinki.P-01"


def _parse(payload: bytes | str, topic: str = TOPIC, skew: float = 30.0) -> AvlReport:
    raw = payload.encode() if isinstance(payload, str) else payload
    return parse_message(topic, raw, prefix=PREFIX, now=NOW, max_skew_s=skew)


def _reason(payload: bytes | str, topic: str = TOPIC) -> str:
    with pytest.raises(Dropped) as caught:
        _parse(payload, topic)
    return caught.value.reason


def test_topics_round_trip() -> None:
    assert topic_for(PREFIX, "helsinki", "helsinki.P-01") == TOPIC
    assert subscription("pingan/avl/") == "pingan/avl/+/+"
    assert subscription("pingan/avl", "pingan-avl") == "$share/pingan-avl/pingan/avl/+/+"
    assert parse_topic(TOPIC, PREFIX) == ("helsinki", "helsinki.P-01")
    for bad in ("other/avl/helsinki/x", "pingan/avl/helsinki", "pingan/avl/a/b/c", "pingan/avl//x"):
        with pytest.raises(Dropped) as caught:
            parse_topic(bad, PREFIX)
        assert caught.value.reason == "topic"


def test_a_good_message_parses_with_optional_fields() -> None:
    at = NOW - timedelta(seconds=5)
    report = _parse(
        payload_for(lon=24.94, lat=60.165, at=at, battery_pct=81, speed_kmh=30.0, heading=90)
    )
    assert (report.city, report.callsign) == ("helsinki", "helsinki.P-01")
    assert (report.lon, report.lat, report.at) == (24.94, 60.165, at)
    assert report.battery_pct == 81 and report.speed_kmh == 30.0 and report.heading == 90


def test_missing_timestamp_means_receipt_time_and_zones_are_normalised() -> None:
    assert _parse('{"lon": 24.94, "lat": 60.165}').at == NOW
    local = _parse('{"lon": 24.94, "lat": 60.165, "at": "2026-11-29T17:59:50+08:00"}')
    assert local.at == NOW - timedelta(seconds=10)
    assert local.at.tzinfo is not None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "json"),
        ("not json", "json"),
        ("[1, 2]", "json"),
        ('{"lat": 60.1}', "payload"),
        ('{"lon": 200, "lat": 60.1}', "payload"),
        ('{"lon": 24.9, "lat": 60.1, "battery_pct": 101}', "payload"),
        ('{"lon": 24.9, "lat": 60.1, "at": "2026-11-29T10:00:00"}', "payload"),
        ('{"lon": "east", "lat": 60.1}', "payload"),
        ('{"lon": 24.9, "lat": 60.1, "at": "2026-11-29T10:05:00Z"}', "future"),
    ],
)
def test_bad_messages_are_dropped_with_a_reason(payload: str | bytes, reason: str) -> None:
    assert _reason(payload) == reason


def test_a_small_clock_skew_is_tolerated() -> None:
    ahead = (NOW + timedelta(seconds=20)).isoformat()
    assert _parse(json.dumps({"lon": 24.9, "lat": 60.1, "at": ahead})).at > NOW


def _report(callsign: str, seconds: float, lon: float = 24.9) -> AvlReport:
    return AvlReport("helsinki", callsign, lon, 60.1, NOW + timedelta(seconds=seconds))


def test_coalescer_keeps_the_newest_report_per_unit() -> None:
    stats = AvlStats()
    c = Coalescer(stats)
    for i in range(10):
        c.add(_report("A", i, lon=24.9 + i / 1000))
    c.add(_report("B", 3))
    c.add(_report("A", 2))  # older than the one held: out of order
    assert len(c) == 2
    batch = c.drain()
    assert [(r.callsign, r.at) for r in batch] == [
        ("B", NOW + timedelta(seconds=3)),
        ("A", NOW + timedelta(seconds=9)),
    ]
    assert batch[1].lon == pytest.approx(24.909)
    assert stats.coalesced == 9
    assert stats.dropped["out_of_order"] == 1
    assert c.drain() == [] and len(c) == 0


def test_two_thousand_units_at_one_hertz_are_one_batch_per_flush() -> None:
    c = Coalescer()
    for second in range(5):
        for unit in range(2000):
            c.add(_report(f"U{unit}", second))
    batch = c.drain()
    assert len(batch) == 2000
    assert all(r.at == NOW + timedelta(seconds=4) for r in batch)
    assert c.stats.coalesced == 4 * 2000


def test_stats_count_and_snapshot() -> None:
    stats = AvlStats()
    for _ in range(7):
        stats.drop(Dropped("json", "x"))
    stats.count_received()
    stats.count_applied(3)
    snap = stats.snapshot()
    assert snap["dropped"] == {"json": 7}
    assert snap["received"] == 1 and snap["applied"] == 3 and snap["flushes"] == 1


def test_broker_urls() -> None:
    assert parse_url("mqtt://127.0.0.1:1883").port == 1883
    assert parse_url("localhost").host == "localhost"
    tls = parse_url("mqtts://u:p@broker.example")
    assert (tls.tls, tls.port, tls.username, tls.password) == (True, 8883, "u", "p")
    with pytest.raises(ValueError, match="mqtt_url"):
        parse_url("http://broker")


def test_the_job_idles_with_one_log_line_when_mqtt_is_off(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingan.dispatch import avl
    from pingan.dispatch.settings import dispatch_settings

    monkeypatch.delenv("PINGAN_DISPATCH__MQTT_URL", raising=False)
    monkeypatch.setattr(avl, "_off_logged", False)
    dispatch_settings.cache_clear()

    async def main() -> None:
        task = asyncio.create_task(avl.run_avl(cast(Any, None)))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not task.done()  # idle, not crashed, not busy
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        with caplog.at_level(logging.INFO, logger="pingan.dispatch.avl"):
            asyncio.run(main())
    finally:
        dispatch_settings.cache_clear()
    assert "AVL over MQTT is off" in caplog.text


def test_share_group_must_be_one_topic_level() -> None:
    from pydantic import ValidationError

    from pingan.dispatch.settings import DispatchSettings

    assert DispatchSettings().avl_share_group == "pingan-avl"
    assert DispatchSettings(avl_share_group="").avl_share_group == ""
    for bad in ("a/b", "a+", "#", "$x"):
        with pytest.raises(ValidationError) as caught:
            DispatchSettings(avl_share_group=bad)
        assert "avl_share_group" in str(caught.value)
