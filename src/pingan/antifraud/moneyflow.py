"""Money flow: graph features on transfers to flag mule accounts.

Per account: counts, distinct counterparts and amounts in and out; the largest fan-in / fan-out
inside any sliding time window (transfers, distinct counterparts, amount); pass-through (how
much of what comes in goes out, and how fast: the share of incoming money followed by an outgoing
transfer within ``pass_window``, and the median delay); short cycles through the account (exact
2- and 3-cycle counts from sparse matrix products, membership of a non-trivial strongly
connected component, and a bounded DFS for exact simple cycles up to a length); and the
neighbourhood signal "sends money to an account with a large windowed fan-in".

Everything is vectorised with numpy / scipy.sparse except the distinct-counterpart window count
and the bounded DFS. Time is in whatever unit the transfers use (AMLSim: steps of a day; the
desk: seconds), so windows are given in the same unit.
"""

from __future__ import annotations

import csv
import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import connected_components

FEATURE_NAMES: Final[tuple[str, ...]] = (
    "in_count",
    "out_count",
    "in_degree",
    "out_degree",
    "in_amount",
    "out_amount",
    "mean_in_amount",
    "mean_out_amount",
    "fanin_count_window",
    "fanin_accounts_window",
    "fanin_amount_window",
    "fanout_count_window",
    "fanout_accounts_window",
    "pass_through_ratio",
    "pass_through_fast_share",
    "pass_through_median_delay",
    "cycles_2",
    "cycles_3",
    "in_scc",
    "sends_to_fanin_max",
    "sends_to_hub_amount",
)


@dataclass(frozen=True, slots=True)
class Transfers:
    """Transfers as parallel arrays; accounts are integers ``0..n_accounts-1``."""

    src: NDArray[np.int64]
    dst: NDArray[np.int64]
    amount: NDArray[np.float64]
    time: NDArray[np.float64]
    n_accounts: int

    @classmethod
    def from_lists(
        cls,
        src: Sequence[int],
        dst: Sequence[int],
        amount: Sequence[float],
        time: Sequence[float],
        n_accounts: int | None = None,
    ) -> Transfers:
        """Build from Python sequences (``n_accounts`` defaults to the largest id + 1)."""
        s = np.asarray(src, dtype=np.int64)
        d = np.asarray(dst, dtype=np.int64)
        n = n_accounts if n_accounts is not None else int(max(s.max(), d.max()) + 1)
        return cls(s, d, np.asarray(amount, dtype=np.float64), np.asarray(time, float), n)


def load_amlsim(path: Path) -> tuple[Transfers, NDArray[np.int64]]:
    """AMLSim ``nodes.csv`` (isFraud) and ``transactions.csv`` from a ``.tgz`` or a directory."""

    def read(name: str) -> list[dict[str, str]]:
        if path.is_dir():
            text = (path / name).read_text(encoding="utf-8")
        else:
            with tarfile.open(path) as tf:
                member = next(m for m in tf.getmembers() if m.name.endswith("/" + name))
                fh = tf.extractfile(member)
                assert fh is not None
                text = fh.read().decode("utf-8")
        return list(csv.DictReader(io.StringIO(text, newline="")))

    nodes = read("nodes.csv")
    n = max(int(r["nodeid"]) for r in nodes) + 1
    labels = np.zeros(n, dtype=np.int64)
    for r in nodes:
        labels[int(r["nodeid"])] = int(r["isFraud"])
    tx = read("transactions.csv")
    transfers = Transfers(
        np.array([int(r["sourceNodeId"]) for r in tx], dtype=np.int64),
        np.array([int(r["targetNodeId"]) for r in tx], dtype=np.int64),
        np.array([float(r["value"]) for r in tx], dtype=np.float64),
        np.array([float(r["time"]) for r in tx], dtype=np.float64),
        n,
    )
    return transfers, labels


