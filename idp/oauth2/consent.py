"""Remembered consent: which scopes a person granted a third-party client. A request
for scopes already granted skips the consent screen; a new scope asks again, and the
grant then covers the union."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import sessionmaker

from idp.oauth2.models import Consent
from idp.oauth2.tokens import now_utc


class ConsentStore:
    def __init__(self, sessions: sessionmaker[Any]) -> None:
        self._sessions = sessions

    def covers(self, person_id: str, client_id: str, scopes: Iterable[str]) -> bool:
        with self._sessions() as session:
            row = session.get(Consent, (person_id, client_id))
            return row is not None and set(scopes) <= set(row.scopes)

    def grant(self, person_id: str, client_id: str, scopes: Iterable[str]) -> None:
        with self._sessions.begin() as session:
            row = session.get(Consent, (person_id, client_id))
            if row is None:
                session.add(Consent(person_id=person_id, client_id=client_id,
                                    scopes=sorted(set(scopes)), granted_at=now_utc()))
            else:
                row.scopes = sorted(set(row.scopes) | set(scopes))
                row.granted_at = now_utc()
