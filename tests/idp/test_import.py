"""Bulk CSV import: every bad row reported by line, nothing half-imported, re-import
changes nothing, and a large file goes through in one transaction."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from idp.directory import DirectoryError, ImportFileError
from idp.directory.importer import COLUMNS, ImportReport, describe, import_csv
from idp.directory.models import GuardianLink, Membership, Organisation, Person
from idp.directory.service import Directory
from tests.idp.directory_fixtures import credit_code, id_card, open_directory

HEADER = ",".join(COLUMNS)
SCHOOL = "3133001234"
CHILD_ID = id_card("330106", dt.date(2015, 3, 1), 11)
PARENT_ID = id_card("330106", dt.date(1985, 6, 1), 22)
BUREAU = credit_code("11330106MB0000000")

TREE = [
    "100000,中华人民共和国,national,,,,,,,,,,,",
    "330000,浙江省,province,100000,,,,,,,,,,",
    "330100,杭州市,city,330000,,,,,,,,,,",
    "330106,西湖区,county,330100,,,,,,,,,,",
    f"{SCHOOL},西湖区实验小学,school,330106,,,,,,,,,,",
    f"{BUREAU},西湖区教育局,bureau,330106,,,,,,,,,,",
]
PEOPLE = [
    f"{SCHOOL},,,,wang.xiaoming,王小明,student,,,{CHILD_ID},G{CHILD_ID},,,",
    f"{SCHOOL},,,,wang.da,王大,guardian,WANG@Example.cn,+86 138-0013-8000,{PARENT_ID},,,"
    "wang.xiaoming,Guardian-Pass 1",
    f"{SCHOOL},,,,liu.laoshi,刘老师,teacher,liu@example.cn,13900139000,,,1980-02-02,,",
    f"{SCHOOL},,,,liu.laoshi,,staff,,,,,,,",
    f"{BUREAU},,,,jian.guan,监管员,regulator,,,,,,,",
]


def csv_bytes(*rows: str, bom: bool = False, header: str = HEADER) -> bytes:
    return (("\ufeff" if bom else "") + "\n".join([header, *rows]) + "\n").encode()


@pytest.fixture
def directory(database_url: str) -> Iterator[Directory]:
    directory, engine = open_directory(database_url)
    yield directory
    engine.dispose()


def _counts(directory: Directory) -> dict[str, int]:
    with directory.sessions() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Organisation, Person, Membership, GuardianLink)}


def _snapshot(directory: Directory) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every directory table, sealed values and timestamps included."""
    out = {}
    with directory.sessions() as session:
        for model in (Organisation, Person, Membership, GuardianLink):
            table = model.__tablename__
            rows = session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
            out[table] = sorted(tuple(str(v) for v in row) for row in rows)
    return out


def _errors(report: ImportReport) -> set[tuple[int, str, str]]:
    return {(e.line, e.key, e.detail) for e in report.errors}


# -- a good file -------------------------------------------------------------------------------

def test_valid_file_imports_organisations_people_roles_and_guardians(
        directory: Directory) -> None:
    seen: list[tuple[int, int]] = []
    report = import_csv(directory, csv_bytes(*TREE, *PEOPLE, bom=True),
                        progress=lambda done, total: seen.append((done, total)))
    assert report.errors == []
    assert (report.rows, report.created, report.updated, report.unchanged) == (11, 11, 0, 0)
    assert seen[-1] == (22, 22)
    assert _counts(directory) == {"directory_organisations": 6, "directory_people": 4,
                                  "directory_memberships": 5, "directory_guardian_links": 1}
    school = directory.find_organisation(SCHOOL)
    assert school is not None
    assert [o.code for o in directory.ancestors(school)] == ["330106", "330100", "330000",
                                                             "100000"]
    child = directory.find_by_id_card(CHILD_ID)
    assert child is not None and child.username == "wang.xiaoming"
    assert child.birth_date == dt.date(2015, 3, 1) and child.password_hash is None
    assert child.student_number == f"G{CHILD_ID}"
    parent = directory.find_by_phone("13800138000")[0]
    assert parent.email == "WANG@example.cn"
    assert [p.username for p in directory.guardians_of(child.id)] == ["wang.da"]
    assert directory.authenticate("wang.da", "Guardian-Pass 1") is not None
    teacher = directory.find_by_username("liu.laoshi")
    assert teacher is not None
    assert sorted(r for _, _, r in directory.roles_of(teacher.id)) == ["staff", "teacher"]


