"""OAuth 2.0 Step-Up Authentication Challenge Protocol (RFC 9470), resource-server side.

A resource server that accepted an access token (RFC 9068 JWT, or the claims of an
introspection answer) asks ``insufficient`` whether the token's ``acr`` and
``auth_time`` are good enough for the request. If not, it answers 401 with the
``WWW-Authenticate`` value returned (RFC 9470 3):

    Bearer error="insufficient_user_authentication",
      error_description="...", acr_values="urn:edutrust:acr:mfa", max_age=300

and the client sends the person back to the authorization endpoint with the same
``acr_values`` / ``max_age`` (RFC 9470 4); the provider steps the login up.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from idp.oidc.acr import ACR_LEVELS, AcrRequest, request_satisfied

ERROR = "insufficient_user_authentication"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge(*, acr_values: Sequence[str] = (), max_age: int | None = None,
              description: str | None = None, realm: str | None = None) -> str:
    """The ``WWW-Authenticate`` header value of a step-up challenge."""
    params: list[str] = []
    if realm:
        params.append(f"realm={_quoted(realm)}")
    params.append(f"error={_quoted(ERROR)}")
    if description:
        params.append(f"error_description={_quoted(description)}")
    if acr_values:
        params.append(f"acr_values={_quoted(' '.join(acr_values))}")
    if max_age is not None:
        params.append(f"max_age={int(max_age)}")
    return "Bearer " + ", ".join(params)


def insufficient(claims: Mapping[str, Any], *, acr_values: Sequence[str] = (),
                 max_age: int | None = None, now: float | None = None,
                 realm: str | None = None) -> str | None:
    """``None`` when a token with ``claims`` satisfies the resource's requirement: its
    ``acr`` is one of ``acr_values`` or stronger (EduTrust's levels are ordered,
    ``idp.oidc.acr``), and its ``auth_time`` is at most ``max_age`` seconds old.
    Otherwise the challenge to send (tokens missing ``acr``/``auth_time`` fail)."""
    if acr_values:
        acr = claims.get("acr")
        unknown = [value for value in acr_values if value not in ACR_LEVELS]
        met = isinstance(acr, str) and (
            acr in acr_values or request_satisfied(acr, AcrRequest(tuple(acr_values),
                                                                     True)).satisfied)
        if not met:
            description = ("A stronger authentication is required" if not unknown
                           else "The required authentication context is not met")
            return challenge(acr_values=acr_values, max_age=max_age, realm=realm,
                             description=description)
    if max_age is not None:
        auth_time = claims.get("auth_time")
        current = time.time() if now is None else now
        if (not isinstance(auth_time, int) or isinstance(auth_time, bool)
                or current - auth_time > max_age):
            return challenge(acr_values=acr_values, max_age=max_age, realm=realm,
                             description="A more recent authentication is required")
    return None
