"""Sichuan-style behavioural features from raw records, and column selection."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pingan.antifraud.behaviour import (
    DROPPED,
    FEATURES,
    SubscriberRecords,
    feature_matrix,
    select_columns,
    sichuan_features,
)
from pingan.antifraud.risk import RiskData


def _records() -> SubscriberRecords:
    return SubscriberRecords(
        call_party=np.array([7, 7, 7, 9], np.int64),
        call_type=np.array([1, 1, 2, 1], np.int64),
        call_hour=np.array([10, 10, 11, 22], np.int64),
        call_day=np.array([3, 3, 4, 4], np.int64),
        call_duration=np.array([60.0, 30.0, 10.0, 100.0]),
        call_imei=np.array([0, 0, 0, 1], np.int64),
        sms_party=np.array([1, 1, 2], np.int64),
        sms_type=np.array([2, 2, 1], np.int64),
        sms_hour=np.array([9, 9, 9], np.int64),
        sms_day=np.array([1, 2, 2], np.int64),
        app_flow=np.array([1.0, 3.0]),
        app_month=np.array([0, 1], np.int64),
        arpu=np.array([40.0, 50.0, 60.0]),
    )


def test_definitions_on_a_small_subscriber() -> None:
    f = sichuan_features(_records())
    assert (f["opposite_count"], f["opposite_unique"], f["voccalltype1"]) == (4, 2, 3)
    assert f["voc_calltype1"] == 0.75 and f["imeis"] == 2
    # Per other party: 3 and 1 calls, 100 s and 100 s.
    assert (f["phone2opposite_mean"], f["phone2opposite_max"]) == (2.0, 3.0)
    assert (f["phone2oppo_sum_mean"], f["phone2oppo_sum_max"]) == (100.0, 100.0)
    assert (f["call_dur_mean"], f["call_dur_median"], f["call_dur_min"]) == (50.0, 45.0, 10.0)
    assert (f["voc_hour_mode"], f["voc_hour_mode_count"], f["voc_hour_nunique"]) == (10, 2, 3)
    assert (f["voc_day_mode"], f["voc_day_mode_count"]) == (3, 2)  # tie: the smaller day
    assert (f["sms_count"], f["sms_nunique"], f["sms_rate"]) == (3, 2, 1.5)
    assert f["calltype_2"] == 2 and f["calltype_rate"] == pytest.approx(2 / 3)
    assert (f["flow_sum"], f["month_ids"], f["flow_month"], f["flow_var"]) == (4.0, 2, 2.0, 2.0)
    assert (f["arpu_mean"], f["arpu_var"], f["arpu_quantile"], f["arpu_skew"]) == (
        50.0,
        100.0,
        50.0,
        0.0,
    )
    assert f["arpu_sem"] == pytest.approx(math.sqrt(100 / 3))


def test_blanks_where_sichuan_has_none_and_the_dropped_columns() -> None:
    f = sichuan_features(SubscriberRecords(arpu=np.array([30.0])))
    assert math.isnan(f["opposite_count"]) and math.isnan(f["sms_rate"])
    assert math.isnan(f["flow_sum"]) and math.isnan(f["arpu_var"]) and f["arpu_mean"] == 30.0
    assert not set(DROPPED) & set(FEATURES) and len(FEATURES) == 51
    assert feature_matrix([_records(), SubscriberRecords()]).shape == (2, 51)


def test_select_columns_keeps_order_and_names_what_is_missing() -> None:
    data = RiskData(np.arange(6.0).reshape(2, 3), np.array([0, 1]), ("a", "b", "c"))
    picked = select_columns(data, ["c", "a"])
    assert picked.names == ("c", "a") and picked.features.tolist() == [[2.0, 0.0], [5.0, 3.0]]
    with pytest.raises(KeyError, match="zz"):
        select_columns(data, ["a", "zz"])
