"""The event bus on NATS JetStream: one stream, durable pull consumers, explicit acks.

Every envelope is published to ``<prefix>.<subject>`` with ``Nats-Msg-Id`` set to its
event id, so a relay that publishes the same outbox row twice (after a crash, or two
relays racing) stores it once within the stream's duplicate window. Durable
subscribers are pull consumers: every process that subscribes with the same durable
name fetches from the same consumer, so they share the work, and a message that is
not acknowledged (handler raised, process died) is delivered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import nats
import nats.errors
import nats.js.errors
from nats.js import api

from pingan.core.bus import EnvelopeHandler
from pingan.core.events import Envelope

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription
    from nats.js.client import JetStreamContext

    from pingan.core.settings import BusSettings

log = logging.getLogger(__name__)


class NatsJetStreamBus:
    """Events between processes and machines through a JetStream stream."""

    def __init__(
        self,
        settings: BusSettings,
        *,
        ack_wait_s: float = 30.0,
        nak_delay_s: float = 1.0,
        fetch_batch: int = 10,
        client_name: str | None = None,
    ) -> None:
        self.settings = settings
        self.stream = settings.stream
        self.prefix = settings.subject_prefix
        self.ack_wait_s = ack_wait_s
        self.nak_delay_s = nak_delay_s
        self.fetch_batch = fetch_batch
        self.client_name = client_name
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._push_subs: list[Subscription] = []

    def nats_subject(self, subject_or_pattern: str) -> str:
        """The NATS subject (or wildcard) of a platform subject (or pattern)."""
        return f"{self.prefix}.{subject_or_pattern}"

    @property
    def js(self) -> JetStreamContext:
        """The JetStream context (after :meth:`start`)."""
        if self._js is None:
            raise RuntimeError("the NATS bus is not started")
        return self._js

    async def start(self) -> None:
        """Connect and make sure the stream exists and carries ``<prefix>.>``."""
        if self._nc is not None:
            return
        self._nc = await nats.connect(
            self.settings.nats_url, name=self.client_name, max_reconnect_attempts=-1
        )
        self._js = self._nc.jetstream()
        await self._ensure_stream()

    async def _ensure_stream(self) -> None:
        wanted = self.nats_subject(">")
        try:
            info = await self.js.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            try:
                await self.js.add_stream(
                    name=self.stream, subjects=[wanted], duplicate_window=120.0
                )
            except nats.js.errors.BadRequestError:
                # Another process created it between our lookup and our create.
                await self.js.stream_info(self.stream)
            return
        subjects = list(info.config.subjects or [])
        if wanted not in subjects:
            info.config.subjects = [*subjects, wanted]
            await self.js.update_stream(info.config)

    async def close(self) -> None:
        """Stop the consumers and drain the connection."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        subs, self._push_subs = self._push_subs, []
        for sub in subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            # flush + close, not drain: drain waits for pull subscriptions' leftover
            # status messages to be consumed, which nobody will do once the loops stop.
            with contextlib.suppress(Exception):
                await nc.flush(timeout=2)
            with contextlib.suppress(Exception):
                await nc.close()

    async def publish(self, envelope: Envelope) -> None:
        """Store ``envelope`` in the stream; returns after JetStream acknowledged it."""
        await self.js.publish(
            self.nats_subject(envelope.subject),
            envelope.to_bytes(),
            stream=self.stream,
            headers={"Nats-Msg-Id": str(envelope.event_id)},
        )

    async def subscribe(self, pattern: str, durable: str | None, handler: EnvelopeHandler) -> None:
        """A durable pull consumer (shared by name across processes) or an ephemeral one."""
        subject = self.nats_subject(pattern)
        if durable is None:
            await self._subscribe_ephemeral(subject, handler)
            return
        config = api.ConsumerConfig(
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=self.ack_wait_s,
            max_deliver=self.settings.max_deliveries,
            filter_subject=subject,
        )
        psub = await self.js.pull_subscribe(
            subject, durable=durable, stream=self.stream, config=config
        )
        self._tasks.append(
            asyncio.create_task(self._pull_loop(psub, durable, handler), name=f"nats-{durable}")
        )

    async def _subscribe_ephemeral(self, subject: str, handler: EnvelopeHandler) -> None:
        async def on_message(msg: Msg) -> None:
            try:
                await handler(Envelope.from_bytes(msg.data))
            except Exception:  # at-most-once by design: log and move on
                log.exception("ephemeral subscriber to %s failed", subject)

        # An ordered consumer is flow-controlled and gap-free, starting at new messages.
        sub = await self.js.subscribe(
            subject,
            stream=self.stream,
            cb=on_message,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.NEW,
        )
        self._push_subs.append(sub)

    async def _pull_loop(
        self, psub: JetStreamContext.PullSubscription, durable: str, handler: EnvelopeHandler
    ) -> None:
        while True:
            try:
                msgs = await psub.fetch(self.fetch_batch, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a reconnect or a server hiccup must not stop the consumer
                log.warning("fetch for %s failed: %r", durable, exc)
                await asyncio.sleep(1.0)
                continue
            pending = list(msgs)
            keep_alive = asyncio.create_task(self._keep_alive(pending))
            try:
                while pending:
                    await self._handle(pending[0], durable, handler)
                    pending.pop(0)
            finally:
                keep_alive.cancel()
                # Cancelled mid-batch (shutdown): give the rest back now rather than
                # leaving them to time out after ack_wait.
                for msg in pending:
                    with contextlib.suppress(Exception):
                        await msg.nak()

    async def _keep_alive(self, pending: list[Msg]) -> None:
        # The ack wait runs from the fetch for the whole batch: tell the server we are
        # still at it, so a slow handler's batch is not redelivered to another worker.
        while True:
            await asyncio.sleep(self.ack_wait_s / 2)
            for msg in list(pending):
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    async def _handle(self, msg: Msg, durable: str, handler: EnvelopeHandler) -> None:
        delivery = msg.metadata.num_delivered or 1
        try:
            envelope = Envelope.from_bytes(msg.data, delivery=delivery)
        except Exception:
            log.exception("undecodable message on %s for %s: terminated", msg.subject, durable)
            await msg.term()
            return
        try:
            await handler(envelope)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # redelivered by JetStream until max_deliver
            if delivery >= self.settings.max_deliveries:
                log.error(
                    "event %s (%s) parked as dead for %s after %d deliveries: %r",
                    envelope.event_id,
                    envelope.subject,
                    durable,
                    delivery,
                    exc,
                )
                await msg.term()
            else:
                log.warning(
                    "handler %s failed on event %s (delivery %d), redelivering: %r",
                    durable,
                    envelope.event_id,
                    delivery,
                    exc,
                )
                await msg.nak(delay=self.nak_delay_s * delivery)
            return
        await msg.ack()
