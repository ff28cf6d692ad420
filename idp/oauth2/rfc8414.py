"""Authorization server metadata (RFC 8414), served at
``/.well-known/oauth-authorization-server``. It names only what is implemented and
working; ``idp.oidc.discovery`` extends it into the OpenID Connect document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.oauth2.config import ProviderConfig


@dataclass(frozen=True)
class EndpointPaths:
    """Where each endpoint is mounted, relative to the issuer."""

    authorization: str = "/oauth2/authorize"
    token: str = "/oauth2/token"  # noqa: S105 (a path, not a secret)
    userinfo: str = "/oauth2/userinfo"
    jwks: str = "/oauth2/jwks"
    introspection: str = "/oauth2/introspect"
    revocation: str = "/oauth2/revoke"


def authorization_server_metadata(config: ProviderConfig,
                                  paths: EndpointPaths) -> dict[str, Any]:
    client_auth = ["client_secret_basic", "client_secret_post", "none"]
    return {
        "issuer": config.issuer,
        "authorization_endpoint": config.endpoint(paths.authorization),
        "token_endpoint": config.endpoint(paths.token),
        "jwks_uri": config.endpoint(paths.jwks),
        "scopes_supported": list(config.scopes_supported),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token",
                                  "client_credentials"],
        "token_endpoint_auth_methods_supported": client_auth,
        "revocation_endpoint": config.endpoint(paths.revocation),
        "revocation_endpoint_auth_methods_supported": client_auth,
        "introspection_endpoint": config.endpoint(paths.introspection),
        "introspection_endpoint_auth_methods_supported": client_auth[:2],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["zh", "en"],
    }
