"""Every switch of the OAuth 2.0 / OpenID Connect provider, documented where it is
defined. The composition root builds one ``ProviderConfig`` from the platform settings;
everything else reads it and keeps no defaults of its own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crypto.jose import ALG_RS256, ALG_SM2

# Scopes the provider knows. ``openid`` turns a request into OpenID Connect; the others
# select claim groups (OIDC Core 5.4; ``edu`` is ours: org, roles, school) that the
# directory fills.
OIDC_SCOPES = ("openid", "profile", "email", "phone", "edu")
# Scopes of the records API (/api/v1): register and amend records for the caller's
# organisation, review them, and read verification reports and bundles. What the caller
# may do with them is further limited by its directory roles (docs/api.md).
RECORDS_SCOPES = ("records:submit", "records:review", "records:verify")
# Scopes of the operator API (/api/v1/admin, /api/v1/directory/imports; docs/api.md):
# manage clients, bulk-import the directory. A token carrying one works only for an
# operator (admin/rbac.py), and a client holds one only if registered for it by name.
ADMIN_SCOPES = ("edutrust:admin", "directory:import")


@dataclass(frozen=True)
class ProviderConfig:
    # The issuer identifier (OIDC Discovery 3, RFC 8414 2): https URL without a trailing
    # slash; also the base URL of every endpoint and the default access-token audience.
    issuer: str
    # SM2 key of the platform: access tokens (default) and ID tokens of SM2 clients.
    sm2_key_id: str = "platform-signing"
    # P-256 key for clients that registered id_token_signed_response_alg ES256.
    es256_key_id: str = "oidc-es256"
    # RSA-2048 key for RS256, OIDC's default ID-token algorithm for clients that
    # registered none.
    rs256_key_id: str = "oidc-rs256"
    # SM4 data key (never rotated) from which the HMAC-SM3 keys for client secrets and
    # pairwise subject identifiers are derived. Rotating it would change every pairwise
    # ``sub`` and invalidate every client secret.
    secrets_key_id: str = "oidc-secrets"
    # How long an authorization code may wait for redemption (RFC 6749 4.1.2: short).
    authorization_code_ttl: dt.timedelta = dt.timedelta(minutes=5)
    # Lifetime of access tokens (JWT or opaque).
    access_token_ttl: dt.timedelta = dt.timedelta(minutes=15)
    # Lifetime of ID tokens.
    id_token_ttl: dt.timedelta = dt.timedelta(minutes=15)
    # Lifetime of a refresh-token family from its first issue; rotation does not extend
    # it, so a login is re-done at least this often.
    refresh_token_ttl: dt.timedelta = dt.timedelta(days=14)
    # Login sessions end after this much inactivity ...
    session_idle_ttl: dt.timedelta = dt.timedelta(hours=2)
    # ... and at the latest this long after login.
    session_max_ttl: dt.timedelta = dt.timedelta(hours=12)
    # A retired signing-key version stays in the JWKS this long after rotation, so that
    # tokens it signed (and relying parties' cached key sets) still verify.
    retired_key_publication: dt.timedelta = dt.timedelta(days=1)
    # JWS alg of access tokens for clients that registered none.
    default_access_token_alg: str = ALG_SM2
    # JWS alg of ID tokens for clients that registered none (OIDC Registration 2).
    default_id_token_alg: str = ALG_RS256
    # Scopes a client may be registered for.
    scopes_supported: tuple[str, ...] = OIDC_SCOPES + RECORDS_SCOPES + ADMIN_SCOPES
    # Scopes a client registered without a scope list does not get: it must name them.
    # Registering and reviewing records act for an organisation, so a relying platform
    # gets them only when an operator registers it for them by name.
    explicit_scopes: tuple[str, ...] = ("records:submit", "records:review", *ADMIN_SCOPES)
    # RP-Initiated Logout: an expired ``id_token_hint`` is still accepted (the spec asks
    # the OP not to be picky) if it expired less than this long ago; relying parties keep
    # their ID token for as long as their refresh tokens live.
    id_token_hint_max_age: dt.timedelta = dt.timedelta(days=14)
    # Back-Channel Logout: lifetime of a logout token (``exp`` - ``iat``), kept short.
    logout_token_ttl: dt.timedelta = dt.timedelta(minutes=2)
    # How often a logout token is POSTed to a client before its delivery counts as failed
    # (the first attempt is immediate) ...
    backchannel_logout_attempts: int = 5
    # ... waiting this long before the first retry and four times longer before each next.
    backchannel_logout_retry_delay: dt.timedelta = dt.timedelta(seconds=1)
    # Seconds to wait for a relying party's answer to one POST (redirects never followed).
    backchannel_logout_timeout: float = 5.0
    # Expired codes, tokens, pushed requests and login sessions are deleted once their
    # expiry is this far in the past (replay and refresh-reuse detection keep working
    # until then); keep it longer than session_max_ttl (idp.oauth2.purge).
    purge_grace: dt.timedelta = dt.timedelta(days=1)
    # A server worker purges at most this often, in the background, when its token
    # endpoint is used (``edutrust idp purge`` does it on demand).
    purge_interval: dt.timedelta = dt.timedelta(minutes=10)
    # How long relying parties and proxies may cache the JWKS (Cache-Control max-age);
    # far shorter than retired_key_publication, so a cached set never lacks a key that
    # tokens in circulation were signed with for long after a rotation.
    jwks_max_age: dt.timedelta = dt.timedelta(minutes=5)
    # A worker keeps the handle of each current signing key, and the key set it verifies
    # access tokens with, this long before asking the key store again: a rotation by
    # ``edutrust keys rotate`` is signed with within this delay, and a token under a key
    # version the worker has not seen yet makes it re-read the key set at once.
    signing_key_recheck: dt.timedelta = dt.timedelta(seconds=5)

    @property
    def secure_cookies(self) -> bool:
        """Session cookies carry ``Secure`` whenever the issuer is served over https."""
        return self.issuer.startswith("https://")

    def endpoint(self, path: str) -> str:
        return self.issuer.rstrip("/") + path
