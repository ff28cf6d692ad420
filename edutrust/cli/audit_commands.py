"""``edutrust audit verify|export|checkpoint``: the hash-chained audit log of
authentication events (docs/audit.md).

``verify`` recomputes the chain from the first entry and checks every checkpoint's SM2
signature: exit 0 when intact, 1 when an entry was edited, deleted, inserted or
reordered or a checkpoint fails (the first divergent sequence number on stderr and in
the JSON report on stdout), 2 on a usage error or an unreachable database. ``export``
writes the entries as JSON lines on stdout; ``checkpoint`` signs one at the head now.
"""

from __future__ import annotations

import json
import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from edutrust.cli.common import CliError, NegativeAnswer, emit_json, say
from edutrust.cli.directory_commands import _platform
from edutrust.platform import SIGNING_KEY, Platform
from idp.audit import AuditLog


def _audit_log(platform: Platform) -> AuditLog:
    return AuditLog(platform.sessions, platform.keys, SIGNING_KEY)


@click.group()
def audit() -> None:
    """The audit log of authentication events."""


@audit.command()
def verify() -> None:
    """Recompute every hash and checkpoint signature; exit 1 at the first divergence."""
    platform = _platform()
    try:
        report = _audit_log(platform).verify()
    except SQLAlchemyError as exc:
        raise CliError("directory.database_error", reason=exc.__class__.__name__) from None
    finally:
        platform.engine.dispose()
    emit_json(report.as_json())
    first = report.first
    if first is not None:
        raise NegativeAnswer("audit.divergence", seq=first.seq, reason=first.reason)
    say("audit.intact", entries=report.entries, checkpoints=report.checkpoints)


@audit.command()
@click.option("--since", "since", type=click.IntRange(min=0), default=0,
              help="Only entries with a sequence number above SEQ.", metavar="SEQ")
def export(since: int) -> None:
    """Write the entries (oldest first) as JSON lines on stdout."""
    platform = _platform()
    count = 0
    try:
        for line in _audit_log(platform).entries(since):
            sys.stdout.write(json.dumps(line, ensure_ascii=False, separators=(",", ":"))
                             + "\n")
            count += 1
    except SQLAlchemyError as exc:
        raise CliError("directory.database_error", reason=exc.__class__.__name__) from None
    finally:
        platform.engine.dispose()
    sys.stdout.flush()
    say("audit.exported", count=count)


@audit.command()
def checkpoint() -> None:
    """Sign a checkpoint at the current head (none when the head is already signed)."""
    platform = _platform()
    try:
        log = _audit_log(platform)
        seq = log.checkpoint()
        head_seq, head_hash = log.head()
    except SQLAlchemyError as exc:
        raise CliError("directory.database_error", reason=exc.__class__.__name__) from None
    finally:
        platform.engine.dispose()
    emit_json({"seq": head_seq, "head_hash": head_hash, "signed": seq is not None})
    say("audit.checkpointed" if seq is not None else "audit.checkpoint_current", seq=head_seq)
