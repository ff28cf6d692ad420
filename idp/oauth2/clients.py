"""Client registration and lookup (RFC 6749 2, OIDC Registration 2 metadata).

``ClientRegistry.register`` checks a registration and stores it, returning the secret
of a confidential client once; ``RegisteredClient`` is what Authlib's grants see (its
``ClientMixin`` methods decide redirect URIs, grant and response types, scopes and client
authentication).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import scope_to_list
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import sessionmaker

from crypto.errors import CryptoError
from crypto.jose import JWKSet
from idp.oauth2 import ProviderError
from idp.oauth2.config import ProviderConfig
from idp.oauth2.models import OAuthClient
from idp.oauth2.platform_secrets import PlatformSecrets

GRANT_TYPES = ("authorization_code", "client_credentials", "refresh_token")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
AUTH_PRIVATE_KEY_JWT = "private_key_jwt"
ID_TOKEN_ALGS = ("SM2", "ES256", "RS256")
FORMAT_JWT, FORMAT_OPAQUE = "jwt", "opaque"
ACCESS_TOKEN_FORMATS = (FORMAT_JWT, FORMAT_OPAQUE)
AUTH_NONE = "none"
SUBJECT_TYPES = ("pairwise", "public")
_TAG_SCHEME = "hmac-sm3"
_LOOPBACK_NAMES = ("localhost",)
# Credentials of a client kept without a foreign key (RFC 7592's registration access
# token); removed with the client (``ClientRegistry.remove``).
_CLIENT_CREDENTIAL_TABLES = ("oauth_registration_access_tokens",)


# One client row by id, built once (``ClientRegistry.find`` runs on every token request).
_BY_ID = select(OAuthClient.__table__).where(
    OAuthClient.__table__.c.client_id == bindparam("client_id"))
# Clients whose built ``RegisteredClient`` a worker keeps (see ``ClientRegistry.find``);
# beyond this many, the one stored first is dropped.
_BUILT_CLIENTS_KEPT = 1024


@dataclass(frozen=True)
class ClientRegistration:
    """What an operator asks for when registering a client."""

    name: str
    grant_types: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()
    public: bool = False
    scopes: tuple[str, ...] | None = None  # None: every scope the provider supports
    id_token_alg: str | None = None        # None: the provider default (RS256)
    access_token_alg: str | None = None    # None: the provider default (SM2)
    access_token_format: str = FORMAT_JWT
    token_endpoint_auth_method: str | None = None  # None: basic, or none when public
    subject_type: str = "pairwise"
    first_party: bool = False
    require_pkce: bool = False
    jwks: dict[str, Any] | None = None  # public keys; required for private_key_jwt
    require_par: bool = False  # authorization requests only through PAR (RFC 9126)
    # OIDC RP-Initiated Logout 1.0 3.1: where logout may return to (exact match).
    post_logout_redirect_uris: tuple[str, ...] = ()
    # OIDC Back-Channel Logout 1.0 2.2: where logout tokens are POSTed.
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    # The directory organisation (its id) a client_credentials client acts for.
    org_id: str | None = None


@dataclass
class RegisteredClient(ClientMixin):  # type: ignore[misc]
    """A registered client as the grants see it (built from its table row)."""

    client_id: str
    name: str
    redirect_uris: list[str]
    grant_types: list[str]
    response_types: list[str]
    scopes: list[str]
    token_endpoint_auth_method: str
    id_token_signed_response_alg: str
    access_token_signed_response_alg: str
    access_token_format: str
    subject_type: str
    sector_identifier: str
    first_party: bool
    require_pkce: bool
    require_par: bool
    created_at: dt.datetime
    secret_hash: str | None = field(default=None, repr=False)
    secrets_: PlatformSecrets | None = field(default=None, repr=False)
    jwks: dict[str, Any] | None = field(default=None, repr=False)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    org_id: str | None = None

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == AUTH_NONE

    # -- authlib ClientMixin -------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OIDC Core 3.1.2.1 makes redirect_uri REQUIRED; we require it of every client.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.scopes)
        return " ".join(s for s in dict.fromkeys(scope_to_list(scope)) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string comparison (RFC 9700 4.1.3): no prefix, no pattern, no normalising.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None or self.secrets_ is None:
            return False
        scheme, _, encoded = self.secret_hash.partition("$")
        if scheme != _TAG_SCHEME:
            return False
        try:
            tag = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            return False
        return self.secrets_.client_secret_matches(self.client_id, client_secret, tag)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint == "introspection":
            # Introspection is for confidential clients (RFC 7662 2.1 needs authorization).
            return method == self.token_endpoint_auth_method and not self.is_public
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    # -- metadata document ---------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """The registration as OIDC Registration 2 metadata (no secret)."""
        return {
            "client_id": self.client_id, "client_name": self.name,
            "redirect_uris": list(self.redirect_uris), "grant_types": list(self.grant_types),
            "response_types": list(self.response_types), "scope": " ".join(self.scopes),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "id_token_signed_response_alg": self.id_token_signed_response_alg,
            "access_token_signed_response_alg": self.access_token_signed_response_alg,
            "access_token_format": self.access_token_format,
            "subject_type": self.subject_type, "first_party": self.first_party,
            "require_pkce": self.require_pkce,
            "require_pushed_authorization_requests": self.require_par,
            **({"jwks": self.jwks} if self.jwks else {}),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            **({"backchannel_logout_uri": self.backchannel_logout_uri,
                "backchannel_logout_session_required":
                    self.backchannel_logout_session_required}
               if self.backchannel_logout_uri else {}),
            **({"org_id": self.org_id} if self.org_id else {}),
            "client_id_issued_at": int(self.created_at.timestamp()),
        }


def _check_redirect_uri(uri: str, *, public: bool) -> None:
    """https anywhere; http only to a loopback host (RFC 8252 7.3); a private-use scheme
    (reverse domain name, RFC 8252 7.1) only for public native clients. No fragments."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise ProviderError("clients.bad_redirect_uri", uri=uri) from None
    if parts.fragment or "#" in uri or not parts.scheme or any(c.isspace() for c in uri):
        raise ProviderError("clients.bad_redirect_uri", uri=uri)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        if parts.hostname in _LOOPBACK_NAMES:
            return
        try:
            if ipaddress.ip_address(parts.hostname).is_loopback:
                return
        except ValueError:
            pass
        raise ProviderError("clients.bad_redirect_uri", uri=uri)
    if public and "." in parts.scheme and parts.scheme not in ("http", "https"):
        return
    raise ProviderError("clients.bad_redirect_uri", uri=uri)


