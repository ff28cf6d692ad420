"""Verification of one record version from evidence, with every check spelled out.

The answer is ``valid``, ``invalid`` or ``indeterminate``: any failed check makes it
``invalid``; otherwise any check that could not be carried out makes it
``indeterminate``; only when every check passed is it ``valid``. In particular a record
is never ``valid`` when its anchor or its status could not be checked.

Checks, in report order: ``schema`` (envelope and content schema, subject consistent with
content), ``integrity`` (digest recomputed from the salted core), ``signature`` (the
issuer's SM2 proof), ``issuer_authority`` (the issuer certificate chains to a pinned root
at the anchor block's time, was not revoked by then, and names the issuer and the right to
issue the type; a school only for its own people), ``review`` (an approval signed by a
reviewer with the right to review the type, and the region for app filings),
``anchor`` (the leaf matches the record, is included in a checkpoint signed by a pinned log
key, and lies in the orderer-signed block the anchor names), ``status`` (lifecycle state
and both Bitstring Status List snapshots, signed, anchored and fresh), ``validity``
(validity period) and ``history`` (signed, hash-chained lifecycle; later lifecycle
entries anchored; later anchored versions, i.e. supersession).

Evidence comes from an offline bundle (records.bundle) or from the live ledger and
database (records.registry); this module needs neither network nor database.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crypto.errors import CryptoError
from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding, SM2PublicKey
from crypto.sm3 import sm3
from crypto.x509 import Certificate, CertificateRevocationList, ChainValidationError, validate
from ledger.block import BlockHeader
from ledger.checkpoint import (
    Checkpoint,
    NoteVerifier,
    SignatureKind,
    SignedNote,
    WitnessPolicy,
    verify_checkpoint,
)
from ledger.errors import LedgerError
from ledger.leaves import parse_leaf
from ledger.merkle import ConsistencyProof, InclusionProof, leaf_hash, verify_inclusion
from records.anchoring import lifecycle_key
from records.envelope import Record, RecordType, SubjectKind
from records.errors import RecordsError
from records.issuers import Authority
from records.lifecycle import LIVE, State, Transition, chain_problems
from records.schema import content_schema, validate_content
from records.signing import ISSUE, REVIEW, signature_is_valid, statement_problems
from records.status import PURPOSES, StatusSnapshot
from records.timestamps import format_timestamp, utc_now

CHECKS = ("schema", "integrity", "signature", "issuer_authority", "review", "anchor",
          "status", "validity", "history")
# Clock skew tolerated between the platform that signed a snapshot and the verifier.
SKEW = dt.timedelta(minutes=5)


class Outcome(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    INDETERMINATE = "indeterminate"


class Overall(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    INDETERMINATE = "indeterminate"


@dataclass(frozen=True)
class Check:
    """One check's outcome, a stable ``code`` (``ok`` when it passed) and an English
    ``detail``; ``data`` carries facts a report shows (times, versions, ...)."""

    outcome: Outcome
    code: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome.value, "code": self.code, "detail": self.detail,
                **self.data}


def _pass(detail: str, **data: Any) -> Check:
    return Check(Outcome.PASS, "ok", detail, data)


def _fail(code: str, detail: str, **data: Any) -> Check:
    return Check(Outcome.FAIL, code, detail, data)


def _unknown(code: str, detail: str, **data: Any) -> Check:
    return Check(Outcome.INDETERMINATE, code, detail, data)


@dataclass(frozen=True)
class Report:
    overall: Overall
    checks: dict[str, Check]
    history: list[dict[str, Any]]
    record: dict[str, Any]
    checked_at: dt.datetime

    @property
    def superseded(self) -> bool:
        return self.checks["history"].code == "superseded"

    def to_json(self) -> dict[str, Any]:
        return {"overall": self.overall.value, "checked_at": format_timestamp(self.checked_at),
                "record": self.record,
                "checks": {name: check.to_json() for name, check in self.checks.items()},
                "history": self.history}


# --- evidence ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class AnchoredLeaf:
    """A ledger leaf and its inclusion proof in the evidence's checkpoint."""

    leaf: bytes
    proof: InclusionProof


@dataclass(frozen=True)
class SignedBlockHeader:
    """A block header's canonical bytes and the orderer's SM2 signature over them."""

    header: bytes
    signature: bytes


@dataclass(frozen=True)
class StatusEvidence:
    snapshot: StatusSnapshot
    anchored: AnchoredLeaf | None


