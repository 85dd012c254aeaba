"""Money-flow graph features on tiny hand-made graphs, and AMLSim loading."""

from __future__ import annotations

import numpy as np
import pytest

from pingan.antifraud import moneyflow as mf
from tests.conftest import SHARED_DATA

AMLSIM = SHARED_DATA / "fraud" / "amlsim" / "20K_fanin200.tgz"


def _col(features: np.ndarray, name: str) -> np.ndarray:
    return features[:, mf.FEATURE_NAMES.index(name)]


def test_fan_in_window_pass_through_and_hub_neighbourhood() -> None:
    # accounts 1..4 send to hub 0 at t = 0, 1, 2, 10; hub 0 forwards to 5 at t = 3 (amount 250);
    # account 1 sends twice (t = 0 and t = 1.5)
    tx = mf.Transfers.from_lists(
        src=[1, 1, 2, 3, 4, 0],
        dst=[0, 0, 0, 0, 0, 5],
        amount=[100, 50, 100, 100, 100, 250],
        time=[0, 1.5, 1, 2, 10, 3],
        n_accounts=6,
    )
    f = mf.account_features(tx, window=2.0, pass_window=2.0, hub_fanin=3)
    assert _col(f, "in_count")[0] == 5
    assert _col(f, "in_degree")[0] == 4
    assert _col(f, "in_amount")[0] == 450
    # window [0, 2] holds the transfers at 0, 1, 1.5, 2: four transfers from three accounts
    assert _col(f, "fanin_count_window")[0] == 4
    assert _col(f, "fanin_accounts_window")[0] == 3
    assert _col(f, "fanin_amount_window")[0] == 350
    assert _col(f, "pass_through_ratio")[0] == pytest.approx(250 / 450)
    # incoming at 1, 1.5, 2 are followed within 2 by the transfer at 3 (250 of 450)
    assert _col(f, "pass_through_fast_share")[0] == pytest.approx(250 / 450)
    # delays to the next outgoing transfer: 3, 1.5, 2, 1; the one at 10 never leaves
    assert _col(f, "pass_through_median_delay")[0] == pytest.approx(1.75)
    assert np.isnan(_col(f, "pass_through_median_delay")[1])
    # senders reach a hub with windowed fan-in 3; account 1 sent 150 to it
    assert _col(f, "sends_to_fanin_max")[1] == 3
    assert _col(f, "sends_to_hub_amount")[1] == 150
    assert _col(f, "sends_to_hub_amount")[5] == 0


def test_cycles() -> None:
    # 0 -> 1 -> 2 -> 0 (3-cycle), 3 <-> 4 (2-cycle), 5 -> 0 (no cycle), a 4-cycle 6->7->8->9->6
    tx = mf.Transfers.from_lists(
        src=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0],
        dst=[1, 2, 0, 4, 3, 0, 7, 8, 9, 6, 1],
        amount=[1.0] * 11,
        time=[0.0] * 11,
        n_accounts=10,
    )
    c2, c3, in_scc = mf.short_cycle_counts(tx)
    assert c3.tolist()[:6] == [1, 1, 1, 0, 0, 0]
    assert c2.tolist()[:6] == [0, 0, 0, 1, 1, 0]
    assert in_scc.tolist() == [True] * 5 + [False] + [True] * 4
    assert mf.accounts_on_cycles(tx, max_length=3) == {0, 1, 2, 3, 4}
    assert mf.accounts_on_cycles(tx, max_length=4) == {0, 1, 2, 3, 4, 6, 7, 8, 9}


def test_degree_baseline_and_rule_flags() -> None:
    features = np.zeros((4, len(mf.FEATURE_NAMES)))
    features[:, mf.FEATURE_NAMES.index("in_degree")] = [1, 5, 9, 2]
    labels = np.array([0, 1, 1, 0])
    rule = mf.fit_degree_baseline(features, labels)
    assert rule.rules == (("degree", 5.0),)
    assert rule.flag(features).tolist() == [False, True, True, False]
    assert mf.precision_recall(rule.flag(features), labels) == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
    }


@pytest.mark.skipif(not AMLSIM.exists(), reason=f"AMLSim sample not found at {AMLSIM}")
def test_amlsim_loads() -> None:
    tx, labels = mf.load_amlsim(AMLSIM)
    assert tx.n_accounts == 20_000 and tx.src.size == 118_250
    assert int(labels.sum()) == 954
