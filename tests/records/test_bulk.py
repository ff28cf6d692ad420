"""Bulk registration and anchoring: what workers send back builds the same records as
building them in place, pipelined anchor batches end where sequential ones do, a batch
that fails leaves a state that running again finishes, and records a caller holds are
anchored only while the store still holds them unchanged."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from crypto.sm3 import sm3
from records.bulk import ChainJob, build_chains, build_chains_only
from records.envelope import Record, Subject, SubjectKind
from records.errors import AnchoringFailed, RecordNotFound
from records.importer import ArchiveImport, import_archive_entries, parse_row
from records.lifecycle import State
from records.registry import NewRecord, RecordRegistry
from records.verification import Overall
from tests.records.conftest import REVIEWER, SCHOOL, Desk
from tests.records.test_import import as_csv, row


class _SameSignature:
    """A deterministic stand-in for a key handle: equal inputs, equal signatures."""

    def sign(self, data: bytes, **_options: Any) -> bytes:
        return sm3(data)


def entries(desk: Desk, prefix: str, count: int) -> list[Record]:
    items = [NewRecord(parse_row(row(f"{prefix}-{i}"), line=i, school="S001").content,
                       Subject(SubjectKind.PERSON, f"{prefix}-{i}", "S001"))
             for i in range(count)]
    return desk.registry.register_many("archive_entry", items, actor=SCHOOL,
                                       reviewer=REVIEWER)


def built(desk: Desk, prefix: str, count: int) -> list[Record]:
    """New approved records as an import builds them: signed, not stored yet."""
    items = [NewRecord(parse_row(row(f"{prefix}-{i}"), line=i, school="S001").content,
                       Subject(SubjectKind.PERSON, f"{prefix}-{i}", "S001"))
             for i in range(count)]
    return desk.registry.build_many("archive_entry", items, actor=SCHOOL, reviewer=REVIEWER)


def failing_ledger_call(registry: RecordRegistry, monkeypatch: pytest.MonkeyPatch,
                        number: int) -> None:
    real = registry.anchoring.anchor
    calls = [0]

    def anchor(requests: Any) -> Any:
        calls[0] += 1
        if calls[0] == number:
            raise AnchoringFailed("the ledger did not anchor the batch: test")
        return real(requests)

    monkeypatch.setattr(registry.anchoring, "anchor", anchor)


def test_what_a_worker_sends_back_rebuilds_the_record_it_built(desk: Desk) -> None:
    [record] = entries(desk, "p-chain", 1)
    draft = record.with_changes(digest="", state=State.DRAFT, lifecycle=(), proofs=(),
                                review=None)
    signers = {"S001": ("kid-s", _SameSignature()), "EDU11": ("kid-r", _SameSignature())}
    job = ChainJob(draft, SCHOOL, REVIEWER, dt.datetime(2026, 1, 2, tzinfo=dt.UTC))

    [chain] = build_chains_only([job], signers)
    rebuilt = chain.applied_to(draft)

    assert [rebuilt] == build_chains([job], signers)
    assert rebuilt.state is State.APPROVED and len(rebuilt.proofs) == 2


def test_pipelined_batches_in_workers_leave_every_record_active_and_valid(
        desk: Desk) -> None:
    records = entries(desk, "p-pipe", 5)

    with desk.registry.signing_pool(["S001"], workers=2) as pool:
        done = desk.registry.anchor_many([r.id for r in records], batch=2, pool=pool)

    assert [r.id for r in done] == [r.id for r in records]
    assert len({r.anchor.tx_id for r in done if r.anchor}) == 3
    for record in done:
        stored = desk.registry.get(record.id)
        assert stored == record and stored.state is State.ACTIVE
        assert desk.registry.verify(record.id).overall is Overall.VALID


@pytest.mark.parametrize("workers", [2, 1])
def test_unstored_records_are_anchored_in_pipelined_batches_and_written_once_active(
        desk: Desk, workers: int) -> None:
    records = built(desk, f"p-unstored-{workers}", 5)

    with desk.registry.signing_pool(["S001"], workers=workers) as pool:
        active, rows = desk.registry.anchor_unstored(records, batch=2, pool=pool)
    with pytest.raises(RecordNotFound):
        desk.registry.get(records[0].id)   # nothing is stored until the caller writes
    desk.store.insert_rows(rows, desk.registry.clock())

    assert [r.id for r in active] == [r.id for r in records]
    assert len({r.anchor.tx_id for r in active if r.anchor}) == 3
    for record in active:
        assert desk.store.versions(record.id) == [record]
        assert record.state is State.ACTIVE
        assert desk.registry.verify(record.id).overall is Overall.VALID


def test_anchor_unstored_refuses_what_is_not_a_new_approved_version(desk: Desk) -> None:
    [record] = built(desk, "p-refuse", 1)
    for wrong in (record.with_changes(state=State.SUBMITTED), record.with_changes(version=2)):
        with pytest.raises(ValueError):
            desk.registry.anchor_unstored([wrong])


def test_a_failed_middle_batch_leaves_earlier_ones_active_and_a_rerun_finishes(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [r.id for r in entries(desk, "p-fail", 5)]
    failing_ledger_call(desk.registry, monkeypatch, 2)

    with desk.registry.signing_pool(["S001"], workers=2) as pool, \
            pytest.raises(AnchoringFailed):
        desk.registry.anchor_many(ids, batch=2, pool=pool)

    states = [desk.registry.get(i).state for i in ids]
    assert states == [State.ACTIVE] * 2 + [State.APPROVED] * 3
    monkeypatch.undo()
    desk.registry.anchor_many(ids[2:], batch=2)
    for record_id in ids:
        assert desk.registry.verify(record_id).overall is Overall.VALID


def test_an_import_whose_anchoring_fails_writes_nothing_and_importing_again_does_it_all(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    data = as_csv([row(f"p-resume-{i}") for i in range(5)])
    failing_ledger_call(desk.registry, monkeypatch, 3)
    before = desk.channel.tree_size()

    with pytest.raises(AnchoringFailed):
        ArchiveImport(desk.registry, reviewer=REVIEWER, anchor_batch=2).run(data)
    assert all(desk.store.find(subject_ref=f"p-resume-{i}") == [] for i in range(5))
    # The two batches anchored before the failure point at no stored record.
    assert desk.channel.tree_size() == before + 4
    monkeypatch.undo()
    again = import_archive_entries(desk.registry, data, reviewer=REVIEWER)

    assert again.ok and (again.created, again.unchanged, again.anchored) == (5, 0, 5)
    assert all(len(desk.store.find(subject_ref=f"p-resume-{i}")) == 1 for i in range(5))
    for _, record_id in again.records:
        assert desk.registry.get(record_id).state is State.ACTIVE
        assert desk.registry.verify(record_id).overall is Overall.VALID


def test_reimport_with_a_reviewer_anchors_rows_approved_since_an_unreviewed_import(
        desk: Desk) -> None:
    data = as_csv([row(f"p-later-{i}") for i in range(3)])
    first = import_archive_entries(desk.registry, data)
    assert first.ok and first.awaiting_review == 3
    _, approved_id = first.records[0]
    desk.registry.start_review(approved_id, actor=REVIEWER)
    desk.registry.approve(approved_id, actor=REVIEWER)

    again = import_archive_entries(desk.registry, data, reviewer=REVIEWER)

    assert again.ok and (again.created, again.unchanged, again.anchored) == (0, 3, 1)
    assert desk.registry.get(approved_id).state is State.ACTIVE
    assert desk.registry.verify(approved_id).overall is Overall.VALID


@pytest.mark.slow
def test_an_import_in_workers_with_review_stores_what_it_anchored(desk: Desk) -> None:
    data = as_csv([row(f"p-w-{i:04d}", f"课程 {i % 7}") for i in range(1_000)])

    report = ArchiveImport(desk.registry, reviewer=REVIEWER, workers=2,
                           anchor_batch=300).run(data)

    assert report.ok and (report.created, report.anchored) == (1_000, 1_000)
    stored = desk.store.get_many([record_id for _, record_id in report.records])
    assert {r.state for r in stored} == {State.ACTIVE}
    assert len({r.anchor.tx_id for r in stored if r.anchor}) == 4
    assert stored[517].subject.ref == "p-w-0517"
    assert desk.registry.verify(stored[517].id).overall is Overall.VALID


def test_a_signed_copy_equals_replace_and_keeps_only_what_the_signature_does_not_enter(
        desk: Desk) -> None:
    from dataclasses import replace

    from records.batch import BatchRef
    from records.bulk import _with_signature

    [record] = built(desk, "p-copy", 1)
    entry, proof = record.lifecycle[-1], record.proofs[0]
    entry.hash()
    entry.signed_bytes()
    batch = BatchRef(2, 1, ("A" * 43 + "=",))
    for item in (entry, proof):
        copy = _with_signature(item, b"sig", batch)
        assert copy == replace(item, signature=b"sig", batch=batch)
        assert type(copy) is type(item) and copy is not item
    signed = _with_signature(entry, b"sig", None)
    assert "_hash" not in signed.__dict__
    assert signed.hash() != entry.hash()
    assert signed.signed_bytes() == entry.signed_bytes()


def test_the_collector_is_paused_during_bulk_jobs_and_resumes_after_the_last() -> None:
    import gc

    from records.bulk import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():   # a second import at the same time
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("an import that fails")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()   # left as the caller had it
    finally:
        gc.enable()


def test_envelope_texts_made_by_the_building_workers_are_what_the_store_would_write(
        desk: Desk) -> None:
    from records.bulk import active_envelopes, awaiting_anchor

    items = [NewRecord(parse_row(row(f"p-text-{i}"), line=i, school="S001").content,
                       Subject(SubjectKind.PERSON, f"p-text-{i}", "S001")) for i in range(3)]
    texts: dict[str, str] = {}
    with desk.registry.signing_pool(["S001", "EDU11"], workers=2) as pool:
        records = list(desk.registry.build_iter("archive_entry", items, actor=SCHOOL,
                                                reviewer=REVIEWER, pool=pool, envelopes=texts))
        assert set(texts) == {r.id for r in records}
        assert all(texts[r.id] == awaiting_anchor(r) for r in records)
        active, rows = desk.registry.anchor_unstored(records, pool=pool, envelopes=texts)
    assert texts == {}   # each used once
    desk.store.insert_rows(rows, desk.registry.clock())
    for record in active:
        assert desk.store.versions(record.id) == [record]
        assert desk.registry.verify(record.id).overall is Overall.VALID
    with pytest.raises(ValueError):
        awaiting_anchor(active[0])   # only an approved version awaits its anchor
    [record] = built(desk, "p-text-bad", 1)
    job_text = awaiting_anchor(record)[:-1] + " }"
    from records.bulk import EnvelopeJob
    from records.registry import system_actor
    anchor = active[0].anchor
    assert anchor is not None
    with pytest.raises(ValueError):
        active_envelopes([EnvelopeJob(job_text, record.id, 1, record.digest,
                                      record.lifecycle[-1], len(record.lifecycle), anchor,
                                      system_actor("S001"), desk.registry.clock())],
                         desk.registry._signers({"S001"}), seal=desk.store.seal_envelopes)


def test_an_import_leaves_nothing_for_the_cyclic_collector(desk: Desk) -> None:
    import gc

    data = as_csv([row(f"p-gc-{i}") for i in range(1_100)])
    gc.collect()
    gc.disable()
    try:
        report = ArchiveImport(desk.registry, reviewer=REVIEWER, workers=2).run(data)
        assert report.ok and report.anchored == 1_100
        del report
        # Reference counting alone freed every record (nothing was kept in a cycle,
        # such as an exception's traceback holding the import's frames).
        assert not any(type(o) is Record for o in gc.get_objects())
    finally:
        gc.enable()


def test_a_changed_record_equals_dataclasses_replace_and_leaves_the_original(
        desk: Desk) -> None:
    from dataclasses import replace

    [record] = built(desk, "p-with-changes", 1)
    changed = record.with_changes(state=State.ACTIVE, lifecycle=record.lifecycle[:2])
    assert changed == replace(record, state=State.ACTIVE, lifecycle=record.lifecycle[:2])
    assert type(changed) is Record and changed is not record
    assert record.state is State.APPROVED and len(record.lifecycle) == 4
    with pytest.raises(TypeError):
        record.with_changes(stat=State.ACTIVE)
    with pytest.raises(AttributeError):   # still frozen
        changed.state = State.DRAFT   # type: ignore[misc]