@dataclass
class Evidence:
    """Everything verification looks at. ``unavailable`` names parts that could not be
    obtained (``ledger``, ``status``: e.g. the ledger was unreachable) and why;
    ``malformed`` names parts that did not parse."""

    record: Record | None
    record_problem: str | None = None
    certificates: dict[str, Certificate] = field(default_factory=dict)
    intermediates: list[Certificate] = field(default_factory=list)
    crl: CertificateRevocationList | None = None
    checkpoint: bytes | None = None
    anchored: AnchoredLeaf | None = None
    block: SignedBlockHeader | None = None
    previous_block: SignedBlockHeader | None = None
    block_consistency: ConsistencyProof | None = None
    status: dict[str, StatusEvidence] = field(default_factory=dict)
    events: dict[int, AnchoredLeaf] = field(default_factory=dict)
    history: list[AnchoredLeaf] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    malformed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TrustAnchors:
    """What a verifier pins: the platform root certificate(s), the log (checkpoint and
    block) verifier key(s), and optionally a witness policy for checkpoints."""

    roots: tuple[Certificate, ...]
    log_keys: tuple[NoteVerifier, ...]
    witness_policy: WitnessPolicy | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"format": "edutrust-trust-anchors/v1",
                               "root_certificates": [c.pem().decode() for c in self.roots],
                               "log_keys": [k.vkey() for k in self.log_keys]}
        if self.witness_policy is not None:
            doc["witness_keys"] = [w.vkey() for w in self.witness_policy.witnesses]
            doc["witness_threshold"] = self.witness_policy.threshold
        return doc

    @classmethod
    def from_json(cls, doc: Any) -> TrustAnchors:
        from records.errors import MalformedBundle

        try:
            roots = tuple(Certificate.from_pem(p.encode()) for p in doc["root_certificates"])
            keys = tuple(NoteVerifier.from_vkey(k) for k in doc["log_keys"])
            policy = None
            if doc.get("witness_keys"):
                witnesses = tuple(NoteVerifier.from_vkey(k) for k in doc["witness_keys"])
                policy = WitnessPolicy(witnesses, int(doc.get("witness_threshold", 0)))
        except (KeyError, TypeError, ValueError, AttributeError, CryptoError,
                LedgerError) as exc:
            raise MalformedBundle(f"not a trust-anchor document: {exc}") from None
        if not roots or not keys:
            raise MalformedBundle("trust anchors need at least one root certificate and "
                                  "one log key")
        if any(k.kind is not SignatureKind.NOTE for k in keys):
            raise MalformedBundle("log keys must be note (log) keys")
        return cls(roots, keys, policy)


# --- memoised certificate work ---------------------------------------------------------------
# A verifier checks many records of the same few organisations against the same roots:
# chain validation and CRL signatures are recomputed for identical, immutable inputs. Both
# are memoised here in bounded LRU maps keyed by the DER bytes of every input, so nothing
# that could differ between two verifications (the time asked about, revocation, the
# rights a certificate states) is ever taken from the cache.

class _LRU:
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class _ValidPath:
    """A path ``validate`` returned, the instants at which every certificate on it is
    within its validity period, and that it was the only path on offer."""

    path: tuple[Certificate, ...]
    not_before: dt.datetime
    not_after: dt.datetime


_PATHS = _LRU(1024)
_CRL_SIGNATURES = _LRU(256)
_CRL_SCOPES = _LRU(1024)


def _only_path(path: list[Certificate], intermediates: Sequence[Certificate],
               roots: Sequence[Certificate]) -> bool:
    """True if every link of ``path`` had exactly one candidate issuer, so that
    ``crypto.x509.validate`` (a depth-first search over candidates) finds this path, or
    none, at any time: then its time-independent checks (signatures, constraints) hold
    at every instant and only the validity periods depend on the time."""
    for position, child in enumerate(path[:-1]):
        seen = set(path[:position + 1])
        candidates = {c for c in (*roots, *intermediates)
                      if c.subject == child.issuer and c not in seen}
        if len(candidates) != 1:
            return False
    return True


def validated_path(certificate: Certificate, intermediates: Sequence[Certificate],
                   roots: Sequence[Certificate], *, at: dt.datetime) -> list[Certificate]:
    """``crypto.x509.validate(certificate, intermediates, roots, at=at)``, memoised: a
    path found once for the same certificate, intermediates and roots is reused at any
    ``at`` within every certificate's validity period, when it was the only possible
    path (otherwise, and for every failure, ``validate`` runs again)."""
    key = (certificate.der(), tuple([c.der() for c in intermediates]),
           tuple([c.der() for c in roots]))
    cached: _ValidPath | None = _PATHS.get(key)
    if cached is not None and cached.not_before <= at <= cached.not_after:
        return list(cached.path)
    path = validate(certificate, intermediates, roots, at=at)
    if _only_path(path, intermediates, roots):
        _PATHS.put(key, _ValidPath(tuple(path), max(c.not_before for c in path),
                                   min(c.not_after for c in path)))
    return path


