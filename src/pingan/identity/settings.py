"""Settings of the digital ID desk (env ``PINGAN_IDENTITY__...``).

The public URL is what wallets and outside verifiers see: it is the ``iss`` of every
credential, the base of the status list URIs in them and of the relying parties' request
links, and the issuer in ``/.well-known/jwt-vc-issuer``. Set it to the address the platform
is reached at before issuing real credentials: a credential keeps the URL it was issued with.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class IdentitySettings(BaseSettings):
    """Where the platform is reached from outside; issuer key encryption; the kiosk policy."""

    model_config = SettingsConfigDict(env_prefix="PINGAN_IDENTITY__", extra="ignore")

    public_url: str = Field(
        "https://pingan.example",
        pattern=r"^https?://[^/\s?#]+$",
        description="The platform's public base URL (scheme and host, no path).",
    )
    key_passphrase: SecretStr | None = Field(
        None,
        description=(
            "Passphrase encrypting the issuer key files at rest (JWE, PBES2-HS512+A256KW); unset:"
            " plain 0600 JWK files and a warning."
        ),
    )
    kiosk_min_face_score: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="Lowest face-match score (kiosk camera vs ID card chip photo) accepted.",
    )
    kiosk_liveness_required: bool = Field(
        True, description="A self-service kiosk must report a passed liveness check."
    )
    offer_minutes: int = Field(
        10, ge=1, le=60, description="Life of a credential offer's pre-authorized code."
    )


@lru_cache(maxsize=1)
def identity_settings() -> IdentitySettings:
    """The desk's settings, read from the environment once per process."""
    return IdentitySettings()
