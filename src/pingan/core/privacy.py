"""Personal data (个人信息): validators, maskers and the masking policy of API output.

What is here, and the conventions chosen:

- **Resident ID numbers** (居民身份证号码, GB 11643-1999): 18 characters — a 6-digit
  address code, the birth date ``YYYYMMDD``, a 3-digit sequence and an ISO 7064
  MOD 11-2 check character (``0``-``9`` or ``X``). :func:`is_valid_id_number` checks
  that the province part of the address code exists, that the birth date is a real
  date, not before 1850 and not in the future (China time), and the check character.
  Numbers of foreigners' permanent residence cards (2023, leading ``9`` then a
  province code) follow the same rules and are accepted. The withdrawn 15-digit
  first-generation form (no check digit, ``YYMMDD`` in the 1900s) is accepted only
  with ``allow_legacy=True`` and then only as a *format* check — it carries no check
  digit, so a typo cannot be caught; :func:`upgrade_legacy_id_number` converts it.
- **Masking** keeps what an operator needs to tell records apart and hides the rest:
  ID numbers keep the first 6 (the address code, which is not identifying on its own)
  and the last 4 (``110105********002X``); mobiles keep 3 + 4 (``138****5678``); bank
  cards keep the first 6 (the issuer BIN) and the last 4; names keep the surname
  (``张*``, ``欧阳**``) or, for Latin names, the first letter.
- **Bank cards**: the Luhn check is a *signal*, not a rule — some older domestic
  debit cards do not carry a Luhn digit. :func:`classify_personal_data` only reports
  digit runs that pass it, to keep false positives out of free-text scanning.

API schemas use the annotated types :data:`IdNumber`, :data:`MobileNumber`,
:data:`BankCardNumber` and :data:`PersonName`: they validate (the error names the
field) and, when dumped to **JSON** (which is what FastAPI does for responses), they
are masked unless the serialisation context says ``{"reveal_personal_data": True}``.
Python-mode dumps (``model_dump()``) keep the raw value so services can store it.
Revealing goes through :class:`PersonalDataPolicy` (who may) and
:func:`pingan.core.audit.reveal` (the audit record of the read).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, PlainSerializer, SerializationInfo
from pydantic_core import PydanticCustomError

from pingan.core import clock

PersonalDataKind = Literal["id_number", "mobile", "bank_card", "name"]

REVEAL_CONTEXT_KEY: Final = "reveal_personal_data"
"""Key of the serialisation context that turns masking off (after an audited decision)."""

CHINA_TZ: Final = timezone(timedelta(hours=8))

# Province-level parts of GB/T 2260 address codes, plus 71 (Taiwan), 81/82 (Hong Kong,
# Macao) and 83 (residence permits of Taiwan residents).
PROVINCE_CODES: Final = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83",
    }
)  # fmt: skip

_ID_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK_CHARS: Final = "10X98765432"  # indexed by (weighted sum mod 11)
_EARLIEST_BIRTH: Final = date(1850, 1, 1)

_SEPARATORS = re.compile(r"[\s\-]")
_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_CARD = re.compile(r"^\d{12,19}$")

# Compound surnames (复姓) masked as one unit.
COMPOUND_SURNAMES: Final = frozenset(
    {
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
        "宇文", "司徒", "司空", "夏侯", "轩辕", "令狐", "钟离", "澹台", "公冶", "太史",
        "端木", "申屠", "闻人", "西门", "南宫", "万俟", "独孤", "百里", "呼延", "赫连",
        "拓跋", "第五", "闾丘", "东郭", "左丘", "濮阳", "淳于", "单于", "仲孙", "叔孙",
    }
)  # fmt: skip


# ---------------------------------------------------------------------------- ID numbers


def normalise_id_number(value: str) -> str:
    """``value`` without spaces or dashes, with a lower-case ``x`` made upper-case."""
    return _SEPARATORS.sub("", value).upper()


def id_check_character(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("first17: must be exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _region_plausible(number: str) -> bool:
    if number[0] == "9":  # foreigners' permanent residence card: 9 + province code
        return number[1:3] in PROVINCE_CODES
    return number[:2] in PROVINCE_CODES


def _birth_date(digits: str) -> date | None:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def id_number_problem(value: str, *, allow_legacy: bool = False) -> str | None:
    """Why ``value`` is not a valid resident ID number (a short reason), or None if it is."""
    number = normalise_id_number(value)
    if allow_legacy and _ID15.match(number):
        body = number[:6] + "19" + number[6:]
        return _date_and_region_problem(body)
    if not _ID18.match(number):
        return "format"
    problem = _date_and_region_problem(number)
    if problem:
        return problem
    if id_check_character(number[:17]) != number[17]:
        return "check_digit"
    return None


def _date_and_region_problem(number: str) -> str | None:
    if not _region_plausible(number):
        return "region"
    born = _birth_date(number[6:14])
    if born is None or born < _EARLIEST_BIRTH:
        return "birth_date"
    if born > clock.now().astimezone(CHINA_TZ).date():
        return "birth_date_future"
    return None


def is_valid_id_number(value: str, *, allow_legacy: bool = False) -> bool:
    """Whether ``value`` is a valid 18-character resident ID number (GB 11643-1999)."""
    return id_number_problem(value, allow_legacy=allow_legacy) is None


def upgrade_legacy_id_number(value: str) -> str:
    """The 18-character form of a 15-digit first-generation ID number."""
    number = normalise_id_number(value)
    if not _ID15.match(number):
        raise ValueError("value: not a 15-digit ID number")
    first17 = number[:6] + "19" + number[6:]
    return first17 + id_check_character(first17)


def _mask_middle(text: str, keep_start: int, keep_end: int) -> str:
    if len(text) <= keep_start + keep_end:
        # Too short to keep both ends: keep at most the first quarter.
        keep = len(text) // 4
        return text[:keep] + "*" * (len(text) - keep)
    return text[:keep_start] + "*" * (len(text) - keep_start - keep_end) + text[-keep_end:]


def mask_id_number(value: str) -> str:
    """``value`` with all but the first 6 and last 4 characters hidden."""
    return _mask_middle(normalise_id_number(value), 6, 4)


# ---------------------------------------------------------------------------- mobiles


def normalise_mobile(value: str) -> str:
    """The 11 digits of a mainland mobile number (``+86``/``0086``, spaces, dashes removed)."""
    if len(value) == 11 and value.isascii() and value.isdigit():
        return value  # already plain: the common case, kept cheap for bulk ingest
    number = _SEPARATORS.sub("", value)
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            return number[len(prefix) :]
    if len(number) == 13 and number.startswith("86"):
        return number[2:]
    return number


def is_valid_mobile(value: str) -> bool:
    """Whether ``value`` is a mainland mobile number (``1[3-9]`` and 9 more digits)."""
    return bool(_MOBILE.match(normalise_mobile(value)))


def mask_mobile(value: str) -> str:
    """``value`` as ``138****5678``."""
    return _mask_middle(normalise_mobile(value), 3, 4)


# ---------------------------------------------------------------------------- bank cards


def normalise_bank_card(value: str) -> str:
    """The digits of a card number (spaces and dashes removed)."""
    return _SEPARATORS.sub("", value)


def luhn_ok(card: str) -> bool:
    """Whether the digits of ``card`` pass the Luhn check (a signal, not a rule)."""
    digits = normalise_bank_card(card)
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_plausible_bank_card(value: str) -> bool:
    """Whether ``value`` has the shape of a card number: 12 to 19 digits."""
    return bool(_CARD.match(normalise_bank_card(value)))


def mask_bank_card(value: str) -> str:
    """``value`` with all but the first 6 (issuer) and last 4 digits hidden."""
    return _mask_middle(normalise_bank_card(value), 6, 4)


# ---------------------------------------------------------------------------- names


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def mask_name(value: str) -> str:
    """The surname kept, the rest hidden: ``张*``, ``欧阳**``; Latin names keep the first letter."""
    name = value.strip()
    if not name:
        return ""
    if _is_han(name[0]):
        keep = 2 if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else 1
        if len(name) == 1:
            return "*"
        # Keep the separator of transliterated minority names (阿依古丽·买买提).
        return name[:keep] + "".join(ch if ch in "·• " else "*" for ch in name[keep:])
    return name[0] + "".join(ch if ch in " -'." else "*" for ch in name[1:])


# ---------------------------------------------------------------------------- dispatch


def masked(value: str | None, kind: PersonalDataKind, reveal: bool = False) -> str | None:
    """``value`` masked for ``kind`` unless ``reveal`` (the caller has audited the read)."""
    if value is None or reveal:
        return value
    if kind == "id_number":
        return mask_id_number(value)
    if kind == "mobile":
        return mask_mobile(value)
    if kind == "bank_card":
        return mask_bank_card(value)
    return mask_name(value)


# ---------------------------------------------------------------------------- free text


@dataclass(frozen=True)
class PersonalDataMatch:
    """One piece of personal data found in free text."""

    kind: PersonalDataKind
    start: int
    end: int
    value: str

    @property
    def masked(self) -> str:
        """The value masked for its kind."""
        result = masked(self.value, self.kind)
        assert result is not None
        return result


_TEXT_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_TEXT_CARD = re.compile(r"(?<![\d])\d{4}(?:[ -]?\d{4}){2,3}(?:[ -]?\d{1,3})?(?![\d])")
_TEXT_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![\d])")


def classify_personal_data(text: str) -> list[PersonalDataMatch]:
    """ID numbers, mobile numbers and (Luhn-valid) bank cards found in ``text``, in order."""
    found: list[PersonalDataMatch] = []

    def free(start: int, end: int) -> bool:
        return all(end <= m.start or start >= m.end for m in found)

    for m in _TEXT_ID.finditer(text):
        if is_valid_id_number(m.group()):
            found.append(PersonalDataMatch("id_number", m.start(), m.end(), m.group()))
    for m in _TEXT_CARD.finditer(text):
        digits = normalise_bank_card(m.group())
        if 16 <= len(digits) <= 19 and luhn_ok(digits) and free(m.start(), m.end()):
            found.append(PersonalDataMatch("bank_card", m.start(), m.end(), m.group()))
    for m in _TEXT_MOBILE.finditer(text):
        if is_valid_mobile(m.group()) and free(m.start(), m.end()):
            found.append(PersonalDataMatch("mobile", m.start(), m.end(), m.group()))
    return sorted(found, key=lambda m: m.start)


def mask_text(text: str) -> str:
    """``text`` with every piece of personal data :func:`classify_personal_data` finds masked."""
    out: list[str] = []
    pos = 0
    for m in classify_personal_data(text):
        out.append(text[pos : m.start])
        out.append(m.masked)
        pos = m.end
    out.append(text[pos:])
    return "".join(out)


# ---------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class PersonalDataPolicy:
    """Which roles may see personal data unmasked (each read is audited by the caller).

    A desk declares its own, e.g. the service window's clerks see the ID numbers of
    the applications they handle. The default policy reveals to nobody.
    """

    reveal_roles: frozenset[str] = frozenset()

    def may_reveal(self, roles: Iterable[str]) -> bool:
        """Whether a caller with ``roles`` may see unmasked personal data."""
        return bool(self.reveal_roles & frozenset(roles))

    def context(self, roles: Iterable[str], *, requested: bool) -> dict[str, bool]:
        """The serialisation context for a caller who ``requested`` unmasked output."""
        return {REVEAL_CONTEXT_KEY: requested and self.may_reveal(roles)}


MASK_EVERYTHING: Final = PersonalDataPolicy()


def dump_personal(model: BaseModel, *, reveal: bool = False) -> dict[str, Any]:
    """``model`` as JSON-ready data, personal fields masked unless ``reveal``."""
    return model.model_dump(mode="json", context={REVEAL_CONTEXT_KEY: reveal})


# ---------------------------------------------------------------------------- pydantic types


def _revealed(info: SerializationInfo) -> bool:
    ctx = info.context
    return isinstance(ctx, dict) and bool(ctx.get(REVEAL_CONTEXT_KEY))


def _validate_id_number(value: str) -> str:
    problem = id_number_problem(value)
    if problem is not None:
        raise PydanticCustomError(
            "id_number", "not a valid resident ID number ({reason})", {"reason": problem}
        )
    return normalise_id_number(value)


def _validate_mobile(value: str) -> str:
    number = normalise_mobile(value)
    if not _MOBILE.match(number):
        raise PydanticCustomError("mobile", "not a valid mainland mobile number")
    return number


def _validate_bank_card(value: str) -> str:
    if not is_plausible_bank_card(value):
        raise PydanticCustomError("bank_card", "not a bank card number (12-19 digits)")
    return normalise_bank_card(value)


def _validate_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise PydanticCustomError("name", "a name must not be empty")
    if len(name) > 100:
        raise PydanticCustomError("name", "a name must be at most 100 characters")
    return name


def _serialiser(kind: PersonalDataKind) -> PlainSerializer:
    def serialise(value: str, info: SerializationInfo) -> str:
        result = masked(value, kind, reveal=_revealed(info))
        assert result is not None
        return result

    return PlainSerializer(serialise, return_type=str, when_used="json")


IdNumber = Annotated[str, AfterValidator(_validate_id_number), _serialiser("id_number")]
"""A resident ID number: validated (GB 11643), normalised, masked in JSON output."""

MobileNumber = Annotated[str, AfterValidator(_validate_mobile), _serialiser("mobile")]
"""A mainland mobile number: validated, normalised to 11 digits, masked in JSON output."""

BankCardNumber = Annotated[str, AfterValidator(_validate_bank_card), _serialiser("bank_card")]
"""A bank card number: 12-19 digits (Luhn not required), masked in JSON output."""

PersonName = Annotated[str, AfterValidator(_validate_name), _serialiser("name")]
"""A person's name: trimmed, non-empty, masked in JSON output."""
