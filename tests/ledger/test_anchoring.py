"""The anchoring contract on the test channel: anchoring digests with metadata, reading the
latest version and the history, authorised new versions, every refusal (which orders
nothing), and large batches whose every entry is a provable leaf of the Merkle log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.sm3 import sm3
from ledger.canonical import CanonicalJSONError, canonical_json, parse_canonical
from ledger.checkpoint import WitnessPolicy, verify_checkpoint
from ledger.contract import (
    Context,
    ContractError,
    Creator,
    KeyModification,
    SimulationStub,
    StateEntry,
)
from ledger.contracts.anchoring import (
    ANCHOR_EVENT,
    AnchoringContract,
    _encode_assembled,
    _encode_documents,
)
from ledger.errors import LedgerError
from ledger.leaves import LEAF_MEMBERS, leaves_from_event, parse_leaf
from ledger.merkle import InclusionProof, inclusion_proof, leaf_hash
from ledger.msp import SigningIdentity
from ledger.tx import Event
from tests.ledger.network import ORIGIN, Network


def digest(label: str) -> str:
    return sm3(label.encode()).hex()


def entry(key: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "digest": digest(label), **extra}


def client(net: Network, msp_id: str = "School") -> SigningIdentity:
    return net.orgs[msp_id].role("client")


def anchor(net: Network, *entries: dict[str, Any], msp_id: str = "School") -> Any:
    return net.channel.submit(client(net, msp_id), "anchoring", "anchor",
                              canonical_json(list(entries)).decode())


def read(net: Network, key: str) -> dict[str, Any]:
    doc = parse_canonical(net.channel.evaluate(client(net, "Province"), "anchoring", "read",
                                               key))
    assert isinstance(doc, dict)
    return doc


def history(net: Network, key: str) -> list[dict[str, Any]]:
    doc = parse_canonical(net.channel.evaluate(client(net, "Province"), "anchoring",
                                               "history", key))
    assert isinstance(doc, list)
    return doc


def assert_refused_and_nothing_ordered(net: Network, entries_json: str,
                                       msp_id: str = "School") -> ContractError:
    before = net.channel.status()
    with pytest.raises(ContractError) as refused:
        net.channel.submit(client(net, msp_id), "anchoring", "anchor", entries_json)
    after = net.channel.status()
    assert (after["height"], after["pending"], after["tree_size"]) == \
        (before["height"], 0, before["tree_size"])
    return refused.value


# --------------------------------------------------------------------------- anchoring


def test_anchored_digest_and_metadata_can_be_read_back(net: Network) -> None:
    metadata = {"type": "archive-entry", "schema": "grade-report/1", "学期": "2024秋"}
    receipt = anchor(net, entry("archive/1", "one", metadata=metadata))
    record = read(net, "archive/1")
    assert record["key"] == "archive/1"
    assert record["digest"] == digest("one")
    assert record["metadata"] == metadata
    assert (record["version"], record["msp_id"], record["previous"]) == (1, "School", None)
    assert record["tx_id"] == receipt.tx_id
    assert history(net, "archive/1") == [record]


def test_entry_without_metadata_reads_back_with_empty_metadata(net: Network) -> None:
    anchor(net, entry("archive/1", "one"))
    assert read(net, "archive/1")["metadata"] == {}


def test_reading_a_key_never_anchored_is_refused(net: Network) -> None:
    with pytest.raises(ContractError):
        read(net, "archive/none")
    assert history(net, "archive/none") == []


def test_anchoring_is_a_transaction_and_reading_a_query(net: Network) -> None:
    with pytest.raises(ContractError):
        net.channel.evaluate(client(net), "anchoring", "anchor",
                             canonical_json([entry("archive/1", "one")]).decode())
    with pytest.raises(ContractError):
        net.channel.submit(client(net), "anchoring", "read", "archive/1")
    assert net.channel.status()["height"] == 1


def test_second_anchoring_of_a_key_is_refused_before_ordering(net: Network) -> None:
    anchor(net, entry("archive/1", "one"))
    error = assert_refused_and_nothing_ordered(
        net, canonical_json([entry("archive/1", "two")]).decode())
    assert "anchored already" in str(error)
    assert read(net, "archive/1")["digest"] == digest("one")


def test_authorised_new_version_becomes_version_two_with_both_in_history(
        net: Network) -> None:
    anchor(net, entry("archive/1", "one", metadata={"grade": "A"}))
    anchor(net, entry("archive/1", "two", previous=digest("one"),
                      metadata={"grade": "A+", "reason": "re-marked"}))
    latest = read(net, "archive/1")
    assert (latest["version"], latest["digest"], latest["previous"]) == \
        (2, digest("two"), digest("one"))
    versions = history(net, "archive/1")
    assert [(v["version"], v["digest"]) for v in versions] == \
        [(1, digest("one")), (2, digest("two"))]
    assert versions[1] == latest


def test_new_version_by_another_organisation_is_refused(net: Network) -> None:
    anchor(net, entry("archive/1", "one"))
    error = assert_refused_and_nothing_ordered(
        net, canonical_json([entry("archive/1", "two", previous=digest("one"))]).decode(),
        msp_id="Province")
    assert "School" in str(error)
    assert read(net, "archive/1")["version"] == 1


def test_new_version_naming_a_stale_previous_is_refused(net: Network) -> None:
    anchor(net, entry("archive/1", "one"))
    anchor(net, entry("archive/1", "two", previous=digest("one")))
    assert_refused_and_nothing_ordered(
        net, canonical_json([entry("archive/1", "three", previous=digest("one"))]).decode())
    assert read(net, "archive/1")["digest"] == digest("two")


def test_new_version_of_a_key_never_anchored_is_refused(net: Network) -> None:
    assert_refused_and_nothing_ordered(
        net, canonical_json([entry("archive/1", "two", previous=digest("one"))]).decode())


def test_a_key_twice_in_one_batch_is_refused(net: Network) -> None:
    error = assert_refused_and_nothing_ordered(
        net, canonical_json([entry("archive/1", "one"), entry("archive/2", "two"),
                             entry("archive/1", "three")]).decode())
    assert "twice" in str(error)


def test_one_refused_entry_refuses_the_whole_batch(net: Network) -> None:
    anchor(net, entry("archive/2", "two"))
    assert_refused_and_nothing_ordered(
        net, canonical_json([entry("archive/1", "one"), entry("archive/2", "again")]).decode())
    with pytest.raises(ContractError):
        read(net, "archive/1")


_DIGEST = digest("one")
MALFORMED: dict[str, str] = {
    "digest upper case": canonical_json([{"key": "k", "digest": _DIGEST.upper()}]).decode(),
    "digest too short": canonical_json([{"key": "k", "digest": _DIGEST[:62]}]).decode(),
    "digest not hex": canonical_json([{"key": "k", "digest": "g" * 64}]).decode(),
    "digest a number": canonical_json([{"key": "k", "digest": 12}]).decode(),
    "previous malformed": canonical_json([{"key": "k", "digest": _DIGEST,
                                           "previous": "abc"}]).decode(),
    "missing digest": canonical_json([{"key": "k"}]).decode(),
    "missing key": canonical_json([{"digest": _DIGEST}]).decode(),
    "unknown member": canonical_json([{"key": "k", "digest": _DIGEST, "name": "Li"}]).decode(),
    "key a number": canonical_json([{"key": 5, "digest": _DIGEST}]).decode(),
    "empty key": canonical_json([{"key": "", "digest": _DIGEST}]).decode(),
    "key with a control character": canonical_json([{"key": "a\nb",
                                                     "digest": _DIGEST}]).decode(),
    "key too long": canonical_json([{"key": "k" * 257, "digest": _DIGEST}]).decode(),
    "metadata not an object": canonical_json([{"key": "k", "digest": _DIGEST,
                                               "metadata": ["x"]}]).decode(),
    "metadata over 4 KiB": canonical_json([{"key": "k", "digest": _DIGEST,
                                            "metadata": {"note": "x" * 4096}}]).decode(),
    "float in metadata": '[{"digest":"' + _DIGEST + '","key":"k","metadata":{"score":9.5}}]',
    "exponent in metadata": '[{"digest":"' + _DIGEST + '","key":"k","metadata":{"n":1e2}}]',
    "whitespace": '[{"digest": "' + _DIGEST + '", "key": "k"}]',
    "members out of order": '[{"key":"k","digest":"' + _DIGEST + '"}]',
    "escaped letter": '[{"digest":"' + _DIGEST + '","key":"\\u006b"}]',
    "duplicate member": '[{"digest":"' + _DIGEST + '","key":"k","key":"k"}]',
    "not JSON": "archive/1=" + _DIGEST,
    "empty batch": "[]",
    "object instead of a list": canonical_json({"key": "k", "digest": _DIGEST}).decode(),
    "entry not an object": canonical_json(["k"]).decode(),
}


class EmptyState:
    """Committed state with nothing in it (a ``StateReader`` for the contract alone)."""

    def get(self, key: str) -> StateEntry | None:
        return None

    def range(self, start: str, end: str) -> list[tuple[str, StateEntry]]:
        return []

    def history(self, key: str) -> list[KeyModification]:
        return []


@pytest.mark.parametrize("entries_json", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_entries_are_refused_by_the_contract(entries_json: str) -> None:
    stub = SimulationStub(EmptyState(), "0" * 64, Creator("School", "client", b"cert"),
                          dt.datetime.now(dt.UTC))
    with pytest.raises(ContractError):
        AnchoringContract().anchor(Context(stub), entries_json)
    assert stub.rwset().writes == () and stub.event is None


@pytest.mark.parametrize("name", ["float in metadata", "metadata over 4 KiB", "whitespace",
                                  "digest upper case"])
def test_malformed_entries_are_refused_before_ordering(net: Network, name: str) -> None:
    assert_refused_and_nothing_ordered(net, MALFORMED[name])


def test_well_formed_entries_pass_the_contract() -> None:
    stub = SimulationStub(EmptyState(), "0" * 64, Creator("School", "client", b"cert"),
                          dt.datetime.now(dt.UTC))
    AnchoringContract().anchor(Context(stub), canonical_json(
        [entry("k", "one", metadata={"n": 1}), entry("j", "two")]).decode())
    assert [k for k, _ in stub.rwset().writes] == ["j", "k"]


def test_metadata_of_exactly_4_kib_is_accepted(net: Network) -> None:
    padding = 4096 - len(canonical_json({"note": ""}))
    metadata = {"note": "x" * padding}
    assert len(canonical_json(metadata)) == 4096
    anchor(net, entry("archive/1", "one", metadata=metadata))
    assert read(net, "archive/1")["metadata"] == metadata


@pytest.mark.parametrize("extra", [0, 1])
def test_the_4_kib_limit_counts_bytes_of_multibyte_metadata(extra: int) -> None:
    # Fewer than 4,096 characters but (just) more than 4,096 bytes is refused.
    padding = (4096 - len(canonical_json({"note": "", "x": ""}))) // 3
    tail = "x" * (4096 - len(canonical_json({"note": "学" * padding, "x": ""})) + extra)
    metadata = {"note": "学" * padding, "x": tail}
    assert len(canonical_json(metadata)) == 4096 + extra
    assert 1024 < len(canonical_json(metadata).decode()) < 4096
    stub = SimulationStub(EmptyState(), "0" * 64, Creator("School", "client", b"cert"),
                          dt.datetime.now(dt.UTC))
    entries = canonical_json([entry("k", "one", metadata=metadata)]).decode()
    if extra:
        with pytest.raises(ContractError, match="4 KiB"):
            AnchoringContract().anchor(Context(stub), entries)
    else:
        AnchoringContract().anchor(Context(stub), entries)
        assert [k for k, _ in stub.rwset().writes] == ["k"]


# --------------------------------------------------------------------------- the Merkle log


def test_each_anchored_entry_becomes_one_leaf(net: Network) -> None:
    receipt = anchor(net, entry("archive/b", "b"), entry("archive/a", "a", metadata={"n": 1}))
    assert (receipt.leaf_start, receipt.leaf_count) == (0, 2)
    leaves = [parse_leaf(net.channel.leaf(i)) for i in range(2)]
    assert [leaf["key"] for leaf in leaves] == ["archive/b", "archive/a"]
    assert leaves[1] == {"channel": "archives", "tx_id": receipt.tx_id, "key": "archive/a",
                         "version": 1, "digest": digest("a"), "msp_id": "School",
                         "metadata": {"n": 1}, "previous": None}
    second = anchor(net, entry("archive/b", "b2", previous=digest("b")))
    assert (second.leaf_start, second.leaf_count) == (2, 1)
    assert parse_leaf(net.channel.leaf(2))["version"] == 2


def test_batch_of_1000_entries_gives_1000_provable_leaves(net: Network) -> None:
    keys = [f"archive/2024/{i:04d}" for i in range(1000)]
    entries = [entry(k, k, metadata={"n": i}) for i, k in enumerate(keys)]
    receipt = anchor(net, *entries)
    assert (receipt.leaf_start, receipt.leaf_count) == (0, 1000)
    assert len(net.channel.block(receipt.block).envelopes) == 1

    note = net.channel.checkpoint()
    log_key, *witness_keys = net.channel.verifiers()
    verified = verify_checkpoint(note, log_key, origin=ORIGIN,
                                 policy=WitnessPolicy(tuple(witness_keys), 2))
    size, root = verified.checkpoint.size, verified.checkpoint.root_hash
    assert size == 1000
    leaves = [net.channel.leaf(index) for index in range(size)]
    for key, leaf in zip(keys, leaves, strict=True):
        doc = parse_leaf(leaf)
        assert (doc["key"], doc["digest"], doc["tx_id"]) == (key, digest(key), receipt.tx_id)
    for index in (0, 1, 511, 512, 998, 999):
        net.channel.inclusion_proof(index, size).verify(leaf_hash(leaves[index]), root)
    # Every other leaf's proof from the same stored tree, on one connection (faster).
    with net.store.reads("archives") as reads:
        for index, leaf in enumerate(leaves):
            InclusionProof(index, size, tuple(inclusion_proof(index, size, reads))).verify(
                leaf_hash(leaf), root)


# ------------------------------------------------ assembled encodings (the fast paths)

_TEXT = st.text(max_size=6) | st.sampled_from(["\ud800", "\U0001f600", '"\\', "\u2028"])
_SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | _TEXT
_METADATA = st.dictionaries(_TEXT, _SCALAR, max_size=3) | st.just({}) | \
    st.dictionaries(st.text(max_size=3), st.lists(_SCALAR, max_size=2), max_size=2)
_VERSION = st.integers(-(2**54), 2**54) | st.booleans() | st.sampled_from([1, 2, 2**53])
_ANCHORED = st.tuples(_TEXT, _TEXT, _VERSION, _METADATA, st.none() | _TEXT)


def _outcome(encode: Any) -> Any:
    try:
        return encode()
    except CanonicalJSONError as exc:
        return ("refused", str(exc))


@given(st.lists(_ANCHORED, min_size=1, max_size=3), _TEXT, _TEXT, _TEXT)
def test_assembled_records_and_event_are_the_documents_canonical_json(
        anchored: list[Any], msp_id: str, tx_id: str, timestamp: str) -> None:
    documents = _outcome(lambda: _encode_documents(anchored, msp_id, tx_id, timestamp))
    # None: not the usual shape, and the contract takes the documents' path.
    assembled = _encode_assembled(anchored, msp_id, tx_id, timestamp)
    assert assembled is None or assembled == documents


def test_usual_entries_take_the_assembled_path() -> None:
    anchored = [("archive/1", digest("1"), 1, {}, None),
                ("record:2", digest("2"), 3, {"type": "record", "record_version": 3},
                 digest("x"))]
    args = (anchored, "School", "ab" * 32, "2026-11-28T15:00:00.000000Z")
    assert _encode_assembled(*args) == _encode_documents(*args)
    event = _encode_documents(*args)[1]
    assert leaves_from_event("archives", "t", Event(ANCHOR_EVENT, event)) == [
        canonical_json({"channel": "archives", "tx_id": "t", "key": key, "version": version,
                        "digest": dig, "msp_id": "School", "metadata": metadata,
                        "previous": previous})
        for key, dig, version, metadata, previous in anchored]


def _reference_leaves(payload: bytes) -> Any:
    """The leaves as docs/ledger.md defines them, straight from the parsed event."""
    try:
        entries = parse_canonical(payload)["entries"]
    except (CanonicalJSONError, KeyError, TypeError):
        return "malformed"
    return [canonical_json({"channel": "archives", "tx_id": "t",
                            **{name: e[name] for name in LEAF_MEMBERS[2:]}})
            for e in entries]


@given(st.lists(st.fixed_dictionaries(
    {"key": _TEXT, "digest": _TEXT, "version": _VERSION, "msp_id": _TEXT,
     "metadata": _METADATA, "previous": st.none() | _TEXT}), max_size=3),
    st.sampled_from(["canonical", "spaced", "reordered", "extra member"]))
def test_leaves_are_those_of_the_parsed_event_and_only_a_canonical_event_gives_any(
        entries: list[dict[str, Any]], spelling: str) -> None:
    doc: dict[str, Any] = {"entries": entries}
    if spelling == "extra member" and entries:
        entries[0]["extra"] = 1
    try:
        payload = canonical_json(doc)
    except CanonicalJSONError:
        payload = json.dumps(doc).encode()
    if spelling == "spaced":
        payload = payload.replace(b":", b": ", 1)
    elif spelling == "reordered" and entries:
        payload = json.dumps(doc, ensure_ascii=False, sort_keys=False).encode(
            "utf-8", "surrogatepass")
    expected = _reference_leaves(payload)
    event = Event(ANCHOR_EVENT, payload)
    if expected == "malformed":
        with pytest.raises(LedgerError):
            leaves_from_event("archives", "t", event)
    else:
        assert leaves_from_event("archives", "t", event) == expected
