"""A fuzz pass over the whole OpenAPI surface with schemathesis: no request gets a 5xx.

Runs in-process against the ASGI app (demo city imported, an administrator signed
in), a bounded number of examples per operation so the pass stays short.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from tests.e2e.conftest import Platform, prepare_platform  # noqa: E402

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 15
SKIPPED_PATHS = {"/api/feed/stream"}
"""An endless event stream: an in-process client would wait for it to end forever.
It is exercised over real HTTP in test_feed_http.py and in the browser test."""


@pytest.fixture(scope="module")
def fuzz_platform(tmp_path_factory: pytest.TempPathFactory) -> Platform:
    return prepare_platform(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def fuzz_app(fuzz_platform: Platform) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from pingan.web.app import create_app

    app = create_app(fuzz_platform.settings, background=False)
    with TestClient(app):  # runs the lifespan: the bus is started, as in production
        yield app


@pytest.fixture(scope="module")
def admin_headers(fuzz_app: Any, fuzz_platform: Platform) -> dict[str, str]:
    from fastapi.testclient import TestClient

    client = TestClient(fuzz_app)
    response = client.post(
        "/api/auth/login",
        json={"username": fuzz_platform.username, "password": fuzz_platform.password},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app).exclude(
        path=sorted(SKIPPED_PATHS)
    )


def test_no_server_errors(api_schema: Any, admin_headers: dict[str, str]) -> None:
    """Every operation, a bounded number of generated requests each, as an administrator."""
    failures: list[str] = []
    operations = 0
    answered: set[str] = set()  # operations that got past authentication at least once
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            try:
                response = case.call_and_validate(
                    headers=admin_headers, checks=[not_a_server_error]
                )
                if response.status_code not in (401, 403):
                    answered.add(f"{case.method} {case.path}")
            except Exception as exc:  # collected so one failing operation hides no other
                failures.append(f"{case.method} {case.formatted_path}: {exc}")

        fuzz()
    assert operations >= 20, operations
    # The token works: the operations were reached past authentication (the few admin-only
    # or partner-only ones aside).
    assert len(answered) >= operations * 3 // 4, sorted(answered)
    assert not failures, "\n\n".join(failures[:20])


def test_the_schema_lists_the_page_api(fuzz_app: Any) -> None:
    paths = fuzz_app.openapi()["paths"]
    for path in ("/api/feed/recent", "/api/feed/stream", "/api/desks", "/api/i18n/{lang}"):
        assert path in paths


def test_unknown_language_is_refused_naming_the_field(fuzz_app: Any) -> None:
    from fastapi.testclient import TestClient

    response = TestClient(fuzz_app).get("/api/i18n/fr")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "lang"


def test_docs_are_served_without_a_cdn(fuzz_app: Any) -> None:
    from fastapi.testclient import TestClient

    from pingan.web.page import swagger_ui_dir

    client = TestClient(fuzz_app)
    assert client.get("/openapi.json").status_code == 200
    if swagger_ui_dir() is None:
        pytest.skip("swagger-ui-bundle is not installed: /docs is off, /openapi.json stays")
    docs = client.get("/docs").text
    assert "cdn." not in docs
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
