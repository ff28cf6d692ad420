"""Password reset through the school administrator (一数一源: the school is the
authoritative source of its people).

An administrator of one of the person's schools issues a one-time link; only the SM3
digest of its random token is stored, it expires (24 hours by default), works once, and
issuing a new link voids the older ones. Setting the new password (policy-checked,
hashed with ``idp.passwords``) happens in the same transaction as spending the link and
revoking every access and refresh token of the person; the web layer then ends all the
person's login sessions.

Who counts as an administrator (docs/directory.md): a person holding the ``staff`` role
in a school where the person to reset holds a ``student``, ``teacher`` or ``guardian``
role; or an ``operator`` (platform operators, any person). Staff cannot reset other
staff, regulators or operators: those accounts go through an operator.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import DateTime, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from crypto.sm3 import sm3
from idp import passwords
from idp.db import IdpBase
from idp.directory import WeakPassword
from idp.directory.models import Membership, Organisation, Person
from idp.oauth2.models import IssuedToken

DEFAULT_TTL = dt.timedelta(hours=24)
MAX_TOKEN = 128
STAFF_MAY_RESET = ("student", "teacher", "guardian")
PRIVILEGED = ("staff", "regulator", "operator")


class ResetError(Exception):
    """A reset was refused; ``key`` names a catalog message."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class ResetLink(IdpBase):
    __tablename__ = "password_reset_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    issued_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class IssuedLink:
    token: str            # goes into the URL only, never stored or logged
    person_id: str
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return sm3(token.encode("utf-8", "surrogatepass")).hex()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def may_reset(session: Session, admin_id: str, person_id: str) -> bool:
    """Whether ``admin_id`` is an administrator of ``person_id`` (see the module doc)."""
    if admin_id == person_id:
        return False
    admin_roles = list(session.execute(
        select(Membership.organisation_id, Membership.role, Organisation.kind)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.person_id == admin_id)))
    if any(role == "operator" for _org, role, _kind in admin_roles):
        return True
    staff_schools = {org for org, role, kind in admin_roles
                     if role == "staff" and kind == "school"}
    if not staff_schools:
        return False
    target_roles = list(session.execute(select(Membership.organisation_id, Membership.role)
                                        .where(Membership.person_id == person_id)))
    if any(role in PRIVILEGED for _org, role in target_roles):
        return False
    return any(org in staff_schools and role in STAFF_MAY_RESET
               for org, role in target_roles)


class PasswordResets:
    def __init__(self, sessions: sessionmaker[Session], ttl: dt.timedelta = DEFAULT_TTL) -> None:
        self._sessions = sessions
        self.ttl = ttl

    def issue(self, admin_id: str, person_id: str) -> IssuedLink:
        """A new one-time link for ``person_id``, issued by administrator ``admin_id``;
        older unused links of the person stop working."""
        now = _now()
        token = secrets.token_urlsafe(32)
        with self._sessions.begin() as session:
            person = session.get(Person, person_id)
            admin = session.get(Person, admin_id)
            if person is None or admin is None or not admin.active:
                raise ResetError("reset.unknown_person")
            if not may_reset(session, admin_id, person_id):
                raise ResetError("reset.not_administrator")
            session.execute(update(ResetLink)
                            .where(ResetLink.person_id == person_id,
                                   ResetLink.used_at.is_(None))
                            .values(used_at=now))
            session.add(ResetLink(token_hash=_digest(token), person_id=person_id,
                                  issued_by=admin_id, created_at=now,
                                  expires_at=now + self.ttl, used_at=None))
        return IssuedLink(token, person_id, now + self.ttl)

    def _usable(self, session: Session, token: str) -> ResetLink | None:
        if not token or len(token) > MAX_TOKEN:
            return None
        row = session.get(ResetLink, _digest(token))
        if row is None or row.used_at is not None or _utc(row.expires_at) <= _now():
            return None
        return row

    def person_for(self, token: str) -> Person | None:
        """The (active) person a usable link is for, else ``None``."""
        with self._sessions() as session:
            row = self._usable(session, token)
            person = session.get(Person, row.person_id) if row is not None else None
            return person if person is not None and person.active else None

    def complete(self, token: str, new_password: str) -> tuple[str, str]:
        """Spend the link and set the password; returns (person id, issuing admin id).
        Raises ``ResetError`` for a link that is unknown, used or expired (one message
        for all three) and ``WeakPassword`` when the policy refuses the password (the
        link then stays usable)."""
        person = self.person_for(token)
        if person is None:
            raise ResetError("reset.link_invalid")
        problems = passwords.check_password_policy(
            new_password, username=person.username, display_name=person.display_name)
        if problems:
            raise WeakPassword(problems)
        # Hash outside the transaction: PBKDF2 must not hold the database's write lock.
        new_hash = passwords.hash_password(new_password)
        now = _now()
        with self._sessions.begin() as session:
            row = self._usable(session, token)
            if row is None or row.person_id != person.id:
                raise ResetError("reset.link_invalid")
            spent = session.execute(update(ResetLink)
                                    .where(ResetLink.token_hash == row.token_hash,
                                           ResetLink.used_at.is_(None))
                                    .values(used_at=now))
            if getattr(spent, "rowcount", 0) != 1:   # spent by a concurrent request
                raise ResetError("reset.link_invalid")
            session.execute(update(Person).where(Person.id == person.id)
                            .values(password_hash=new_hash, updated_at=now))
            session.execute(update(IssuedToken)
                            .where(IssuedToken.person_id == person.id,
                                   IssuedToken.access_revoked_at.is_(None))
                            .values(access_revoked_at=now))
            session.execute(update(IssuedToken)
                            .where(IssuedToken.person_id == person.id,
                                   IssuedToken.refresh_revoked_at.is_(None))
                            .values(refresh_revoked_at=now))
            return person.id, row.issued_by

    def purge_expired(self) -> int:
        with self._sessions.begin() as session:
            result = session.execute(delete(ResetLink).where(ResetLink.expires_at <= _now()))
            return int(getattr(result, "rowcount", 0) or 0)
