"""Composition of the running platform: settings, database, key provider, field cipher.

``open_platform`` is what every entry point (web app, CLI) calls; ``initialise`` is
``edutrust init``: idempotent creation of the data folder, master key, schema, keys and
the platform root CA.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import sessionmaker

from crypto.fields import FieldCipher
from crypto.keys.software import SoftwareKeyProvider
from crypto.sm4 import KEY_SIZE
from edutrust import database
from edutrust.keystore import DatabaseKeyStore, PlatformCertificate
from edutrust.settings import Settings

# Keys every installation has. Their ids are part of the key-ceremony runbook.
SIGNING_KEY = "platform-signing"   # SM2: access tokens, ID tokens of SM2 clients
CA_KEY = "platform-ca"             # SM2: the platform root CA
FIELD_KEY = "pii"                  # SM4: personal identifiers at rest
INDEX_KEY = "pii-index"            # SM4: blind-index HMAC key (never rotated)
PLATFORM_KEYS = ((SIGNING_KEY, "SM2"), (CA_KEY, "SM2"), (FIELD_KEY, "SM4"),
                 (INDEX_KEY, "SM4"))
ROOT_CA = "root-ca"
ROOT_CA_SUBJECT = "/C=CN/O=EduTrust/CN=EduTrust Platform Root CA"


class PlatformError(Exception):
    """A platform cannot be opened or initialised; ``key`` names a catalog message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Any]
    keys: SoftwareKeyProvider
    fields: FieldCipher

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # any failure means "not reachable"
            return False

    def certificate_pem(self, name: str) -> str | None:
        with self.sessions() as session:
            row = session.get(PlatformCertificate, name)
            return row.pem if row else None


def _decode_master_key(raw: str) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise PlatformError("init.master_key_bad") from None
    if len(key) != KEY_SIZE:
        raise PlatformError("init.master_key_bad")
    return key


def load_master_key(settings: Settings) -> bytes:
    if settings.master_key_b64:
        return _decode_master_key(settings.master_key_b64)
    path = settings.master_key_path
    if not path.exists():
        raise PlatformError("init.master_key_missing")
    return _decode_master_key(path.read_text())


def open_platform(settings: Settings, engine: Engine | None = None) -> Platform:
    engine = engine or database.make_engine(settings.database_url)
    sessions = database.session_factory(engine)
    keys = SoftwareKeyProvider(DatabaseKeyStore(sessions), load_master_key(settings))
    return Platform(settings, engine, sessions, keys, FieldCipher(keys, FIELD_KEY, INDEX_KEY))


def initialise(settings: Settings, say: Callable[..., None]) -> Platform:
    """Create whatever is missing; change nothing that exists. ``say(key, **values)``
    reports each step (to stderr, translated, in the CLI)."""
    if not settings.home.exists():
        settings.home.mkdir(parents=True, mode=0o700)
        say("init.created_home", path=settings.home)
    if not settings.master_key_b64 and not settings.master_key_path.exists():
        fd = os.open(settings.master_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(os.urandom(KEY_SIZE)).decode() + "\n")
        say("init.master_key", path=settings.master_key_path)
    engine = database.make_engine(settings.database_url)
    database.migrate(engine)
    say("init.database", revision=database.current_revision(engine))
    platform = open_platform(settings, engine)
    for key_id, algorithm in PLATFORM_KEYS:
        existed = bool(platform.keys.versions(key_id))
        info = platform.keys.ensure(key_id, algorithm)
        say("init.key_exists" if existed else "init.key_created", kid=info.kid,
            algorithm=algorithm)
    _ensure_root_ca(platform, say)
    from edutrust.ledger_setup import initialise_ledger

    initialise_ledger(platform, say)
    from edutrust.records_setup import pin_trust_anchors

    pin_trust_anchors(platform, say)
    return platform


def _ensure_root_ca(platform: Platform, say: Callable[..., None]) -> None:
    from crypto import x509

    with platform.sessions.begin() as session:
        if session.scalar(select(PlatformCertificate.name)
                          .where(PlatformCertificate.name == ROOT_CA)):
            say("init.ca_exists")
            return
        signer = platform.keys.sm2(CA_KEY)
        cert = x509.create_root_ca(signer, x509.parse_name(ROOT_CA_SUBJECT), days=3650)
        session.add(PlatformCertificate(name=ROOT_CA, pem=cert.pem().decode(),
                                        created_at=dt.datetime.now(dt.UTC)))
    say("init.ca_created", subject=ROOT_CA_SUBJECT)
