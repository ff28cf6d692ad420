"""The client credentials grant (RFC 6749 4.4): confidential clients only, no refresh
token, the client itself is the subject (``sub`` = client id in the access token);
``resource`` (RFC 8707) names the API the token is for (its ``aud``).

What the grant checks and issues once the client is authenticated lives in two
functions, ``check_client_credentials_request`` and ``issue_client_credentials_token``,
which Authlib's grant below and the lean token endpoint
(``idp.oauth2.client_credentials_endpoint``) both call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidScopeError, UnauthorizedClientError, grants
from authlib.oauth2.rfc6749.util import scope_to_list

from idp.oauth2.clients import RegisteredClient
from idp.oauth2.rfc8707 import ResourceBoundGrant, ResourceServers, token_resources
from idp.oauth2.tokens import CLIENT_CREDENTIALS, TokenService


def check_client_credentials_request(client: RegisteredClient, scope: str | None,
                                     resources: Sequence[str],
                                     scopes_supported: Sequence[str],
                                     resource_servers: ResourceServers) -> list[str]:
    """The checks after client authentication (RFC 6749 4.4.2, RFC 8707 2): the client
    may use this grant, every requested scope is one the provider knows, every resource
    is a registered resource server. Returns the token's audience (empty: the issuer);
    raises the RFC 6749 / 8707 error otherwise, in the order Authlib's grant did."""
    if not client.check_grant_type(CLIENT_CREDENTIALS):
        raise UnauthorizedClientError(
            f"The client is not authorized to use 'grant_type={CLIENT_CREDENTIALS}'")
    if scope and not set(scopes_supported).issuperset(scope_to_list(scope)):
        raise InvalidScopeError()
    return resource_servers.check(resources)


def issue_client_credentials_token(tokens: TokenService, client: RegisteredClient,
                                   scope: str | None,
                                   audience: Sequence[str]) -> dict[str, Any]:
    """The token response for a request that passed every check: only the requested
    scopes the client is registered for (never more, never an explicit scope it was not
    registered for by name), no refresh token; stored unless stateless
    (``idp.oauth2.tokens``)."""
    granted = client.get_allowed_scope(scope)
    token = tokens.generate(CLIENT_CREDENTIALS, client, None, granted, None,
                            include_refresh_token=False, audience=list(audience))
    tokens.save(token, client, None, resources=audience, audience=audience)
    return token


class ClientCredentialsGrant(ResourceBoundGrant,
                             grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic", "client_secret_post", "private_key_jwt"]

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        self.request.client = client
        audience = check_client_credentials_request(
            client, self.request.payload.scope, token_resources(self.request),
            self.server.scopes_supported, self.server.resources)
        self.request.granted_resources = audience
        self.request.audience = audience

    def create_token_response(self) -> Any:
        token = issue_client_credentials_token(self.server.tokens, self.client,
                                               self.request.payload.scope,
                                               self.request.audience)
        self.request.scope = token["scope"]
        return 200, token, self.TOKEN_RESPONSE_HEADER
