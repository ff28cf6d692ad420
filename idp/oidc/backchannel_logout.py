"""OpenID Connect Back-Channel Logout 1.0: when a login session ends, every client that
received tokens in it and registered a ``backchannel_logout_uri`` is sent a logout token
(section 2.4) by a direct POST (section 2.5).

Deliveries are rows of ``oidc_backchannel_logout_deliveries``. A background thread of the
process that ended the session attempts each at once and retries with growing delays up
to ``ProviderConfig.backchannel_logout_attempts`` times, recording every attempt. Each
attempt first claims its row atomically, so a delivery left behind by a worker that died
is picked up by the next dispatch in any worker without being sent twice at once.
The token is signed afresh for every attempt (new ``jti``, short ``exp``) with the
client's ID-token algorithm. Requests time out, never follow redirects, and ignore proxy
settings from the environment.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from idp.oauth2.clients import RegisteredClient
from idp.oauth2.config import ProviderConfig
from idp.oauth2.models import IssuedToken, utc
from idp.oauth2.signing import SigningKeys
from idp.oidc.models import DELIVERED, FAILED, PENDING, BackchannelLogoutDelivery

log = logging.getLogger("edutrust.idp.logout")

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"  # noqa: S105 (a media type, not a secret)
FindClient = Callable[[str], RegisteredClient | None]
SubjectOf = Callable[[RegisteredClient, str], str]
# How long one attempt holds its claim on a delivery row (covers the request timeout).
_CLAIM = dt.timedelta(seconds=60)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def logout_token_claims(*, issuer: str, client_id: str, subject: str, sid: str,
                        issued_at: dt.datetime, ttl: dt.timedelta) -> dict[str, Any]:
    """The claims of a logout token (section 2.4): never a ``nonce``."""
    return {
        "iss": issuer, "aud": client_id, "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + ttl).timestamp()), "jti": str(uuid.uuid4()),
        "sub": subject, "sid": sid, "events": {LOGOUT_EVENT: {}},
    }


class BackchannelLogout:
    """Queues, sends and records logout tokens."""

    def __init__(self, sessions: sessionmaker[Any], config: ProviderConfig,
                 signing: SigningKeys, find_client: FindClient, subject_of: SubjectOf) -> None:
        self._sessions = sessions
        self._config = config
        self._signing = signing
        self._find_client = find_client
        self._subject_of = subject_of

    # -- queueing ------------------------------------------------------------------------
    def session_ended(self, sid: str, person_id: str, *, background: bool = True) -> list[str]:
        """Queue a delivery for every client that received tokens in session ``sid`` and
        registered a back-channel logout URI; send them (in a thread unless
        ``background`` is false). Returns the delivery ids."""
        with self._sessions() as session:
            client_ids = sorted(set(session.scalars(
                select(IssuedToken.client_id).where(IssuedToken.sid == sid,
                                                    IssuedToken.person_id == person_id))))
        rows = []
        now = _now()
        for client_id in client_ids:
            client = self._find_client(client_id)
            if client is None or not client.backchannel_logout_uri:
                continue
            rows.append(BackchannelLogoutDelivery(
                id=str(uuid.uuid4()), client_id=client_id, sid=sid,
                subject=self._subject_of(client, person_id),
                uri=client.backchannel_logout_uri, status=PENDING, attempts=0,
                next_attempt_at=now, created_at=now))
        if rows:
            with self._sessions.begin() as session:
                session.add_all(rows)
        ids = [row.id for row in rows]
        if background:
            threading.Thread(target=self._deliver_safely, args=(ids,),
                             name="backchannel-logout", daemon=True).start()
        else:
            self.deliver(ids)
        return ids

    # -- sending -------------------------------------------------------------------------
    def _deliver_safely(self, ids: list[str]) -> None:
        try:
            self.deliver(ids)
        except Exception:
            log.exception("back-channel logout delivery failed")

    def deliver(self, ids: list[str]) -> None:
        """Attempt ``ids`` (and any delivery left overdue by another process) until each
        is delivered or out of attempts, sleeping between retries."""
        waiting = set(ids) | set(self._overdue())
        while waiting:
            for delivery_id in sorted(waiting):
                self.attempt(delivery_id)
            with self._sessions() as session:
                rows = list(session.execute(
                    select(BackchannelLogoutDelivery.id,
                           BackchannelLogoutDelivery.next_attempt_at)
                    .where(BackchannelLogoutDelivery.id.in_(list(waiting)),
                           BackchannelLogoutDelivery.status == PENDING)))
            waiting = {row.id for row in rows}
            if not waiting:
                return
            due = min((utc(row.next_attempt_at) or _now()) for row in rows)
            time.sleep(min(max((due - _now()).total_seconds(), 0.05), 600.0))

    def _overdue(self) -> list[str]:
        """Pending deliveries whose attempt is long overdue: their process went away."""
        with self._sessions() as session:
            return list(session.scalars(
                select(BackchannelLogoutDelivery.id)
                .where(BackchannelLogoutDelivery.status == PENDING,
                       BackchannelLogoutDelivery.next_attempt_at <= _now() - _CLAIM)
                .limit(100)))

    def _claim(self, delivery_id: str) -> BackchannelLogoutDelivery | None:
        now = _now()
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(BackchannelLogoutDelivery)
                .where(BackchannelLogoutDelivery.id == delivery_id,
                       BackchannelLogoutDelivery.status == PENDING,
                       BackchannelLogoutDelivery.next_attempt_at <= now)
                .values(next_attempt_at=now + _CLAIM))
            if getattr(claimed, "rowcount", 0) != 1:
                return None
            row = session.get(BackchannelLogoutDelivery, delivery_id)
            if row is not None:
                session.expunge(row)
            return row

    def attempt(self, delivery_id: str) -> bool | None:
        """One POST of a fresh logout token; ``None`` when the delivery is not due (or
        another process holds it), else whether the client accepted it."""
        row = self._claim(delivery_id)
        if row is None:
            return None
        client = self._find_client(row.client_id)
        status: int | None = None
        error: str | None = None
        if client is None:
            error = "client no longer registered"
        elif urlsplit(row.uri).scheme not in ("http", "https"):
            error = "not an http(s) URI"
        else:
            token = self._signing.sign(
                logout_token_claims(issuer=self._config.issuer, client_id=row.client_id,
                                    subject=row.subject, sid=row.sid, issued_at=_now(),
                                    ttl=self._config.logout_token_ttl),
                alg=client.id_token_signed_response_alg, typ=LOGOUT_TOKEN_TYPE)
            status, error = self._post(row.uri, token)
        accepted = status is not None and 200 <= status < 300
        attempts = row.attempts + 1
        now = _now()
        if accepted:
            values: dict[str, Any] = {"status": DELIVERED, "delivered_at": now,
                                      "next_attempt_at": None}
        elif attempts >= self._config.backchannel_logout_attempts or client is None:
            values = {"status": FAILED, "next_attempt_at": None}
        else:
            delay = self._config.backchannel_logout_retry_delay * (4 ** (attempts - 1))
            values = {"next_attempt_at": now + delay}
        values.update(attempts=attempts, last_status=status, last_attempt_at=now,
                      last_error=None if accepted else (error or f"HTTP {status}")[:255])
        with self._sessions.begin() as session:
            session.execute(update(BackchannelLogoutDelivery)
                            .where(BackchannelLogoutDelivery.id == delivery_id)
                            .values(**values))
        log.info("back-channel logout attempt", extra={"fields": {
            "client_id": row.client_id, "delivery_id": delivery_id, "attempt": attempts,
            "status": status, "delivered": accepted}})
        return accepted

    def _post(self, uri: str, token: str) -> tuple[int | None, str | None]:
        with requests.Session() as http:
            http.trust_env = False  # no proxy or netrc from the environment
            try:
                response = http.post(uri, data={"logout_token": token},
                                     timeout=self._config.backchannel_logout_timeout,
                                     allow_redirects=False,
                                     headers={"Cache-Control": "no-store"})
            except requests.RequestException as exc:
                return None, type(exc).__name__
            response.close()
            return response.status_code, None

    def deliveries(self, sid: str) -> list[BackchannelLogoutDelivery]:
        """Every delivery queued for session ``sid`` (for operators and tests)."""
        with self._sessions() as session:
            rows = list(session.scalars(select(BackchannelLogoutDelivery)
                                        .where(BackchannelLogoutDelivery.sid == sid)))
            for row in rows:
                session.expunge(row)
            return rows
