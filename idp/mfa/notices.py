"""Security notices: what a person should learn about their own account the next time
they log in (a recovery code was used, a factor was added or removed). Details hold
only what the person may see (a time, a factor's name), never a secret or an address."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from idp.mfa.models import SecurityNotice

KINDS = ("recovery_code_used", "factor_added", "factor_removed",
         "recovery_codes_regenerated", "passkey_cloned")


@dataclass(frozen=True)
class Notice:
    id: str
    kind: str
    details: dict[str, str]
    created_at: dt.datetime


class Notices:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, person_id: str, kind: str, **details: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown notice kind {kind!r}")
        with self._sessions.begin() as session:
            session.add(SecurityNotice(id=str(uuid.uuid4()), person_id=person_id, kind=kind,
                                       details=dict(details),
                                       created_at=dt.datetime.now(dt.UTC), seen_at=None))

    def recent(self, person_id: str, *, unseen_only: bool = False,
               before: dt.datetime | None = None, limit: int = 20) -> list[Notice]:
        """Newest first; ``before`` leaves out what happened during the current login
        (it is news for the *next* one)."""
        query = select(SecurityNotice).where(SecurityNotice.person_id == person_id)
        if unseen_only:
            query = query.where(SecurityNotice.seen_at.is_(None))
        if before is not None:
            query = query.where(SecurityNotice.created_at < before)
        with self._sessions() as session:
            rows = session.scalars(query.order_by(SecurityNotice.created_at.desc())
                                   .limit(limit))
            return [Notice(row.id, row.kind, dict(row.details),
                           row.created_at if row.created_at.tzinfo
                           else row.created_at.replace(tzinfo=dt.UTC)) for row in rows]

    def mark_seen(self, person_id: str, ids: list[str]) -> None:
        if not ids:
            return
        with self._sessions.begin() as session:
            session.execute(update(SecurityNotice)
                            .where(SecurityNotice.person_id == person_id,
                                   SecurityNotice.id.in_(ids),
                                   SecurityNotice.seen_at.is_(None))
                            .values(seen_at=dt.datetime.now(dt.UTC)))
