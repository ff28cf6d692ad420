"""``edutrust directory reset-link PERSON --by ADMIN``: a one-time password reset link,
issued in the name of the person's school administrator (docs/directory.md).

PERSON and ADMIN are usernames (or internal ids). Prints ``{"person_id", "url",
"expires_at"}`` on stdout for the administrator to hand over; exit 2 when either person
is unknown or ADMIN is not an administrator of PERSON.
"""

from __future__ import annotations

import click

from edutrust.cli.common import CliError, emit_json, say
from edutrust.platform import SIGNING_KEY
from idp.audit import AuditLog, events
from idp.directory.service import Directory
from idp.password_reset import PasswordResets, ResetError


def _person_id(directory: Directory, name: str) -> str:
    person = directory.find_by_username(name) or directory.person(name)
    if person is None:
        raise CliError("reset.unknown_person")
    return person.id


@click.command("reset-link")
@click.argument("person")
@click.option("--by", "admin", required=True, metavar="ADMIN",
              help="username of the school administrator (staff) or operator issuing it")
def reset_link(person: str, admin: str) -> None:
    """Issue a one-time password reset link for PERSON (valid 24 hours, usable once)."""
    from edutrust.cli.directory_commands import _platform

    platform = _platform()
    try:
        directory = Directory(platform.sessions, platform.fields)
        person_id, admin_id = _person_id(directory, person), _person_id(directory, admin)
        resets = PasswordResets(platform.sessions)
        try:
            issued = resets.issue(admin_id, person_id)
        except ResetError as exc:
            raise CliError(exc.key) from None
        AuditLog(platform.sessions, platform.keys, SIGNING_KEY).record(
            events.PASSWORD_RESET_ISSUED, person_id=person_id, details={"by": admin_id})
    finally:
        platform.engine.dispose()
    url = f"{platform.settings.issuer}/password/reset/{issued.token}"
    emit_json({"person_id": person_id, "url": url,
               "expires_at": issued.expires_at.isoformat().replace("+00:00", "Z")})
    say("reset.link_issued", hours=int(resets.ttl.total_seconds() // 3600))
