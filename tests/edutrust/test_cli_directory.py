"""``edutrust directory import`` end to end, in a subprocess: exit codes, the JSON report on
stdout, reasons by line on stderr in the CLI language."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from edutrust.platform import Platform
from edutrust.settings import Settings
from idp.directory.importer import COLUMNS
from tests.conftest import cli_env, run_cli
from tests.idp.directory_fixtures import id_card

SCHOOL = "3133001234"
CHILD_ID = id_card("330106", dt.date(2015, 3, 1), 11)
GOOD = "\n".join([
    ",".join(COLUMNS),
    "330106,西湖区,county,,,,,,,,,,,",
    f"{SCHOOL},西湖区实验小学,school,330106,,,,,,,,,,",
    f"{SCHOOL},,,,wang.xiaoming,王小明,student,,,{CHILD_ID},,,,",
    f"{SCHOOL},,,,wang.da,王大,guardian,,13800138000,,,,wang.xiaoming,Guardian-Pass 1",
]) + "\n"


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_import_reports_json_and_a_second_run_changes_nothing(settings: Settings,
                                                            tmp_path: Path) -> None:
    env = cli_env(settings)
    assert run_cli("init", env=env).returncode == 0
    path = _write(tmp_path, "people.csv", GOOD.encode("utf-8-sig"))

    dry = run_cli("directory", "import", "--dry-run", path, env=env)
    assert dry.returncode == 0, dry.stderr.decode()
    assert json.loads(dry.stdout)["dry_run"] is True

    first = run_cli("directory", "import", path, env=env)
    assert first.returncode == 0, first.stderr.decode()
    report = json.loads(first.stdout)
    assert (report["rows"], report["created"], report["errors"]) == (4, 4, [])
    assert "imported 4 rows: 4 created" in first.stderr.decode()

    second = run_cli("directory", "import", path, env=env)
    assert second.returncode == 0
    assert json.loads(second.stdout)["unchanged"] == 4


def test_bad_rows_exit_1_with_each_line_on_stderr_and_nothing_imported(
        platform: Platform, settings: Settings, tmp_path: Path) -> None:
    bad = GOOD.replace("13800138000", "1380013800").replace(",student,", ",pupil,")
    path = _write(tmp_path, "bad.csv", bad.encode())

    result = run_cli("directory", "import", path, env=cli_env(settings))
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert "line 4: role: unknown role" in stderr
    assert "line 5: phone: not a valid mainland mobile number" in stderr
    assert "1380013800" not in stderr
    report = json.loads(result.stdout)
    assert [(e["line"], e["reason"]) for e in report["errors"]] == [
        (4, "import.row.bad_role"), (5, "code.bad_phone")]
    assert report["errors"][0]["message"] == "role: unknown role"

    chinese = run_cli("directory", "import", path, env=cli_env(settings, EDUTRUST_LANG="zh"))
    assert chinese.returncode == 1
    assert "第 5 行：phone 列：" in chinese.stderr.decode()

    from idp.directory.service import Directory

    assert Directory(platform.sessions, platform.fields).find_organisation(SCHOOL) is None


def test_unreadable_files_exit_2_with_one_line(platform: Platform, settings: Settings,
                                               tmp_path: Path) -> None:
    env = cli_env(settings)
    cases = {
        "missing.csv": (None, "file not found"),
        "gbk.csv": (GOOD.encode("gb18030"), "not UTF-8 (line 2)"),
        "header.csv": (b"username,role\nzhang,student\n", "org_code"),
    }
    for name, (data, expected) in cases.items():
        path = str(tmp_path / name) if data is None else _write(tmp_path, name, data)
        result = run_cli("directory", "import", path, env=env)
        stderr = result.stderr.decode()
        assert result.returncode == 2, (name, stderr)
        assert expected in stderr and len(stderr.strip().splitlines()) == 1, (name, stderr)
        assert result.stdout == b""
