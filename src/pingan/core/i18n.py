"""Message catalogue (zh-CN default, English) for errors, the CLI and the page.

Each desk ships ``locales/<lang>.json`` files next to its code; :func:`register_catalogue`
merges them under the desk's namespace. Keys are dotted: ``core.error.not_found``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

SUPPORTED: Final = ("zh-CN", "en")
DEFAULT_LANGUAGE: Final = "zh-CN"

_catalogues: dict[str, dict[str, str]] = {lang: {} for lang in SUPPORTED}


def register_catalogue(directory: Path) -> None:
    """Merge the ``<lang>.json`` files found in ``directory`` into the catalogue."""
    for lang in SUPPORTED:
        path = directory / f"{lang}.json"
        if path.exists():
            entries = json.loads(path.read_text(encoding="utf-8"))
            _catalogues[lang].update(_flatten(entries))


def _flatten(tree: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{full}."))
        else:
            flat[full] = str(value)
    return flat


def normalise_language(value: str | None) -> str:
    """Map an Accept-Language header or a user's choice onto a supported language."""
    if not value:
        return DEFAULT_LANGUAGE
    for part in value.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return DEFAULT_LANGUAGE


def console_language() -> str:
    """The console's language: ``PINGAN_LANG``, then ``LANG`` (``en_GB.UTF-8`` -> en)."""
    chosen = os.environ.get("PINGAN_LANG") or os.environ.get("LANG", "")
    return normalise_language(chosen.replace("_", "-"))


def console_text(key: str, **params: object) -> str:
    """A console (CLI) message in :func:`console_language`."""
    return translate(key, console_language(), **params)


def translate(key: str, lang: str | None = None, **params: object) -> str:
    """The message for ``key`` in ``lang`` with ``params`` filled in.

    Falls back to the other language, then to the key itself, so a missing
    translation is visible but never fatal.
    """
    language = normalise_language(lang) if lang not in SUPPORTED else lang
    assert language is not None
    template = _catalogues[language].get(key)
    if template is None:
        for other in SUPPORTED:
            template = _catalogues[other].get(key)
            if template is not None:
                break
    if template is None:
        return key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def catalogue(lang: str) -> dict[str, str]:
    """Every message in ``lang`` (for the page)."""
    return dict(_catalogues[normalise_language(lang) if lang not in SUPPORTED else lang])


def missing_keys() -> dict[str, set[str]]:
    """Keys present in one language but not the other."""
    zh, en = set(_catalogues["zh-CN"]), set(_catalogues["en"])
    return {"zh-CN": en - zh, "en": zh - en}


register_catalogue(Path(__file__).parent / "locales")

_ = translate