def test_reimporting_the_same_file_changes_nothing(directory: Directory) -> None:
    data = csv_bytes(*TREE, *PEOPLE)
    import_csv(directory, data)
    before = _snapshot(directory)
    again = import_csv(directory, data)
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 11, [])
    assert _snapshot(directory) == before


def test_changed_rows_update_and_empty_cells_change_nothing(directory: Directory) -> None:
    import_csv(directory, csv_bytes(*TREE, *PEOPLE))
    changed = [
        f"{SCHOOL},西湖区实验学校,,,,,,,,,,,,",                                # renamed
        f"{SCHOOL},,,,liu.laoshi,刘 老师,teacher,,13700137000,,,,,",         # name, phone
        f"{SCHOOL},,,,wang.da,,guardian,,,,,,wang.xiaoming,Another-Pass 2",  # has a password
        f"{SCHOOL},,,,new.kid,新同学,student,,,,,2016-09-01,,",
    ]
    report = import_csv(directory, csv_bytes(*changed))
    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (1, 2, 1)
    teacher = directory.find_by_username("liu.laoshi")
    assert teacher is not None and teacher.display_name == "刘 老师"
    assert directory.phone_of(teacher) == "13700137000"
    assert teacher.email == "liu@example.cn"   # an empty cell did not clear it
    assert directory.authenticate("wang.da", "Guardian-Pass 1") is not None
    assert directory.find_organisation(SCHOOL).name == "西湖区实验学校"
    again = import_csv(directory, csv_bytes(*changed))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def test_rows_may_come_in_any_order(directory: Directory) -> None:
    report = import_csv(directory, csv_bytes(*reversed(PEOPLE), *reversed(TREE)))
    assert report.errors == [] and report.created == 11


def test_dry_run_counts_but_writes_nothing(directory: Directory) -> None:
    report = import_csv(directory, csv_bytes(*TREE, *PEOPLE), dry_run=True)
    assert (report.created, report.dry_run) == (11, True)
    assert set(_counts(directory).values()) == {0}


def test_quoted_fields_and_crlf_keep_line_numbers_right(directory: Directory) -> None:
    data = (HEADER + "\r\n" + "\r\n".join(TREE[:5]) + "\r\n"
            + f'{SCHOOL},,,,zhang.san,"张三, ""小名""\r\n续",student,,,,,,,\r\n'
            + f"{SCHOOL},,,,li.si,李四,student,,12345,,,,,\r\n").encode()
    report = import_csv(directory, data)
    assert _errors(report) == {(7, "directory.bad_name", "display_name"),
                               (9, "code.bad_phone", "phone")}


# -- bad files: every problem, with its line, and nothing imported ----------------------------

