"""Triage rules and the second-opinion text classifier."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from pingan.dispatch.triage import (
    LabelledCall,
    TextModel,
    TriageInputError,
    default_rules,
    dump_rules,
    load_rules,
    rules_from_dict,
    rules_to_dict,
    train,
    triage,
)

CALLS = Path(__file__).resolve().parents[2] / "fixtures" / "dispatch" / "calls.jsonl"


def _calls() -> list[LabelledCall]:
    return [LabelledCall(**json.loads(line)) for line in CALLS.read_text("utf-8").splitlines()]


def test_default_rules_round_trip_and_labels() -> None:
    rules = default_rules()
    assert load_rules(dump_rules(rules)) == rules
    for ct in rules.call_types:
        assert ct.label["zh-CN"] and ct.label["en"]
        assert ct.police or ct.department in rules.departments


def test_knife_fight_is_p1_police_with_reasons() -> None:
    res = triage("胜利路烧烤摊有人打架，一个拿着刀", default_rules())
    assert res.type == "fight" and res.priority == "P1" and res.police and not res.unclear
    ids = [r[0] for r in res.reasons]
    assert "fight.kw" in ids and "esc.weapon" in ids


@pytest.mark.parametrize(
    ("text", "call_type", "priority"),
    [
        # found by running the demo: injury words alone used to vote for a traffic accident
        ("有人被捅伤了，流了很多血", "violent_crime", "P1"),
        ("有人拿刀威胁路人，快来！", "violent_crime", "P1"),
        ("有人在商场门口打架，好像有人受伤了", "fight", "P1"),
        ("电动车和汽车撞了，骑车的人腿流血了", "traffic_injury", "P1"),
        ("两车剐蹭了，要定责", "traffic_no_injury", "P3"),
    ],
)
def test_calls_from_the_demo_are_typed_right(text: str, call_type: str, priority: str) -> None:
    res = triage(text, default_rules())
    assert (res.type, res.priority, res.police) == (call_type, priority, True)


def test_negation_keeps_no_injury_accident_low() -> None:
    rules = default_rules()
    hurt = triage("路口两辆车相撞，有人受伤了", rules)
    unhurt = triage("路口两辆车追尾了，没有人受伤", rules)
    assert hurt.type == "traffic_injury" and hurt.priority == "P1"
    assert unhurt.type == "traffic_no_injury" and unhurt.priority == "P3"
    assert ("neg.no_injury", "没有人受伤") in unhurt.reasons


def test_non_police_goes_to_department() -> None:
    res = triage("我们小区停水了，一整天都没水", default_rules())
    assert res.type == "water_outage" and not res.police
    assert res.department == "water_company" and not res.unclear


def test_unclear_stays_with_police() -> None:
    res = triage("喂，你好，我这边有点事情", default_rules())
    assert res.unclear and res.police and res.department is None and res.type is None


def test_police_non_police_tie_stays_with_police() -> None:
    # a neighbour (non-police) and a fight (police) in one breath: equal weights
    data = rules_to_dict(default_rules())
    res = triage("楼上邻居动手了", rules_from_dict(data))
    assert res.unclear and res.police and res.department is None


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(TriageInputError) as err:
        triage(text, default_rules())
    assert err.value.field == "text"


def _broken(mutate: Any) -> dict[str, Any]:
    data = rules_to_dict(default_rules())
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("version"), "version"),
        (
            lambda d: d["call_types"][0]["rules"][0].__setitem__("weight", -1),
            "call_types[0].rules[0].weight",
        ),
        (lambda d: d["call_types"][0]["rules"][0].pop("pattern"), "call_types[0].rules[0].pattern"),
        (
            lambda d: d["call_types"][1]["rules"][0].__setitem__("pattern", "(unclosed"),
            "call_types[1].rules[0].pattern",
        ),
        (lambda d: d["call_types"][2].__setitem__("priority", "P9"), "call_types[2].priority"),
        (lambda d: d["call_types"][3]["label"].pop("en"), "call_types[3].label.en"),
        (
            lambda d: d["call_types"][0]["run_card"][0].__setitem__("count", 0),
            "call_types[0].run_card[0].count",
        ),
        (
            lambda d: d["escalators"][0].__setitem__("applies_to", ["nope"]),
            "escalators[0].applies_to[0]",
        ),
        (
            lambda d: d["negations"][0]["supports"].__setitem__("traffic_no_injury", 0),
            "negations[0].supports.traffic_no_injury",
        ),
        (
            lambda d: d["call_types"][-1].__setitem__("department", None),
            "call_types[19].department",
        ),
    ],
)
def test_bad_rules_name_the_field(mutate: Any, field: str) -> None:
    with pytest.raises(TriageInputError) as err:
        rules_from_dict(_broken(mutate))
    assert err.value.field == field


def test_rules_json_not_json() -> None:
    with pytest.raises(TriageInputError) as err:
        load_rules("{not json")
    assert err.value.field == "rules"


def _split(seed: int = 4) -> tuple[list[LabelledCall], list[LabelledCall]]:
    by_type: dict[str, list[LabelledCall]] = {}
    for ex in _calls():
        by_type.setdefault(ex.type, []).append(ex)
    rnd = random.Random(seed)
    train_set: list[LabelledCall] = []
    test_set: list[LabelledCall] = []
    for _, items in sorted(by_type.items()):
        items = items[:]
        rnd.shuffle(items)
        test_set += items[:4]
        train_set += items[4:]
    return train_set, test_set


def _macro_accuracy(model: TextModel, test_set: list[LabelledCall]) -> float:
    hits: dict[str, list[bool]] = {}
    for ex in test_set:
        hits.setdefault(ex.type, []).append(model.predict(ex.text)[0] == ex.type)
    return sum(sum(h) / len(h) for h in hits.values()) / len(hits)


def test_training_set_has_enough_per_type() -> None:
    counts: dict[str, int] = {}
    for ex in _calls():
        counts[ex.type] = counts.get(ex.type, 0) + 1
    assert set(counts) == {ct.id for ct in default_rules().call_types}
    assert min(counts.values()) >= 15


def test_classifier_held_out_macro_accuracy() -> None:
    # Measured: 0.69 / 0.74 / 0.73 / 0.86 / 0.80 over seeds 0-4 (mean 0.76), 4 held out per type.
    accuracies = [_macro_accuracy(train(tr), te) for tr, te in map(_split, range(5))]
    assert sum(accuracies) / len(accuracies) >= 0.72
    assert min(accuracies) >= 0.6


def test_classifier_explains_and_round_trips(tmp_path: Path) -> None:
    tr, _ = _split()
    model = train(tr)
    kind, prob, feats = model.predict("幸福小区有人拿刀砍人了")
    assert kind == "violent_crime" and 0 < prob <= 1
    assert any("刀" in f for f, _ in feats)
    again = TextModel.loads(model.dumps())
    assert again.predict("停电了") == model.predict("停电了")
    model.save_npz(tmp_path / "m.npz")
    assert TextModel.load_npz(tmp_path / "m.npz").predict("停水了")[0] == model.predict("停水了")[0]


def test_train_refuses_empty() -> None:
    with pytest.raises(TriageInputError) as err:
        train([LabelledCall(text=" ", type="theft")])
    assert err.value.field == "examples[0].text"
