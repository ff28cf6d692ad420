"""Batch signatures on the bulk path: one SM2 signature per organisation and step over
the Merkle root of a chunk's items, each item carrying its inclusion path. Batch-signed
records verify end to end, and every way of bending the batch member is caught."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import replace
from typing import Any

import pytest

from records.batch import BatchRef, sign_all
from records.bundle import verify_bundle
from records.envelope import Record, Subject, SubjectKind
from records.importer import parse_row
from records.lifecycle import State, Transition, chain_problems
from records.registry import NewRecord
from records.signing import signature_is_valid
from records.verification import Overall
from tests.records.conftest import OTHER_SCHOOL, REVIEWER, SCHOOL, Desk
from tests.records.test_import import row


def approved(desk: Desk, prefix: str, count: int, actor: Any = SCHOOL) -> list[Record]:
    school = actor.org
    items = [NewRecord(parse_row(row(f"{prefix}-{i}"), line=i, school=school).content,
                       Subject(SubjectKind.PERSON, f"{prefix}-{i}", school))
             for i in range(count)]
    return desk.registry.register_many("archive_entry", items, actor=actor,
                                       reviewer=REVIEWER)


def problems(desk: Desk, record: Record, lifecycle: tuple[Transition, ...]) -> list[str]:
    found, unknown = chain_problems(
        lifecycle, record=record.id, version=record.version, digest=record.digest,
        key_for=lambda org, kid: desk.issuers.certificate(kid).public_key())
    assert not unknown
    return found


def key(desk: Desk, kid: str) -> Any:
    return desk.issuers.certificate(kid).public_key()


@pytest.fixture(scope="module")
def batch(desk: Desk) -> list[Record]:
    """Three records registered and anchored together: every signature is a batch's."""
    records = approved(desk, "batch", 3)
    return desk.registry.anchor_many([r.id for r in records])


def test_a_bulk_chunk_signs_each_step_once_per_organisation(batch: list[Record]) -> None:
    for step in range(5):
        entries = [r.lifecycle[step] for r in batch]
        assert [e.batch.index for e in entries if e.batch] == [0, 1, 2]
        assert {e.batch.size for e in entries if e.batch} == {3}
        assert len({e.signature for e in entries}) == 1
    for purpose in range(2):
        proofs = [r.proofs[purpose] for r in batch]
        assert [p.batch.index for p in proofs if p.batch] == [0, 1, 2]
        assert len({p.signature for p in proofs}) == 1


def test_batch_signed_records_verify_in_the_registry_and_offline(
        desk: Desk, batch: list[Record]) -> None:
    anchors = json.loads(json.dumps(desk.registry.trust_anchors().to_json()))
    for record in batch:
        assert desk.registry.verify(record.id).overall is Overall.VALID
        bundle = desk.registry.bundle(record.id)
        assert "batch" in bundle["record"]["lifecycle"][0]
        assert "batch" in bundle["record"]["proofs"][0]
        assert verify_bundle(bundle, anchors).overall is Overall.VALID
        assert Record.from_json(bundle["record"]) == record


def test_every_change_to_a_batch_member_is_caught(desk: Desk, batch: list[Record]) -> None:
    record = batch[1]
    entry = record.lifecycle[1]
    assert entry.batch is not None and not problems(desk, record, record.lifecycle)
    path = list(entry.batch.path)
    first = entry.batch.hashes()[0]
    path[0] = base64.b64encode(bytes([first[0] ^ 1]) + first[1:]).decode()
    _, other = desk.issuers.signer("S002")
    leaves = [r.lifecycle[1].signed_bytes() for r in batch]
    [(foreign, _), *_] = sign_all(leaves, org=entry.org, kid=entry.kid, signer=other)
    bent = {
        "path": replace(entry.batch, path=tuple(path)),
        "index": replace(entry.batch, index=0),
        "size": replace(entry.batch, size=4),
        "size 1": replace(entry.batch, size=1, index=0, path=()),
        "index past size": replace(entry.batch, index=3),
        "short path": replace(entry.batch, path=entry.batch.path[:-1]),
        "not base64": replace(entry.batch, path=("not base64!", *entry.batch.path[1:])),
        "not canonical": replace(entry.batch, path=(
            entry.batch.path[0][:42] + chr(ord(entry.batch.path[0][42]) ^ 1) + "=",
            *entry.batch.path[1:])),
    }
    for what, member in bent.items():
        found = problems(desk, record, (record.lifecycle[0], replace(entry, batch=member)))
        assert found and found[0].startswith("lifecycle entry 1: "), what
    mismatch = problems(desk, record, (record.lifecycle[0],
                                       replace(entry, batch=bent["short path"])))
    assert "batch path does not fit" in mismatch[0]
    for what, changed in {"modified": replace(entry, actor="someone-else"),
                          "batch removed": replace(entry, batch=None),
                          "other organisation": replace(entry, signature=foreign)}.items():
        found = problems(desk, record, (record.lifecycle[0], changed))
        kind = "signature" if changed.batch is None else "batch signature"
        assert found == [f"lifecycle entry 1: the {kind} of S001 does not verify"], what


