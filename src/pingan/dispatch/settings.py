"""Settings of the dispatch desk (env ``PINGAN_DISPATCH__...``).

Core's :class:`~pingan.core.settings.Settings` must not know the desks, so the desk
reads its own section with pydantic-settings under the same nested prefix the core
sections use (``PINGAN_DISPATCH__CUTOFF_S=600``). :func:`dispatch_settings` caches it;
tests call ``dispatch_settings.cache_clear()`` after changing the environment.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DispatchSettings(BaseSettings):
    """Limits and targets of the dispatch desk."""

    model_config = SettingsConfigDict(env_prefix="PINGAN_DISPATCH__", extra="ignore")

    cutoff_s: float = Field(
        900.0, gt=0, description="Units farther than this (ETA) are not proposed."
    )
    stale_after_s: float = Field(
        120.0, gt=0, description="A unit position older than this is shown as stale."
    )
    duplicate_radius_m: float = Field(300.0, gt=0, description="Duplicate calls: search radius.")
    duplicate_window_s: float = Field(
        1800.0, gt=0, description="Duplicate calls: how far back open incidents are compared."
    )
    duplicate_threshold: float = Field(
        0.6, gt=0, le=1, description="A call whose best duplicate score reaches this is marked."
    )
    target_urban_s: float = Field(300.0, gt=0, description="Response-time target, urban districts.")
    target_suburban_s: float = Field(
        600.0, gt=0, description="Response-time target, suburban districts."
    )
    suburban_districts: list[str] = Field(
        default_factory=list, description="District codes held to the suburban target."
    )


@lru_cache(maxsize=1)
def dispatch_settings() -> DispatchSettings:
    """The desk's settings, read from the environment once per process."""
    return DispatchSettings()
