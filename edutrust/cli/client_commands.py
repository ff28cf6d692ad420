"""``edutrust clients``: register OAuth 2.0 / OpenID Connect clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from admin.rbac import OperatorClients
from edutrust.cli.common import CliError, emit_json, say
from edutrust.platform import PlatformError, open_platform
from edutrust.settings import Settings
from idp.oauth2 import ProviderError
from idp.oauth2.clients import (
    ACCESS_TOKEN_FORMATS,
    AUTH_METHODS,
    GRANT_TYPES,
    ID_TOKEN_ALGS,
    SUBJECT_TYPES,
    ClientRegistration,
)
from idp.oauth2.rfc7591 import DEFAULT_INITIAL_TOKEN_TTL
from idp.oauth2.server import Provider, open_provider


def open_cli_provider() -> Provider:
    settings = Settings.from_env()
    try:
        platform = open_platform(settings)
    except PlatformError as exc:
        raise CliError(exc.key, **exc.values) from None
    return open_provider(settings.issuer, platform.sessions, platform.keys, platform.fields)


@click.group()
def clients() -> None:
    """OAuth 2.0 / OpenID Connect clients (relying platforms)."""


@clients.command("create")
@click.option("--name", required=True, help="display name shown on the consent page")
@click.option("--grant", "grants", multiple=True, required=True,
              type=click.Choice(GRANT_TYPES), help="grant type (repeatable)")
@click.option("--redirect-uri", "redirect_uris", multiple=True,
              help="exact redirect URI (repeatable; needed for authorization_code)")
@click.option("--public", is_flag=True,
              help="public client (no secret, PKCE required), e.g. a mobile app")
@click.option("--scope", "scopes", multiple=True,
              help="scope the client may ask for (repeatable; default: all)")
@click.option("--id-token-alg", type=click.Choice(ID_TOKEN_ALGS), default=None,
              help="ID token signature algorithm (default RS256)")
@click.option("--access-token-alg", type=click.Choice(ID_TOKEN_ALGS), default=None,
              help="access token signature algorithm (default SM2)")
@click.option("--access-token-format", type=click.Choice(ACCESS_TOKEN_FORMATS),
              default="jwt", show_default=True)
@click.option("--subject-type", type=click.Choice(SUBJECT_TYPES), default="pairwise",
              show_default=True)
@click.option("--first-party", is_flag=True,
              help="the platform's own application: no consent screen")
@click.option("--auth-method", type=click.Choice([m for m in AUTH_METHODS if m != "none"]),
              default=None, help="token endpoint authentication (default client_secret_basic;"
              " public clients use none)")
@click.option("--jwks", "jwks_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="JWK Set file with the client's public keys "
              "(needed for private_key_jwt)")
@click.option("--require-par", is_flag=True,
              help="accept authorization requests only through PAR (RFC 9126)")
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True,
              help="exact URI logout may return to (repeatable; OIDC RP-Initiated Logout)")
@click.option("--backchannel-logout-uri", default=None,
              help="URI that receives logout tokens (OIDC Back-Channel Logout)")
@click.option("--org", "org_code", default=None, metavar="CODE",
              help="directory organisation the client acts for with client_credentials "
                   "(e.g. a school's records system)")
@click.option("--operator", is_flag=True,
              help="operator client: its client_credentials tokens may use the operator "
                   "API (with --scope edutrust:admin and/or directory:import)")
def create(name: str, grants: tuple[str, ...], redirect_uris: tuple[str, ...], public: bool,
           scopes: tuple[str, ...], id_token_alg: str | None, access_token_alg: str | None,
           access_token_format: str, subject_type: str, first_party: bool,
           auth_method: str | None, jwks_file: Path | None, require_par: bool,
           post_logout_redirect_uris: tuple[str, ...],
           backchannel_logout_uri: str | None, org_code: str | None, operator: bool) -> None:
    """Register a client and print it as one JSON object (the secret only this once)."""
    jwks = _read_jwks(jwks_file) if jwks_file is not None else None
    if operator and (public or "client_credentials" not in grants):
        raise CliError("admin.operator_needs_client_credentials")
    provider = open_cli_provider()
    org, org_id = None, None
    if org_code is not None:
        org = provider.directory.find_organisation(org_code)
        if org is None:
            raise CliError("clients.org_unknown", code=org_code)
        org_id = org.id
    try:
        client, secret = provider.clients.register(ClientRegistration(
            name=name, grant_types=grants, redirect_uris=redirect_uris, public=public,
            scopes=scopes or None, id_token_alg=id_token_alg,
            access_token_alg=access_token_alg, access_token_format=access_token_format,
            subject_type=subject_type, first_party=first_party,
            token_endpoint_auth_method=auth_method, jwks=jwks, require_par=require_par,
            post_logout_redirect_uris=post_logout_redirect_uris,
            backchannel_logout_uri=backchannel_logout_uri, org_id=org_id))
    except ProviderError as exc:
        raise CliError(exc.key, **exc.values) from None
    document = client.metadata()
    if operator:
        OperatorClients(provider.directory.sessions).set(client.client_id, True)
        say("clients.operator_marked", client_id=client.client_id)
    document["operator"] = operator
    if org is not None:
        document["org"] = org.code
    if secret is not None:
        document["client_secret"] = secret
        say("clients.created", name=client.name, client_id=client.client_id)
    elif not client.is_public:
        say("clients.created_with_keys", name=client.name, client_id=client.client_id)
    else:
        say("clients.created_public", name=client.name, client_id=client.client_id)
    emit_json(document)


@clients.command("initial-token")
@click.option("--ttl", "ttl_seconds", type=click.IntRange(min=1),
              default=DEFAULT_INITIAL_TOKEN_TTL, show_default=True,
              help="seconds the token stays valid")
def initial_token(ttl_seconds: int) -> None:
    """Print a one-time initial access token for dynamic client registration
    (RFC 7591, POST /oauth2/register); only its digest is stored."""
    registration = open_cli_provider().registration
    assert registration is not None
    click.echo(registration.issue_initial_token(ttl_seconds))


def _read_jwks(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise CliError("clients.jwks_unreadable", path=str(path)) from None
    if not isinstance(document, dict):
        raise CliError("clients.bad_jwks")
    return document


@clients.command("resource-create")
@click.option("--identifier", required=True,
              help="the resource indicator (RFC 8707): absolute URI, no fragment; access "
              "tokens for this API carry it as aud")
@click.option("--name", required=True, help="display name of the API")
@click.option("--scope", "scopes", multiple=True,
              help="scope the API understands (repeatable; informative, listed only)")
def resource_create(identifier: str, name: str, scopes: tuple[str, ...]) -> None:
    """Register a resource server (an API clients may ask tokens for with ``resource``)
    and print it as one JSON object."""
    provider = open_cli_provider()
    try:
        server = provider.resource_servers.register(identifier, name, scopes)
    except ProviderError as exc:
        raise CliError(exc.key, **exc.values) from None
    say("resources.created", name=server.name, identifier=server.identifier)
    emit_json(server.to_dict())


@clients.command("resource-list")
def resource_list() -> None:
    """Print every resource server (built-in and registered) as one JSON array."""
    emit_json([server.to_dict() for server in open_cli_provider().resource_servers.all()])
