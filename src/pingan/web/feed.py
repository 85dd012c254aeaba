"""The command centre's live event feed (实时动态): a ring buffer fanned out over SSE.

:class:`LiveFeed` is subscribed to the bus for every event. It keeps the last few
hundred envelopes so a page that opens (or reconnects with ``Last-Event-ID``) sees
recent history first, and hands each new envelope to every connected client through
its own bounded queue: a slow client loses its oldest undelivered events, publishing
never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from pingan.core.auth.deps import get_principal, require
from pingan.core.auth.models import User
from pingan.core.auth.permissions import Principal
from pingan.core.auth.roles import STAFF_ROLES
from pingan.core.auth.tokens import decode_access_token
from pingan.core.errors import NotAuthenticated, PermissionDenied
from pingan.core.events import Envelope

FEED_PERMISSION = "feed.read"
FEED_ROLES = STAFF_ROLES
"""Everyone who works for the bureau may watch the feed; partners may not."""

DEFAULT_BACKLOG = 200
DEFAULT_CLIENT_QUEUE = 256
DEFAULT_HEARTBEAT_S = 15.0
RETRY_MS = 3000
"""How long a browser waits before reconnecting after the stream drops."""


class FeedItem(BaseModel):
    """One event as the feed shows it."""

    event_id: str = Field(description="The event's id (also the SSE event id).")
    subject: str = Field(description="What happened, e.g. `city.imported`.")
    occurred_at: datetime = Field(description="When it happened (platform clock).")
    payload: dict[str, Any] = Field(description="The event's own fields.")


def feed_item(envelope: Envelope) -> FeedItem:
    """The feed's view of ``envelope``."""
    return FeedItem(
        event_id=str(envelope.event_id),
        subject=envelope.subject,
        occurred_at=envelope.occurred_at,
        payload=envelope.payload,
    )


def sse_event(envelope: Envelope) -> str:
    """``envelope`` as one Server-Sent Events frame whose id is the event id."""
    data = feed_item(envelope).model_dump_json()
    # JSON has no raw newlines, but keep the frame valid whatever the payload holds.
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"id: {envelope.event_id}\nevent: envelope\n{lines}\n"


def sse_comment(text: str) -> str:
    """An SSE comment (ignored by EventSource; keeps proxies from closing the stream)."""
    return f": {text}\n\n"


@dataclass(eq=False)
class FeedSubscriber:
    """One connected client: its bounded queue and how many events it has lost."""

    queue: asyncio.Queue[Envelope]
    dropped: int = 0

    def offer(self, envelope: Envelope) -> None:
        """Queue ``envelope``; when full, drop the oldest queued event instead of waiting."""
        while True:
            try:
                self.queue.put_nowait(envelope)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self.queue.get_nowait()
                    self.dropped += 1


