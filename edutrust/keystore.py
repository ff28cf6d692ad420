"""The database-backed store of wrapped platform keys, for the software key provider."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Integer, LargeBinary, String, Text, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from crypto.keys.provider import KeyInfo
from crypto.keys.software import WrappedKey
from edutrust.database import Base


class PlatformKey(Base):
    __tablename__ = "platform_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    public_der: Mapped[bytes | None] = mapped_column(LargeBinary)


class PlatformCertificate(Base):
    """Certificates the platform itself holds, by role name (e.g. ``root-ca``)."""

    __tablename__ = "platform_certificates"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite returns naive datetimes; everything stored here is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


class DatabaseKeyStore:
    """``WrappedKeyStore`` on the ``platform_keys`` table."""

    def __init__(self, sessions: sessionmaker[Any]) -> None:
        self._sessions = sessions

    def load(self, key_id: str) -> list[WrappedKey]:
        with self._sessions() as session:
            rows = session.scalars(select(PlatformKey).where(PlatformKey.key_id == key_id)
                                   .order_by(PlatformKey.version)).all()
            result = []
            for r in rows:
                created = _utc(r.created_at)
                assert created is not None
                info = KeyInfo(r.key_id, r.version, r.algorithm, created, _utc(r.retired_at))
                result.append(WrappedKey(info, r.wrapped, r.public_der))
            return result

    def key_ids(self) -> list[str]:
        with self._sessions() as session:
            return list(session.scalars(select(PlatformKey.key_id).distinct()
                                        .order_by(PlatformKey.key_id)))

    def add(self, key: WrappedKey, retire: KeyInfo | None) -> None:
        info = key.info
        try:
            with self._sessions.begin() as session:
                if retire is not None:
                    session.execute(update(PlatformKey)
                                    .where(PlatformKey.key_id == retire.key_id,
                                           PlatformKey.version == retire.version)
                                    .values(retired_at=retire.retired_at))
                session.add(PlatformKey(key_id=info.key_id, version=info.version,
                                        algorithm=info.algorithm, created_at=info.created_at,
                                        retired_at=None, wrapped=key.wrapped,
                                        public_der=key.public_der))
        except IntegrityError:
            raise ValueError(f"key {info.kid} exists already") from None
