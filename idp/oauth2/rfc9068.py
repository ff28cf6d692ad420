"""JWT profile for OAuth 2.0 access tokens (RFC 9068).

An access token is a JWS with ``typ: at+jwt`` (RFC 9068 2.1) carrying ``iss``, ``sub``
(the pairwise subject of the person for this client, or the client id for
client_credentials), ``aud``, ``client_id``, ``scope``, ``jti``, ``iat``, ``exp`` and, for
a person, ``auth_time`` / ``acr`` / ``amr`` (2.2.1). Verification (4) uses a fixed list
of asymmetric algorithms, never one taken from the token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from crypto.errors import InvalidToken
from crypto.jose import JWKSet, decode_jwt
from idp.oauth2.signing import SIGNING_ALGS

TYP = "at+jwt"
REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")


def access_token_claims(*, issuer: str, subject: str, audience: str | list[str],
                        client_id: str,
                        scope: str, jti: str, issued_at: dt.datetime,
                        expires_at: dt.datetime, auth_time: dt.datetime | None = None,
                        acr: str | None = None,
                        amr: Sequence[str] | None = None) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": issuer, "sub": subject, "aud": audience, "client_id": client_id,
        "scope": scope, "jti": jti, "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    if auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    if acr:
        claims["acr"] = acr
    if amr:
        claims["amr"] = list(amr)
    return claims


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def verify_access_token(token: str, keys: JWKSet, *, issuer: str,
                        audience: str | list[str]) -> dict[str, Any]:
    """The claims of a valid access token of this issuer, or ``InvalidToken`` (``aud``
    must name ``audience``, or one of them when a list is given)."""
    return decode_jwt(token, keys, algorithms=SIGNING_ALGS, issuer=issuer,
                      audience=audience, required=REQUIRED_CLAIMS, typ=TYP,
                      leeway=dt.timedelta(seconds=0))


__all__ = ["TYP", "InvalidToken", "access_token_claims", "looks_like_jwt",
           "verify_access_token"]