def crl_signed_by(crl: CertificateRevocationList, issuer: Certificate) -> bool:
    """Whether ``issuer``'s key signed ``crl`` (memoised per CRL and issuer bytes)."""
    key = (crl.der(), issuer.der())
    known: bool | None = _CRL_SIGNATURES.get(key)
    if known is None:
        try:
            crl.verify_signature(issuer)
            known = True
        except CryptoError:
            known = False
        _CRL_SIGNATURES.put(key, known)
    return known


def crl_names_issuer_of(crl: CertificateRevocationList, certificate: Certificate) -> bool:
    """Whether ``crl``'s issuer is the name that issued ``certificate`` (memoised per CRL
    and certificate bytes: comparing X.509 names is dearer than the lookup)."""
    key = (crl.der(), certificate.der())
    known: bool | None = _CRL_SCOPES.get(key)
    if known is None:
        known = crl.issuer == certificate.issuer
        _CRL_SCOPES.put(key, known)
    return known


# --- the checks -------------------------------------------------------------------------------

@dataclass
class _Context:
    evidence: Evidence
    trust: TrustAnchors
    now: dt.datetime
    record: Record
    digest: str
    checkpoint: Checkpoint | None = None
    checkpoint_problem: Check | None = None
    anchored_at: dt.datetime | None = None
    leaf: dict[str, Any] | None = None


def _schema(ctx: _Context) -> Check:
    record = ctx.record
    try:
        schema = content_schema(record.type.value, record.schema.version)
        if schema.schema_id != record.schema.id:
            return _fail("unknown_schema", f"schema {record.schema.id} is not the schema of "
                                           f"{record.type} version {record.schema.version}")
        validate_content(record.type.value, record.schema.version, record.content)
    except RecordsError as exc:
        return _fail("content_schema", str(exc))
    problem = _subject_problem(record)
    if problem:
        return _fail("subject_mismatch", problem)
    return _pass(f"the content satisfies {record.schema.id}", schema=record.schema.id)


def _subject_problem(record: Record) -> str | None:
    """The subject must be the one the content is about."""
    content, subject = record.content, record.subject
    expected: tuple[SubjectKind, str | None, str | None] | None = None
    if record.type is RecordType.ARCHIVE_ENTRY:
        if subject.kind is not SubjectKind.PERSON or not subject.org:
            return "an archive entry's subject is a person of an organisation"
        return None
    if record.type is RecordType.COPYRIGHT_REGISTRATION:
        expected = (SubjectKind.RESOURCE, content["content"]["sm3"], subject.org)
    elif record.type is RecordType.APP_FILING:
        expected = (SubjectKind.APP, content["app"]["package_id"],
                    content["provider"]["credit_code"])
    elif record.type is RecordType.CREDIT_RECORD:
        expected = (SubjectKind.ORGANISATION, content["credit_code"], None)
    if expected is not None and (subject.kind, subject.ref, subject.org) != expected:
        return f"the subject of a {record.type} must be {expected[0]} {expected[1]}"
    return None


def _integrity(ctx: _Context) -> Check:
    record = ctx.record
    if record.salt is None:
        return _unknown("salt_erased", "the record's salt is not present (erased or "
                                       "withheld), so its digest cannot be recomputed")
    computed = record.compute_digest()
    if computed != record.digest:
        return _fail("digest_mismatch", "the digest recomputed from the record does not "
                                        "match the digest it states", computed=computed)
    return _pass("SM3 over the salted canonical record matches the digest",
                 digest=computed)


def _certificate(ctx: _Context, kid: str) -> Certificate | None:
    return ctx.evidence.certificates.get(kid)


def _issuer_signature(ctx: _Context) -> Check:
    record = ctx.record
    proof = record.proof(ISSUE)
    if proof is None:
        return _fail("missing_proof", "the record carries no issuer signature")
    if (proof.org, proof.kid) != (record.issuer.org, record.issuer.kid):
        return _fail("issuer_mismatch", f"the issuer proof is by {proof.org} ({proof.kid}), "
                                        f"not the issuer {record.issuer.org} "
                                        f"({record.issuer.kid})")
    problems = statement_problems(proof, record, ctx.digest)
    if problems:
        return _fail("statement_mismatch", "; ".join(problems))
    certificate = _certificate(ctx, proof.kid)
    if certificate is None:
        return _unknown("certificate_missing", f"no certificate for key {proof.kid}")
    if Authority.of(certificate).org != proof.org:
        return _fail("wrong_organisation", f"the certificate of {proof.kid} belongs to "
                                           f"{Authority.of(certificate).org}, not {proof.org}")
    if not signature_is_valid(proof, certificate.public_key()):
        return _fail("bad_signature", f"the SM2 signature of {proof.org} does not verify")
    return _pass(f"signed by {proof.org} with {proof.kid}", org=proof.org, kid=proof.kid,
                 signed_at=format_timestamp(proof.created))


