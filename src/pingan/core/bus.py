"""The event bus: one interface, an in-process adapter and a NATS JetStream adapter.

Delivery is at-least-once: a handler that raises gets the envelope again (up to
``max_deliveries``), so every consumer must be idempotent by event id (see
:mod:`pingan.core.outbox`, which also guarantees that nothing committed is lost).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from pingan.core.events import Envelope

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

    async def subscribe(self, pattern: str, durable: str, handler: EnvelopeHandler) -> None:
        """Deliver every envelope matching ``pattern`` to ``handler``.

        Consumers sharing a ``durable`` name share the work (each envelope goes to one
        of them); distinct names each see every envelope. An envelope is acknowledged
        only after ``handler`` returns without raising.
        """
        ...
