"""``edutrust idp``: maintenance of the identity provider's stored state."""

from __future__ import annotations

import click

from edutrust.cli.common import CliError, emit_json, say
from edutrust.platform import PlatformError, open_platform
from edutrust.settings import Settings
from idp.oauth2.config import ProviderConfig
from idp.oauth2.purge import purge_expired


@click.group()
def idp() -> None:
    """Identity provider maintenance."""


@idp.command("purge")
def purge() -> None:
    """Delete expired authorization codes, tokens, deny-list entries of revoked stateless
    tokens, pushed authorization requests, initial access tokens and login sessions
    (past expiry plus the grace period); print the counts as one JSON object."""
    settings = Settings.from_env()
    try:
        platform = open_platform(settings)
    except PlatformError as exc:
        raise CliError(exc.key, **exc.values) from None
    try:
        counts = purge_expired(platform.sessions,
                               ProviderConfig(issuer=settings.issuer.rstrip("/")))
    finally:
        platform.engine.dispose()
    say("idp.purged", total=sum(counts.values()))
    emit_json(counts)