def _authority(ctx: _Context, certificate: Certificate, *, org: str, right: str,
               allowed: Callable[[Authority], bool], region: str | None = None) -> Check:
    """Chain to a pinned root at the anchor time, the rights the certificate states,
    and no revocation on or before the anchor time."""
    at = ctx.anchored_at
    if at is None:
        return _unknown("anchor_time_unknown", "the anchor block's time is not known, so "
                                               "the certificate cannot be checked at it")
    try:
        path = validated_path(certificate, ctx.evidence.intermediates, ctx.trust.roots,
                              at=at)
    except ChainValidationError as exc:
        return _fail(f"chain_{exc.reason.value}", f"the certificate of {org} does not "
                                                  f"validate at {format_timestamp(at)}: {exc}")
    authority = Authority.of(certificate)
    if authority.org != org:
        return _fail("wrong_organisation", f"the certificate names {authority.org}, not {org}")
    if not allowed(authority):
        return _fail("not_authorised", f"the certificate of {org} does not grant {right}")
    if region is not None and authority.region != region:
        return _fail("region_mismatch", f"{org} is responsible for region "
                                        f"{authority.region}, not {region}")
    crl = ctx.evidence.crl
    issuer = path[1] if len(path) > 1 else path[0]
    if crl is None:
        return _unknown("revocation_unknown", "no CRL of the platform CA is available")
    if not crl_signed_by(crl, issuer):
        return _unknown("revocation_unknown", "the CRL is not signed by the issuing CA")
    if not crl_names_issuer_of(crl, certificate):
        return _unknown("revocation_unknown", "the CRL is from another CA")
    if crl.this_update < at.replace(microsecond=0):  # CRL times are whole seconds
        return _unknown("revocation_unknown", "the CRL is older than the anchor, so it "
                                              "cannot show revocations up to it")
    entry = crl.get_revoked(certificate.serial_number)
    data = {"org": org, "at": format_timestamp(at)}
    if entry is not None and entry.revocation_date <= at:
        return _fail("revoked", f"the certificate of {org} was revoked at "
                                f"{format_timestamp(entry.revocation_date)}, before the "
                                f"anchor", **data)
    if entry is not None:
        data["revoked_later"] = format_timestamp(entry.revocation_date)
    return _pass(f"{org} held {right} at {format_timestamp(at)}", **data)


def _issuer_authority(ctx: _Context) -> Check:
    record = ctx.record
    certificate = _certificate(ctx, record.issuer.kid)
    if certificate is None:
        return _unknown("certificate_missing", f"no certificate for key {record.issuer.kid}")
    if record.type is RecordType.ARCHIVE_ENTRY and record.subject.org != record.issuer.org:
        return _fail("foreign_subject", f"{record.issuer.org} registered an entry for a "
                                        f"person of {record.subject.org}")
    right = f"the right to issue {record.type}"
    return _authority(ctx, certificate, org=record.issuer.org, right=right,
                      allowed=lambda a: record.type.value in a.issues)


def _review(ctx: _Context) -> Check:
    record = ctx.record
    proof, review = record.proof(REVIEW), record.review
    if proof is None or review is None:
        return _fail("not_reviewed", "the record carries no review")
    if review.decision != "approved":
        return _fail("not_approved", f"the review decision is {review.decision}")
    if proof.review != review or proof.org != review.org:
        return _fail("review_mismatch", "the signed review differs from the stated one")
    problems = statement_problems(proof, record, ctx.digest)
    if problems:
        return _fail("statement_mismatch", "; ".join(problems))
    if proof.org == record.issuer.org:
        return _fail("self_review", "the issuer reviewed its own record")
    certificate = _certificate(ctx, proof.kid)
    if certificate is None:
        return _unknown("certificate_missing", f"no certificate for key {proof.kid}")
    if not signature_is_valid(proof, certificate.public_key()):
        return _fail("bad_signature", f"the review signature of {proof.org} does not verify")
    region = (record.content["provider"]["province"]
              if record.type is RecordType.APP_FILING else None)
    check = _authority(ctx, certificate, org=proof.org,
                       right=f"the right to review {record.type}",
                       allowed=lambda a: record.type.value in a.reviews, region=region)
    if check.outcome is Outcome.PASS:
        return _pass(f"approved by {proof.org} at {format_timestamp(review.at)}",
                     org=proof.org, decided_at=format_timestamp(review.at),
                     assigned=dict(review.assigned))
    return check


