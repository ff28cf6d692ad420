"""What offline verification keeps per exact input (batch path hashes, batch statements,
the parsed checkpoint note, snapshot leaves, snapshots, proofs) and its faster paths (nullable and
integer schema members, the prebuilt JSON encoder) give the answers of the general paths:
a verifier that has seen a good bundle still rejects any changed byte of a bundle that
reaches those parts, and still accepts the good one afterwards."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ledger.checkpoint import NoteVerifier, verify_checkpoint
from ledger.errors import LedgerError, MalformedNote
from ledger.merkle import ConsistencyProof, InclusionProof
from records import batch as batches
from records.batch import BatchRef
from records.bundle import (
    _consistency_proof,
    _inclusion_proof,
    _status_snapshot,
    verify_bundle,
)
from records.canonical import _encode, _plain, canonical_json
from records.compiled_schema import compile_schema
from records.errors import CanonicalFormError, MalformedRecord, StatusListError
from records.lifecycle import State, state_named
from records.registry import NewRecord
from records.status import StatusSnapshot
from records.verification import Overall, TrustAnchors
from tests.records.conftest import REVIEWER, SCHOOL, Desk
from tests.records.test_batch_signatures import approved


@pytest.fixture(scope="module")
def bundles(desk: Desk) -> list[dict[str, Any]]:
    """Bundles of three records registered, signed and anchored together: they share
    batch signatures, status snapshots, block headers and the checkpoint."""
    records = approved(desk, "fast", 3)
    anchored = desk.registry.anchor_many([r.id for r in records])
    return [json.loads(json.dumps(desk.registry.bundle(r.id))) for r in anchored]



def _overall(bundle: Any, anchors: dict[str, Any]) -> Overall:
    return verify_bundle(bundle, anchors).overall


def _other_char(c: str) -> str:
    return "B" if c == "A" else "A"


def test_bundles_of_one_batch_verify_again_and_again_with_every_signature(
        bundles: list[dict[str, Any]], anchors: dict[str, Any],
        sm2_verified: list[bytes]) -> None:
    assert "batch" in bundles[0]["record"]["lifecycle"][0]
    assert _overall(bundles[0], anchors) is Overall.VALID  # certificate paths, CRL kept
    calls = sm2_verified
    for _ in range(2):
        for bundle in bundles:
            calls.clear()
            assert _overall(bundle, anchors) is Overall.VALID
            # proofs, lifecycle entries, snapshots, two block headers, the checkpoint's
            # log signature and each witness cosignature: all verified every time
            assert len(calls) == (len(bundle["record"]["proofs"])
                                  + len(bundle["record"]["lifecycle"])
                                  + len(bundle["status"]) + 2 + 1
                                  + len(anchors["witness_keys"]))


def test_every_changed_character_of_a_batch_path_is_caught_after_a_good_one(
        bundles: list[dict[str, Any]], anchors: dict[str, Any]) -> None:
    good = bundles[1]
    assert _overall(good, anchors) is Overall.VALID   # its path nodes are now kept
    members = [("lifecycle", i) for i in range(len(good["record"]["lifecycle"]))]
    members += [("proofs", i) for i in range(len(good["record"]["proofs"]))]
    for part, i in members:
        path = good["record"][part][i]["batch"]["path"]
        for h in range(len(path)):
            for position in range(len(path[h])):
                forged = copy.deepcopy(good)
                text = forged["record"][part][i]["batch"]["path"][h]
                forged["record"][part][i]["batch"]["path"][h] = (
                    text[:position] + _other_char(text[position]) + text[position + 1:])
                assert _overall(forged, anchors) is Overall.INVALID, (part, i, h, position)
    assert _overall(good, anchors) is Overall.VALID


def test_every_changed_character_of_the_checkpoint_is_caught_after_a_good_one(
        bundles: list[dict[str, Any]], anchors: dict[str, Any]) -> None:
    good = bundles[0]
    assert _overall(good, anchors) is Overall.VALID   # its checkpoint note is now kept
    note = good["ledger"]["checkpoint"]
    for position in range(len(note)):
        forged = copy.deepcopy(good)
        forged["ledger"]["checkpoint"] = (note[:position] + _other_char(note[position])
                                          + note[position + 1:])
        assert _overall(forged, anchors) is not Overall.VALID, position
    assert _overall(good, anchors) is Overall.VALID


def test_changed_snapshot_leaves_and_proofs_are_caught_after_good_ones(
        bundles: list[dict[str, Any]], anchors: dict[str, Any]) -> None:
    good = bundles[2]
    assert _overall(good, anchors) is Overall.VALID
    for purpose in ("revocation", "suspension"):
        leaf = good["status"][purpose]["anchor"]["leaf"]
        for position in range(len(leaf)):
            forged = copy.deepcopy(good)
            forged["status"][purpose]["anchor"]["leaf"] = (
                leaf[:position] + _other_char(leaf[position]) + leaf[position + 1:])
            assert _overall(forged, anchors) is Overall.INVALID, (purpose, position)

    def anchor_of(bundle: dict[str, Any], part: str) -> dict[str, Any]:
        return bundle["ledger"]["anchor"] if part == "record" else \
            bundle["status"][part]["anchor"]

    for part in ("record", "revocation", "suspension"):
        proof = anchor_of(good, part)["proof"]
        for h in range(len(proof["hashes"])):
            for byte in (0, 31):
                forged = copy.deepcopy(good)
                raw = bytearray(base64.b64decode(proof["hashes"][h]))
                raw[byte] ^= 1
                anchor_of(forged, part)["proof"]["hashes"][h] = (
                    base64.b64encode(bytes(raw)).decode())
                assert _overall(forged, anchors) is Overall.INVALID, (part, h, byte)
        for member, value in (("index", True), ("index", float(proof["index"])),
                              ("size", float(proof["size"])), ("size", proof["size"] + 1)):
            forged = copy.deepcopy(good)
            anchor_of(forged, part)["proof"][member] = value
            assert _overall(forged, anchors) is Overall.INVALID, (part, member, value)
    consistency = good["ledger"]["block_consistency"]
    if consistency is not None and consistency["hashes"]:
        forged = copy.deepcopy(good)
        raw = bytearray(base64.b64decode(consistency["hashes"][0]))
        raw[-1] ^= 1
        forged["ledger"]["block_consistency"]["hashes"][0] = base64.b64encode(
            bytes(raw)).decode()
        assert _overall(forged, anchors) is Overall.INVALID
    assert _overall(good, anchors) is Overall.VALID


def _same_base64(value: Any, changed: Any) -> bool:
    """Whether two texts are base64 (standard or URL-safe) of the same bytes: their last
    characters may differ in bits that encode nothing."""
    import base64
    import binascii

    if not (isinstance(value, str) and isinstance(changed, str)) or value == changed:
        return False
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            if decode(value + "=" * (-len(value) % 4)) == decode(
                    changed + "=" * (-len(changed) % 4)):
                return True
        except (binascii.Error, ValueError):
            continue
    return False


def test_every_changed_member_of_a_snapshot_is_caught_after_a_good_one(
        bundles: list[dict[str, Any]], anchors: dict[str, Any]) -> None:
    good = bundles[0]
    assert _overall(good, anchors) is Overall.VALID   # its two snapshots are now kept
    for purpose in ("revocation", "suspension"):
        snapshot = good["status"][purpose]["snapshot"]
        for member, value in snapshot.items():
            changes: list[Any] = [None, "x" if isinstance(value, int) else 1]
            if isinstance(value, int):
                changes.append(value + 1)
            else:
                changes += [value[:position] + _other_char(value[position])
                            + value[position + 1:] for position in range(len(value))]
            for changed in changes:
                if _same_base64(value, changed):
                    continue   # a change in the last character's padding bits only
                forged = copy.deepcopy(good)
                forged["status"][purpose]["snapshot"][member] = changed
                assert _overall(forged, anchors) is not Overall.VALID, (purpose, member,
                                                                        changed)
    assert _overall(good, anchors) is Overall.VALID


def test_a_kept_snapshot_is_the_parsed_one_of_exactly_typed_members(
        bundles: list[dict[str, Any]]) -> None:
    doc = bundles[0]["status"]["revocation"]["snapshot"]
    assert _status_snapshot(doc) == StatusSnapshot.from_json(doc)
    assert _status_snapshot(copy.deepcopy(doc)) is _status_snapshot(doc)
    for value in (True, float(doc["sequence"])):   # parsed as before, never kept
        odd = {**doc, "sequence": value}
        assert _status_snapshot(odd) == StatusSnapshot.from_json(odd)
        assert _status_snapshot(odd) is not _status_snapshot(odd)
    for bad in ({**doc, "size": True}, {**doc, "size": float(doc["size"])},
                {**doc, "valid_from": "2026-01-01"},
                {**doc, "extra": 1}, {k: v for k, v in doc.items() if k != "kid"}):
        for _ in range(2):   # a snapshot that does not parse fails every time
            with pytest.raises((StatusListError, MalformedRecord)):
                _status_snapshot(bad)


@pytest.mark.parametrize("value", [*State, *(s.value for s in State), "", "Active",
                                   "active ", 1, None, ["draft"]])
def test_a_state_is_named_as_the_enum_names_it(value: Any) -> None:
    try:
        expected: State | type[Exception] = State(value)
    except Exception as exc:   # the type is what the lookup must raise too
        expected = type(exc)
    if isinstance(expected, State):
        assert state_named(value) is expected
    else:
        with pytest.raises(expected):
            state_named(value)


def test_kept_proofs_are_those_of_exactly_typed_members() -> None:
    doc = {"index": 1, "size": 3, "hashes": [base64.b64encode(bytes(32)).decode()]}
    assert _inclusion_proof(doc) == InclusionProof.from_json(doc)
    assert _inclusion_proof(copy.deepcopy(doc)) is _inclusion_proof(doc)
    for member, value in (("index", True), ("index", 1.0), ("size", 3.0)):
        with pytest.raises(LedgerError):
            _inclusion_proof({**doc, member: value})
    with pytest.raises(LedgerError):
        _inclusion_proof({**doc, "hashes": [doc["hashes"][0][:42] + "B="]})
    consistency = {"from": 1, "to": 3, "hashes": doc["hashes"]}
    assert _consistency_proof(consistency) == ConsistencyProof.from_json(consistency)
    with pytest.raises(LedgerError):
        _consistency_proof({**consistency, "to": True})


def test_a_kept_path_hash_is_the_general_decoding_and_a_bad_one_fails_every_time() -> None:
    text = base64.b64encode(bytes(range(32))).decode()
    assert BatchRef(2, 0, (text,)).hashes() == [bytes(range(32))]
    for bad in (text[:42] + "9=", "not base64!", text[:-1]):
        for _ in range(2):
            with pytest.raises(ValueError):
                BatchRef(2, 0, (bad,)).hashes()


@given(st.text(max_size=8), st.text(max_size=8), st.integers(2, 2**40),
       st.binary(min_size=32, max_size=32))
def test_a_kept_batch_statement_is_the_statement(org: str, kid: str, size: int,
                                                 root: bytes) -> None:
    assert batches._statement(org, kid, size, root) == batches.statement(org, kid, size,
                                                                          root)


def test_a_note_that_does_not_parse_fails_every_time(anchors: dict[str, Any],
                                                     bundles: list[dict[str, Any]]) -> None:
    trust = TrustAnchors.from_json(anchors)
    key: NoteVerifier = trust.log_keys[0]
    note = bundles[0]["ledger"]["checkpoint"].encode()
    verify_checkpoint(note, key, policy=trust.witness_policy)
    for bad in (note.replace(b"\n\n", b"\n"), note + b"x", bytearray(note)):
        for _ in range(2):
            with pytest.raises(MalformedNote):
                verify_checkpoint(bad, key, policy=trust.witness_policy)  # type: ignore[arg-type]


# --- schema and canonical JSON fast paths -------------------------------------------------

_BRANCHES: list[Any] = [{"type": "string"}, {"type": "integer", "minimum": 1},
                        {"type": "number", "maximum": 2}, {"enum": ["x", None]},
                        {"enum": [1, "x"]}, {"const": None}, {"const": 0},
                        {"type": ["string", "null"]}, {"$ref": "#/$defs/time"},
                        {"$ref": "#/$defs/maybe"}, True, False, {}]
_VALUES: list[Any] = [None, True, False, 0, 1, -1, 1.0, 2.0, 2.5, 3, 10**20, "", "x",
                      "2026-01-01T00:00:00Z", [], {}, [None]]
_DEFS = {"time": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T"},
         "maybe": {"oneOf": [{"type": "null"}, {"type": "string"}]}}


@pytest.mark.parametrize("keyword", ["oneOf", "anyOf"])
@pytest.mark.parametrize("branch", _BRANCHES)
@pytest.mark.parametrize("null_first", [True, False])
def test_nullable_members_validate_as_jsonschema_does(keyword: str, branch: Any,
                                                      null_first: bool) -> None:
    pair = [{"type": "null"}, branch] if null_first else [branch, {"type": "null"}]
    schema = {"$defs": _DEFS, keyword: pair}
    test, reference = compile_schema(schema), Draft202012Validator(schema)
    for value in _VALUES:
        assert test(value) is reference.is_valid(value), value


@pytest.mark.parametrize("schema", [
    {"type": "integer", "minimum": 1}, {"type": "integer", "maximum": 5},
    {"type": "number", "minimum": 0.5, "maximum": 2}, {"type": "integer"},
    {"type": "integer", "minimum": 1, "title": "annotated"}])
def test_integer_members_validate_as_jsonschema_does(schema: dict[str, Any]) -> None:
    test, reference = compile_schema(schema), Draft202012Validator(schema)
    for value in [*_VALUES, 5, 6, 0.5, 0.4, 2**64, -(2**64)]:
        assert test(value) is reference.is_valid(value), value


def test_the_prebuilt_encoder_handles_shared_members_and_refuses_cycles() -> None:
    shared = {"b": [1, "x"], "a": None}
    doc = {"z": shared, "y": [shared, shared], "n": 2.5}
    out: list[str] = []
    _encode(doc, out, 0)
    assert canonical_json(doc) == "".join(out).encode()
    assert canonical_json("a\u2028\"") == json.dumps("a\u2028\"", ensure_ascii=False).encode()
    cycle: list[Any] = []
    cycle.append(cycle)
    assert not _plain(cycle, 0)
    with pytest.raises(CanonicalFormError):
        canonical_json(cycle)


def test_an_unrelated_record_is_unaffected(desk: Desk) -> None:
    # A record signed alone (no batch) next to the batch-signed ones.
    from records.envelope import Subject, SubjectKind
    from records.importer import parse_row
    from tests.records.test_import import row

    item = NewRecord(parse_row(row("fast-single"), line=1, school="S001").content,
                     Subject(SubjectKind.PERSON, "fast-single", "S001"))
    [record] = desk.registry.register_many("archive_entry", [item], actor=SCHOOL,
                                           reviewer=REVIEWER)
    [record] = desk.registry.anchor_many([record.id])
    anchors = desk.registry.trust_anchors().to_json()
    assert _overall(desk.registry.bundle(record.id), anchors) is Overall.VALID
