"""ID tokens (OIDC Core 2, 3.1.3.6) for the authorization code flow, and again on
every refresh of a grant that had ``openid`` (12.2).

Signed with the algorithm the client registered (SM2, ES256 or RS256) under the
provider's key for it; ``at_hash`` uses the hash that goes with that algorithm (SM3 for
SM2). Claims: ``iss``, pairwise ``sub``, ``aud``, ``exp``, ``iat``, ``auth_time``,
``nonce`` (never on refresh), ``acr``, ``amr``, ``sid``, ``at_hash``, the scope's profile
claims and those the ``claims`` request's ``id_token`` member asks for
(``idp.oidc.claims_parameter``). On refresh ``sub``, ``aud``, ``auth_time``, ``acr`` and
``amr`` are those of the original login; ``iat`` and ``exp`` are new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oidc.core.grants import OpenIDCode

from idp.oauth2.clients import RegisteredClient
from idp.oauth2.config import ProviderConfig
from idp.oauth2.signing import SigningKeys, half_hash
from idp.oauth2.tokens import Subject
from idp.oidc.claims_parameter import ClaimsRequest, released_claims

ClaimsOf = Callable[[str, list[str]], dict[str, Any]]
SubjectOf = Callable[[RegisteredClient, str], str]


class IDTokenIssuer:
    """Builds and signs ID tokens."""

    def __init__(self, config: ProviderConfig, signing: SigningKeys, subject_of: SubjectOf,
                 claims_of: ClaimsOf) -> None:
        self._config = config
        self._signing = signing
        self._subject_of = subject_of
        self._claims_of = claims_of

    def issue(self, client: RegisteredClient, subject: Subject, scope: str, *,
              nonce: str | None, access_token: str | None,
              claims_request: ClaimsRequest | None = None) -> str:
        alg = client.id_token_signed_response_alg
        now = dt.datetime.now(dt.UTC)
        requested = claims_request.names("id_token") if claims_request else []
        claims: dict[str, Any] = released_claims(
            self._claims_of, subject.person_id, scope_to_list(scope) or [], requested,
            client.scopes) or {}
        claims.update({
            "iss": self._config.issuer, "sub": self._subject_of(client, subject.person_id),
            "aud": client.client_id, "iat": int(now.timestamp()),
            "exp": int((now + self._config.id_token_ttl).timestamp()),
            "auth_time": int(subject.auth_time.timestamp()), "amr": list(subject.amr),
        })
        if nonce:
            claims["nonce"] = nonce
        if subject.acr:
            claims["acr"] = subject.acr
        if subject.sid:
            claims["sid"] = subject.sid
        if access_token:
            claims["at_hash"] = half_hash(access_token, alg)
        return self._signing.sign(claims, alg=alg, typ="JWT")


class OpenIDConnectCode(OpenIDCode):  # type: ignore[misc]
    """Authlib's OpenID Connect extension of the code grant, signing through our keys
    (Authlib's own JOSE library knows no SM2)."""

    def __init__(self, issuer: IDTokenIssuer) -> None:
        super().__init__(require_nonce=False)
        self._issuer = issuer

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        # Nonce replay is the relying party's check (OIDC Core 15.5.2); we echo it.
        return False

    def encode_id_token(self, token: dict[str, Any], request: Any) -> str:
        code = request.authorization_code
        return self._issuer.issue(request.client, request.user, token.get("scope") or "",
                                  nonce=code.get_nonce() if code is not None else None,
                                  access_token=token.get("access_token"),
                                  claims_request=code.claims_request() if code else None)


class OpenIDRefresh:
    """Extension of the refresh token grant (OIDC Core 12.2): when the refreshed grant
    has ``openid``, the response carries a new ID token for the original login (same
    ``sub``, ``aud``, ``auth_time``, ``acr``, ``amr``; new ``iat``/``exp``; no nonce)."""

    def __init__(self, issuer: IDTokenIssuer) -> None:
        self._issuer = issuer

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)

    def process_token(self, grant: Any, response: Any) -> Any:
        _status, token, _headers = response
        scope = token.get("scope") or ""
        if "openid" not in scope_to_list(scope) or grant.request.user is None:
            return token
        previous = grant.request.refresh_token
        token["id_token"] = self._issuer.issue(
            grant.request.client, grant.request.user, scope, nonce=None,
            access_token=token.get("access_token"),
            claims_request=ClaimsRequest.from_stored(previous.row.claims))
        return token