@dataclass
class LiveFeed:
    """Recent envelopes plus fan-out to every connected SSE client."""

    backlog_size: int = DEFAULT_BACKLOG
    client_queue_size: int = DEFAULT_CLIENT_QUEUE
    heartbeat_s: float = DEFAULT_HEARTBEAT_S
    _backlog: deque[Envelope] = field(init=False, repr=False)
    _ids: set[str] = field(init=False, repr=False, default_factory=set)
    _subscribers: set[FeedSubscriber] = field(init=False, repr=False, default_factory=set)

    def __post_init__(self) -> None:
        self._backlog = deque(maxlen=self.backlog_size)

    async def publish(self, envelope: Envelope) -> None:
        """Remember ``envelope`` and hand it to every client without waiting for any."""
        event_id = str(envelope.event_id)
        if event_id in self._ids:
            return  # the bus delivers at least once; the feed shows each event once
        if len(self._backlog) == self._backlog.maxlen:
            self._ids.discard(str(self._backlog[0].event_id))
        self._backlog.append(envelope)
        self._ids.add(event_id)
        for subscriber in list(self._subscribers):
            subscriber.offer(envelope)

    @property
    def subscriber_count(self) -> int:
        """How many clients are connected."""
        return len(self._subscribers)

    def recent(self, limit: int | None = None) -> list[Envelope]:
        """The most recent envelopes, oldest first (at most ``limit``)."""
        items = list(self._backlog)
        return items[-limit:] if limit is not None and limit < len(items) else items

    def since(self, last_event_id: str | None) -> list[Envelope]:
        """Envelopes after ``last_event_id``; the whole backlog when that id is unknown."""
        items = list(self._backlog)
        if not last_event_id:
            return items
        for index, envelope in enumerate(items):
            if str(envelope.event_id) == last_event_id:
                return items[index + 1 :]
        return items

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[FeedSubscriber]:
        """A queue receiving every envelope published while the context is open."""
        subscriber = FeedSubscriber(asyncio.Queue(maxsize=self.client_queue_size))
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    async def stream(
        self,
        *,
        last_event_id: str | None = None,
        is_disconnected: Any = None,
        heartbeat_s: float | None = None,
    ) -> AsyncIterator[str]:
        """SSE frames: the backlog after ``last_event_id``, then live events and heartbeats.

        ``is_disconnected`` is an async callable (``Request.is_disconnected``) checked
        at every heartbeat so an abandoned stream ends.
        """
        interval = self.heartbeat_s if heartbeat_s is None else heartbeat_s
        with self.subscribe() as subscriber:
            # Registering and taking the backlog happen with no await in between, so no
            # event falls between the two; the queue only holds events newer than it.
            backlog = self.since(last_event_id)
            yield f"retry: {RETRY_MS}\n\n"
            for envelope in backlog:
                yield sse_event(envelope)
            while True:
                try:
                    envelope = await asyncio.wait_for(subscriber.queue.get(), timeout=interval)
                except TimeoutError:
                    if is_disconnected is not None and await is_disconnected():
                        return
                    yield sse_comment("heartbeat")
                    continue
                yield sse_event(envelope)


_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/auth/login.")


def feed_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    access_token: Annotated[
        str | None,
        Query(
            description="The access token, for clients that cannot send headers "
            "(EventSource). The Authorization header wins when both are sent."
        ),
    ] = None,
) -> Principal:
    """The caller allowed to read the feed, from the Authorization header or ``?access_token=``.

    Checked once when the stream opens, like :func:`pingan.core.auth.deps.get_principal`
    (a deactivated user is refused); the session is closed before streaming starts.
    """
    ctx = request.app.state.ctx
    with ctx.db.session() as db:
        if credentials is not None or not access_token:
            principal = get_principal(request, db)
        else:
            principal = decode_access_token(access_token, ctx.settings)
            user = db.get(User, principal.user_id) if principal.user_id is not None else None
            if user is None or not user.active or user.username != principal.username:
                raise NotAuthenticated()
    if not principal.can(FEED_PERMISSION):
        raise PermissionDenied()
    return principal


FeedReader = Annotated[Principal, Depends(feed_reader)]

_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or expired token"},
    403: {"description": "The caller's role may not read the feed"},
}


def feed_router(feed: LiveFeed) -> APIRouter:
    """Routes of the live feed (mounted under ``/api``)."""
    router = APIRouter(prefix="/feed", tags=["feed"])

    @router.get(
        "/recent",
        response_model=list[FeedItem],
        summary="Recent events",
        responses=_AUTH_RESPONSES,
    )
    def recent(
        _reader: Annotated[Principal, require(FEED_PERMISSION)],
        limit: Annotated[
            int, Query(ge=1, le=DEFAULT_BACKLOG, description="At most this many.")
        ] = 50,
    ) -> list[FeedItem]:
        """The most recent events on the bus, oldest first."""
        return [feed_item(e) for e in feed.recent(limit)]

    @router.get(
        "/stream",
        summary="Live events (Server-Sent Events)",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "An endless `text/event-stream`: the backlog, then each event "
                "as it happens (`event: envelope`, `id:` = event id, `data:` = a FeedItem), "
                "with a heartbeat comment every 15 s.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **_AUTH_RESPONSES,
        },
    )
    async def stream(
        request: Request,
        _reader: FeedReader,
    ) -> StreamingResponse:
        """Stream events as they happen; reconnect with ``Last-Event-ID`` to resume."""
        last_event_id = request.headers.get("last-event-id") or None
        return StreamingResponse(
            feed.stream(last_event_id=last_event_id, is_disconnected=request.is_disconnected),
            media_type="text/event-stream",
            headers={
                "Cache-Control": "no-cache, no-transform",
                "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
                "Connection": "keep-alive",
            },
        )

    return router
