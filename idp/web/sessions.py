"""Server-side login sessions of the identity provider.

The browser's cookie holds only a random 256-bit value; the table keeps its SM3 digest
(a stolen database does not yield live cookies) with who logged in, when, how, the
session's CSRF token and the authorization requests waiting for login or consent.
Logging in replaces the session with a fresh one (new cookie value, new CSRF token), so a
value planted before login is worthless afterwards (session fixation).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, DateTime, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from crypto.sm3 import sm3
from idp.db import IdpBase

MAX_PENDING = 8  # authorization requests one browser may have waiting at once
# Called with (sid, person_id) when a logged-in session ends (back-channel logout).
SessionEnded = Callable[[str, str], None]
log = logging.getLogger("edutrust.idp")


class LoginSession(IdpBase):
    __tablename__ = "idp_login_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The session id relying parties see as the ID token's ``sid`` (not the cookie).
    sid: Mapped[str] = mapped_column(String(36), unique=True)
    person_id: Mapped[str | None] = mapped_column(String(36), index=True)
    auth_time: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    amr: Mapped[list[str] | None] = mapped_column(JSON)
    csrf_token: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _digest(cookie_value: str) -> str:
    return sm3(cookie_value.encode("utf-8", "surrogatepass")).hex()


@dataclass
class BrowserSession:
    """A loaded login session. ``cookie_value`` is set only on the request that created
    it (the response must then send the cookie)."""

    id_hash: str
    sid: str
    csrf_token: str
    person_id: str | None
    auth_time: dt.datetime | None
    amr: list[str]
    data: dict[str, Any]
    created_at: dt.datetime
    cookie_value: str | None = field(default=None, repr=False)

    @property
    def logged_in(self) -> bool:
        return self.person_id is not None and self.auth_time is not None

    def pending(self) -> dict[str, Any]:
        waiting: dict[str, Any] = self.data.setdefault("pending", {})
        return waiting

    def add_pending(self, params: dict[str, str], **facts: Any) -> str:
        """Remember an authorization request; returns its interaction id."""
        waiting = self.pending()
        while len(waiting) >= MAX_PENDING:
            oldest = min(waiting, key=lambda k: waiting[k].get("created_at", 0))
            waiting.pop(oldest)
        interaction = secrets.token_urlsafe(16)
        waiting[interaction] = {"params": params, "created_at": _now().timestamp(), **facts}
        return interaction


class SessionStore:
    def __init__(self, sessions: sessionmaker[Any], idle_ttl: dt.timedelta,
                 max_ttl: dt.timedelta) -> None:
        self._sessions = sessions
        self._idle_ttl = idle_ttl
        self._max_ttl = max_ttl
        self._ended: list[SessionEnded] = []

    def on_end(self, listener: SessionEnded) -> None:
        """Call ``listener(sid, person_id)`` whenever a logged-in session ends (logout,
        revocation, or replacement by a new login); expiry is not reported."""
        self._ended.append(listener)

    def _report_end(self, sid: str, person_id: str) -> None:
        for listener in self._ended:
            try:
                listener(sid, person_id)
            except Exception:
                log.exception("session end listener failed")

    def load(self, cookie_value: str | None) -> BrowserSession | None:
        if not cookie_value or len(cookie_value) > 128:
            return None
        now = _now()
        with self._sessions() as session:
            row = session.get(LoginSession, _digest(cookie_value))
            if row is None:
                return None
            expires, last_seen = _utc(row.expires_at), _utc(row.last_seen_at)
            if (expires is None or expires <= now or last_seen is None
                    or last_seen + self._idle_ttl <= now):
                return None
            created = _utc(row.created_at)
            assert created is not None
            return BrowserSession(row.id_hash, row.sid, row.csrf_token, row.person_id,
                                  _utc(row.auth_time), list(row.amr or []), dict(row.data),
                                  created)

    def _insert(self, *, person_id: str | None, auth_time: dt.datetime | None,
                amr: list[str], data: dict[str, Any]) -> BrowserSession:
        cookie_value = secrets.token_urlsafe(32)
        now = _now()
        row = LoginSession(id_hash=_digest(cookie_value), sid=str(uuid.uuid4()),
                           person_id=person_id, auth_time=auth_time, amr=amr,
                           csrf_token=secrets.token_urlsafe(32), data=data, created_at=now,
                           last_seen_at=now, expires_at=now + self._max_ttl)
        with self._sessions.begin() as session:
            session.add(row)
        return BrowserSession(row.id_hash, row.sid, row.csrf_token, person_id, auth_time,
                              amr, data, now, cookie_value)

    def start(self) -> BrowserSession:
        """A new anonymous session (for the CSRF token of the login form)."""
        return self._insert(person_id=None, auth_time=None, amr=[], data={})

    def login(self, previous: BrowserSession | None, person_id: str,
              amr: list[str]) -> BrowserSession:
        """Replace ``previous`` by a fresh logged-in session that keeps its waiting
        authorization requests."""
        data = {"pending": dict(previous.pending())} if previous is not None else {}
        if previous is not None:
            self.end(previous)
        return self._insert(person_id=person_id, auth_time=_now(), amr=amr, data=data)

    def elevate(self, previous: BrowserSession, amr: list[str]) -> BrowserSession:
        """Step-up: the same login (same ``sid``, so relying parties see no logout) with
        stronger ``amr`` and a new ``auth_time``, under a new cookie value and CSRF token
        (a privilege change re-issues the cookie, as a login does)."""
        cookie_value = secrets.token_urlsafe(32)
        now = _now()
        with self._sessions.begin() as session:
            row = session.get(LoginSession, previous.id_hash)
            if row is None or row.person_id != previous.person_id:
                raise LookupError("the session ended")
            fresh = LoginSession(id_hash=_digest(cookie_value), sid=row.sid,
                                 person_id=row.person_id, auth_time=now, amr=amr,
                                 csrf_token=secrets.token_urlsafe(32),
                                 data={"pending": dict(previous.pending())},
                                 created_at=row.created_at, last_seen_at=now,
                                 expires_at=row.expires_at)
            session.delete(row)
            session.flush()
            session.add(fresh)
        created = _utc(fresh.created_at)
        assert created is not None
        return BrowserSession(fresh.id_hash, fresh.sid, fresh.csrf_token, fresh.person_id,
                              now, amr, dict(fresh.data), created, cookie_value)

    def save(self, browser: BrowserSession) -> None:
        """Store changed ``data`` and mark the session as seen now."""
        with self._sessions.begin() as session:
            row = session.get(LoginSession, browser.id_hash)
            if row is not None:
                row.data = dict(browser.data)
                row.last_seen_at = _now()

    def end(self, browser: BrowserSession) -> None:
        with self._sessions.begin() as session:
            ended = session.execute(delete(LoginSession)
                                    .where(LoginSession.id_hash == browser.id_hash))
        if getattr(ended, "rowcount", 0) == 1 and browser.person_id is not None:
            self._report_end(browser.sid, browser.person_id)

    def end_sessions_of(self, person_id: str) -> int:
        """Revoke every login session of a person (e.g. after a password reset or when
        an operator locks the account); returns how many ended."""
        with self._sessions.begin() as session:
            rows = list(session.execute(select(LoginSession.id_hash, LoginSession.sid)
                                        .where(LoginSession.person_id == person_id)))
            if rows:
                session.execute(delete(LoginSession).where(
                    LoginSession.id_hash.in_([row.id_hash for row in rows])))
        for row in rows:
            self._report_end(row.sid, person_id)
        return len(rows)

    def purge_expired(self) -> int:
        """Delete expired sessions; returns how many."""
        with self._sessions.begin() as session:
            ids = list(session.scalars(select(LoginSession.id_hash)
                                       .where(LoginSession.expires_at <= _now())))
            if ids:
                session.execute(delete(LoginSession).where(LoginSession.id_hash.in_(ids)))
            return len(ids)
