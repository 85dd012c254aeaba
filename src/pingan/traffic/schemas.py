"""Request bodies of the traffic desk's API (answers are the service's JSON documents)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Period = Literal["am_peak", "off_peak", "pm_peak"]
CycleSeconds = Annotated[float, Field(gt=0, le=600)]
"""A cycle bound in seconds (bounded so nonsense is a 422, not a solver failure)."""
Speed = Annotated[float, Field(gt=0, le=70)]
"""A design speed in m/s."""
ExportFormat = Literal["sumo", "json"]


def _all_periods() -> list[Period]:
    return ["am_peak", "off_peak", "pm_peak"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProposeRequest(_Body):
    """Where the trips go: a destination POI, or a point of the city."""

    city_id: int = Field(ge=1)
    destination_id: int | None = Field(None, ge=1, description="A POI id (e.g. a hospital).")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    count: int = Field(3, ge=1, le=10, description="How many corridors to propose.")
    length_m: float | None = Field(None, gt=100, le=20000, description="Approach length.")


class CorridorCreate(_Body):
    """A corridor to store: a proposal's nodes (driving order, ending at the destination)."""

    city_id: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=200)
    nodes: list[Annotated[int, Field(ge=0, le=2**31 - 1)]] = Field(min_length=2, max_length=5000)
    destination_id: int | None = Field(None, ge=1)


class PeriodVolumes(_Body):
    """Design volumes on the corridor's busiest link for one period (veh/h)."""

    through_vph: float = Field(gt=0, le=6000)
    cross_vph: float = Field(gt=0, le=6000)


class PlanRequest(_Body):
    """A green-wave plan request: cycle and speed ranges, periods, optional volumes."""

    cycle_range: tuple[CycleSeconds, CycleSeconds] = (50.0, 120.0)
    speed_range: tuple[Speed, Speed] | None = Field(
        None, description="m/s; default 70-100 % of the corridor's speed limit."
    )
    periods: list[Period] = Field(default_factory=_all_periods, min_length=1, max_length=3)
    volumes: dict[Period, PeriodVolumes] = Field(default_factory=dict)


class EvaluationCreate(_Body):
    """An evaluation: a scenario (``arterial`` or a .sumocfg under an allowed folder), or a
    plan stored by the desk (``plan_id``), evaluated on the city's SUMO network at its
    period's demand. Exactly one of the two."""

    scenario: str | None = Field(None, min_length=1, max_length=500)
    plan_id: int | None = Field(None, ge=1)
    seeds: int = Field(1, ge=1, le=100)
    controllers: list[str] = Field(default_factory=lambda: ["default", "pingan"], min_length=1)
    duration_s: float | None = Field(
        None, ge=120, le=86400, description="Shorten the scenario to this many seconds."
    )
    signals: int = Field(5, ge=2, le=20, description="Signals of the generated arterial.")
    calibrate: bool = Field(
        True,
        description="Simulate each of Pingan's candidate cycles once (seed 1000) and keep the "
        "fastest before the comparison; false: the estimated-delay choice, a quicker run. "
        "A stored plan's timing is given, so it is never recalibrated.",
    )
