"""Canonical JSON (RFC 8785) and the strict parsing of transaction envelopes: everything the
ledger hashes or signs has exactly one byte form, and any other form is refused."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.sm3 import sm3
from ledger.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    canonical_json,
    canonical_json_each,
    flat_object_json,
    parse_canonical,
)
from ledger.tx import (
    NONCE_SIZE,
    Endorsement,
    Event,
    MalformedTransaction,
    Proposal,
    ProposalResults,
    RangeRead,
    ReadWriteSet,
    Response,
    Transaction,
    Version,
    format_time,
    parse_time,
)

# --------------------------------------------------------------------------- canonical JSON


def test_object_keys_are_ordered_by_utf16_code_units() -> None:
    # The key set of RFC 8785 section 3.2.3: U+1F600 sorts by its high surrogate D83D,
    # so it comes before U+FB33 although its code point is larger.
    value = {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5, "\u0080": 6,
             "\u00f6": 7}
    encoded = canonical_json(value).decode()
    order = [encoded.index(f'"{k}"') for k in
             ("\\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33")]
    assert order == sorted(order)


def test_a_key_beyond_the_bmp_sorts_before_a_higher_bmp_key() -> None:
    assert canonical_json({"\ufb01": 1, "\U0001f600": 2}) == \
        '{"\U0001f600":2,"\ufb01":1}'.encode()


def test_nested_objects_are_ordered_and_have_no_whitespace() -> None:
    value = {"b": [1, {"z": None, "a": True}], "a": {"y": "x", "x": False}}
    assert canonical_json(value) == b'{"a":{"x":false,"y":"x"},"b":[1,{"a":true,"z":null}]}'


def test_non_ascii_text_stays_unescaped_utf8() -> None:
    assert canonical_json({"学校": "某某中学 é €"}) == '{"学校":"某某中学 é €"}'.encode()


def test_control_characters_use_short_or_lowercase_unicode_escapes() -> None:
    assert canonical_json("\b\t\n\f\r\x00\x1f\"\\/\x7f") == \
        b'"\\b\\t\\n\\f\\r\\u0000\\u001f\\"\\\\/\x7f"'


@pytest.mark.parametrize("value", [1.0, 0.5, -0.0, float("nan"), float("inf"),
                                   {"a": [1, 2.5]}, [1e300]])
def test_floats_are_refused_when_encoding(value: Any) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical_json(value)


@pytest.mark.parametrize("text", [b"1.0", b"1e3", b"1E3", b"-0.5", b'{"a":2e1}', b"[0.1]",
                                  b"NaN", b"Infinity", b"-Infinity"])
def test_floats_and_non_finite_numbers_are_refused_when_parsing(text: bytes) -> None:
    with pytest.raises(CanonicalJSONError):
        parse_canonical(text)


def test_integers_up_to_2_53_are_exact_and_accepted() -> None:
    assert canonical_json([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == \
        b"[9007199254740992,-9007199254740992]"
    assert parse_canonical(b"9007199254740992") == MAX_SAFE_INTEGER


@pytest.mark.parametrize("value", [MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 10**30])
def test_integers_beyond_2_53_are_refused(value: int) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical_json(value)
    with pytest.raises(CanonicalJSONError):
        parse_canonical(str(value).encode())


@pytest.mark.parametrize("value", [{1: "a"}, {None: 1}, b"bytes", {1, 2}, dt.date(2024, 1, 1),
                                   object()])
def test_values_outside_the_json_subset_are_refused(value: Any) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical_json(value)


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", {"\udc00": 1}, ["ok", "\ud83d"]])
def test_lone_surrogates_are_refused_when_encoding(value: Any) -> None:
    with pytest.raises(CanonicalJSONError):
        canonical_json(value)


@pytest.mark.parametrize("text", [b'"\\ud800"', b'{"\\udc00":1}', b'["\\ud83d"]'])
def test_lone_surrogates_are_refused_when_parsing(text: bytes) -> None:
    with pytest.raises(CanonicalJSONError):
        parse_canonical(text)


def test_nesting_deeper_than_64_levels_is_refused() -> None:
    assert canonical_json([[[]]])
    deep: Any = []
    for _ in range(70):
        deep = [deep]
    with pytest.raises(CanonicalJSONError):
        canonical_json(deep)
    with pytest.raises(CanonicalJSONError):
        parse_canonical(b"[" * 70 + b"]" * 70)


@pytest.mark.parametrize("text", [
    b'{"a": 1}',                 # whitespace
    b' {"a":1}',
    b'{"a":1}\n',
    b'{"b":1,"a":2}',            # members out of order
    b'{"a":1,"a":1}',            # duplicate member
    b'"\\u00e9"',                # escaped non-ASCII
    b'"\\/"',                    # escaped solidus
    b'"\\u001F"',                # upper-case hex escape
    b'"\\u0041"',                # escape of a printable character
    b"-0",
    b"01",
    b"\xef\xbb\xbf{}",           # byte order mark
    b'"\xff"',                   # not UTF-8
    b"{",
    b"",
])
def test_only_the_canonical_bytes_parse(text: bytes) -> None:
    with pytest.raises(CanonicalJSONError):
        parse_canonical(text)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(_JSON)
def test_canonical_bytes_parse_back_to_the_same_value(value: Any) -> None:
    encoded = canonical_json(value)
    assert parse_canonical(encoded) == value
    assert canonical_json(parse_canonical(encoded)) == encoded


_ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text()
    | st.sampled_from(["\ud800", "a\udfffb", "\U0001f600"]),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner)
    | st.dictionaries(st.text() | st.sampled_from(["\U0001f600", "\uffff", "\ud800"]),
                      inner, max_size=3),
    max_leaves=8)


def _encoded_or_error(encode: Callable[[], Any]) -> Any:
    try:
        return encode()
    except CanonicalJSONError as exc:
        return ("refused", str(exc))


@given(st.lists(_JSON | _ANY_VALUE, max_size=4))
def test_encoding_values_at_once_gives_the_bytes_and_errors_of_encoding_each(
        values: list[Any]) -> None:
    assert _encoded_or_error(lambda: canonical_json_each(values)) == \
        _encoded_or_error(lambda: [canonical_json(v) for v in values])


@given(st.dictionaries(st.text() | st.just("\U0001f600"),
                       st.none() | st.booleans() | st.integers() | st.text(), max_size=5)
       | _ANY_VALUE)
def test_flat_object_text_is_the_canonical_json_or_nothing(value: Any) -> None:
    text = flat_object_json(value)
    flat = type(value) is dict and all(
        type(v) in (str, bool, type(None)) or (type(v) is int and abs(v) <= MAX_SAFE_INTEGER)
        for v in value.values())
    if not flat:
        assert text is None
        return
    expected = _encoded_or_error(lambda: canonical_json(value).decode())
    assert text == (None if isinstance(expected, tuple) else expected)


_KEY = st.text(max_size=5) | st.sampled_from(["\ud800", "\U0001f600", '"\\'])
_INT = st.integers(-(2**54), 2**54) | st.booleans()


@given(st.lists(st.tuples(_KEY, st.none() | st.builds(Version, _INT, _INT)), max_size=4),
       st.lists(st.tuples(_KEY, st.none() | st.binary(max_size=8)), max_size=4),
       st.booleans(), _INT, _KEY, st.none() | st.builds(Event, _KEY, st.binary(max_size=8)))
def test_results_are_signed_over_the_canonical_json_of_their_document(
        reads: list[Any], writes: list[Any], ranged: bool, status: int, message: str,
        event: Event | None) -> None:
    ranges = (RangeRead("a", "b", (("a1", Version(1, 2)),)),) if ranged else ()
    results = ProposalResults(b"\x01" * 32, ReadWriteSet(tuple(reads), ranges, tuple(writes)),
                              Response(status, message, b"payload"), event)
    assert _encoded_or_error(results.signed_bytes) == \
        _encoded_or_error(lambda: canonical_json(results.to_doc()))


# --------------------------------------------------------------------------- envelopes

AT = dt.datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC)


def sample_transaction() -> Transaction:
    proposal = Proposal("archives", "anchoring", "anchor", ('[{"digest":"00"}]', "二"),
                        b"creator certificate", bytes(range(NONCE_SIZE)), AT)
    rwset = ReadWriteSet(
        reads=(("a", None), ("b", Version(3, 1))),
        range_reads=(RangeRead("k", "l", (("k1", Version(2, 0)), ("k2", Version(3, 4)))),),
        writes=(("a", b"\x00value"), ("b", None)))
    results = ProposalResults(sm3(proposal.signed_bytes()), rwset,
                              Response(200, "", b'{"anchored":1}'),
                              Event("anchored", b'{"entries":[]}'))
    return Transaction(proposal, b"creator signature", results,
                       (Endorsement(b"peer one", b"sig one"), Endorsement(b"peer two", b"sig2")))


def test_envelope_round_trips_through_its_canonical_encoding() -> None:
    tx = sample_transaction()
    encoded = tx.encode()
    assert parse_canonical(encoded) == tx.to_doc()
    decoded = Transaction.decode(encoded)
    assert decoded == tx
    assert decoded.encode() == encoded


def test_envelope_without_event_or_endorsements_round_trips() -> None:
    tx = sample_transaction()
    bare = Transaction(tx.proposal, tx.signature,
                       ProposalResults(tx.results.proposal_hash, ReadWriteSet(),
                                       Response(400, "refused"), None), ())
    assert Transaction.decode(bare.encode()) == bare


def test_tx_id_is_sm3_of_nonce_and_creator() -> None:
    tx = sample_transaction()
    assert tx.tx_id == sm3(bytes(range(NONCE_SIZE)) + b"creator certificate").hex()
    assert Proposal.create("archives", "anchoring", "anchor", (), b"c").tx_id != \
        Proposal.create("archives", "anchoring", "anchor", (), b"c").tx_id


def test_timestamps_have_one_spelling() -> None:
    assert format_time(AT) == "2025-03-01T08:30:15.123456Z"
    east = AT.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert format_time(east) == "2025-03-01T08:30:15.123456Z"
    assert parse_time("2025-03-01T08:30:15.123456Z", "t") == AT


def test_naive_times_are_refused() -> None:
    with pytest.raises(MalformedTransaction):
        format_time(dt.datetime(2025, 1, 1))  # naive on purpose


@pytest.mark.parametrize("text", ["2025-03-01T08:30:15Z", "2025-03-01T08:30:15.123Z",
                                  "2025-03-01T08:30:15.123456+00:00",
                                  "2025-03-01 08:30:15.123456Z", "2025-3-01T08:30:15.123456Z",
                                  "2025-03-01T08:30:15.123456z"])
def test_non_canonical_timestamps_are_refused(text: str) -> None:
    with pytest.raises(MalformedTransaction):
        parse_time(text, "timestamp")


Mutation = Callable[[dict[str, Any]], None]


def _set(path: tuple[Any, ...], value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return mutate


def _drop(path: tuple[Any, ...]) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]
    return mutate


STRICTNESS_CASES: dict[str, Mutation] = {
    "extra envelope member": _set(("extra",), 1),
    "missing envelope member": _drop(("signature",)),
    "extra proposal member": _set(("proposal", "version"), 1),
    "missing proposal member": _drop(("proposal", "nonce")),
    "extra results member": _set(("results", "extra"), None),
    "missing response member": _drop(("results", "response", "message")),
    "extra event member": _set(("results", "event", "extra"), "x"),
    "extra endorsement member": _set(("endorsements", 0, "extra"), "x"),
    "missing rwset member": _drop(("results", "rwset", "range_reads")),
    "extra range read member": _set(("results", "rwset", "range_reads", 0, "x"), 1),
    "endorsements not a list": _set(("endorsements",), {}),
    "argument not a string": _set(("proposal", "args", 0), 1),
    "args not a list": _set(("proposal", "args"), "abc"),
    "status a boolean": _set(("results", "response", "status"), True),
    "status a string": _set(("results", "response", "status"), "200"),
    "channel name with a space": _set(("proposal", "channel"), "arch ives"),
    "empty function name": _set(("proposal", "function"), ""),
    "short nonce": _set(("proposal", "nonce"), "AAAA"),
    "base64 without padding": _set(("signature",), "YWJjZA"),
    "base64 with stray bits": _set(("signature",), "YWJjZB=="),
    "base64 url alphabet": _set(("endorsements", 0, "signature"), "_-__"),
    "signature not text": _set(("signature",), 12),
    "timestamp without microseconds": _set(("proposal", "timestamp"), "2025-03-01T08:30:15Z"),
    "version with a boolean": _set(("results", "rwset", "reads", 1, 1), [3, True]),
    "negative version": _set(("results", "rwset", "reads", 1, 1), [-1, 0]),
    "version of one number": _set(("results", "rwset", "reads", 1, 1), [3]),
    "read of one element": _set(("results", "rwset", "reads", 0), ["a"]),
    "read key a number": _set(("results", "rwset", "reads", 0), [7, None]),
    "write key a number": _set(("results", "rwset", "writes", 0), [7, "AA=="]),
    "range start a number": _set(("results", "rwset", "range_reads", 0, "start"), 1),
    "range result key a list": _set(("results", "rwset", "range_reads", 0, "results", 0),
                                    [["k1"], [2, 0]]),
    "range result without version": _set(
        ("results", "rwset", "range_reads", 0, "results", 0), ["k1", None]),
    "write value a number": _set(("results", "rwset", "writes", 0), ["a", 5]),
    "event name a number": _set(("results", "event", "name"), 5),
}


@pytest.mark.parametrize("mutation", list(STRICTNESS_CASES.values()),
                         ids=list(STRICTNESS_CASES))
def test_envelope_of_the_wrong_shape_is_refused(mutation: Mutation) -> None:
    doc = copy.deepcopy(sample_transaction().to_doc())
    mutation(doc)
    with pytest.raises(MalformedTransaction):
        Transaction.decode(canonical_json(doc))


@pytest.mark.parametrize("alter", [
    lambda e: e.replace(b'{"endorsements"', b'{ "endorsements"'),
    lambda e: e + b"\n",
    lambda e: e.replace(b'"anchoring"', b'"\\u0061nchoring"'),
    lambda e: b'{"signature":"AA==",' + e[1:],
    lambda e: e[:-1],
    lambda e: b"[" + e + b"]",
], ids=["whitespace", "trailing newline", "escaped letter", "duplicate member", "truncated",
        "not an object"])
def test_envelope_that_is_not_canonical_json_is_refused(
        alter: Callable[[bytes], bytes]) -> None:
    encoded = sample_transaction().encode()
    with pytest.raises(MalformedTransaction):
        Transaction.decode(alter(encoded))


@given(st.lists(st.text(max_size=20), max_size=5),
       st.lists(st.tuples(st.text(min_size=1, max_size=10), st.binary(max_size=20) | st.none()),
                max_size=5))
def test_any_decoded_envelope_reencodes_to_the_bytes_it_came_from(
        args: list[str], writes: list[tuple[str, bytes | None]]) -> None:
    tx = sample_transaction()
    proposal = Proposal(tx.proposal.channel, tx.proposal.contract, tx.proposal.function,
                        tuple(args), tx.proposal.creator, tx.proposal.nonce, AT)
    results = ProposalResults(tx.results.proposal_hash, ReadWriteSet(writes=tuple(writes)),
                              tx.results.response, None)
    encoded = Transaction(proposal, tx.signature, results, tx.endorsements).encode()
    assert Transaction.decode(encoded).encode() == encoded


def test_proposals_with_too_many_arguments_are_refused() -> None:
    with pytest.raises(MalformedTransaction):
        Proposal.create("archives", "anchoring", "anchor", ("x",) * 65, b"c")
    with pytest.raises(MalformedTransaction):
        Proposal.create("archives", "anchoring", "anchor", ("x" * (4 * 1024 * 1024 + 1),), b"c")