def test_every_bad_row_is_reported_by_line_and_nothing_is_imported(
        directory: Directory) -> None:
    bad_check = CHILD_ID[:17] + ("0" if CHILD_ID[17] != "0" else "1")
    adult_id = id_card("330106", dt.date(1990, 1, 1), 5)
    rows = [
        *TREE,                                                                  # lines 2-7
        "3133009999,某校,castle,330106,,,,,,,,,,",                              # 8 kind
        "91350100M000100Y44,某公司,enterprise,,,,,,,,,,,",                      # 9 check char
        f"{SCHOOL},,,,a.one,甲,pupil,,,,,,,",                                   # 10 role
        f"{SCHOOL},,,,b.two,乙,student,,,{bad_check},,,,",                      # 11 id check
        f"{SCHOOL},,,,c.three,丙,student,,1380013800,,,,,",                     # 12 phone
        f"{SCHOOL},,,,d.four,丁,student,,,,,2015-02-30,,",                      # 13 date
        f"{SCHOOL},,,,e.five,戊,student,,,{CHILD_ID},,2015-03-02,,",            # 14 mismatch
        "3133008888,某校,school,330199,,,,,,,,,,",                              # 15 parent
        "3133007777,,,,f.six,己,student,,,,,,,",                                # 16 unknown org
        f"{SCHOOL},,,,g.seven,庚,teacher,,,,,,e.five,",                         # 17 not guardian
        f"{SCHOOL},,,,h.eight,辛,guardian,,,,,,nobody.here,",                   # 18 no minor
        f"{SCHOOL},,,,i.nine,壬,student,,,,,,,",                                # 19
        f"{SCHOOL},,,,i.nine,壬,student,,,,,,,",                                # 20 duplicate
        f"{SCHOOL},,,,i.nine,癸,teacher,,,,,,,",                                # 21 contradicts
        f"{SCHOOL},,,,j.ten,甲十,student,,,{CHILD_ID},,,,",                     # 22
        f"{SCHOOL},,,,k.eleven,乙十一,student,,,{CHILD_ID},,,,",                # 23 same ID
        f"{SCHOOL},,,,l.twelve,丙十二,student,,,,,,,Short1",                     # 24 password
        "330106,,,,m.thirteen,丁十三,student,,,,,,,",                           # 25 role vs org
        "330106,,,,,,student,,,,,,,",                                           # 26 no username
        f"{SCHOOL},,,,n.fourteen,戊十四,student",                               # 27 fields
        f"{SCHOOL},,,,o.fifteen,,student,,,,,,,",                               # 28 no name
        f"{SCHOOL},,,,p.sixteen,己十六,student,,,{adult_id},,,,",               # 29
        f"{SCHOOL},,,,q.seventeen,庚十七,guardian,,,,,,p.sixteen,",             # 30 adult
        f"{SCHOOL},,,,r.eighteen,辛十八,guardian,,,,,,r.eighteen,",             # 31 self
    ]
    report = import_csv(directory, csv_bytes(*rows))
    assert _errors(report) == {
        (8, "import.row.bad_org_kind", "org_kind"),
        (9, "code.bad_credit_check", "org_code"),
        (10, "import.row.bad_role", "role"),
        (11, "code.bad_id_card_check", "id_card"),
        (12, "code.bad_phone", "phone"),
        (13, "import.row.bad_date", "birth_date"),
        (14, "import.row.birth_date_mismatch", "birth_date"),
        (15, "import.row.unknown_parent", "parent_code"),
        (16, "import.row.unknown_org", "org_code"),
        (17, "import.row.guardian_of_needs_role", "guardian_of"),
        (18, "import.row.unknown_minor", "guardian_of"),
        (20, "import.row.duplicate", "19"),
        (21, "import.row.person_inconsistent", "display_name"),
        (23, "import.row.id_card_repeated", "22"),
        (24, "password.too_short", "password"),
        (25, "directory.role_org_kind", "role"),
        (26, "import.row.needs_username", "role"),
        (27, "import.row.field_count", "14"),
        (28, "import.row.missing", "display_name"),
        (30, "directory.guardian_of_adult", "guardian_of"),
        (31, "import.row.guardian_of_self", "guardian_of"),
    }
    assert [e.line for e in report.errors] == sorted(e.line for e in report.errors)
    assert set(_counts(directory).values()) == {0}
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)


def test_conflicts_with_the_directory_are_reported(directory: Directory) -> None:
    import_csv(directory, csv_bytes(*TREE, *PEOPLE))
    before = _snapshot(directory)
    rows = [
        f"{SCHOOL},,,,someone.new,某人,student,,,{CHILD_ID},,,,",            # 2 ID taken
        f"{SCHOOL},,,,other.new,某甲,student,,,,G{CHILD_ID},,,",             # 3 number taken
        f"{BUREAU},西湖区教育局,enterprise,,,,,,,,,,,",                       # 4 kind differs
        f"{SCHOOL},西湖区实验小学,school,330100,,,,,,,,,,",                   # 5 parent differs
        "330107,某区,county,330100,,,,,,,,,,",                                # 6 fine
    ]
    report = import_csv(directory, csv_bytes(*rows))
    assert _errors(report) == {(2, "import.row.id_card_taken", "id_card"),
                               (3, "import.row.student_number_taken", "student_number"),
                               (4, "import.row.org_kind_conflict", "org_kind"),
                               (5, "import.row.org_parent_conflict", "parent_code")}
    assert _snapshot(directory) == before


def test_organisations_that_would_form_a_cycle_are_refused(directory: Directory) -> None:
    other = credit_code("11330106MB0000001")
    report = import_csv(directory, csv_bytes(
        f"{BUREAU},甲局,bureau,{other},,,,,,,,,,", f"{other},乙局,bureau,{BUREAU},,,,,,,,,,"))
    assert _errors(report) == {(2, "import.row.parent_cycle", "parent_code"),
                               (3, "import.row.parent_cycle", "parent_code")}


def test_a_bad_organisation_row_does_not_cascade_onto_its_people(directory: Directory) -> None:
    report = import_csv(directory, csv_bytes(
        *TREE[:4], "3133001235,坏校验,school,330106,,,,,,,,,,x",
        "3133001235,,,,a.pupil,学生,student,,,,,,,"))
    assert _errors(report) == {(6, "import.row.needs_username", "password")}


