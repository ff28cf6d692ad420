"""``edutrust directory import FILE``: bulk import of organisations, people, roles and
guardians from a CSV file (format in docs/directory.md).

Exit 0 with the JSON report on stdout when everything was imported (or, with
``--dry-run``, would be); exit 1 when rows are bad (each "line N: reason" on stderr, the
report with its errors on stdout, nothing imported); exit 2 when the file cannot be read
as a directory CSV at all.
"""

from __future__ import annotations

import contextlib

import click
from sqlalchemy.exc import SQLAlchemyError

from edutrust import i18n
from edutrust.cli.common import (
    CliError,
    NegativeAnswer,
    ProgressBar,
    emit_json,
    open_initialised_platform,
    read_file,
    say,
)
from edutrust.platform import Platform
from edutrust.settings import language_from_env
from idp.directory import DirectoryError, ImportFileError
from idp.directory.importer import describe, import_csv
from idp.directory.service import Directory


def _platform() -> Platform:
    return open_initialised_platform("directory.database_error")


@click.group()
def directory() -> None:
    """The directory: organisations, people, roles and guardians."""


@directory.command("import")
@click.argument("file")
@click.option("--dry-run", is_flag=True,
              help="check every row and count what would change, but write nothing")
def import_command(file: str, dry_run: bool) -> None:
    """Import FILE (UTF-8 CSV with a header row; '-' reads stdin): every row or none.
    Importing the same file again changes nothing."""
    data = read_file(file)
    lang = language_from_env()
    translate = i18n.translator(lang)
    platform = _platform()
    try:
        with contextlib.ExitStack() as stack:
            progress = ProgressBar(stack, translate("directory.import_progress"))
            report = import_csv(Directory(platform.sessions, platform.fields), data,
                                progress=progress, dry_run=dry_run)
    except ImportFileError as exc:
        raise CliError(exc.key, path=file, **exc.values) from None
    except DirectoryError as exc:
        raise CliError(exc.key, **exc.values) from None
    except SQLAlchemyError as exc:
        raise CliError("directory.database_error", reason=exc.__class__.__name__) from None
    finally:
        platform.engine.dispose()
    for error in report.errors:
        click.echo(describe(error, translate), err=True)
    emit_json(report.as_json(translate))
    if report.errors:
        raise NegativeAnswer("directory.import_rejected", count=len(report.errors))
    say("directory.import_dry_run" if dry_run else "directory.import_done",
        rows=report.rows, created=report.created, updated=report.updated,
        unchanged=report.unchanged)


def _register_reset_link() -> None:
    from edutrust.cli.password_reset_commands import reset_link

    directory.add_command(reset_link)


_register_reset_link()
