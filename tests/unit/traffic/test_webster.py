"""Webster's cycle and splits, minimum pedestrian greens, time-of-day plans."""

from __future__ import annotations

import pytest

from pingan.core.errors import ValidationFailed
from pingan.traffic.webster import Phase, time_of_day_plans, webster_cycle, webster_plan


def test_webster_formula() -> None:
    assert webster_cycle(8.0, 0.6) == pytest.approx(42.5)
    assert webster_cycle(12.0, 0.0) == pytest.approx(23.0)
    assert webster_cycle(8.0, 1.0) == float("inf")


def test_splits_follow_the_flow_ratios() -> None:
    phases = [Phase("NS", 720.0), Phase("EW", 360.0)]  # y = 0.4, 0.2
    plan = webster_plan(phases)
    assert plan.cycle_s == pytest.approx(42.5)
    # Effective greens 23 and 11.5 s; displayed = effective + 4 lost − 5 change.
    assert plan.greens_s == pytest.approx([22.0, 10.5])
    assert sum(plan.greens_s) + sum(p.change_s for p in phases) == pytest.approx(plan.cycle_s)
    assert plan.red_fraction(0) == pytest.approx(1 - 22.0 / 42.5)
    assert plan.phase_start_s(1) == pytest.approx(27.0)


def test_pedestrian_minimum_green_is_held() -> None:
    phases = [Phase("NS", 720.0), Phase("EW", 360.0, crossing_m=20.0)]  # ped min 27 s
    plan = webster_plan(phases)
    assert plan.greens_s[1] == pytest.approx(27.0)
    assert plan.greens_s[0] >= phases[0].min_green_s
    assert sum(plan.greens_s) + 10.0 == pytest.approx(plan.cycle_s)


def test_cycle_grows_when_minima_do_not_fit() -> None:
    phases = [Phase("A", 100.0, crossing_m=30.0), Phase("B", 100.0, crossing_m=30.0)]
    plan = webster_plan(phases, cycle_range=(40.0, 60.0))
    assert plan.cycle_s == pytest.approx(2 * (37.0 + 5.0))
    assert plan.greens_s == pytest.approx([37.0, 37.0])


def test_given_cycle_and_clamping() -> None:
    phases = [Phase("NS", 720.0), Phase("EW", 360.0)]
    plan = webster_plan(phases, cycle_s=90.0)
    assert plan.cycle_s == 90.0
    assert plan.greens_s[0] / plan.greens_s[1] > 1.5
    assert webster_plan(phases, cycle_range=(60.0, 120.0)).cycle_s == 60.0
    with pytest.raises(ValidationFailed) as err:
        webster_plan(phases, cycle_s=15.0)
    assert err.value.field == "cycle_s"


def test_oversaturation_uses_the_maximum_cycle() -> None:
    plan = webster_plan([Phase("A", 1000.0), Phase("B", 900.0)], cycle_range=(40.0, 130.0))
    assert plan.oversaturated
    assert plan.cycle_s == 130.0


@pytest.mark.parametrize(
    ("phase", "field"),
    [
        (Phase("A", -1.0), "phases[0].flow_vph"),
        (Phase("A", 100.0, saturation_vph=0.0), "phases[0].saturation_vph"),
        (Phase("A", 100.0, yellow_s=-3.0), "phases[0].yellow_s"),
    ],
)
def test_bad_phase_names_the_field(phase: Phase, field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        webster_plan([phase])
    assert err.value.field == field
    with pytest.raises(ValidationFailed) as err:
        webster_plan([])
    assert err.value.field == "phases"


def test_time_of_day_plans_merge_similar_hours() -> None:
    phases = [Phase("NS", 0.0), Phase("EW", 0.0)]
    flows = {h: (200.0, 100.0) for h in range(24)}
    for h in (7, 8):
        flows[h] = (800.0, 500.0)
    for h in (17, 18):
        flows[h] = (750.0, 520.0)
    plans = time_of_day_plans(phases, flows)
    spans = [(p.start_hour, p.end_hour) for p in plans]
    assert spans == [(0, 7), (7, 9), (9, 17), (17, 19), (19, 24)]
    assert plans[1].plan.cycle_s > plans[0].plan.cycle_s + 10
    with pytest.raises(ValidationFailed) as err:
        time_of_day_plans(phases, {8: (1.0,)})
    assert err.value.field == "hourly_flows[8]"


def test_coordinated_plan_gives_the_slack_to_the_arterial() -> None:
    from pingan.traffic.webster import coordinated_plan

    phases = [Phase("arterial", 540.0), Phase("side", 180.0)]  # y = 0.3, 0.1
    plain = webster_plan(phases, cycle_s=90.0)
    coord = coordinated_plan(phases, cycle_s=90.0, coordinated=[0])
    # Side street: g_eff = 0.1 · 90 / 0.9 = 10 s → displayed 10 + 4 − 5 = 9 s (above its 5 s min).
    assert coord.greens_s[1] == pytest.approx(9.0)
    assert coord.greens_s[0] == pytest.approx(90.0 - 10.0 - 9.0)
    assert coord.greens_s[0] > plain.greens_s[0]
    assert sum(coord.greens_s) + 10.0 == pytest.approx(90.0)


def test_coordinated_plan_falls_back_to_webster_when_the_arterial_would_starve() -> None:
    from pingan.traffic.webster import coordinated_plan

    phases = [Phase("arterial", 300.0), Phase("side", 1200.0)]
    plain = webster_plan(phases, cycle_s=60.0)
    assert coordinated_plan(phases, cycle_s=60.0, coordinated=[0]).greens_s == plain.greens_s
    with pytest.raises(ValidationFailed) as err:
        coordinated_plan(phases, cycle_s=60.0, coordinated=[5])
    assert err.value.field == "coordinated"
