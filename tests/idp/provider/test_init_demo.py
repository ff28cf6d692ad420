"""``edutrust init --demo``: the demo school, people and client, credentials printed once."""

from __future__ import annotations

import json

from edutrust.settings import Settings
from tests.conftest import cli_env, run_cli


def test_init_demo_prints_credentials_once_and_is_safe_to_rerun(settings: Settings) -> None:
    env = cli_env(settings)
    first = run_cli("init", "--demo", env=env)
    assert first.returncode == 0, first.stderr.decode()
    document = json.loads(first.stdout)
    assert document["teacher"]["username"] == "demo.teacher"
    assert document["student"]["password"] and document["url"].endswith("/demo/")
    assert document["client"]["redirect_uri"] == "http://127.0.0.1:8000/demo/callback"
    assert document["student"]["password"].encode() in first.stderr  # told how to log in
    stored = (settings.home / "demo-client.json")
    assert stored.stat().st_mode & 0o077 == 0
    again = run_cli("init", "--demo", env=env)
    assert again.returncode == 0 and again.stdout == b""
    assert b"demo data exists" in again.stderr