def _window_max(
    key: NDArray[np.int64],
    other: NDArray[np.int64],
    amount: NDArray[np.float64],
    time: NDArray[np.float64],
    n: int,
    window: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per ``key`` account: max transfers, distinct ``other`` accounts and amount in any window
    ``[t - window, t]`` ending at one of its transfers."""
    order = np.lexsort((time, key))
    k, o, a, t = key[order], other[order], amount[order], time[order]
    # position of each transfer's window start inside its own key group
    composite = k.astype(np.float64) * (float(t.max() - t.min()) + window + 1.0) + (t - t.min())
    start = np.searchsorted(composite, composite - window, side="left")
    count = np.arange(k.size) - start + 1
    csum = np.concatenate(([0.0], np.cumsum(a)))
    amt = csum[np.arange(k.size) + 1] - csum[start]
    max_count = np.zeros(n)
    max_amt = np.zeros(n)
    np.maximum.at(max_count, k, count)
    np.maximum.at(max_amt, k, amt)
    distinct = np.zeros(n)
    # distinct counterparts: only windows holding more than one transfer need a set
    for j in np.flatnonzero(count > 1):
        val = float(len(set(o[start[j] : j + 1].tolist())))
        if val > distinct[k[j]]:
            distinct[k[j]] = val
    single = count == 1
    np.maximum.at(distinct, k[single], 1.0)
    return max_count, distinct, max_amt


def short_cycle_counts(
    tx: Transfers,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Per account: 2-cycles and 3-cycles through it (distinct directed edges, self-loops
    ignored), and whether it lies in a strongly connected component of more than one account."""
    n = tx.n_accounts
    keep = tx.src != tx.dst
    a = sp.csr_matrix(
        (np.ones(int(keep.sum())), (tx.src[keep], tx.dst[keep])), shape=(n, n), dtype=np.float64
    )
    a.data[:] = 1.0  # duplicates were summed: make the adjacency binary
    at = sp.csr_matrix(a.T)
    c2 = np.asarray(a.multiply(at).sum(axis=1)).ravel()
    a2 = a @ a
    c3 = np.asarray(a2.multiply(at).sum(axis=1)).ravel()
    _, comp = connected_components(a, directed=True, connection="strong")
    sizes = np.bincount(comp)
    return c2, c3, sizes[comp] > 1


def accounts_on_cycles(tx: Transfers, *, max_length: int = 4) -> set[int]:
    """Accounts on at least one simple directed cycle of length ≤ ``max_length`` (bounded DFS).

    Exact but exponential in ``max_length``: meant for small graphs and explanations.
    """
    adj: dict[int, set[int]] = {}
    for s, d in zip(tx.src.tolist(), tx.dst.tolist(), strict=True):
        if s != d:
            adj.setdefault(s, set()).add(d)
    found: set[int] = set()
    for start in adj:
        stack: list[tuple[int, tuple[int, ...]]] = [(start, (start,))]
        while stack:
            node, path = stack.pop()
            for nxt in adj.get(node, ()):
                if nxt == start and len(path) >= 2:
                    found.update(path)
                elif nxt > start and nxt not in path and len(path) < max_length:
                    stack.append((nxt, (*path, nxt)))
    return found


def pass_through(
    tx: Transfers, *, pass_window: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per account: min(in, out) / max(in, out) of the amounts; the share of incoming amount
    followed by an outgoing transfer within ``pass_window`` (same time or later); the median
    delay from an incoming transfer to the next outgoing one (NaN when money never leaves)."""
    n = tx.n_accounts
    in_amt = np.bincount(tx.dst, weights=tx.amount, minlength=n)
    out_amt = np.bincount(tx.src, weights=tx.amount, minlength=n)
    hi = np.maximum(in_amt, out_amt)
    ratio = np.divide(np.minimum(in_amt, out_amt), hi, out=np.zeros(n), where=hi > 0)
    span = float(tx.time.max() - tx.time.min()) + 1.0 if tx.time.size else 1.0
    base = float(tx.time.min()) if tx.time.size else 0.0
    out_key = np.sort(tx.src.astype(np.float64) * (2 * span) + (tx.time - base))
    in_key = tx.dst.astype(np.float64) * (2 * span) + (tx.time - base)
    pos = np.searchsorted(out_key, in_key, side="left")
    nxt = np.full(tx.dst.size, np.nan)
    ok = pos < out_key.size
    same = np.zeros(tx.dst.size, dtype=bool)
    same[ok] = np.floor(out_key[pos[ok]] / (2 * span)) == tx.dst[ok]
    nxt[same] = out_key[pos[same]] - in_key[same]
    fast = same & (nxt <= pass_window)
    fast_amt = np.bincount(tx.dst, weights=tx.amount * fast, minlength=n)
    share = np.divide(fast_amt, in_amt, out=np.zeros(n), where=in_amt > 0)
    median = np.full(n, np.nan)
    order = np.argsort(tx.dst, kind="stable")
    d_sorted, delays = tx.dst[order], nxt[order]
    bounds = np.flatnonzero(np.diff(d_sorted)) + 1
    for group_delays, acct in zip(
        np.split(delays, bounds), d_sorted[np.concatenate(([0], bounds))], strict=True
    ):
        vals = group_delays[~np.isnan(group_delays)]
        if vals.size:
            median[int(acct)] = float(np.median(vals))
    return ratio, share, median


def account_features(
    tx: Transfers, *, window: float, pass_window: float, hub_fanin: int = 10
) -> NDArray[np.float64]:
    """The feature matrix (accounts × :data:`FEATURE_NAMES`)."""
    n = tx.n_accounts
    in_count = np.bincount(tx.dst, minlength=n).astype(np.float64)
    out_count = np.bincount(tx.src, minlength=n).astype(np.float64)
    pairs = np.unique(np.stack([tx.src, tx.dst], axis=1), axis=0)
    in_degree = np.bincount(pairs[:, 1], minlength=n).astype(np.float64)
    out_degree = np.bincount(pairs[:, 0], minlength=n).astype(np.float64)
    in_amount = np.bincount(tx.dst, weights=tx.amount, minlength=n)
    out_amount = np.bincount(tx.src, weights=tx.amount, minlength=n)
    mean_in = np.divide(in_amount, in_count, out=np.zeros(n), where=in_count > 0)
    mean_out = np.divide(out_amount, out_count, out=np.zeros(n), where=out_count > 0)
    fi_count, fi_accts, fi_amt = _window_max(tx.dst, tx.src, tx.amount, tx.time, n, window)
    fo_count, fo_accts, _ = _window_max(tx.src, tx.dst, tx.amount, tx.time, n, window)
    ratio, share, median = pass_through(tx, pass_window=pass_window)
    c2, c3, in_scc = short_cycle_counts(tx)
    recv_fanin = fi_accts[tx.dst]
    sends_max = np.zeros(n)
    np.maximum.at(sends_max, tx.src, recv_fanin)
    hub_amt = np.bincount(tx.src, weights=tx.amount * (recv_fanin >= hub_fanin), minlength=n)
    return np.column_stack(
        [
            in_count,
            out_count,
            in_degree,
            out_degree,
            in_amount,
            out_amount,
            mean_in,
            mean_out,
            fi_count,
            fi_accts,
            fi_amt,
            fo_count,
            fo_accts,
            ratio,
            share,
            median,
            c2,
            c3,
            in_scc.astype(np.float64),
            sends_max,
            hub_amt,
        ]
    )


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A fitted rule: flag when ``feature >= value`` (one or more alternatives, OR-ed)."""

    rules: tuple[tuple[str, float], ...]

    def flag(self, features: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Boolean flag per account."""
        out = np.zeros(features.shape[0], dtype=bool)
        for name, value in self.rules:
            out |= _column(features, name) >= value
        return out


def _column(features: NDArray[np.float64], name: str) -> NDArray[np.float64]:
    """A feature column by name; ``degree`` is in-degree + out-degree."""
    if name == "degree":
        return _column(features, "in_degree") + _column(features, "out_degree")
    out: NDArray[np.float64] = features[:, FEATURE_NAMES.index(name)]
    return out


def _best_threshold(values: NDArray[np.float64], labels: NDArray[np.int64]) -> tuple[float, float]:
    from sklearn.metrics import f1_score

    best = (0.0, -1.0)
    for v in np.unique(values[values > 0])[:500]:
        f1 = float(f1_score(labels, values >= v, zero_division=0))
        if f1 > best[1]:
            best = (float(v), f1)
    return best


def fit_degree_baseline(features: NDArray[np.float64], labels: NDArray[np.int64]) -> Thresholds:
    """Baseline: total distinct-counterpart degree ≥ k, k chosen for F1 on the given data."""
    k, _ = _best_threshold(_column(features, "degree"), labels)
    return Thresholds((("degree", k),))


def fit_fanin_rule(features: NDArray[np.float64], labels: NDArray[np.int64]) -> Thresholds:
    """Rule: windowed fan-in of distinct senders ≥ k, OR sends to an account whose windowed
    fan-in ≥ k (each k chosen for F1 on the given data; the second given the first)."""
    fi = features[:, FEATURE_NAMES.index("fanin_accounts_window")]
    k1, _ = _best_threshold(fi, labels)
    hub = fi >= k1
    sends = features[:, FEATURE_NAMES.index("sends_to_fanin_max")]
    best = (float("inf"), -1.0)
    from sklearn.metrics import f1_score

    for v in np.unique(sends[sends > 0])[:500]:
        f1 = float(f1_score(labels, hub | (sends >= v), zero_division=0))
        if f1 > best[1]:
            best = (float(v), f1)
    return Thresholds((("fanin_accounts_window", k1), ("sends_to_fanin_max", best[0])))


def train_mule_model(
    features: NDArray[np.float64], labels: NDArray[np.int64], *, seed: int = 0
) -> tuple[object, float]:
    """LightGBM on the graph features; returns (booster, F1 threshold from 3-fold OOF)."""
    import lightgbm as lgb
    from sklearn.model_selection import StratifiedKFold

    params = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "verbose": -1,
        "num_threads": 1,
        "seed": seed,
    }
    names = list(FEATURE_NAMES)
    oof = np.zeros(labels.size)
    for tr, te in StratifiedKFold(3, shuffle=True, random_state=seed).split(features, labels):
        b = lgb.train(params, lgb.Dataset(features[tr], labels[tr], feature_name=names), 200)
        oof[te] = b.predict(features[te])
    from pingan.antifraud.risk import best_f1_threshold

    threshold = best_f1_threshold(labels, oof)
    booster = lgb.train(params, lgb.Dataset(features, labels, feature_name=names), 200)
    return booster, threshold


def precision_recall(flags: NDArray[np.bool_], labels: NDArray[np.int64]) -> dict[str, float]:
    """Precision, recall and F1 of boolean flags against 0/1 labels."""
    tp = float(np.sum(flags & (labels == 1)))
    p = tp / max(float(flags.sum()), 1.0)
    r = tp / max(float((labels == 1).sum()), 1.0)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}
