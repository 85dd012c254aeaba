"""The desk's quality evaluation, shared by ``cli evaluate`` and ``bench/antifraud/quality.py``.

Reads the public data sets from a directory laid out like ``../shared/data/fraud``
(``telecom_fraud_texts_5/``, ``sichuan/Sichuan.zip``, ``amlsim/20K_fanin200.tgz``) and returns
plain dicts of measured figures; :func:`render` turns them into a text table.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from pingan.antifraud import moneyflow, risk, text

PUBLISHED_ROBERTA_MHARC_F1: Final = 0.9810
"""RoBERTa-MHARC macro-F1 on Telecom_Fraud_Texts_5 (Li et al., Appl. Sci. 2024, 14, 11628)."""

MARKETING_PREFIX: Final = "【中国移动】"
MARKETING_SUFFIX: Final = "回复TD退订。"


def default_fraud_data() -> Path:
    """``PINGAN_FRAUD_DATA``, else ``../shared/data/fraud`` next to the working directory."""
    env = os.environ.get("PINGAN_FRAUD_DATA")
    return Path(env) if env else Path.cwd().parent / "shared" / "data" / "fraud"


def _svc_baseline(train: Sequence[text.LabelledText]) -> Callable[[Sequence[str]], list[str]]:
    """Plain TF-IDF char 1–3-grams + LinearSVC on the raw text (no normalisation)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    pipe = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2),
        LinearSVC(C=1.0),
    )
    pipe.fit([i.text for i in train], [i.label for i in train])
    return lambda texts: [str(p) for p in pipe.predict(list(texts))]


def _expected_calibration_error(
    truth: NDArray[np.bool_], prob: NDArray[np.float64], bins: int = 10
) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += float(sel.mean()) * abs(float(prob[sel].mean()) - float(truth[sel].mean()))
    return ece


def evaluate_text(data: Path, *, seed: int = 0) -> dict[str, Any]:
    """Text classifier vs the plain LinearSVC baseline, on the public split and other styles."""
    public = text.load_telecom_fraud_texts(data / "telecom_fraud_texts_5")
    other = text.load_other_styles()
    train, test = text.stratified_split(public, seed=seed)
    held = [o for o in other if o.split == "heldout"]
    reminders = [o for o in held if o.style == "police_reminder"]
    test_fraud = [i for i in test if i.label != text.NORMAL]
    probed = [
        text.LabelledText(MARKETING_PREFIX + i.text + MARKETING_SUFFIX, i.label, i.source)
        for i in test_fraud
    ]

    def summary(predict: Callable[[Sequence[str]], list[str]]) -> dict[str, float]:
        pub = text.evaluate_text_model(predict, test)
        oth = text.evaluate_text_model(predict, held)
        still = predict([i.text for i in probed])
        flagged_reminders = predict([i.text for i in reminders])
        return {
            "public_type_macro_f1": pub["type_macro_f1"],
            "public_binary_macro_f1": pub["binary_macro_f1"],
            "other_binary_macro_f1": oth["binary_macro_f1"],
            "other_fraud_recall": oth["fraud_recall"],
            "other_normal_specificity": oth["normal_specificity"],
            "other_type_accuracy": oth["type_accuracy"],
            "marketing_probe_still_fraud": float(np.mean([p != text.NORMAL for p in still])),
            "police_reminders_flagged": float(
                np.mean([p != text.NORMAL for p in flagged_reminders])
            ),
        }

    results: dict[str, Any] = {
        "n_train": len(train),
        "n_test": len(test),
        "n_other_heldout": len(held),
        "n_other_train": len(other) - len(held),
        "n_police_reminders": len(reminders),
        "n_probed": len(probed),
    }
    results["baseline_svc"] = summary(_svc_baseline(train))
    for name, use_other in (("ours_public_only", False), ("ours", True)):
        items, weights = text.training_set(train, other, use_other_styles=use_other)
        model = text.train_text_model(items, weights=weights)

        def predict(texts: Sequence[str], m: text.TextModel = model) -> list[str]:
            return m.predict_labels(texts)

        results[name] = summary(predict)
        proba = model.predict_proba([i.text for i in test])
        fraud = model.fraud_probability(proba)
        truth = np.array([i.label != text.NORMAL for i in test])
        results[name]["public_brier"] = float(np.mean((fraud - truth) ** 2))
        results[name]["public_ece"] = _expected_calibration_error(truth, fraud)
    return results


