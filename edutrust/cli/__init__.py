"""The ``edutrust`` command line: one click group; each area registers its commands."""

from __future__ import annotations

import sys

import click

from edutrust.cli.client_commands import clients
from edutrust.cli.common import CliError, NegativeAnswer, say
from edutrust.cli.crypto_commands import crypto
from edutrust.cli.directory_commands import directory
from edutrust.cli.ledger_commands import ledger
from edutrust.cli.platform_commands import init, keys, serve
from edutrust.cli.records_commands import records


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """EduTrust 教育可信身份与存证平台 command line."""


cli.add_command(init)
cli.add_command(serve)
cli.add_command(keys)
cli.add_command(crypto)
cli.add_command(directory)
cli.add_command(ledger)
cli.add_command(clients)
cli.add_command(records)


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
