"""Assembly of the provider: Authlib's Flask ``AuthorizationServer`` with our grants,
endpoints, token generator and storage, and the ``Provider`` object that the web layer
(``idp.web``) and the command line use.

Requests reach Authlib at their public URL (issuer + path), so a TLS-terminating proxy
in front does not make Authlib see ``http``; parameters come from the query string of a
GET and from the form body of a POST only, never mixed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Payload
from flask import Response
from flask import request as flask_request
from sqlalchemy.orm import sessionmaker
from werkzeug.datastructures import MultiDict

from crypto.fields import FieldCipher
from crypto.keys.software import SoftwareKeyProvider
from idp.audit import AuditLog
from idp.directory.service import Directory
from idp.oauth2.clients import ClientRegistry, RegisteredClient
from idp.oauth2.config import ProviderConfig
from idp.oauth2.consent import ConsentStore
from idp.oauth2.grants.authorization_code import AuthorizationCodeGrant, CodeStore
from idp.oauth2.grants.client_credentials import ClientCredentialsGrant
from idp.oauth2.grants.refresh_token import RefreshTokenGrant
from idp.oauth2.platform_secrets import PlatformSecrets
from idp.oauth2.purge import PurgeSchedule
from idp.oauth2.rfc7009 import TokenRevocationEndpoint
from idp.oauth2.rfc7523 import PRIVATE_KEY_JWT, ClientAssertionAuthentication
from idp.oauth2.rfc7591 import DynamicClientRegistration
from idp.oauth2.rfc7636 import S256CodeChallenge
from idp.oauth2.rfc7662 import TokenIntrospectionEndpoint
from idp.oauth2.rfc8414 import EndpointPaths
from idp.oauth2.rfc8707 import ResourceServers
from idp.oauth2.rfc9126 import PushedRequestStore
from idp.oauth2.signing import SigningKeys
from idp.oauth2.tokens import TokenRecord, TokenService
from idp.oidc.backchannel_logout import BackchannelLogout
from idp.oidc.id_token import IDTokenIssuer, OpenIDConnectCode, OpenIDRefresh
from idp.oidc.pairwise import PairwiseSubjects
from idp.oidc.userinfo import UserInfo
from idp.shortlived import InProcessStore, ShortLivedStore


class _FormPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, values: MultiDict[str, str]) -> None:
        self._values = values

    @property
    def data(self) -> MultiDict[str, str]:
        return self._values

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        lists: defaultdict[str, list[str]] = defaultdict(list)
        for key in self._values:
            lists[key].extend(self._values.getlist(key))
        return lists


class PublicURLRequest(OAuth2Request):  # type: ignore[misc]
    """The current Flask request as Authlib sees it: at its public URL, parameters from
    the query (GET) or the form body (POST)."""

    def __init__(self, public_url: str) -> None:
        super().__init__(method=flask_request.method, uri=public_url,
                         headers=flask_request.headers)
        self._flask = flask_request._get_current_object()  # type: ignore[attr-defined]
        values = self._flask.args if self._flask.method == "GET" else self._flask.form
        self.payload = _FormPayload(values)

    @property
    def args(self) -> MultiDict[str, str]:
        return self._flask.args  # type: ignore[no-any-return]

    @property
    def form(self) -> MultiDict[str, str]:
        return self._flask.form  # type: ignore[no-any-return]


def stored_authorization_request(issuer_url: str, params: dict[str, str]) -> OAuth2Request:
    """An authorization request replayed from the login session (after login or
    consent), with exactly the parameters first received."""
    request = OAuth2Request("GET", issuer_url)
    request.payload = BasicOAuth2Payload(dict(params))
    return request


class EduTrustAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's authorization server wired to the provider's services."""

    def __init__(self, provider: Provider) -> None:
        super().__init__()
        self.provider = provider
        self.config = provider.config
        self.codes = provider.codes
        self.tokens = provider.tokens
        self.scopes_supported = list(provider.config.scopes_supported)
        self.register_token_generator("default", provider.tokens.generate)
        self.register_grant(AuthorizationCodeGrant,
                            [S256CodeChallenge(), OpenIDConnectCode(provider.id_tokens)])
        self.register_grant(RefreshTokenGrant, [OpenIDRefresh(provider.id_tokens)])
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(TokenRevocationEndpoint)
        self.register_endpoint(TokenIntrospectionEndpoint)
        # RFC 9126 2: the issuer, the token endpoint and the PAR endpoint all name us.
        audiences = (provider.config.issuer, provider.config.endpoint(provider.paths.token),
                     provider.config.endpoint(provider.paths.par))
        self.register_client_auth_method(
            PRIVATE_KEY_JWT, ClientAssertionAuthentication(audiences, provider.short_lived))

    # -- what the grants and endpoints call ----------------------------------------------
    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self.provider.clients.find(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        code = request.authorization_code
        previous = request.refresh_token if isinstance(request.refresh_token,
                                                       TokenRecord) else None
        self.tokens.save(token, request.client, request.user,
                         authorization_code_id=code.id if code is not None else None,
                         previous=previous,
                         resources=getattr(request, "granted_resources", None),
                         audience=getattr(request, "audience", None),
                         claims=getattr(request, "claims_request", None))

    @property
    def resources(self) -> ResourceServers:
        return self.provider.resource_servers

    def subject_of(self, client: RegisteredClient, person_id: str) -> str:
        return self.provider.subjects.subject(client, person_id)

    def person_active(self, person_id: str) -> bool:
        return self.provider.person_active(person_id)

    # -- HTTP glue -----------------------------------------------------------------------
    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return PublicURLRequest(self.config.issuer.rstrip("/") + flask_request.full_path
                                .rstrip("?"))

    def handle_response(self, status_code: int, payload: Any,
                        headers: list[tuple[str, str]]) -> Response:
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        return Response(payload, status=status_code, headers=headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


class PeopleClaims:
    """What the provider asks the directory: is a person still active, and what may a
    client learn about them for some scopes."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    def person_active(self, person_id: str) -> bool:
        person = self._directory.person(person_id)
        return person is not None and bool(person.active)

    def claims_of(self, person_id: str, scopes: list[str]) -> dict[str, Any] | None:
        person = self._directory.person(person_id)
        if person is None or not person.active:
            return None
        return self._directory.claims(person, scopes)

    def id_token_claims(self, person_id: str, scopes: list[str]) -> dict[str, Any]:
        return self.claims_of(person_id, scopes) or {}


@dataclass
class Provider:
    """The identity provider's OAuth/OIDC services, built once per process."""

    config: ProviderConfig
    paths: EndpointPaths
    directory: Directory
    people: PeopleClaims
    clients: ClientRegistry
    signing: SigningKeys
    subjects: PairwiseSubjects
    tokens: TokenService
    codes: CodeStore
    consents: ConsentStore
    id_tokens: IDTokenIssuer
    userinfo: UserInfo
    pushed_requests: PushedRequestStore
    # RFC 8707 resource servers (access token audiences).
    resource_servers: ResourceServers
    server: EduTrustAuthorizationServer | None = None
    # Replay caches (client assertion jti); Redis when configured, see idp.shortlived.
    short_lived: ShortLivedStore = field(default_factory=InProcessStore)
    # Logout tokens to clients when a login session ends (OIDC Back-Channel Logout).
    backchannel_logout: BackchannelLogout | None = None
    # Dynamic client registration (RFC 7591 / 7592) behind initial access tokens.
    registration: DynamicClientRegistration | None = None
    # Opportunistic deletion of expired codes, tokens and sessions (idp.oauth2.purge).
    purge_schedule: PurgeSchedule | None = None
    # The hash-chained audit log of authentication events (idp.audit).
    audit: AuditLog | None = None

    @property
    def authorization_server(self) -> EduTrustAuthorizationServer:
        assert self.server is not None
        return self.server

    def person_active(self, person_id: str) -> bool:
        return self.people.person_active(person_id)


def build_provider(config: ProviderConfig, sessions: sessionmaker[Any],
                   keys: SoftwareKeyProvider, directory: Directory,
                   paths: EndpointPaths | None = None,
                   short_lived: ShortLivedStore | None = None) -> Provider:
    """Create missing provider keys and assemble every service."""
    signing = SigningKeys(keys, config)
    signing.ensure()
    platform_secrets = PlatformSecrets(keys, config.secrets_key_id)
    clients = ClientRegistry(sessions, config, platform_secrets)
    subjects = PairwiseSubjects(platform_secrets)
    tokens = TokenService(sessions, config, signing, subjects.subject, clients.find)
    people = PeopleClaims(directory)
    provider = Provider(
        config=config, paths=paths or EndpointPaths(), directory=directory, people=people,
        clients=clients, signing=signing, subjects=subjects, tokens=tokens,
        codes=CodeStore(sessions, config, tokens), consents=ConsentStore(sessions),
        id_tokens=IDTokenIssuer(config, signing, subjects.subject, people.id_token_claims),
        userinfo=UserInfo(tokens, clients.find, subjects.subject, people.claims_of),
        pushed_requests=PushedRequestStore(sessions),
        resource_servers=ResourceServers(sessions, config),
        short_lived=short_lived if short_lived is not None else InProcessStore())
    provider.server = EduTrustAuthorizationServer(provider)
    provider.backchannel_logout = BackchannelLogout(sessions, config, signing, clients.find,
                                                    subjects.subject)
    provider.registration = DynamicClientRegistration(sessions, config, clients,
                                                      provider.paths.registration)
    provider.purge_schedule = PurgeSchedule(sessions, config)
    provider.audit = AuditLog(sessions, keys, config.sm2_key_id)
    return provider


def open_provider(issuer: str, sessions: sessionmaker[Any], keys: SoftwareKeyProvider,
                  fields: FieldCipher, short_lived: ShortLivedStore | None = None) -> Provider:
    """The provider with default settings for ``issuer`` over the platform's database,
    keys and field cipher (what the app factory and the command line use);
    ``short_lived`` defaults to a per-process store."""
    return build_provider(ProviderConfig(issuer=issuer.rstrip("/")), sessions, keys,
                          Directory(sessions, fields), short_lived=short_lived)
