"""Non-police linkage and follow-ups, the pure half: department choice, deadlines, the sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pingan.core import clock
from pingan.core.errors import ValidationFailed
from pingan.dispatch.linkage import (
    CALL_TYPE_DEPARTMENTS,
    DEMO_DEPARTMENTS,
    FALLBACK_DEPARTMENT,
    VISIT_GRACE_S,
    DepartmentChoice,
    TransferClock,
    VisitClock,
    check_visit_times,
    deadlines,
    overdue_transfers,
    overdue_visits,
    serves,
    suggest_department,
    transfer_refusal,
)
from pingan.dispatch.triage import default_rules, triage

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def demo_choices() -> list[DepartmentChoice]:
    return [
        DepartmentChoice(code=d.code, call_types=frozenset(d.call_types), fallback=d.fallback)
        for d in DEMO_DEPARTMENTS
    ]


# ---------------------------------------------------------------------------- departments


def test_every_non_police_call_type_has_a_demo_department_and_police_ones_none() -> None:
    rules = default_rules()
    non_police = {ct.id for ct in rules.call_types if not ct.police}
    police = {ct.id for ct in rules.call_types if ct.police}
    assert set(CALL_TYPE_DEPARTMENTS) <= non_police
    assert {"noise", "water_outage", "power_outage", "animal", "neighbour_dispute"} <= set(
        CALL_TYPE_DEPARTMENTS
    )
    assert not police & set(CALL_TYPE_DEPARTMENTS)
    # A non-police type added to the rules later still lands somewhere: the 12345 fallback.
    for call_type in non_police:
        assert suggest_department(call_type, demo_choices()) is not None, call_type
    codes = {d.code for d in DEMO_DEPARTMENTS}
    assert len(codes) == len(DEMO_DEPARTMENTS)
    assert [d.code for d in DEMO_DEPARTMENTS if d.fallback] == [FALLBACK_DEPARTMENT]
    for d in DEMO_DEPARTMENTS:
        assert d.name_zh and d.name_en
        assert 0 < d.ack_within_s < d.feedback_within_s


@pytest.mark.parametrize(
    ("call_type", "expected"),
    [
        ("water_outage", "water_company"),
        ("power_outage", "power_company"),
        ("gas_outage", "gas_company"),
        ("noise", "ecology_environment"),
        ("road_damage", "urban_management"),
        ("animal", "animal_control"),
        ("neighbour_dispute", "street_office"),
        ("consultation", "hotline_12345"),
    ],
)
def test_the_call_type_decides_the_department(call_type: str, expected: str) -> None:
    assert suggest_department(call_type, demo_choices()) == expected


def test_a_triaged_call_text_lands_at_the_right_department() -> None:
    result = triage("楼上装修噪音太大了，晚上十一点还在电钻", default_rules())
    assert not result.police and result.type == "noise"
    assert suggest_department(result.type, demo_choices()) == "ecology_environment"
    result = triage("我家停水了，整栋楼都没有水", default_rules())
    assert suggest_department(result.type, demo_choices()) == "water_company"


def test_unknown_type_falls_back_to_the_rules_department_then_to_12345() -> None:
    choices = [*demo_choices(), DepartmentChoice(code="municipal_roads", call_types=frozenset())]
    assert (
        suggest_department("pothole", choices, rules_department="municipal_roads")
        == "municipal_roads"
    )
    assert suggest_department("pothole", choices) == FALLBACK_DEPARTMENT
    assert suggest_department(None, choices) == FALLBACK_DEPARTMENT
    assert suggest_department("pothole", [DepartmentChoice("x", frozenset({"a"}))]) is None


def test_inactive_departments_are_skipped_and_the_most_local_one_wins() -> None:
    city = DepartmentChoice("water_city", frozenset({"water_outage"}), jurisdiction_path="/hel/")
    district = DepartmentChoice(
        "water_kamppi", frozenset({"water_outage"}), jurisdiction_path="/hel/kamppi/"
    )
    other = DepartmentChoice(
        "water_kallio", frozenset({"water_outage"}), jurisdiction_path="/hel/kallio/"
    )
    closed = DepartmentChoice(
        "water_old", frozenset({"water_outage"}), jurisdiction_path=None, active=False
    )
    choices = [closed, other, city, district]
    assert (
        suggest_department("water_outage", choices, jurisdiction_path="/hel/kamppi/s1/")
        == "water_kamppi"
    )
    assert (
        suggest_department("water_outage", choices, jurisdiction_path="/hel/toolo/") == "water_city"
    )
    assert suggest_department("water_outage", choices, jurisdiction_path=None) is None
    assert serves(city, "/hel/kamppi/") and not serves(other, "/hel/kamppi/")
    assert serves(DepartmentChoice("all", frozenset()), None)


# ---------------------------------------------------------------------------- the rule


def test_first_contact_rule_refuses_police_and_unclear_incidents() -> None:
    assert transfer_refusal(police=False, unclear=False, status="new") is None
    assert transfer_refusal(police=True, unclear=False, status="new") == (
        "dispatch.error.transfer_police",
        "police",
    )
    # Triage keeps an unclear call as police; the reason given is the first-contact rule.
    assert transfer_refusal(police=True, unclear=True, status="new") == (
        "dispatch.error.transfer_unclear",
        "unclear",
    )
    assert transfer_refusal(police=False, unclear=False, status="transferred") == (
        "dispatch.error.already_transferred",
        "status",
    )
    assert transfer_refusal(police=False, unclear=False, status="dispatched") == (
        "dispatch.error.transfer_status",
        "status",
    )
    assert transfer_refusal(police=False, unclear=False, status="closed") == (
        "dispatch.error.incident_closed",
        "incident_id",
    )


def test_an_unclear_call_is_refused_as_triage_leaves_it() -> None:
    result = triage("你好，我想说一下那个事情", default_rules())
    assert result.unclear and result.police and result.department is None
    refusal = transfer_refusal(police=result.police, unclear=result.unclear, status="new")
    assert refusal is not None and refusal[1] == "unclear"


# ---------------------------------------------------------------------------- deadlines


def test_deadlines_come_from_the_department_service_levels() -> None:
    water = next(d for d in DEMO_DEPARTMENTS if d.code == "water_company")
    ack, feedback = deadlines(
        T0, ack_within_s=water.ack_within_s, feedback_within_s=water.feedback_within_s
    )
    assert ack == T0 + timedelta(minutes=30)
    assert feedback == T0 + timedelta(hours=4)


def _clock(**kw: object) -> TransferClock:
    base: dict[str, object] = {
        "id": 1,
        "status": "transferred",
        "ack_due_at": T0 + timedelta(minutes=30),
        "feedback_due_at": T0 + timedelta(hours=4),
    }
    base.update(kw)
    return TransferClock(**base)  # type: ignore[arg-type]


def test_sweep_flags_a_missed_acknowledgement_once_with_a_frozen_clock() -> None:
    with clock.frozen(T0) as frozen:
        assert overdue_transfers([_clock()], clock.now()) == []
        frozen.advance(timedelta(minutes=30))
        assert overdue_transfers([_clock()], clock.now()) == []  # at the deadline: not yet
        frozen.advance(timedelta(minutes=1))
        (found,) = overdue_transfers([_clock()], clock.now())
        assert (found.id, found.kind, found.late_s) == (1, "ack", 60.0)
        # Flagged already: not again; acknowledged in time: never.
        assert overdue_transfers([_clock(ack_overdue_at=clock.now())], clock.now()) == []
        acknowledged = _clock(status="acknowledged", acknowledged_at=T0)
        assert overdue_transfers([acknowledged], clock.now()) == []


def test_sweep_flags_missed_feedback_and_ignores_finished_transfers() -> None:
    late = T0 + timedelta(hours=5)
    found = overdue_transfers([_clock(status="acknowledged", acknowledged_at=T0)], late)
    assert [(f.kind, f.late_s) for f in found] == [("feedback", 3600.0)]
    both = overdue_transfers([_clock()], late)
    assert sorted(f.kind for f in both) == ["ack", "feedback"]
    for status in ("resolved", "returned"):
        assert overdue_transfers([_clock(status=status)], late) == []
    flagged = _clock(ack_overdue_at=late, feedback_overdue_at=late)
    assert overdue_transfers([flagged], late + timedelta(days=1)) == []


def test_visits_are_overdue_a_day_after_their_time_unless_made_or_cancelled() -> None:
    at = T0 + timedelta(days=2)
    visit = VisitClock(id=7, scheduled_at=T0)
    assert overdue_visits([visit], T0 + timedelta(seconds=VISIT_GRACE_S)) == []
    (found,) = overdue_visits([visit], at)
    assert found.kind == "visit" and found.late_s == 24 * 3600
    assert overdue_visits([VisitClock(id=7, scheduled_at=T0, done_at=T0)], at) == []
    assert overdue_visits([VisitClock(id=7, scheduled_at=T0, cancelled_at=T0)], at) == []
    assert overdue_visits([VisitClock(id=7, scheduled_at=T0, overdue=True)], at) == []
    assert overdue_visits([visit], at, grace_s=3 * 24 * 3600) == []


def test_visit_times_must_lie_ahead_and_differ() -> None:
    later = T0 + timedelta(days=7)
    soon = T0 + timedelta(days=1)
    assert check_visit_times([later, soon], T0) == [soon, later]
    with pytest.raises(ValidationFailed) as past:
        check_visit_times([soon, T0 - timedelta(minutes=1)], T0)
    assert past.value.field == "visits" and past.value.key == "dispatch.error.visit_past"
    with pytest.raises(ValidationFailed) as twice:
        check_visit_times([soon, soon], T0)
    assert twice.value.key == "dispatch.error.visit_repeated"


def test_the_overdue_sweep_is_one_of_the_desks_periodic_jobs() -> None:
    from pingan.dispatch import linkage, module

    jobs = {job.name: job for job in module().jobs}
    sweep = jobs["dispatch-linkage-sweep"]
    assert sweep.run is linkage.run_sweep and sweep.interval_s == 60.0
