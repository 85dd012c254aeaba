"""Event types and the envelope they travel in.

Events are frozen, past-tense facts (``UserCreated``, ``CityImported``). Each class
declares its ``subject`` (``<desk>.<entity>.<verb>``); subclasses register themselves
so an envelope can be turned back into its typed event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from pingan.core import clock

_registry: dict[str, type[Event]] = {}


class Event(BaseModel):
    """A fact that happened, published to other desks through the outbox."""

    model_config = ConfigDict(frozen=True)

    subject: ClassVar[str] = ""

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime = Field(default_factory=clock.now)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.subject:
            existing = _registry.get(cls.subject)
            if existing is not None and existing.__qualname__ != cls.__qualname__:
                raise TypeError(f"subject {cls.subject!r} already used by {existing.__name__}")
            _registry[cls.subject] = cls

    def envelope(self) -> Envelope:
        """This event as an envelope for the bus."""
        if not self.subject:
            raise TypeError(f"{type(self).__name__} declares no subject")
        body = self.model_dump(mode="json", exclude={"event_id", "occurred_at"})
        return Envelope(
            event_id=self.event_id,
            subject=self.subject,
            occurred_at=self.occurred_at,
            payload=body,
        )


class Envelope(BaseModel):
    """What travels on the bus: the event's id, subject, time and JSON payload."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    subject: str
    occurred_at: datetime
    payload: dict[str, Any]
    delivery: int = 1

    def to_bytes(self) -> bytes:
        """JSON bytes for the wire."""
        return self.model_dump_json(exclude={"delivery"}).encode()

    @classmethod
    def from_bytes(cls, data: bytes, *, delivery: int = 1) -> Envelope:
        """Parse wire bytes."""
        return cls.model_validate_json(data).model_copy(update={"delivery": delivery})

    def event(self) -> Event:
        """The typed event inside (raises KeyError for an unknown subject)."""
        event_type = _registry[self.subject]
        return event_type.model_validate(
            {**self.payload, "event_id": self.event_id, "occurred_at": self.occurred_at}
        )


def event_types() -> dict[str, type[Event]]:
    """Every registered event type by subject."""
    return dict(_registry)
