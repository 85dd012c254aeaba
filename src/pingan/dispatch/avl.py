"""AVL over MQTT (车辆定位): unit positions from the edge, bridged into the dispatch desk.

**Topics.** A unit terminal publishes to ``<prefix>/<city>/<callsign>``, the prefix
being ``PINGAN_DISPATCH__MQTT_TOPIC_PREFIX`` (default ``pingan/avl``), ``<city>`` the
city's name in the platform (``helsinki``) and ``<callsign>`` the unit's callsign
(``helsinki.P-01``). A callsign containing ``/``, ``+`` or ``#`` cannot be a topic
level; such a unit reports through the API (``POST /api/dispatch/units/{id}/position``).

**Payload.** UTF-8 JSON::

    {"lon": 24.9395, "lat": 60.1650, "at": "2026-11-29T10:00:00+00:00",
     "speed_kmh": 32.5, "heading": 270, "battery_pct": 81, "endurance_min": 28}

``lon`` and ``lat`` are required; ``at`` (ISO-8601 with a zone) defaults to the time of
receipt; ``speed_kmh`` and ``heading`` are accepted and not stored; ``battery_pct`` and
``endurance_min`` are what drones report. Unknown keys are ignored.

**Validation.** Every message is checked and a bad one is *dropped*, never raised:
the reason is counted in :class:`AvlStats` and logged (the first few per reason and
minute, then a summary). Reasons: ``topic`` (not ``<prefix>/<city>/<callsign>``),
``json`` (not JSON / not an object), ``payload`` (fields missing or out of range),
``future`` (``at`` later than now plus ``PINGAN_DISPATCH__AVL_MAX_SKEW_S``),
``unknown_unit`` (no unit has the callsign), ``wrong_city`` (the unit belongs to
another city), ``outside_city`` / ``off_network`` (the point is outside the city or
too far from its roads), ``out_of_order`` (older than the unit's last position, or
than a report of the same unit already waiting).

**Coalescing.** Messages are parsed on paho's network thread and kept in a
:class:`Coalescer`: the latest report per unit. Every
``PINGAN_DISPATCH__AVL_FLUSH_S`` (1 s) the batch is applied in ONE session and one
commit through :func:`pingan.dispatch.service.update_position` (snapping, the same
rules as the API). 2,000 units reporting at 1 Hz are one commit a second, not 2,000;
a unit reporting faster than the flush keeps only its newest fix (counted as
``coalesced``). Positions are telemetry and not audited row by row (see the service).

**Running.** :func:`run_avl` is the desk's long-running job. With no
``PINGAN_DISPATCH__MQTT_URL`` (the default) AVL is off and the job says so once in
the log: the platform starts without a broker. With a URL (``mqtt://127.0.0.1:1883``,
``mqtts://`` for TLS, ``user:password@`` accepted) paho's network loop runs in its
own thread and reconnects by itself; while the broker is down a warning says so and
the loop keeps retrying (at most every ``PINGAN_DISPATCH__AVL_RETRY_S``). The server and
every ``pingan worker`` run the job; they subscribe as one MQTT shared-subscription group
(``PINGAN_DISPATCH__AVL_SHARE_GROUP``, default ``pingan-avl``), so the broker delivers
each report to one of them and it is applied once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.city.models import City
from pingan.core import clock
from pingan.core.errors import PinganError
from pingan.dispatch.models import Unit
from pingan.dispatch.schemas import PositionUpdate
from pingan.dispatch.settings import dispatch_settings

if TYPE_CHECKING:
    from pingan.core.db import Database
    from pingan.core.module import Context

log = logging.getLogger(__name__)

ACTOR: Final = "avl:mqtt"
"""Who the position reports are recorded as coming from."""
DEFAULT_PORT: Final = 1883
DEFAULT_TLS_PORT: Final = 8883
LOG_PER_REASON: Final = 5
"""Drops logged one by one per reason and minute; the rest go into the minute's summary."""
REASONS: Final = (
    "topic",
    "json",
    "payload",
    "future",
    "unknown_unit",
    "wrong_city",
    "outside_city",
    "off_network",
    "out_of_order",
    "error",
)