def _verify_checkpoint(ctx: _Context) -> None:
    note = ctx.evidence.checkpoint
    if note is None:
        ctx.checkpoint_problem = _unknown("checkpoint_missing", "no signed checkpoint")
        return
    if not ctx.trust.log_keys:
        ctx.checkpoint_problem = _unknown("no_pinned_log_key", "no log key is pinned")
        return
    errors = []
    for key in ctx.trust.log_keys:
        try:
            verified = verify_checkpoint(note, key, policy=ctx.trust.witness_policy)
        except LedgerError as exc:
            errors.append(str(exc))
            continue
        ctx.checkpoint = verified.checkpoint
        return
    ctx.checkpoint_problem = _fail("checkpoint_signature", "the checkpoint is not signed "
                                   "by a pinned log key: " + "; ".join(errors))


def _included(ctx: _Context, anchored: AnchoredLeaf, index: int | None = None) -> str | None:
    """Why ``anchored`` is not proven in the checkpoint (None when it is)."""
    checkpoint = ctx.checkpoint
    assert checkpoint is not None
    proof = anchored.proof
    if index is not None and proof.index != index:
        return f"the proof is for leaf {proof.index}, not {index}"
    if proof.size != checkpoint.size:
        return f"the proof is for a tree of {proof.size}, the checkpoint has {checkpoint.size}"
    try:
        verify_inclusion(leaf_hash(anchored.leaf), proof.index, proof.size, proof.hashes,
                         checkpoint.root_hash)
    except LedgerError as exc:
        return f"inclusion proof: {exc}"
    return None


def expected_metadata(record: Record) -> dict[str, Any]:
    """The metadata a record version's leaf carries."""
    approval = approval_entry(record.lifecycle)
    return {"type": record.type.value, "schema": record.schema.id,
            "schema_version": record.schema.version, "record_version": record.version,
            "lifecycle": approval.hash() if approval else None}


def approval_entry(history: tuple[Transition, ...]) -> Transition | None:
    return next((t for t in reversed(history) if t.target is State.APPROVED), None)


@functools.lru_cache(maxsize=256)
def _block_header(encoded: bytes) -> BlockHeader:
    """``BlockHeader.decode``, kept by the header's exact bytes: the bundles of the records
    anchored in one block carry the same two headers. Only parsing is kept (a header is
    immutable, and one that does not parse raises every time); the signature over the
    bytes is checked at every verification."""
    return BlockHeader.decode(encoded)


def _verify_header(ctx: _Context, signed: SignedBlockHeader) -> BlockHeader | None:
    try:
        header = _block_header(signed.header)
    except LedgerError:
        return None
    for key in ctx.trust.log_keys:
        try:
            key.public_key.verify(signed.signature, signed.header, signer_id=DEFAULT_SIGNER_ID,
                                  encoding=SignatureEncoding.DER)
        except CryptoError:
            continue
        return header
    return None


def _block_problem(ctx: _Context) -> tuple[str, str] | None:
    """Place the leaf in the block the anchor names and learn that block's time."""
    ev, anchor, checkpoint = ctx.evidence, ctx.record.anchor, ctx.checkpoint
    assert anchor is not None and checkpoint is not None
    if ev.block is None or ev.previous_block is None:
        return None  # anchor time stays unknown: issuer authority will say so
    header = _verify_header(ctx, ev.block)
    previous = _verify_header(ctx, ev.previous_block)
    if header is None or previous is None:
        return "block_signature", "a block header is not signed by a pinned log key"
    if header.number != anchor.block or previous.number != anchor.block - 1:
        return "block_mismatch", f"the block headers are not blocks {anchor.block - 1} and " \
                                 f"{anchor.block}"
    if header.previous_hash != sm3(ev.previous_block.header):
        return "block_mismatch", "block headers do not chain"
    if header.channel != anchor.channel:
        return "block_mismatch", f"block of channel {header.channel}, not {anchor.channel}"
    if not previous.tree_size <= anchor.leaf_index < header.tree_size:
        return "block_mismatch", f"leaf {anchor.leaf_index} was not added in block " \
                                 f"{anchor.block}"
    if header.tree_size > checkpoint.size:
        return "block_mismatch", "the block is beyond the checkpoint"
    if header.tree_size == checkpoint.size:
        if header.tree_root != checkpoint.root_hash:
            return "block_mismatch", "the block's tree differs from the checkpoint's"
    else:
        proof = ev.block_consistency
        if proof is None or (proof.first, proof.second) != (header.tree_size, checkpoint.size):
            return "block_mismatch", "no consistency proof from the block to the checkpoint"
        try:
            proof.verify(header.tree_root, checkpoint.root_hash)
        except LedgerError as exc:
            return "block_mismatch", f"the block's tree is not a prefix of the " \
                                     f"checkpoint's: {exc}"
    ctx.anchored_at = header.timestamp
    return None


