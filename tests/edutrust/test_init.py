"""``edutrust init``: creates everything once, and running it again changes nothing."""

from __future__ import annotations

import base64
import stat

import pytest
from sqlalchemy import select

from crypto import x509
from edutrust.keystore import PlatformKey
from edutrust.platform import (
    PLATFORM_KEYS,
    ROOT_CA,
    PlatformError,
    initialise,
    load_master_key,
    open_platform,
)
from edutrust.settings import Settings
from tests.conftest import cli_env, run_cli


def _snapshot(settings: Settings) -> tuple[object, ...]:
    platform = open_platform(settings)
    with platform.sessions() as session:
        keys = [(k.key_id, k.version, k.wrapped, k.public_der)
                for k in session.scalars(select(PlatformKey).order_by(PlatformKey.key_id))]
    snapshot = (settings.master_key_path.read_bytes(), keys, platform.certificate_pem(ROOT_CA))
    platform.engine.dispose()
    return snapshot


def test_init_creates_home_master_key_keys_and_root_ca(settings: Settings) -> None:
    steps: list[str] = []
    platform = initialise(settings, lambda key, **values: steps.append(key))
    assert stat.S_IMODE(settings.home.stat().st_mode) == 0o700
    assert stat.S_IMODE(settings.master_key_path.stat().st_mode) == 0o600
    assert len(base64.b64decode(settings.master_key_path.read_text())) == 16
    for key_id, algorithm in PLATFORM_KEYS:
        assert [v.algorithm for v in platform.keys.versions(key_id)] == [algorithm]
    pem = platform.certificate_pem(ROOT_CA)
    assert pem is not None
    cert = x509.Certificate.from_pem(pem.encode())
    assert cert.is_ca
    assert cert.public_key() == platform.keys.public_key("platform-ca")
    assert "init.key_created" in steps and "init.ca_created" in steps
    platform.engine.dispose()


def test_running_init_again_changes_nothing(settings: Settings) -> None:
    initialise(settings, lambda key, **values: None).engine.dispose()
    before = _snapshot(settings)
    steps: list[str] = []
    initialise(settings, lambda key, **values: steps.append(key)).engine.dispose()
    assert _snapshot(settings) == before
    assert "init.key_created" not in steps and "init.ca_created" not in steps
    assert "init.master_key" not in steps


def test_master_key_from_environment_is_used_and_validated(settings: Settings) -> None:
    key = base64.b64encode(bytes(range(16))).decode()
    from dataclasses import replace

    with_env = replace(settings, master_key_b64=key)
    assert load_master_key(with_env) == bytes(range(16))
    with pytest.raises(PlatformError) as info:
        load_master_key(replace(settings, master_key_b64="bm90IGEga2V5"))
    assert info.value.key == "init.master_key_bad"


def test_opening_without_a_master_key_says_to_run_init(settings: Settings) -> None:
    with pytest.raises(PlatformError) as info:
        open_platform(settings)
    assert info.value.key == "init.master_key_missing"


def test_init_command_twice_succeeds_and_reports_in_chinese_by_default(
        settings: Settings) -> None:
    env = cli_env(settings, EDUTRUST_LANG="zh")
    first = run_cli("init", env=env)
    assert first.returncode == 0, first.stderr.decode()
    assert "初始化完成" in first.stderr.decode()
    second = run_cli("init", env=env)
    assert second.returncode == 0
    assert "已存在" in second.stderr.decode()


def test_serve_without_init_fails_with_one_clear_line(settings: Settings) -> None:
    result = run_cli("serve", "--port", "1", env=cli_env(settings))
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert lines == ["error: no master key: run edutrust init first, or set "
                     "EDUTRUST_MASTER_KEY"]


def test_keys_rotate_adds_a_version(settings: Settings) -> None:
    env = cli_env(settings)
    assert run_cli("init", env=env).returncode == 0
    result = run_cli("keys", "rotate", env=env)
    assert result.returncode == 0, result.stderr.decode()
    import json

    assert json.loads(result.stdout)["kid"] == "platform-signing.v2"
    unknown = run_cli("keys", "rotate", "nope", env=env)
    assert unknown.returncode == 2 and "no key named nope" in unknown.stderr.decode()


def test_migrations_match_the_models_exactly(settings: Settings) -> None:
    """Every schema change is a migration: after upgrading, autogenerate finds nothing."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from edutrust.database import Base, make_engine, migrate
    from edutrust.migrations.models import load_all_models
    from idp.db import IdpBase
    from ledger.storage.sql import LedgerBase
    from records.store import RecordsBase

    load_all_models()

    engine = make_engine(settings.database_url)
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn),
                                [Base.metadata, LedgerBase.metadata,
                                 IdpBase.metadata, RecordsBase.metadata])
    engine.dispose()
    assert diff == []
