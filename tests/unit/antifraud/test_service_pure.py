"""The anti-fraud service's pure parts: signal parsing, signal arithmetic, files, policy."""

from __future__ import annotations

from typing import Any

import pytest

from pingan.antifraud import service
from pingan.core.errors import ValidationFailed

PHONE = "13812345678"


def _field(items: list[Any]) -> str | None:
    with pytest.raises(ValidationFailed) as caught:
        service.parse_signals(items)
    return caught.value.field


def test_parse_names_the_index_and_the_field() -> None:
    good = {"id": "1", "kind": "risk", "phone": PHONE, "score": 0.4}
    assert [s.kind for s in service.parse_signals([good])] == ["risk"]
    assert _field([good, {**good, "score": 2}]) == "signals[1].score"
    assert _field([{**good, "kind": "fax"}]) == "signals[0].kind"
    assert _field([{k: v for k, v in good.items() if k != "kind"}]) == "signals[0].kind"
    assert _field([{**good, "unknown": 1}]) == "signals[0].unknown"
    assert _field([{**good, "phone": "+86 138 1234 567"}]) == "signals[0].phone"
    assert _field(["not an object"]) == "signals[0].kind"


def test_signals_accumulate_into_typology_inputs() -> None:
    items = service.parse_signals(
        [
            {"id": "a", "kind": "call", "phone": PHONE, "caller_flag": "police_impersonation",
             "duration_s": 300},
            {"id": "b", "kind": "call", "phone": PHONE, "caller_flag": "police_impersonation",
             "duration_s": 100},
            {"id": "c", "kind": "transfer", "phone": PHONE, "amount": 5000,
             "account": "6222021234567890123", "payee_fanin_24h": 2},
            {"id": "d", "kind": "transfer", "phone": PHONE, "amount": 7000,
             "account": "6222021234567890123", "payee_fanin_24h": 9, "new_payee": True},
            {"id": "e", "kind": "sms", "phone": PHONE, "fraud_type": "romance", "probability": 0.3},
            {"id": "f", "kind": "report", "phone": PHONE, "fraud_type": "romance"},
        ]
    )  # fmt: skip
    signals: dict[str, float] = {}
    for item in items:
        signals = service.apply_signal(signals, item)
    assert signals == {
        "calls_from_police_impersonators": 2.0,
        "longest_flagged_call_s": 300.0,
        "transfer_to_mule_amount": 7000.0,  # the fan-in-2 payee is not mule-like
        "mule_fanin_24h": 9.0,
        "new_payee_amount_24h": 7000.0,
        "text_romance": 1.0,
    }
    stored = service.stored_payload(items[2])
    assert "phone" not in stored and stored["account"] == "622202*********0123"


def test_keyed_hash_is_stable_and_keyed() -> None:
    a = service.keyed_hash(PHONE, "k1")
    assert a == service.keyed_hash(PHONE, "k1") and a != service.keyed_hash(PHONE, "k2")
    assert len(a) == 64 and PHONE not in a


def test_files_jsonl_and_csv() -> None:
    rows = service.parse_signal_file(
        b'{"id": "1", "kind": "risk"}\n\n{"id": "2"}\n', "application/x-ndjson"
    )
    assert [r["id"] for r in rows] == ["1", "2"]
    csv = "id,kind,phone,score\n1,risk,13812345678,0.5\n2,risk,13812345678,\n".encode("gb18030")
    rows = service.parse_signal_file(csv, "text/csv; charset=gbk")
    assert rows[1] == {"id": "2", "kind": "risk", "phone": PHONE}
    assert service.parse_signals(rows[:1])[0].score == 0.5
    with pytest.raises(ValidationFailed) as caught:
        service.parse_signal_file(b"[1]\n", "application/x-ndjson")
    assert caught.value.field == "signals[0]"
    with pytest.raises(ValidationFailed) as caught:
        service.parse_signal_file(b"\n", "application/x-ndjson")
    assert caught.value.field == "file"


def test_default_policy_covers_every_level_and_step() -> None:
    policy = service.default_policy()
    assert set(policy) == {"high", "medium", "low"}
    for steps in policy.values():
        assert set(steps) == {"assess", "push", "dissuade", "stop_payment", "feedback"}
    assert policy["high"]["dissuade"] < policy["medium"]["dissuade"] < policy["low"]["dissuade"]
