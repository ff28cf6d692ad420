"""How record versions are stored: the compact stored form of the envelope, sealed to
bytes with SM4-GCM, and rows written before either (full JSON, or a text token) still
read back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from crypto.errors import DecryptionError
from records.errors import RecordsError
from records.importer import ArchiveImport
from records.store import RecordRow, RecordStore, expanded_json, stored_json, stored_text
from tests.records.conftest import (
    REVIEWER,
    SCHOOL,
    Desk,
    archive_content,
    create_and_anchor,
    student,
)
from tests.records.test_import import as_csv, row


def _row(desk: Desk, record_id: str) -> RecordRow:
    with desk.store.sessions() as session:
        found = session.scalars(select(RecordRow).where(
            RecordRow.record_id == record_id)).one()
        session.expunge(found)
        return found


def test_stored_form_leaves_out_only_what_names_the_record_itself(desk: Desk) -> None:
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student("person-stored-1"))
    doc = record.to_json(include_salt=False)
    stored = stored_json(record.to_json(include_salt=False))
    for item in [*stored["lifecycle"], *stored["proofs"]]:
        assert not {"record", "version", "digest"} & set(item)
    text = stored_text(record)
    assert len(text.encode()) < 0.9 * len(json.dumps(doc, ensure_ascii=False).encode())
    assert expanded_json(json.loads(text)) == doc
    # An entry naming another record, version or digest keeps what differs.
    def other() -> dict[str, object]:
        fresh = record.to_json(include_salt=False)
        fresh["lifecycle"][0].update(version=9, digest="ab" * 32)
        return fresh

    [kept, *_] = stored_json(other())["lifecycle"]
    # Only an equal value of the same type is left out (True == 1 and 1.0 == 1 in Python).
    odd = record.to_json(include_salt=False)
    odd["lifecycle"][0]["version"] = float(odd["version"])
    assert stored_json(odd)["lifecycle"][0]["version"] == 1.0
    assert kept["version"] == 9 and kept["digest"] == "ab" * 32 and "record" not in kept
    assert expanded_json(stored_json(other())) == other()


def test_a_version_is_sealed_to_bytes_with_nothing_personal_in_clear(desk: Desk) -> None:
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student("person-stored-2"))
    stored = _row(desk, record.id)
    assert stored.envelope is None and stored.sealed is not None
    sealed = bytes(stored.sealed)
    for clear in ("张三", "高中数学", record.digest, "person-stored-2"):
        assert clear.encode() not in sealed
    assert desk.store.get(record.id) == record
    # The tag binds the row: the same bytes under another record's key do not open.
    other = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                              subject=student("person-stored-3"))
    with desk.store.sessions.begin() as session:
        session.execute(update(RecordRow).where(RecordRow.record_id == other.id)
                        .values(sealed=sealed))
    with pytest.raises(DecryptionError):
        desk.store.get(other.id)
    # A changed byte does not open either.
    flipped = bytearray(sealed)
    flipped[len(flipped) // 2] ^= 1
    with desk.store.sessions.begin() as session:
        session.execute(update(RecordRow).where(RecordRow.record_id == record.id)
                        .values(sealed=bytes(flipped)))
    with pytest.raises(DecryptionError):
        desk.store.get(record.id)


def test_rows_written_before_the_stored_form_and_binary_sealing_still_read(
        desk: Desk) -> None:
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student("person-stored-4"))
    full = json.dumps(record.to_json(include_salt=False), ensure_ascii=False,
                      separators=(",", ":"))
    aad = f"records_versions|{record.id}|{record.version}".encode()
    token = desk.platform.fields.seal(full, aad)   # how rows were sealed before
    def stored_as(envelope: str) -> None:
        with desk.store.sessions.begin() as session:
            session.execute(update(RecordRow).where(RecordRow.record_id == record.id)
                            .values(envelope=envelope, sealed=None))

    stored_as(full)   # a store without a key writes (and reads) the JSON itself
    assert RecordStore(desk.store.sessions).get(record.id) == record
    # A store that seals never wrote it in clear: such a row was put there by someone
    # else, and nothing vouches for it.
    with pytest.raises(RecordsError, match="in clear"):
        desk.store.get(record.id)
    stored_as(token)
    assert desk.store.get(record.id) == record
    # Rewriting such a row (a state change) stores the new form and no stale copy.
    desk.registry.suspend(record.id, actor=SCHOOL, comment="check")
    rewritten = _row(desk, record.id)
    assert rewritten.envelope is None and rewritten.sealed is not None
    # A store without the data key says so instead of reading garbage.
    with pytest.raises(RecordsError, match="sealed"):
        RecordStore(desk.store.sessions).get(record.id)


def test_imported_versions_are_stored_in_the_same_form(desk: Desk) -> None:
    report = ArchiveImport(desk.registry, reviewer=REVIEWER, workers=2).run(
        as_csv([row(f"p-stored-{i}") for i in range(450)]))
    assert report.ok and report.anchored == 450
    for _, record_id in report.records[::149]:
        stored = _row(desk, record_id)
        assert stored.envelope is None and stored.sealed is not None
        record = desk.store.get(record_id)
        aad = f"records_versions|{record_id}|{record.version}".encode()
        text = desk.platform.fields.open_bytes(bytes(stored.sealed), aad).decode()
        assert text.endswith('"state":"active"}')
        assert json.loads(text) == stored_json(record.to_json(include_salt=False))
        assert desk.registry.verify(record_id).overall.value == "valid"


def test_sealing_many_versions_looks_the_data_key_up_once(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    records = [create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                                 subject=student(f"person-stored-many-{i}")) for i in range(3)]
    keys = desk.platform.keys
    unwrap = keys.unwrap_sm4
    lookups: list[object] = []

    def counted(*args: object, **kwargs: object) -> object:
        lookups.append(args)
        return unwrap(*args, **kwargs)   # type: ignore[arg-type]

    monkeypatch.setattr(keys, "unwrap_sm4", counted)
    rows = desk.store.row_values(records)
    assert len(lookups) == 1 and all(r["sealed"] and r["envelope"] is None for r in rows)


def test_migration_0018_keeps_the_rows_written_before_it(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import text

    from edutrust.database import alembic_config, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0017_oauth_revoked_access_tokens")
    values = {"id": "r-1", "type": "archive_entry", "state": "active", "org": "S001",
              "kind": "person", "ref": "p-1", "digest": "ab" * 32,
              "envelope": "sm4gcm.records.1.AAAA", "at": "2026-11-28 00:00:00"}
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO records_versions (record_id, version, type, state, issuer_org, "
            "subject_kind, subject_ref, digest, envelope, created_at, updated_at) VALUES "
            "(:id, 1, :type, :state, :org, :kind, :ref, :digest, :envelope, :at, :at)"),
            values)
    command.upgrade(alembic_config(engine), "head")
    with engine.begin() as conn:
        kept = conn.execute(text("SELECT envelope, sealed, subject_ref FROM records_versions")
                            ).one()
        assert tuple(kept) == ("sm4gcm.records.1.AAAA", None, "p-1")
        conn.execute(text("UPDATE records_versions SET envelope = NULL, sealed = :b"),
                     {"b": b"\x01sealed"})   # the new form fits the migrated table
    # Going back refuses while a row is sealed to bytes (it would be lost).
    with pytest.raises(RuntimeError, match="sealed to bytes"):
        command.downgrade(alembic_config(engine), "0017_oauth_revoked_access_tokens")
    engine.dispose()
