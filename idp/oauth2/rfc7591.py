"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592),
open only to holders of an initial access token.

An operator mints a one-time initial access token (``edutrust clients initial-token``);
a platform presents it as a Bearer token to ``POST /oauth2/register`` with its client
metadata and receives its client id, secret, a registration access token and the URI
where it may read (GET), replace (PUT) or delete (DELETE) its registration. Metadata is
checked by the same rules as the CLI (``ClientRegistry``). Only SM3 digests of both
kinds of token are stored.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, String, update
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from crypto.sm3 import sm3
from idp.db import IdpBase
from idp.oauth2 import ProviderError
from idp.oauth2.clients import AUTH_NONE, ClientRegistration, ClientRegistry, RegisteredClient
from idp.oauth2.config import ADMIN_SCOPES, ProviderConfig
from idp.oauth2.models import OAuthClient

DEFAULT_INITIAL_TOKEN_TTL = 24 * 3600
_REDIRECT_ERRORS = ("clients.bad_redirect_uri", "clients.redirect_required",
                    "clients.redirect_unused")
# Metadata a client may send; anything else is ignored (RFC 7591 2).
_STRING_LISTS = ("redirect_uris", "grant_types", "response_types")


class InitialAccessToken(IdpBase):
    """A one-time token an operator handed out for registering one client."""

    __tablename__ = "oauth_initial_access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RegistrationAccessToken(IdpBase):
    """The token with which a dynamically registered client manages its registration."""

    __tablename__ = "oauth_registration_access_tokens"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RegistrationError(Exception):
    """An RFC 7591 3.2.2 / RFC 6750 error: ``error`` code, description, HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class RegistrationResponse:
    status: int
    body: dict[str, Any] | None


def _digest(token: str) -> str:
    return sm3(token.encode()).hex()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def registration_from_metadata(metadata: Any) -> ClientRegistration:
    """RFC 7591 2 client metadata to a registration; shapes checked here, values by
    ``ClientRegistry`` (the CLI's rules)."""
    if not isinstance(metadata, dict):
        raise RegistrationError("invalid_client_metadata", "The body must be a JSON object.")
    for name in _STRING_LISTS:
        value = metadata.get(name)
        if value is not None and (not isinstance(value, list)
                                  or not all(isinstance(v, str) for v in value)):
            raise RegistrationError("invalid_redirect_uri" if name == "redirect_uris"
                                    else "invalid_client_metadata",
                                    f"{name} must be an array of strings.")
    for name in ("client_name", "token_endpoint_auth_method", "scope",
                 "id_token_signed_response_alg"):
        if metadata.get(name) is not None and not isinstance(metadata[name], str):
            raise RegistrationError("invalid_client_metadata", f"{name} must be a string.")
    jwks = metadata.get("jwks")
    if jwks is not None and not isinstance(jwks, dict):
        raise RegistrationError("invalid_client_metadata", "jwks must be a JWK Set object.")
    if metadata.get("jwks_uri") is not None:
        raise RegistrationError("invalid_client_metadata",
                                "jwks_uri is not supported; send jwks by value.")
    grants = tuple(metadata.get("grant_types") or ["authorization_code"])
    response_types = metadata.get("response_types")
    if response_types is None:
        response_types = ["code"] if "authorization_code" in grants else []
    # RFC 7591 2.1: response_type code goes with the authorization_code grant.
    if sorted(set(response_types)) != (["code"] if "authorization_code" in grants else []):
        raise RegistrationError("invalid_client_metadata",
                                "response_types must be [\"code\"] exactly when "
                                "grant_types include authorization_code.")
    method = metadata.get("token_endpoint_auth_method") or "client_secret_basic"
    scope = metadata.get("scope")
    if scope and set(scope.split()) & set(ADMIN_SCOPES):
        # Operator powers are granted by an operator (admin API, CLI), never self-served.
        raise RegistrationError("invalid_client_metadata",
                                "Operator scopes cannot be registered dynamically.")
    return ClientRegistration(
        name=metadata.get("client_name") or "Dynamically registered client",
        grant_types=grants, redirect_uris=tuple(metadata.get("redirect_uris") or ()),
        public=method == AUTH_NONE, scopes=tuple(scope.split()) if scope else None,
        id_token_alg=metadata.get("id_token_signed_response_alg"),
        token_endpoint_auth_method=method, jwks=jwks)


def _metadata_error(error: ProviderError) -> RegistrationError:
    code = "invalid_redirect_uri" if error.key in _REDIRECT_ERRORS else "invalid_client_metadata"
    detail = ", ".join(f"{k}={v}" for k, v in error.values.items())
    return RegistrationError(code, error.key + (f" ({detail})" if detail else ""))


class DynamicClientRegistration:
    """Initial access tokens, registration, and management of registered clients."""

    def __init__(self, sessions: sessionmaker[Any], config: ProviderConfig,
                 clients: ClientRegistry, register_path: str) -> None:
        self._sessions = sessions
        self._config = config
        self._clients = clients
        self._register_path = register_path

    # -- operator ------------------------------------------------------------------------
    def issue_initial_token(self, ttl_seconds: int = DEFAULT_INITIAL_TOKEN_TTL) -> str:
        """A new one-time initial access token, shown once (only its digest is kept)."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        token = secrets.token_urlsafe(32)
        now = _now()
        with self._sessions.begin() as session:
            session.add(InitialAccessToken(token_hash=_digest(token), created_at=now,
                                           expires_at=now + dt.timedelta(seconds=ttl_seconds),
                                           used_at=None))
        return token

    # -- RFC 7591 ------------------------------------------------------------------------
    def register(self, initial_token: str | None, metadata: Any) -> RegistrationResponse:
        registration = registration_from_metadata(metadata)
        self._refuse_self_granted(registration, held=())
        try:
            self._clients.validate(registration)  # before the one-time token is spent
        except ProviderError as error:
            raise _metadata_error(error) from None
        self._spend_initial_token(initial_token)
        try:
            client, secret = self._clients.register(registration)
        except ProviderError as error:
            raise _metadata_error(error) from None
        token = secrets.token_urlsafe(32)
        with self._sessions.begin() as session:
            session.add(RegistrationAccessToken(client_id=client.client_id,
                                                token_hash=_digest(token), created_at=_now()))
        body = self._document(client)
        body["registration_access_token"] = token
        if secret is not None:
            body["client_secret"] = secret
            body["client_secret_expires_at"] = 0
        return RegistrationResponse(201, body)

    # -- RFC 7592 ------------------------------------------------------------------------
    def read(self, client_id: str, token: str | None) -> RegistrationResponse:
        client = self._authorised(client_id, token)
        return RegistrationResponse(200, self._document(client))

    def replace(self, client_id: str, token: str | None, metadata: Any) -> RegistrationResponse:
        client = self._authorised(client_id, token)
        if isinstance(metadata, dict):
            if metadata.get("client_id") != client_id:
                raise RegistrationError("invalid_request",
                                        "client_id must name this registration.")
            if "client_secret" in metadata:
                raise RegistrationError("invalid_request",
                                        "client_secret may not be changed here.")
        registration = registration_from_metadata(metadata)
        self._refuse_self_granted(registration, held=client.scopes)
        if registration.public != client.is_public:
            raise RegistrationError("invalid_client_metadata",
                                    "A client cannot switch between public and confidential.")
        try:
            reg = self._clients.validate(registration)
        except ProviderError as error:
            raise _metadata_error(error) from None
        assert reg.scopes is not None and reg.token_endpoint_auth_method is not None
        with self._sessions.begin() as session:
            row = session.get(OAuthClient, client_id)
            assert row is not None
            row.name = reg.name
            row.redirect_uris = list(reg.redirect_uris)
            row.grant_types = list(reg.grant_types)
            row.response_types = ["code"] if "authorization_code" in reg.grant_types else []
            row.scopes = list(reg.scopes)
            row.token_endpoint_auth_method = reg.token_endpoint_auth_method
            row.id_token_signed_response_alg = (reg.id_token_alg
                                                or self._config.default_id_token_alg)
            row.jwks = reg.jwks
            row.require_pkce = reg.require_pkce
            # sector_identifier stays: pairwise subjects must not change under a client.
        updated = self._clients.find(client_id)
        assert updated is not None
        return RegistrationResponse(200, self._document(updated))

    def delete(self, client_id: str, token: str | None) -> RegistrationResponse:
        """Remove the client and everything issued to it (codes, tokens, consents)."""
        self._authorised(client_id, token)
        # Through the registry, which removes what was issued to the client but keeps
        # the records of what happened (the hash-chained audit trail names client ids).
        self._clients.remove(client_id)
        return RegistrationResponse(204, None)

    # -- helpers -------------------------------------------------------------------------
    def _refuse_self_granted(self, registration: ClientRegistration,
                             held: Sequence[str]) -> None:
        """Scopes that act for an organisation or an operator (``explicit_scopes``) are
        granted by an operator only: a client may keep those it was given, never add one
        by registering or updating itself."""
        added = set(registration.scopes or ()) - set(held)
        if added & set(self._config.explicit_scopes):
            raise RegistrationError("invalid_client_metadata",
                                    "These scopes are granted by an operator only: "
                                    + " ".join(sorted(added & set(
                                        self._config.explicit_scopes))))

    def _spend_initial_token(self, token: str | None) -> None:
        """Mark the initial access token used, at most once even under concurrency."""
        invalid = RegistrationError("invalid_token", "The initial access token is invalid.",
                                    401)
        if not token:
            raise invalid
        digest = _digest(token)
        with self._sessions.begin() as session:
            row = session.get(InitialAccessToken, digest)
            if row is None or row.used_at is not None or _aware(row.expires_at) <= _now():
                raise invalid
            spent = session.execute(
                update(InitialAccessToken)
                .where(InitialAccessToken.token_hash == digest,
                       InitialAccessToken.used_at.is_(None))
                .values(used_at=_now()))
            if getattr(spent, "rowcount", 0) != 1:
                raise invalid

    def _authorised(self, client_id: str, token: str | None) -> RegisteredClient:
        with self._sessions() as session:
            row = session.get(RegistrationAccessToken, client_id) if client_id else None
            stored = row.token_hash if row is not None else None
        if not token or stored is None or not hmac.compare_digest(stored, _digest(token)):
            raise RegistrationError("invalid_token",
                                    "The registration access token is invalid.", 401)
        client = self._clients.find(client_id)
        if client is None:
            raise RegistrationError("invalid_token",
                                    "The registration access token is invalid.", 401)
        return client

    def _document(self, client: RegisteredClient) -> dict[str, Any]:
        document = client.metadata()
        document["registration_client_uri"] = self._config.endpoint(
            f"{self._register_path}/{client.client_id}")
        return document
