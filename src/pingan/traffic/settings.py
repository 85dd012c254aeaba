"""Settings of the traffic desk (env ``PINGAN_TRAFFIC__...``).

Like the dispatch desk, the desk reads its own section with pydantic-settings under the
same nested prefix the core sections use (``PINGAN_TRAFFIC__EVAL_PARALLEL=2``);
:func:`traffic_settings` caches it and tests call ``traffic_settings.cache_clear()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SHARED_SCENARIOS = Path("/work/shared/data/traffic")
"""The shared RESCO and China scenarios on the development machines."""


class TrafficSettings(BaseSettings):
    """Limits of the traffic desk: evaluation scenarios, parallelism, design volumes."""

    model_config = SettingsConfigDict(env_prefix="PINGAN_TRAFFIC__", extra="ignore")

    scenario_dirs: list[Path] = Field(
        default_factory=lambda: [SHARED_SCENARIOS],
        description="Evaluations may only read .sumocfg files under these folders "
        "(plus <data_dir>/traffic/scenarios).",
    )
    eval_parallel: int = Field(
        2, ge=1, le=16, description="Evaluations running at once (one process each)."
    )
    eval_max_seeds: int = Field(10, ge=1, le=100, description="Most seeds per evaluation.")
    corridor_length_m: float = Field(
        1500.0, gt=100, description="Proposed corridors: length of the approach (metres)."
    )
    design_through_vph: float = Field(
        900.0,
        gt=0,
        description="Assumed morning-peak through volume (veh/h, busiest approach lane "
        "group) on the busiest link of a corridor; the demand model gives relative flows.",
    )
    design_cross_share: float = Field(
        0.5, gt=0, le=2, description="Assumed cross-street volume as a share of the through one."
    )


@lru_cache
def traffic_settings() -> TrafficSettings:
    """The traffic desk's settings (cached)."""
    return TrafficSettings()
