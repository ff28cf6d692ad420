"""Where ceremony challenges wait: Redis when configured (the short-lived store every
worker shares), else the database. The in-process short-lived store would not do: with
several gunicorn workers the options request and the answer of one ceremony may reach
different workers. Both offer ``put`` and an atomic ``take``, so a challenge works once."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from idp.shortlived import InProcessStore, ShortLivedStore
from idp.webauthn.models import CeremonyState


class ChallengeStore(Protocol):
    def put(self, key: str, value: str, ttl_seconds: int) -> None: ...

    def take(self, key: str) -> str | None: ...


class DatabaseChallenges:
    """``put``/``take`` on the ``webauthn_ceremonies`` table: ``take`` is one
    ``DELETE ... RETURNING``, atomic on SQLite and PostgreSQL."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def put(self, key: str, value: str, ttl_seconds: int) -> None:
        if not isinstance(ttl_seconds, int) or ttl_seconds < 1:
            raise ValueError("ttl_seconds must be a positive whole number of seconds")
        now = dt.datetime.now(dt.UTC)
        with self._sessions.begin() as session:
            # Expired entries go as new ones come (the index keeps this cheap).
            session.execute(delete(CeremonyState).where(CeremonyState.expires_at <= now))
            session.execute(delete(CeremonyState).where(CeremonyState.key == key))
            session.add(CeremonyState(key=key, value=value,
                                      expires_at=now + dt.timedelta(seconds=ttl_seconds)))

    def take(self, key: str) -> str | None:
        with self._sessions.begin() as session:
            row = session.execute(delete(CeremonyState).where(CeremonyState.key == key)
                                  .returning(CeremonyState.value,
                                             CeremonyState.expires_at)).first()
        if row is None:
            return None
        expires: dt.datetime = row.expires_at
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=dt.UTC)
        return str(row.value) if expires > dt.datetime.now(dt.UTC) else None


def challenge_store(short_lived: ShortLivedStore, sessions: sessionmaker[Any]) -> ChallengeStore:
    """The shared short-lived store when it is shared (Redis), else the database."""
    if isinstance(short_lived, InProcessStore):
        return DatabaseChallenges(sessions)
    return short_lived
