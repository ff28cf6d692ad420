"""Imports every module that defines tables, so the metadata the migrations and the
migration-drift test compare against is complete. Add each new models module here."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "edutrust.keystore",
    "ledger.storage.sql",
    "idp.directory.models",
    "idp.oauth2.models",
    "idp.oauth2.rfc9126",
    "idp.oauth2.rfc7591",
    "idp.web.sessions",
    "idp.oidc.models",
    "records.store",
)


def load_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
