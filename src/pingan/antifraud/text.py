"""Fraud-text classifier: Chinese SMS / call transcripts by fraud type, with explanations.

Features are TF-IDF character 1–3-grams plus jieba word unigrams over a *normalised* text, and
the model is a multinomial logistic regression (a proper scoring rule, so its probabilities are
calibrated on the training distribution; the held-out Brier score is measured by the benchmark).

De-biasing. In Telecom_Fraud_Texts_5 the "normal" class is mostly carrier marketing SMS: it
carries 【brand】 signatures, 回复TD退订 lines, URLs and the data set's placeholders (DIGIT, URL,
NAME), while the fraud classes are long generated transcripts. A model trained on the raw text
learns "has 【...】 and 退订 = normal". :func:`normalise` therefore removes 【...】 signatures and
unsubscribe clauses, and maps URLs, digit runs and the data set's placeholders onto the same
placeholder tokens, before any feature is computed. In addition, the ``train`` half of the
hand-written ``data/other_styles.jsonl`` (bank notices, deliveries, personal messages, genuine
police anti-fraud reminders, and fraud in other styles including 刷单返利 / investment / romance,
which the public set lacks) is added to training with a higher sample weight; its ``heldout``
half is never trained on and is what the benchmark reports as "other styles".

Model files are pickle-free: ``text-<version>.npz`` (vocabularies, idf, coefficients; loaded with
``allow_pickle=False``) next to ``text-<version>.json`` (version, training-data SHA-256, sizes,
metrics, library versions).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from pingan.core import clock

DATA_DIR: Final = Path(__file__).parent / "data"
OTHER_STYLES_PATH: Final = DATA_DIR / "other_styles.jsonl"
MODEL_PREFIX: Final = "text-"

NORMAL: Final = "normal"
FRAUD_TYPES: Final[tuple[str, ...]] = (
    NORMAL,
    "police_impersonation",
    "loan_credit",
    "fake_customer_service",
    "acquaintance_impersonation",
    "task_rebate",
    "investment",
    "romance",
)
"""Type codes; the first five exist in Telecom_Fraud_Texts_5, the last three only in
``other_styles.jsonl``. Their zh-CN/en names are in ``locales/`` (``antifraud.type.<code>``)."""

DATASET_LABELS: Final[dict[str, str]] = {
    "0": NORMAL,
    "冒充公检法及政府机关类": "police_impersonation",
    "贷款、代办信用卡类": "loan_credit",
    "冒充客服服务": "fake_customer_service",
    "冒充领导、熟人类": "acquaintance_impersonation",
}
DATASET_FILES: Final = tuple(f"label0{i}-last.csv" for i in range(5))

OTHER_STYLE_WEIGHT: Final = 20.0
"""Sample weight of each hand-written other-style training text (they are few)."""

# --- reading ------------------------------------------------------------------------------


def detect_encoding(raw: bytes) -> str:
    """``utf-8-sig`` when ``raw`` decodes as UTF-8 (with or without BOM), else ``gb18030``.

    GB18030 is a superset of GBK and GB2312, so GBK files (label04 of the public set) decode.
    """
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """All rows of a CSV file as dicts, with the encoding (UTF-8 or GBK) detected."""
    raw = path.read_bytes()
    text = raw.decode(detect_encoding(raw))
    return [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""))]


@dataclass(frozen=True, slots=True)
class LabelledText:
    """One training or evaluation text with its type code and where it came from."""

    text: str
    label: str
    source: str
    split: str = "train"
    style: str = ""


def load_telecom_fraud_texts(directory: Path) -> list[LabelledText]:
    """Telecom_Fraud_Texts_5 (``label00..04-last.csv``) with labels mapped to type codes.

    Raises ``FileNotFoundError`` when a file is missing and ``ValueError`` on an unknown label.
    """
    out: list[LabelledText] = []
    for name in DATASET_FILES:
        for row in read_csv_rows(directory / name):
            content = (row.get("content") or "").strip()
            if not content:
                continue
            raw_label = (row.get("label") or "").strip()
            if raw_label not in DATASET_LABELS:
                raise ValueError(f"{name}: unknown label {raw_label!r}")
            out.append(LabelledText(content, DATASET_LABELS[raw_label], name))
    return out


def load_other_styles(path: Path = OTHER_STYLES_PATH) -> list[LabelledText]:
    """The hand-written other-style texts (``split`` is ``train`` or ``heldout``)."""
    out: list[LabelledText] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        label = str(item["label"])
        if label not in FRAUD_TYPES:
            raise ValueError(f"{path.name}: unknown label {label!r}")
        out.append(
            LabelledText(
                str(item["text"]),
                label,
                f"other_styles:{item['id']}",
                str(item["split"]),
                str(item["style"]),
            )
        )
    return out


# --- normalisation ------------------------------------------------------------------------

URL_TOKEN: Final = " @ "
NUMBER_TOKEN: Final = "#"
NAME_TOKEN: Final = "某人"

# ASCII-only classes: a CJK character right after a URL or a placeholder must survive
_URL = re.compile(
    r"(?:https?://|www\.)[\w./?=&%#~+-]*|\bURL\w*|(?:[\w-]+\.)+(?:cn|com|net|cc|top|vip|me)\b[\w/?=&.-]*",
    re.IGNORECASE | re.ASCII,
)
_PLACEHOLDER_NUMBER = re.compile(r"cellpho\w*|digit\w*|(?<![a-z])x{2,}(?![a-z])", re.I | re.A)
_PLACEHOLDER_NAME = re.compile(r"NAME|(?<![A-Za-z])X{2,}(?![A-Za-z])")
_NUMBER = re.compile(r"\d+(?:[.,:：-]\d+)*")
_SIGNATURE = re.compile(r"【[^】]{0,24}】")
_UNSUBSCRIBE = re.compile(
    r"[^，,。.；;！!？?\n]*(?:退订|拒收|回T\b|回复T\b|回TD|回复TD)[^，,。.；;！!？?\n]*[，,。.；;！!？?]?",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The text with the marketing-SMS artefacts removed and placeholders unified.

    NFKC (full-width to half-width); 【...】 signatures and unsubscribe clauses (回复TD退订,
    拒收请回复R) removed; URLs → ``@``; digit runs and the data set's DIGIT/CELLPHONE/xx
    placeholders → ``#``; NAME / XXX → 某人; whitespace collapsed; Latin lower-cased.
    """
    out = unicodedata.normalize("NFKC", text)
    out = _SIGNATURE.sub(" ", out)
    out = _UNSUBSCRIBE.sub(" ", out)
    out = _URL.sub(URL_TOKEN, out)
    out = _PLACEHOLDER_NAME.sub(NAME_TOKEN, out)
    out = _PLACEHOLDER_NUMBER.sub(NUMBER_TOKEN, out)
    out = _NUMBER.sub(NUMBER_TOKEN, out)
    return _SPACES.sub(" ", out).strip().lower()


