"""Settings of the digital ID desk (env ``PINGAN_IDENTITY__...``).

The public URL is what wallets and outside verifiers see: it is the ``iss`` of every
credential, the base of the status list URIs in them and of the relying parties' request
links, and the issuer in ``/.well-known/jwt-vc-issuer``. Set it to the address the platform
is reached at before issuing real credentials: a credential keeps the URL it was issued with.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IdentitySettings(BaseSettings):
    """Where the platform is reached from outside."""

    model_config = SettingsConfigDict(env_prefix="PINGAN_IDENTITY__", extra="ignore")

    public_url: str = Field(
        "https://pingan.example",
        pattern=r"^https?://[^/\s?#]+$",
        description="The platform's public base URL (scheme and host, no path).",
    )


@lru_cache(maxsize=1)
def identity_settings() -> IdentitySettings:
    """The desk's settings, read from the environment once per process."""
    return IdentitySettings()
