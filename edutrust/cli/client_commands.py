"""``edutrust clients``: register OAuth 2.0 / OpenID Connect clients."""

from __future__ import annotations

import click

from edutrust.cli.common import CliError, emit_json, say
from edutrust.platform import PlatformError, open_platform
from edutrust.settings import Settings
from idp.oauth2 import ProviderError
from idp.oauth2.clients import (
    ACCESS_TOKEN_FORMATS,
    GRANT_TYPES,
    ID_TOKEN_ALGS,
    SUBJECT_TYPES,
    ClientRegistration,
)
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
def create(name: str, grants: tuple[str, ...], redirect_uris: tuple[str, ...], public: bool,
           scopes: tuple[str, ...], id_token_alg: str | None, access_token_alg: str | None,
           access_token_format: str, subject_type: str, first_party: bool) -> None:
    """Register a client and print it as one JSON object (the secret only this once)."""
    provider = open_cli_provider()
    try:
        client, secret = provider.clients.register(ClientRegistration(
            name=name, grant_types=grants, redirect_uris=redirect_uris, public=public,
            scopes=scopes or None, id_token_alg=id_token_alg,
            access_token_alg=access_token_alg, access_token_format=access_token_format,
            subject_type=subject_type, first_party=first_party))
    except ProviderError as exc:
        raise CliError(exc.key, **exc.values) from None
    document = client.metadata()
    if secret is not None:
        document["client_secret"] = secret
        say("clients.created", name=client.name, client_id=client.client_id)
    else:
        say("clients.created_public", name=client.name, client_id=client.client_id)
    emit_json(document)