def evaluate_risk(data: Path, *, seed: int = 0, folds: int = 5) -> dict[str, Any]:
    """LightGBM vs logistic regression on Sichuan: a stratified 80/20 hold-out and k-fold CV."""
    ds = risk.load_sichuan(data / "sichuan" / "Sichuan.zip")
    train, test = risk.holdout_split(ds, seed=seed)
    model = risk.train_risk_model(train, seed=seed)
    base = risk.train_baseline(train, seed=seed)
    out: dict[str, Any] = {
        "n": int(ds.labels.size),
        "positives": int(ds.labels.sum()),
        "n_test": int(test.labels.size),
        "lightgbm": risk.binary_metrics(
            test.labels, model.predict_proba(test.features), model.threshold
        ),
        "logistic_regression": risk.binary_metrics(
            test.labels, base.predict_proba(test.features), base.threshold
        ),
        "top_features": [name for name, _ in model.importance()[:5]],
    }
    if folds > 1:
        out["cv"] = risk.cross_validate(ds, folds=folds, seed=seed)
        out["folds"] = folds
    return out


def evaluate_moneyflow(
    data: Path, *, seed: int = 0, window: float = 1.0, pass_window: float = 1.0
) -> dict[str, Any]:
    """Mule flags on AMLSim (70/30 stratified account split): degree threshold baseline,
    the fan-in rule and LightGBM on graph features (thresholds fitted on the 70 %)."""
    from sklearn.model_selection import train_test_split

    tx, labels = moneyflow.load_amlsim(data / "amlsim" / "20K_fanin200.tgz")
    feats = moneyflow.account_features(tx, window=window, pass_window=pass_window)
    idx = np.arange(labels.size)
    tr, te = train_test_split(idx, test_size=0.3, random_state=seed, stratify=labels)
    degree = moneyflow.fit_degree_baseline(feats[tr], labels[tr])
    rule = moneyflow.fit_fanin_rule(feats[tr], labels[tr])
    booster, threshold = moneyflow.train_mule_model(feats[tr], labels[tr], seed=seed)
    scores = np.asarray(booster.predict(feats[te]))  # type: ignore[attr-defined]
    return {
        "accounts": int(labels.size),
        "transfers": int(tx.src.size),
        "mules": int(labels.sum()),
        "n_test": int(te.size),
        "window": window,
        "degree_threshold": {
            **moneyflow.precision_recall(degree.flag(feats[te]), labels[te]),
            "rule": degree.rules,
        },
        "fanin_rule": {
            **moneyflow.precision_recall(rule.flag(feats[te]), labels[te]),
            "rule": rule.rules,
        },
        "lightgbm": {
            **moneyflow.precision_recall(scores >= threshold, labels[te]),
            "threshold": threshold,
        },
    }


def render(
    text_res: dict[str, Any] | None,
    risk_res: dict[str, Any] | None,
    flow_res: dict[str, Any] | None,
) -> list[str]:
    """The quality table as lines of text."""
    lines: list[str] = []
    if text_res is not None:
        r = text_res
        lines += [
            "== Fraud text (Telecom_Fraud_Texts_5, stratified 80/20 split; other styles: "
            f"{r['n_other_heldout']} held-out hand-written texts never trained on) ==",
            f"train {r['n_train']}, test {r['n_test']}, other-style train part used by 'ours': "
            f"{r['n_other_train']}",
            f"{'model':<34}{'public type F1':>15}{'other bin F1':>13}{'other fraud R':>14}"
            f"{'other normal':>13}{'mkt probe':>10}{'reminders':>10}",
            f"{'RoBERTa-MHARC (published)':<34}{PUBLISHED_ROBERTA_MHARC_F1:>15.4f}"
            f"{'n/a':>13}{'n/a':>14}{'n/a':>13}{'n/a':>10}{'n/a':>10}",
        ]
        for key, label in (
            ("baseline_svc", "TF-IDF char1-3 + LinearSVC (raw)"),
            ("ours_public_only", "ours, public data only"),
            ("ours", "ours (+ other-style train half)"),
        ):
            m = r[key]
            lines.append(
                f"{label:<34}{m['public_type_macro_f1']:>15.4f}{m['other_binary_macro_f1']:>13.3f}"
                f"{m['other_fraud_recall']:>14.3f}{m['other_normal_specificity']:>13.3f}"
                f"{m['marketing_probe_still_fraud']:>10.3f}{m['police_reminders_flagged']:>10.3f}"
            )
        lines += [
            "public type F1 = macro-F1 over the 5 classes; other bin F1 = fraud-vs-normal "
            "macro-F1 on other styles; other fraud R = share of other-style fraud flagged; "
            "other normal = share of other-style normal texts left unflagged; mkt probe = share "
            f"of {r['n_probed']} held-out fraud texts still flagged after adding "
            f"{MARKETING_PREFIX}…{MARKETING_SUFFIX}; reminders = share of "
            f"{r['n_police_reminders']} held-out genuine police reminders flagged (lower is "
            "better).",
            f"ours calibration on the public test split (fraud vs normal): Brier "
            f"{r['ours']['public_brier']:.4f}, ECE {r['ours']['public_ece']:.4f}",
            "",
        ]
    if risk_res is not None:
        r = risk_res
        lines += [
            f"== Risk (Sichuan, {r['n']} users, {r['positives']} fraud; stratified 80/20, "
            f"test {r['n_test']}; label = fraud-involved number, not victim) ==",
            f"{'model':<24}{'PR-AUC':>8}{'ROC-AUC':>9}{'F1':>7}{'P':>7}{'R':>7}",
        ]
        for key in ("lightgbm", "logistic_regression"):
            m = r[key]
            lines.append(
                f"{key:<24}{m['pr_auc']:>8.4f}{m['roc_auc']:>9.4f}{m['f1']:>7.3f}"
                f"{m['precision']:>7.3f}{m['recall']:>7.3f}"
            )
        if "cv" in r:
            lines.append(f"{r['folds']}-fold stratified CV (mean ± std):")
            for key, m in r["cv"].items():
                lines.append(
                    f"  {key:<22} PR-AUC {m['pr_auc'][0]:.4f} ± {m['pr_auc'][1]:.4f}   "
                    f"F1 {m['f1'][0]:.3f} ± {m['f1'][1]:.3f}"
                )
        lines += [f"top LightGBM features (gain): {', '.join(r['top_features'])}", ""]
    if flow_res is not None:
        r = flow_res
        lines += [
            f"== Mule accounts (AMLSim 20K fan-in: {r['accounts']} accounts, {r['transfers']} "
            f"transfers, {r['mules']} flagged; 70/30 split, test {r['n_test']}; window "
            f"{r['window']:g} step) ==",
            f"{'method':<36}{'precision':>10}{'recall':>8}{'F1':>7}",
        ]
        for key, label in (
            ("degree_threshold", "degree threshold (baseline)"),
            ("fanin_rule", "windowed fan-in rule"),
            ("lightgbm", "LightGBM on graph features"),
        ):
            m = r[key]
            lines.append(f"{label:<36}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}")
        lines += [
            f"degree rule: {r['degree_threshold']['rule']}; fan-in rule: {r['fanin_rule']['rule']}",
            "",
        ]
    return lines