def _check_client_jwks(jwks: dict[str, Any] | None) -> None:
    """A client's JWK Set: public SM2, P-256 or RSA (2048+) signing keys only."""
    try:
        keys = JWKSet.from_dict(jwks) if isinstance(jwks, dict) else None
    except CryptoError:
        keys = None
    if keys is None or len(keys) == 0 or any(
            key.alg not in ID_TOKEN_ALGS or key.use not in (None, "sig") for key in keys):
        raise ProviderError("clients.bad_jwks")


def _sector(redirect_uris: Iterable[str], client_id: str) -> str:
    """OIDC Core 8.1: the host of the redirect URIs when they share one, else (several
    hosts, or none) the client id; fixed at registration so ``sub`` never drifts."""
    hosts = {urlsplit(uri).hostname or urlsplit(uri).scheme for uri in redirect_uris}
    return hosts.pop() if len(hosts) == 1 else client_id


class ClientRegistry:
    """Registers clients and finds them by id."""

    def __init__(self, sessions: sessionmaker[Any], config: ProviderConfig,
                 platform_secrets: PlatformSecrets) -> None:
        self._sessions = sessions
        self._config = config
        self._secrets = platform_secrets
        # client id -> (the row it was built from, the client); see ``find``.
        self._built: dict[str, tuple[tuple[Any, ...], RegisteredClient]] = {}
        self._built_lock = threading.Lock()

    def _validated(self, reg: ClientRegistration) -> ClientRegistration:
        if not reg.name.strip() or len(reg.name) > 200:
            raise ProviderError("clients.bad_name")
        grants = tuple(dict.fromkeys(reg.grant_types))
        unknown = [g for g in grants if g not in GRANT_TYPES]
        if not grants or unknown:
            raise ProviderError("clients.bad_grant", grant=", ".join(unknown) or "-")
        if "refresh_token" in grants and "authorization_code" not in grants:
            raise ProviderError("clients.refresh_needs_code")
        if reg.public and "client_credentials" in grants:
            raise ProviderError("clients.public_client_credentials")
        if "authorization_code" in grants:
            if not reg.redirect_uris:
                raise ProviderError("clients.redirect_required")
            for uri in reg.redirect_uris:
                _check_redirect_uri(uri, public=reg.public)
        elif reg.redirect_uris:
            raise ProviderError("clients.redirect_unused")
        scopes = reg.scopes if reg.scopes is not None else tuple(
            s for s in self._config.scopes_supported if s not in self._config.explicit_scopes)
        bad_scopes = [s for s in scopes if s not in self._config.scopes_supported]
        if bad_scopes:
            raise ProviderError("clients.bad_scope", scope=", ".join(bad_scopes))
        for alg in (reg.id_token_alg, reg.access_token_alg):
            if alg is not None and alg not in ID_TOKEN_ALGS:
                raise ProviderError("clients.bad_alg", alg=alg)
        if reg.access_token_format not in ACCESS_TOKEN_FORMATS:
            raise ProviderError("clients.bad_token_format", format=reg.access_token_format)
        if reg.subject_type not in SUBJECT_TYPES:
            raise ProviderError("clients.bad_subject_type", subject_type=reg.subject_type)
        method = reg.token_endpoint_auth_method or ("none" if reg.public
                                                    else "client_secret_basic")
        if method not in AUTH_METHODS or (method == "none") != reg.public:
            raise ProviderError("clients.bad_auth_method", method=method)
        if method == AUTH_PRIVATE_KEY_JWT or reg.jwks is not None:
            _check_client_jwks(reg.jwks)
        if reg.require_par and "authorization_code" not in grants:
            raise ProviderError("clients.par_needs_code")
        if reg.org_id is not None and "client_credentials" not in grants:
            # Only the client's own tokens act for its organisation; a person's token
            # acts for the person's memberships.
            raise ProviderError("clients.org_needs_client_credentials")
        if ((reg.post_logout_redirect_uris or reg.backchannel_logout_uri)
                and "authorization_code" not in grants):
            raise ProviderError("clients.logout_needs_code")
        for uri in reg.post_logout_redirect_uris:
            _check_redirect_uri(uri, public=reg.public)
        if reg.backchannel_logout_uri is not None:
            # Back-Channel Logout 2.2: http(s) only (http on loopback), no fragment.
            _check_redirect_uri(reg.backchannel_logout_uri, public=False)
        return ClientRegistration(
            name=reg.name.strip(), grant_types=grants,
            redirect_uris=tuple(dict.fromkeys(reg.redirect_uris)), public=reg.public,
            scopes=tuple(dict.fromkeys(scopes)), id_token_alg=reg.id_token_alg,
            access_token_alg=reg.access_token_alg,
            access_token_format=reg.access_token_format,
            token_endpoint_auth_method=method, subject_type=reg.subject_type,
            first_party=reg.first_party,
            # Public clients cannot keep a secret: PKCE is what binds their codes.
            require_pkce=reg.require_pkce or reg.public, jwks=reg.jwks,
            require_par=reg.require_par,
            post_logout_redirect_uris=tuple(dict.fromkeys(reg.post_logout_redirect_uris)),
            backchannel_logout_uri=reg.backchannel_logout_uri,
            backchannel_logout_session_required=reg.backchannel_logout_session_required,
            org_id=reg.org_id)

    def validate(self, registration: ClientRegistration) -> ClientRegistration:
        """The registration checked and with its defaults filled in, or ProviderError
        (dynamic registration checks metadata by the same rules)."""
        return self._validated(registration)

    def register(self, registration: ClientRegistration) -> tuple[RegisteredClient, str | None]:
        """Store a new client; returns it and its secret (``None`` for public clients).
        The secret is not stored and cannot be shown again."""
        reg = self._validated(registration)
        client_id = secrets.token_urlsafe(18)
        # private_key_jwt clients hold a key instead of a secret.
        secret = (None if reg.public or reg.token_endpoint_auth_method == AUTH_PRIVATE_KEY_JWT
                  else secrets.token_urlsafe(32))
        secret_hash = None
        if secret is not None:
            tag = self._secrets.client_secret_tag(client_id, secret)
            secret_hash = f"{_TAG_SCHEME}${base64.urlsafe_b64encode(tag).decode().rstrip('=')}"
        assert reg.token_endpoint_auth_method is not None and reg.scopes is not None
        row = OAuthClient(
            client_id=client_id, secret_hash=secret_hash, name=reg.name,
            redirect_uris=list(reg.redirect_uris), grant_types=list(reg.grant_types),
            response_types=["code"] if "authorization_code" in reg.grant_types else [],
            scopes=list(reg.scopes), token_endpoint_auth_method=reg.token_endpoint_auth_method,
            id_token_signed_response_alg=reg.id_token_alg or self._config.default_id_token_alg,
            access_token_signed_response_alg=(reg.access_token_alg
                                              or self._config.default_access_token_alg),
            access_token_format=reg.access_token_format, subject_type=reg.subject_type,
            sector_identifier=_sector(reg.redirect_uris, client_id),
            first_party=reg.first_party, require_pkce=reg.require_pkce,
            require_par=reg.require_par,
            post_logout_redirect_uris=list(reg.post_logout_redirect_uris),
            backchannel_logout_uri=reg.backchannel_logout_uri,
            backchannel_logout_session_required=reg.backchannel_logout_session_required,
            jwks=reg.jwks, org_id=reg.org_id,
            created_at=dt.datetime.now(dt.UTC).replace(microsecond=0))
        with self._sessions.begin() as session:
            session.add(row)
        return self._client(row), secret

    def _client(self, row: Any) -> RegisteredClient:
        """A client from its ORM row or a Core row of ``oauth_clients`` (same names)."""
        created = row.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.UTC)
        return RegisteredClient(
            client_id=row.client_id, name=row.name, redirect_uris=list(row.redirect_uris),
            grant_types=list(row.grant_types), response_types=list(row.response_types),
            scopes=list(row.scopes), token_endpoint_auth_method=row.token_endpoint_auth_method,
            id_token_signed_response_alg=row.id_token_signed_response_alg,
            access_token_signed_response_alg=row.access_token_signed_response_alg,
            access_token_format=row.access_token_format, subject_type=row.subject_type,
            sector_identifier=row.sector_identifier, first_party=row.first_party,
            require_pkce=row.require_pkce, require_par=row.require_par, created_at=created,
            secret_hash=row.secret_hash, secrets_=self._secrets, jwks=row.jwks,
            post_logout_redirect_uris=list(row.post_logout_redirect_uris or []),
            backchannel_logout_uri=row.backchannel_logout_uri,
            backchannel_logout_session_required=bool(row.backchannel_logout_session_required),
            org_id=row.org_id)

    def find(self, client_id: str | None) -> RegisteredClient | None:
        """The client as registered now. Callers share the returned object (see below)
        and must not modify it."""
        if not client_id or len(client_id) > 64:
            return None
        # A Core query on a plain connection: every token request does this lookup, and
        # the ORM's session, identity map and instance bookkeeping would cost several
        # times the query itself.
        engine = self._sessions.kw.get("bind")
        if engine is None:
            with self._sessions() as session:
                row = session.execute(_BY_ID, {"client_id": client_id}).first()
        else:
            with engine.connect() as conn:
                row = conn.execute(_BY_ID, {"client_id": client_id}).first()
        if row is None:
            return None
        # The row is read on every call, so a deleted client, a new secret or a removed
        # grant counts at once in every worker; only building the client from an
        # identical row (every column equal, secret hash included) is skipped.
        values = tuple(row)
        kept = self._built.get(client_id)
        if kept is not None and kept[0] == values:
            return kept[1]
        client = self._client(row)
        with self._built_lock:
            if len(self._built) >= _BUILT_CLIENTS_KEPT:
                self._built.pop(next(iter(self._built)))
            self._built[client_id] = (values, client)
        return client

    def find_by_name(self, name: str) -> RegisteredClient | None:
        """The oldest client with this display name (the demo uses it to stay idempotent)."""
        with self._sessions() as session:
            row = session.scalars(select(OAuthClient).where(OAuthClient.name == name)
                                  .order_by(OAuthClient.created_at)).first()
            return self._client(row) if row is not None else None

    # -- operator management (admin API; RFC 7592 keeps its own narrower rules) ---------
    def all(self, *, limit: int, offset: int = 0) -> list[RegisteredClient]:
        """Clients in registration order, a page at a time."""
        with self._sessions() as session:
            rows = session.scalars(select(OAuthClient)
                                   .order_by(OAuthClient.created_at, OAuthClient.client_id)
                                   .limit(limit).offset(offset))
            return [self._client(row) for row in rows]

    def update(self, client_id: str, registration: ClientRegistration) -> RegisteredClient:
        """Replace a client's registration, checked by the rules of ``register``. A
        client stays public or confidential, and keeps its pairwise sector (``sub``
        values must not change under a client). Moving to ``private_key_jwt`` drops the
        stored secret; ``ProviderError("clients.unknown")`` if there is no such client."""
        reg = self._validated(registration)
        assert reg.token_endpoint_auth_method is not None and reg.scopes is not None
        with self._sessions.begin() as session:
            row = session.get(OAuthClient, client_id)
            if row is None:
                raise ProviderError("clients.unknown", client_id=client_id)
            if (row.token_endpoint_auth_method == AUTH_NONE) != reg.public:
                raise ProviderError("clients.public_fixed")
            row.name = reg.name
            row.redirect_uris = list(reg.redirect_uris)
            row.grant_types = list(reg.grant_types)
            row.response_types = ["code"] if "authorization_code" in reg.grant_types else []
            row.scopes = list(reg.scopes)
            row.token_endpoint_auth_method = reg.token_endpoint_auth_method
            if reg.token_endpoint_auth_method == AUTH_PRIVATE_KEY_JWT:
                row.secret_hash = None
            row.id_token_signed_response_alg = (reg.id_token_alg
                                                or self._config.default_id_token_alg)
            row.access_token_signed_response_alg = (reg.access_token_alg
                                                    or self._config.default_access_token_alg)
            row.access_token_format = reg.access_token_format
            row.subject_type = reg.subject_type
            row.first_party = reg.first_party
            row.require_pkce = reg.require_pkce
            row.require_par = reg.require_par
            row.jwks = reg.jwks
            row.post_logout_redirect_uris = list(reg.post_logout_redirect_uris)
            row.backchannel_logout_uri = reg.backchannel_logout_uri
            row.backchannel_logout_session_required = reg.backchannel_logout_session_required
            row.org_id = reg.org_id
            return self._client(row)

    def new_secret(self, client_id: str) -> str:
        """Give a confidential secret-based client a new secret (the old one stops
        working at once) and return it; it is not stored and cannot be shown again."""
        with self._sessions.begin() as session:
            row = session.get(OAuthClient, client_id)
            if row is None:
                raise ProviderError("clients.unknown", client_id=client_id)
            if row.token_endpoint_auth_method in (AUTH_NONE, AUTH_PRIVATE_KEY_JWT):
                raise ProviderError("clients.no_secret",
                                    method=row.token_endpoint_auth_method)
            secret = secrets.token_urlsafe(32)
            tag = self._secrets.client_secret_tag(client_id, secret)
            row.secret_hash = (f"{_TAG_SCHEME}$"
                               f"{base64.urlsafe_b64encode(tag).decode().rstrip('=')}")
        return secret

    def remove(self, client_id: str) -> bool:
        """Delete a client and what was issued to it: rows that reference it (codes,
        tokens, consents, pushed requests, ...) and its registration access token.
        Records of what happened (audit trail, logout deliveries) keep its id.
        ``False`` if there was no such client."""
        with self._sessions.begin() as session:
            if session.get(OAuthClient, client_id) is None:
                return False
            for table in reversed(OAuthClient.metadata.sorted_tables):
                column = table.c.get("client_id")
                if column is None or table.name == OAuthClient.__tablename__:
                    continue
                issued = any(fk.target_fullname == "oauth_clients.client_id"
                             for fk in column.foreign_keys)
                if issued or table.name in _CLIENT_CREDENTIAL_TABLES:
                    session.execute(delete(table).where(column == client_id))
            session.execute(delete(OAuthClient).where(OAuthClient.client_id == client_id))
        return True
