"""RFC 8785 canonical JSON for records, numbers with fractions included."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.canonical import canonical_json as ledger_canonical
from records.canonical import canonical_json, format_number, parse_json
from records.errors import CanonicalFormError

# Values from RFC 8785 appendix B (IEEE 754 bit patterns and their serialisations).
RFC8785_NUMBERS = [
    ("0000000000000000", "0"), ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"), ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"), ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"), ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"), ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"), ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"), ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"), ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"), ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"), ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"), ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), RFC8785_NUMBERS)
def test_numbers_serialise_as_rfc_8785_appendix_b(bits: str, expected: str) -> None:
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert format_number(value) == expected


@pytest.mark.parametrize(("bits", "expected"), RFC8785_NUMBERS)
def test_numbers_inside_documents_are_spelled_as_rfc_8785_says(bits: str,
                                                               expected: str) -> None:
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert canonical_json({"n": [value, 2.5, 2.0]}) == \
        b'{"n":[' + expected.encode() + b',2.5,2]}'


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_double_round_trips(value: float) -> None:
    assert float(format_number(value)) == value or value == 0


def test_members_are_ordered_by_utf16_code_units() -> None:
    # RFC 8785 3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16.
    doc = {"\ufb33": 1, "\U0001f600": 2, "a": 3, "1": 4}
    assert canonical_json(doc) == '{"1":4,"a":3,"\U0001f600":2,"\ufb33":1}'.encode()


@given(st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=20))
def test_without_fractions_it_matches_the_ledgers_canonical_form(value: object) -> None:
    assert canonical_json(value) == ledger_canonical(value)


def test_nan_huge_integers_and_duplicate_members_are_refused() -> None:
    for bad in (math.nan, math.inf, 2**53 + 1, {1: "x"}):
        with pytest.raises(CanonicalFormError):
            canonical_json(bad)
    with pytest.raises(CanonicalFormError):
        parse_json(b'{"a": 1, "a": 2}')
    with pytest.raises(CanonicalFormError):
        parse_json(b'{"a": NaN}')


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=6)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=4),
    max_leaves=20)


@given(_JSON)
def test_the_json_dumps_shortcut_writes_what_the_rfc_8785_encoder_writes(value: object) -> None:
    from records.canonical import _encode

    out: list[str] = []
    _encode(value, out, 0)
    assert canonical_json(value) == "".join(out).encode("utf-8")


def test_member_names_beyond_the_bmp_sort_by_utf_16_through_the_shortcut_too() -> None:
    # U+10000 is D800 DC00 in UTF-16: before U+E000, though its code point is larger.
    assert canonical_json({"\ue000": 1, "\U00010000": 2, "a": 3}) == \
        '{"a":3,"\U00010000":2,"\ue000":1}'.encode()
