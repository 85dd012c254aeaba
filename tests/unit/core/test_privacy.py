"""Personal data: ID numbers (GB 11643), mobiles, bank cards (Luhn), names, masking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from pingan.core.clock import frozen
from pingan.core.privacy import (
    PROVINCE_CODES,
    REVEAL_CONTEXT_KEY,
    BankCardNumber,
    IdNumber,
    MobileNumber,
    PersonalDataPolicy,
    PersonName,
    classify_personal_data,
    dump_personal,
    id_number_problem,
    is_plausible_bank_card,
    is_valid_id_number,
    is_valid_mobile,
    luhn_ok,
    mask_bank_card,
    mask_id_number,
    mask_mobile,
    mask_name,
    mask_text,
    masked,
    upgrade_legacy_id_number,
)


def oracle_check_char(first17: str) -> str:
    """An independent formulation of ISO 7064 MOD 11-2: (12 - S mod 11) mod 11, 10 -> X."""
    s = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(first17))
    v = (12 - s % 11) % 11
    return "X" if v == 10 else str(v)


# Worked by hand: 11010519491231002X is the standard's own example (sum 167, 167 mod 11 = 2
# -> X); 440524188001010014 the textbook one; 310115198001011238: sum 158, mod 11 = 4 -> 8.
VALID_IDS = [
    "11010519491231002X",
    "440524188001010014",
    "310115198001011238",
    "51010819920229456X",  # 29 February of a leap year
    "650102200001019877",
    "810000198506153213",  # Hong Kong resident's residence permit
]


@pytest.mark.parametrize("number", VALID_IDS)
def test_known_valid_id_numbers(number: str) -> None:
    assert oracle_check_char(number[:17]) == number[17]
    assert is_valid_id_number(number)
    assert is_valid_id_number(number.lower())  # a lower-case x is accepted
    assert is_valid_id_number(f"{number[:6]} {number[6:14]} {number[14:]}")


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("110105194912310021", "check_digit"),  # should end in X
        ("440524188001010015", "check_digit"),
        ("11010519491231002", "format"),  # 17 characters
        ("1101051949123100211", "format"),  # 19
        ("11010519491231002Y", "format"),
        ("X10105194912310021", "format"),
        ("", "format"),
        ("991051949123100" + "214", "region"),  # 99 is no province
        ("001051949123100214", "region"),
        ("110105199302290000", "birth_date"),  # 1993 is no leap year
        ("110105199013010000", "birth_date"),  # month 13
        ("110105184912310000", "birth_date"),  # before 1850
    ],
)
def test_invalid_id_numbers(number: str, problem: str) -> None:
    if len(number) == 18 and problem in ("region", "birth_date"):
        # Give them a correct check character, so only the named problem remains.
        number = number[:17] + oracle_check_char(number[:17])
    assert id_number_problem(number) == problem
    assert not is_valid_id_number(number)


def test_birth_date_in_the_future_is_refused() -> None:
    first17 = "11010520240602123"
    number = first17 + oracle_check_char(first17)
    with frozen(datetime(2024, 6, 1, 12, tzinfo=UTC)):
        assert id_number_problem(number) == "birth_date_future"
    with frozen(datetime(2024, 6, 2, 0, 30, tzinfo=UTC)):  # already 2 June in Beijing
        assert is_valid_id_number(number)


def test_legacy_15_digit_form_is_format_only_and_opt_in() -> None:
    legacy = "110105491231002"
    assert not is_valid_id_number(legacy)
    assert is_valid_id_number(legacy, allow_legacy=True)
    assert not is_valid_id_number("110105491331002", allow_legacy=True)  # month 13
    assert upgrade_legacy_id_number(legacy) == "11010519491231002X"


def test_foreigners_permanent_residence_numbers() -> None:
    first17 = "93115619850101001"  # 9 + Shanghai's province code 31
    assert is_valid_id_number(first17 + oracle_check_char(first17))
    first17 = "99915619850101001"
    assert id_number_problem(first17 + oracle_check_char(first17)) == "region"


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    rest = draw(st.text("0123456789", min_size=4, max_size=4))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)))
    seq = draw(st.integers(0, 999))
    first17 = f"{province}{rest}{born:%Y%m%d}{seq:03d}"
    return first17 + oracle_check_char(first17)


@given(valid_ids())
def test_generated_valid_ids_pass(number: str) -> None:
    assert is_valid_id_number(number)


@given(valid_ids(), st.integers(0, 17), st.integers(1, 10))
def test_any_single_character_change_fails(number: str, position: int, shift: int) -> None:
    alphabet = "0123456789" if position < 17 else "0123456789X"
    old = number[position]
    new = alphabet[(alphabet.index(old) + shift) % len(alphabet)]
    if new == old:
        new = alphabet[(alphabet.index(old) + 1) % len(alphabet)]
    changed = number[:position] + new + number[position + 1 :]
    assert not is_valid_id_number(changed)


def test_mask_id_number_keeps_six_and_four() -> None:
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("110105 19491231 002x") == "110105********002X"


@pytest.mark.parametrize(
    "phone",
    [
        "13812345678",
        "19912345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "0086-138-1234-5678",
        "138-1234-5678",
    ],
)
def test_valid_mobiles(phone: str) -> None:
    assert is_valid_mobile(phone)
    assert mask_mobile(phone)[:3] in ("138", "199")
    assert mask_mobile(phone)[3:7] == "****"


@pytest.mark.parametrize(
    "phone", ["12812345678", "1381234567", "138123456789", "23812345678", "1381234567a", ""]
)
def test_invalid_mobiles(phone: str) -> None:
    assert not is_valid_mobile(phone)


def test_mask_mobile() -> None:
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("+86 138 1234 5678") == "138****5678"


def test_luhn() -> None:
    # 4111111111111111: the card industry's test number. 79927398713: the textbook example.
    # 6222021234567890128 by hand: undoubled 8+1+9+7+5+3+1+0+2+6 = 42, doubled
    # 4+0+7+3+8+4+4+4+4 = 38, total 80.
    for good in (
        "4111111111111111",
        "79927398713",
        "6222021234567890128",
        "6222 0212 3456 7890 128",
    ):
        assert luhn_ok(good), good
    for bad in ("4111111111111112", "6222021234567890123", "79927398710", "", "1", "abcd"):
        assert not luhn_ok(bad), bad


def test_bank_cards() -> None:
    assert is_plausible_bank_card("6222021234567890123")  # Luhn is a signal, not a rule
    assert not is_plausible_bank_card("12345678901")
    assert mask_bank_card("6222021234567890128") == "622202*********0128"
    assert mask_bank_card("4111 1111 1111 1111") == "411111******1111"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳修", "欧阳*"),
        ("司马", "司*"),
        ("李", "*"),
        ("阿依古丽·买买提", "阿***·***"),
        ("John Smith", "J*** *****"),
        ("  王五 ", "王*"),
        ("", ""),
    ],
)
def test_mask_name(name: str, expected: str) -> None:
    assert mask_name(name) == expected


def test_masked_dispatch_and_reveal() -> None:
    assert masked("13812345678", "mobile") == "138****5678"
    assert masked("13812345678", "mobile", reveal=True) == "13812345678"
    assert masked(None, "name") is None
    assert masked("张三", "name") == "张*"


def test_classify_personal_data_in_free_text() -> None:
    text = (
        "报警人张三，身份证11010519491231002X，电话138 1234 5678，"
        "被骗转账至 6222 0212 3456 7890 128；另有号码110105194912310021和卡4111111111111112。"
    )
    found = classify_personal_data(text)
    assert [(m.kind, m.value) for m in found] == [
        ("id_number", "11010519491231002X"),
        ("mobile", "138 1234 5678"),
        ("bank_card", "6222 0212 3456 7890 128"),
    ]
    assert text[found[0].start : found[0].end] == "11010519491231002X"
    masked_text = mask_text(text)
    assert "11010519491231002X" not in masked_text
    assert "110105********002X" in masked_text
    assert "138****5678" in masked_text
    assert "622202*********0128" in masked_text
    assert "110105194912310021" in masked_text  # not a valid ID: left alone


def test_mobile_inside_a_longer_number_is_not_reported() -> None:
    assert classify_personal_data("订单号 9913812345678000") == []
    assert [m.kind for m in classify_personal_data("tel:+86-13812345678.")] == ["mobile"]


class Person(BaseModel):
    name: PersonName
    id_number: IdNumber
    mobile: MobileNumber | None = None
    card: BankCardNumber | None = None


def test_annotated_types_validate_and_name_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        Person(name="张三", id_number="110105194912310021")
    (problem,) = err.value.errors()
    assert problem["loc"] == ("id_number",)
    assert "check_digit" in problem["msg"]
    with pytest.raises(ValidationError) as err:
        Person(name="张三", id_number="11010519491231002X", mobile="12345")
    assert [e["loc"] for e in err.value.errors()] == [("mobile",)]
    with pytest.raises(ValidationError) as err:
        Person(name=" ", id_number="11010519491231002X", card="12")
    assert {e["loc"] for e in err.value.errors()} == {("name",), ("card",)}


def test_json_output_is_masked_by_default_and_python_output_is_not() -> None:
    p = Person(
        name=" 欧阳娜娜 ",
        id_number="11010519491231002x",
        mobile="+86 138-1234-5678",
        card="6222 0212 3456 7890 128",
    )
    assert p.model_dump() == {
        "name": "欧阳娜娜",
        "id_number": "11010519491231002X",
        "mobile": "13812345678",
        "card": "6222021234567890128",
    }
    assert p.model_dump(mode="json") == {
        "name": "欧阳**",
        "id_number": "110105********002X",
        "mobile": "138****5678",
        "card": "622202*********0128",
    }
    assert "11010519491231002X" not in p.model_dump_json()
    assert dump_personal(p, reveal=True)["id_number"] == "11010519491231002X"
    assert p.model_dump(mode="json", context={REVEAL_CONTEXT_KEY: True})["mobile"] == "13812345678"


def test_policy_decides_by_role() -> None:
    policy = PersonalDataPolicy(reveal_roles=frozenset({"clerk"}))
    assert policy.may_reveal({"clerk", "officer"})
    assert not policy.may_reveal({"officer"})
    assert policy.context({"clerk"}, requested=True) == {REVEAL_CONTEXT_KEY: True}
    assert policy.context({"clerk"}, requested=False) == {REVEAL_CONTEXT_KEY: False}
    assert policy.context({"analyst"}, requested=True) == {REVEAL_CONTEXT_KEY: False}
    assert not PersonalDataPolicy().may_reveal({"admin"})


def test_birth_date_check_uses_the_platform_clock() -> None:
    # One day past "today" on a frozen clock far in the past is already the future.
    with frozen(datetime(2000, 1, 1, tzinfo=UTC)) as clock:
        first17 = "11010520000102000"
        number = first17 + oracle_check_char(first17)
        assert not is_valid_id_number(number)
        clock.advance(timedelta(days=1))
        assert is_valid_id_number(number)
