"""Bulk import of archive entries (数字档案) from CSV or XLSX: the core behind
``edutrust records import FILE`` and the API's upload.

The file has a header row naming columns of ``COLUMNS`` (docs/records.md "Bulk import"
describes each); every other row is one archive entry of one person. CSV is UTF-8 (a
byte-order mark is allowed); XLSX is read from its first worksheet.

- **All or nothing.** Every row is checked before anything is written: formats, the
  schema, the school's right to register entries for its people, duplicates inside the
  file and conflicts with earlier imports. With any bad row the report lists each
  problem with its 1-based line number (the spreadsheet row for XLSX) and nothing is
  imported. Otherwise every record is written in one database transaction.
- **Idempotent.** Each row has a natural key — school, person, achievement type,
  achievement name and term — kept (hashed) with the record it created. Importing the
  same file again creates nothing; a row whose key exists with other values is an
  error (amend that record instead).
- **Review and anchoring.** Records are created and submitted, signed by their school.
  When a ``reviewer`` organisation is named (one with the right to review archive
  entries), it reviews and approves them and they are anchored in batches (one ledger
  transaction per batch); a batch that fails leaves earlier batches anchored and the
  rest approved, and importing the file again anchors what is left.

Error details name a column or another line, never a value: values are personal data and
reports end up in terminals and logs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import DateTime, String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from crypto.sm3 import sm3
from records.bulk import SigningPool, collector_paused
from records.canonical import canonical_json
from records.envelope import Record, Subject, SubjectKind
from records.errors import BulkRejected, NotAuthorised, RecordsError, SchemaViolation
from records.lifecycle import Actor, State
from records.registry import NewRecord, RecordRegistry
from records.store import RecordRow, RecordsBase

RECORD_TYPE = "archive_entry"
COLUMNS = ("school", "person", "recipient_name", "recipient_role", "achievement_type",
           "achievement_name", "criteria", "credits_available", "field_of_study", "result",
           "result_description", "result_status", "credits_earned", "term",
           "activity_start_date", "activity_end_date", "awarded_date", "narrative",
           "evidence_name", "evidence_sm3", "evidence_size", "valid_until")
REQUIRED_COLUMNS = ("person", "achievement_type", "achievement_name", "criteria",
                    "awarded_date")
EVIDENCE_COLUMNS = ("evidence_name", "evidence_sm3", "evidence_size")
MAX_ROWS = 200_000
_CHUNK = 500
# Chunks of records handed to the workers ahead of the ones being anchored: enough to
# keep them busy while this process sends a ledger transaction, few enough that the
# activations it then hands over do not wait behind the whole file.
_BUILD_AHEAD = 24
# Entries per ledger transaction in an import (the contract allows 10,000). Measured on 2
# cores with 100,000 rows (fourth session, before the smaller stored envelopes and the
# cheaper anchoring of the fifth): 10,000 per transaction took 76-78 s, 5,000 took 70.5 s and
# 2,000 took 71.5 s: a transaction of 10,000 holds this process for about 1.3 s, during
# which the workers are not fed, and the last one is not overlapped at all.
IMPORT_ANCHOR_BATCH = 5_000
# Where a schema problem points -> the column that holds the value.
_POINTER_COLUMNS = {
    "/recipient": "recipient_name", "/recipient/name": "recipient_name",
    "/recipient/role": "recipient_role",
    "/achievement/achievementType": "achievement_type",
    "/achievement/name": "achievement_name", "/achievement/criteria": "criteria",
    "/achievement/criteria/narrative": "criteria",
    "/achievement/creditsAvailable": "credits_available",
    "/achievement/fieldOfStudy": "field_of_study",
    "/result/0/value": "result", "/result/0/resultDescription": "result_description",
    "/result/0/status": "result_status", "/result/0": "result",
    "/creditsEarned": "credits_earned", "/term": "term",
    "/activityStartDate": "activity_start_date", "/activityEndDate": "activity_end_date",
    "/awardedDate": "awarded_date", "/narrative": "narrative",
    "/evidence/0/name": "evidence_name", "/evidence/0/sm3": "evidence_sm3",
    "/evidence/0/size": "evidence_size",
}
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
# What a directory reference must never be: a resident ID-card number or a mobile number.
_ID_CARD = re.compile(r"^\d{17}[\dXx]$")
_MOBILE = re.compile(r"^(\+?86[- ]?)?1\d{10}$")
_CHINA = dt.timezone(dt.timedelta(hours=8))

Progress = Callable[[int, int], None]


class ImportKeyRow(RecordsBase):
    """The natural key of each imported row and the record it created."""

    __tablename__ = "records_import_keys"

    org_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    natural_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), index=True)
    row_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ImportFileError(RecordsError):
    """The file cannot be read as an import file at all; ``key`` names a catalog message
    and ``values`` its placeholders."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class RowError(NamedTuple):
    """One problem of one row: 1-based line, catalog key, and a column name, another
    line number or a record id (never a value)."""

    line: int
    key: str
    detail: str


