"""``edutrust records ...``: bulk import of archive entries, the pinned trust anchors,
and offline verification of record bundles.

``verify`` needs no server, network or database: the bundle carries the evidence and the
verifier pins its trust anchors (platform root certificate, ledger checkpoint keys) in a
file it obtained once — ``--trust-anchors FILE``, or by default the copy ``edutrust init``
wrote to ``$EDUTRUST_HOME/trust-anchors.json``. Keys a bundle brings are never trusted.
Exit 0 when the record is valid, 1 when it is invalid or indeterminate, 2 when the bundle
or the anchors cannot be read.

``import`` checks every row first and imports all or nothing: exit 0 with the JSON report
on stdout, 1 when rows are bad (each "line N: reason" on stderr, nothing imported), 2 when
the file cannot be read as an import file.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

import click

from edutrust.cli.common import (
    CliError,
    NegativeAnswer,
    ProgressBar,
    emit_json,
    open_initialised_platform,
    read_file,
    say,
)

if TYPE_CHECKING:
    from edutrust.platform import Platform
    from records.verification import TrustAnchors


def _kinds() -> list[str]:
    from records.issuers import KINDS

    return list(KINDS)


def _record_types() -> list[str]:
    from records.schema import RECORD_TYPES

    return list(RECORD_TYPES)


@click.group()
def records() -> None:
    """Records: bulk import, trust anchors, offline verification (存证)."""


def _trust_anchors(path: str) -> TrustAnchors:
    from records.canonical import parse_json
    from records.errors import RecordsError
    from records.verification import TrustAnchors

    data = read_file(path)
    try:
        return TrustAnchors.from_json(parse_json(data))
    except RecordsError as exc:
        raise CliError("records.bad_trust_anchors", path=path, reason=exc) from None


def _pinned_anchors_path() -> str:
    from edutrust.records_setup import trust_anchors_path
    from edutrust.settings import Settings

    path = trust_anchors_path(Settings.from_env())
    if not path.exists():
        raise CliError("records.no_trust_anchors", path=path)
    return str(path)


@records.command()
@click.argument("bundle")
@click.option("--trust-anchors", "anchors", metavar="FILE",
              help="JSON with the pinned root certificate(s) and ledger log key(s) "
                   "(format edutrust-trust-anchors/v1); default: "
                   "$EDUTRUST_HOME/trust-anchors.json")
def verify(bundle: str, anchors: str | None) -> None:
    """Verify an offline bundle (BUNDLE.json, or - for stdin); prints the JSON report."""
    from records.bundle import verify_bundle
    from records.errors import MalformedBundle
    from records.verification import Overall

    trust = _trust_anchors(anchors if anchors is not None else _pinned_anchors_path())
    data = read_file(bundle)
    try:
        report = verify_bundle(data, trust)
    except MalformedBundle as exc:
        raise CliError("records.bad_bundle", path=bundle, reason=exc) from None
    emit_json(report.to_json())
    failed = sorted(name for name, check in report.checks.items()
                    if check.outcome.value != "pass")
    if report.overall is Overall.VALID:
        say("records.verified_valid", id=report.record.get("id"),
            version=report.record.get("version"))
        return
    raise NegativeAnswer(f"records.verified_{report.overall.value}",
                         checks=", ".join(failed) or "-")


def _platform() -> Platform:
    return open_initialised_platform("records.database_error")


@records.command("trust-anchors")
def trust_anchors_command() -> None:
    """Print this platform's trust anchors (root CA certificate, ledger checkpoint keys)
    as one JSON document: the file `records verify --trust-anchors` reads."""
    import json

    from edutrust.ledger_setup import open_channel
    from edutrust.platform import PlatformError
    from edutrust.records_setup import trust_anchors
    from ledger.errors import LedgerError

    platform = _platform()
    try:
        channel = open_channel(platform)
        try:
            anchors = trust_anchors(platform, channel)
        finally:
            channel.close()
    except PlatformError as exc:
        raise CliError(exc.key, **exc.values) from None
    except LedgerError:
        raise CliError("init.not_initialised") from None
    finally:
        platform.engine.dispose()
    sys.stdout.write(json.dumps(anchors.to_json(), ensure_ascii=False, indent=2) + "\n")


@records.command("import")
@click.argument("file")
@click.option("--school", metavar="ORG",
              help="the school the file is for: rows must name it or leave 'school' empty "
                   "(default: every row names its school)")
@click.option("--reviewer", metavar="ORG",
              help="organisation that reviews and approves the entries (e.g. the education "
                   "bureau); they are then anchored on the ledger. Without it they await "
                   "review")
@click.option("--actor", "actor_ref", default="records-import", show_default=True,
              metavar="REF", help="who is recorded as acting in the lifecycle entries")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="processes that sign (default: one per core)")
@click.option("--dry-run", is_flag=True,
              help="check every row and count what would be created, but write nothing")
def import_command(file: str, school: str | None, reviewer: str | None, actor_ref: str,
                   workers: int | None, dry_run: bool) -> None:
    """Import archive entries from FILE (CSV or XLSX with a header row; '-' reads stdin):
    every row or none. Importing the same file again changes nothing."""
    from sqlalchemy.exc import SQLAlchemyError

    from edutrust import i18n
    from edutrust.ledger_setup import open_channel
    from edutrust.records_setup import open_registry
    from edutrust.settings import language_from_env
    from ledger.errors import LedgerError
    from records.bulk import default_workers
    from records.errors import RecordsError
    from records.importer import ArchiveImport, ImportFileError, describe
    from records.lifecycle import Actor

    data = read_file(file)
    translate = i18n.translator(language_from_env())
    platform = _platform()
    try:
        channel = open_channel(platform)
    except LedgerError:
        platform.engine.dispose()
        raise CliError("init.not_initialised") from None
    try:
        registry = open_registry(platform, channel)
        review_actor = Actor(actor_ref, "reviewer", reviewer) if reviewer else None
        if reviewer is not None:
            _require_reviewer(registry, reviewer)
        with contextlib.ExitStack() as stack:
            progress = ProgressBar(stack, translate("records.import_progress"))
            report = ArchiveImport(registry, school=school, actor_ref=actor_ref,
                                   reviewer=review_actor,
                                   workers=workers or default_workers(),
                                   progress=progress).run(data, dry_run=dry_run)
    except ImportFileError as exc:
        raise CliError(exc.key, path=file, **exc.values) from None
    except RecordsError as exc:
        raise CliError("records.import_failed", reason=exc) from None
    except (SQLAlchemyError, LedgerError) as exc:
        raise CliError("records.database_error", reason=exc.__class__.__name__) from None
    finally:
        channel.close()
        platform.engine.dispose()
    for error in report.errors:
        click.echo(describe(error, translate), err=True)
    emit_json(report.as_json(translate))
    if report.errors:
        raise NegativeAnswer("records.import_rejected", count=len(report.errors))
    say("records.import_dry_run" if dry_run else "records.import_done",
        rows=report.rows, created=report.created, unchanged=report.unchanged,
        anchored=report.anchored, awaiting=report.awaiting_review)


def _require_reviewer(registry: Any, reviewer: str) -> None:
    from records.errors import RecordsError

    try:
        registry.issuers.require(reviewer, reviews="archive_entry")
    except RecordsError:
        raise CliError("records.bad_reviewer", org=reviewer) from None


_REGION = r"[0-9]{2}"


@records.command("org-add")
@click.argument("code")
@click.option("--name", required=True, help="the organisation's name (on its certificate)")
@click.option("--kind", required=True, type=click.Choice(_kinds()),
              help="what the organisation is")
@click.option("--issues", multiple=True, type=click.Choice(_record_types()),
              help="a record type it may issue (repeat for several)")
@click.option("--reviews", multiple=True, type=click.Choice(_record_types()),
              help="a record type it may review (repeat for several)")
@click.option("--region", metavar="NN",
              help="2-digit province code of an education department (app filings of "
                   "that province are reviewed by it)")
def org_add(code: str, name: str, kind: str, issues: tuple[str, ...],
            reviews: tuple[str, ...], region: str | None) -> None:
    """Register CODE (the directory's organisation code) as an organisation that issues
    or reviews records: its SM2 key and a certificate from the platform root CA stating
    its rights. Registering it again with the same rights changes nothing; other rights
    are refused."""
    import re

    from edutrust.platform import PlatformError
    from edutrust.records_setup import open_issuers

    if region is not None and not re.fullmatch(_REGION, region):
        raise CliError("records.bad_region", region=region)
    platform = _platform()
    try:
        issuers = open_issuers(platform)
        issuers.register(code, name, kind, issues=issues, reviews=reviews, region=region)
        document = _org_json(issuers, code)
    except ValueError as exc:
        raise CliError("records.org_refused", org=code, reason=exc) from None
    except PlatformError as exc:
        raise CliError(exc.key, **exc.values) from None
    finally:
        platform.engine.dispose()
    emit_json(document)
    say("records.org_added", org=code, kid=document["kid"])


@records.command("orgs")
def orgs_command() -> None:
    """List the organisations that issue or review records, with their rights and current
    key id (JSON)."""
    from edutrust.platform import PlatformError
    from edutrust.records_setup import open_issuers

    platform = _platform()
    try:
        issuers = open_issuers(platform)
        documents = [_org_json(issuers, row.code) for row in issuers.store.organisations()]
    except PlatformError as exc:
        raise CliError(exc.key, **exc.values) from None
    finally:
        platform.engine.dispose()
    emit_json(documents)


def _org_json(issuers: Any, code: str) -> dict[str, Any]:
    org = issuers.organisation(code)
    kid, _ = issuers.signer(code)
    certificate = issuers.certificate(kid)
    return {"code": org.code, "name": org.name, "kind": org.kind,
            "issues": sorted(org.issues), "reviews": sorted(org.reviews),
            "region": org.region, "kid": kid,
            "certificate_not_after": certificate.not_after.isoformat()}
