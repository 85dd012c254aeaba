"""Subscriber risk model: LightGBM on behavioural call/SMS/app/flow features, with explanations.

Meant for victim risk on the simulator's data; the simulator does not generate those signals
yet, so for now the model is trained AND evaluated on the Sichuan telecom fraud users data
(GAT-COBO, 6,106 users, 55 aggregate features) with a stratified held-out split and stratified
cross-validation. Caveat: Sichuan's label marks *fraud-involved* phone numbers (numbers used by
fraudsters), not victims, so the figures measured here are about spotting fraud-involved
subscribers from the same kind of aggregates; they say nothing yet about victims.

Explanations are LightGBM's exact per-feature SHAP contributions (``pred_contrib=True``), in
log-odds. Models are saved pickle-free: LightGBM's own text format (``risk-<version>.txt``) and
a JSON metadata file (version, data SHA-256, threshold, metrics).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from pingan.core import clock

SICHUAN_CSV: Final = "all_feat_with_label.csv"
ID_COLUMN: Final = "phone_no_m"
LABEL_COLUMN: Final = "label"
MODEL_PREFIX: Final = "risk-"

DEFAULT_PARAMS: Final[dict[str, Any]] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "num_threads": 1,  # multi-threading on a shared, loaded 2-core box is far slower
}
NUM_ROUNDS: Final = 300


@dataclass(frozen=True, slots=True)
class RiskData:
    """A feature matrix with its labels and column names."""

    features: NDArray[np.float64]
    labels: NDArray[np.int64]
    names: tuple[str, ...]
    ids: tuple[str, ...] = ()

    def subset(self, index: NDArray[np.int64]) -> RiskData:
        """The rows at ``index``."""
        return RiskData(
            self.features[index],
            self.labels[index],
            self.names,
            tuple(self.ids[int(i)] for i in index) if self.ids else (),
        )

    def sha256(self) -> str:
        """SHA-256 of the features and labels (for model metadata)."""
        h = hashlib.sha256(np.ascontiguousarray(self.features).tobytes())
        h.update(np.ascontiguousarray(self.labels).tobytes())
        return h.hexdigest()


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def load_sichuan(path: Path) -> RiskData:
    """``all_feat_with_label.csv`` from ``Sichuan.zip`` (or the CSV itself); blanks become NaN."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            member = next(n for n in zf.namelist() if n.endswith(SICHUAN_CSV))
            text = zf.read(member).decode("utf-8-sig")
    else:
        text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    label_at = header.index(LABEL_COLUMN)
    id_at = header.index(ID_COLUMN) if ID_COLUMN in header else -1
    keep = [i for i in range(len(header)) if i not in (label_at, id_at)]
    rows = list(reader)
    features = np.array([[_number(r[i]) for i in keep] for r in rows], dtype=np.float64)
    labels = np.array([int(float(r[label_at])) for r in rows], dtype=np.int64)
    ids = tuple(r[id_at] for r in rows) if id_at >= 0 else ()
    return RiskData(features, labels, tuple(header[i] for i in keep), ids)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's contribution (log-odds) to a risk score, with the feature's value."""

    feature: str
    value: float
    contribution: float


@dataclass(slots=True)
class RiskModel:
    """A trained LightGBM risk model with its decision threshold and metadata."""

    booster: Any
    names: tuple[str, ...]
    threshold: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """Risk probability per row."""
        out: NDArray[np.float64] = np.asarray(self.booster.predict(features), dtype=np.float64)
        return out

    def explain(self, features: NDArray[np.float64], *, top_k: int = 5) -> list[list[Contribution]]:
        """The ``top_k`` features pushing each row's risk up (largest positive SHAP first)."""
        contrib = np.asarray(self.booster.predict(features, pred_contrib=True))[:, :-1]
        out: list[list[Contribution]] = []
        for i in range(features.shape[0]):
            order = np.argsort(-contrib[i])[:top_k]
            out.append(
                [
                    Contribution(self.names[j], float(features[i, j]), float(contrib[i, j]))
                    for j in order
                    if contrib[i, j] > 0
                ]
            )
        return out

    def importance(self) -> list[tuple[str, float]]:
        """Features by total gain, largest first."""
        gain = self.booster.feature_importance(importance_type="gain")
        order = np.argsort(-gain)
        return [(self.names[int(i)], float(gain[int(i)])) for i in order]

    def save(self, directory: Path) -> Path:
        """Write ``risk-<version>.txt`` (LightGBM text model) + ``.json``; returns the txt path."""
        directory.mkdir(parents=True, exist_ok=True)
        version = str(self.metadata.get("version") or clock.now().strftime("%Y%m%dT%H%M%SZ"))
        self.metadata["version"] = version
        path = directory / f"{MODEL_PREFIX}{version}.txt"
        path.write_text(self.booster.model_to_string(), encoding="utf-8")
        meta = dict(self.metadata)
        meta.update(
            names=list(self.names),
            threshold=self.threshold,
            model_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> RiskModel:
        """Load a model written by :meth:`save`; ``ValueError`` on a checksum mismatch."""
        import lightgbm as lgb

        text = path.read_text(encoding="utf-8")
        meta: dict[str, Any] = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if meta.get("model_sha256") != hashlib.sha256(text.encode()).hexdigest():
            raise ValueError(f"{path.name}: checksum does not match its metadata")
        booster = lgb.Booster(model_str=text)
        return cls(booster, tuple(meta["names"]), float(meta["threshold"]), meta)


def best_f1_threshold(labels: NDArray[np.int64], scores: NDArray[np.float64]) -> float:
    """The score threshold maximising F1 (ties: the highest threshold)."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1])) if thresholds.size else 0
    return float(thresholds[best]) if thresholds.size else 0.5


def _oof_scores(fit: Any, data: RiskData, *, folds: int, seed: int) -> NDArray[np.float64]:
    from sklearn.model_selection import StratifiedKFold

    scores = np.zeros(data.labels.shape[0])
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for tr, te in skf.split(data.features, data.labels):
        predict = fit(data.subset(tr))
        scores[te] = predict(data.features[te])
    return scores


def _fit_booster(data: RiskData, *, seed: int, params: dict[str, Any] | None = None) -> Any:
    import lightgbm as lgb

    p = dict(DEFAULT_PARAMS)
    p.update(params or {})
    p["seed"] = seed
    ds = lgb.Dataset(data.features, label=data.labels, feature_name=list(data.names))
    return lgb.train(p, ds, num_boost_round=NUM_ROUNDS)


def train_risk_model(
    data: RiskData, *, seed: int = 0, params: dict[str, Any] | None = None
) -> RiskModel:
    """Fit LightGBM; the F1 threshold comes from 3-fold out-of-fold scores on ``data``."""

    def fit(part: RiskData) -> Any:
        booster = _fit_booster(part, seed=seed, params=params)
        return lambda x: np.asarray(booster.predict(x))

    threshold = best_f1_threshold(data.labels, _oof_scores(fit, data, folds=3, seed=seed))
    booster = _fit_booster(data, seed=seed, params=params)
    return RiskModel(
        booster,
        data.names,
        threshold,
        {
            "kind": "antifraud-risk",
            "created_at": clock.now().isoformat(),
            "training_sha256": data.sha256(),
            "n_train": int(data.labels.shape[0]),
            "positives": int(data.labels.sum()),
            "rounds": NUM_ROUNDS,
        },
    )


@dataclass(slots=True)
class BaselineModel:
    """Logistic regression baseline (median imputation, signed log1p, standard scaling)."""

    pipeline: Any
    threshold: float

    def predict_proba(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """Risk probability per row."""
        out: NDArray[np.float64] = self.pipeline.predict_proba(features)[:, 1]
        return out


def _signed_log1p(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = np.sign(x) * np.log1p(np.abs(x))
    return out


def _baseline_pipeline(seed: int) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(
        SimpleImputer(strategy="median"),
        FunctionTransformer(_signed_log1p),
        StandardScaler(),
        LogisticRegression(max_iter=5000, random_state=seed),
    )


def train_baseline(data: RiskData, *, seed: int = 0) -> BaselineModel:
    """Fit the logistic-regression baseline with its own out-of-fold F1 threshold."""

    def fit(part: RiskData) -> Any:
        pipe = _baseline_pipeline(seed).fit(part.features, part.labels)
        return lambda x: pipe.predict_proba(x)[:, 1]

    threshold = best_f1_threshold(data.labels, _oof_scores(fit, data, folds=3, seed=seed))
    return BaselineModel(_baseline_pipeline(seed).fit(data.features, data.labels), threshold)


def binary_metrics(
    labels: NDArray[np.int64], scores: NDArray[np.float64], threshold: float
) -> dict[str, float]:
    """PR-AUC (average precision), ROC-AUC, and precision/recall/F1 at ``threshold``."""
    from sklearn.metrics import (
        average_precision_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    pred = (scores >= threshold).astype(int)
    return {
        "pr_auc": float(average_precision_score(labels, scores)),
        "roc_auc": float(roc_auc_score(labels, scores)),
        "precision": float(precision_score(labels, pred, zero_division=0)),
        "recall": float(recall_score(labels, pred, zero_division=0)),
        "f1": float(f1_score(labels, pred, zero_division=0)),
        "threshold": float(threshold),
    }


def holdout_split(
    data: RiskData, *, test_size: float = 0.2, seed: int = 0
) -> tuple[RiskData, RiskData]:
    """A stratified train/test split."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(data.labels.shape[0])
    tr, te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=data.labels)
    return data.subset(tr), data.subset(te)