def _anchor(ctx: _Context) -> Check:
    record, ev = ctx.record, ctx.evidence
    anchor = record.anchor
    if anchor is None:
        return _fail("not_anchored", f"the record is {record.state}, not anchored")
    if "ledger" in ev.unavailable:
        return _unknown("ledger_unavailable", ev.unavailable["ledger"])
    if ctx.checkpoint_problem is not None:
        return ctx.checkpoint_problem
    if ev.anchored is None:
        return _unknown("leaf_missing", "no ledger leaf for the anchor")
    try:
        leaf = parse_leaf(ev.anchored.leaf)
    except LedgerError as exc:
        return _fail("leaf_malformed", str(exc))
    expected = {"channel": anchor.channel, "tx_id": anchor.tx_id, "key": record.key,
                "version": anchor.version, "digest": ctx.digest,
                "metadata": expected_metadata(record)}
    wrong = sorted(k for k, v in expected.items() if leaf.get(k) != v)
    if anchor.key != record.key:
        wrong.append("anchor key")
    if wrong:
        return _fail("leaf_mismatch", "the ledger leaf does not match the record: "
                                      + ", ".join(wrong))
    problem = _included(ctx, ev.anchored, anchor.leaf_index)
    if problem:
        return _fail("inclusion_proof", problem)
    ctx.leaf = leaf
    block = _block_problem(ctx)
    if block is not None:
        return _fail(*block)
    assert ctx.checkpoint is not None
    data: dict[str, Any] = {"leaf_index": anchor.leaf_index, "block": anchor.block,
                            "tx_id": anchor.tx_id, "ledger_version": anchor.version,
                            "anchored_by": leaf["msp_id"],
                            "checkpoint": {"origin": ctx.checkpoint.origin,
                                           "size": ctx.checkpoint.size}}
    if ctx.anchored_at is not None:
        data["anchored_at"] = format_timestamp(ctx.anchored_at)
    return _pass(f"leaf {anchor.leaf_index} is in the log of {ctx.checkpoint.origin} "
                 f"(checkpoint of {ctx.checkpoint.size} leaves)", **data)


def _status(ctx: _Context) -> Check:
    record, ev = ctx.record, ctx.evidence
    state = record.state
    if state is State.SUSPENDED:
        return _fail("suspended", "the record is suspended", state=state.value)
    if state in (State.REVOKED, State.WITHDRAWN, State.EXPIRED):
        return _fail(state.value, f"the record is {state.value}", state=state.value)
    if state not in LIVE:
        return _fail("not_active", f"the record is {state.value}", state=state.value)
    if "status" in ev.unavailable:
        return _unknown("ledger_unavailable", ev.unavailable["status"])
    if ctx.checkpoint is None:
        return ctx.checkpoint_problem or _unknown("checkpoint_missing", "no checkpoint")
    seen: dict[str, Any] = {}
    for purpose in PURPOSES:
        evidence = ev.status.get(purpose)
        if evidence is None:
            return _unknown("snapshot_missing", f"no {purpose} status list snapshot")
        snap = evidence.snapshot
        if (snap.list_id, snap.purpose, snap.org) != (record.status.list, purpose,
                                                      record.issuer.org):
            return _fail("snapshot_mismatch", f"the {purpose} snapshot is not of list "
                                              f"{record.status.list} of {record.issuer.org}")
        certificate = _certificate(ctx, snap.kid)
        if certificate is None:
            return _unknown("certificate_missing", f"no certificate for key {snap.kid}")
        try:
            validated_path(certificate, ev.intermediates, ctx.trust.roots,
                           at=snap.valid_from)
        except ChainValidationError as exc:
            return _fail("snapshot_signer", f"the snapshot signer's certificate: {exc}")
        if Authority.of(certificate).org != snap.org or not snap.signature_is_valid(
                certificate.public_key()):
            return _fail("snapshot_signature", f"the {purpose} snapshot is not signed by "
                                               f"{snap.org}")
        if evidence.anchored is None:
            return _unknown("snapshot_not_anchored", f"no anchor for the {purpose} snapshot")
        try:
            leaf = _snapshot_leaf(evidence.anchored.leaf)
        except LedgerError as exc:
            return _fail("snapshot_anchor", str(exc))
        if leaf["key"] != snap.key or leaf["digest"] != snap.digest():
            return _fail("snapshot_anchor", f"the ledger leaf is not the {purpose} snapshot")
        problem = _included(ctx, evidence.anchored)
        if problem:
            return _fail("snapshot_anchor", problem)
        if ctx.now > snap.valid_until:
            return _unknown("snapshot_stale", f"the {purpose} snapshot expired at "
                                              f"{format_timestamp(snap.valid_until)}")
        if ctx.now + SKEW < snap.valid_from:
            return _unknown("snapshot_stale", f"the {purpose} snapshot is from the future")
        if record.status.index >= snap.size:
            return _fail("slot_mismatch", "the status index is outside the list")
        if snap.is_set(record.status.index):
            word = "revoked" if purpose == "revocation" else "suspended"
            return _fail(word, f"the {purpose} list marks the record {word}",
                         snapshot=format_timestamp(snap.valid_from))
        seen[purpose] = {"sequence": snap.sequence,
                         "valid_from": format_timestamp(snap.valid_from),
                         "valid_until": format_timestamp(snap.valid_until)}
    return _pass("neither revoked nor suspended", list=record.status.list,
                 index=record.status.index, snapshots=seen)


