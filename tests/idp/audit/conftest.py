"""One platform per test module for the audit tests (initialising one costs seconds);
each test starts from an empty audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from edutrust.platform import Platform, initialise
from edutrust.settings import Settings
from idp.audit.chain import GENESIS
from idp.audit.models import HEAD_ID, AuditCheckpoint, AuditEntry, AuditHead
from tests.conftest import REDIS_URL, scratch_database


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Settings]]:
    tmp = tmp_path_factory.mktemp("audit")
    with scratch_database(tmp) as url:
        yield from _shared(tmp, url)


def _shared(tmp: Path, url: str) -> Iterator[tuple[Platform, Settings]]:
    settings = Settings(home=tmp / "home", database_url=url, redis_url=REDIS_URL,
                        issuer="http://127.0.0.1:8000", master_key_b64=None, lang="en",
                        log_level="INFO")
    platform = initialise(settings, lambda key, **values: None)
    try:
        yield platform, settings
    finally:
        platform.engine.dispose()


@pytest.fixture
def platform(shared: tuple[Platform, Settings]) -> Platform:
    plat = shared[0]
    with plat.sessions.begin() as session:
        session.execute(delete(AuditEntry))
        session.execute(delete(AuditCheckpoint))
        session.execute(delete(AuditHead))
        session.add(AuditHead(id=HEAD_ID, seq=0, hash=GENESIS.hex(), checkpoint_seq=0,
                              checkpoint_at=None))
    return plat


@pytest.fixture
def settings(shared: tuple[Platform, Settings]) -> Settings:
    return shared[1]
