"""``python -m pingan.antifraud.cli ...``: classify texts, train and evaluate the desk's models.

Mounted by the platform CLI as ``pingan antifraud`` (the desk's Module in ``__init__``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pingan.core.i18n import console_language, register_catalogue
from pingan.core.i18n import console_text as t

register_catalogue(Path(__file__).parent / "locales")

app = typer.Typer(
    help="The anti-fraud desk's models. / 反诈模型：文本分类、风险评分、资金流向。",
    no_args_is_help=True,
)
console = Console()

DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Fraud data directory (default ../shared/data/fraud)."),
]
ModelsOption = Annotated[
    Path | None,
    typer.Option("--models", help="Model directory (default <data dir>/models/antifraud)."),
]


def _models_dir(models: Path | None) -> Path:
    from pingan.antifraud.text import default_models_dir

    return models or default_models_dir()


def _data_dir(data: Path | None) -> Path:
    from pingan.antifraud.evaluation import default_fraud_data

    path = data or default_fraud_data()
    if not path.is_dir():
        console.print(f"[red]{t('antifraud.cli.no_data', path=path)}[/red]")
        raise typer.Exit(code=2)
    return path


@app.command("classify")
def classify(
    file: Annotated[Path, typer.Argument(help="CSV with a text column (UTF-8 or GBK).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Output CSV (default FILE.classified.csv)."),
    ] = None,
    column: Annotated[str, typer.Option("--column", help="Name of the text column.")] = "text",
    models: ModelsOption = None,
    model: Annotated[Path | None, typer.Option("--model", help="A text-*.npz model.")] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=0, max=20)] = 3,
) -> None:
    """Classify every row's text: type, fraud probability, top reasons. / 逐行分类文本。"""
    from pingan.antifraud.text import TextModel, latest_model_path, read_csv_rows, type_label

    directory = _models_dir(models)
    path = model or latest_model_path(directory)
    if path is None or not path.exists():
        console.print(f"[red]{t('antifraud.cli.no_model', directory=directory)}[/red]")
        raise typer.Exit(code=1)
    rows = read_csv_rows(file)
    columns = list(rows[0]) if rows else []
    if column not in columns:
        message = t("antifraud.cli.no_column", path=file, column=column, columns=", ".join(columns))
        console.print(f"[red]{message}[/red]")
        raise typer.Exit(code=2)
    text_model = TextModel.load(path)
    lang = console_language()
    predictions = text_model.predict([r[column] or "" for r in rows], top_k=top_k)
    out = output or file.with_suffix(".classified.csv")
    fields = [*columns, "predicted_type", "predicted_type_name", "fraud_probability", "reasons"]
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row, pred in zip(rows, predictions, strict=True):
            writer.writerow(
                {
                    **row,
                    "predicted_type": pred.label,
                    "predicted_type_name": type_label(pred.label, lang),
                    "fraud_probability": f"{pred.fraud_probability:.4f}",
                    "reasons": "; ".join(
                        f"{r.feature} (+{r.contribution:.2f})" for r in pred.reasons
                    ),
                }
            )
    fraud = sum(p.label != "normal" for p in predictions)
    console.print(t("antifraud.cli.classified", count=len(rows), fraud=fraud, output=out))


@app.command("train-text")
def train_text(
    data: DataOption = None,
    models: ModelsOption = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    other_styles: Annotated[
        bool, typer.Option(help="Add the train half of the hand-written other-style texts.")
    ] = True,
) -> None:
    """Train the text classifier on an 80 % split, measure, save. / 训练文本分类模型。"""
    from pingan.antifraud import text

    root = _data_dir(data)
    public = text.load_telecom_fraud_texts(root / "telecom_fraud_texts_5")
    other = text.load_other_styles()
    train, test = text.stratified_split(public, seed=seed)
    items, weights = text.training_set(train, other, use_other_styles=other_styles)
    model = text.train_text_model(items, weights=weights)

    def predict(texts: list[str]) -> list[str]:
        return model.predict_labels(texts)

    pub = text.evaluate_text_model(predict, test)
    oth = text.evaluate_text_model(predict, [o for o in other if o.split == "heldout"])
    model.metadata["metrics"] = {"public_heldout": pub, "other_styles_heldout": oth}
    model.metadata["split"] = {"seed": seed, "test_size": 0.2, "other_styles": other_styles}
    path = model.save(_models_dir(models))
    console.print(
        t(
            "antifraud.cli.text_metrics",
            public=pub["type_macro_f1"],
            other=oth["binary_macro_f1"],
        )
    )
    console.print(t("antifraud.cli.saved", path=path, size=path.stat().st_size))