@dataclass
class ImportReport:
    """What an import did (or, with errors, would have done)."""

    rows: int = 0
    created: int = 0
    unchanged: int = 0
    anchored: int = 0
    awaiting_review: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    records: list[tuple[int, str]] = field(default_factory=list)   # (line, record id)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self, translate: Callable[..., str] | None = None, *,
                include_records: bool = False) -> dict[str, Any]:
        errors = []
        for err in self.errors:
            item: dict[str, Any] = {"line": err.line, "reason": err.key.rpartition(".")[2],
                                    "detail": err.detail}
            if translate is not None:
                item["message"] = translate(err.key, detail=err.detail)
            errors.append(item)
        doc: dict[str, Any] = {"rows": self.rows, "created": self.created,
                               "unchanged": self.unchanged, "anchored": self.anchored,
                               "awaiting_review": self.awaiting_review,
                               "dry_run": self.dry_run, "errors": errors}
        if include_records:
            doc["records"] = [{"line": line, "id": rid} for line, rid in self.records]
        return doc


def describe(error: RowError, translate: Callable[..., str]) -> str:
    """The error as one line in the translator's language."""
    return translate("records.import.row_error", line=error.line,
                     reason=translate(error.key, detail=error.detail))


# -- reading the file -----------------------------------------------------------------------

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError("records.import.file.bad_xlsx",
                              reason=type(exc).__name__) from None
    try:
        sheet = book.worksheets[0]
        rows = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
            rows.append((number, [_cell(v) for v in values]))
            if len(rows) > MAX_ROWS + 1:
                raise ImportFileError("records.import.file.too_many_rows", limit=MAX_ROWS)
        return rows
    finally:
        book.close()


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError("records.import.file.not_utf8",
                              line=data[:exc.start].count(b"\n") + 1) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            rows.append((start, record))
            if len(rows) > MAX_ROWS + 1:
                raise ImportFileError("records.import.file.too_many_rows", limit=MAX_ROWS)
    except csv.Error:
        raise ImportFileError("records.import.file.bad_csv", line=reader.line_num) from None
    return rows


