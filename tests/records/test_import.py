"""Bulk import of archive entries from CSV and XLSX: all or nothing, every bad row named
with its line, idempotent re-import, review and anchoring in batches, and a 10,000-row
file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from crypto.sm3 import sm3
from records.importer import COLUMNS, ImportFileError, ImportReport, import_archive_entries
from records.lifecycle import Actor, State
from records.store import RecordRow
from records.verification import Overall
from tests.records.conftest import Desk

REVIEWER = Actor("officer-11", "reviewer", "EDU11")
HEADER = ["school", "person", "recipient_name", "achievement_type", "achievement_name",
          "criteria", "credits_earned", "result", "term", "activity_start_date",
          "activity_end_date", "awarded_date", "evidence_name", "evidence_sm3",
          "evidence_size"]


def row(person: str, course: str = "高中数学（必修一）", *, school: str = "S001",
        **changes: str) -> dict[str, str]:
    values = {"school": school, "person": person, "recipient_name": "张三",
              "achievement_type": "Course", "achievement_name": course,
              "criteria": "完成全部课程并通过期末考试", "credits_earned": "2.5",
              "result": "A", "term": "2025-2026 学年第一学期",
              "activity_start_date": "2025-09-01", "activity_end_date": "2026-01-20",
              "awarded_date": "2026/1/25", "evidence_name": "成绩单.pdf",
              "evidence_sm3": sm3(b"transcript").hex(), "evidence_size": "10"}
    values.update(changes)
    return values


def as_csv(rows: Iterable[dict[str, str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def as_xlsx(rows: Iterable[dict[str, str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for values in rows:
        sheet.append([values.get(c, "") for c in HEADER])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def record_count(desk: Desk) -> int:
    with desk.store.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(RecordRow)) or 0)


def reasons(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(e.line, e.key.rpartition(".")[2], e.detail) for e in report.errors]


def run(desk: Desk, data: bytes, **options: Any) -> ImportReport:
    return import_archive_entries(desk.registry, data, **options)


def test_a_csv_file_is_imported_reviewed_anchored_and_each_entry_verifies(desk: Desk) -> None:
    data = as_csv([row("p-csv-1"), row("p-csv-2"), row("p-csv-3", "高中物理")])

    report = run(desk, data, reviewer=REVIEWER)

    assert report.ok and (report.rows, report.created, report.anchored) == (3, 3, 3)
    assert [line for line, _ in report.records] == [2, 3, 4]
    record = desk.registry.get(report.records[0][1])
    assert record.state is State.ACTIVE and record.issuer.org == "S001"
    assert record.subject.ref == "p-csv-1"
    assert record.content["awardedDate"] == "2026-01-25"
    assert record.content["creditsEarned"] == 2.5
    assert [t.target.value for t in record.lifecycle] == [
        "draft", "submitted", "under_review", "approved", "active"]
    assert desk.registry.verify(record.id).overall is Overall.VALID


def test_importing_the_same_file_again_changes_nothing(desk: Desk) -> None:
    data = as_csv([row("p-again-1"), row("p-again-2")])
    first = run(desk, data, reviewer=REVIEWER)
    before = record_count(desk)

    again = run(desk, data, reviewer=REVIEWER)

    assert again.ok and (again.created, again.unchanged, again.anchored) == (0, 2, 0)
    assert record_count(desk) == before
    assert again.records == first.records


def test_without_a_reviewer_the_entries_await_review(desk: Desk) -> None:
    report = run(desk, as_csv([row("p-await-1")]))

    assert report.ok and report.awaiting_review == 1 and report.anchored == 0
    record = desk.registry.get(report.records[0][1])
    assert record.state is State.SUBMITTED and record.proof("issue") is not None


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_imported(
        desk: Desk) -> None:
    rows = [
        row("p-bad-1"),                                    # line 2: fine
        row("p-bad-2", awarded_date="2026-13-01"),         # 3: no such month
        row("p-bad-3", credits_earned="lots"),             # 4: not a number
        row("110101199003077777"),                          # 5: an ID-card number
        row("p-bad-1"),                                    # 6: duplicate of line 2
        row("p-bad-6", achievement_type="Nonsense"),       # 7: schema
        row("p-bad-7", school="S002"),                     # 8: other school
        row("p-bad-8", criteria=""),                       # 9: required value missing
        row("p-bad-9", school="NOPE"),                     # 10: unknown school
        row("p-bad-10", evidence_sm3=""),                  # 11: evidence incomplete
    ]
    before = record_count(desk)

    report = run(desk, as_csv(rows), school="S001", reviewer=REVIEWER)

    assert reasons(report) == [
        (3, "bad_date", "awarded_date"), (4, "not_a_number", "credits_earned"),
        (5, "personal_identifier", "person"), (6, "duplicate", "2"),
        (7, "invalid", "achievement_type"), (8, "foreign_school", "school"),
        (9, "missing", "criteria"), (10, "foreign_school", "school"),
        (11, "missing", "evidence_sm3")]
    assert report.created == 0 and record_count(desk) == before


def test_rows_of_unregistered_schools_and_phone_numbers_are_refused(desk: Desk) -> None:
    report = run(desk, as_csv([row("p-x-1", school="NOPE"), row("13800138000")]))

    assert reasons(report) == [(2, "unknown_school", "school"),
                               (3, "personal_identifier", "person")]


def test_no_value_of_a_bad_row_appears_in_the_report(desk: Desk) -> None:
    report = run(desk, as_csv([row("p-secret-1", achievement_type="秘密的值"),
                               row("110101199003077777")]))

    text = str(report.as_json(lambda key, **values: f"{key} {values}"))
    assert "秘密的值" not in text and "110101199003077777" not in text
    assert len(report.errors) == 2


def test_a_row_imported_before_with_other_values_is_an_error(desk: Desk) -> None:
    first = run(desk, as_csv([row("p-changed-1")]), reviewer=REVIEWER)
    [(_, record_id)] = first.records

    report = run(desk, as_csv([row("p-changed-1", result="B")]), reviewer=REVIEWER)

    assert reasons(report) == [(2, "changed", record_id)]


def test_an_xlsx_file_is_imported_like_a_csv_file(desk: Desk) -> None:
    report = run(desk, as_xlsx([row("p-xlsx-1"), row("p-xlsx-2", credits_earned="3")]),
                 reviewer=REVIEWER)

    assert report.ok and report.anchored == 2
    second = desk.registry.get(report.records[1][1])
    assert second.content["creditsEarned"] == 3 and second.state is State.ACTIVE


def test_xlsx_errors_name_the_spreadsheet_row(desk: Desk) -> None:
    report = run(desk, as_xlsx([row("p-xlsx-bad-1"), row("p-xlsx-bad-2", awarded_date="x")]))

    assert reasons(report) == [(3, "bad_date", "awarded_date")]


@pytest.mark.parametrize(("data", "key"), [
    (b"", "empty"),
    (b"school,person,colour\n", "unknown_columns"),
    (b"school,person,person\n", "duplicate_columns"),
    (b"school,person\nS001,p\n", "missing_columns"),
    (b"\xff\xfe" + "学校".encode("utf-16-le"), "not_utf8"),
    (b"PK\x03\x04 not really a zip", "bad_xlsx"),
    (b'person,achievement_type,achievement_name,criteria,awarded_date\n"p,x\n', "bad_csv"),
])
def test_a_file_that_is_not_an_import_file_is_refused_whole(desk: Desk, data: bytes,
                                                            key: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        run(desk, data)
    assert caught.value.key == f"records.import.file.{key}"


def test_all_columns_are_documented() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "records.md").read_text(encoding="utf-8")
    assert all(f"`{column}`" in text for column in COLUMNS)


def test_a_dry_run_counts_and_writes_nothing(desk: Desk) -> None:
    before = record_count(desk)
    report = run(desk, as_csv([row("p-dry-1"), row("p-dry-2")]), dry_run=True)

    assert report.ok and report.created == 2 and record_count(desk) == before


@pytest.mark.slow
def test_ten_thousand_rows_import_in_worker_processes_and_once_only(desk: Desk) -> None:
    # (All or nothing is shown on small files above; this one shows the bulk path.)
    rows = [row(f"p-10k-{i:05d}", f"课程 {i % 40}") for i in range(10_000)]
    data = as_csv(rows)
    before = record_count(desk)
    steps: list[int] = []

    report = run(desk, data, workers=2, progress=lambda done, total: steps.append(done))
    assert report.ok and report.created == 10_000 and report.awaiting_review == 10_000
    assert record_count(desk) == before + 10_000
    assert steps == sorted(steps) and steps[-1] == 20_000
    sample = desk.registry.get(report.records[4_321][1])
    assert sample.subject.ref == "p-10k-04321" and sample.state is State.SUBMITTED

    again = run(desk, data)
    assert again.ok and again.created == 0 and again.unchanged == 10_000
    assert record_count(desk) == before + 10_000
