"""What every command shares: translated messages on stderr, reading and writing files
with clear errors, and the two exceptions that set the exit code."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from edutrust import i18n
from edutrust.settings import language_from_env

if TYPE_CHECKING:
    from edutrust.platform import Platform


class CliError(Exception):
    """Usage or unreadable input: exit 2 with one translated line on stderr."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def render(self) -> str:
        return i18n.translate(self.key, language_from_env(), **self.values)


class NegativeAnswer(Exception):
    """A well-formed question answered "no" (invalid signature, audit divergence): exit 1."""

    def __init__(self, key: str = "", **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def say(key: str, **values: object) -> None:
    """A translated progress or result message on stderr."""
    click.echo(i18n.translate(key, language_from_env(), **values), err=True)


def emit_json(document: object) -> None:
    """The one machine-readable JSON document on stdout."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def read_file(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if not p.exists():
        raise CliError("cli.file_missing", path=path)
    try:
        return p.read_bytes()
    except OSError as exc:
        raise CliError("cli.file_unreadable", path=path, reason=exc.strerror or exc) from None


def write_file(path: str, data: bytes, *, private: bool = False) -> None:
    """Write ``data``; private files are created 0600 from the start, never widened."""
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        if private:
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise CliError("cli.file_unwritable", path=path, reason=exc.strerror or exc) from None


def open_initialised_platform(database_error_key: str) -> Platform:
    """The platform of ``$EDUTRUST_HOME`` with its schema in place: a database that cannot
    be read answers ``database_error_key`` (with ``reason``), one without the schema asks
    for ``edutrust init``."""
    from sqlalchemy.exc import SQLAlchemyError

    from edutrust import database
    from edutrust.platform import PlatformError, open_platform
    from edutrust.settings import Settings

    try:
        platform = open_platform(Settings.from_env())
    except PlatformError as exc:
        raise CliError(exc.key, **exc.values) from None
    try:
        revision = database.current_revision(platform.engine)
    except SQLAlchemyError as exc:
        platform.engine.dispose()
        raise CliError(database_error_key, reason=exc.__class__.__name__) from None
    if revision is None:
        platform.engine.dispose()
        raise CliError("init.not_initialised")
    return platform


class ProgressBar:
    """A click progress bar on stderr, opened once the importer knows the total."""

    def __init__(self, stack: contextlib.ExitStack, label: str) -> None:
        self._stack = stack
        self._label = label
        self._bar: Any = None   # click's ProgressBar, typed privately by click

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total <= 0:
                return
            self._bar = self._stack.enter_context(
                click.progressbar(length=total, label=self._label, file=sys.stderr))
        step = min(done, total) - self._bar.pos
        if step > 0:
            self._bar.update(step)
