"""Simulated subscribers' call, SMS, data and billing records, for the victim-risk model.

**Simulated, seeded, written from public descriptions of how fraud numbers behave — not
fitted to any real data set** (in particular not to Sichuan, on which the model trained
here is evaluated). One month of calls and SMS, eight months of data use and bills.

- **Ordinary residents** keep a circle of contacts (about 20, some called much more than
  others), call in and out about equally, talk a minute or two (log-normal), mostly
  between 08:00 and 22:00 on any day of the month, on one handset; receive most of their
  SMS (notices from service numbers), send some; use mobile data every month; pay a stable
  bill. A share are *busy callers* (couriers, sales, agents): many short outgoing calls to
  many numbers — the ordinary people who look most like fraud.
- **Fraud-involved numbers** (the numbers campaigns call victims from, as in the live
  generator's ``call`` reports) dial many different residents, almost only outgoing, rarely
  the same person twice except the hooked ones (long calls), with many short rejected
  calls; work office hours on a burst of days; switch handsets; receive few SMS and send
  some in bulk; use little data over few months (new SIMs); and their bills are low or
  missing months. A share are *quiet* numbers (used for follow-up chats with hooked
  victims) that look closer to ordinary use.

The records are aggregated by the desk's own :func:`pingan.antifraud.behaviour.sichuan_features`,
so the columns have Sichuan's meaning. Label 1 = fraud-involved number (Sichuan's label).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.random import Generator

from pingan.antifraud.behaviour import FEATURES, SubscriberRecords, feature_matrix
from pingan.antifraud.risk import RiskData

DAYS: Final = 30
MONTHS: Final = 8


@dataclass(frozen=True, slots=True)
class PopulationParams:
    """The knobs of the simulated population (all documented in the module docstring)."""

    fraud_share: float = 0.25
    busy_share: float = 0.08
    """Ordinary residents who make many short outgoing calls (couriers, sales)."""
    quiet_fraud_share: float = 0.2
    """Fraud numbers used for follow-up chats: fewer, longer calls."""


def _daytime_hours(rng: Generator, n: int, *, office: bool) -> np.ndarray:
    if office:
        return np.clip(np.rint(rng.normal(14, 2.5, n)), 8, 21).astype(np.int64)
    return np.clip(np.rint(rng.normal(15, 3.8, n)), 0, 23).astype(np.int64)


def _ordinary(rng: Generator, busy: bool) -> SubscriberRecords:
    contacts = max(3, int(rng.lognormal(np.log(20), 0.6)))
    if busy:
        calls = int(rng.lognormal(np.log(400), 0.5))
        fresh = rng.random(calls) < 0.7  # most to numbers called once
        party = np.where(fresh, rng.integers(10**6, 10**9, calls), rng.integers(0, contacts, calls))
        kind = np.where(rng.random(calls) < 0.75, 1, 2)
        duration = rng.lognormal(np.log(35), 0.9, calls)
    else:
        calls = max(1, int(rng.lognormal(np.log(70), 0.8)))
        weights = 1.0 / np.arange(1, contacts + 1) ** 1.1
        party = rng.choice(contacts, calls, p=weights / weights.sum())
        kind = rng.choice([1, 2, 3], calls, p=[0.5, 0.48, 0.02])
        duration = rng.lognormal(np.log(70), 1.1, calls)
    days = rng.integers(1, DAYS + 1, calls)
    imeis = np.where(rng.random(calls) < 0.97, 0, 1)
    sms = max(0, int(rng.lognormal(np.log(45), 0.9)))
    sms_type = np.where(rng.random(sms) < rng.uniform(0.7, 0.95), 2, 1)
    senders = max(1, int(rng.lognormal(np.log(12), 0.6)))
    months = MONTHS
    records = max(months, int(rng.lognormal(np.log(180), 0.6)))
    base = rng.lognormal(np.log(60), 0.5)
    return SubscriberRecords(
        call_party=party.astype(np.int64),
        call_type=kind.astype(np.int64),
        call_hour=_daytime_hours(rng, calls, office=busy),
        call_day=days.astype(np.int64),
        call_duration=np.ceil(duration),
        call_imei=imeis.astype(np.int64),
        sms_party=rng.integers(0, senders, sms).astype(np.int64),
        sms_type=sms_type.astype(np.int64),
        sms_hour=_daytime_hours(rng, sms, office=False),
        sms_day=rng.integers(1, DAYS + 1, sms).astype(np.int64),
        app_flow=rng.lognormal(np.log(8), 1.8, records),
        app_month=rng.integers(0, months, records).astype(np.int64),
        arpu=np.round(base * rng.normal(1.0, 0.08, months), 2).clip(0),
    )


def _fraud(rng: Generator, quiet: bool) -> SubscriberRecords:
    active_days = int(rng.integers(2, 16))
    start = int(rng.integers(1, DAYS - active_days + 2))
    if quiet:
        victims = max(2, int(rng.lognormal(np.log(15), 0.5)))
        calls = max(victims, int(rng.lognormal(np.log(60), 0.6)))
        party = rng.integers(0, victims, calls)
        kind = np.where(rng.random(calls) < 0.7, 1, 2)
        duration = rng.lognormal(np.log(180), 1.0, calls)
    else:
        calls = int(rng.lognormal(np.log(300), 0.8))
        party = rng.integers(10**6, 10**9, calls)  # almost every call a new number
        hooked = rng.random(calls) < 0.03
        party[hooked] = rng.integers(0, 5, int(hooked.sum()))
        kind = np.where(rng.random(calls) < 0.97, 1, 2)
        rejected = rng.random(calls) < 0.6
        duration = np.where(
            rejected, rng.integers(1, 12, calls), rng.lognormal(np.log(90), 1.2, calls)
        )
    days = rng.integers(start, start + active_days, calls).clip(1, DAYS)
    handsets = int(rng.integers(1, 4))
    sms = int(rng.poisson(8 if quiet else 4))
    sms_type = np.where(rng.random(sms) < 0.4, 2, 1)
    months = int(rng.integers(1, 4))
    records = int(rng.poisson(10 * months))
    bill = rng.lognormal(np.log(30), 0.7)
    return SubscriberRecords(
        call_party=party.astype(np.int64),
        call_type=kind.astype(np.int64),
        call_hour=_daytime_hours(rng, calls, office=True),
        call_day=days.astype(np.int64),
        call_duration=np.ceil(np.asarray(duration, dtype=np.float64)),
        call_imei=rng.integers(0, handsets, calls).astype(np.int64),
        sms_party=rng.integers(10**6, 10**9, sms).astype(np.int64),
        sms_type=sms_type.astype(np.int64),
        sms_hour=_daytime_hours(rng, sms, office=True),
        sms_day=rng.integers(start, start + active_days, sms).clip(1, DAYS).astype(np.int64),
        app_flow=rng.lognormal(np.log(2), 1.5, records),
        app_month=rng.integers(MONTHS - months, MONTHS, records).astype(np.int64),
        arpu=np.round(bill * rng.normal(1.0, 0.3, months), 2).clip(0),
    )


def simulate_population(
    people: int = 6000, *, seed: int = 0, params: PopulationParams | None = None
) -> RiskData:
    """``people`` simulated subscribers as Sichuan-style features and labels (seeded)."""
    p = params or PopulationParams()
    rng = np.random.default_rng(seed)
    labels = (rng.random(people) < p.fraud_share).astype(np.int64)
    records = [
        _fraud(rng, rng.random() < p.quiet_fraud_share)
        if label
        else _ordinary(rng, rng.random() < p.busy_share)
        for label in labels
    ]
    ids = tuple(f"sim-{seed}-{i}" for i in range(people))
    return RiskData(feature_matrix(records), labels, FEATURES, ids)


def write_csv(data: RiskData, path: Path) -> Path:
    """``data`` as a CSV in Sichuan's layout (``phone_no_m``, the features, ``label``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["phone_no_m", *data.names, "label"])
        for i in range(data.labels.size):
            row = ["" if np.isnan(v) else repr(float(v)) for v in data.features[i]]
            writer.writerow([data.ids[i] if data.ids else str(i), *row, int(data.labels[i])])
    return path
