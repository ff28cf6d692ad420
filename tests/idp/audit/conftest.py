"""One platform per test module for the audit tests (initialising one costs seconds);
each test starts from an empty audit log."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, delete, text

from edutrust.platform import Platform, initialise
from edutrust.settings import Settings
from idp.audit.chain import GENESIS
from idp.audit.models import HEAD_ID, AuditCheckpoint, AuditEntry, AuditHead
from tests.conftest import PG_URL, REDIS_URL


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Settings]]:
    tmp = tmp_path_factory.mktemp("audit")
    schema = None
    if PG_URL:
        schema = "t_" + uuid.uuid4().hex[:16]
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp / 'edutrust.db'}"
    settings = Settings(home=tmp / "home", database_url=url, redis_url=REDIS_URL,
                        issuer="http://127.0.0.1:8000", master_key_b64=None, lang="en",
                        log_level="INFO")
    platform = initialise(settings, lambda key, **values: None)
    try:
        yield platform, settings
    finally:
        platform.engine.dispose()
        if schema is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


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