def test_errors_name_columns_never_values(directory: Directory) -> None:
    rows = [*TREE, f"{SCHOOL},,,,a.one,甲,student,,13800138000,{CHILD_ID},,,,",
            f"{SCHOOL},,,,b.two,乙,student,,13800138000,{CHILD_ID},,,,"]
    report = import_csv(directory, csv_bytes(*rows))
    assert report.errors
    from edutrust import i18n

    for lang in ("zh", "en"):
        dumped = json.dumps(report.as_json(i18n.translator(lang)), ensure_ascii=False)
        assert CHILD_ID not in dumped and "13800138000" not in dumped


# -- files that cannot be read at all ------------------------------------------------------------

@pytest.mark.parametrize("data, key", [
    (b"", "import.file.empty"),
    (b"\n\n", "import.file.empty"),
    ("org_code,username\n3133001234,张三\n".encode("gbk"), "import.file.not_utf8"),
    (b"username,role\nzhang,student\n", "import.file.missing_columns"),
    (b"org_code,usrname\n1,2\n", "import.file.unknown_columns"),
    (b"org_code,org_code\n1,2\n", "import.file.duplicate_columns"),
    (b'org_code,org_name\n3133001234,"unterminated\n', "import.file.bad_csv"),
])
def test_unreadable_files_are_refused_before_any_row(directory: Directory, data: bytes,
                                                     key: str) -> None:
    with pytest.raises(ImportFileError) as info:
        import_csv(directory, data)
    assert info.value.key == key


def test_non_utf8_file_error_names_the_line() -> None:
    from idp.directory.importer import read_rows

    with pytest.raises(ImportFileError) as info:
        read_rows(b"org_code\n1\n2\n\xff\n")
    assert info.value.values == {"line": 4}


def test_header_only_file_imports_nothing(directory: Directory) -> None:
    report = import_csv(directory, csv_bytes())
    assert (report.rows, report.errors) == (0, [])


# -- the catalog ---------------------------------------------------------------------------------

def test_every_reason_the_importer_gives_has_a_message_naming_its_detail() -> None:
    from edutrust import i18n

    sources = [Path(__file__).parents[2] / "idp" / "directory" / name
               for name in ("importer.py", "service.py", "codes.py", "__init__.py")]
    keys = set()
    for source in sources:
        keys |= set(re.findall(r"\"((?:import|code|directory|password)\.[a-z_.]*[a-z_])\"",
                               source.read_text()))
    assert keys and keys <= set(i18n.CATALOG), keys - set(i18n.CATALOG)
    for key in keys:
        if key.startswith("import.row."):
            assert all("{detail}" in i18n.CATALOG[key][lang] for lang in ("zh", "en")), key
    error = DirectoryError("x")
    assert error.key == "x"


def test_described_errors_read_as_sentences() -> None:
    from edutrust import i18n
    from idp.directory.importer import RowError

    en, zh = i18n.translator("en"), i18n.translator("zh")
    assert describe(RowError(3, "import.row.duplicate", "2"), en) == "line 3: repeats line 2"
    assert describe(RowError(5, "code.bad_phone", "phone"), zh).startswith("第 5 行：phone 列：")


# -- a large file ----------------------------------------------------------------------------------

def _big_file(count: int) -> bytes:
    lines = [*TREE[:4]]
    schools = [f"31330{n:05d}" for n in range(1, 21)]
    lines += [f"{code},第{n}小学,school,330106,,,,,,,,,," for n, code in enumerate(schools, 1)]
    start = dt.date(2010, 1, 1)
    for n in range(count):
        born = start + dt.timedelta(days=n % 3000)
        number = id_card("330106", born, n // 3000 * 2 + 1)
        lines.append(f"{schools[n % 20]},,,,s{n:05d},学生{n},student,s{n}@example.cn,"
                     f"1380{n:07d},{number},XJ{n:08d},,,")
    return csv_bytes(*lines)


@pytest.mark.slow
def test_ten_thousand_rows_import_in_one_go_and_again_without_change(
        directory: Directory) -> None:
    data = _big_file(10_000)
    report = import_csv(directory, data)
    assert report.errors == [] and report.created == 10_024
    counts = _counts(directory)
    assert counts["directory_people"] == 10_000 and counts["directory_memberships"] == 10_000
    found = directory.find_by_phone("13800009999")
    assert [p.username for p in found] == ["s09999"]
    again = import_csv(directory, data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10_024)
