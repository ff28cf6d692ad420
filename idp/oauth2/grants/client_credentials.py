"""The client credentials grant (RFC 6749 4.4): confidential clients only, no refresh
token, the client itself is the subject (``sub`` = client id in the access token);
``resource`` (RFC 8707) names the API the token is for (its ``aud``)."""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import grants

from idp.oauth2.rfc8707 import ResourceBoundGrant, token_resources


class ClientCredentialsGrant(ResourceBoundGrant,
                             grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic", "client_secret_post", "private_key_jwt"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        resources = self.server.resources.check(token_resources(self.request))
        self.request.granted_resources = resources
        self.request.audience = resources

    def create_token_response(self) -> Any:
        # Grant only scopes the client is registered for (Authlib would echo the request).
        requested = self.request.payload.scope
        self.request.scope = self.client.get_allowed_scope(requested)
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