def evaluate_risk_transfer(data: Path, source: risk.RiskData, *, seed: int = 0) -> dict[str, Any]:
    """LightGBM trained on ``source`` (simulated subscribers, Sichuan's columns) and
    evaluated on Sichuan: on the same 20 % hold-out as :func:`evaluate_risk` and on every
    row; next to it LightGBM trained in-domain on Sichuan's 80 % with the same columns, so
    the cost of the dropped columns and the cost of the domain shift show apart. The
    threshold of the transferred model is chosen on the simulated data (out-of-fold), as it
    would be in use."""
    from pingan.antifraud.behaviour import select_columns

    ds = select_columns(risk.load_sichuan(data / "sichuan" / "Sichuan.zip"), source.names)
    train, test = risk.holdout_split(ds, seed=seed)
    transferred = risk.train_risk_model(source, seed=seed)
    in_domain = risk.train_risk_model(train, seed=seed)
    return {
        "n_source": int(source.labels.size),
        "source_positives": int(source.labels.sum()),
        "n_features": len(source.names),
        "n_test": int(test.labels.size),
        "n": int(ds.labels.size),
        "simulator_to_test": risk.binary_metrics(
            test.labels, transferred.predict_proba(test.features), transferred.threshold
        ),
        "simulator_to_all": risk.binary_metrics(
            ds.labels, transferred.predict_proba(ds.features), transferred.threshold
        ),
        "in_domain_same_columns": risk.binary_metrics(
            test.labels, in_domain.predict_proba(test.features), in_domain.threshold
        ),
        "top_features": [name for name, _ in transferred.importance()[:5]],
    }


def render_risk_transfer(r: dict[str, Any]) -> list[str]:
    """The "trained on simulator → Sichuan" rows of the risk table."""
    lines = [
        f"== Risk, trained on the simulator ({r['n_source']} simulated subscribers, "
        f"{r['source_positives']} fraud-involved; {r['n_features']} of Sichuan's columns) "
        "→ evaluated on Sichuan ==",
        f"{'model':<42}{'PR-AUC':>8}{'ROC-AUC':>9}{'F1':>7}{'P':>7}{'R':>7}",
    ]
    for key, label in (
        ("in_domain_same_columns", f"Sichuan 80 % → Sichuan test ({r['n_test']})"),
        ("simulator_to_test", f"simulator → Sichuan test ({r['n_test']})"),
        ("simulator_to_all", f"simulator → Sichuan, all {r['n']}"),
    ):
        m = r[key]
        lines.append(
            f"{label:<42}{m['pr_auc']:>8.4f}{m['roc_auc']:>9.4f}{m['f1']:>7.3f}"
            f"{m['precision']:>7.3f}{m['recall']:>7.3f}"
        )
    lines += [
        "simulator rows: threshold chosen on the simulated data (out-of-fold F1); "
        "dropped Sichuan columns: city_name_call, county_name_call, city_name_nunique, "
        "county_name_nunique",
        f"top features of the simulator-trained model (gain): {', '.join(r['top_features'])}",
        "",
    ]
    return lines
