"""A directory on a fresh database (SQLite, or the PostgreSQL schema of the
``database_url`` fixture), with a field cipher over fixed test keys and a fixed "today",
plus ID numbers and codes built with the standards' check-character algorithms."""

from __future__ import annotations

import datetime as dt
import os

from sqlalchemy import Engine

from crypto.fields import FieldCipher
from edutrust.database import make_engine, session_factory
from idp.db import IdpBase
from idp.directory.codes import credit_code_check_character, id_card_check_character
from idp.directory.models import GuardianLink, Membership, Organisation, Person
from idp.directory.service import Directory

TODAY = dt.date(2026, 9, 1)


class FixedKeys:
    """``DataKeySource`` with one random SM4 key per key id (version 1 only)."""

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}

    def unwrap_sm4(self, key_id: str, version: int | None = None) -> tuple[int, bytes]:
        return 1, self._keys.setdefault(key_id, os.urandom(16))


def open_directory(database_url: str) -> tuple[Directory, Engine]:
    engine = make_engine(database_url)
    IdpBase.metadata.create_all(engine, tables=[Organisation.__table__, Person.__table__,
                                                Membership.__table__, GuardianLink.__table__])
    cipher = FieldCipher(FixedKeys(), "pii", "pii-index")
    return Directory(session_factory(engine), cipher, today=lambda: TODAY), engine


def id_card(region: str, born: dt.date, sequence: int) -> str:
    """A well-formed resident ID number (GB 11643) for a made-up person."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_card_check_character(first17)


def credit_code(first17: str) -> str:
    """A unified social credit code with its GB 32100 check character."""
    return first17 + credit_code_check_character(first17)
