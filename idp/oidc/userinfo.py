"""The UserInfo endpoint's core (OIDC Core 5.3): a Bearer access token (RFC 6750) in,
the claims its scope allows out, plus those the grant's ``claims`` request asked for in
its ``userinfo`` member (``idp.oidc.claims_parameter``), with ``sub`` the same pairwise
value as in the ID token. A token whose RFC 8707 audience does not include the issuer
is not accepted here.
Errors follow RFC 6750 3.1: ``invalid_token`` (401) and ``insufficient_scope`` (403)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749.util import scope_to_list

from idp.oauth2.clients import RegisteredClient
from idp.oauth2.tokens import TokenService
from idp.oidc.claims_parameter import ClaimsRequest, released_claims

ClaimsOf = Callable[[str, list[str]], dict[str, Any] | None]
SubjectOf = Callable[[RegisteredClient, str], str]
FindClient = Callable[[str], RegisteredClient | None]


class BearerError(Exception):
    """A refused protected-resource request (RFC 6750 3.1)."""

    def __init__(self, error: str, description: str, status: int) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def www_authenticate(self) -> str:
        return f'Bearer error="{self.error}", error_description="{self.description}"'


class UserInfo:
    def __init__(self, tokens: TokenService, find_client: FindClient,
                 subject_of: SubjectOf, claims_of: ClaimsOf) -> None:
        self._tokens = tokens
        self._find_client = find_client
        self._subject_of = subject_of
        self._claims_of = claims_of

    def claims(self, access_token: str | None) -> dict[str, Any]:
        if not access_token:
            raise BearerError("invalid_token", "An access token is required.", 401)
        found = self._tokens.active_access_token(access_token)
        if found is None:
            raise BearerError("invalid_token",
                              "The access token is invalid, expired or revoked.", 401)
        record, _claims = found
        scopes = scope_to_list(record.row.scope) or []
        if "openid" not in scopes or record.row.person_id is None:
            raise BearerError("insufficient_scope", "The token lacks the openid scope.", 403)
        client = self._find_client(record.row.client_id)
        if client is None:
            raise BearerError("invalid_token", "The token's client or person is gone.", 401)
        requested = ClaimsRequest.from_stored(record.row.claims).names("userinfo")
        person_claims = released_claims(self._claims_of, record.row.person_id, scopes,
                                        requested, client.scopes)
        if person_claims is None:
            raise BearerError("invalid_token", "The token's client or person is gone.", 401)
        return {**person_claims, "sub": self._subject_of(client, record.row.person_id)}
