"""Authorization server metadata (RFC 8414), served at
``/.well-known/oauth-authorization-server``. It names only what is implemented and
working; ``idp.oidc.discovery`` extends it into the OpenID Connect document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.oauth2.config import ProviderConfig
from idp.oauth2.rfc7523 import ASSERTION_ALGS


@dataclass(frozen=True)
class EndpointPaths:
    """Where each endpoint is mounted, relative to the issuer."""

    authorization: str = "/oauth2/authorize"
    token: str = "/oauth2/token"  # noqa: S105 (a path, not a secret)
    userinfo: str = "/oauth2/userinfo"
    jwks: str = "/oauth2/jwks"
    introspection: str = "/oauth2/introspect"
    revocation: str = "/oauth2/revoke"
    end_session: str = "/oauth2/logout"  # OIDC RP-Initiated Logout 1.0
    par: str = "/oauth2/par"
    registration: str = "/oauth2/register"  # RFC 7591, initial access token needed


def authorization_server_metadata(config: ProviderConfig,
                                  paths: EndpointPaths) -> dict[str, Any]:
    client_auth = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    assertion_algs = list(ASSERTION_ALGS)  # private_key_jwt signatures (RFC 7523)
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
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "registration_endpoint": config.endpoint(paths.registration),
        "revocation_endpoint": config.endpoint(paths.revocation),
        "revocation_endpoint_auth_methods_supported": client_auth,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint": config.endpoint(paths.introspection),
        "introspection_endpoint_auth_methods_supported": client_auth[:3],
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "code_challenge_methods_supported": ["S256"],
        # RFC 9126 5: PAR is offered to every client and required of those registered
        # with require_pushed_authorization_requests.
        "pushed_authorization_request_endpoint": config.endpoint(paths.par),
        "require_pushed_authorization_requests": False,
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["zh", "en"],
    }
