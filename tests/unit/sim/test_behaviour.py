"""The simulated subscribers: seeded, Sichuan's layout, and separable only in part."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pingan.antifraud import risk
from pingan.antifraud.behaviour import FEATURES
from pingan.sim.behaviour import PopulationParams, simulate_population, write_csv


def test_population_is_seeded_and_written_in_sichuans_layout(tmp_path: Path) -> None:
    a = simulate_population(400, seed=3)
    b = simulate_population(400, seed=3)
    assert np.array_equal(np.nan_to_num(a.features), np.nan_to_num(b.features))
    assert a.names == FEATURES and a.features.shape == (400, len(FEATURES))
    assert 0.15 < a.labels.mean() < 0.35
    back = risk.load_sichuan(write_csv(a, tmp_path / "sim.csv"))
    assert back.names == a.names and np.array_equal(back.labels, a.labels)
    assert np.allclose(np.nan_to_num(back.features), np.nan_to_num(a.features))


def test_fraud_numbers_call_out_to_many_people() -> None:
    data = simulate_population(600, seed=1, params=PopulationParams(busy_share=0.0))
    col = {n: i for i, n in enumerate(data.names)}
    fraud, ordinary = data.labels == 1, data.labels == 0
    out_share = data.features[:, col["voc_calltype1"]]
    assert np.median(out_share[fraud]) > 0.9 > np.median(out_share[ordinary])
    per_party = data.features[:, col["phone2opposite_mean"]]
    assert np.median(per_party[fraud]) < np.median(per_party[ordinary])
