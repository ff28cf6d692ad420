"""OpenID Provider metadata (OIDC Discovery 1.0 section 3), served at
``/.well-known/openid-configuration``: the RFC 8414 document plus what OpenID Connect
adds. Every value is something the provider does today; booleans whose default would
claim a feature we lack (``request_uri_parameter_supported`` defaults to true) are
stated explicitly."""

from __future__ import annotations

from typing import Any

from idp.oauth2.config import ProviderConfig
from idp.oauth2.rfc8414 import EndpointPaths, authorization_server_metadata
from idp.oauth2.signing import SIGNING_ALGS
from idp.oidc.acr import ACR_VALUES_SUPPORTED

CLAIMS_SUPPORTED = (
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
    "name", "preferred_username", "updated_at", "email", "email_verified",
    "phone_number", "phone_number_verified", "org", "roles", "school",
)


def openid_configuration(config: ProviderConfig, paths: EndpointPaths) -> dict[str, Any]:
    document = authorization_server_metadata(config, paths)
    document.update({
        "userinfo_endpoint": config.endpoint(paths.userinfo),
        "subject_types_supported": ["pairwise", "public"],
        # RS256 first: OIDC's default for clients that register no algorithm.
        "id_token_signing_alg_values_supported": sorted(SIGNING_ALGS,
                                                        key=lambda a: a != "RS256"),
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claim_types_supported": ["normal"],
        "display_values_supported": ["page"],
        "prompt_values_supported": ["none", "login", "consent"],
        # OIDC Core 5.5: individual claims for userinfo and id_token (acr with values).
        "claims_parameter_supported": True,
        "acr_values_supported": list(ACR_VALUES_SUPPORTED),
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        # OIDC RP-Initiated Logout 1.0 and Back-Channel Logout 1.0 (not Front-Channel).
        "end_session_endpoint": config.endpoint(paths.end_session),
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    })
    return document
