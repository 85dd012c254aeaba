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
    # AVL over MQTT (pingan.dispatch.avl). Off unless a broker URL is given.
    mqtt_url: str | None = Field(
        None,
        description="MQTT broker for AVL position reports (mqtt://host:1883); None: AVL off.",
    )
    mqtt_topic_prefix: str = Field(
        "pingan/avl",
        min_length=1,
        description="AVL topics are <prefix>/<city>/<callsign>.",
    )
    avl_flush_s: float = Field(
        1.0, gt=0, le=60, description="AVL: reports are coalesced and written this often."
    )
    avl_max_skew_s: float = Field(
        30.0, ge=0, description="AVL: a report timestamped further in the future is dropped."
    )
    avl_retry_s: float = Field(
        10.0, gt=0, description="AVL: seconds between attempts while the broker is down."
    )
    avl_share_group: str = Field(
        "pingan-avl",
        pattern=r"^[^/+#$]*$",
        description="AVL: MQTT shared-subscription group that the server and every worker "
        "process join, so the broker hands each report to one of them (empty: every process "
        "subscribes on its own and applies every report).",
    )
    drone_min_battery_pct: float = Field(
        25.0, ge=0, le=100, description="A drone below this battery charge is not proposed."
    )
    # Move-up (standby posts, pingan.dispatch.standby).
    standby_history_days: float = Field(
        28.0, gt=0, description="Standby posts are planned from this many days of incidents."
    )
    standby_min_incidents: int = Field(
        50, ge=1, description="Fewer recorded incidents than this: plan posts from POIs."
    )
    standby_replan_s: float = Field(
        3600.0, gt=0, description="How often the periodic job re-plans every city's posts."
    )
    move_up_cost_s: float = Field(
        120.0, ge=0, description="Move-up: a move counts this many seconds more than its drive."
    )
    move_up_max_drive_s: float = Field(
        900.0, gt=0, description="Move-up: no proposal drives a unit longer than this."
    )
    move_up_max_per_hour: int = Field(
        3, ge=0, description="Move-up: at most this many standby moves per unit per hour."
    )
    move_up_min_gain_s: float = Field(
        0.5,
        ge=0,
        description="Move-up: moves with a smaller expected gain (seconds) are not proposed.",
    )
    move_up_busy_fraction: float = Field(
        0.3, ge=0, lt=1, description="Move-up: assumed probability that a unit is busy."
    )


@lru_cache(maxsize=1)
def dispatch_settings() -> DispatchSettings:
    """The desk's settings, read from the environment once per process."""
    return DispatchSettings()
