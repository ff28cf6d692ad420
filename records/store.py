"""Where records live: SQLAlchemy models on ``RecordsBase`` and the repository the
registry uses.

Tables: organisations that issue or review records and their certificates; one row per
record version (the envelope JSON in its stored form, sealed with SM4-GCM to bytes when
a field cipher is given, plus the columns queries need); status lists and their anchored
snapshots; the anchors of lifecycle entries. Salts sit in their own column so that
erasure is one update.

The stored form of an envelope is ``Record.to_json(include_salt=False)`` with one thing
left out: the ``record``, ``version`` and ``digest`` members of its lifecycle entries and
proofs when they equal the envelope's own ``id``, ``version`` and ``digest`` (each entry
names its record; stored inside that record, saying so again is a sixth of the text).
Reading puts them back (``expanded_json``), so a stored version decodes to exactly the
record written. Rows written before this form (with every member, or sealed to a text
token in ``envelope``) are read as they are.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import (
    DateTime,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from records.envelope import Anchor, Record
from records.errors import RecordNotFound, RecordsError, StatusListError, UnknownIssuer


class RecordsBase(DeclarativeBase):
    """Tables of the records package (the migrations target its metadata)."""


class OrganisationRow(RecordsBase):
    __tablename__ = "records_organisations"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(64))
    capabilities: Mapped[str] = mapped_column(Text)     # JSON list
    region: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CertificateRow(RecordsBase):
    __tablename__ = "records_certificates"

    kid: Mapped[str] = mapped_column(String(80), primary_key=True)
    org_code: Mapped[str] = mapped_column(String(40), index=True)
    pem: Mapped[str] = mapped_column(Text)
    serial: Mapped[str] = mapped_column(String(64))     # hex
    not_after: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_reason: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RecordRow(RecordsBase):
    __tablename__ = "records_versions"

    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    issuer_org: Mapped[str] = mapped_column(String(40), index=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_ref: Mapped[str | None] = mapped_column(String(200), index=True)
    subject_org: Mapped[str | None] = mapped_column(String(40))
    lookup: Mapped[str | None] = mapped_column(String(80), index=True)  # content sm3, USCC
    digest: Mapped[str] = mapped_column(String(64))
    filing_number: Mapped[str | None] = mapped_column(String(32), index=True)
    # The stored form of the envelope: JSON text when the store does not seal (and in
    # rows sealed before binary sealing: a text token), else None and ``sealed`` holds
    # it sealed to bytes (``FieldCipher.seal_bytes``).
    envelope: Mapped[str | None] = mapped_column(Text, nullable=True)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    salt: Mapped[str | None] = mapped_column(String(64))
    superseded_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class StatusListRow(RecordsBase):
    __tablename__ = "records_status_lists"

    list_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    org_code: Mapped[str] = mapped_column(String(40), index=True)
    number: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    next_index: Mapped[int] = mapped_column(Integer)
    revocation: Mapped[bytes] = mapped_column(LargeBinary)
    suspension: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class StatusSnapshotRow(RecordsBase):
    __tablename__ = "records_status_snapshots"

    list_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    anchor: Mapped[str] = mapped_column(Text)
    valid_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class LifecycleAnchorRow(RecordsBase):
    __tablename__ = "records_lifecycle_anchors"
    __table_args__ = (UniqueConstraint("record_id", "version", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    anchor: Mapped[str] = mapped_column(Text)


_CHUNK = 500   # rows per statement (and values per IN (...)) in bulk operations


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


# Writes of more rows than this enlarge SQLite's page cache for their transaction (KiB).
_LARGE_WRITE = 5_000
_LARGE_CACHE_KIB = 256 * 1024


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class EnvelopeSealer(Protocol):
    """Seals envelopes at rest (``crypto.fields.FieldCipher`` fits): to bytes, and opens
    the text tokens of rows sealed before that."""

    def seal_bytes(self, value: bytes, associated_data: bytes) -> bytes: ...

    def open_bytes(self, token: bytes, associated_data: bytes) -> bytes: ...

    def open(self, token: str, associated_data: bytes) -> str: ...


# Members of a lifecycle entry or proof that name its record (``Record``'s ``id``,
# ``version``, ``digest``); the stored form leaves them out where they are the record's.
_NAMING = (("record", "id"), ("version", "version"), ("digest", "digest"))


def compact_member(item: dict[str, Any], record_id: str, version: int,
                   digest: str) -> dict[str, Any]:
    """A lifecycle entry's or proof's fresh JSON turned into the stored form, in place:
    without ``record``, ``version`` and ``digest`` where they are these (the record it
    is stored in; an equal value of the same type only, as ``True == 1``), and
    returned."""
    for name, value in (("record", record_id), ("version", version), ("digest", digest)):
        if name in item and type(item[name]) is type(value) and item[name] == value:
            del item[name]
    return item


def stored_json(doc: dict[str, Any]) -> dict[str, Any]:
    """``Record.to_json(include_salt=False)``'s fresh document turned into the stored
    form, in place (its lifecycle entries and proofs lose the members that name the
    record itself), and returned."""
    for member in ("lifecycle", "proofs"):
        for item in doc[member]:
            compact_member(item, doc["id"], doc["version"], doc["digest"])
    return doc


def expanded_json(stored: dict[str, Any]) -> dict[str, Any]:
    """``Record.to_json``'s document from its stored form (in place), or from a row
    written before it (then nothing is missing)."""
    for member in ("lifecycle", "proofs"):
        items = stored.get(member)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    for name, own in _NAMING:
                        if name not in item and own in stored:
                            item[name] = stored[own]
    return stored


def stored_text(record: Record) -> str:
    """The stored form's JSON text of ``record`` (without its salt)."""
    return json.dumps(stored_json(record.to_json(include_salt=False)), ensure_ascii=False,
                      separators=(",", ":"))