class AvlPayload(BaseModel):
    """The JSON body of one AVL message."""

    model_config = ConfigDict(extra="ignore")

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    at: AwareDatetime | None = None
    speed_kmh: float | None = Field(default=None, ge=0, le=500)
    heading: float | None = Field(default=None, ge=0, le=360)
    battery_pct: float | None = Field(default=None, ge=0, le=100)
    endurance_min: float | None = Field(default=None, ge=0, le=24 * 60)


@dataclass(frozen=True)
class AvlReport:
    """One validated position report, waiting to be applied."""

    city: str
    callsign: str
    lon: float
    lat: float
    at: datetime
    battery_pct: float | None = None
    endurance_min: float | None = None
    speed_kmh: float | None = None
    heading: float | None = None


class Dropped(Exception):
    """A message that is not applied, with the counted reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def topic_for(prefix: str, city: str, callsign: str) -> str:
    """The topic a unit publishes its positions to."""
    return f"{prefix.strip('/')}/{city}/{callsign}"


def subscription(prefix: str, group: str = "") -> str:
    """The topic filter the bridge subscribes to (every city, every unit). With a
    ``group``, an MQTT shared subscription (``$share/<group>/<filter>``): the broker hands
    each message to one subscriber of the group, so the server and any number of
    ``pingan worker`` processes apply each report once between them."""
    topics = f"{prefix.strip('/')}/+/+"
    return f"$share/{group}/{topics}" if group else topics


def parse_topic(topic: str, prefix: str) -> tuple[str, str]:
    """(city, callsign) of an AVL topic; :class:`Dropped` ``topic`` when it is not one."""
    head = prefix.strip("/") + "/"
    if not topic.startswith(head):
        raise Dropped("topic", topic)
    parts = topic[len(head) :].split("/")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise Dropped("topic", topic)
    return parts[0], parts[1]


def parse_message(
    topic: str, payload: bytes, *, prefix: str, now: datetime, max_skew_s: float
) -> AvlReport:
    """Validate one MQTT message into a report; :class:`Dropped` with the reason otherwise.

    Checks what needs no database: topic, JSON, field ranges, and a timestamp no
    further in the future than ``max_skew_s`` (clocks of devices drift a little).
    """
    city, callsign = parse_topic(topic, prefix)
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Dropped("json", f"{topic}: not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise Dropped("json", f"{topic}: not a JSON object")
    try:
        body = AvlPayload.model_validate(data)
    except ValidationError as exc:
        fields = ",".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        raise Dropped("payload", f"{topic}: {fields or 'invalid'}") from None
    if not (math.isfinite(body.lon) and math.isfinite(body.lat)):
        raise Dropped("payload", f"{topic}: lon/lat")
    at = body.at.astimezone(UTC) if body.at is not None else now
    if at > now + timedelta(seconds=max_skew_s):
        raise Dropped("future", f"{topic}: at {at.isoformat()} is after {now.isoformat()}")
    return AvlReport(
        city=city,
        callsign=callsign,
        lon=body.lon,
        lat=body.lat,
        at=at,
        battery_pct=body.battery_pct,
        endurance_min=body.endurance_min,
        speed_kmh=body.speed_kmh,
        heading=body.heading,
    )


class AvlStats:
    """Counters of the bridge (thread-safe): received, applied, coalesced, dropped by reason."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received = 0
        self.applied = 0
        self.coalesced = 0
        self.flushes = 0
        self.dropped: Counter[str] = Counter()
        self._window: Counter[str] = Counter()
        self._window_start = time.monotonic()

    def count_received(self) -> None:
        """One message arrived."""
        with self._lock:
            self.received += 1

    def count_coalesced(self, n: int = 1) -> None:
        """Reports replaced by a newer one of the same unit before a flush."""
        with self._lock:
            self.coalesced += n

    def count_applied(self, n: int, flushes: int = 1) -> None:
        """Reports written to the database in a flush."""
        with self._lock:
            self.applied += n
            self.flushes += flushes

    def drop(self, exc: Dropped) -> None:
        """Count a dropped message and log it (rate-limited per reason)."""
        with self._lock:
            self.dropped[exc.reason] += 1
            self._window[exc.reason] += 1
            quiet = self._window[exc.reason] > LOG_PER_REASON
        if not quiet:
            log.warning("AVL: dropped a message (%s): %s", exc.reason, exc.detail)

    def roll_window(self) -> None:
        """Log the minute's drops beyond the ones logged singly, and start a new minute."""
        with self._lock:
            if time.monotonic() - self._window_start < 60.0:
                return
            window, self._window = self._window, Counter()
            self._window_start = time.monotonic()
        if sum(window.values()) > LOG_PER_REASON:
            log.warning("AVL: dropped in the last minute: %s", dict(sorted(window.items())))

    def snapshot(self) -> dict[str, Any]:
        """The counters as plain data."""
        with self._lock:
            return {
                "received": self.received,
                "applied": self.applied,
                "coalesced": self.coalesced,
                "flushes": self.flushes,
                "dropped": dict(self.dropped),
            }


