"""``edutrust audit verify|export|checkpoint`` through the real console entry point, and
appends from several processes at once."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import update

from edutrust.platform import SIGNING_KEY, Platform
from edutrust.settings import Settings
from idp.audit import AuditLog
from idp.audit.models import AuditEntry
from tests.conftest import ROOT, cli_env, run_cli

PERSON = "01890a5d-ac96-774b-bcce-b302099a8057"

_WRITER = """
import sys
from edutrust.platform import SIGNING_KEY, open_platform
from edutrust.settings import Settings
from idp.audit import AuditLog
platform = open_platform(Settings.from_env())
log = AuditLog(platform.sessions, platform.keys, SIGNING_KEY, checkpoint_every=5)
for i in range(int(sys.argv[1])):
    log.record("login.succeeded", person_id="01890a5d-ac96-774b-bcce-b302099a8057",
               details={"i": i})
"""


def test_verify_export_and_tamper_detection(platform: Platform, settings: Settings) -> None:
    env = cli_env(settings)
    log = AuditLog(platform.sessions, platform.keys, SIGNING_KEY, checkpoint_every=3)
    for i in range(8):
        log.record("login.failed", person_id=PERSON, ip="192.0.2.9", details={"i": i})

    ok = run_cli("audit", "verify", env=env)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["intact"] is True

    exported = run_cli("audit", "export", "--since", "4", env=env)
    assert exported.returncode == 0
    lines = [json.loads(line) for line in exported.stdout.decode().splitlines()]
    assert [line["seq"] for line in lines] == [5, 6, 7, 8]
    assert all(line["ip"] == "192.0.2.0/24" for line in lines)

    signed = run_cli("audit", "checkpoint", env=env)
    assert signed.returncode == 0 and json.loads(signed.stdout)["signed"] is True

    with platform.sessions.begin() as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 5)
                        .values(details='{"i":40}'))
    bad = run_cli("audit", "verify", env=env)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["first_divergent_seq"] == 5
    assert b"5" in bad.stderr

    usage = run_cli("audit", "export", "--since", "-3", env=env)
    assert usage.returncode == 2 and usage.stderr.strip().count(b"\n") == 0


def test_concurrent_processes_extend_one_chain(platform: Platform, settings: Settings) -> None:
    env = cli_env(settings)
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, "25"], env=env, cwd=ROOT,
                                stderr=subprocess.PIPE) for _ in range(3)]
    for writer in writers:
        _out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    report = AuditLog(platform.sessions, platform.keys, SIGNING_KEY).verify()
    assert report.intact and report.entries == 75 and report.head_seq == 75