def _snapshot_leaf(raw: bytes) -> dict[str, Any]:
    """``parse_leaf(raw)``, kept per exact bytes for the leaves of status snapshots: every
    record of a list carries the same two. Only parsing is kept (a leaf that does not
    parse raises every time); what the leaf must match and its inclusion are checked at
    every verification. The dict is shared: read it, never change it."""
    return _parsed_leaf(raw) if type(raw) is bytes else parse_leaf(raw)


@functools.lru_cache(maxsize=64)
def _parsed_leaf(raw: bytes) -> dict[str, Any]:
    return parse_leaf(raw)


def _validity(ctx: _Context) -> Check:
    validity = ctx.record.validity
    data = {"from": format_timestamp(validity.valid_from),
            "until": format_timestamp(validity.valid_until) if validity.valid_until else None}
    if ctx.now < validity.valid_from:
        return _fail("not_yet_valid", f"valid from {data['from']}", **data)
    if validity.valid_until is not None and ctx.now >= validity.valid_until:
        return _fail("expired", f"expired at {data['until']}", **data)
    return _pass("within its validity period", **data)


def _key_for(ctx: _Context) -> Callable[[str, str], SM2PublicKey | None]:
    def lookup(org: str, kid: str) -> SM2PublicKey | None:
        certificate = _certificate(ctx, kid)
        if certificate is None or Authority.of(certificate).org != org:
            return None
        return certificate.public_key()

    return lookup


def _lifecycle_events(ctx: _Context) -> Check | None:
    """Lifecycle entries after activation must be anchored."""
    record, ev = ctx.record, ctx.evidence
    activation = next((t.seq for t in record.lifecycle if t.target is State.ACTIVE), None)
    if activation is None:
        return None
    for entry in record.lifecycle[activation + 1:]:
        anchored = ev.events.get(entry.seq)
        if anchored is None:
            if "ledger" in ev.unavailable:
                return _unknown("ledger_unavailable", ev.unavailable["ledger"])
            return _unknown("event_not_anchored", f"no anchor for lifecycle entry "
                                                  f"{entry.seq} ({entry.target})")
        if ctx.checkpoint is None:
            return ctx.checkpoint_problem
        try:
            leaf = parse_leaf(anchored.leaf)
        except LedgerError as exc:
            return _fail("event_anchor", str(exc))
        metadata = {"type": "lifecycle", "seq": entry.seq, "to": entry.target.value}
        if (leaf["key"], leaf["digest"], leaf["metadata"]) != (
                lifecycle_key(record.id, record.version), entry.hash(), metadata):
            return _fail("event_anchor", f"the leaf of lifecycle entry {entry.seq} does not "
                                         f"match it")
        problem = _included(ctx, anchored)
        if problem:
            return _fail("event_anchor", f"lifecycle entry {entry.seq}: {problem}")
    return None