class Coalescer:
    """The newest report per unit since the last flush (thread-safe)."""

    def __init__(self, stats: AvlStats | None = None) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], AvlReport] = {}
        self.stats = stats or AvlStats()

    def add(self, report: AvlReport) -> None:
        """Keep ``report`` unless a newer one of the same unit is already waiting."""
        key = (report.city, report.callsign)
        with self._lock:
            held = self._pending.get(key)
            if held is not None and report.at < held.at:
                older = True
            else:
                older = False
                self._pending[key] = report
        if held is None:
            return
        if older:
            self.stats.drop(Dropped("out_of_order", f"{report.callsign}: older than a waiting fix"))
        else:
            self.stats.count_coalesced()

    def drain(self) -> list[AvlReport]:
        """The waiting reports (oldest first), leaving none."""
        with self._lock:
            batch, self._pending = list(self._pending.values()), {}
        batch.sort(key=lambda r: r.at)
        return batch

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)


def apply_reports(*, db: Session, reports: list[AvlReport], data_dir: Path, stats: AvlStats) -> int:
    """Apply a batch in the caller's session (the caller commits once); the number applied.

    Each report goes through :func:`pingan.dispatch.service.update_position`; checks that
    need the database (unknown unit, other city, outside the city or off the roads,
    older than the unit's last position) drop that report only.
    """
    from pingan.dispatch.service import update_position

    if not reports:
        return 0
    callsigns = sorted({r.callsign for r in reports})
    units = {u.callsign: u for u in db.scalars(select(Unit).where(Unit.callsign.in_(callsigns)))}
    cities: dict[int, str] = {}
    applied = 0
    for report in reports:
        unit = units.get(report.callsign)
        try:
            if unit is None:
                raise Dropped("unknown_unit", report.callsign)
            if unit.city_id not in cities:
                city = db.get(City, unit.city_id)
                cities[unit.city_id] = city.name if city is not None else ""
            if cities[unit.city_id] != report.city:
                raise Dropped(
                    "wrong_city", f"{report.callsign} belongs to {cities[unit.city_id]!r}"
                )
            if unit.position_at is not None and report.at < unit.position_at:
                raise Dropped("out_of_order", f"{report.callsign}: older than its last position")
            try:
                update_position(
                    db=db,
                    unit_id=unit.id,
                    position_in=PositionUpdate(
                        lon=report.lon,
                        lat=report.lat,
                        at=report.at,
                        endurance_min=report.endurance_min,
                        battery_pct=report.battery_pct,
                    ),
                    actor=ACTOR,
                    data_dir=data_dir,
                )
            except PinganError as exc:
                reason = "off_network" if exc.key.endswith("off_network") else "outside_city"
                raise Dropped(reason, f"{report.callsign}: ({report.lon}, {report.lat})") from None
        except Dropped as exc:
            stats.drop(exc)
            continue
        applied += 1
    return applied