@app.command("train-risk")
def train_risk(
    data: DataOption = None,
    models: ModelsOption = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="'sichuan' (80 % split) or a CSV of simulated subscribers written by "
            "'pingan sim population' (trained on it, evaluated on Sichuan).",
        ),
    ] = "sichuan",
) -> None:
    """Train the LightGBM risk model, measure, save. / 训练风险模型。"""
    from pingan.antifraud import risk

    root = _data_dir(data)
    ds = risk.load_sichuan(root / "sichuan" / "Sichuan.zip")
    if source != "sichuan":
        path = Path(source)
        if not path.is_file():
            console.print(f"[red]{t('antifraud.cli.bad_source', source=source)}[/red]")
            raise typer.Exit(code=2)
        _train_risk_on(path, ds, models, seed)
        return
    train, test = risk.holdout_split(ds, seed=seed)
    model = risk.train_risk_model(train, seed=seed)
    metrics = risk.binary_metrics(test.labels, model.predict_proba(test.features), model.threshold)
    model.metadata["metrics"] = {"heldout": metrics}
    model.metadata["split"] = {"seed": seed, "test_size": 0.2}
    path = model.save(_models_dir(models))
    console.print(t("antifraud.cli.risk_metrics", **metrics))
    console.print(t("antifraud.cli.saved", path=path, size=path.stat().st_size))


def _train_risk_on(path: Path, sichuan: object, models: Path | None, seed: int) -> None:
    """Train on a simulated population (Sichuan's CSV layout), evaluate on all of Sichuan."""
    from pingan.antifraud import risk
    from pingan.antifraud.behaviour import select_columns

    assert isinstance(sichuan, risk.RiskData)
    simulated = risk.load_sichuan(path)
    try:
        target = select_columns(sichuan, simulated.names)
    except KeyError as exc:
        console.print(f"[red]{t('antifraud.cli.bad_source', source=f'{path}: {exc}')}[/red]")
        raise typer.Exit(code=2) from None
    model = risk.train_risk_model(simulated, seed=seed)
    metrics = risk.binary_metrics(
        target.labels, model.predict_proba(target.features), model.threshold
    )
    model.metadata["metrics"] = {"sichuan_all": metrics}
    model.metadata["source"] = {"kind": "simulator", "file": path.name}
    saved = model.save(_models_dir(models))
    console.print(
        t(
            "antifraud.cli.risk_transfer",
            train=int(simulated.labels.size),
            train_pos=int(simulated.labels.sum()),
            test=int(target.labels.size),
            **metrics,
        )
    )
    console.print(t("antifraud.cli.saved", path=saved, size=saved.stat().st_size))


@app.command("evaluate")
def evaluate(
    data: DataOption = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    folds: Annotated[int, typer.Option("--folds", help="CV folds for risk (0: none).")] = 0,
) -> None:
    """Print the quality table (text, risk, mule flags). / 打印质量对比表。"""
    from pingan.antifraud import evaluation

    root = _data_dir(data)
    lines = evaluation.render(
        evaluation.evaluate_text(root, seed=seed),
        evaluation.evaluate_risk(root, seed=seed, folds=folds),
        evaluation.evaluate_moneyflow(root, seed=seed),
    )
    for line in lines:
        console.print(line, markup=False, highlight=False)


if __name__ == "__main__":
    app()


@app.command("sweep")
def sweep() -> None:
    """Escalate missed deadlines, expire lapsed holds now. / 立即上报超时预警、标记过期止付。"""
    from pingan.antifraud.service import sweep as run_sweep
    from pingan.core.db import Database
    from pingan.core.settings import get_settings

    settings = get_settings()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            report = run_sweep(db=session, actor="cli")
    finally:
        db.dispose()
    console.print(
        t("antifraud.cli.swept", escalated=len(report.escalated), expired=len(report.expired))
    )
