"""The ``edutrust`` command line: one click group; each area's commands live in their own
module, imported only when that command runs (so `edutrust crypto sm3` does not pay for
loading the identity provider)."""

from __future__ import annotations

import importlib
import sys

import click

from edutrust.cli.common import CliError, NegativeAnswer, say

# command name -> "module:attribute"; add new areas here.
COMMANDS = {
    "init": "edutrust.cli.platform_commands:init",
    "serve": "edutrust.cli.platform_commands:serve",
    "keys": "edutrust.cli.platform_commands:keys",
    "crypto": "edutrust.cli.crypto_commands:crypto",
    "directory": "edutrust.cli.directory_commands:directory",
    "ledger": "edutrust.cli.ledger_commands:ledger",
    "clients": "edutrust.cli.client_commands:clients",
    "idp": "edutrust.cli.idp_commands:idp",
    "records": "edutrust.cli.records_commands:records",
    "audit": "edutrust.cli.audit_commands:audit",
    "passkeys": "edutrust.cli.passkey_commands:passkeys",
    "mfa": "edutrust.cli.mfa_commands:mfa",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """EduTrust 教育可信身份与存证平台 command line."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI: exit 0 success, 1 negative answer, 2 usage or unreadable input."""
    try:
        cli.main(args=argv, prog_name="edutrust", standalone_mode=False)
    except CliError as exc:
        say("cli.error", message=exc.render())
        return 2
    except NegativeAnswer as exc:
        if exc.key:
            say(exc.key, **exc.values)
        return 1
    except click.exceptions.Abort:
        return 130
    except click.ClickException as exc:
        say("cli.usage", message=exc.format_message())
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
