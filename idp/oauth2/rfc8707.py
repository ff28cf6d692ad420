"""Resource indicators (RFC 8707): a client names the API it wants a token for with
``resource`` at the authorization endpoint, the PAR endpoint and the token endpoint, and
the access token's ``aud`` becomes that API instead of the issuer.

A ``resource`` must be an absolute URI without a fragment (2) and must name a registered
resource server: built in are the issuer itself (UserInfo) and the records API
(``{issuer}/api/v1``); others are registered by an operator (``oauth_resource_servers``,
``edutrust clients resource-create``). Anything else is ``invalid_target``. At the
token endpoint the requested resources must lie within those of the grant (2.2) when the
grant named any; a grant that named none may be narrowed to any registered resource
server. Without ``resource`` the audience is the issuer, as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from sqlalchemy import JSON, DateTime, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from idp.db import IdpBase
from idp.oauth2 import ProviderError
from idp.oauth2.config import ProviderConfig

# Where the records API lives below the issuer; its identifier is built in.
RECORDS_API_PATH = "/api/v1"
MAX_RESOURCE_LENGTH = 2048
MAX_RESOURCES = 8  # per request: more is a client bug or an attack on our tables


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    """RFC 8707 2: the requested resource is invalid, unknown or not allowed."""

    error = "invalid_target"


class ResourceServer(IdpBase):
    """An API that access tokens may be issued for (``aud``), registered by an operator."""

    __tablename__ = "oauth_resource_servers"

    # The resource indicator itself: absolute URI, no fragment, compared exactly.
    identifier: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Scopes the API understands (informative: listed, not enforced on tokens).
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class ResourceServerInfo:
    identifier: str
    name: str
    scopes: tuple[str, ...]
    built_in: bool

    def to_dict(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "name": self.name,
                "scopes": list(self.scopes), "built_in": self.built_in}


def resource_indicator_problem(value: str) -> str | None:
    """Why ``value`` is not a well-formed resource indicator, or ``None`` if it is."""
    if not value or len(value) > MAX_RESOURCE_LENGTH or any(c.isspace() for c in value):
        return "A resource must be a non-empty absolute URI without spaces."
    try:
        parts = urlsplit(value)
    except ValueError:
        return "A resource must be an absolute URI."
    if not parts.scheme or not (parts.netloc or parts.path):
        return "A resource must be an absolute URI."
    if "#" in value:
        return "A resource must not contain a fragment."
    return None


def joined(values: Sequence[str]) -> str:
    """Several ``resource`` values as one request parameter (kept as ``dict[str, str]``
    in login sessions and pushed requests). Indicators contain no spaces, so a space
    joins them; a malformed value is kept alone so that validation refuses it."""
    bad = [value for value in values if resource_indicator_problem(value) is not None]
    return bad[0] if bad else " ".join(values)


def split(value: str | None) -> list[str]:
    """The resource indicators of a stored request parameter (see ``joined``)."""
    return list(dict.fromkeys(value.split(" "))) if value else []


class ResourceServers:
    """The registered resource servers: built-in ones and the operator's table."""

    def __init__(self, sessions: sessionmaker[Any], config: ProviderConfig) -> None:
        self._sessions = sessions
        self._config = config

    @property
    def built_in(self) -> tuple[ResourceServerInfo, ...]:
        # The issuer itself (UserInfo and the provider's own endpoints) and the records API.
        return (ResourceServerInfo(self._config.issuer, "EduTrust identity provider", (),
                                   True),
                ResourceServerInfo(self._config.endpoint(RECORDS_API_PATH), "Records API",
                                   (), True))

    def find(self, identifier: str) -> ResourceServerInfo | None:
        for server in self.built_in:
            if server.identifier == identifier:
                return server
        if len(identifier) > 255:
            return None
        with self._sessions() as session:
            row = session.get(ResourceServer, identifier)
            return (ResourceServerInfo(row.identifier, row.name, tuple(row.scopes or ()),
                                       False) if row is not None else None)

    def all(self) -> list[ResourceServerInfo]:
        with self._sessions() as session:
            rows = session.scalars(select(ResourceServer).order_by(ResourceServer.identifier))
            stored = [ResourceServerInfo(r.identifier, r.name, tuple(r.scopes or ()), False)
                      for r in rows]
        return [*self.built_in, *stored]

    def register(self, identifier: str, name: str,
                 scopes: Iterable[str] = ()) -> ResourceServerInfo:
        """Register an API; ``ProviderError`` if the identifier is malformed, too long,
        the issuer itself or taken."""
        if resource_indicator_problem(identifier) is not None or len(identifier) > 255:
            raise ProviderError("resources.bad_identifier", identifier=identifier)
        if not name.strip() or len(name) > 200:
            raise ProviderError("clients.bad_name")
        scope_list = list(dict.fromkeys(scopes))
        if self.find(identifier) is not None:
            raise ProviderError("resources.taken", identifier=identifier)
        with self._sessions.begin() as session:
            session.add(ResourceServer(identifier=identifier, name=name.strip(),
                                       scopes=scope_list, description=None,
                                       created_at=dt.datetime.now(dt.UTC)))
        return ResourceServerInfo(identifier, name.strip(), tuple(scope_list), False)

    # -- checking requests ---------------------------------------------------------------
    def check(self, values: Sequence[str]) -> list[str]:
        """The requested resource indicators, each well formed and registered, or
        ``InvalidTargetError``."""
        if len(values) > MAX_RESOURCES:
            raise InvalidTargetError(description="Too many resources.")
        for value in values:
            problem = resource_indicator_problem(value)
            if problem is not None:
                raise InvalidTargetError(description=problem)
            if self.find(value) is None:
                raise InvalidTargetError(description="The resource is not a registered "
                                                     "resource server.")
        return list(dict.fromkeys(values))

    def narrow(self, requested: Sequence[str], granted: Sequence[str]) -> list[str]:
        """Resources of a token request (2.2): registered, and within the grant's own
        resources when the grant named any. Returns the token's audience list (empty:
        the issuer)."""
        checked = self.check(requested)
        if granted and any(value not in granted for value in checked):
            raise InvalidTargetError(description="The resource was not part of the grant.")
        return checked or list(granted)


def token_resources(request: Any) -> list[str]:
    """The ``resource`` values of a token request (form body, repeatable)."""
    form = request.form
    values: list[str] = form.getlist("resource") if hasattr(form, "getlist") else (
        [form["resource"]] if form.get("resource") is not None else [])
    return list(values)


def audience_claim(audience: Sequence[str], issuer: str) -> str | list[str]:
    """The ``aud`` of an access token: the issuer when no resource was named, the single
    resource, or the list of them."""
    if not audience:
        return issuer
    return audience[0] if len(audience) == 1 else list(audience)


class ResourceBoundGrant:
    """Mixin for the token endpoint's grants: the access token is generated for the
    audience the grant's ``validate_token_request`` put on the request
    (``request.audience``; empty: the issuer)."""

    request: Any
    server: Any
    GRANT_TYPE: str | None

    def generate_token(self, user: Any = None, scope: str | None = None,
                       grant_type: str | None = None, expires_in: int | None = None,
                       include_refresh_token: bool = True) -> dict[str, Any]:
        token: dict[str, Any] = self.server.tokens.generate(
            grant_type or self.GRANT_TYPE, self.request.client, user, scope, expires_in,
            include_refresh_token, audience=getattr(self.request, "audience", None))
        return token
