"""Behavioural features of one subscriber, computed the way the Sichuan data set defines them.

Sichuan (GAT-COBO's ``all_feat_with_label.csv``) aggregates four tables of the 2020 Sichuan
fraud-call competition per phone number: voice calls (other party, direction 1 outgoing /
2 incoming / 3 forwarded, start time, duration, city, county, handset IMEI), SMS (other
party, direction 1 sent / 2 received, time), mobile-data use (app, flow, month) and the
monthly bill (ARPU). :func:`sichuan_features` computes the same aggregates from a
subscriber's raw records, so a model trained on simulated subscribers can be applied to
Sichuan's rows column for column. The definitions were read off the column names and
checked against Sichuan's own values (e.g. ``phone2opposite_mean = opposite_count /
opposite_unique``, ``sms_rate = sms_count / sms_nunique``, ``calltype_rate = calltype_2 /
sms_count``, ``flow_month = flow_sum / month_ids``, ``arpu_quantile`` = the median).

**Dropped** (:data:`DROPPED`): Sichuan has two pairs of city/county counts
(``city_name_call``/``county_name_call`` and ``city_name_nunique``/``county_name_nunique``)
whose values differ for the same number and whose difference is not documented; we cannot
compute either pair with a known meaning, so all four are left out — of a model trained on
simulated data *and* of the Sichuan columns it is evaluated on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from pingan.antifraud.risk import RiskData

FEATURES: Final = (
    "opposite_count",
    "opposite_unique",
    "voccalltype1",
    "imeis",
    "voc_calltype1",
    "phone2opposite_mean",
    "phone2opposite_median",
    "phone2opposite_max",
    "phone2oppo_sum_mean",
    "phone2oppo_sum_median",
    "phone2oppo_sum_max",
    "call_dur_mean",
    "call_dur_median",
    "call_dur_max",
    "call_dur_min",
    "calltype_id_unique",
    "voc_hour_mode",
    "voc_hour_mode_count",
    "voc_hour_nunique",
    "voc_day_mode",
    "voc_day_mode_count",
    "voc_day_nunique",
    "sms_count",
    "sms_nunique",
    "sms_rate",
    "calltype_2",
    "calltype_rate",
    "hour_mode",
    "hour_mode_count",
    "hour_nunique",
    "day_mode",
    "day_mode_count",
    "day_nunique",
    "busi_count",
    "flow_mean",
    "flow_median",
    "flow_min",
    "flow_max",
    "flow_var",
    "flow_sum",
    "month_ids",
    "flow_month",
    "arpu_mean",
    "arpu_var",
    "arpu_max",
    "arpu_min",
    "arpu_median",
    "arpu_sum",
    "arpu_skew",
    "arpu_sem",
    "arpu_quantile",
)
"""The Sichuan columns a simulated subscriber has, in Sichuan's order."""
DROPPED: Final = {
    "city_name_call": "two undocumented city counts; meaning unknown",
    "county_name_call": "two undocumented county counts; meaning unknown",
    "city_name_nunique": "two undocumented city counts; meaning unknown",
    "county_name_nunique": "two undocumented county counts; meaning unknown",
}

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(slots=True)
class SubscriberRecords:
    """One subscriber's raw records (arrays of equal length per table)."""

    call_party: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    call_type: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """1 outgoing, 2 incoming, 3 forwarded."""
    call_hour: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    call_day: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Day of the month (1–31)."""
    call_duration: FloatArray = field(default_factory=lambda: np.zeros(0, np.float64))
    call_imei: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    sms_party: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    sms_type: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """1 sent, 2 received."""
    sms_hour: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    sms_day: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    app_flow: FloatArray = field(default_factory=lambda: np.zeros(0, np.float64))
    app_month: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    arpu: FloatArray = field(default_factory=lambda: np.zeros(0, np.float64))
    """The monthly bills (yuan)."""


def _mode(values: IntArray) -> tuple[float, float]:
    """The most frequent value (smallest on ties, like pandas) and its count."""
    uniq, counts = np.unique(values, return_counts=True)
    i = int(np.argmax(counts))
    return float(uniq[i]), float(counts[i])


def _var(x: FloatArray) -> float:
    return float(np.var(x, ddof=1)) if x.size > 1 else math.nan


def _skew(x: FloatArray) -> float:
    """The bias-corrected sample skewness (pandas' ``skew``)."""
    n = x.size
    if n < 3:
        return math.nan
    d = x - x.mean()
    m2 = float(np.mean(d**2))
    if m2 == 0:
        return 0.0
    m3 = float(np.mean(d**3))
    return float(math.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5)


def sichuan_features(r: SubscriberRecords) -> dict[str, float]:
    """The :data:`FEATURES` of one subscriber; NaN where Sichuan has a blank (no calls, no
    SMS, no data records or no bill)."""
    out = dict.fromkeys(FEATURES, math.nan)
    n = r.call_party.size
    if n:
        parties, per_party = np.unique(r.call_party, return_inverse=True)
        counts = np.bincount(per_party).astype(np.float64)
        sums = np.bincount(per_party, weights=r.call_duration)
        out.update(
            opposite_count=float(n),
            opposite_unique=float(parties.size),
            voccalltype1=float(np.sum(r.call_type == 1)),
            imeis=float(np.unique(r.call_imei).size),
            voc_calltype1=float(np.sum(r.call_type == 1)) / n,
            phone2opposite_mean=float(counts.mean()),
            phone2opposite_median=float(np.median(counts)),
            phone2opposite_max=float(counts.max()),
            phone2oppo_sum_mean=float(sums.mean()),
            phone2oppo_sum_median=float(np.median(sums)),
            phone2oppo_sum_max=float(sums.max()),
            call_dur_mean=float(r.call_duration.mean()),
            call_dur_median=float(np.median(r.call_duration)),
            call_dur_max=float(r.call_duration.max()),
            call_dur_min=float(r.call_duration.min()),
            calltype_id_unique=float(np.unique(r.call_type).size),
            voc_hour_nunique=float(np.unique(r.call_hour).size),
            voc_day_nunique=float(np.unique(r.call_day).size),
        )
        out["voc_hour_mode"], out["voc_hour_mode_count"] = _mode(r.call_hour)
        out["voc_day_mode"], out["voc_day_mode_count"] = _mode(r.call_day)
    m = r.sms_party.size
    if m:
        distinct = float(np.unique(r.sms_party).size)
        received = float(np.sum(r.sms_type == 2))
        out.update(
            sms_count=float(m),
            sms_nunique=distinct,
            sms_rate=m / distinct,
            calltype_2=received,
            calltype_rate=received / m,
            hour_nunique=float(np.unique(r.sms_hour).size),
            day_nunique=float(np.unique(r.sms_day).size),
        )
        out["hour_mode"], out["hour_mode_count"] = _mode(r.sms_hour)
        out["day_mode"], out["day_mode_count"] = _mode(r.sms_day)
    if r.app_flow.size:
        months = float(np.unique(r.app_month).size)
        total = float(r.app_flow.sum())
        out.update(
            busi_count=float(r.app_flow.size),
            flow_mean=float(r.app_flow.mean()),
            flow_median=float(np.median(r.app_flow)),
            flow_min=float(r.app_flow.min()),
            flow_max=float(r.app_flow.max()),
            flow_var=_var(r.app_flow),
            flow_sum=total,
            month_ids=months,
            flow_month=total / months,
        )
    if r.arpu.size:
        a = r.arpu
        out.update(
            arpu_mean=float(a.mean()),
            arpu_var=_var(a),
            arpu_max=float(a.max()),
            arpu_min=float(a.min()),
            arpu_median=float(np.median(a)),
            arpu_sum=float(a.sum()),
            arpu_skew=_skew(a),
            arpu_sem=math.sqrt(_var(a) / a.size) if a.size > 1 else math.nan,
            arpu_quantile=float(np.median(a)),
        )
    return out


def feature_matrix(people: Sequence[SubscriberRecords]) -> FloatArray:
    """Rows of :data:`FEATURES` for ``people``."""
    rows = [sichuan_features(p) for p in people]
    return np.array([[row[name] for name in FEATURES] for row in rows], dtype=np.float64)


def select_columns(data: RiskData, names: Sequence[str]) -> RiskData:
    """``data`` with only the columns ``names`` (in that order); KeyError naming a missing one."""
    index = {n: i for i, n in enumerate(data.names)}
    missing = [n for n in names if n not in index]
    if missing:
        raise KeyError(f"columns missing: {', '.join(missing)}")
    cols = [index[n] for n in names]
    return RiskData(data.features[:, cols], data.labels, tuple(names), data.ids)