def _history(ctx: _Context) -> tuple[Check, list[dict[str, Any]]]:
    record, ev = ctx.record, ctx.evidence
    versions: list[dict[str, Any]] = []
    if record.anchor is not None and ctx.leaf is not None:
        versions.append({"ledger_version": record.anchor.version,
                         "record_version": record.version, "digest": ctx.digest,
                         "leaf_index": record.anchor.leaf_index, "this": True})
    problems, unknown = chain_problems(record.lifecycle, record=record.id,
                                       version=record.version, digest=record.digest,
                                       key_for=_key_for(ctx))
    if record.lifecycle and record.lifecycle[-1].target is not record.state:
        problems.append(f"the history ends in {record.lifecycle[-1].target}, the record "
                        f"says {record.state}")
    if problems:
        return _fail("lifecycle_invalid", "; ".join(problems)), versions
    later: dict[str, Any] | None = None
    for anchored in ev.history:
        if ctx.checkpoint is None:
            break
        try:
            leaf = parse_leaf(anchored.leaf)
        except LedgerError as exc:
            return _fail("history_invalid", str(exc)), versions
        problem = _included(ctx, anchored)
        if leaf["key"] != record.key or problem:
            return _fail("history_invalid", problem or "a history leaf is of another "
                                                       "record"), versions
        entry = {"ledger_version": leaf["version"],
                 "record_version": leaf["metadata"].get("record_version"),
                 "digest": leaf["digest"], "leaf_index": anchored.proof.index,
                 "this": False}
        if entry["ledger_version"] == (record.anchor.version if record.anchor else None):
            continue
        versions.append(entry)
        if record.anchor is not None and leaf["version"] > record.anchor.version and (
                later is None or leaf["version"] > later["ledger_version"]):
            later = entry
    versions.sort(key=lambda v: v["ledger_version"])
    if later is not None:
        return _fail("superseded", f"superseded by record version {later['record_version']}",
                     superseded_by=later), versions
    if unknown:
        return _unknown("lifecycle_unverifiable", "; ".join(unknown)), versions
    events = _lifecycle_events(ctx)
    if events is not None:
        return events, versions
    lifecycle = [{"seq": t.seq, "from": t.source.value if t.source else None,
                  "to": t.target.value, "at": format_timestamp(t.at), "role": t.role,
                  "org": t.org} for t in record.lifecycle]
    return _pass("signed lifecycle intact; no later version", lifecycle=lifecycle), versions


def _overall(checks: dict[str, Check]) -> Overall:
    outcomes = {c.outcome for c in checks.values()}
    if Outcome.FAIL in outcomes:
        return Overall.INVALID
    if Outcome.INDETERMINATE in outcomes:
        return Overall.INDETERMINATE
    return Overall.VALID


def verify_evidence(evidence: Evidence, trust: TrustAnchors, *,
                    now: dt.datetime | None = None) -> Report:
    """Run every check on ``evidence`` against the pinned ``trust`` anchors."""
    when = now or utc_now()
    record = evidence.record
    if record is None:
        checks = {name: _unknown("not_checked", "the record could not be read")
                  for name in CHECKS}
        checks["schema"] = _fail("malformed_envelope", evidence.record_problem or
                                 "the record is not an envelope")
        return Report(Overall.INVALID, checks, [], {}, when)
    ctx = _Context(evidence, trust, when, record, record.digest)
    runners: dict[str, Callable[[_Context], Check]] = {
        "schema": _schema, "integrity": _integrity, "signature": _issuer_signature,
        "anchor": _anchor, "issuer_authority": _issuer_authority, "review": _review,
        "status": _status, "validity": _validity}
    _verify_checkpoint(ctx)
    results: dict[str, Check] = {}
    for name, run in runners.items():  # anchor before authority: it learns the time
        try:
            results[name] = run(ctx)
        except (RecordsError, LedgerError, CryptoError, KeyError, TypeError,
                ValueError) as exc:
            results[name] = _fail("malformed_evidence", f"{type(exc).__name__}: {exc}")
    try:
        results["history"], versions = _history(ctx)
    except (RecordsError, LedgerError, CryptoError, KeyError, TypeError, ValueError) as exc:
        results["history"], versions = _fail("malformed_evidence", str(exc)), []
    for part, problem in evidence.malformed.items():
        name = _PART_CHECK.get(part, "anchor")
        if results[name].outcome is not Outcome.FAIL:
            results[name] = _fail("malformed_evidence", f"{part}: {problem}")
    checks = {name: results[name] for name in CHECKS}
    summary = {"id": record.id, "type": record.type.value, "version": record.version,
               "digest": record.digest, "issuer": record.issuer.org,
               "state": record.state.value}
    return Report(_overall(checks), checks, versions, summary, when)


# Which check a malformed part of the evidence belongs to.
_PART_CHECK = {"certificates": "issuer_authority", "crl": "issuer_authority",
               "checkpoint": "anchor", "anchor": "anchor", "block": "anchor",
               "status": "status", "events": "history", "history": "history"}


def checkpoint_size(note: bytes) -> int:
    """The tree size a signed checkpoint states (unverified: for building proofs)."""
    return Checkpoint.from_text(SignedNote.parse(note).text).size
