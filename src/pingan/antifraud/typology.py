"""Explainable typology score per potential victim: signals → weighted typologies → level.

Signals are numbers per person (rule counts such as calls from flagged numbers, model scores
such as the fraud-text probabilities, money-flow facts such as the amount sent to a suspected
mule account). A typology (冒充公检法, 刷单返利, ...) is a weighted sum of *terms*; each term
maps one signal onto [0, 1]:

- ``linear``: ``clip(value, 0, 1)`` (probabilities);
- ``saturate``: ``min(value / scale, 1)`` (counts, amounts);
- ``threshold``: ``1 if value >= at else 0`` (flags).

A typology's score is ``Σ weightᵢ · termᵢ / Σ weightᵢ`` in [0, 1]; the person's score is the
best typology's, and the level is ``high`` / ``medium`` / ``low`` by the thresholds in the
config. Reasons are the terms of the best typology contributing at least
``min_reason_contribution``, largest first, rendered from zh-CN and en templates that may use
any signal of the row (``{value}`` is the term's own signal).

Everything lives in a JSON file (default: ``typologies.json`` next to this module), so weights,
scales, thresholds and wording change without code. Scoring is vectorised: a batch is one
gather, three masked transforms and one matrix product.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

DEFAULT_CONFIG: Final = Path(__file__).parent / "typologies.json"
LANGUAGES: Final = ("zh-CN", "en")
LEVELS: Final = ("low", "medium", "high")
TRANSFORMS: Final = ("linear", "saturate", "threshold")


class ConfigError(ValueError):
    """The typology configuration is invalid; ``field`` names the offending entry."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Term:
    """One weighted, transformed signal inside a typology."""

    signal: str
    transform: str
    parameter: float
    weight: float
    reason: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Typology:
    """A named fraud typology and its terms."""

    code: str
    name: Mapping[str, str]
    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class TypologyConfig:
    """The whole configuration: signal names, typologies and level thresholds."""

    version: str
    signals: tuple[str, ...]
    signal_names: Mapping[str, Mapping[str, str]]
    typologies: tuple[Typology, ...]
    high: float
    medium: float
    min_reason_contribution: float


def _text(obj: Any, field: str) -> dict[str, str]:
    if not isinstance(obj, dict) or any(not isinstance(obj.get(lang), str) for lang in LANGUAGES):
        raise ConfigError(field, "needs zh-CN and en texts")
    return {lang: str(obj[lang]) for lang in LANGUAGES}


def _number(obj: Mapping[str, Any], key: str, field: str) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{field}.{key}", "must be a number")
    return float(value)


def parse_config(raw: Mapping[str, Any]) -> TypologyConfig:
    """Validate a configuration dict; raises :class:`ConfigError` naming the field."""
    signals_raw = raw.get("signals")
    if not isinstance(signals_raw, dict) or not signals_raw:
        raise ConfigError("signals", "must be a non-empty object")
    signal_names = {k: _text(v, f"signals.{k}") for k, v in signals_raw.items()}
    signals = tuple(signal_names)
    levels = raw.get("levels")
    if not isinstance(levels, dict):
        raise ConfigError("levels", "must be an object with high and medium")
    high = _number(levels, "high", "levels")
    medium = _number(levels, "medium", "levels")
    if not 0.0 < medium < high <= 1.0:
        raise ConfigError("levels", "needs 0 < medium < high <= 1")
    typologies_raw = raw.get("typologies")
    if not isinstance(typologies_raw, dict) or not typologies_raw:
        raise ConfigError("typologies", "must be a non-empty object")
    typologies: list[Typology] = []
    for code, spec in typologies_raw.items():
        field = f"typologies.{code}"
        if not isinstance(spec, dict):
            raise ConfigError(field, "must be an object")
        terms_raw = spec.get("terms")
        if not isinstance(terms_raw, list) or not terms_raw:
            raise ConfigError(f"{field}.terms", "must be a non-empty list")
        terms: list[Term] = []
        for i, t in enumerate(terms_raw):
            tf = f"{field}.terms[{i}]"
            if not isinstance(t, dict):
                raise ConfigError(tf, "must be an object")
            signal = t.get("signal")
            if signal not in signal_names:
                raise ConfigError(f"{tf}.signal", f"unknown signal {signal!r}")
            transform = t.get("transform")
            if transform not in TRANSFORMS:
                raise ConfigError(f"{tf}.transform", f"must be one of {', '.join(TRANSFORMS)}")
            parameter = 1.0
            if transform == "saturate":
                parameter = _number(t, "scale", tf)
                if parameter <= 0:
                    raise ConfigError(f"{tf}.scale", "must be positive")
            elif transform == "threshold":
                parameter = _number(t, "at", tf)
            weight = _number(t, "weight", tf)
            if weight <= 0:
                raise ConfigError(f"{tf}.weight", "must be positive")
            reason = _text(t.get("reason"), f"{tf}.reason")
            for lang, template in reason.items():
                for _, name, _, _ in string.Formatter().parse(template):
                    if name not in (None, "value") and name not in signal_names:
                        raise ConfigError(f"{tf}.reason.{lang}", f"unknown field {name!r}")
            terms.append(Term(str(signal), str(transform), parameter, weight, reason))
        typologies.append(Typology(code, _text(spec.get("name"), f"{field}.name"), tuple(terms)))
    return TypologyConfig(
        version=str(raw.get("version", "")),
        signals=signals,
        signal_names=signal_names,
        typologies=tuple(typologies),
        high=high,
        medium=medium,
        min_reason_contribution=float(raw.get("min_reason_contribution", 0.0)),
    )


