"""``edutrust passkeys``: what operators set about passkeys (docs/mfa.md, "Passkeys")."""

from __future__ import annotations

import click

from edutrust.cli.common import CliError, emit_json, read_file, say
from edutrust.platform import PlatformError, open_platform
from edutrust.settings import Settings
from idp.directory.service import Directory
from idp.shortlived import InProcessStore
from idp.webauthn import PasskeyError
from idp.webauthn.ceremonies import Passkeys, RelyingParty
from idp.webauthn.models import ATTESTATIONS


@click.group()
def passkeys() -> None:
    """Passkey (WebAuthn) settings."""


@passkeys.command("attestation")
@click.argument("org_code")
@click.argument("attestation", type=click.Choice(ATTESTATIONS))
@click.option("--roots", "roots_path", default=None,
              help="PEM file of trusted attestation root certificates (with direct)")
def attestation(org_code: str, attestation: str, roots_path: str | None) -> None:
    """Require ATTESTATION (none or direct) of passkeys registered by the people of the
    organisation ORG_CODE and of every organisation below it; prints the setting as JSON."""
    roots = read_file(roots_path).decode("utf-8", "replace") if roots_path else None
    if roots and attestation != "direct":
        raise CliError("passkey.bad_attestation_setting")
    settings = Settings.from_env()
    try:
        platform = open_platform(settings)
    except PlatformError as exc:
        raise CliError(exc.key, **exc.values) from None
    try:
        org = Directory(platform.sessions, platform.fields).find_organisation(org_code)
        if org is None:
            raise CliError("directory.unknown_org", code=org_code)
        service = Passkeys(platform.sessions, InProcessStore(),
                           RelyingParty.for_issuer(settings.issuer),
                           lambda name: platform.fields.blind_index(name, "passkey-decoy"))
        try:
            service.set_org_attestation(org.id, attestation, roots)
        except PasskeyError as exc:
            raise CliError(exc.key, **exc.values) from None
    finally:
        platform.engine.dispose()
    say("passkey.attestation_set", code=org_code, attestation=attestation)
    emit_json({"organisation": org_code, "attestation": attestation,
               "root_certificates": (roots or "").count("-----BEGIN CERTIFICATE-----")})
