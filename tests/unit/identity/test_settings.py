"""The platform's public URL is configurable and becomes the issuer of credentials."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from pingan.identity import service
from pingan.identity.settings import IdentitySettings, identity_settings


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    identity_settings.cache_clear()
    yield
    identity_settings.cache_clear()


def test_public_url_sets_the_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_IDENTITY__PUBLIC_URL", "https://id.wenzhou.example")
    assert service.issuer() == "https://id.wenzhou.example/identity"
    assert service.platform_url() == "https://id.wenzhou.example"


def test_default_issuer() -> None:
    assert service.issuer() == "https://pingan.example/identity"


@pytest.mark.parametrize("bad", ["pingan.example", "https://a.example/path", "ftp://a", ""])
def test_a_public_url_with_a_path_or_no_scheme_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        IdentitySettings(public_url=bad)
