"""Offline bundles: one JSON document holding a record version and all the evidence
needed to verify it with no server, network or database, and ``verify_bundle``.

Shape (docs/records.md "Offline bundle")::

    {"format": "edutrust-record-bundle/v1", "created": "<time>",
     "record": <envelope, with its salt>,
     "certificates": {"<kid>": "<PEM>", ...}, "intermediates": ["<PEM>"...],
     "crl": "<PEM of the platform CA's CRL>" | null,
     "ledger": {"channel", "checkpoint": "<signed note>", "log_keys": [vkey...],
                "witness_keys": [vkey...], "anchor": <anchored leaf> | null,
                "block": {"header": base64, "signature": base64} | null,
                "previous_block": ... | null, "block_consistency": <proof> | null},
     "status": {"revocation": {"snapshot": {...}, "anchor": <anchored leaf>},
                "suspension": {...}},
     "events": {"<seq>": <anchored leaf>}, "history": [<anchored leaf>...],
     "unavailable": {"<part>": "<why>"}}

An anchored leaf is ``{"leaf": "<canonical leaf JSON text>", "proof": {"index", "size",
"hashes"}}``, every proof against the bundle's one checkpoint. The keys in ``ledger`` are
hints only: verification trusts the root certificates and log keys the verifier pinned
(``TrustAnchors``), never what the bundle brings.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
from typing import Any, TypeVar

from crypto.errors import CryptoError
from crypto.x509 import Certificate, CertificateRevocationList, load_crl
from ledger.errors import LedgerError
from ledger.merkle import ConsistencyProof, InclusionProof
from records.canonical import parse_json
from records.envelope import Record
from records.errors import MalformedBundle, RecordsError
from records.status import StatusSnapshot
from records.timestamps import format_timestamp, utc_now
from records.verification import (
    AnchoredLeaf,
    Evidence,
    Report,
    SignedBlockHeader,
    StatusEvidence,
    TrustAnchors,
    verify_evidence,
)

BUNDLE_FORMAT = "edutrust-record-bundle/v1"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def _anchored_json(anchored: AnchoredLeaf | None) -> dict[str, Any] | None:
    if anchored is None:
        return None
    return {"leaf": anchored.leaf.decode("utf-8"), "proof": anchored.proof.to_json()}


def _anchored(doc: Any, *, shared: bool = False) -> AnchoredLeaf | None:
    """An anchored leaf; ``shared``: one that the bundles of many records carry (a status
    snapshot's), whose parsed proof is kept."""
    if doc is None:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("leaf"), str):
        raise ValueError("an anchored leaf is {\"leaf\": text, \"proof\": {...}}")
    proof = _inclusion_proof(doc["proof"]) if shared else InclusionProof.from_json(doc["proof"])
    return AnchoredLeaf(doc["leaf"].encode("utf-8"), proof)


def _exact_proof_key(doc: Any, first: str, second: str) -> tuple[Any, ...] | None:
    """The members a proof's ``from_json`` reads, when each has exactly its JSON type
    (int, int, list of str; so that equal keys mean equal input: ``True == 1`` and
    ``1.0 == 1`` are not let through); None otherwise."""
    if type(doc) is not dict:
        return None
    a, b, hashes = doc.get(first), doc.get(second), doc.get("hashes")
    if type(a) is not int or type(b) is not int or type(hashes) is not list:
        return None
    key = tuple(hashes)
    if not all(type(h) is str for h in key):
        return None
    return a, b, key


def _inclusion_proof(doc: Any) -> InclusionProof:
    """``InclusionProof.from_json(doc)``, kept per exact members (for the proofs of status
    snapshots: every record of a list carries the same two). Parsing only (a proof that
    does not parse raises every time); each proof is checked against the checkpoint at
    every verification."""
    return _kept_proof(InclusionProof, "index", "size", doc)


def _consistency_proof(doc: Any) -> ConsistencyProof:
    """``ConsistencyProof.from_json(doc)``, kept like inclusion proofs: the records
    anchored in one block carry the same proof from it to the checkpoint."""
    return _kept_proof(ConsistencyProof, "from", "to", doc)


