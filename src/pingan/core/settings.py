"""Typed settings, one section per concern; environment prefix ``PINGAN_``.

Nested sections are set with a double underscore: ``PINGAN_DB__URL``,
``PINGAN_BUS__KIND=nats``. The most used ones also have short aliases
(``PINGAN_DATABASE_URL``, ``PINGAN_NATS_URL``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "pingan-development-secret-change-me"


def default_data_dir() -> Path:
    """The directory holding the embedded database, city graphs and model files."""
    env = os.environ.get("PINGAN_DATA_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "pingan"


class DatabaseSettings(BaseModel):
    """Where the system of record lives."""

    url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means SQLite file `pingan.db` in the data directory.",
    )
    echo: bool = Field(default=False, description="Log every SQL statement.")
    pool_size: int = Field(default=10, ge=1, description="Connections per process (PostgreSQL).")


class BusSettings(BaseModel):
    """The event bus between desks and processes."""

    kind: Literal["inprocess", "nats"] = Field(
        default="inprocess", description="`inprocess` for one process, `nats` for JetStream."
    )
    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server URL.")
    stream: str = Field(default="PINGAN", description="JetStream stream holding all events.")
    subject_prefix: str = Field(default="pingan", description="Subject prefix of every event.")
    relay_interval_s: float = Field(
        default=1.0, gt=0, description="How often the outbox relay sweeps for unsent events."
    )
    max_deliveries: int = Field(
        default=10, ge=1, description="Deliveries of one event before it is parked as dead."
    )


class AuthSettings(BaseModel):
    """Logins, tokens and API keys."""

    secret_key: str = Field(default=DEFAULT_SECRET, description="Signs access tokens.")
    token_ttl_s: int = Field(default=900, ge=60, description="Access token lifetime (seconds).")
    first_admin_username: str = Field(default="admin", description="Created on first start.")
    first_admin_password: str = Field(
        default="", description="Empty means a random one is generated and printed once."
    )


class CitySettings(BaseModel):
    """The city model the platform runs on."""

    demo_name: str = Field(default="helsinki", description="Name of the demo city.")
    default_speed_kmh: float = Field(default=30.0, gt=0, description="Speed when a road has none.")


class SimSettings(BaseModel):
    """The city simulator that drives the demo."""

    enabled: bool = Field(default=True, description="Run the simulator alongside the platform.")
    speedup: float = Field(default=60.0, gt=0, description="Simulated seconds per real second.")
    seed: int = Field(default=20251231, description="Random seed of the demo scenario.")
    duration_h: float = Field(default=24.0, gt=0, description="Simulated hours per run.")


class WebSettings(BaseModel):
    """The HTTP server and the command-centre page."""

    host: str = Field(default="127.0.0.1", description="Listen address.")
    port: int = Field(default=8000, ge=1, le=65535, description="Listen port.")
    default_language: Literal["zh-CN", "en"] = Field(default="zh-CN", description="Page language.")


class Settings(BaseSettings):
    """All of Pingan's settings, with embedded defaults for a laptop demo."""

    model_config = SettingsConfigDict(
        env_prefix="PINGAN_", env_nested_delimiter="__", extra="ignore"
    )

    mode: Literal["development", "production"] = Field(
        default="development", description="`production` refuses default secrets."
    )
    data_dir: Path = Field(default_factory=default_data_dir, description="Embedded data files.")
    database_url: str = Field(default="", description="Alias of db.url.")
    nats_url: str = Field(default="", description="Alias of bus.nats_url (and selects NATS).")
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    city: CitySettings = Field(default_factory=CitySettings)
    sim: SimSettings = Field(default_factory=SimSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @model_validator(mode="after")
    def _apply_aliases_and_refuse_defaults(self) -> Settings:
        if self.database_url and not self.db.url:
            self.db.url = self.database_url
        if self.nats_url:
            self.bus.nats_url = self.nats_url
            self.bus.kind = "nats"
        if self.mode != "development" and self.auth.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "auth.secret_key: the default secret is refused outside development mode; "
                "set PINGAN_AUTH__SECRET_KEY"
            )
        if self.mode != "development" and len(self.auth.secret_key) < 32:
            raise ValueError("auth.secret_key: must be at least 32 characters in production")
        return self

    @property
    def database_url_resolved(self) -> str:
        """The database URL in force (the SQLite file when none is set)."""
        if self.db.url:
            return self.db.url
        return f"sqlite:///{self.data_dir / 'pingan.db'}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
