"""Deleting the provider's expired state: authorization codes, tokens, the deny list of
revoked stateless access tokens, pushed authorization requests, initial access tokens
and login sessions.

A row goes once its expiry lies more than ``ProviderConfig.purge_grace`` in the past.
The grace keeps what replay detection needs for a while after expiry (a replayed code
still revokes what it issued; a rotated refresh token lives as long as its family, so
reuse detection is never cut short), and it must stay longer than a login session's
maximum life, since back-channel logout finds a session's clients through its tokens.
A deny-list entry can go once its token has expired (it would no longer verify); it
keeps the same grace, which only costs a day of small rows. Used client-assertion
``jti`` values are not in the database: the replay cache
(``idp.shortlived``, Redis or in-process) expires them on its own.

``purge_expired`` is what ``edutrust idp purge`` runs; ``PurgeSchedule`` lets a server
worker run it opportunistically, at most once per ``purge_interval``, in a background
thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import column, delete, or_, table
from sqlalchemy.orm import sessionmaker

from idp.oauth2.config import ProviderConfig
from idp.oauth2.models import AuthorizationCode, IssuedToken, RevokedAccessToken
from idp.oauth2.rfc7591 import InitialAccessToken
from idp.oauth2.rfc9126 import PushedAuthorizationRequest

log = logging.getLogger("edutrust.idp")

# The login-session table of ``idp.web.sessions``, named here without importing the web
# layer (which imports this package).
_LOGIN_SESSIONS = table("idp_login_sessions", column("expires_at"), column("last_seen_at"))


def purge_expired(sessions: sessionmaker[Any], config: ProviderConfig,
                  now: dt.datetime | None = None) -> dict[str, int]:
    """Delete every row whose expiry is more than ``config.purge_grace`` ago; returns
    how many rows of each kind went."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - config.purge_grace
    statements = {
        "authorization_codes": delete(AuthorizationCode)
        .where(AuthorizationCode.expires_at < cutoff),
        # A token row holds an access token and maybe a refresh token: both must be over.
        "tokens": delete(IssuedToken).where(
            IssuedToken.access_expires_at < cutoff,
            or_(IssuedToken.refresh_expires_at.is_(None),
                IssuedToken.refresh_expires_at < cutoff)),
        "revoked_access_tokens": delete(RevokedAccessToken)
        .where(RevokedAccessToken.expires_at < cutoff),
        "pushed_requests": delete(PushedAuthorizationRequest)
        .where(PushedAuthorizationRequest.expires_at < cutoff),
        "initial_access_tokens": delete(InitialAccessToken)
        .where(InitialAccessToken.expires_at < cutoff),
        "login_sessions": delete(_LOGIN_SESSIONS).where(or_(
            _LOGIN_SESSIONS.c.expires_at < cutoff,
            _LOGIN_SESSIONS.c.last_seen_at < cutoff - config.session_idle_ttl)),
    }
    counts: dict[str, int] = {}
    for name, statement in statements.items():
        # One short transaction per table, so a large purge never holds locks for long.
        with sessions.begin() as session:
            result = session.execute(statement)
            counts[name] = max(int(getattr(result, "rowcount", 0) or 0), 0)
    return counts


class PurgeSchedule:
    """Runs ``purge_expired`` at most once per ``config.purge_interval`` in this process,
    in a daemon thread, whenever ``maybe_run`` is called (by a busy endpoint)."""

    def __init__(self, sessions: sessionmaker[Any], config: ProviderConfig,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions = sessions
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._next_run = clock()  # the first call after start runs a purge
        self._worker: threading.Thread | None = None
        self.last_counts: dict[str, int] | None = None

    def maybe_run(self) -> bool:
        """Start a purge if one is due; ``True`` if this call started one."""
        now = self._clock()
        if now < self._next_run:  # the common, lock-free path
            return False
        with self._lock:
            if now < self._next_run:
                return False
            self._next_run = now + self._config.purge_interval.total_seconds()
        self._worker = threading.Thread(target=self._run, name="idp-purge", daemon=True)
        self._worker.start()
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the purge started last (tests; a server never waits)."""
        if self._worker is not None:
            self._worker.join(timeout)

    def _run(self) -> None:
        try:
            self.last_counts = purge_expired(self._sessions, self._config)
        except Exception:
            log.exception("purge of expired provider state failed")