_Proof = TypeVar("_Proof", InclusionProof, ConsistencyProof)


def _kept_proof(kind: type[_Proof], first: str, second: str, doc: Any) -> _Proof:
    key = _exact_proof_key(doc, first, second)
    return kind.from_json(doc) if key is None else _proof_from_key(kind, first, second, key)


@functools.lru_cache(maxsize=128)
def _proof_from_key(kind: type[_Proof], first: str, second: str,
                    key: tuple[Any, ...]) -> _Proof:
    a, b, hashes = key
    return kind.from_json({first: a, second: b, "hashes": list(hashes)})


def _status_snapshot(doc: Any) -> StatusSnapshot:
    """``StatusSnapshot.from_json(doc)``, kept per exact members (every record of a list
    carries the same two snapshots). Only when each member is exactly a string or an
    integer, so that equal keys mean equal input. Parsing only: a snapshot that does not
    parse raises every time, and its signature, anchor and freshness are checked at
    every verification."""
    if type(doc) is dict:
        members = tuple(doc.items())
        if all(type(name) is str and (type(value) is str or type(value) is int)
               for name, value in members):
            return _snapshot_from_members(members)
    return StatusSnapshot.from_json(doc)


@functools.lru_cache(maxsize=64)
def _snapshot_from_members(members: tuple[tuple[str, Any], ...]) -> StatusSnapshot:
    return StatusSnapshot.from_json(dict(members))


def _header_json(signed: SignedBlockHeader | None) -> dict[str, str] | None:
    if signed is None:
        return None
    return {"header": _b64(signed.header), "signature": _b64(signed.signature)}


def _header(doc: Any) -> SignedBlockHeader | None:
    if doc is None:
        return None
    return SignedBlockHeader(_unb64(doc["header"]), _unb64(doc["signature"]))


@functools.lru_cache(maxsize=1024)
def _certificate(pem: str) -> Certificate:
    """A parsed certificate, kept: a verifier checks many bundles of the same few issuers,
    and parsing one costs more than verifying its signature. (Certificates are immutable;
    what they are trusted for is decided afresh by every verification.)"""
    if not isinstance(pem, str):
        raise TypeError("a certificate is PEM text")
    return Certificate.from_pem(pem.encode())


@functools.lru_cache(maxsize=64)
def _crl(pem: str) -> CertificateRevocationList:
    """A parsed CRL, kept like certificates: the bundles of one platform carry the
    same CRL until it is re-issued."""
    if not isinstance(pem, str):
        raise TypeError("a CRL is PEM text")
    return load_crl(pem.encode())


def bundle_from_evidence(evidence: Evidence, *, channel: str,
                         hints: TrustAnchors | None = None,
                         created: dt.datetime | None = None) -> dict[str, Any]:
    """The bundle document for ``evidence`` (``hints``: log keys to mention)."""
    if evidence.record is None:
        raise MalformedBundle("a bundle needs a record")
    ledger: dict[str, Any] = {
        "channel": channel,
        "checkpoint": evidence.checkpoint.decode("utf-8") if evidence.checkpoint else None,
        "log_keys": [k.vkey() for k in hints.log_keys] if hints else [],
        "witness_keys": ([w.vkey() for w in hints.witness_policy.witnesses]
                         if hints and hints.witness_policy else []),
        "anchor": _anchored_json(evidence.anchored),
        "block": _header_json(evidence.block),
        "previous_block": _header_json(evidence.previous_block),
        "block_consistency": (evidence.block_consistency.to_json()
                              if evidence.block_consistency else None),
    }
    return {
        "format": BUNDLE_FORMAT,
        "created": format_timestamp(created or utc_now()),
        "record": evidence.record.to_json(include_salt=True),
        "certificates": {kid: c.pem().decode() for kid, c in
                         sorted(evidence.certificates.items())},
        "intermediates": [c.pem().decode() for c in evidence.intermediates],
        "crl": evidence.crl.pem().decode() if evidence.crl else None,
        "ledger": ledger,
        "status": {purpose: {"snapshot": s.snapshot.to_json(),
                             "anchor": _anchored_json(s.anchored)}
                   for purpose, s in sorted(evidence.status.items())},
        "events": {str(seq): _anchored_json(a) for seq, a in sorted(evidence.events.items())},
        "history": [_anchored_json(a) for a in evidence.history],
        "unavailable": dict(evidence.unavailable),
    }


