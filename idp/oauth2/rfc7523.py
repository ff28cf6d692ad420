"""``private_key_jwt`` client authentication (RFC 7523 2.2 and 3, OIDC Core 9).

The client signs a short JWT with a key whose public half it registered (``jwks``):
``iss`` = ``sub`` = its client id, ``aud`` this server (its issuer identifier, token
endpoint URL or - RFC 9126 2 - pushed authorization request endpoint URL), ``exp`` at
most five minutes ahead and a ``jti`` never presented before (kept in the replay cache
until the assertion expires). Only SM2, ES256 and RS256 are accepted: never ``none``,
never an HMAC algorithm, whose key would be the public key everybody knows.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
from collections.abc import Callable, Collection
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError

from crypto.errors import CryptoError
from crypto.jose import ALG_ES256, ALG_RS256, ALG_SM2, JWKSet, decode_jwt
from idp.shortlived import ShortLivedStore

PRIVATE_KEY_JWT = "private_key_jwt"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = (ALG_SM2, ALG_ES256, ALG_RS256)
# An assertion is a one-shot credential; a long-lived one would be a password.
MAX_ASSERTION_LIFETIME = 300
CLOCK_SKEW = 30
MAX_JTI_LENGTH = 256


class ClientAssertionAuthentication:
    """Authlib client-authentication method for ``private_key_jwt``; register it with
    ``server.register_client_auth_method(PRIVATE_KEY_JWT, instance)``."""

    def __init__(self, audiences: Collection[str], replay: ShortLivedStore,
                 clock: Callable[[], float] = time.time) -> None:
        self._audiences = list(audiences)
        self._replay = replay
        self._clock = clock

    def __call__(self, query_client: Callable[[str], Any], request: Any) -> Any:
        form = request.form
        assertion = form.get("client_assertion")
        assertion_type = form.get("client_assertion_type")
        if not assertion and not assertion_type:
            return None  # the client uses another method
        if assertion_type != ASSERTION_TYPE or not assertion:
            raise InvalidClientError(description="Unsupported client assertion.")
        if form.get("client_secret"):
            raise InvalidClientError(description="Use one client authentication method.")
        client_id = _unverified_issuer(assertion)
        stated = form.get("client_id")
        if client_id is None or (stated and stated != client_id):
            raise InvalidClientError(description="The client assertion is invalid.")
        client = query_client(client_id)
        if client is None or client.token_endpoint_auth_method != PRIVATE_KEY_JWT:
            raise InvalidClientError(description="The client assertion is invalid.")
        self.verify(assertion, client_id, client.jwks)
        return client

    def verify(self, assertion: str, client_id: str, jwks: dict[str, Any] | None) -> None:
        """Check an assertion of ``client_id`` against its registered keys and consume
        its ``jti``; ``InvalidClientError`` on any failure."""
        invalid = InvalidClientError(description="The client assertion is invalid.")
        if not jwks:
            raise invalid
        try:
            keys = JWKSet.from_dict(jwks)
            claims = decode_jwt(assertion, keys, algorithms=ASSERTION_ALGS,
                                audience=self._audiences, issuer=client_id,
                                subject=client_id, leeway=CLOCK_SKEW,
                                required=("exp", "jti", "iss", "sub", "aud"))
        except (CryptoError, ValueError):
            raise invalid from None
        now = self._clock()
        exp, jti = claims["exp"], claims["jti"]
        if not isinstance(exp, int | float) or exp > now + MAX_ASSERTION_LIFETIME + CLOCK_SKEW:
            raise InvalidClientError(description="The client assertion lives too long.")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise invalid
        ttl = max(1, math.ceil(exp + CLOCK_SKEW - now))
        key = "rfc7523:jti:" + hashlib.sha256(f"{client_id}\x00{jti}".encode()).hexdigest()
        if not self._replay.add_if_absent(key, ttl):
            raise InvalidClientError(description="The client assertion was already used.")


def _unverified_issuer(assertion: str) -> str | None:
    """The ``iss`` of a not yet verified assertion, used only to find whose keys to
    verify it with."""
    parts = assertion.split(".")
    if len(parts) != 3 or len(assertion) > 16 * 1024:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) and 0 < len(issuer) <= 64 else None
