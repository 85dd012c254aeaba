"""Typology scoring: levels, reasons, configuration without code changes, signal table."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pingan.antifraud.typology import (
    DEFAULT_CONFIG,
    ConfigError,
    SignalTable,
    TypologyScorer,
    load_config,
    parse_config,
)

VICTIM = {
    "calls_from_police_impersonators": 3,
    "transfer_to_mule_amount": 48000,
    "mule_fanin_24h": 37,
}


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    return data


def test_police_victim_is_high_with_reasons_in_both_languages() -> None:
    scorer = TypologyScorer(load_config())
    zh = scorer.score([VICTIM])[0]
    # 0.35 (3 calls, saturated) + 0.25 (48,000 ≥ 20,000, saturated) = 0.60 of weight 1.0
    assert zh.typology == "police_impersonation"
    assert zh.score == pytest.approx(0.60)
    assert zh.level == "high"
    assert zh.reasons == ("被冒充公检法号码呼叫3次", "向24小时内有37个账户汇入的账户转账48,000元")
    en = scorer.score([VICTIM], lang="en")[0]
    assert en.reasons[1] == "sent CNY 48,000 to an account that received from 37 accounts in 24 h"
    assert en.typology_name == "Impersonating police and government"


def test_quiet_person_is_low_without_reasons() -> None:
    result = TypologyScorer(load_config()).score([{}])[0]
    assert result.level == "low" and result.score == 0.0 and result.reasons == ()


def test_config_file_changes_levels_without_code(tmp_path: Path) -> None:
    raw = _raw()
    raw["levels"] = {"high": 0.9, "medium": 0.5}
    path = tmp_path / "typologies.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    assert TypologyScorer(load_config(path)).score([VICTIM])[0].level == "medium"
    # halving the weight of the calls term lowers the score: 0.175 + 0.25 over 0.825
    raw2 = copy.deepcopy(_raw())
    raw2["typologies"]["police_impersonation"]["terms"][0]["weight"] = 0.175
    result = TypologyScorer(parse_config(raw2)).score([VICTIM])[0]
    assert result.score == pytest.approx((0.175 + 0.25) / 0.825)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r["levels"].update(high=0.2), "levels"),
        (
            lambda r: r["typologies"]["romance"]["terms"][0].update(signal="nope"),
            "typologies.romance.terms[0].signal",
        ),
        (
            lambda r: r["typologies"]["romance"]["terms"][0].update(weight=-1),
            "typologies.romance.terms[0].weight",
        ),
        (
            lambda r: r["typologies"]["romance"]["terms"][0]["reason"].update(en="{missing}"),
            "typologies.romance.terms[0].reason.en",
        ),
        (lambda r: r["signals"]["victim_risk"].pop("en"), "signals.victim_risk"),
    ],
)
def test_bad_config_names_the_field(mutate: Any, field: str) -> None:
    raw = _raw()
    mutate(raw)
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    assert exc.value.field == field


def test_vectorised_matches_row_by_row() -> None:
    scorer = TypologyScorer(load_config())
    rng = np.random.default_rng(0)
    x = rng.random((200, len(scorer.signals))) * np.array(
        [5 if "calls" in s else 30000 if "amount" in s else 1 for s in scorer.signals]
    )
    scores, level, best = scorer.score_matrix(x)
    rows = [dict(zip(scorer.signals, r, strict=True)) for r in x]
    results = scorer.score(rows)
    for i, res in enumerate(results):
        assert res.score == pytest.approx(scores[i, best[i]])
        assert res.level == ("low", "medium", "high")[level[i]]


def test_signal_table_accumulates_and_scores() -> None:
    scorer = TypologyScorer(load_config())
    table = SignalTable(scorer.signals, capacity=1)
    table.add_many(["a", "b", "a", "a"], "calls_from_police_impersonators", [1, 1, 1, 1])
    table.set_many(["a"], "transfer_to_mule_amount", [48000])
    table.set_many(["a"], "mule_fanin_24h", [37])
    assert len(table) == 2 and table.keys() == ["a", "b"]
    _, level, _ = scorer.score_matrix(table.matrix())
    assert level.tolist() == [2, 0]
