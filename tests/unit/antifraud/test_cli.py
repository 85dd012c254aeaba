"""The Typer app: classify a GBK CSV with a saved model; clear errors."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from typer.testing import CliRunner

from pingan.antifraud import text
from pingan.antifraud.cli import app


def _model(directory: Path) -> None:
    rng = random.Random(0)
    fraud = ["公安局", "涉嫌洗钱", "安全账户", "配合调查", "冻结资金", "逮捕令"]
    normal = ["周末聚餐", "快递到了", "生日快乐", "开会改时间", "买菜回家", "下雨带伞"]
    items = []
    for _ in range(100):
        items.append(text.LabelledText("".join(rng.sample(fraud, 3)), "police_impersonation", "t"))
        items.append(text.LabelledText("".join(rng.sample(normal, 3)), "normal", "t"))
    cfg = text.TextModelConfig(char_max_features=2000, use_words=False, min_df=1)
    text.train_text_model(items, config=cfg).save(directory, version="1")


def test_classify_gbk_csv(tmp_path: Path) -> None:
    _model(tmp_path)
    src = tmp_path / "in.csv"
    src.write_bytes("id,text\n1,您涉嫌洗钱请转到安全账户\n2,快递到了周末聚餐\n".encode("gbk"))
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["classify", str(src), "-o", str(out), "--models", str(tmp_path)], env={"LANG": "en"}
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["1", "2"]
    assert [r["predicted_type"] for r in rows] == ["police_impersonation", "normal"]
    assert rows[0]["predicted_type_name"] == "Impersonating police and government"
    assert float(rows[0]["fraud_probability"]) > 0.5 > float(rows[1]["fraud_probability"])
    assert rows[0]["reasons"]


def test_classify_missing_column_and_missing_model(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("content\n你好\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["classify", str(src), "--models", str(tmp_path)])
    assert result.exit_code == 1  # no model yet
    _model(tmp_path)
    result = runner.invoke(
        app, ["classify", str(src), "--models", str(tmp_path)], env={"LANG": "en"}
    )
    assert result.exit_code == 2
    assert "text" in result.output and "content" in result.output
    assert not (tmp_path / "in.classified.csv").exists()
