"""The batch is validated in one pass; the first bad item (lowest index) is the one named."""

from __future__ import annotations

from typing import Any

import pytest

from pingan.antifraud import service
from pingan.core.errors import ValidationFailed

PHONE = "13812345678"


def call(i: int) -> dict[str, Any]:
    return {"id": f"c{i}", "kind": "call", "phone": PHONE, "caller_flag": "fraud"}


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([call(0), {"id": "x", "kind": "fax", "phone": PHONE}, {**call(2), "duration_s": -1}],
         "signals[1].kind"),
        ([call(0), call(1), {**call(2), "duration_s": -1}, {"kind": "call"}],
         "signals[2].duration_s"),
        ([call(0), "not an object"], "signals[1].kind"),
        ([{**call(0), "phone": "12345"}], "signals[0].phone"),
        ([call(0), {"id": "t", "kind": "transfer", "phone": PHONE, "amount": 0,
                    "account": "6222021234567890123"}], "signals[1].amount"),
        ([{"id": "s", "kind": "sms", "phone": PHONE, "fraud_type": "romance"}],
         "signals[0].probability"),
        ([{"id": "s", "kind": "sms", "phone": PHONE}], "signals[0].text"),
    ],
)  # fmt: skip
def test_the_lowest_bad_index_is_named(items: list[Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        service.parse_signals(items)
    assert caught.value.field == field


def test_a_good_batch_parses_in_order() -> None:
    items = [call(0), {"id": "s", "kind": "sms", "phone": PHONE, "text": "您好"}, call(2)]
    parsed = service.parse_signals(items)
    assert [p.id for p in parsed] == ["c0", "s", "c2"]
    assert parsed[1].fraud_type is None and parsed[1].probability is None
