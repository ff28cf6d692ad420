"""``edutrust mfa``: what operators set about multi-factor authentication (docs/mfa.md,
"Policy per organisation and role")."""

from __future__ import annotations

import click

from edutrust.cli.common import CliError, emit_json, say
from edutrust.platform import PlatformError, open_platform
from edutrust.settings import Settings
from idp.directory.models import ROLES
from idp.directory.service import Directory
from idp.mfa import MfaError
from idp.mfa.models import REQUIREMENTS
from idp.mfa.policy import PolicyStore


@click.group()
def mfa() -> None:
    """Multi-factor authentication settings."""


@mfa.command("policy")
@click.argument("org_code")
@click.argument("role", required=False, type=click.Choice(ROLES))
@click.argument("requirement", required=False, type=click.Choice(REQUIREMENTS))
def policy(org_code: str, role: str | None, requirement: str | None) -> None:
    """Show what logins of each role in the organisation ORG_CODE need, or set ROLE's
    REQUIREMENT (none, mfa: a second factor, phr: a passkey); prints the policy as JSON."""
    if role is not None and requirement is None:
        raise CliError("mfa.policy.requirement_missing")
    try:
        platform = open_platform(Settings.from_env())
    except PlatformError as exc:
        raise CliError(exc.key, **exc.values) from None
    try:
        org = Directory(platform.sessions, platform.fields).find_organisation(org_code)
        if org is None:
            raise CliError("directory.unknown_org", code=org_code)
        store = PolicyStore(platform.sessions)
        if role is not None and requirement is not None:
            try:
                store.set(org.id, role, requirement)
            except MfaError as exc:
                raise CliError(exc.key, **exc.values) from None
            say("mfa.policy.set", code=org.code, role=role, requirement=requirement)
        document = {"organisation": org.code,
                    "policy": {name: store.requirement_of(org.id, name) for name in ROLES}}
    finally:
        platform.engine.dispose()
    emit_json(document)