def cross_validate(
    data: RiskData, *, folds: int = 5, seed: int = 0
) -> dict[str, dict[str, tuple[float, float]]]:
    """Stratified k-fold mean and std of each metric for LightGBM and the LR baseline.

    Thresholds are chosen inside each training fold (out-of-fold), never on the test fold.
    """
    from sklearn.model_selection import StratifiedKFold

    runs: dict[str, list[dict[str, float]]] = {"lightgbm": [], "logistic_regression": []}
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for tr, te in skf.split(data.features, data.labels):
        train, test = data.subset(tr), data.subset(te)
        model = train_risk_model(train, seed=seed)
        runs["lightgbm"].append(
            binary_metrics(test.labels, model.predict_proba(test.features), model.threshold)
        )
        base = train_baseline(train, seed=seed)
        runs["logistic_regression"].append(
            binary_metrics(test.labels, base.predict_proba(test.features), base.threshold)
        )
    return {
        name: {
            k: (float(np.mean([r[k] for r in rs])), float(np.std([r[k] for r in rs])))
            for k in rs[0]
        }
        for name, rs in runs.items()
    }


def latest_model_path(directory: Path) -> Path | None:
    """The newest ``risk-*.txt`` in ``directory``, or None."""
    found = sorted(directory.glob(f"{MODEL_PREFIX}*.txt"))
    return found[-1] if found else None


def describe(contributions: Sequence[Contribution]) -> str:
    """``name=value (+contribution)`` joined with ``; `` for a CSV or a console."""
    return "; ".join(f"{c.feature}={c.value:.4g} (+{c.contribution:.2f})" for c in contributions)
