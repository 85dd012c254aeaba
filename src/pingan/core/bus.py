"""The event bus: one interface, an in-process adapter and a NATS JetStream adapter.

Delivery is at-least-once: a handler that raises gets the envelope again (up to
``max_deliveries``), so every consumer must be idempotent by event id (see
:mod:`pingan.core.outbox`, which also guarantees that nothing committed is lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pingan.core.events import Envelope

if TYPE_CHECKING:
    from pingan.core.settings import BusSettings

log = logging.getLogger(__name__)

EnvelopeHandler = Callable[[Envelope], Awaitable[None]]


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS-style matching: ``*`` is one token, a final ``>`` is one or more tokens."""
    p_tokens = pattern.split(".")
    s_tokens = subject.split(".")
    for i, token in enumerate(p_tokens):
        if token == ">":
            return len(s_tokens) > i
        if i >= len(s_tokens):
            return False
        if token != "*" and token != s_tokens[i]:
            return False
    return len(p_tokens) == len(s_tokens)


class EventBus(Protocol):
    """Publish envelopes; subscribe durable consumers that see each envelope at least once."""

    async def start(self) -> None:
        """Connect (no-op for the in-process bus)."""
        ...

    async def close(self) -> None:
        """Stop consumers and disconnect."""
        ...

    async def publish(self, envelope: Envelope) -> None:
        """Hand ``envelope`` to the bus; returns once the bus has durably accepted it."""
        ...

    async def subscribe(self, pattern: str, durable: str | None, handler: EnvelopeHandler) -> None:
        """Deliver every envelope matching ``pattern`` to ``handler``.

        Consumers sharing a ``durable`` name share the work (each envelope goes to one
        of them); distinct names each see every envelope. An envelope is acknowledged
        only after ``handler`` returns without raising. ``durable=None`` is an
        ephemeral, at-most-once subscriber that sees only envelopes published after it
        subscribed (the page's live feed).
        """
        ...


@dataclass(frozen=True)
class DeadLetter:
    """An envelope whose handler kept failing until ``max_deliveries`` was reached."""

    durable: str
    envelope: Envelope
    error: str


@dataclass
class _Group:
    """The consumers sharing one durable name: one queue, one worker task per handler."""

    durable: str
    pattern: str
    queue: asyncio.Queue[Envelope] = field(default_factory=asyncio.Queue)
    workers: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass
class _Ephemeral:
    """A subscriber without a durable name: its own queue, no redelivery."""

    pattern: str
    queue: asyncio.Queue[Envelope] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None


