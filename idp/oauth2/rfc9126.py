"""Pushed Authorization Requests (RFC 9126).

A client POSTs its authorization request to the PAR endpoint, authenticated as at the
token endpoint; the request is validated as the authorization endpoint would (client,
exact redirect URI, response type, scopes, PKCE S256) and stored under a random
``request_uri`` that lives one minute, works once and only for that client. The
authorization endpoint then takes ``client_id`` + ``request_uri`` and ignores every other
parameter. Pushed requests live in a table, so every worker and host sees them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, update
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from idp.db import IdpBase
from idp.oauth2.tokens import digest, now_utc

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
# RFC 9126 2.2: short, since the request_uri is used by the browser at once.
PUSHED_REQUEST_TTL = dt.timedelta(seconds=60)
# The pushed request may not carry these (2.1: no request_uri; we also take no request
# objects), and client authentication parameters are not part of the stored request.
_NOT_STORED = ("client_secret", "client_assertion", "client_assertion_type")


class PushedAuthorizationRequest(IdpBase):
    """One pushed authorization request, redeemable once before ``expires_at``."""

    __tablename__ = "oauth_pushed_requests"

    # SM3 digest of the random part of the request_uri (the URI is a bearer handle).
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True)
    params: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


def stored_parameters(form: dict[str, str]) -> dict[str, str]:
    """The authorization request part of a PAR body (client credentials removed)."""
    return {key: value for key, value in form.items() if key not in _NOT_STORED}


class PushedRequestStore:
    """Pushed authorization requests in the ``oauth_pushed_requests`` table."""

    def __init__(self, sessions: sessionmaker[Any],
                 ttl: dt.timedelta = PUSHED_REQUEST_TTL) -> None:
        self._sessions = sessions
        self.ttl = ttl

    def push(self, client_id: str, params: dict[str, str]) -> str:
        """Store a validated request; returns its ``request_uri``."""
        handle = secrets.token_urlsafe(32)
        created = now_utc()
        row = PushedAuthorizationRequest(
            id_hash=digest(handle), client_id=client_id, params=dict(params),
            created_at=created, expires_at=created + self.ttl, used_at=None)
        with self._sessions.begin() as session:
            session.add(row)
        return REQUEST_URI_PREFIX + handle

    def take(self, client_id: str, request_uri: str) -> dict[str, str] | None:
        """The stored parameters if ``request_uri`` belongs to ``client_id``, has not
        expired and was never used; claims it atomically, so it works once."""
        if not request_uri.startswith(REQUEST_URI_PREFIX) or len(request_uri) > 200:
            return None
        id_hash = digest(request_uri[len(REQUEST_URI_PREFIX):])
        now = now_utc()
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(PushedAuthorizationRequest)
                .where(PushedAuthorizationRequest.id_hash == id_hash,
                       PushedAuthorizationRequest.client_id == client_id,
                       PushedAuthorizationRequest.used_at.is_(None),
                       PushedAuthorizationRequest.expires_at > now)
                .values(used_at=now))
            if getattr(claimed, "rowcount", 0) != 1:
                return None
            row = session.get(PushedAuthorizationRequest, id_hash)
            return dict(row.params) if row is not None else None
