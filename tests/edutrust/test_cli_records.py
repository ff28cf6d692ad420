"""``edutrust records import|trust-anchors|verify`` in a subprocess: the JSON on stdout,
reasons by line on stderr, exit codes 0/1/2, and the trust anchors ``edutrust init`` pins
(never those a bundle brings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crypto.sm2 import SM2PrivateKey
from crypto.x509 import create_root_ca, parse_name
from edutrust.records_setup import trust_anchors_path
from records.errors import RecordsError
from tests.conftest import cli_env, run_cli
from tests.records.conftest import (
    REVIEWER,
    SCHOOL,
    Desk,
    archive_content,
    create_and_anchor,
    desk,
    shared_platform,
    student,
)
from tests.records.test_import import as_csv, row

# The records desk (a platform with registered organisations), as in tests/records.
FIXTURES = (shared_platform, desk)


def _env(desk: Desk, **extra: str) -> dict[str, str]:
    return cli_env(desk.platform.settings, **extra)


def _write(path: Path, data: Any) -> str:
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return str(path)


def test_init_pins_the_trust_anchors_that_verify_uses_by_default(
        desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    pinned = trust_anchors_path(desk.platform.settings)
    assert pinned.exists()
    printed = run_cli("records", "trust-anchors", env=_env(desk))
    assert printed.returncode == 0, printed.stderr.decode()
    assert json.loads(printed.stdout) == json.loads(pinned.read_text())
    assert json.loads(printed.stdout)["format"] == "edutrust-trust-anchors/v1"

    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student("person-cli"))
    bundle = _write(tmp_path / "bundle.json", desk.registry.bundle(record.id))
    verified = run_cli("records", "verify", bundle, env=_env(desk))
    assert verified.returncode == 0, verified.stderr.decode()
    assert json.loads(verified.stdout)["overall"] == "valid"

    # Another root pinned: the bundle's own certificates and key hints do not help it.
    other = json.loads(pinned.read_text())
    other["root_certificates"] = [create_root_ca(
        SM2PrivateKey.generate(), parse_name("/C=CN/O=Elsewhere/CN=Other Root"),
        days=30).pem().decode()]
    foreign = _write(tmp_path / "other-anchors.json", other)
    code, out, _ = run_in_process(desk, monkeypatch, capsys, "records", "verify", bundle,
                                  "--trust-anchors", foreign)
    assert code == 1
    assert json.loads(out)["checks"]["issuer_authority"]["outcome"] == "fail"

    monkeypatch.setenv("EDUTRUST_HOME", str(tmp_path / "empty"))
    from edutrust.cli import main

    capsys.readouterr()
    assert main(["records", "verify", bundle]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "no pinned trust anchors" in err


def test_import_prints_one_json_summary_and_a_second_run_changes_nothing(
        desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "entries.csv", as_csv([row("p-cli-1"), row("p-cli-2")]))

    first = run_cli("records", "import", path, "--reviewer", "EDU11", "--workers", "1",
                    env=_env(desk))
    assert first.returncode == 0, first.stderr.decode()
    report = json.loads(first.stdout)
    assert (report["rows"], report["created"], report["anchored"], report["errors"]) == (
        2, 2, 2, [])
    assert "import done: 2 rows, 2 created" in first.stderr.decode()

    code, out, _ = run_in_process(desk, monkeypatch, capsys, "records", "import", path,
                                  "--reviewer", "EDU11")
    assert code == 0
    assert (json.loads(out)["created"], json.loads(out)["unchanged"]) == (0, 2)


def run_in_process(desk: Desk, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str], *args: str,
                   lang: str = "en") -> tuple[int, str, str]:
    """The same entry point without a new interpreter (faster for the error paths)."""
    from edutrust.cli import main

    for name, value in _env(desk, EDUTRUST_LANG=lang).items():
        if name.startswith("EDUTRUST_"):
            monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_exits_1_naming_each_bad_line_and_2_for_an_unreadable_file(
        desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path / "bad.csv", as_csv([
        row("p-cli-bad-1"), row("p-cli-bad-2", awarded_date="someday"),
        row("p-cli-bad-1")]))

    code, out, err = run_in_process(desk, monkeypatch, capsys, "records", "import", bad)
    assert code == 1
    assert [e["line"] for e in json.loads(out)["errors"]] == [3, 4]
    lines = err.splitlines()
    assert "line 3: awarded_date is not a date (YYYY-MM-DD)" in lines
    assert any(line.startswith("line 4: duplicate of line 2") for line in lines)

    _, _, err = run_in_process(desk, monkeypatch, capsys, "records", "import", bad,
                               lang="zh")
    assert "第 3 行：awarded_date 不是日期（YYYY-MM-DD）" in err

    unreadable = _write(tmp_path / "columns.csv", b"school,person,colour\nS001,p,red\n")
    for args in ((unreadable,), (str(tmp_path / "missing.csv"),),
                 (unreadable, "--reviewer", "NOPE")):
        code, out, err = run_in_process(desk, monkeypatch, capsys, "records", "import",
                                        *args)
        assert code == 2, err
        assert out == "" and len(err.strip().splitlines()) == 1


def test_an_operator_registers_records_organisations_and_a_school_can_then_import(
        desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_in_process(desk, monkeypatch, capsys, "records", "org-add", "S900",
                                    "--name", "北京市第九百中学", "--kind", "school",
                                    "--issues", "archive_entry", lang="zh")
    assert code == 0, err
    added = json.loads(out)
    assert added["code"] == "S900" and added["issues"] == ["archive_entry"]
    assert added["kid"] == "records-org-s900.v1" and "已登记存证机构 S900" in err
    assert desk.issuers.require("S900", issues="archive_entry").code == "S900"
    with pytest.raises(RecordsError):   # the rights it was given, and no others
        desk.issuers.require("S900", reviews="archive_entry")
    assert desk.issuers.certificate(added["kid"]).not_after.isoformat() == \
        added["certificate_not_after"]
    # Again with the same rights: nothing changes; with other rights: refused (exit 2).
    again = run_in_process(desk, monkeypatch, capsys, "records", "org-add", "S900",
                           "--name", "北京市第九百中学", "--kind", "school",
                           "--issues", "archive_entry")
    assert again[0] == 0 and json.loads(again[1]) == added
    other = run_in_process(desk, monkeypatch, capsys, "records", "org-add", "S900",
                           "--name", "北京市第九百中学", "--kind", "school",
                           "--reviews", "archive_entry")
    assert other[0] == 2 and "other rights" in other[2]
    for bad in (["--region", "1"], ["--kind", "castle"], ["--issues", "diploma"]):
        args = ["records", "org-add", "S901", "--name", "x", "--kind", "school", *bad]
        assert run_in_process(desk, monkeypatch, capsys, *args)[0] == 2
    assert run_in_process(desk, monkeypatch, capsys, "records", "org-add", "bad code",
                          "--name", "x", "--kind", "school")[0] == 2
    # A name no certificate can carry is refused before anything is written: the same
    # code then registers with a good name, and the list stays readable.
    for name in ("", "x" * 65):
        refused = run_in_process(desk, monkeypatch, capsys, "records", "org-add", "S902",
                                 "--name", name, "--kind", "school")
        assert refused[0] == 2 and "attribute O" in refused[2]
    assert run_in_process(desk, monkeypatch, capsys, "records", "org-add", "S902",
                          "--name", "第九〇二中学", "--kind", "school")[0] == 0
    listed = json.loads(run_in_process(desk, monkeypatch, capsys, "records", "orgs")[1])
    assert added in listed and "S901" not in {o["code"] for o in listed}
    # The school registered from the command line imports and gets reviewed.
    data = _write(tmp_path / "s900.csv", as_csv([row("p-s900-1", school="S900")]))
    imported = run_in_process(desk, monkeypatch, capsys, "records", "import", data,
                              "--reviewer", REVIEWER.org)
    assert imported[0] == 0, imported[2]
    assert json.loads(imported[1])["anchored"] == 1
