"""Guardian consent for children under 14 (PIPL art. 31): before a third-party platform
receives the personal data of a person under 14, one of their linked guardians must
approve that platform. The directory's birth date decides the age (filled from the
ID-card number when the school registered one); a person whose birth date is unknown is
not treated as a child (docs/directory.md explains the choice). First-party platforms are
exempt: the platform itself is the personal information handler the school entrusted.

A request is kept per (child, client): ``pending`` until a guardian decides, then
``approved`` (covering the scopes asked for) or ``refused``; an approval can be
``withdrawn``, which revokes every token that client holds for the child and forgets the
child's own remembered consent for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import JSON, DateTime, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from idp.consents import revoke_client_access
from idp.db import IdpBase
from idp.directory.models import GuardianLink, Person
from idp.directory.service import Directory, age_on

CONSENT_AGE = 14   # PIPL art. 28/31: personal information of minors under 14 is sensitive
PENDING, APPROVED, REFUSED, WITHDRAWN = "pending", "approved", "refused", "withdrawn"


class GuardianConsent(IdpBase):
    __tablename__ = "guardian_consents"

    minor_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    # Scopes asked for (pending) or approved (approved / withdrawn).
    scopes: Mapped[list[str]] = mapped_column(JSON)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    guardian_id: Mapped[str | None] = mapped_column(String(36))   # who decided last


@dataclass(frozen=True)
class ConsentView:
    """One (child, client) consent as the guardian page shows it."""

    minor_id: str
    minor_name: str
    client_id: str
    status: str
    scopes: list[str]
    requested_at: dt.datetime
    decided_at: dt.datetime | None


class GuardianConsentError(Exception):
    """The guardian may not decide on this request (not linked, nothing to decide)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None \
        else value


class GuardianConsents:
    def __init__(self, sessions: sessionmaker[Session], directory: Directory) -> None:
        self._sessions = sessions
        self._directory = directory

    # -- the child's side ----------------------------------------------------------------
    def needs_guardian(self, person_id: str, day: dt.date | None = None) -> bool:
        """Whether the person is known to be under 14 (on ``day``, today by default)."""
        person = self._directory.person(person_id)
        if person is None:
            return False
        age = age_on(person, day or self._directory.today())
        return age is not None and age < CONSENT_AGE

    def covers(self, minor_id: str, client_id: str, scopes: Iterable[str]) -> bool:
        with self._sessions() as session:
            row = session.get(GuardianConsent, (minor_id, client_id))
            return (row is not None and row.status == APPROVED
                    and set(scopes) <= set(row.scopes))

    def request(self, minor_id: str, client_id: str, scopes: Iterable[str]) -> bool:
        """Ask the guardians; returns ``True`` when this made a new pending request (an
        existing pending one widens to the union of scopes)."""
        wanted = set(scopes)
        with self._sessions.begin() as session:
            row = session.get(GuardianConsent, (minor_id, client_id))
            if row is None:
                session.add(GuardianConsent(minor_id=minor_id, client_id=client_id,
                                            status=PENDING, scopes=sorted(wanted),
                                            requested_at=_now(), decided_at=None,
                                            guardian_id=None))
                return True
            if row.status == PENDING:
                row.scopes = sorted(set(row.scopes) | wanted)
                return False
            # Approved for fewer scopes, refused or withdrawn: ask again.
            keep = set(row.scopes) if row.status == APPROVED else set()
            row.status, row.scopes = PENDING, sorted(keep | wanted)
            row.requested_at = _now()
            return True

    # -- the guardian's side -------------------------------------------------------------
    @staticmethod
    def _linked(session: Session, guardian_id: str, minor_id: str) -> bool:
        return session.get(GuardianLink, (guardian_id, minor_id)) is not None

    def for_guardian(self, guardian_id: str) -> list[ConsentView]:
        """Every request and consent of the guardian's children, pending ones first."""
        with self._sessions() as session:
            rows = session.execute(
                select(GuardianConsent, Person.display_name)
                .join(GuardianLink, GuardianLink.minor_id == GuardianConsent.minor_id)
                .join(Person, Person.id == GuardianConsent.minor_id)
                .where(GuardianLink.guardian_id == guardian_id)
                .order_by(GuardianConsent.requested_at.desc())).all()
        views = [ConsentView(row.minor_id, name, row.client_id, row.status, list(row.scopes),
                             _utc(row.requested_at) or _now(), _utc(row.decided_at))
                 for row, name in rows]
        return sorted(views, key=lambda v: v.status != PENDING)

    def decide(self, guardian_id: str, minor_id: str, client_id: str,
               decision: str, shown: Iterable[str] | None = None) -> str:
        """Apply ``approve``, ``refuse`` or ``withdraw`` for a child linked to
        ``guardian_id``; returns the new status. ``shown``: the scopes the guardian was
        shown; an approval is refused when the request has changed since (a client
        widening it while the page was open must not slip extra scopes in). A
        withdrawal, in the same transaction, revokes every token the client holds for
        the child, voids its unredeemed codes and forgets the child's own remembered
        consent for it."""
        moves: dict[str, tuple[tuple[str, ...], str]] = {
            "approve": ((PENDING,), APPROVED), "refuse": ((PENDING,), REFUSED),
            "withdraw": ((APPROVED, PENDING), WITHDRAWN)}
        if decision not in moves:
            raise GuardianConsentError("unknown decision")
        allowed, target = moves[decision]
        with self._sessions.begin() as session:
            if not self._linked(session, guardian_id, minor_id):
                raise GuardianConsentError("not a guardian of this child")
            row = session.get(GuardianConsent, (minor_id, client_id))
            if row is None or row.status not in allowed:
                raise GuardianConsentError("nothing to decide")
            if (decision == "approve" and shown is not None
                    and set(shown) != set(row.scopes)):
                raise GuardianConsentError("the request changed since it was shown")
            row.status, row.decided_at, row.guardian_id = target, _now(), guardian_id
            if target == WITHDRAWN:
                revoke_client_access(session, minor_id, client_id)
        return target