_jieba_ready = False


def jieba_tokens(text: str) -> list[str]:
    """jieba word tokens of an already normalised text, without whitespace and punctuation."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        jieba.setLogLevel(logging.WARNING)
        _jieba_ready = True
    return [tok for tok in jieba.lcut(text) if tok.strip() and not _is_punct(tok)]


def _is_punct(token: str) -> bool:
    return all(unicodedata.category(ch)[0] in "PZS" for ch in token)


# --- the model ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    """One feature's contribution to a prediction (log-odds of the predicted class against
    the reference class: normal for a fraud prediction, the likeliest fraud type otherwise)."""

    feature: str
    kind: str  # "char" or "word"
    contribution: float


@dataclass(frozen=True, slots=True)
class TextPrediction:
    """The classifier's verdict on one text."""

    label: str
    fraud_probability: float
    probabilities: dict[str, float]
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class TextModelConfig:
    """Hyper-parameters of :func:`train_text_model`."""

    char_ngrams: tuple[int, int] = (1, 3)
    char_max_features: int = 60_000
    use_words: bool = True
    word_max_features: int = 30_000
    min_df: int = 2
    c: float = 3.0
    normalise_text: bool = True
    class_weight_balanced: bool = True


@dataclass(slots=True)
class TextModel:
    """A trained fraud-text classifier (vectorisers + linear weights + metadata)."""

    classes: tuple[str, ...]
    char_vocab: NDArray[np.str_]
    char_idf: NDArray[np.float64]
    word_vocab: NDArray[np.str_]
    word_idf: NDArray[np.float64]
    coef: NDArray[np.float64]
    intercept: NDArray[np.float64]
    config: TextModelConfig
    metadata: dict[str, Any] = field(default_factory=dict)
    _char_vec: Any = None
    _word_vec: Any = None
    _feature_names: list[tuple[str, str]] | None = None

    def _names(self) -> list[tuple[str, str]]:
        if self._feature_names is None:
            self._feature_names = self.feature_names
        return self._feature_names

    # vectorisers are rebuilt from the stored vocabulary and idf (no pickle)
    def _vectorisers(self) -> tuple[Any, Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if self._char_vec is None:
            char = TfidfVectorizer(
                analyzer="char",
                ngram_range=self.config.char_ngrams,
                sublinear_tf=True,
                vocabulary={str(t): i for i, t in enumerate(self.char_vocab.tolist())},
                dtype=np.float64,
            )
            char.idf_ = self.char_idf
            self._char_vec = char
            if self.word_vocab.size:
                word = TfidfVectorizer(
                    tokenizer=jieba_tokens,
                    token_pattern=None,
                    lowercase=False,
                    sublinear_tf=True,
                    vocabulary={str(t): i for i, t in enumerate(self.word_vocab.tolist())},
                    dtype=np.float64,
                )
                word.idf_ = self.word_idf
                self._word_vec = word
        return self._char_vec, self._word_vec

    @property
    def feature_names(self) -> list[tuple[str, str]]:
        """(feature, kind) for every column of :meth:`features`."""
        return [(str(t), "char") for t in self.char_vocab.tolist()] + [
            (str(t), "word") for t in self.word_vocab.tolist()
        ]

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The sparse feature matrix of ``texts`` (normalised first when configured)."""
        prepared = [normalise(t) if self.config.normalise_text else t for t in texts]
        char, word = self._vectorisers()
        parts = [char.transform(prepared)]
        if word is not None:
            parts.append(word.transform(prepared))
        return sp.csr_matrix(sp.hstack(parts, format="csr"))

    def decision(self, x: sp.csr_matrix) -> NDArray[np.float64]:
        """Class logits for a feature matrix."""
        out: NDArray[np.float64] = np.asarray(x @ self.coef.T) + self.intercept
        return out

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Class probabilities, one row per text, columns in ``classes`` order."""
        return _softmax(self.decision(self.features(texts)))

    def fraud_probability(self, probabilities: NDArray[np.float64]) -> NDArray[np.float64]:
        """1 − P(normal) for each row of a probability matrix."""
        out: NDArray[np.float64] = 1.0 - probabilities[:, self.classes.index(NORMAL)]
        return out

    def label_indices(self, probabilities: NDArray[np.float64]) -> NDArray[np.intp]:
        """Decision rule: normal when P(normal) ≥ 0.5, else the likeliest fraud type.

        (A plain argmax would call a text normal at P(normal) = 0.4 when the fraud mass is
        spread over several types, although its fraud probability is 0.6.)
        """
        normal = self.classes.index(NORMAL)
        fraud_only = probabilities.copy()
        fraud_only[:, normal] = -1.0
        out: NDArray[np.intp] = np.where(
            probabilities[:, normal] >= 0.5, normal, np.argmax(fraud_only, axis=1)
        )
        return out

    def predict_labels(self, texts: Sequence[str]) -> list[str]:
        """Type code per text (see :meth:`label_indices`)."""
        return [self.classes[int(j)] for j in self.label_indices(self.predict_proba(texts))]

    def predict(
        self, texts: Sequence[str], *, top_k: int = 5, explain_normal: bool = True
    ) -> list[TextPrediction]:
        """Predicted type, fraud probability and the top ``top_k`` reasons for each text
        (one vectorised pass over all texts; with ``explain_normal=False`` only the texts
        predicted as fraud get reasons)."""
        x = self.features(texts)
        proba = _softmax(self.decision(x))
        fraud = self.fraud_probability(proba)
        names = self._names()
        normal_idx = self.classes.index(NORMAL)
        labels = self.label_indices(proba)
        out: list[TextPrediction] = []
        for i in range(len(texts)):
            best = int(labels[i])
            if best == normal_idx:
                order = np.argsort(-proba[i])
                ref = int(next(j for j in order if j != normal_idx))
            else:
                ref = normal_idx
            explain = top_k and (explain_normal or best != normal_idx)
            reasons = self._reasons(x.getrow(i), best, ref, names, top_k) if explain else ()
            out.append(
                TextPrediction(
                    label=self.classes[best],
                    fraud_probability=float(fraud[i]),
                    probabilities={
                        c: float(p) for c, p in zip(self.classes, proba[i], strict=True)
                    },
                    reasons=reasons,
                )
            )
        return out

    def _reasons(
        self,
        row: sp.csr_matrix,
        cls: int,
        ref: int,
        names: list[tuple[str, str]],
        top_k: int,
    ) -> tuple[Reason, ...]:
        idx = row.indices
        if idx.size == 0:
            return ()
        contrib = row.data * (self.coef[cls, idx] - self.coef[ref, idx])
        order = np.argsort(-contrib)[:top_k]
        return tuple(
            Reason(names[int(idx[j])][0], names[int(idx[j])][1], float(contrib[j]))
            for j in order
            if contrib[j] > 0
        )

    # --- persistence ----------------------------------------------------------------------

    def save(self, directory: Path, *, version: str | None = None) -> Path:
        """Write ``text-<version>.npz`` + ``.json`` into ``directory``; returns the npz path."""
        directory.mkdir(parents=True, exist_ok=True)
        version = version or self.metadata.get("version") or new_version()
        self.metadata["version"] = version
        path = directory / f"{MODEL_PREFIX}{version}.npz"
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                classes=np.array(self.classes),
                char_vocab=np.asarray(self.char_vocab, dtype=str),
                char_idf=self.char_idf.astype(np.float32),
                word_vocab=np.asarray(self.word_vocab, dtype=str),
                word_idf=self.word_idf.astype(np.float32),
                coef=self.coef.astype(np.float32),
                intercept=self.intercept,
            )
        meta = dict(self.metadata)
        meta["config"] = {
            "char_ngrams": list(self.config.char_ngrams),
            "char_max_features": self.config.char_max_features,
            "use_words": self.config.use_words,
            "word_max_features": self.config.word_max_features,
            "min_df": self.config.min_df,
            "c": self.config.c,
            "normalise_text": self.config.normalise_text,
            "class_weight_balanced": self.config.class_weight_balanced,
        }
        meta["model_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        path.with_suffix(".json").write_text(
            json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        return path

    @classmethod
    def load(cls, path: Path) -> TextModel:
        """Load a model written by :meth:`save` (``path`` is the ``.npz`` file).

        Raises ``ValueError`` when the file does not match the SHA-256 in its metadata.
        """
        raw = path.read_bytes()
        meta: dict[str, Any] = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if meta.get("model_sha256") not in (None, hashlib.sha256(raw).hexdigest()):
            raise ValueError(f"{path.name}: checksum does not match its metadata")
        cfg = meta.get("config", {})
        config = TextModelConfig(
            char_ngrams=(int(cfg["char_ngrams"][0]), int(cfg["char_ngrams"][1])),
            char_max_features=int(cfg["char_max_features"]),
            use_words=bool(cfg["use_words"]),
            word_max_features=int(cfg["word_max_features"]),
            min_df=int(cfg["min_df"]),
            c=float(cfg["c"]),
            normalise_text=bool(cfg["normalise_text"]),
            class_weight_balanced=bool(cfg["class_weight_balanced"]),
        )
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            return cls(
                classes=tuple(str(c) for c in z["classes"].tolist()),
                char_vocab=z["char_vocab"],
                char_idf=z["char_idf"].astype(np.float64),
                word_vocab=z["word_vocab"],
                word_idf=z["word_idf"].astype(np.float64),
                coef=z["coef"].astype(np.float64),
                intercept=z["intercept"].astype(np.float64),
                config=config,
                metadata=meta,
            )


def _softmax(z: NDArray[np.float64]) -> NDArray[np.float64]:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out


def new_version() -> str:
    """A sortable model version from the clock: ``20261129T112000Z``."""
    return clock.now().strftime("%Y%m%dT%H%M%SZ")


def data_sha256(items: Iterable[LabelledText]) -> str:
    """SHA-256 over (label, text) of the training data, in order."""
    h = hashlib.sha256()
    for item in items:
        h.update(item.label.encode())
        h.update(b"\x1f")
        h.update(item.text.encode())
        h.update(b"\x1e")
    return h.hexdigest()


def train_text_model(
    items: Sequence[LabelledText],
    *,
    config: TextModelConfig | None = None,
    weights: Sequence[float] | None = None,
) -> TextModel:
    """Fit the classifier on ``items`` (optionally with per-item sample ``weights``)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    cfg = config or TextModelConfig()
    texts = [normalise(i.text) if cfg.normalise_text else i.text for i in items]
    labels = np.array([i.label for i in items])
    char = TfidfVectorizer(
        analyzer="char",
        ngram_range=cfg.char_ngrams,
        sublinear_tf=True,
        min_df=cfg.min_df,
        max_features=cfg.char_max_features,
        dtype=np.float64,
    )
    parts = [char.fit_transform(texts)]
    word_vocab: NDArray[np.str_] = np.array([], dtype="<U1")
    word_idf: NDArray[np.float64] = np.array([], dtype=np.float64)
    if cfg.use_words:
        word = TfidfVectorizer(
            tokenizer=jieba_tokens,
            token_pattern=None,
            lowercase=False,
            sublinear_tf=True,
            min_df=cfg.min_df,
            max_features=cfg.word_max_features,
            dtype=np.float64,
        )
        parts.append(word.fit_transform(texts))
        word_vocab = np.asarray(word.get_feature_names_out(), dtype=str)
        word_idf = np.asarray(word.idf_, dtype=np.float64)
    x = sp.hstack(parts, format="csr")
    sample_weight = np.ones(len(items)) if weights is None else np.asarray(weights, dtype=float)
    classes = [c for c in FRAUD_TYPES if c in set(labels.tolist())]
    if cfg.class_weight_balanced:
        counts = {c: float(np.sum(sample_weight[labels == c])) for c in classes}
        total = sum(counts.values())
        sample_weight = sample_weight * np.array(
            [total / (len(classes) * counts[c]) for c in labels.tolist()]
        )
    lr = LogisticRegression(C=cfg.c, max_iter=3000, tol=1e-4)
    lr.fit(x, labels, sample_weight=sample_weight)
    order = [list(lr.classes_).index(c) for c in classes]
    coef = np.asarray(lr.coef_, dtype=np.float64)
    intercept = np.asarray(lr.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:  # two classes: sigmoid(z) == softmax([0, z])
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    return TextModel(
        classes=tuple(classes),
        char_vocab=np.asarray(char.get_feature_names_out(), dtype=str),
        char_idf=np.asarray(char.idf_, dtype=np.float64),
        word_vocab=word_vocab,
        word_idf=word_idf,
        coef=coef[order],
        intercept=intercept[order],
        config=cfg,
        metadata={
            "kind": "antifraud-text",
            "created_at": clock.now().isoformat(),
            "training_sha256": data_sha256(items),
            "n_train": len(items),
            "class_counts": {c: int(np.sum(labels == c)) for c in classes},
        },
    )


# --- splits, training entry point and evaluation -------------------------------------------


def stratified_split(
    items: Sequence[LabelledText], *, test_size: float = 0.2, seed: int = 0
) -> tuple[list[LabelledText], list[LabelledText]]:
    """A stratified (by label) random train/test split."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(items))
    labels = [i.label for i in items]
    tr, te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=labels)
    return [items[int(i)] for i in tr], [items[int(i)] for i in te]


