"""The city model's message catalogue is complete in both languages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pingan.city

LOCALES = Path(pingan.city.__file__).parent / "locales"


def _flat(tree: dict[str, object], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out


def test_zh_and_en_have_the_same_keys_and_placeholders() -> None:
    zh = _flat(json.loads((LOCALES / "zh-CN.json").read_text(encoding="utf-8")))
    en = _flat(json.loads((LOCALES / "en.json").read_text(encoding="utf-8")))
    assert set(zh) == set(en)
    for key in zh:
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_every_error_key_raised_in_the_code_is_in_the_catalogue() -> None:
    en = _flat(json.loads((LOCALES / "en.json").read_text(encoding="utf-8")))
    source = "".join(p.read_text(encoding="utf-8") for p in LOCALES.parent.glob("*.py"))
    used = set(re.findall(r'"(city\.error\.\w+)"', source))
    assert used and used <= set(en)