def evidence_from_bundle(bundle: Any) -> Evidence:
    """Parse a bundle. ``MalformedBundle`` only when it is not a bundle at all; a part
    that does not parse is recorded in ``Evidence.malformed`` and fails its check."""
    if isinstance(bundle, (bytes, str)):
        try:
            bundle = parse_json(bundle)
        except RecordsError as exc:
            raise MalformedBundle(f"the bundle is not JSON: {exc}") from None
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise MalformedBundle(f"not an offline bundle (format {BUNDLE_FORMAT})")
    if not isinstance(bundle.get("ledger"), dict):
        raise MalformedBundle("the bundle has no ledger section")
    try:
        record: Record | None = Record.from_json(bundle.get("record"))
        problem = None
    except RecordsError as exc:
        record, problem = None, str(exc)
    evidence = Evidence(record, problem)
    ledger = bundle["ledger"]

    def part(name: str, parse: Any) -> None:
        try:
            parse()
        except (KeyError, TypeError, ValueError, AttributeError, binascii.Error,
                UnicodeError, CryptoError, LedgerError, RecordsError) as exc:
            evidence.malformed[name] = f"{type(exc).__name__}: {exc}"

    def certificates() -> None:
        evidence.certificates = {str(kid): _certificate(pem)
                                 for kid, pem in dict(bundle.get("certificates", {})).items()}
        evidence.intermediates = [_certificate(p) for p in bundle.get("intermediates", [])]

    def crl() -> None:
        raw = bundle.get("crl")
        evidence.crl = None if raw is None else _crl(raw)

    def checkpoint() -> None:
        raw = ledger.get("checkpoint")
        evidence.checkpoint = None if raw is None else str(raw).encode("utf-8")

    def anchor() -> None:
        evidence.anchored = _anchored(ledger.get("anchor"))

    def block() -> None:
        evidence.block = _header(ledger.get("block"))
        evidence.previous_block = _header(ledger.get("previous_block"))
        raw = ledger.get("block_consistency")
        evidence.block_consistency = None if raw is None else _consistency_proof(raw)

    def status() -> None:
        for purpose, doc in dict(bundle.get("status", {})).items():
            evidence.status[str(purpose)] = StatusEvidence(
                _status_snapshot(doc["snapshot"]),
                _anchored(doc.get("anchor"), shared=True))

    def events() -> None:
        for seq, doc in dict(bundle.get("events", {})).items():
            anchored = _anchored(doc)
            if anchored is not None:
                evidence.events[int(seq)] = anchored

    def history() -> None:
        evidence.history = [a for a in (_anchored(d) for d in bundle.get("history", []))
                            if a is not None]

    for name, parse in (("certificates", certificates), ("crl", crl),
                        ("checkpoint", checkpoint), ("anchor", anchor), ("block", block),
                        ("status", status), ("events", events), ("history", history)):
        part(name, parse)
    unavailable = bundle.get("unavailable", {})
    if isinstance(unavailable, dict):
        evidence.unavailable = {str(k): str(v) for k, v in unavailable.items()}
    return evidence


def verify_bundle(bundle: Any, trust_anchors: TrustAnchors | dict[str, Any], *,
                  now: dt.datetime | None = None) -> Report:
    """Verify an offline bundle (a parsed document, or its JSON bytes or text) against
    pinned trust anchors. No network, no database. ``MalformedBundle`` if ``bundle`` is
    not a bundle or the anchors do not parse; any other problem is in the report."""
    trust = (trust_anchors if isinstance(trust_anchors, TrustAnchors)
             else TrustAnchors.from_json(trust_anchors))
    return verify_evidence(evidence_from_bundle(bundle), trust, now=now)
