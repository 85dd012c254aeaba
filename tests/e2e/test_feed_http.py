"""The live feed over real HTTP: Server-Sent Events as a browser's EventSource sees them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

from pingan.core.events import Envelope
from tests.e2e.conftest import LiveServer


def test_feed_stream_over_http(live_server: LiveServer) -> None:
    """SSE as a plain client sees it: token in the query, backlog first, ids resume."""
    base = live_server.base_url
    platform = live_server.platform
    login = httpx.post(
        f"{base}/api/auth/login",
        json={"username": platform.username, "password": platform.password},
    )
    token = login.json()["access_token"]
    assert httpx.get(f"{base}/api/feed/stream").status_code == 401
    assert (
        httpx.get(f"{base}/api/feed/stream", params={"access_token": "not-a-token"}).status_code
        == 401
    )

    first, second = uuid.uuid4(), uuid.uuid4()
    for event_id in (first, second):
        live_server.run(
            live_server.app.state.ctx.bus.publish(
                Envelope(
                    event_id=event_id,
                    subject="test.e2e.stream",
                    occurred_at=datetime.now(UTC),
                    payload={"id": str(event_id)},
                )
            )
        )
    recent = httpx.get(f"{base}/api/feed/recent", headers={"Authorization": f"Bearer {token}"})
    assert [e["event_id"] for e in recent.json()][-2:] == [str(first), str(second)]

    with httpx.stream(
        "GET",
        f"{base}/api/feed/stream",
        params={"access_token": token},
        headers={"Last-Event-ID": str(first)},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        ids = []
        for line in response.iter_lines():
            if line.startswith("id: "):
                ids.append(line[4:])
                break
    assert ids == [str(second)]  # resumed after the last event the client saw
