"""Alembic environment: runs migrations on the engine handed over by edutrust.database."""

from __future__ import annotations

from alembic import context

from edutrust.database import Base
from edutrust.migrations.models import load_all_models
from idp.db import IdpBase
from ledger.storage.sql import LedgerBase
from records.store import RecordsBase

load_all_models()
config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection,
                      target_metadata=[Base.metadata, LedgerBase.metadata, IdpBase.metadata,
                                       RecordsBase.metadata],
                      render_as_batch=engine.dialect.name == "sqlite")
    context.run_migrations()
