"""Fraud-text classifier: normalisation, CSV encodings, training on a slice, persistence."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from pingan.antifraud import text
from tests.conftest import SHARED_DATA

TEXTS_DIR = SHARED_DATA / "fraud" / "telecom_fraud_texts_5"
needs_texts = pytest.mark.skipif(
    not (TEXTS_DIR / "label04-last.csv").exists(),
    reason=f"Telecom_Fraud_Texts_5 not found under {TEXTS_DIR} (shared data absent)",
)


def test_normalise_removes_marketing_artefacts() -> None:
    raw = "【中国联通】尊敬的用户，流量包5元1GB，点击https://u.10010.cn/qAE9U办理，回复TD退订。"
    out = text.normalise(raw)
    assert "联通" not in out
    assert "退订" not in out
    assert "10010" not in out
    assert "@" in out and "#" in out
    # the data set's placeholders map onto the same tokens as real values
    assert text.normalise("DIGIT元 请问是XXX吗") == text.normalise("35元 请问是NAME吗")


def test_csv_reading_detects_gbk_and_utf8(tmp_path: Path) -> None:
    rows = "text,label\n您好，我是公安局的王警官,1\n快递到了,0\n"
    utf8 = tmp_path / "u.csv"
    gbk = tmp_path / "g.csv"
    bom = tmp_path / "b.csv"
    utf8.write_text(rows, encoding="utf-8")
    gbk.write_bytes(rows.encode("gbk"))
    bom.write_bytes(rows.encode("utf-8-sig"))
    assert text.detect_encoding(gbk.read_bytes()) == "gb18030"
    for path in (utf8, gbk, bom):
        read = text.read_csv_rows(path)
        assert [r["text"] for r in read] == ["您好，我是公安局的王警官", "快递到了"]


def test_other_styles_file_is_valid_and_split() -> None:
    items = text.load_other_styles()
    assert 60 <= len(items) <= 100
    assert {i.split for i in items} == {"train", "heldout"}
    held = [i for i in items if i.split == "heldout"]
    assert {i.label for i in held} >= {"normal", "task_rebate", "investment", "romance"}
    assert any(i.style == "police_reminder" for i in held)


def _toy_items() -> list[text.LabelledText]:
    rng = random.Random(0)
    fraud = ["公安局", "涉嫌洗钱", "安全账户", "配合调查", "冻结资金", "逮捕令"]
    normal = ["周末聚餐", "快递到了", "生日快乐", "开会改时间", "买菜回家", "下雨带伞"]
    items = []
    for _ in range(120):
        items.append(text.LabelledText("".join(rng.sample(fraud, 3)), "police_impersonation", "t"))
        items.append(text.LabelledText("".join(rng.sample(normal, 3)), "normal", "t"))
    return items


def test_model_save_load_roundtrip_and_reasons(tmp_path: Path) -> None:
    cfg = text.TextModelConfig(char_max_features=2000, use_words=True, min_df=1)
    model = text.train_text_model(_toy_items(), config=cfg)
    path = model.save(tmp_path, version="20260101T000000Z")
    assert path.name == "text-20260101T000000Z.npz"
    loaded = text.TextModel.load(path)
    probe = ["您涉嫌洗钱，请把钱转到安全账户配合调查", "周末聚餐别忘了带伞"]
    np.testing.assert_allclose(loaded.predict_proba(probe), model.predict_proba(probe), atol=1e-5)
    preds = loaded.predict(probe, top_k=3)
    assert [p.label for p in preds] == ["police_impersonation", "normal"]
    assert preds[0].fraud_probability > 0.5 > preds[1].fraud_probability
    assert preds[0].reasons and all(r.contribution > 0 for r in preds[0].reasons)
    assert loaded.metadata["training_sha256"] == text.data_sha256(_toy_items())
    assert text.latest_model_path(tmp_path) == path
    # a tampered file is refused
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ValueError, match="checksum"):
        text.TextModel.load(path)


@pytest.fixture(scope="module")
def slice_model() -> tuple[text.TextModel, list[text.LabelledText]]:
    public = text.load_telecom_fraud_texts(TEXTS_DIR)
    train, test = text.stratified_split(public, test_size=0.5, seed=1)
    # a small slice: 150 texts per class
    per_class: dict[str, list[text.LabelledText]] = {}
    for item in train:
        per_class.setdefault(item.label, []).append(item)
    small = [i for items in per_class.values() for i in items[:150]]
    items, weights = text.training_set(small, text.load_other_styles(), use_other_styles=True)
    cfg = text.TextModelConfig(char_max_features=20_000, word_max_features=5_000)
    return text.train_text_model(items, config=cfg, weights=weights), test


@needs_texts
def test_slice_model_beats_chance_on_held_out(
    slice_model: tuple[text.TextModel, list[text.LabelledText]],
) -> None:
    model, test = slice_model

    def predict(texts: list[str]) -> list[str]:
        return model.predict_labels(texts)

    metrics = text.evaluate_text_model(predict, test)
    assert metrics["n"] > 5000
    # chance over 5 classes is 0.2; measured 0.927 on this slice (accuracy 0.956)
    assert metrics["type_macro_f1"] > 0.85


@needs_texts
def test_marketing_wrapper_does_not_hide_fraud_and_reminders_pass(
    slice_model: tuple[text.TextModel, list[text.LabelledText]],
) -> None:
    model, _ = slice_model
    fraud = "您好，这里是市公安局，您的银行卡涉嫌洗钱，需要把资金转到安全账户配合调查。"
    wrapped = "【中国移动】" + fraud + "回复TD退订。"
    p_plain, p_wrapped = model.predict_proba([fraud, wrapped])[:, 0]  # column 0 = normal
    assert model.classes[0] == "normal"
    # signatures and unsubscribe lines are stripped before features: identical verdict
    assert p_plain == pytest.approx(p_wrapped, abs=1e-9)
    assert model.predict([wrapped])[0].label == "police_impersonation"
    reminder = (
        "【公安】反诈提醒：公检法机关不会通过电话办案，不存在“安全账户”，"
        "凡是要求转账的都是诈骗。如接到可疑电话请拨打96110咨询。"
    )
    # a training-half reminder: the model must have learnt it is not fraud
    assert model.predict([reminder])[0].label == "normal"


@needs_texts
def test_held_out_police_reminders_are_mostly_not_flagged(
    slice_model: tuple[text.TextModel, list[text.LabelledText]],
) -> None:
    model, _ = slice_model
    reminders = [
        o for o in text.load_other_styles() if o.split == "heldout" and o.style == "police_reminder"
    ]
    assert len(reminders) == 6
    flagged = [p for p in model.predict([r.text for r in reminders]) if p.label != "normal"]
    # measured: 0 of 6 flagged, the closest at fraud probability 0.48; allow one slip
    assert len(flagged) <= 1


def test_decision_rule_uses_total_fraud_probability() -> None:
    cfg = text.TextModelConfig(char_max_features=500, use_words=False, min_df=1)
    model = text.train_text_model(_toy_items(), config=cfg)
    model.classes = ("normal", "police_impersonation", "loan_credit")
    proba = np.array([[0.4, 0.35, 0.25], [0.5, 0.3, 0.2], [0.1, 0.2, 0.7]])
    # P(normal) 0.4 is the largest single class, but fraud totals 0.6
    assert model.label_indices(proba).tolist() == [1, 0, 2]
