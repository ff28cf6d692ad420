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
    "idp.oauth2.rfc8707",
    "idp.web.sessions",
    "idp.webauthn.models",
    "idp.mfa.models",
    "idp.oidc.models",
    "records.store",
    "records.sharing",
    "records.importer",
    "idp.audit.models",
    "idp.minors",
    "idp.password_reset",
    "admin.models",
)


def load_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
