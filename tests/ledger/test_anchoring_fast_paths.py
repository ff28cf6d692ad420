"""The shortcuts of the anchoring path give what the plain path gives: a committer uses
the submitter's own transaction only when it is exactly what decoding the stored bytes
gives back; the contract's one-pass parse of its entries accepts and refuses as
``parse_canonical`` does; the records' entries text is their canonical JSON; and both
endorsers still simulate and sign."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.sm3 import sm3
from ledger.canonical import CanonicalJSONError, canonical_json, flat_object_json, parse_canonical
from ledger.contract import Context, Creator, SimulationStub
from ledger.contracts import anchoring
from ledger.contracts.anchoring import AnchoringContract, _checked_entries, _usual_entries
from ledger.errors import LedgerError
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
    decodes_to_itself,
)
from ledger.validation import ValidationCode
from records.anchoring import AnchorRequest, entries_json
from tests.ledger.network import Network

AT = dt.datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC)
EVENT = Event("anchored", b'{"entries":[]}')


def _transaction(reads: tuple[Any, ...] = (("a", None), ("b", Version(3, 1))),
                 writes: tuple[Any, ...] = (("a", b"\x00value"), ("b", None)),
                 ranges: tuple[Any, ...] = (), status: Any = 200,
                 timestamp: dt.datetime = AT, args: tuple[Any, ...] = ("[]",),
                 event: Event | None = EVENT) -> Transaction:
    proposal = Proposal("archives", "anchoring", "anchor", args, b"creator",
                        bytes(range(NONCE_SIZE)), timestamp)
    results = ProposalResults(sm3(proposal.signed_bytes()), ReadWriteSet(reads, ranges, writes),
                              Response(status, "", b"{}"), event)
    return Transaction(proposal, b"signature", results, (Endorsement(b"peer", b"sig"),))


class _Text(str):
    pass


class _Bytes(bytes):
    pass


@pytest.mark.parametrize("tx", [
    _transaction(reads=(("a", Version(True, 0)),)),            # a bool is not an int
    _transaction(reads=(("a", Version(-1, 0)),)),              # decoding refuses it
    _transaction(reads=(["a", None],)),                        # a list is not a pair
    _transaction(reads=((_Text("a"), None),)),                 # a str subclass
    _transaction(writes=(("a", _Bytes(b"v")),)),               # a bytes subclass
    _transaction(writes=(("a", bytearray(b"v")),)),
    _transaction(ranges=(RangeRead("a", "b", (("a1", None),)),)),
    _transaction(status=True),
    _transaction(timestamp=AT.replace(year=999)),              # no one spelling of it
    _transaction(timestamp=AT.astimezone(dt.timezone(dt.timedelta(hours=8)))),
    _transaction(args=(_Text("[]"),)),
], ids=["bool version", "negative version", "list pair", "str subclass", "bytes subclass",
        "bytearray", "range read without version", "bool status", "year 999",
        "another time zone", "argument subclass"])
def test_a_transaction_unlike_its_decoding_is_not_used_for_its_bytes(tx: Transaction) -> None:
    assert not decodes_to_itself(tx)


_KEY = st.text(max_size=5)
_VERSION = st.none() | st.builds(Version, st.integers(0, 2**53), st.integers(0, 2**53))


@given(st.lists(st.tuples(_KEY, _VERSION), max_size=4),
       st.lists(st.tuples(_KEY, st.none() | st.binary(max_size=8)), max_size=4),
       st.booleans(), st.integers(-(2**53), 2**53), st.none() | st.builds(
           Event, _KEY, st.binary(max_size=8)))
def test_a_transaction_said_to_decode_to_itself_does(
        reads: list[Any], writes: list[Any], ranged: bool, status: int,
        event: Event | None) -> None:
    ranges = (RangeRead("a", "b", (("a1", Version(1, 2)),)),) if ranged else ()
    tx = _transaction(tuple(reads), tuple(writes), ranges, status, event=event)
    try:
        encoded = tx.encode()
    except (CanonicalJSONError, UnicodeEncodeError):
        return
    assert decodes_to_itself(tx)
    decoded = Transaction.decode(encoded)
    assert decoded == tx
    assert [type(v) for _, v in decoded.results.rwset.reads] == \
        [type(v) for _, v in tx.results.rwset.reads]
    assert decoded.proposal.signed_bytes() == tx.proposal.signed_bytes()
    assert decoded.results.signed_bytes() == tx.results.signed_bytes()


# The ``anchor`` argument of the one-entry transactions below.
ONE_ENTRY = canonical_json([{"key": "k1", "digest": sm3(b"1").hex()}]).decode()


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    decoded: list[bytes] = []
    original = Transaction.decode.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Transaction], data: bytes) -> Transaction:
        decoded.append(data)
        return original(cls, data)  # type: ignore[no-any-return]

    monkeypatch.setattr(Transaction, "decode", classmethod(counting))
    return decoded


def test_the_committer_validates_the_submitted_transaction_without_parsing_it_again(
        net: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded = _count_decodes(monkeypatch)
    client = net.orgs["School"].role("client")
    receipt = net.channel.submit(client, "anchoring", "anchor", ONE_ENTRY)
    assert receipt.code == ValidationCode.VALID.value
    assert decoded == []
    assert not net.channel._encoded  # nothing kept once committed


def test_a_queued_envelope_other_than_the_submitted_bytes_is_parsed_and_refused(
        net: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    client = net.orgs["School"].role("client")
    tx = net.channel.endorse(client, "anchoring", "anchor", ONE_ENTRY)
    forged_signature = dataclasses.replace(tx, signature=tx.endorsements[0].signature)
    net.channel._remember_encoded(tx, tx.encode())
    decoded = _count_decodes(monkeypatch)
    net.store.enqueue("archives", tx.tx_id, forged_signature.encode())
    receipt = net.channel.wait([tx.tx_id], 30)[tx.tx_id]
    assert receipt.code == ValidationCode.BAD_CREATOR_SIGNATURE.value
    assert decoded == [forged_signature.encode()]


def test_a_submitted_transaction_unlike_its_decoding_is_parsed_before_it_is_validated(
        net: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    client = net.orgs["School"].role("client")
    tx = net.channel.endorse(client, "anchoring", "anchor", ONE_ENTRY)
    (key, value), = tx.results.rwset.writes
    odd = dataclasses.replace(tx, results=dataclasses.replace(
        tx.results, rwset=dataclasses.replace(tx.results.rwset,
                                              writes=((key, _Bytes(value)),))))
    assert odd.encode() == tx.encode() and not decodes_to_itself(odd)
    net.channel._remember_encoded(odd, odd.encode())
    decoded = _count_decodes(monkeypatch)
    net.store.enqueue("archives", tx.tx_id, tx.encode())
    receipt = net.channel.wait([tx.tx_id], 30)[tx.tx_id]
    assert receipt.code == ValidationCode.VALID.value
    assert decoded == [tx.encode()]


def test_both_endorsers_simulate_and_sign_the_same_results(
        net: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    simulated: list[str] = []
    original = AnchoringContract.anchor

    def anchor(self: AnchoringContract, ctx: Context, entries: str) -> bytes:
        simulated.append(ctx.stub.tx_id)
        return original(self, ctx, entries)

    anchor.__ledger_kind__ = "transaction"  # type: ignore[attr-defined]
    monkeypatch.setattr(AnchoringContract, "anchor", anchor)
    client = net.orgs["School"].role("client")
    tx = net.channel.endorse(client, "anchoring", "anchor", ONE_ENTRY)
    assert len(tx.endorsements) == len(simulated) == 2
    assert len({e.endorser for e in tx.endorsements}) == 2
    config = net.channel.config()
    for endorsement in tx.endorsements:
        identity = net.channel.identities.resolve(config, endorsement.endorser, AT.now(dt.UTC))
        identity.verify(endorsement.signature, tx.results.signed_bytes())


def test_endorsers_that_disagree_endorse_nothing(net: Network,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = AnchoringContract.anchor

    def anchor(self: AnchoringContract, ctx: Context, entries: str) -> bytes:
        calls.append(1)
        if len(calls) == 2:  # the second endorser sees another digest
            entries = entries.replace(sm3(b"1").hex(), sm3(b"2").hex())
        return original(self, ctx, entries)

    anchor.__ledger_kind__ = "transaction"  # type: ignore[attr-defined]
    monkeypatch.setattr(AnchoringContract, "anchor", anchor)
    client = net.orgs["School"].role("client")
    with pytest.raises(LedgerError, match="different results"):
        net.channel.endorse(client, "anchoring", "anchor", ONE_ENTRY)


# ------------------------------------------------------------- the contract's entries

_TEXT = st.text(max_size=5) | st.sampled_from(["\ud800", "\U0001f600", '"\\', "\u2028", "é"])
_SCALAR = st.none() | st.booleans() | st.integers(-(2**54), 2**54) | st.floats() | _TEXT
_HEX = st.sampled_from([sm3(b"a").hex(), sm3(b"b").hex(), "AB" * 32, "zz"])
_ENTRY = st.fixed_dictionaries(
    {"key": _TEXT | st.sampled_from(["k1", "k2", "\x01", "k" * 257]) | st.integers(),
     "digest": _HEX | st.integers()},
    optional={"metadata": st.dictionaries(_TEXT, _SCALAR, max_size=3) | st.lists(_SCALAR)
              | st.sampled_from([{"big": "x" * 4090}, {"big": "é" * 2040}, {"big": "é" * 1030}])
              | st.dictionaries(st.text(max_size=2), st.lists(_SCALAR, max_size=1),
                                max_size=1),
              "previous": _HEX | st.none(), "extra": st.just(1)})
# Entries as the records import sends them, which the one-pass parse takes.
_USUAL_ENTRY = st.fixed_dictionaries(
    {"key": st.sampled_from(["record:1", "record:2", "档案:3", "k\u2028"]),
     "digest": st.sampled_from([sm3(b"a").hex(), sm3(b"b").hex()])},
    optional={"metadata": st.dictionaries(
        st.text(max_size=4), st.none() | st.booleans() | st.integers(-(2**53), 2**53)
        | st.text(max_size=4), max_size=4),
              "previous": st.sampled_from([sm3(b"c").hex()])})
_ENTRIES = st.lists(_USUAL_ENTRY | _ENTRY, max_size=3)
_SPELLINGS = ["canonical", "canonical", "canonical", "spaced", "reordered", "escaped",
              "duplicate"]


def _spell(entries: list[Any], spelling: str) -> str:
    try:
        text = canonical_json(entries).decode()
    except CanonicalJSONError:
        text = json.dumps(entries, ensure_ascii=False)
    if spelling == "spaced":
        return text.replace(",", ", ", 1)
    if spelling == "reordered":
        return json.dumps(entries, ensure_ascii=False, sort_keys=False)
    if spelling == "escaped":
        return json.dumps(entries, sort_keys=True, separators=(",", ":"))
    if spelling == "duplicate" and entries:
        return text.replace('{"digest":', '{"digest":1,"digest":', 1)
    return text


def _contract_outcome(raw: str) -> Any:
    stub = SimulationStub(_NoState(), "ab" * 32, Creator("School", "client", b"c"), AT)
    try:
        payload = AnchoringContract().anchor(Context(stub), raw)
    except (LedgerError, UnicodeEncodeError) as exc:
        return ("refused", type(exc).__name__, str(exc))
    return payload, stub.rwset(), stub.event


class _NoState:
    def get(self, key: str) -> None:
        return None

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return {}

    def range(self, start: str, end: str) -> list[Any]:
        return []

    def history(self, key: str) -> list[Any]:
        return []


@given(_ENTRIES, st.sampled_from(_SPELLINGS))
def test_the_one_pass_parse_gives_what_the_checked_parse_gives_or_leaves_it_to_it(
        entries: list[Any], spelling: str) -> None:
    raw = _spell(entries, spelling)
    usual = _usual_entries(raw)
    if usual is None:
        return
    assert [e[:4] for e in usual] == [e[:4] for e in _checked_entries(raw.encode())]
    assert [e[4] for e in usual] == [flat_object_json(e[2]) for e in usual]
    assert [e[:4] for e in usual] == [
        (e["key"], e["digest"], e.get("metadata", {}), e.get("previous"))
        for e in parse_canonical(raw.encode())]


@given(_ENTRIES, st.sampled_from(_SPELLINGS))
def test_the_contract_answers_the_same_with_or_without_the_one_pass_parse(
        entries: list[Any], spelling: str) -> None:
    raw = _spell(entries, spelling)
    with_fast_path = _contract_outcome(raw)
    original = anchoring._usual_entries
    anchoring._usual_entries = lambda _raw: None  # type: ignore[assignment]
    try:
        general = _contract_outcome(raw)
    finally:
        anchoring._usual_entries = original
    assert with_fast_path == general


def test_usual_entries_take_the_one_pass_parse() -> None:
    requests = [AnchorRequest(f"record:{i}", sm3(b"%d" % i).hex(), 1,
                              {"type": "archive_entry", "record_version": 1, "ok": True})
                for i in range(3)]
    raw = entries_json(requests)
    assert _usual_entries(raw) is not None
    assert _usual_entries(raw.replace("},{", "}, {")) is None


# ------------------------------------------------------------- the records' entries text

_REQUEST = st.builds(
    AnchorRequest, _TEXT, _TEXT, st.integers(1, 3),
    st.dictionaries(_TEXT, _SCALAR, max_size=3)
    | st.dictionaries(st.text(max_size=2), st.lists(_SCALAR, max_size=1), max_size=1),
    st.none() | _TEXT)


@given(st.lists(_REQUEST, max_size=3))
def test_entries_text_is_the_canonical_json_of_the_entries(requests: list[AnchorRequest]
                                                           ) -> None:
    try:
        expected: Any = canonical_json([r.entry() for r in requests]).decode()
    except CanonicalJSONError as exc:
        expected = ("refused", str(exc))
    try:
        observed: Any = entries_json(requests)
    except CanonicalJSONError as exc:
        observed = ("refused", str(exc))
    assert observed == expected


def test_malformed_envelope_bytes_still_fail_to_decode() -> None:
    tx = _transaction()
    with pytest.raises(MalformedTransaction):
        Transaction.decode(tx.encode().replace(b'"reads":[', b'"reads": [', 1))
