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
from records.errors import AnchoringFailed, IllegalTransition
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


def written(desk: Desk, prefix: str, count: int) -> list[tuple[Record, str]]:
    """New approved records as an import writes them: with the envelopes it stored."""
    items = [NewRecord(parse_row(row(f"{prefix}-{i}"), line=i, school="S001").content,
                       Subject(SubjectKind.PERSON, f"{prefix}-{i}", "S001"))
             for i in range(count)]
    records = desk.registry.build_many("archive_entry", items, actor=SCHOOL,
                                       reviewer=REVIEWER)
    rows = desk.store.row_values(records)
    desk.store.insert_rows(rows, desk.registry.clock())
    return [(record, values["envelope"]) for record, values in zip(records, rows, strict=True)]


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
    held = written(desk, "p-pipe", 5)
    records = [record for record, _ in held]

    with desk.registry.signing_pool(["S001"], workers=2) as pool:
        done = desk.registry.anchor_many([r.id for r in records], batch=2, pool=pool,
                                         held=held)

    assert [r.id for r in done] == [r.id for r in records]
    assert len({r.anchor.tx_id for r in done if r.anchor}) == 3
    for record in done:
        stored = desk.registry.get(record.id)
        assert stored == record and stored.state is State.ACTIVE
        assert desk.registry.verify(record.id).overall is Overall.VALID


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


def test_an_import_whose_anchoring_fails_is_finished_by_importing_again(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    data = as_csv([row(f"p-resume-{i}") for i in range(5)])
    failing_ledger_call(desk.registry, monkeypatch, 3)

    with pytest.raises(AnchoringFailed):
        ArchiveImport(desk.registry, reviewer=REVIEWER, anchor_batch=2).run(data)
    monkeypatch.undo()
    again = import_archive_entries(desk.registry, data, reviewer=REVIEWER)

    assert again.ok and (again.created, again.unchanged, again.anchored) == (0, 5, 1)
    for _, record_id in again.records:
        assert desk.registry.get(record_id).state is State.ACTIVE


def test_a_held_record_is_used_only_while_the_store_holds_exactly_what_was_written(
        desk: Desk) -> None:
    held = written(desk, "p-held", 4)
    (kept, _), (anchored, _), (erased, _), (rewritten, _) = held
    desk.registry.anchor_many([anchored.id])
    desk.store.erase(erased.id)
    # Same version, state, digest and salt; another envelope.
    desk.store.save([rewritten.with_changes(proofs=rewritten.proofs[:1])],
                    desk.registry.clock())

    current = desk.store.current_many(held)

    assert current[0] is kept
    assert current[1].state is State.ACTIVE
    assert current[2].salt is None
    assert len(current[3].proofs) == 1
    with pytest.raises(IllegalTransition):
        desk.registry.anchor_many([r.id for r, _ in held], held=held)
    assert desk.registry.get(erased.id).state is State.APPROVED


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