class InProcessBus:
    """The bus inside one process: asyncio queues, one per durable name.

    A durable group sees the envelopes published after its first subscriber joined
    (the outbox, not the bus, is what survives a restart). A handler that raises gets
    the envelope again with ``delivery`` incremented, after ``redelivery_delay_s``;
    after ``max_deliveries`` failures it is parked in :attr:`dead_letters` and logged.
    """

    def __init__(self, *, max_deliveries: int = 10, redelivery_delay_s: float = 0.05) -> None:
        if max_deliveries < 1:
            raise ValueError("max_deliveries: must be at least 1")
        self.max_deliveries = max_deliveries
        self.redelivery_delay_s = redelivery_delay_s
        self.dead_letters: list[DeadLetter] = []
        self._groups: dict[str, _Group] = {}
        self._ephemeral: list[_Ephemeral] = []
        self._timers: set[asyncio.TimerHandle] = set()
        # Envelopes queued, being handled or waiting for redelivery; drain() waits for 0.
        self._inflight = 0
        self._idle: asyncio.Event | None = None
        self._closed = False

    async def start(self) -> None:
        """Nothing to connect to."""
        self._closed = False

    async def close(self) -> None:
        """Cancel every consumer and pending redelivery."""
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        tasks: list[asyncio.Task[None]] = []
        for group in self._groups.values():
            tasks.extend(group.workers)
        tasks.extend(e.worker for e in self._ephemeral if e.worker is not None)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._groups.clear()
        self._ephemeral.clear()
        self._inflight = 0
        self._idle_event().set()

    async def publish(self, envelope: Envelope) -> None:
        """Queue ``envelope`` for every matching durable group and ephemeral subscriber."""
        if self._closed:
            raise RuntimeError("the bus is closed")
        fresh = envelope.model_copy(update={"delivery": 1})
        for group in self._groups.values():
            if subject_matches(group.pattern, envelope.subject):
                self._enqueue(group.queue, fresh)
        for eph in self._ephemeral:
            if subject_matches(eph.pattern, envelope.subject):
                self._enqueue(eph.queue, fresh)

    async def subscribe(self, pattern: str, durable: str | None, handler: EnvelopeHandler) -> None:
        """Start a consumer; subscribers sharing ``durable`` take turns at one queue."""
        if self._closed:
            raise RuntimeError("the bus is closed")
        if durable is None:
            eph = _Ephemeral(pattern=pattern)
            eph.worker = asyncio.create_task(
                self._run_ephemeral(eph, handler), name=f"bus-ephemeral-{pattern}"
            )
            self._ephemeral.append(eph)
            return
        group = self._groups.get(durable)
        if group is None:
            group = _Group(durable=durable, pattern=pattern)
            self._groups[durable] = group
        elif group.pattern != pattern:
            # As in JetStream, a durable consumer has one filter; two would split it silently.
            raise ValueError(
                f"durable {durable!r} already subscribed to {group.pattern!r}, not {pattern!r}"
            )
        group.workers.append(
            asyncio.create_task(
                self._run_durable(group, handler),
                name=f"bus-{durable}-{len(group.workers)}",
            )
        )

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every published envelope is handled, redelivered or parked as dead."""
        await asyncio.wait_for(self._idle_event().wait(), timeout)

    def _idle_event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
            if self._inflight == 0:
                self._idle.set()
        return self._idle

    def _enqueue(self, queue: asyncio.Queue[Envelope], envelope: Envelope) -> None:
        self._inflight += 1
        self._idle_event().clear()
        queue.put_nowait(envelope)

    def _done(self) -> None:
        self._inflight -= 1
        if self._inflight <= 0:
            self._inflight = 0
            self._idle_event().set()

    async def _run_durable(self, group: _Group, handler: EnvelopeHandler) -> None:
        while True:
            envelope = await group.queue.get()
            try:
                await handler(envelope)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the bus must survive any handler; it redelivers
                self._failed(group, envelope, exc)
            else:
                self._done()

    def _failed(self, group: _Group, envelope: Envelope, exc: Exception) -> None:
        if envelope.delivery >= self.max_deliveries:
            log.error(
                "event %s (%s) parked as dead for %s after %d deliveries: %r",
                envelope.event_id,
                envelope.subject,
                group.durable,
                envelope.delivery,
                exc,
            )
            self.dead_letters.append(DeadLetter(group.durable, envelope, repr(exc)))
            self._done()
            return
        log.warning(
            "handler %s failed on event %s (delivery %d), redelivering: %r",
            group.durable,
            envelope.event_id,
            envelope.delivery,
            exc,
        )
        again = envelope.model_copy(update={"delivery": envelope.delivery + 1})
        # Still in flight: the redelivery is counted by the original _enqueue.
        if self.redelivery_delay_s <= 0:
            group.queue.put_nowait(again)
            return
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def redeliver() -> None:
            if timer is not None:
                self._timers.discard(timer)
            group.queue.put_nowait(again)

        timer = loop.call_later(self.redelivery_delay_s, redeliver)
        self._timers.add(timer)

    async def _run_ephemeral(self, eph: _Ephemeral, handler: EnvelopeHandler) -> None:
        while True:
            envelope = await eph.queue.get()
            try:
                await handler(envelope)
            except asyncio.CancelledError:
                raise
            except Exception:  # at-most-once by design: log and move on
                log.exception("ephemeral subscriber to %s failed", eph.pattern)
            finally:
                self._done()


def make_bus(settings: BusSettings) -> EventBus:
    """The bus the settings ask for; the NATS client is imported only when needed."""
    if settings.kind == "nats":
        from pingan.core.nats_bus import NatsJetStreamBus

        return NatsJetStreamBus(settings)
    return InProcessBus(max_deliveries=settings.max_deliveries)