def test_a_batch_member_added_to_an_individual_signature_is_caught(
        desk: Desk, batch: list[Record]) -> None:
    [single] = approved(desk, "single", 1)
    entry = single.lifecycle[1]
    assert entry.batch is None and single.proofs[0].batch is None
    borrowed = batch[0].lifecycle[1].batch
    found = problems(desk, single, (single.lifecycle[0], replace(entry, batch=borrowed)))
    assert found == ["lifecycle entry 1: the batch signature of S001 does not verify"]
    proof = single.proofs[0]
    kid = proof.kid
    assert signature_is_valid(proof, key(desk, kid))
    assert not signature_is_valid(replace(proof, batch=batch[0].proofs[0].batch),
                                  key(desk, kid))


def test_a_bent_batch_proof_is_invalid(desk: Desk, batch: list[Record]) -> None:
    proof = batch[0].proofs[0]
    public = key(desk, proof.kid)
    assert proof.batch is not None and signature_is_valid(proof, public)
    assert len(proof.batch.path) == 2
    for member in (None, replace(proof.batch, index=1), replace(proof.batch, size=2),
                   BatchRef(3, 0, proof.batch.path[::-1])):
        assert not signature_is_valid(replace(proof, batch=member), public)
    assert not signature_is_valid(replace(proof, version=2), public)
    # The same hash in non-canonical base64 (other unused low bits) is refused.
    text = base64.b64encode(bytes(range(32))).decode()
    assert text.endswith("8=")
    with pytest.raises(ValueError, match="canonical"):
        BatchRef(2, 0, (text[:42] + "9=",)).hashes()


def test_a_tampered_batch_member_in_a_bundle_is_invalid(desk: Desk,
                                                        batch: list[Record]) -> None:
    anchors = json.loads(json.dumps(desk.registry.trust_anchors().to_json()))
    bundle = desk.registry.bundle(batch[0].id)
    for change in ("proof path", "entry index"):
        forged = copy.deepcopy(bundle)
        if change == "proof path":
            member = forged["record"]["proofs"][0]["batch"]
            member["path"][0] = base64.b64encode(bytes(32)).decode()
        else:
            forged["record"]["lifecycle"][0]["batch"]["index"] = 2
        report = verify_bundle(forged, anchors)
        assert report.overall is Overall.INVALID, change
    for bad in ({"size": 1, "index": 0, "path": []}, {"size": 3, "index": 0},
                {"size": 3, "index": 0, "path": ["x"]}):
        forged = copy.deepcopy(bundle)
        forged["record"]["lifecycle"][0]["batch"] = bad
        assert verify_bundle(forged, anchors).overall is not Overall.VALID


def test_an_amendment_signed_alone_after_a_batch_signed_version_verifies(
        desk: Desk, batch: list[Record]) -> None:
    registry = desk.registry
    first = approved(desk, "amend", 2)
    registry.anchor_many([r.id for r in first])
    content = copy.deepcopy(first[0].content)
    content["term"] = "2025-2026 学年第二学期"
    registry.amend(first[0].id, content, actor=SCHOOL, comment="更正")
    registry.submit(first[0].id, actor=SCHOOL)
    registry.start_review(first[0].id, actor=REVIEWER)
    registry.approve(first[0].id, actor=REVIEWER)
    [second] = registry.anchor([first[0].id])
    assert second.version == 2 and all(e.batch is None for e in second.lifecycle)
    assert registry.get(first[0].id, 1).lifecycle[0].batch is not None
    report = registry.verify(first[0].id)
    assert report.overall is Overall.VALID
    assert [v["record_version"] for v in report.history] == [1, 2]


def test_a_chunk_of_two_issuers_gets_a_batch_each(desk: Desk) -> None:
    records = approved(desk, "two-a", 2) + approved(desk, "two-b", 2, OTHER_SCHOOL)
    active = desk.registry.anchor_many([r.id for r in records])
    entries = [r.lifecycle[-1] for r in active]
    assert [e.target for e in entries] == [State.ACTIVE] * 4
    assert [(e.org, e.batch.size, e.batch.index) for e in entries if e.batch] == [
        ("S001", 2, 0), ("S001", 2, 1), ("S002", 2, 0), ("S002", 2, 1)]
    assert entries[0].signature == entries[1].signature != entries[2].signature
    for record in active:
        assert desk.registry.verify(record.id).overall is Overall.VALID


def test_a_batch_of_one_is_signed_alone(desk: Desk) -> None:
    [record] = approved(desk, "alone", 1)
    [active] = desk.registry.anchor_many([record.id])
    assert all(e.batch is None for e in active.lifecycle)
    assert all(p.batch is None for p in active.proofs)
    assert "batch" not in json.dumps(active.to_json())
    assert desk.registry.verify(active.id).overall is Overall.VALID
