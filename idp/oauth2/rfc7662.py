"""Token introspection (RFC 7662) for confidential clients.

A client may introspect the tokens issued to it; anything else (another client's token,
an unknown, expired, revoked or forged token, a JWT that fails strict verification)
answers ``{"active": false}`` and nothing more (2.2).
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from idp.oauth2.clients import RegisteredClient
from idp.oauth2.models import utc
from idp.oauth2.rfc8707 import audience_claim
from idp.oauth2.tokens import ACCESS_TOKEN, REFRESH_TOKEN, TokenRecord


class TokenIntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic", "client_secret_post", "private_key_jwt"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        tokens = self.server.tokens
        if token_type_hint != REFRESH_TOKEN:
            found = tokens.active_access_token(token_string, any_audience=True)
            if found is not None:
                record: TokenRecord = found[0]
                return record
        record_or_none: TokenRecord | None = tokens.find(token_string, REFRESH_TOKEN)
        if record_or_none is not None and record_or_none.kind == REFRESH_TOKEN:
            return record_or_none
        return None

    def check_permission(self, token: TokenRecord, client: RegisteredClient,
                         request: Any) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: TokenRecord) -> dict[str, Any]:
        row = token.row
        server = self.server
        client = server.query_client(row.client_id)
        subject = (server.subject_of(client, row.person_id)
                   if client is not None and row.person_id else row.client_id)
        expiry = token.expires_at()
        body: dict[str, Any] = {
            "active": True, "scope": row.scope, "client_id": row.client_id,
            "token_type": "Bearer" if token.kind == ACCESS_TOKEN else REFRESH_TOKEN,
            "sub": subject, "iss": server.config.issuer,
            "aud": audience_claim(row.audience or [], server.config.issuer),
            "iat": int((utc(row.issued_at) or row.issued_at).timestamp()),
            "exp": int(expiry.timestamp()) if expiry else None,
        }
        if token.kind == ACCESS_TOKEN:
            body["jti"] = row.id
        if row.auth_time is not None:
            subject_info = token.subject()
            if subject_info is not None:
                body["auth_time"] = int(subject_info.auth_time.timestamp())
        return body
