"""Alembic environment: runs migrations on the engine handed over by edutrust.database."""

from __future__ import annotations

from alembic import context

from edutrust import keystore  # noqa: F401 - registers the platform tables on Base
from edutrust.database import Base
from ledger.storage.sql import LedgerBase

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=[Base.metadata, LedgerBase.metadata],
                      render_as_batch=engine.dialect.name == "sqlite")
    context.run_migrations()
