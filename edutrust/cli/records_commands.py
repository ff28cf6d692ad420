"""``edutrust records ...``: offline verification of record bundles.

``verify`` needs no server, network or database: the bundle carries the evidence and the
verifier pins its trust anchors (platform root certificate, ledger log key) in a file it
obtained once. Exit 0 when the record is valid, 1 when it is invalid or indeterminate,
2 when the bundle or the anchors cannot be read. ``import`` (CSV/XLSX bulk import of
archive entries) is not here yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from edutrust.cli.common import CliError, NegativeAnswer, emit_json, read_file, say

if TYPE_CHECKING:
    from records.verification import TrustAnchors


@click.group()
def records() -> None:
    """Records: verify offline bundles (存证核验)."""


def _trust_anchors(path: str) -> TrustAnchors:
    from records.canonical import parse_json
    from records.errors import RecordsError
    from records.verification import TrustAnchors

    data = read_file(path)
    try:
        return TrustAnchors.from_json(parse_json(data))
    except RecordsError as exc:
        raise CliError("records.bad_trust_anchors", path=path, reason=exc) from None


@records.command()
@click.argument("bundle")
@click.option("--trust-anchors", "anchors", required=True, metavar="FILE",
              help="JSON with the pinned root certificate(s) and ledger log key(s) "
                   "(format edutrust-trust-anchors/v1)")
def verify(bundle: str, anchors: str) -> None:
    """Verify an offline bundle (BUNDLE.json, or - for stdin); prints the JSON report."""
    from records.bundle import verify_bundle
    from records.errors import MalformedBundle
    from records.verification import Overall

    trust = _trust_anchors(anchors)
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