def read_table(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header (lower-case column names) and the non-blank data rows with their line
    numbers, from CSV or XLSX (told apart by content). ``ImportFileError`` when the file
    is neither, has no header, or its columns are wrong."""
    rows = _read_xlsx(data) if data[:4] == b"PK\x03\x04" else _read_csv(data)
    header: list[str] | None = None
    body: list[tuple[int, list[str]]] = []
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip().lower() for c in cells]
            while header and not header[-1]:
                header.pop()
            continue
        body.append((line, cells))
    if header is None:
        raise ImportFileError("records.import.file.empty")
    unknown = [name or "(blank)" for name in header if name not in COLUMNS]
    if unknown:
        raise ImportFileError("records.import.file.unknown_columns",
                              columns=", ".join(unknown))
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ImportFileError("records.import.file.duplicate_columns",
                              columns=", ".join(repeated))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ImportFileError("records.import.file.missing_columns",
                              columns=", ".join(missing))
    if len(body) > MAX_ROWS:
        raise ImportFileError("records.import.file.too_many_rows", limit=MAX_ROWS)
    return header, body


# -- one row ----------------------------------------------------------------------------------

@dataclass
class _Row:
    line: int
    school: str
    person: str
    content: dict[str, Any]
    valid_until: dt.datetime | None
    natural_key: str
    row_digest: str
    record_id: str = ""


class _Bad(Exception):
    def __init__(self, key: str, detail: str) -> None:
        super().__init__(key)
        self.key = key
        self.detail = detail


def _date(values: dict[str, str], column: str) -> str | None:
    raw = values.get(column, "")
    if not raw:
        return None
    match = _DATE.match(raw)
    try:
        if match is None:
            raise ValueError
        return dt.date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        raise _Bad("records.import.row.bad_date", column) from None


def _number(values: dict[str, str], column: str, *, integer: bool = False) -> int | float | None:
    raw = values.get(column, "")
    if not raw:
        return None
    try:
        number = float(raw)
    except ValueError:
        raise _Bad("records.import.row.not_a_number", column) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _Bad("records.import.row.not_a_number", column)
    if number.is_integer():
        return int(number)
    if integer:
        raise _Bad("records.import.row.not_a_number", column)
    return number


def natural_key(school: str, person: str, achievement_type: str, achievement_name: str,
                term: str) -> str:
    """Hex SM3 of the row's identity: the same entry imported twice has the same key."""
    return sm3(canonical_json([RECORD_TYPE, school, person, achievement_type,
                               achievement_name, term])).hex()


def parse_row(values: dict[str, str], *, line: int, school: str) -> _Row:
    """One row's archive entry content (``_Bad`` naming the column of a problem)."""
    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            raise _Bad("records.import.row.missing", column)
    person = values["person"]
    if len(person) > 200 or any(c.isspace() for c in person):
        raise _Bad("records.import.row.bad_person", "person")
    if _ID_CARD.match(person) or _MOBILE.match(person):
        # The subject is a directory reference; an ID-card or phone number would be
        # stored and shown in clear.
        raise _Bad("records.import.row.personal_identifier", "person")
    achievement: dict[str, Any] = {"achievementType": values["achievement_type"],
                                   "name": values["achievement_name"],
                                   "criteria": {"narrative": values["criteria"]}}
    credits_available = _number(values, "credits_available")
    if credits_available is not None:
        achievement["creditsAvailable"] = credits_available
    if values.get("field_of_study"):
        achievement["fieldOfStudy"] = values["field_of_study"]
    content: dict[str, Any] = {"achievement": achievement,
                               "awardedDate": _date(values, "awarded_date")}
    if values.get("recipient_name") or values.get("recipient_role"):
        recipient = {"name": values.get("recipient_name", "")}
        if values.get("recipient_role"):
            recipient["role"] = values["recipient_role"]
        content["recipient"] = recipient
    result = {name: values[column] for name, column in
              (("value", "result"), ("resultDescription", "result_description"),
               ("status", "result_status")) if values.get(column)}
    if result:
        content["result"] = [result]
    credits_earned = _number(values, "credits_earned")
    if credits_earned is not None:
        content["creditsEarned"] = credits_earned
    for name, column in (("activityStartDate", "activity_start_date"),
                         ("activityEndDate", "activity_end_date")):
        date = _date(values, column)
        if date is not None:
            content[name] = date
    for name in ("term", "narrative"):
        if values.get(name):
            content[name] = values[name]
    given = [c for c in EVIDENCE_COLUMNS if values.get(c)]
    if given:
        if len(given) != len(EVIDENCE_COLUMNS):
            missing = [c for c in EVIDENCE_COLUMNS if c not in given]
            raise _Bad("records.import.row.missing", missing[0])
        content["evidence"] = [{"name": values["evidence_name"],
                                "sm3": values["evidence_sm3"].lower(),
                                "size": _number(values, "evidence_size", integer=True)}]
    until_date = _date(values, "valid_until")
    valid_until = None
    if until_date is not None:
        # Valid through that day in China Standard Time.
        day = dt.date.fromisoformat(until_date) + dt.timedelta(days=1)
        valid_until = dt.datetime.combine(day, dt.time(), _CHINA).astimezone(dt.UTC)
    key = natural_key(school, person, values["achievement_type"], values["achievement_name"],
                      values.get("term", ""))
    digest = sm3(canonical_json({"content": content, "valid_until": until_date})).hex()
    return _Row(line, school, person, content, valid_until, key, digest)


def _columns_of(errors: Sequence[tuple[str, str]]) -> str:
    columns = dict.fromkeys(_POINTER_COLUMNS.get(pointer, pointer or "/")
                            for pointer, _ in errors)
    return ", ".join(columns) or "-"


# -- the import -------------------------------------------------------------------------------

class ArchiveImport:
    """One import of one file through ``registry``.

    ``school``: the organisation the caller acts for; rows must name it or leave
    ``school`` empty (None: every row names its school — the operator's command line).
    ``reviewer``: the organisation that reviews and approves the entries (then they are
    anchored), or None to leave them submitted for review.
    """

    def __init__(self, registry: RecordRegistry, *, school: str | None = None,
                 actor_ref: str = "records-import", actor_role: str = "school_staff",
                 reviewer: Actor | None = None, workers: int = 1,
                 progress: Progress | None = None, anchor_batch: int | None = None) -> None:
        self.registry = registry
        self.school = school
        self.actor_ref = actor_ref
        self.actor_role = actor_role
        self.reviewer = reviewer
        self.workers = workers
        self.pool: SigningPool | None = None
        self.progress = progress or (lambda done, total: None)
        self.anchor_batch = anchor_batch or IMPORT_ANCHOR_BATCH
        self.errors: list[RowError] = []

    def error(self, line: int, key: str, detail: str) -> None:
        self.errors.append(RowError(line, key, detail))

    def run(self, data: bytes, *, dry_run: bool = False) -> ImportReport:
        """Import ``data`` (CSV or XLSX bytes). ``ImportFileError`` when the file is not
        an import file; bad rows are in the report's ``errors`` (nothing was written).
        With ``workers`` > 1, schema checks and signatures run in that many forked
        processes (fine for a command line; a web worker should keep 1). The cyclic
        garbage collector is paused meanwhile (``bulk.collector_paused``)."""
        with collector_paused():
            # The parsed file lives in _read_and_run's frame only: by the time the
            # collector resumes it is gone, so its first pass does not walk it.
            return self._read_and_run(data, dry_run)

    def _read_and_run(self, data: bytes, dry_run: bool) -> ImportReport:
        header, body = read_table(data)
        rows = self._parse(header, body)
        rows = self._check_schools(rows)
        orgs = {r.school for r in rows} | ({self.reviewer.org} if self.reviewer else set())
        if self.workers <= 1 or len(rows) < 2 * _CHUNK:
            return self._run(body, rows, dry_run)
        with self.registry.signing_pool(orgs, self.workers) as pool:
            self.pool = pool
            try:
                return self._run(body, rows, dry_run)
            finally:
                self.pool = None

    def _run(self, body: list[tuple[int, list[str]]], rows: list[_Row],
             dry_run: bool) -> ImportReport:
        report = ImportReport(rows=len(body), dry_run=dry_run)
        total = 3 * len(body) if self.reviewer else 2 * len(body)
        self.progress(len(body), total)
        new, existing = self._split_existing(rows)
        report.unchanged = len(existing)
        groups: dict[str, list[_Row]] = {}
        for row in new:
            groups.setdefault(row.school, []).append(row)
        if self.errors or dry_run:
            self._check_content(groups)
            report.errors = sorted(self.errors)
            report.created = 0 if self.errors else len(new)
            return report
        now = self.registry.clock()
        # Every group is checked (and its workers started) before anything is anchored.
        streams: list[tuple[list[_Row], Iterator[Record]]] = []
        # Approved versions' envelope texts, encoded by the workers that build them.
        texts: dict[str, str] | None = {} if self.reviewer is not None else None
        for school, members in sorted(groups.items()):
            try:
                streams.append((members, self.registry.build_iter(
                    RECORD_TYPE, [self._item(r) for r in members], actor=self._actor(school),
                    reviewer=self.reviewer, pool=self.pool, ahead=_BUILD_AHEAD,
                    envelopes=texts)))
            except BulkRejected as exc:
                for index, problem in exc.problems:
                    self._refused(members[index].line, problem)
        if self.errors:
            report.errors = sorted(self.errors)
            return report
        built: list[tuple[_Row, Record]] = []
        base = len(body) + len(existing)

        def building() -> Iterator[Record]:
            for members, records in streams:
                for row, record in zip(members, records, strict=True):
                    built.append((row, record))
                    if len(built) % _CHUNK == 0:
                        self.progress(base + len(built), total)
                    yield record
            self.progress(base + len(built), total)

        if self.reviewer is None:
            values = self.registry.store.row_values(list(building()))
        else:
            # Anchored batch by batch while the rest is built, activated, then written
            # once, already active, with the import keys: a failure before the write
            # leaves nothing in the database.
            _active, values = self.registry.anchor_unstored(
                building(), pool=self.pool, envelopes=texts,
                progress=lambda n, _t: self.progress(2 * len(body) + n, total),
                batch=self.anchor_batch)
        self.registry.store.insert_rows(values, now,
                                        lambda session: self._remember(session, built, now))
        report.created = len(built)
        report.records = sorted([(row.line, r.id) for row, r in built]
                                + [(row.line, row.record_id) for row in existing])
        if self.reviewer is None:
            self.progress(total, total)
            report.awaiting_review = len(built)
            return report
        # Rows of earlier imports whose anchoring did not finish then.
        anchored = self.registry.anchor_many(
            self._unanchored(existing), pool=self.pool,
            batch=self.anchor_batch)
        report.anchored = len(built) + len(anchored)
        self.progress(total, total)
        return report

    # -- steps ------------------------------------------------------------------------
    def _parse(self, header: list[str], body: list[tuple[int, list[str]]]) -> list[_Row]:
        rows: list[_Row] = []
        first_line: dict[str, int] = {}
        for line, cells in body:
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                self.error(line, "records.import.row.field_count", str(len(header)))
                continue
            values = {name: cells[i].strip() if i < len(cells) else ""
                      for i, name in enumerate(header)}
            school = values.get("school") or self.school or ""
            if not school:
                self.error(line, "records.import.row.missing", "school")
                continue
            if self.school is not None and school != self.school:
                self.error(line, "records.import.row.foreign_school", "school")
                continue
            try:
                row = parse_row(values, line=line, school=school)
            except _Bad as bad:
                self.error(line, bad.key, bad.detail)
                continue
            key = f"{school}\x00{row.natural_key}"
            if key in first_line:
                self.error(line, "records.import.row.duplicate", str(first_line[key]))
                continue
            first_line[key] = line
            rows.append(row)
        return rows

    def _check_schools(self, rows: list[_Row]) -> list[_Row]:
        allowed: dict[str, str | None] = {}
        for school in sorted({r.school for r in rows}):
            try:
                self.registry.issuers.require(school, issues=RECORD_TYPE)
                allowed[school] = None
            except NotAuthorised:
                allowed[school] = "records.import.row.not_authorised"
            except RecordsError:
                allowed[school] = "records.import.row.unknown_school"
        for row in rows:
            problem = allowed[row.school]
            if problem is not None:
                self.error(row.line, problem, "school")
        return [r for r in rows if allowed[r.school] is None]

    def _split_existing(self, rows: list[_Row]) -> tuple[list[_Row], list[_Row]]:
        """Rows imported before (same key, same values) and new rows; a key imported
        before with other values is an error."""
        known: dict[tuple[str, str], ImportKeyRow] = {}
        with self.registry.store.sessions() as session:
            by_school: dict[str, list[str]] = {}
            for row in rows:
                by_school.setdefault(row.school, []).append(row.natural_key)
            for school, keys in by_school.items():
                for start in range(0, len(keys), _CHUNK):
                    for key_row in session.scalars(select(ImportKeyRow).where(
                            ImportKeyRow.org_code == school,
                            ImportKeyRow.natural_key.in_(keys[start:start + _CHUNK]))):
                        known[(key_row.org_code, key_row.natural_key)] = key_row
        new: list[_Row] = []
        existing: list[_Row] = []
        for row in rows:
            found = known.get((row.school, row.natural_key))
            if found is None:
                row.record_id = str(uuid.uuid4())
                new.append(row)
            elif found.row_digest != row.row_digest:
                self.error(row.line, "records.import.row.changed", found.record_id)
            else:
                row.record_id = found.record_id
                existing.append(row)
        return new, existing

    def _check_content(self, groups: dict[str, list[_Row]]) -> None:
        """Schema problems of rows that parsed, so one report lists every bad row."""
        for school, members in groups.items():
            try:
                problems = self.registry.check_many(
                    RECORD_TYPE, [self._item(r) for r in members], actor=self._actor(school),
                    pool=self.pool)
            except RecordsError:
                continue   # the school itself was refused: reported on each row already
            for index, problem in problems:
                self._refused(members[index].line, problem)

    def _refused(self, line: int, problem: RecordsError) -> None:
        if isinstance(problem, SchemaViolation):
            self.error(line, "records.import.row.invalid", _columns_of(problem.errors))
        elif isinstance(problem, NotAuthorised):
            self.error(line, "records.import.row.not_authorised", "school")
        else:
            self.error(line, "records.import.row.invalid", "-")

    def _actor(self, school: str) -> Actor:
        return Actor(self.actor_ref, self.actor_role, school)

    def _item(self, row: _Row) -> NewRecord:
        return NewRecord(row.content, Subject(SubjectKind.PERSON, row.person, row.school),
                         valid_until=row.valid_until, record_id=row.record_id)

    def _remember(self, session: Session, built: list[tuple[_Row, Record]],
                  now: dt.datetime) -> None:
        connection = session.connection()
        for start in range(0, len(built), _CHUNK):
            connection.execute(insert(ImportKeyRow), [
                {"org_code": row.school, "natural_key": row.natural_key,
                 "record_id": record.id, "row_digest": row.row_digest, "created_at": now}
                for row, record in built[start:start + _CHUNK]])

    def _unanchored(self, existing: list[_Row]) -> list[str]:
        """Records of earlier imports of these rows still waiting for their anchor."""
        ids = [r.record_id for r in existing]
        waiting: list[str] = []
        with self.registry.store.sessions() as session:
            for start in range(0, len(ids), _CHUNK):
                waiting.extend(session.scalars(select(RecordRow.record_id).where(
                    RecordRow.record_id.in_(ids[start:start + _CHUNK]),
                    RecordRow.state == State.APPROVED.value)))
        return waiting


def import_archive_entries(registry: RecordRegistry, data: bytes, *,
                           school: str | None = None, reviewer: Actor | None = None,
                           actor_ref: str = "records-import", dry_run: bool = False,
                           workers: int = 1,
                           progress: Progress | None = None) -> ImportReport:
    """Import a CSV or XLSX file of archive entries (see ``ArchiveImport``)."""
    return ArchiveImport(registry, school=school, reviewer=reviewer, actor_ref=actor_ref,
                         workers=workers, progress=progress).run(data, dry_run=dry_run)