def training_set(
    public: Sequence[LabelledText], other: Sequence[LabelledText], *, use_other_styles: bool
) -> tuple[list[LabelledText], list[float]]:
    """Public texts plus (optionally) the ``train`` half of the other-style texts, with weights."""
    items = list(public)
    weights = [1.0] * len(items)
    if use_other_styles:
        extra = [i for i in other if i.split == "train"]
        items += extra
        weights += [OTHER_STYLE_WEIGHT] * len(extra)
    return items, weights


def evaluate_text_model(predict: Any, items: Sequence[LabelledText]) -> dict[str, float]:
    """Macro-F1 by type, binary fraud-vs-normal macro-F1 and accuracy of ``predict``.

    The type macro-F1 averages over the types present in ``items`` (as the published 5-class
    figure does): predicting a type absent from ``items`` is an error for the true type but
    does not add a zero-F1 class.

    ``predict`` maps a list of texts to a list of type codes. Items whose type the model
    does not know still count: any fraud type predicted for them counts as right in the
    binary score, and they are always wrong in the type score.
    """
    from sklearn.metrics import accuracy_score, f1_score

    texts = [i.text for i in items]
    truth = [i.label for i in items]
    pred = list(predict(texts))
    bin_truth = [t != NORMAL for t in truth]
    bin_pred = [p != NORMAL for p in pred]
    return {
        "n": float(len(items)),
        "type_macro_f1": float(
            f1_score(truth, pred, labels=sorted(set(truth)), average="macro", zero_division=0)
        ),
        "type_accuracy": float(accuracy_score(truth, pred)),
        "binary_macro_f1": float(f1_score(bin_truth, bin_pred, average="macro", zero_division=0)),
        "fraud_recall": float(
            sum(p and t for p, t in zip(bin_pred, bin_truth, strict=True)) / max(sum(bin_truth), 1)
        ),
        "normal_specificity": float(
            sum((not p) and (not t) for p, t in zip(bin_pred, bin_truth, strict=True))
            / max(sum(not t for t in bin_truth), 1)
        ),
    }


def latest_model_path(directory: Path) -> Path | None:
    """The newest ``text-*.npz`` in ``directory`` (versions sort by time), or None."""
    found = sorted(directory.glob(f"{MODEL_PREFIX}*.npz"))
    return found[-1] if found else None


def default_models_dir() -> Path:
    """``<data dir>/models/antifraud`` (``PINGAN_DATA_DIR`` or the XDG data directory)."""
    from pingan.core.settings import default_data_dir

    return default_data_dir() / "models" / "antifraud"


_catalogue_ready = False


def type_label(code: str, lang: str = "zh-CN") -> str:
    """The zh-CN or en name of a type code (from the desk's message catalogue)."""
    global _catalogue_ready
    from pingan.core.i18n import register_catalogue, translate

    if not _catalogue_ready:
        register_catalogue(Path(__file__).parent / "locales")
        _catalogue_ready = True
    return translate(f"antifraud.type.{code}", lang)