def flush(*, database: Database, coalescer: Coalescer, data_dir: Path, stats: AvlStats) -> int:
    """Apply what the coalescer holds in one session and one commit; the number applied."""
    batch = coalescer.drain()
    if not batch:
        return 0
    try:
        with database.session() as session:
            applied = apply_reports(db=session, reports=batch, data_dir=data_dir, stats=stats)
    except Exception:  # a database failure loses this batch only; the next fixes follow
        log.exception("AVL: a batch of %d reports could not be written", len(batch))
        for _ in batch:
            stats.drop(Dropped("error", "database"))
        return 0
    stats.count_applied(applied)
    return applied


# ---------------------------------------------------------------------------- MQTT


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is, from ``mqtt_url``."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None


def parse_url(url: str) -> BrokerAddress:
    """``mqtt://[user:pass@]host[:port]`` (``tcp://`` too; ``mqtts://``/``ssl://`` for TLS)."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp", "mqtts", "ssl") or not parts.hostname:
        raise ValueError(f"mqtt_url: expected mqtt://host[:port], got {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    return BrokerAddress(
        host=parts.hostname,
        port=parts.port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
        tls=tls,
        username=parts.username,
        password=parts.password,
    )


def _client(address: BrokerAddress, client_id: str, retry_s: float) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id)
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    client.reconnect_delay_set(min_delay=1, max_delay=max(1, int(retry_s)))
    return client


class AvlConsumer:
    """Subscribes to the AVL topics; parses each message into the coalescer.

    paho's network loop runs in its own thread (``loop_start``) and reconnects by
    itself; the subscription is renewed on every connect.
    """

    def __init__(
        self,
        *,
        url: str,
        prefix: str,
        coalescer: Coalescer,
        max_skew_s: float = 30.0,
        retry_s: float = 10.0,
        group: str = "",
    ) -> None:
        self.address = parse_url(url)
        self.url = url
        self.prefix = prefix
        self.group = group
        self.coalescer = coalescer
        self.stats = coalescer.stats
        self.max_skew_s = max_skew_s
        self.connected = threading.Event()
        self._warned = False
        self._client = _client(self.address, f"pingan-avl-{uuid.uuid4().hex[:8]}", retry_s)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def start(self) -> None:
        """Connect in the background (retrying while the broker is down)."""
        log.info(
            "AVL: connecting to MQTT broker %s:%d, topics %s",
            self.address.host,
            self.address.port,
            subscription(self.prefix, self.group),
        )
        self._client.connect_async(self.address.host, self.address.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("AVL: MQTT broker %s refused the connection: %s", self.url, reason)
            return
        client.subscribe(subscription(self.prefix, self.group), qos=0)
        self._warned = False
        self.connected.set()
        log.info("AVL: connected to MQTT broker %s", self.url)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "AVL: MQTT broker %s unreachable; positions arrive through the API only "
                "until it is back (retrying)",
                self.url,
            )

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if self.connected.is_set():
            log.warning(
                "AVL: disconnected from MQTT broker %s (%s); reconnecting", self.url, reason
            )
        self.connected.clear()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.stats.count_received()
        try:
            report = parse_message(
                message.topic,
                bytes(message.payload),
                prefix=self.prefix,
                now=clock.now(),
                max_skew_s=self.max_skew_s,
            )
        except Dropped as exc:
            self.stats.drop(exc)
            return
        except Exception as exc:  # never let a message kill the network thread
            self.stats.drop(Dropped("error", f"{message.topic}: {exc!r}"))
            return
        self.coalescer.add(report)


class AvlBridge:
    """Consumer + coalescer + periodic flush into the database: what the job runs."""

    def __init__(
        self,
        *,
        database: Database,
        data_dir: Path,
        url: str,
        prefix: str = "pingan/avl",
        flush_s: float = 1.0,
        max_skew_s: float = 30.0,
        retry_s: float = 10.0,
        group: str = "",
    ) -> None:
        self.database = database
        self.data_dir = Path(data_dir)
        self.flush_s = flush_s
        self.stats = AvlStats()
        self.coalescer = Coalescer(self.stats)
        self.consumer = AvlConsumer(
            url=url,
            prefix=prefix,
            coalescer=self.coalescer,
            max_skew_s=max_skew_s,
            retry_s=retry_s,
            group=group,
        )

    def flush(self) -> int:
        """Apply the waiting reports now (blocking); the number applied."""
        return flush(
            database=self.database,
            coalescer=self.coalescer,
            data_dir=self.data_dir,
            stats=self.stats,
        )

    async def run(self) -> None:
        """Consume until cancelled, flushing every ``flush_s`` in a worker thread."""
        self.consumer.start()
        try:
            while True:
                await asyncio.sleep(self.flush_s)
                await asyncio.to_thread(self.flush)
                self.stats.roll_window()
        finally:
            self.consumer.stop()
            await asyncio.to_thread(self.flush)


_off_logged = False


async def run_avl(ctx: Context) -> None:
    """The desk's AVL job: bridge MQTT positions into the database (off without a URL)."""
    global _off_logged
    conf = dispatch_settings()
    if not conf.mqtt_url:
        if not _off_logged:
            _off_logged = True
            log.info("AVL over MQTT is off (set PINGAN_DISPATCH__MQTT_URL to turn it on)")
        await asyncio.Future()  # nothing to do; stays idle until the process stops
        return
    bridge = AvlBridge(
        database=ctx.db,
        data_dir=ctx.settings.data_dir,
        url=conf.mqtt_url,
        prefix=conf.mqtt_topic_prefix,
        flush_s=conf.avl_flush_s,
        max_skew_s=conf.avl_max_skew_s,
        retry_s=conf.avl_retry_s,
        group=conf.avl_share_group,
    )
    await bridge.run()


