"""A person's remembered consents to third-party platforms, as the person manages them:
list them and withdraw one. Withdrawing forgets the consent (the platform must ask
again) and, in the same transaction, revokes every access and refresh token the platform
holds for the person and voids its unredeemed authorization codes, so access ends now
rather than when the tokens expire. Guardian withdrawals (``idp.minors``) use the same
revocation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from idp.oauth2.models import AuthorizationCode, Consent, IssuedToken


@dataclass(frozen=True)
class GrantedConsent:
    client_id: str
    scopes: list[str]
    granted_at: dt.datetime


def revoke_client_access(session: Session, person_id: str, client_id: str) -> None:
    """Inside the caller's transaction: revoke the client's tokens for the person, void
    unredeemed codes and forget the person's consent to the client."""
    when = dt.datetime.now(dt.UTC)
    tokens = (IssuedToken.person_id == person_id, IssuedToken.client_id == client_id)
    session.execute(update(IssuedToken)
                    .where(*tokens, IssuedToken.access_revoked_at.is_(None))
                    .values(access_revoked_at=when))
    session.execute(update(IssuedToken)
                    .where(*tokens, IssuedToken.refresh_revoked_at.is_(None))
                    .values(refresh_revoked_at=when))
    session.execute(update(AuthorizationCode)
                    .where(AuthorizationCode.person_id == person_id,
                           AuthorizationCode.client_id == client_id,
                           AuthorizationCode.used_at.is_(None))
                    .values(used_at=when))
    consent = session.get(Consent, (person_id, client_id))
    if consent is not None:
        session.delete(consent)


class PersonConsents:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def of(self, person_id: str) -> list[GrantedConsent]:
        with self._sessions() as session:
            rows = session.scalars(select(Consent).where(Consent.person_id == person_id)
                                   .order_by(Consent.granted_at.desc()))
            return [GrantedConsent(row.client_id, list(row.scopes),
                                   row.granted_at if row.granted_at.tzinfo else
                                   row.granted_at.replace(tzinfo=dt.UTC)) for row in rows]

    def withdraw(self, person_id: str, client_id: str) -> bool:
        """``False`` when the person had no consent to that client."""
        with self._sessions.begin() as session:
            if session.get(Consent, (person_id, client_id)) is None:
                return False
            revoke_client_access(session, person_id, client_id)
        return True
