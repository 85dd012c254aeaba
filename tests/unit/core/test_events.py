from datetime import UTC, datetime

import pytest

from pingan.core.bus import subject_matches
from pingan.core.events import Envelope, Event


class ThingHappened(Event):
    subject = "test.thing.happened"
    name: str
    count: int


def test_envelope_round_trip_restores_the_typed_event() -> None:
    ev = ThingHappened(name="张三", count=3, occurred_at=datetime(2025, 1, 1, tzinfo=UTC))
    env = ev.envelope()
    back = Envelope.from_bytes(env.to_bytes(), delivery=2)
    assert back.delivery == 2
    restored = back.event()
    assert isinstance(restored, ThingHappened)
    assert restored == ev


def test_a_subject_cannot_be_claimed_twice() -> None:
    with pytest.raises(TypeError, match="already used"):

        class Other(Event):
            subject = "test.thing.happened"


def test_an_event_without_subject_has_no_envelope() -> None:
    class Abstract(Event):
        pass

    with pytest.raises(TypeError, match="no subject"):
        Abstract().envelope()


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        (">", "city.imported", True),
        ("city.>", "city.imported", True),
        ("city.>", "city", False),
        ("city.*", "city.imported", True),
        ("city.*", "city.a.b", False),
        ("*.imported", "city.imported", True),
        ("dispatch.>", "city.imported", False),
        ("a.b", "a.b", True),
        ("a.b", "a.b.c", False),
    ],
)
def test_subject_matching(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected
