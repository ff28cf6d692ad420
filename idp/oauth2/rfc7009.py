"""Token revocation (RFC 7009). The client authenticates as at the token endpoint
(public clients with their client id). Revoking a refresh token ends its whole family;
an access token is revoked alone; a stateless one (a client_credentials JWT, never
stored) goes on the deny list until it expires (``TokenService.revoke``). Tokens of
other clients and unknown tokens get the same empty 200 answer (2.2), so the endpoint
reveals nothing."""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc7009 import RevocationEndpoint

from idp.oauth2.clients import RegisteredClient
from idp.oauth2.tokens import TokenRecord


class TokenRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"]

    def authenticate_token(self, request: Any, client: RegisteredClient) -> TokenRecord | None:
        self.check_params(request, client)
        record = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if record is None or not record.check_client(client):
            return None
        return record

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        record: TokenRecord | None = self.server.tokens.find_revocable(token_string,
                                                                       token_type_hint)
        return record

    def revoke_token(self, token: TokenRecord, request: Any) -> None:
        self.server.tokens.revoke(token)
