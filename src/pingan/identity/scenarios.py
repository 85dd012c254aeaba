"""Relying-party scenarios and the resident credential's claim set (with derived age claims).

A scenario is a place a resident shows their digital ID (an internet café, a hotel front desk, a
railway ticket gate ...): it declares the claims it may ask for and why. The registry is an
editable JSON file (``scenarios.json``, zh-CN and en names and purposes). The credential's claims
are the resident's name, ID number, birth date, district of residence, photo hash, and the age
claims derived from the birth date on the day of issuance (``age_over_14/16/18/60``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

AGE_THRESHOLDS: tuple[int, ...] = (14, 16, 18, 60)
BASE_CLAIMS: tuple[str, ...] = ("name", "id_number", "birth_date", "address_district", "photo_hash")
AGE_CLAIMS: tuple[str, ...] = tuple(f"age_over_{n}" for n in AGE_THRESHOLDS)
#: Every claim a resident credential discloses selectively.
CREDENTIAL_CLAIMS: tuple[str, ...] = BASE_CLAIMS + AGE_CLAIMS

CATEGORIES: dict[str, dict[str, str]] = {
    "entertainment": {"zh-CN": "娱乐场所", "en": "Entertainment venue"},
    "retail": {"zh-CN": "零售", "en": "Retail"},
    "online": {"zh-CN": "互联网服务", "en": "Online service"},
    "lodging": {"zh-CN": "住宿", "en": "Lodging"},
    "transport": {"zh-CN": "交通出行", "en": "Transport"},
    "telecom": {"zh-CN": "电信", "en": "Telecom"},
    "finance": {"zh-CN": "金融", "en": "Finance"},
    "logistics": {"zh-CN": "寄递物流", "en": "Logistics"},
    "healthcare": {"zh-CN": "医疗卫生", "en": "Healthcare"},
    "public_service": {"zh-CN": "公共服务", "en": "Public service"},
    "tourism": {"zh-CN": "文旅", "en": "Tourism"},
    "employment": {"zh-CN": "用工", "en": "Employment"},
    "government": {"zh-CN": "政务", "en": "Government"},
    "education": {"zh-CN": "教育", "en": "Education"},
}

DEFAULT_REGISTRY = Path(__file__).with_name("scenarios.json")


class ScenarioError(ValueError):
    """The scenario registry is invalid, or a scenario is unknown (``field`` names where)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Scenario:
    """A relying-party scenario: what it may ask for and why."""

    id: str
    name: Mapping[str, str]
    category: str
    claims: frozenset[str]
    purpose: Mapping[str, str]

    def label(self, language: str = "zh-CN") -> str:
        """The scenario's name in ``language`` (zh-CN or en)."""
        return self.name.get(language) or self.name["zh-CN"]


def _scenario(raw: Any, i: int) -> Scenario:
    where = f"scenarios[{i}]"
    if not isinstance(raw, dict):
        raise ScenarioError("must be an object", where)
    sid = raw.get("id")
    if not isinstance(sid, str) or not sid.isidentifier():
        raise ScenarioError("id must be an identifier", f"{where}.id")
    for key in ("name", "purpose"):
        text = raw.get(key)
        if not isinstance(text, dict) or not all(
            isinstance(text.get(lang), str) and text[lang] for lang in ("zh-CN", "en")
        ):
            raise ScenarioError("needs zh-CN and en text", f"{where}.{key}")
    if raw.get("category") not in CATEGORIES:
        raise ScenarioError(f"unknown category {raw.get('category')!r}", f"{where}.category")
    claims = raw.get("claims")
    if not isinstance(claims, list) or not claims:
        raise ScenarioError("must list at least one claim", f"{where}.claims")
    unknown = [c for c in claims if c not in CREDENTIAL_CLAIMS]
    if unknown:
        raise ScenarioError(f"unknown claims {unknown}", f"{where}.claims")
    return Scenario(
        sid, dict(raw["name"]), raw["category"], frozenset(claims), dict(raw["purpose"])
    )


def parse_registry(document: Any) -> dict[str, Scenario]:
    """Scenarios by id from a registry document (``{"version": 1, "scenarios": [...]}``)."""
    if not isinstance(document, dict) or not isinstance(document.get("scenarios"), list):
        raise ScenarioError("expected {'scenarios': [...]}", "scenarios")
    registry: dict[str, Scenario] = {}
    for i, raw in enumerate(document["scenarios"]):
        scenario = _scenario(raw, i)
        if scenario.id in registry:
            raise ScenarioError(f"duplicate id {scenario.id!r}", f"scenarios[{i}].id")
        registry[scenario.id] = scenario
    return registry


@lru_cache(maxsize=8)
def load_registry(path: Path = DEFAULT_REGISTRY) -> dict[str, Scenario]:
    """The scenario registry from a JSON file (the shipped one by default)."""
    return parse_registry(json.loads(path.read_text(encoding="utf-8")))


def get_scenario(scenario_id: str, registry: Mapping[str, Scenario] | None = None) -> Scenario:
    """One scenario by id."""
    scenarios = load_registry() if registry is None else registry
    try:
        return scenarios[scenario_id]
    except KeyError:
        raise ScenarioError(f"unknown scenario {scenario_id!r}", "scenario") from None


def age_on(birth_date: date, on: date) -> int:
    """Age in whole years on ``on`` (born 29 February: a year older on 1 March in common years)."""
    if on < birth_date:
        raise ScenarioError("the birth date is after the reference date", "birth_date")
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_claims(birth_date: date, on: date) -> dict[str, bool]:
    """``age_over_N`` for every threshold, computed on ``on``."""
    age = age_on(birth_date, on)
    return {f"age_over_{n}": age >= n for n in AGE_THRESHOLDS}


@dataclass(frozen=True)
class Resident:
    """What the bureau knows about a resident and puts into the credential."""

    name: str
    id_number: str
    birth_date: date
    address_district: str
    photo_hash: str


def credential_claims(resident: Resident, on: date) -> dict[str, Any]:
    """The selectively disclosable claims of a resident credential issued on ``on``."""
    claims: dict[str, Any] = {
        "name": resident.name,
        "id_number": resident.id_number,
        "birth_date": resident.birth_date.isoformat(),
        "address_district": resident.address_district,
        "photo_hash": resident.photo_hash,
    }
    claims.update(age_claims(resident.birth_date, on))
    return claims
