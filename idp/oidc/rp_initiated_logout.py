"""OpenID Connect RP-Initiated Logout 1.0: checking a logout request (section 2) before
anything is ended or anyone is redirected.

``id_token_hint`` must be an ID token we issued: our signature under the algorithm its
client registered, our issuer, ``typ`` JWT; it may have expired (section 4 asks the OP
not to be picky) but not longer ago than ``ProviderConfig.id_token_hint_max_age``.
``post_logout_redirect_uri`` must be registered, exactly, for the client named by
``client_id`` or by the hint's ``aud``. Anything else is a ``LogoutRequestError``, which
the web layer shows on its own page (never redirecting to an unverified URI).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crypto.errors import InvalidToken
from crypto.jose import decode_jwt
from idp.oauth2.clients import RegisteredClient
from idp.oauth2.config import ProviderConfig
from idp.oauth2.signing import SigningKeys

FindClient = Callable[[str], RegisteredClient | None]
MAX_PARAM_LENGTH = 4096


class LogoutRequestError(Exception):
    """A logout request we refuse; ``description`` is for the error page."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.error = "invalid_request"
        self.description = description


@dataclass(frozen=True)
class LogoutRequest:
    """A checked logout request."""

    client: RegisteredClient | None
    post_logout_redirect_uri: str | None
    state: str | None
    ui_locales: str | None
    # Verified claims of the id_token_hint, when one was sent.
    hint: Mapping[str, Any] | None


def _unverified_audience(token: str) -> str | None:
    """The ``aud`` of a JWT before verification: only to know which client's key
    algorithm to verify it with."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    aud = claims.get("aud") if isinstance(claims, dict) else None
    if isinstance(aud, list) and len(aud) == 1:
        aud = aud[0]
    return aud if isinstance(aud, str) else None


class EndSessionRequests:
    """Checks logout requests against the registered clients and our signing keys."""

    def __init__(self, config: ProviderConfig, signing: SigningKeys,
                 find_client: FindClient) -> None:
        self._config = config
        self._signing = signing
        self._find_client = find_client

    def check(self, params: Mapping[str, str]) -> LogoutRequest:
        if any(len(value) > MAX_PARAM_LENGTH for value in params.values()):
            raise LogoutRequestError("A parameter is too long.")
        hint_token = params.get("id_token_hint") or None
        client_id = params.get("client_id") or None
        hint_claims: dict[str, Any] | None = None
        if hint_token is not None:
            audience = _unverified_audience(hint_token)
            if audience is None:
                raise LogoutRequestError("'id_token_hint' is not an ID token.")
            if client_id is not None and client_id != audience:
                raise LogoutRequestError("'client_id' does not match the 'id_token_hint'.")
            client_id = audience
        client = self._find_client(client_id) if client_id is not None else None
        if client_id is not None and client is None:
            raise LogoutRequestError("The client is unknown.")
        if hint_token is not None:
            assert client is not None
            try:
                hint_claims = decode_jwt(
                    hint_token, self._signing.jwks(),
                    algorithms=[client.id_token_signed_response_alg],
                    audience=client.client_id, issuer=self._config.issuer,
                    leeway=self._config.id_token_hint_max_age,
                    required=("iss", "sub", "aud", "exp", "iat"), typ="JWT")
            except InvalidToken:
                raise LogoutRequestError("'id_token_hint' is not an ID token we issued.") \
                    from None
        redirect_uri = params.get("post_logout_redirect_uri") or None
        if redirect_uri is not None:
            if client is None:
                raise LogoutRequestError("'post_logout_redirect_uri' needs 'client_id' or "
                                         "'id_token_hint'.")
            # Exact string comparison, as for redirect_uri (RFC 9700 4.1.3).
            if redirect_uri not in client.post_logout_redirect_uris:
                raise LogoutRequestError("'post_logout_redirect_uri' is not registered for "
                                         "this client.")
        return LogoutRequest(client=client, post_logout_redirect_uri=redirect_uri,
                             state=params.get("state") or None,
                             ui_locales=params.get("ui_locales") or None, hint=hint_claims)