def _lookup(record: Record) -> str | None:
    """The value other records are found by: a copyright registration's content digest,
    an app filing's or credit record's unified social credit code."""
    content = record.content
    if record.type.value == "copyright_registration":
        return str(content["content"]["sm3"])
    if record.type.value == "app_filing":
        return str(content["provider"]["credit_code"])
    if record.type.value == "credit_record":
        return str(content["credit_code"])
    return None


class RecordStore:
    """The repository: every method is one database transaction."""

    def __init__(self, sessions: sessionmaker[Session],
                 sealer: EnvelopeSealer | None = None) -> None:
        self.sessions = sessions
        self._sealer = sealer

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    # -- organisations and certificates ---------------------------------------------------
    def add_organisation(self, row: OrganisationRow) -> None:
        with self._write() as session:
            session.add(row)

    def organisation(self, code: str) -> OrganisationRow:
        with self.sessions() as session:
            row = session.get(OrganisationRow, code)
        if row is None:
            raise UnknownIssuer(f"no organisation {code!r} is registered for records")
        return row

    def organisations(self) -> list[OrganisationRow]:
        with self.sessions() as session:
            return list(session.scalars(select(OrganisationRow).order_by(OrganisationRow.code)))

    def add_certificate(self, row: CertificateRow) -> None:
        with self._write() as session:
            session.merge(row)

    def certificate(self, kid: str) -> CertificateRow | None:
        with self.sessions() as session:
            return session.get(CertificateRow, kid)

    def revoke_certificate(self, kid: str, at: dt.datetime, reason: int) -> None:
        with self._write() as session:
            done = session.execute(update(CertificateRow).where(
                CertificateRow.kid == kid, CertificateRow.revoked_at.is_(None))
                .values(revoked_at=at, revocation_reason=reason)).rowcount  # type: ignore[attr-defined]
        if not done and self.certificate(kid) is None:
            raise UnknownIssuer(f"no certificate {kid}")

    def revoked_certificates(self) -> list[CertificateRow]:
        with self.sessions() as session:
            return list(session.scalars(select(CertificateRow).where(
                CertificateRow.revoked_at.is_not(None))))

    # -- record versions ------------------------------------------------------------------
    def _aad(self, record_id: str, version: int) -> bytes:
        return f"records_versions|{record_id}|{version}".encode()

    def _encode(self, record: Record) -> str | bytes:
        [stored] = self.seal_envelopes([(stored_text(record), record.id, record.version)])
        return stored

    def _encode_many(self, records: Sequence[Record]) -> list[str | bytes]:
        return self.seal_envelopes([(stored_text(r), r.id, r.version) for r in records])

    def seal_envelopes(self, texts: Sequence[tuple[str, str, int]]) -> list[str | bytes]:
        """What is stored of each ``(envelope text in the stored form, record id,
        version)``: sealed to bytes when the store seals, else the text as it is."""
        if self._sealer is None:
            return [text for text, _, _ in texts]
        pairs = [(text.encode(), self._aad(record_id, version))
                 for text, record_id, version in texts]
        seal_many = getattr(self._sealer, "seal_bytes_many", None)
        if seal_many is not None:   # one key lookup for the whole batch
            return list(seal_many(pairs))
        return [self._sealer.seal_bytes(text, aad) for text, aad in pairs]

    def envelope_sealer(self) -> Callable[[Sequence[tuple[str, str, int]]],
                                          list[str | bytes]]:
        """``seal_envelopes`` with the sealing key version resolved now, for a forked
        worker process: it seals without reaching the key provider or the database
        (``crypto.fields.PinnedSealer``)."""
        pinned = getattr(self._sealer, "pinned", None)
        return RecordStore(self.sessions, pinned() if pinned else self._sealer).seal_envelopes

    def row(self, record: Record, envelope: str | bytes) -> dict[str, Any]:
        """The columns of a version whose envelope is encoded already (as
        ``row_values`` gives them)."""
        return {"record_id": record.id, "version": record.version,
                **self._columns(record, envelope=envelope)}

    def _columns_many(self, records: Sequence[Record]) -> list[dict[str, Any]]:
        envelopes = self._encode_many(records)
        return [self._columns(r, envelope=e) for r, e in zip(records, envelopes, strict=True)]

    def _decode(self, row: RecordRow) -> Record:
        aad = self._aad(row.record_id, row.version)
        if row.sealed is not None:
            if self._sealer is None:
                raise RecordsError(f"record {row.record_id} is sealed and this store "
                                   f"has no key to open it")
            text = self._sealer.open_bytes(bytes(row.sealed), aad).decode()
        elif row.envelope is None:
            raise RecordsError(f"record {row.record_id} version {row.version} has no "
                               f"envelope")
        elif self._sealer is not None:
            # A store that seals never wrote an envelope in clear: one there was put
            # there by someone else, and nothing vouches for it.
            if row.envelope.startswith("{"):
                raise RecordsError(f"record {row.record_id} version {row.version} is "
                                   f"stored in clear although this store seals")
            text = self._sealer.open(row.envelope, aad)   # sealed to text, before bytes
        else:
            text = row.envelope
        doc = expanded_json(json.loads(text))
        doc["salt"] = row.salt
        return Record.from_json(doc, check_shape=False)

    def _columns(self, record: Record, *, envelope: str | bytes | None = None
                 ) -> dict[str, Any]:
        return {"type": record.type.value, "state": record.state.value,
                "issuer_org": record.issuer.org, "subject_kind": record.subject.kind.value,
                "subject_ref": record.subject.ref, "subject_org": record.subject.org,
                "lookup": _lookup(record), "digest": record.digest,
                "filing_number": (record.review.assigned.get("filing_number")
                                  if record.review else None),
                **self._stored(envelope if envelope is not None else self._encode(record)),
                "salt": self._salt(record)}

    @staticmethod
    def _stored(envelope: str | bytes) -> dict[str, Any]:
        """The two envelope columns for what ``seal_envelopes`` gave (one is None, so
        that rewriting a row sealed to text leaves no stale copy)."""
        if isinstance(envelope, bytes):
            return {"envelope": None, "sealed": envelope}
        return {"envelope": envelope, "sealed": None}

    @staticmethod
    def _salt(record: Record) -> str | None:
        from records.digest import encode_salt

        return encode_salt(record.salt) if record.salt else None

    def insert(self, record: Record, now: dt.datetime) -> None:
        with self._write() as session:
            session.add(RecordRow(record_id=record.id, version=record.version,
                                  created_at=now, updated_at=now, **self._columns(record)))

    def row_values(self, records: Sequence[Record]) -> list[dict[str, Any]]:
        """The columns of these versions as ``insert_rows`` and ``save_rows`` write them
        (envelopes encoded and sealed): a bulk caller prepares them while other work
        runs, so that its write transaction stays short."""
        return [{"record_id": r.id, "version": r.version, **columns}
                for chunk in _chunks(records)
                for r, columns in zip(chunk, self._columns_many(chunk), strict=True)]

    def insert_many(self, records: Sequence[Record], now: dt.datetime,
                    also: Callable[[Session], None] | None = None) -> None:
        """Insert new versions in one transaction (with ``also(session)``'s writes)."""
        self.insert_rows(self.row_values(records), now, also)

    def insert_rows(self, rows: Sequence[dict[str, Any]], now: dt.datetime,
                    also: Callable[[Session], None] | None = None) -> None:
        """``insert_many`` of versions prepared by ``row_values``. Many rows go in, on
        SQLite, with a page cache large enough for the indexes they touch: record ids are
        random, so each row lands on other index pages, which the default cache (2 MB)
        evicts again and again (about 16% of the inserts' time for 40,000 rows)."""
        large = len(rows) > _LARGE_WRITE
        with self._write() as session:
            # Core executemany: the rows are complete column dicts, so the ORM's
            # per-row bookkeeping (about 40% of the insert's time) has nothing to add.
            connection = session.connection()
            sqlite = large and connection.dialect.name == "sqlite"
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA cache_size=-{_LARGE_CACHE_KIB}")
            try:
                for chunk in _chunks(rows):
                    connection.execute(insert(RecordRow), [
                        {**row, "created_at": now, "updated_at": now, "superseded_by": None}
                        for row in chunk])
                if also is not None:
                    also(session)
            finally:
                if sqlite:   # back to SQLite's default for this pooled connection
                    connection.exec_driver_sql("PRAGMA cache_size=-2000")

    def save(self, records: Sequence[Record], now: dt.datetime) -> None:
        """Store new evidence for existing versions (state, proofs, lifecycle, anchor)."""
        if len(records) == 1:
            [record] = records
            with self._write() as session:
                session.execute(update(RecordRow).where(
                    RecordRow.record_id == record.id, RecordRow.version == record.version)
                    .values(updated_at=now, **self._columns(record)))
            return
        self.save_rows(self.row_values(records), now)

    def save_rows(self, rows: Sequence[dict[str, Any]], now: dt.datetime) -> None:
        """``save`` of versions prepared by ``row_values``, in one transaction."""
        with self._write() as session:
            # ORM bulk UPDATE by primary key: one executemany per chunk.
            for chunk in _chunks(rows):
                session.execute(update(RecordRow), [{**row, "updated_at": now}
                                                    for row in chunk])

    def mark_superseded(self, record_id: str, version: int, by: int) -> None:
        with self._write() as session:
            session.execute(update(RecordRow).where(
                RecordRow.record_id == record_id, RecordRow.version == version)
                .values(superseded_by=by))

    def get(self, record_id: str, version: int | None = None) -> Record:
        with self.sessions() as session:
            query = select(RecordRow).where(RecordRow.record_id == record_id)
            if version is not None:
                query = query.where(RecordRow.version == version)
            row = session.scalars(query.order_by(RecordRow.version.desc()).limit(1)).first()
        if row is None:
            raise RecordNotFound(f"no record {record_id}"
                                 + (f" version {version}" if version else ""))
        return self._decode(row)

    def get_many(self, record_ids: Sequence[str]) -> list[Record]:
        """The newest version of each record, in the order asked (``RecordNotFound``
        naming the first that does not exist)."""
        newest: dict[str, RecordRow] = {}
        with self.sessions() as session:
            for chunk in _chunks(list(dict.fromkeys(record_ids))):
                for row in session.scalars(select(RecordRow).where(
                        RecordRow.record_id.in_(chunk))):
                    seen = newest.get(row.record_id)
                    if seen is None or row.version > seen.version:
                        newest[row.record_id] = row
        missing = [i for i in record_ids if i not in newest]
        if missing:
            raise RecordNotFound(f"no record {missing[0]}")
        decoded = {i: self._decode(row) for i, row in newest.items()}
        return [decoded[i] for i in record_ids]

    def versions(self, record_id: str) -> list[Record]:
        with self.sessions() as session:
            rows = session.scalars(select(RecordRow).where(RecordRow.record_id == record_id)
                                   .order_by(RecordRow.version)).all()
        return [self._decode(r) for r in rows]

    def find(self, *, record_type: str | None = None, lookup: str | None = None,
             states: Sequence[str] = (), subject_ref: str | None = None) -> list[Record]:
        with self.sessions() as session:
            query = select(RecordRow)
            if record_type is not None:
                query = query.where(RecordRow.type == record_type)
            if lookup is not None:
                query = query.where(RecordRow.lookup == lookup)
            if states:
                query = query.where(RecordRow.state.in_(list(states)))
            if subject_ref is not None:
                query = query.where(RecordRow.subject_ref == subject_ref)
            rows = session.scalars(query.order_by(RecordRow.created_at,
                                                  RecordRow.version)).all()
        return [self._decode(r) for r in rows]

    def last_filing_serial(self, province: str) -> int:
        prefix = f"教APP备{province}"
        with self.sessions() as session:
            numbers = session.scalars(select(RecordRow.filing_number).where(
                RecordRow.filing_number.like(prefix + "%"))).all()
        return max((int(n[len(prefix):len(prefix) + 5]) for n in numbers if n), default=0)

    def erase(self, record_id: str) -> None:
        """Forget the salt of every version (PIPL erasure): the digests on the ledger
        can no longer be linked to anyone. The caller removes the content separately."""
        with self._write() as session:
            session.execute(update(RecordRow).where(RecordRow.record_id == record_id)
                            .values(salt=None))

    # -- status lists ---------------------------------------------------------------------
    def allocate_slots(self, org: str, count: int, size: int,
                       now: dt.datetime) -> list[tuple[str, int]]:
        """``count`` free (list id, index) slots of ``org``, from its newest list onwards
        (a new list of ``size`` bits whenever one is full)."""
        slots: list[tuple[str, int]] = []
        with self._write() as session:
            row = session.scalars(select(StatusListRow).where(StatusListRow.org_code == org)
                                  .order_by(StatusListRow.number.desc()).limit(1)
                                  .with_for_update()).first()
            while len(slots) < count:
                if row is None or row.next_index >= row.size:
                    number = row.number + 1 if row is not None else 1
                    row = StatusListRow(list_id=f"{org}.{number}", org_code=org,
                                        number=number, size=size, next_index=0,
                                        revocation=bytes(size // 8),
                                        suspension=bytes(size // 8), updated_at=now)
                    session.add(row)
                take = min(count - len(slots), row.size - row.next_index)
                slots.extend((row.list_id, i) for i in range(row.next_index,
                                                             row.next_index + take))
                row.next_index += take
                row.updated_at = now
        return slots

    def status_list(self, list_id: str) -> StatusListRow:
        with self.sessions() as session:
            row = session.get(StatusListRow, list_id)
        if row is None:
            raise StatusListError(f"no status list {list_id}")
        return row

    def set_status_bits(self, list_id: str, purpose: str, changes: dict[int, bool],
                        now: dt.datetime) -> bytes:
        """Set or clear bits of one purpose; returns the new bitstring."""
        with self._write() as session:
            row = session.get(StatusListRow, list_id, with_for_update=True)
            if row is None:
                raise StatusListError(f"no status list {list_id}")
            bits = bytearray(getattr(row, purpose))
            for index, value in changes.items():
                if not 0 <= index < row.size:
                    raise StatusListError(f"index {index} is outside list {list_id}")
                mask = 0x80 >> (index % 8)
                bits[index // 8] = (bits[index // 8] | mask) if value else (
                    bits[index // 8] & ~mask)
            setattr(row, purpose, bytes(bits))
            row.updated_at = now
            return bytes(bits)

    def add_snapshot(self, list_id: str, purpose: str, sequence: int, document: dict[str, Any],
                     anchor: Anchor, valid_until: dt.datetime) -> None:
        with self._write() as session:
            session.add(StatusSnapshotRow(list_id=list_id, purpose=purpose, sequence=sequence,
                                          document=json.dumps(document, ensure_ascii=False),
                                          anchor=json.dumps(anchor.to_json()),
                                          valid_until=valid_until))

    def latest_snapshot(self, list_id: str, purpose: str
                        ) -> tuple[dict[str, Any], Anchor, dt.datetime] | None:
        with self.sessions() as session:
            row = session.scalars(select(StatusSnapshotRow).where(
                StatusSnapshotRow.list_id == list_id, StatusSnapshotRow.purpose == purpose)
                .order_by(StatusSnapshotRow.sequence.desc()).limit(1)).first()
        if row is None:
            return None
        return (json.loads(row.document), Anchor.from_json(json.loads(row.anchor)),
                _utc(row.valid_until))

    # -- lifecycle anchors ----------------------------------------------------------------
    def add_lifecycle_anchor(self, record_id: str, version: int, seq: int,
                             anchor: Anchor) -> None:
        with self._write() as session:
            session.add(LifecycleAnchorRow(record_id=record_id, version=version, seq=seq,
                                           anchor=json.dumps(anchor.to_json())))

    def lifecycle_anchors(self, record_id: str, version: int) -> dict[int, Anchor]:
        with self.sessions() as session:
            rows = session.scalars(select(LifecycleAnchorRow).where(
                LifecycleAnchorRow.record_id == record_id,
                LifecycleAnchorRow.version == version)).all()
        return {r.seq: Anchor.from_json(json.loads(r.anchor)) for r in rows}
