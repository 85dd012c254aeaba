"""Raw partner SMS scored by the fraud-text model (the desk's classifier, not the partner's).

An SMS signal without ``fraud_type`` carries only the message text: the platform's model
classifies all of a batch's raw texts in one pass, a fraud verdict feeds the typology's
``text_<type>`` signal with its fraud probability, and a warning it helps raise names the
type, the probability and the phrases that weighed most (zh-CN and en). Genuine police
anti-fraud reminders and bank notices stay normal and raise nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pingan.antifraud import service, text
from pingan.antifraud.models import FraudWarning, PotentialVictim, Signal
from pingan.antifraud.schemas import BatchResult
from pingan.core.auth import service as auth
from pingan.core.auth.permissions import Principal
from pingan.core.auth.schemas import JurisdictionCreate
from pingan.core.db import Database
from pingan.core.errors import ValidationFailed
from tests.conftest import SHARED_DATA
from tests.integration.antifraud.test_desk import Desk, desk  # noqa: F401 - fixture

TEXTS_DIR = SHARED_DATA / "fraud" / "telecom_fraud_texts_5"
pytestmark = pytest.mark.skipif(
    not TEXTS_DIR.exists(), reason=f"no Telecom_Fraud_Texts_5 at {TEXTS_DIR}"
)
SYSTEM = Principal.system("test")
SECRET = "s" * 32

POLICE_SMS = (
    "您好，这里是市公安局刑侦支队，您的身份证涉嫌一起洗钱案件，请立即将名下资金转入"
    "安全账户配合调查，否则将冻结您的全部银行卡。联系人王警官13912345678"
)
REMINDER = (
    "【上海公安】反诈提醒：公检法机关不会通过电话、短信办案，更没有所谓“安全账户”，"
    "凡是让您转账汇款的都是诈骗。如有疑问请拨打110或96110。"
)
BANK_NOTICE = "【工商银行】您尾号4521的储蓄卡11月28日14:32支出人民币200.00元，活期余额5,230.18元。"


@pytest.fixture(scope="module")
def model() -> text.TextModel:
    """A small model: 150 public texts per class plus the other-style training half."""
    public = text.load_telecom_fraud_texts(TEXTS_DIR)
    train, _test = text.stratified_split(public, test_size=0.5, seed=1)
    per_class: dict[str, list[text.LabelledText]] = {}
    for item in train:
        per_class.setdefault(item.label, []).append(item)
    small = [i for items in per_class.values() for i in items[:150]]
    items, weights = text.training_set(small, text.load_other_styles(), use_other_styles=True)
    cfg = text.TextModelConfig(char_max_features=20_000, word_max_features=5_000)
    trained = text.train_text_model(items, config=cfg, weights=weights)
    trained.metadata["version"] = "20261129T000000Z"
    return trained


def calls(phone: str, prefix: str) -> list[dict[str, Any]]:
    """Two calls from numbers flagged as impersonating police: not enough on their own."""
    return [
        {"id": f"{prefix}-c{i}", "kind": "call", "phone": phone,
         "caller_flag": "police_impersonation", "duration_s": 300}
        for i in range(2)
    ]  # fmt: skip


def sms(phone: str, sid: str, body: str) -> dict[str, Any]:
    """A raw SMS: the text only, no partner classification."""
    return {"id": sid, "kind": "sms", "phone": phone, "text": body}


def _place(database: Database) -> int:
    with database.session() as s:
        return auth.create_jurisdiction(
            db=s,
            jurisdiction_in=JurisdictionCreate(code="af-town", name="测试市", kind="city"),
            actor=SYSTEM,
        ).id


def _ingest(database: Database, items: list[dict[str, Any]], place: int, model: Any) -> BatchResult:
    with database.session() as s:
        return service.ingest_signals(
            db=s,
            partner="cmcc",
            items=items,
            secret=SECRET,
            actor=SYSTEM,
            default_jurisdiction_id=place,
            text_model=model,
        )


def test_alone_the_calls_stay_low(database: Database) -> None:
    place = _place(database)
    result = _ingest(database, calls("13800000001", "a"), place, None)
    assert result.results[-1].level == "low" and result.warnings_raised == 0


def test_raw_police_sms_raises_a_warning_naming_the_type(
    database: Database, model: text.TextModel
) -> None:
    place = _place(database)
    _ingest(database, calls("13800000001", "a"), place, model)
    result = _ingest(database, [sms("13800000001", "a-sms", POLICE_SMS)], place, model)
    (row,) = result.results
    assert row.status == "created" and row.level == "medium" and row.warning_id is not None
    with database.session() as s:
        warning = s.get(FraudWarning, row.warning_id)
        assert warning is not None and warning.typology == "police_impersonation"
        zh, en = warning.reasons["zh-CN"], warning.reasons["en"]
        model_zh = [r for r in zh if "文本模型" in r]
        model_en = [r for r in en if "fraud-text model" in r]
        assert len(model_zh) == 1 and len(model_en) == 1
        assert "冒充公检法" in model_zh[0] and "Impersonating police" in model_en[0]
        assert "关键词：" in model_zh[0] and "key phrases: " in model_en[0]
        assert "—" not in model_zh[0]  # the phrases are named
        # the typology's own text reason carries the model's probability
        assert any(r.startswith("收到冒充公检法内容") for r in zh)
        stored = s.scalars(select(Signal).where(Signal.partner_signal_id == "a-sms")).one()
        verdict = stored.payload["text_model"]
        assert verdict["type"] == "police_impersonation" and verdict["probability"] > 0.6
        assert verdict["model"] == "20261129T000000Z" and verdict["keywords"]
        assert stored.payload["fraud_type"] is None
        assert "13912345678" not in stored.payload["text"]  # the text is stored masked
        person = s.get(PotentialVictim, row.victim_id)
        assert person is not None
        assert person.signals["text_police_impersonation"] == pytest.approx(
            verdict["probability"], abs=1e-3
        )


def test_the_reason_survives_a_later_batch(database: Database, model: text.TextModel) -> None:
    """The SMS first, the calls later: the reason comes from the stored report."""
    place = _place(database)
    first = _ingest(database, [sms("13800000002", "b-sms", POLICE_SMS)], place, model)
    assert first.results[0].level == "low"
    result = _ingest(database, calls("13800000002", "b"), place, model)
    warning_id = result.results[-1].warning_id
    assert warning_id is not None
    with database.session() as s:
        warning = s.get(FraudWarning, warning_id)
        assert warning is not None
        assert any("冒充公检法" in r and "文本模型" in r for r in warning.reasons["zh-CN"])


@pytest.mark.parametrize("body", [REMINDER, BANK_NOTICE], ids=["police-reminder", "bank"])
def test_genuine_notices_raise_nothing(
    database: Database, model: text.TextModel, body: str
) -> None:
    place = _place(database)
    _ingest(database, calls("13800000003", "c"), place, model)
    result = _ingest(database, [sms("13800000003", "c-sms", body)], place, model)
    assert result.results[0].level == "low" and result.results[0].warning_id is None
    assert result.warnings_raised == 0
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(FraudWarning)) == 0
        stored = s.scalars(select(Signal).where(Signal.partner_signal_id == "c-sms")).one()
        assert stored.payload["text_model"]["type"] == "normal"
        person = s.get(PotentialVictim, result.results[0].victim_id)
        assert person is not None
        assert not any(k.startswith("text_") and v > 0 for k, v in person.signals.items())


def test_a_batch_of_texts_is_classified_in_one_pass(
    database: Database, model: text.TextModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    place = _place(database)
    seen: list[int] = []
    predict = text.TextModel.predict

    def spy(self: text.TextModel, texts: Any, **kw: Any) -> Any:
        seen.append(len(texts))
        return predict(self, texts, **kw)

    monkeypatch.setattr(text.TextModel, "predict", spy)
    bodies = [POLICE_SMS, REMINDER, BANK_NOTICE] * 4
    items = [sms(f"1380000{i:04d}", f"d{i}", b) for i, b in enumerate(bodies)]
    # a typed SMS and a duplicate are not classified
    items.append({"id": "d-typed", "kind": "sms", "phone": "13800000099",
                  "fraud_type": "loan_credit", "probability": 0.4})  # fmt: skip
    items.append(items[0])
    result = _ingest(database, items, place, model)
    assert seen == [len(bodies)]
    assert result.created == len(bodies) + 1 and result.duplicates == 1
    with database.session() as s:
        types = {
            sig.partner_signal_id: sig.payload.get("text_model", {}).get("type")
            for sig in s.scalars(select(Signal))
        }
    assert [types[f"d{i}"] for i in range(3)] == ["police_impersonation", "normal", "normal"]
    assert types["d-typed"] is None


def test_bad_sms_signals_are_refused_naming_the_field(
    database: Database, model: text.TextModel
) -> None:
    place = _place(database)
    cases = [
        ([sms("13800000004", "e1", POLICE_SMS)], None, "signals[0].fraud_type"),
        ([{"id": "e2", "kind": "sms", "phone": "13800000004"}], model, "signals[0].text"),
        ([{"id": "e3", "kind": "sms", "phone": "13800000004", "text": "  "}], model,
         "signals[0].text"),
        ([*calls("13800000004", "e"), {"id": "e4", "kind": "sms", "phone": "13800000004",
          "fraud_type": "loan_credit"}], model, "signals[2].probability"),
    ]  # fmt: skip
    for items, with_model, field in cases:
        with pytest.raises(ValidationFailed) as caught:
            _ingest(database, items, place, with_model)
        assert caught.value.field == field
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Signal)) == 0
        assert s.scalar(select(func.count()).select_from(PotentialVictim)) == 0


def test_through_the_api_with_the_installed_model(
    desk: Desk,  # noqa: F811 - the fixture
    model: text.TextModel,
) -> None:
    phone = "13800000005"
    base = {"phone": phone, "jurisdiction": desk.district}
    # no model installed yet: the raw text is refused, nothing written
    r = desk.signals([{**base, "id": "f1", "kind": "sms", "text": POLICE_SMS}])
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "signals[0].fraud_type"
    model.save(Path(desk.settings.data_dir) / "models" / "antifraud")
    r = desk.signals(
        [
            *[{**c, **base} for c in calls(phone, "f")],
            {**base, "id": "f1", "kind": "sms", "text": POLICE_SMS},
        ]
    )
    assert r.status_code == 200, r.text
    warning_id = r.json()["results"][-1]["warning_id"]
    assert warning_id is not None
    detail = desk.get(f"/api/antifraud/warnings/{warning_id}", who="analyst").json()
    assert detail["typology"] == "police_impersonation"
    assert any(
        "fraud-text model" in x and "Impersonating police" in x for x in detail["reasons"]["en"]
    )
    assert any("文本模型" in x and "冒充公检法" in x for x in detail["reasons"]["zh-CN"])