# ---------------------------------------------------------------------------- publishing


def payload_for(
    *,
    lon: float,
    lat: float,
    at: datetime | None = None,
    battery_pct: float | None = None,
    endurance_min: float | None = None,
    speed_kmh: float | None = None,
    heading: float | None = None,
) -> bytes:
    """The JSON body of an AVL message."""
    body: dict[str, Any] = {"lon": lon, "lat": lat}
    if at is not None:
        body["at"] = at.astimezone(UTC).isoformat()
    for key, value in (
        ("battery_pct", battery_pct),
        ("endurance_min", endurance_min),
        ("speed_kmh", speed_kmh),
        ("heading", heading),
    ):
        if value is not None:
            body[key] = value
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


class AvlPublisher:
    """Publishes position reports as a unit terminal would (the simulator, tests, tools)."""

    def __init__(self, *, url: str, prefix: str = "pingan/avl", retry_s: float = 10.0) -> None:
        self.address = parse_url(url)
        self.prefix = prefix
        self.connected = threading.Event()
        self._client = _client(self.address, f"pingan-avl-pub-{uuid.uuid4().hex[:8]}", retry_s)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.connect_async(self.address.host, self.address.port, keepalive=30)
        self._client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if not getattr(reason, "is_failure", False):
            self.connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self.connected.clear()

    def publish_raw(self, topic: str, payload: bytes, qos: int = 1) -> bool:
        """Publish bytes as they are; False when not connected."""
        if not self.connected.is_set():
            return False
        info = self._client.publish(topic, payload, qos=qos)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def publish(self, *, city: str, callsign: str, qos: int = 1, **fields: Any) -> bool:
        """Publish one position report of ``callsign`` (fields as :func:`payload_for`)."""
        return self.publish_raw(topic_for(self.prefix, city, callsign), payload_for(**fields), qos)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()