def load_config(path: Path | None = None) -> TypologyConfig:
    """Read and validate a configuration file (default: the shipped ``typologies.json``)."""
    source = path or DEFAULT_CONFIG
    return parse_config(json.loads(source.read_text(encoding="utf-8")))


@dataclass(frozen=True, slots=True)
class TypologyResult:
    """One person's verdict."""

    score: float
    level: str
    typology: str
    typology_name: str
    reasons: tuple[str, ...]
    scores: Mapping[str, float]


class TypologyScorer:
    """Vectorised scorer for one configuration."""

    def __init__(self, config: TypologyConfig) -> None:
        """Precompute the gather indices, transform masks and the weight matrix."""
        self.config = config
        terms = [(ti, t) for ti, typ in enumerate(config.typologies) for t in typ.terms]
        self._terms = terms
        self._cols = np.array([config.signals.index(t.signal) for _, t in terms], dtype=np.intp)
        self._param = np.array([t.parameter for _, t in terms], dtype=np.float64)
        kinds = np.array([t.transform for _, t in terms])
        self._linear = kinds == "linear"
        self._saturate = kinds == "saturate"
        self._threshold = kinds == "threshold"
        w = np.zeros((len(terms), len(config.typologies)), dtype=np.float64)
        for k, (ti, t) in enumerate(terms):
            w[k, ti] = t.weight
        w /= w.sum(axis=0, keepdims=True)
        self._weights = w

    @property
    def signals(self) -> tuple[str, ...]:
        """Column order of the signal matrix."""
        return self.config.signals

    def term_matrix(self, signals: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
        """Each term's value in [0, 1] (rows × terms); NaN signals count as 0."""
        x = np.nan_to_num(np.asarray(signals, dtype=np.float64)[:, self._cols], nan=0.0)
        out = np.empty_like(x)
        out[:, self._linear] = np.clip(x[:, self._linear], 0.0, 1.0)
        out[:, self._saturate] = np.minimum(
            np.maximum(x[:, self._saturate], 0.0) / self._param[self._saturate], 1.0
        )
        out[:, self._threshold] = (x[:, self._threshold] >= self._param[self._threshold]).astype(
            np.float64
        )
        return out

    def score_matrix(
        self, signals: NDArray[np.floating[Any]]
    ) -> tuple[NDArray[np.float64], NDArray[np.int8], NDArray[np.intp]]:
        """Typology scores (rows × typologies), level index (0 low, 1 medium, 2 high) and the
        best typology's index, for a signal matrix in :attr:`signals` column order."""
        scores = self.term_matrix(signals) @ self._weights
        best = np.argmax(scores, axis=1)
        top = scores[np.arange(scores.shape[0]), best]
        level = (top >= self.config.medium).astype(np.int8) + (top >= self.config.high).astype(
            np.int8
        )
        return scores, level, best

    def matrix(self, rows: Sequence[Mapping[str, float]]) -> NDArray[np.float64]:
        """A signal matrix from dicts (missing signals are 0; unknown names raise KeyError)."""
        x = np.zeros((len(rows), len(self.signals)), dtype=np.float64)
        index = {s: i for i, s in enumerate(self.signals)}
        for r, row in enumerate(rows):
            for name, value in row.items():
                x[r, index[name]] = value
        return x

    def explain(
        self, signal_row: NDArray[np.floating[Any]], typology: int, *, lang: str = "zh-CN"
    ) -> tuple[str, ...]:
        """The reasons (largest contribution first) for one row and typology."""
        lang = lang if lang in LANGUAGES else "zh-CN"
        row = np.nan_to_num(np.asarray(signal_row, dtype=np.float64), nan=0.0)
        terms = self.term_matrix(row[None, :])[0]
        contrib = terms * self._weights[:, typology]
        values = {s: float(row[i]) for i, s in enumerate(self.signals)}
        out: list[tuple[float, str]] = []
        for k, (ti, term) in enumerate(self._terms):
            if ti != typology or contrib[k] < self.config.min_reason_contribution:
                continue
            text = term.reason[lang].format(value=float(row[self._cols[k]]), **values)
            out.append((float(contrib[k]), text))
        out.sort(key=lambda item: -item[0])
        return tuple(text for _, text in out)

    def score(
        self, rows: Sequence[Mapping[str, float]], *, lang: str = "zh-CN"
    ) -> list[TypologyResult]:
        """Score dict rows and explain each (reasons only for medium and high)."""
        x = self.matrix(rows)
        scores, level, best = self.score_matrix(x)
        lang = lang if lang in LANGUAGES else "zh-CN"
        out: list[TypologyResult] = []
        for i in range(len(rows)):
            b = int(best[i])
            typ = self.config.typologies[b]
            out.append(
                TypologyResult(
                    score=float(scores[i, b]),
                    level=LEVELS[int(level[i])],
                    typology=typ.code,
                    typology_name=typ.name[lang],
                    reasons=self.explain(x[i], b, lang=lang) if level[i] > 0 else (),
                    scores={
                        t.code: float(scores[i, j]) for j, t in enumerate(self.config.typologies)
                    },
                )
            )
        return out


class SignalTable:
    """In-memory signals of the potential victims being tracked (float32, one row each).

    Rows grow by doubling; ``ids`` map a person's key to a row. Memory is about
    ``4 · signals`` bytes per person for the matrix plus the key dictionary.
    """

    def __init__(self, signals: Sequence[str], capacity: int = 1024) -> None:
        """An empty table with the given signal columns."""
        self.signals = tuple(signals)
        self._col = {s: i for i, s in enumerate(self.signals)}
        self._data = np.zeros((max(capacity, 1), len(self.signals)), dtype=np.float32)
        self._rows: dict[str, int] = {}

    def __len__(self) -> int:
        """Number of people tracked."""
        return len(self._rows)

    def _row(self, key: str) -> int:
        row = self._rows.get(key)
        if row is None:
            row = len(self._rows)
            if row >= self._data.shape[0]:
                grown = np.zeros((self._data.shape[0] * 2, self._data.shape[1]), np.float32)
                grown[: self._data.shape[0]] = self._data
                self._data = grown
            self._rows[key] = row
        return row

    def set_many(
        self, keys: Sequence[str], signal: str, values: Sequence[float] | NDArray[Any]
    ) -> None:
        """Set one signal for many people (new keys get a zero row first)."""
        rows = np.fromiter((self._row(k) for k in keys), dtype=np.intp, count=len(keys))
        self._data[rows, self._col[signal]] = np.asarray(values, dtype=np.float32)

    def add_many(
        self, keys: Sequence[str], signal: str, values: Sequence[float] | NDArray[Any]
    ) -> None:
        """Add to one signal (counts, amounts) for many people; repeated keys accumulate."""
        rows = np.fromiter((self._row(k) for k in keys), dtype=np.intp, count=len(keys))
        np.add.at(self._data[:, self._col[signal]], rows, np.asarray(values, dtype=np.float32))

    def matrix(self) -> NDArray[np.float32]:
        """The signal matrix of the tracked people (a view, in insertion order)."""
        return self._data[: len(self._rows)]

    def keys(self) -> list[str]:
        """Keys in row order."""
        return list(self._rows)

    def nbytes(self) -> int:
        """Bytes held by the matrix (allocated capacity)."""
        return int(self._data.nbytes)
