"""Official codes: formats, check characters and normal forms."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idp.directory import InvalidCode
from idp.directory.codes import (
    CREDIT_CODE_ALPHABET,
    birth_date_of_id_card,
    credit_code_check_character,
    division_level,
    id_card_check_character,
    normalise_credit_code,
    normalise_division_code,
    normalise_email,
    normalise_id_card,
    normalise_org_code,
    normalise_phone,
    normalise_school_code,
    normalise_student_number,
    normalise_username,
    phone_e164,
)
from tests.idp.directory_fixtures import credit_code, id_card

TODAY = dt.date(2026, 9, 1)

# The worked examples published with the standards.
GB11643_EXAMPLE = "11010519491231002X"
GB32100_EXAMPLE = "91350100M000100Y43"


def _key(call: object) -> str:
    with pytest.raises(InvalidCode) as info:
        call()  # type: ignore[operator]
    return info.value.key


# -- resident ID numbers ------------------------------------------------------------------

def test_the_standard_example_id_number_is_valid_and_a_lowercase_x_is_normalised() -> None:
    assert normalise_id_card(GB11643_EXAMPLE, today=TODAY) == GB11643_EXAMPLE
    assert normalise_id_card(" 11010519491231002x ", today=TODAY) == GB11643_EXAMPLE
    assert birth_date_of_id_card(GB11643_EXAMPLE) == dt.date(1949, 12, 31)


def test_check_character_follows_iso_7064_mod_11_2() -> None:
    # Worked by hand: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 over 44030420100101001:
    # 28+36+0+15+0+16+4+0+6+0+0+9+0+5+0+0+2 = 121, 121 mod 11 = 0 -> "1".
    assert id_card_check_character("44030420100101001") == "1"
    assert normalise_id_card("440304201001010011", today=TODAY) == "440304201001010011"
    # The standard's example: check value 2 -> "X".
    assert id_card_check_character(GB11643_EXAMPLE[:17]) == "X"


def test_wrong_check_digit_in_id_number_is_rejected() -> None:
    good = id_card("330106", dt.date(2012, 3, 15), 27)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert _key(lambda: normalise_id_card(wrong, today=TODAY)) == "code.bad_id_card_check"


@pytest.mark.parametrize("value, key", [
    ("11010519491231002", "code.bad_id_card"),          # 17 characters
    ("11010519491231002XX", "code.bad_id_card"),        # 19
    ("1101051949123100AX", "code.bad_id_card"),         # letter in the body
    ("00010519491231002X", "code.bad_id_card"),         # no such region
    ("110105194902300021", "code.bad_id_card_date"),    # 30 February
    ("110105203001010011", "code.bad_id_card_date"),    # born in the future
    ("110105189912310011", "code.bad_id_card_date"),    # before 1900
])
def test_malformed_id_numbers_are_rejected_with_a_reason(value: str, key: str) -> None:
    assert _key(lambda: normalise_id_card(value, today=TODAY)) == key


@given(born=st.dates(dt.date(1950, 1, 1), dt.date(2020, 12, 31)),
       sequence=st.integers(0, 999), position=st.integers(0, 16), digit=st.integers(0, 9))
def test_any_single_digit_error_in_an_id_number_is_caught(born: dt.date, sequence: int,
                                                          position: int, digit: int) -> None:
    good = id_card("320102", born, sequence)
    assert normalise_id_card(good, today=TODAY) == good
    if good[position] == str(digit):
        return
    typo = good[:position] + str(digit) + good[position + 1:]
    with pytest.raises(InvalidCode):
        normalise_id_card(typo, today=TODAY)


@given(born=st.dates(dt.date(1950, 1, 1), dt.date(2020, 12, 31)),
       sequence=st.integers(0, 999), position=st.integers(0, 15))
def test_swapping_two_adjacent_digits_of_an_id_number_is_caught(born: dt.date, sequence: int,
                                                                position: int) -> None:
    good = id_card("510104", born, sequence)
    if good[position] == good[position + 1]:
        return
    swapped = (good[:position] + good[position + 1] + good[position] + good[position + 2:])
    with pytest.raises(InvalidCode):
        normalise_id_card(swapped, today=TODAY)


# -- unified social credit codes -----------------------------------------------------------

def test_the_standard_example_credit_code_is_valid() -> None:
    assert normalise_credit_code(GB32100_EXAMPLE) == GB32100_EXAMPLE
    assert normalise_credit_code("91350100m000100y43") == GB32100_EXAMPLE


def test_credit_code_check_character_is_weighted_mod_31() -> None:
    # Weights are 3^i mod 31; the check is (31 - sum mod 31) mod 31 in the 31-symbol
    # alphabet. For seventeen zeros except a leading "1": sum = 1 -> 30 -> "Y".
    assert credit_code_check_character("1" + "0" * 16) == "Y"
    assert credit_code_check_character("0" * 17) == "0"
    assert normalise_credit_code("1" + "0" * 16 + "Y") == "1" + "0" * 16 + "Y"


def test_wrong_check_character_in_credit_code_is_rejected() -> None:
    wrong = GB32100_EXAMPLE[:17] + "2"
    assert _key(lambda: normalise_credit_code(wrong)) == "code.bad_credit_check"


@pytest.mark.parametrize("value", [
    "91350100M000100Y4",      # 17 characters
    "91350100M000100I43",     # I is not in the alphabet
    "913501O0M000100Y43",     # O in the division part
    "91ABCDEFM000100Y43",     # division part must be digits
])
def test_malformed_credit_codes_are_rejected(value: str) -> None:
    assert _key(lambda: normalise_credit_code(value)) == "code.bad_credit_code"


@given(st.text(CREDIT_CODE_ALPHABET, min_size=9, max_size=9),
       st.integers(0, 16), st.sampled_from(CREDIT_CODE_ALPHABET))
def test_any_single_character_error_in_a_credit_code_is_caught(tail: str, position: int,
                                                               symbol: str) -> None:
    good = credit_code("12330100" + tail)
    assert normalise_credit_code(good) == good
    if good[position] == symbol:
        return
    typo = good[:position] + symbol + good[position + 1:]
    with pytest.raises(InvalidCode):
        normalise_credit_code(typo)


# -- divisions, schools, organisation codes ----------------------------------------------------

def test_division_codes_and_their_levels() -> None:
    assert division_level(normalise_division_code("330000")) == "province"
    assert division_level(normalise_division_code("330100")) == "city"
    assert division_level(normalise_division_code("330106")) == "county"
    assert division_level(normalise_division_code("100000")) == "national"
    for bad in ("33010", "3301066", "990000", "33O106"):
        assert _key(lambda bad=bad: normalise_division_code(bad)) == "code.bad_division"


def test_organisation_code_must_match_its_kind() -> None:
    assert normalise_org_code("county", "330106") == "330106"
    assert _key(lambda: normalise_org_code("province", "330106")) == "code.level_mismatch"
    assert normalise_org_code("school", "3133001234") == "3133001234"
    assert _key(lambda: normalise_org_code("school", "313300123")) == "code.bad_school"
    assert _key(lambda: normalise_school_code("0133001234")) == "code.bad_school"
    assert normalise_org_code("enterprise", GB32100_EXAMPLE) == GB32100_EXAMPLE
    assert _key(lambda: normalise_org_code("bureau", "330106")) == "code.bad_credit_code"
    assert _key(lambda: normalise_org_code("castle", "330106")) == "code.bad_kind"


# -- phones and the rest ------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["13800138000", "+86 138-0013-8000", "0086 13800138000",
                                   "86-138 0013 8000", "(138) 0013.8000"])
def test_phone_numbers_are_normalised_to_eleven_digits(value: str) -> None:
    assert normalise_phone(value) == "13800138000"
    assert phone_e164(normalise_phone(value)) == "+8613800138000"


@pytest.mark.parametrize("value", ["12800138000", "1380013800", "138001380001", "+1 415 555 0100",
                                   "1380013800x", ""])
def test_non_mainland_mobile_numbers_are_rejected(value: str) -> None:
    assert _key(lambda: normalise_phone(value)) == "code.bad_phone"


def test_usernames_emails_and_student_numbers_are_normalised() -> None:
    assert normalise_username(" Zhang.San ") == "zhang.san"
    assert _key(lambda: normalise_username("z")) == "code.bad_username"
    assert _key(lambda: normalise_username("张三")) == "code.bad_username"
    assert normalise_email(" Li.Si@Example.EDU.cn ") == "Li.Si@example.edu.cn"
    assert _key(lambda: normalise_email("li.si@localhost")) == "code.bad_email"
    assert normalise_student_number(" g110105201203150011 ") == "G110105201203150011"
    assert _key(lambda: normalise_student_number("G-1")) == "code.bad_student_number"


def test_messages_for_bad_codes_never_carry_the_value() -> None:
    with pytest.raises(InvalidCode) as info:
        normalise_id_card("110105194912310021", today=TODAY)
    assert "110105194912310021" not in str(info.value) and not info.value.values
