"""The records registry: creating, reviewing, anchoring, suspending, revoking and amending
records, and gathering the evidence that verifies them.

This is the domain core the HTTP API and the CLI call. It checks what an organisation may
do from its registered rights (who acts for whom — the person, their directory roles and
token scopes — is the caller's business), signs through the organisations' key handles,
anchors through the ledger and keeps every version in the store. Nothing is edited in
place: transitions append signed lifecycle entries, amendments add versions.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from crypto.errors import CryptoError
from crypto.keys.provider import SM2Signer
from ledger.checkpoint import SignatureKind, WitnessPolicy
from ledger.contracts.anchoring import MAX_ENTRIES
from ledger.errors import LedgerError
from records.anchoring import AnchorRequest, LedgerView, RecordAnchoring, lifecycle_key
from records.bulk import (
    ActivationJob,
    ChainJob,
    EnvelopeJob,
    SigningPool,
    activated,
    activation_entries,
    active_envelopes,
    awaiting_anchor,
    build_chains,
    build_chains_only,
    check_content,
    default_workers,
)
from records.digest import new_salt
from records.envelope import (
    Anchor,
    IssuerRef,
    Record,
    RecordType,
    Review,
    SchemaRef,
    StatusSlot,
    Subject,
    SubjectKind,
    Validity,
    VersionLink,
)
from records.errors import (
    AnchoringFailed,
    BulkRejected,
    IllegalTransition,
    NotAuthorised,
    RecordsError,
    SchemaViolation,
)
from records.issuers import IssuerRegistry
from records.lifecycle import (
    AMENDABLE,
    LIVE,
    Actor,
    State,
    Transition,
    check_transition,
    sign_transition,
)
from records.schema import content_schema, validate_content
from records.signing import ISSUE, REVIEW, sign_proof
from records.status import LIST_SIZE, PURPOSES, StatusSnapshot, sign_snapshot
from records.store import RecordStore
from records.timestamps import utc_now
from records.verification import (
    AnchoredLeaf,
    Evidence,
    Report,
    SignedBlockHeader,
    StatusEvidence,
    TrustAnchors,
    checkpoint_size,
    expected_metadata,
    verify_evidence,
)

# Records per anchoring transaction in bulk work: the contract's limit.
ANCHOR_BATCH = MAX_ENTRIES
# Records encoded for the database at a time while workers still sign the others.
_ENCODE_CHUNK = 500
# What counts as "the ledger could not be reached" while gathering evidence.
_UNREACHABLE = (LedgerError, SQLAlchemyError, OSError, AnchoringFailed)


def subject_for(record_type: RecordType, content: dict[str, Any], issuer: str) -> Subject:
    """The subject a record of these types is about, taken from its content (archive
    entries name a person instead: the caller gives that subject)."""
    if record_type is RecordType.COPYRIGHT_REGISTRATION:
        return Subject(SubjectKind.RESOURCE, content["content"]["sm3"], issuer)
    if record_type is RecordType.APP_FILING:
        return Subject(SubjectKind.APP, content["app"]["package_id"],
                       content["provider"]["credit_code"])
    if record_type is RecordType.CREDIT_RECORD:
        return Subject(SubjectKind.ORGANISATION, content["credit_code"], None)
    raise ValueError("an archive entry's subject is the person it is about")


@dataclass(frozen=True)
class NewRecord:
    """One record for ``register_many``: its content, subject (archive entries: the
    person; other types: None, taken from the content), validity and, optionally, the
    id it gets (a caller that must recognise it later, e.g. an idempotent import)."""

    content: dict[str, Any]
    subject: Subject | None = None
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    record_id: str | None = None


@dataclass(frozen=True)
class _AnchoredBatch:
    """Records whose digests one ledger transaction has anchored, awaiting activation."""

    records: list[Record]
    anchors: list[Anchor]
    previous_anchored: list[Record | None]
    at: dt.datetime

    @property
    def ids(self) -> set[str]:
        return {r.id for r in self.records}


def system_actor(org: str) -> Actor:
    """The platform acting for ``org`` (activation after anchoring, expiry, ...)."""
    return Actor("edutrust", "system", org)


class RecordRegistry:
    """Every action on records; one instance per process is enough (it holds no state
    besides caches of certificates)."""

    def __init__(self, store: RecordStore, issuers: IssuerRegistry,
                 anchoring: RecordAnchoring, *, ledger: LedgerView | None = None,
                 trust: TrustAnchors | None = None,
                 snapshot_ttl: dt.timedelta = dt.timedelta(days=30),
                 status_list_size: int = LIST_SIZE,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.store = store
        self.issuers = issuers
        self.anchoring = anchoring
        self.ledger: LedgerView = ledger if ledger is not None else anchoring.ledger
        self._trust = trust
        self.snapshot_ttl = snapshot_ttl
        self.status_list_size = status_list_size
        self.clock = clock

    # -- trust --------------------------------------------------------------------------
    def trust_anchors(self) -> TrustAnchors:
        """What a verifier should pin: the platform root and the ledger's log key (and
        its witnesses, all of which must cosign)."""
        if self._trust is None:
            verifiers = self.ledger.verifiers()
            log = tuple(v for v in verifiers if v.kind is SignatureKind.NOTE)
            witnesses = tuple(v for v in verifiers if v.kind is SignatureKind.COSIGNATURE)
            policy = WitnessPolicy(witnesses, len(witnesses)) if witnesses else None
            self._trust = TrustAnchors(tuple(self.issuers.root_certificates()), log, policy)
        return self._trust

    # -- creation and amendment ------------------------------------------------------------
    def create(self, record_type: str, content: dict[str, Any], *, actor: Actor,
               subject: Subject | None = None, valid_from: dt.datetime | None = None,
               valid_until: dt.datetime | None = None,
               schema_version: int | None = None) -> Record:
        """A new record in state ``draft``, issued by ``actor.org``."""
        try:
            kind = RecordType(record_type)
        except ValueError:
            raise SchemaViolation(f"unknown record type {record_type!r}") from None
        schema = content_schema(kind.value, schema_version)
        validate_content(kind.value, schema.version, content)
        issuer = actor.org
        self.issuers.require(issuer, issues=kind.value)
        if subject is None:
            subject = subject_for(kind, content, issuer)
        self._check_subject(kind, subject, content, issuer)
        now = self.clock()
        [(list_id, index)] = self.store.allocate_slots(issuer, 1, self.status_list_size, now)
        record = self._new_version(
            record_id=str(uuid.uuid4()), kind=kind, schema=SchemaRef(schema.schema_id,
                                                                     schema.version),
            version=1, previous=None, issuer=issuer, subject=subject,
            validity=Validity((valid_from or now).replace(microsecond=0),
                              valid_until.replace(microsecond=0) if valid_until else None),
            slot=StatusSlot(list_id, index), content=content, actor=actor, now=now,
            comment=None)
        self.store.insert(record, now)
        return record

    def _check_subject(self, kind: RecordType, subject: Subject, content: dict[str, Any],
                       issuer: str) -> None:
        if kind is not RecordType.ARCHIVE_ENTRY:
            if subject != subject_for(kind, content, issuer):
                raise SchemaViolation(f"the subject of a {kind} is what its content names")
            return
        if subject.kind is not SubjectKind.PERSON or not subject.org:
            raise SchemaViolation("an archive entry's subject is a person reference with "
                                  "the person's organisation")
        if subject.org != issuer:
            raise NotAuthorised(f"{issuer} may register archive entries only for its own "
                                f"people, not for people of {subject.org}")

    def _new_version(self, *, record_id: str, kind: RecordType, schema: SchemaRef,
                     version: int, previous: VersionLink | None, issuer: str,
                     subject: Subject, validity: Validity, slot: StatusSlot,
                     content: dict[str, Any], actor: Actor, now: dt.datetime,
                     comment: str | None) -> Record:
        kid, _ = self.issuers.signer(issuer)
        draft = Record(id=record_id, type=kind, schema=schema, version=version,
                       previous=previous, issuer=IssuerRef(issuer, kid), subject=subject,
                       validity=validity, status=slot, content=content, salt=new_salt(),
                       digest="", state=State.DRAFT)
        draft = draft.with_changes(digest=draft.compute_digest())
        return self._transition(draft, State.DRAFT, actor, comment, now)

    def amend(self, record_id: str, content: dict[str, Any], *, actor: Actor,
              valid_until: dt.datetime | None = None, comment: str | None = None) -> Record:
        """A new version (draft) of a returned, active or suspended record, linked to it.
        The new version is reviewed and anchored again; the old one stays as it is until
        the new one is anchored, then it is superseded."""
        latest = self.store.get(record_id)
        if latest.state not in AMENDABLE:
            raise IllegalTransition(latest.state.value, "amended",
                                    tuple(sorted(s.value for s in AMENDABLE)))
        self._require_issuer(latest, actor)
        schema = content_schema(latest.type.value)
        validate_content(latest.type.value, schema.version, content)
        subject = latest.subject if latest.type is RecordType.ARCHIVE_ENTRY else \
            subject_for(latest.type, content, latest.issuer.org)
        if subject.ref != latest.subject.ref:
            raise SchemaViolation("an amendment cannot change what the record is about")
        now = self.clock()
        validity = Validity(latest.validity.valid_from,
                            valid_until.replace(microsecond=0) if valid_until
                            else latest.validity.valid_until)
        record = self._new_version(
            record_id=record_id, kind=latest.type,
            schema=SchemaRef(schema.schema_id, schema.version), version=latest.version + 1,
            previous=VersionLink(record_id, latest.version, latest.digest),
            issuer=latest.issuer.org, subject=subject, validity=validity,
            slot=latest.status, content=content, actor=actor, now=now, comment=comment)
        self.store.insert(record, now)
        return record

    # -- lifecycle before the ledger --------------------------------------------------------
    def _transition(self, record: Record, target: State, actor: Actor, comment: str | None,
                    now: dt.datetime) -> Record:
        kid, signer = self.issuers.signer(actor.org)
        entry = sign_transition(record.lifecycle, target, record=record.id,
                                version=record.version, digest=record.digest, actor=actor,
                                kid=kid, signer=signer, at=now, comment=comment)
        return record.with_changes(state=target, lifecycle=(*record.lifecycle, entry))

    def _require_issuer(self, record: Record, actor: Actor) -> None:
        if actor.org != record.issuer.org:
            raise NotAuthorised(f"only the issuer {record.issuer.org} may do this, not "
                                f"{actor.org}")

    def _require_reviewer(self, record: Record, actor: Actor) -> None:
        org = self.issuers.require(actor.org, reviews=record.type.value)
        if org.code == record.issuer.org:
            raise NotAuthorised(f"{org.code} may not review its own records")
        if record.type is RecordType.APP_FILING:
            province = record.content["provider"]["province"]
            if org.region != province:
                raise NotAuthorised(f"app filings of province {province} are reviewed by "
                                    f"its education department, not {org.code}")

    def _save(self, record: Record, now: dt.datetime) -> Record:
        self.store.save([record], now)
        return record

    def submit(self, record_id: str, *, actor: Actor, comment: str | None = None) -> Record:
        """draft -> submitted: the issuer signs the record (its issue proof)."""
        record = self.store.get(record_id)
        self._require_issuer(record, actor)
        check_transition(record.state, State.SUBMITTED)
        now = self.clock()
        kid, signer = self.issuers.signer(record.issuer.org)
        if kid != record.issuer.kid:  # the key rotated while this was a draft
            raise NotAuthorised(f"{record.issuer.kid} is no longer the issuer's current key; "
                                f"amend the record")
        proof = sign_proof(record, ISSUE, org=record.issuer.org, kid=kid, signer=signer,
                           created=now)
        record = record.with_changes(proofs=(proof,))
        return self._save(self._transition(record, State.SUBMITTED, actor, comment, now), now)

    def start_review(self, record_id: str, *, actor: Actor,
                     comment: str | None = None) -> Record:
        record = self.store.get(record_id)
        self._require_reviewer(record, actor)
        check_transition(record.state, State.UNDER_REVIEW)
        now = self.clock()
        return self._save(self._transition(record, State.UNDER_REVIEW, actor, comment, now),
                          now)

    def review_notes(self, record_id: str) -> list[str]:
        """What a reviewer should know: for copyright, earlier registrations of the same
        content digest by other organisations (the first anchored one has priority)."""
        record = self.store.get(record_id)
        notes = []
        if record.type is RecordType.COPYRIGHT_REGISTRATION:
            for prior in self.prior_registrations(record):
                notes.append(f"content {record.subject.ref} was registered first by "
                             f"{prior.issuer.org} (record {prior.id}, anchored in block "
                             f"{prior.anchor.block if prior.anchor else '?'})")
        return notes

    def prior_registrations(self, record: Record) -> list[Record]:
        if record.type is not RecordType.COPYRIGHT_REGISTRATION:
            return []
        found = self.store.find(record_type=record.type.value, lookup=record.subject.ref,
                                states=[s.value for s in LIVE])
        return sorted((r for r in found if r.issuer.org != record.issuer.org and r.anchor),
                      key=lambda r: r.anchor.leaf_index if r.anchor else 0)

    def _decide(self, record_id: str, decision: State, actor: Actor,
                comment: str | None) -> Record:
        record = self.store.get(record_id)
        self._require_reviewer(record, actor)
        check_transition(record.state, decision)
        now = self.clock()
        assigned: dict[str, str] = {}
        if decision is State.APPROVED and record.type is RecordType.APP_FILING:
            assigned["filing_number"] = self._filing_number(record)
        review = Review(decision.value, actor.org, now, comment, assigned)
        kid, signer = self.issuers.signer(actor.org)
        proof = sign_proof(record, REVIEW, org=actor.org, kid=kid, signer=signer,
                           created=now, review=review)
        proofs = (*(p for p in record.proofs if p.purpose != REVIEW), proof)
        record = record.with_changes(review=review, proofs=proofs)
        return self._save(self._transition(record, decision, actor, comment, now), now)

    def _filing_number(self, record: Record) -> str:
        """教APP备 + 2-digit province + 5-digit serial + 号; an amended filing keeps the
        number its earlier versions were given."""
        for earlier in reversed(self.store.versions(record.id)):
            if earlier.review and "filing_number" in earlier.review.assigned:
                return earlier.review.assigned["filing_number"]
        province = record.content["provider"]["province"]
        serial = self.store.last_filing_serial(province) + 1
        return f"教APP备{province}{serial:05d}号"

    def approve(self, record_id: str, *, actor: Actor, comment: str | None = None) -> Record:
        return self._decide(record_id, State.APPROVED, actor, comment)

    def return_for_changes(self, record_id: str, *, actor: Actor, comment: str) -> Record:
        return self._decide(record_id, State.RETURNED, actor, comment)

    def reject(self, record_id: str, *, actor: Actor, comment: str) -> Record:
        return self._decide(record_id, State.REJECTED, actor, comment)

    # -- bulk registration ------------------------------------------------------------------
    def check_many(self, record_type: str, items: Sequence[NewRecord], *, actor: Actor,
                   pool: SigningPool | None = None) -> list[tuple[int, RecordsError]]:
        """What ``register_many`` would refuse, item by item: ``(index, error)`` for each
        item whose content breaks its schema or whose subject ``actor.org`` may not
        register. Raises (``SchemaViolation``, ``NotAuthorised``) only for what concerns
        every item: an unknown type, an issuer without the right to issue it."""
        kind, schema = self._bulk_kind(record_type, actor)
        jobs = [(kind.value, schema.version, item.content) for item in items]
        checked = pool.map(check_content, jobs) if pool else map(check_content, jobs)
        problems: list[tuple[int, RecordsError]] = []
        for index, (item, found) in enumerate(zip(items, checked, strict=True)):
            if found is not None:
                problems.append((index, SchemaViolation(found[0], found[1])))
                continue
            try:
                subject = item.subject or subject_for(kind, item.content, actor.org)
                self._check_subject(kind, subject, item.content, actor.org)
            except (RecordsError, KeyError, TypeError, ValueError) as exc:
                problems.append((index, exc if isinstance(exc, RecordsError)
                                 else SchemaViolation(str(exc))))
        return problems

    def _bulk_kind(self, record_type: str, actor: Actor) -> tuple[RecordType, Any]:
        try:
            kind = RecordType(record_type)
        except ValueError:
            raise SchemaViolation(f"unknown record type {record_type!r}") from None
        self.issuers.require(actor.org, issues=kind.value)
        return kind, content_schema(kind.value)

    def register_many(self, record_type: str, items: Sequence[NewRecord], *, actor: Actor,
                      reviewer: Actor | None = None, comment: str | None = None,
                      pool: SigningPool | None = None,
                      also: Callable[[Any, list[Record]], None] | None = None
                      ) -> list[Record]:
        """Create and submit many records of one issuer (``actor.org``) — and, when
        ``reviewer`` is given, have that organisation review and approve them — with the
        same lifecycle, proofs and signatures as ``create``, ``submit``, ``start_review``
        and ``approve`` one by one. Everything is checked first (``BulkRejected`` lists
        every item refused, and nothing is written); then every version is written in
        one database transaction, together with ``also(session, records)``'s writes.
        Anchor the approved records with ``anchor_many``. ``pool`` signs in worker
        processes; its signers must include the issuer's and the reviewer's keys."""
        records = self.build_many(record_type, items, actor=actor, reviewer=reviewer,
                                  comment=comment, pool=pool)
        self.store.insert_many(records, self.clock(),
                               (lambda session: also(session, records)) if also else None)
        return records

    def build_many(self, record_type: str, items: Sequence[NewRecord], *, actor: Actor,
                   reviewer: Actor | None = None, comment: str | None = None,
                   pool: SigningPool | None = None,
                   progress: Callable[[int], None] | None = None,
                   each_chunk: Callable[[list[Record]], None] | None = None
                   ) -> list[Record]:
        """``register_many`` without the write: the signed versions, for a caller that
        stores the records of several issuers in one transaction
        (``store.insert_many``). Only status-list slots are allocated (and stay used).
        ``each_chunk`` gets the versions as they are built, a few hundred at a time (to
        prepare their rows, ``store.row_values``, while the pool signs the rest)."""
        records: list[Record] = []
        for record in self.build_iter(record_type, items, actor=actor, reviewer=reviewer,
                                      comment=comment, pool=pool):
            records.append(record)
            if len(records) % _ENCODE_CHUNK == 0:
                if each_chunk is not None:
                    each_chunk(records[-_ENCODE_CHUNK:])
                if progress is not None:
                    progress(len(records))
        if each_chunk is not None and len(records) % _ENCODE_CHUNK:
            each_chunk(records[-(len(records) % _ENCODE_CHUNK):])
        if progress is not None:
            progress(len(records))
        return records

    def build_iter(self, record_type: str, items: Sequence[NewRecord], *, actor: Actor,
                   reviewer: Actor | None = None, comment: str | None = None,
                   pool: SigningPool | None = None, ahead: int | None = None,
                   envelopes: dict[str, str] | None = None) -> Iterator[Record]:
        """``build_many``'s versions one by one, in order, as the pool builds them.
        Everything is checked now (``BulkRejected`` lists every item refused) and the
        status-list slots are allocated now; the pool's workers start now, with at most
        ``ahead`` chunks handed to them before the first versions are taken
        (``SigningPool.map_chunks``), so that a caller can hand them other work (the
        activations of what it has anchored) while the rest is built. ``envelopes``: the
        workers also encode each approved version's envelope text
        (``bulk.awaiting_anchor``), put there by record id as the versions are taken,
        for ``anchor_unstored``."""
        kind, schema = self._bulk_kind(record_type, actor)
        if reviewer is not None:
            self._require_bulk_reviewer(kind, reviewer, items)
        problems = self.check_many(record_type, items, actor=actor, pool=pool)
        if problems:
            raise BulkRejected(problems)
        if not items:
            return iter(())
        now = self.clock()
        signers = self._signers({actor.org, *([reviewer.org] if reviewer else [])})
        slots = self.store.allocate_slots(actor.org, len(items), self.status_list_size, now)
        kid = signers[actor.org][0]
        jobs = []
        for item, (list_id, index) in zip(items, slots, strict=True):
            subject = item.subject or subject_for(kind, item.content, actor.org)
            draft = Record(
                id=item.record_id or str(uuid.uuid4()), type=kind,
                schema=SchemaRef(schema.schema_id, schema.version), version=1,
                previous=None, issuer=IssuerRef(actor.org, kid), subject=subject,
                validity=Validity((item.valid_from or now).replace(microsecond=0),
                                  item.valid_until.replace(microsecond=0)
                                  if item.valid_until else None),
                status=StatusSlot(list_id, index), content=item.content, salt=new_salt(),
                digest="", state=State.DRAFT)
            jobs.append(ChainJob(draft, actor, reviewer, now, comment))
        if pool is not None and set(signers) <= set(pool.signers):
            build = (build_chains_only if envelopes is None
                     else functools.partial(build_chains_only, envelopes=True))
            chains = pool.map_chunks(build, jobs, ahead=ahead)

            def applied() -> Iterator[Record]:
                for job, chain in zip(jobs, chains, strict=True):
                    if chain.envelope is not None and envelopes is not None:
                        envelopes[job.draft.id] = chain.envelope
                    yield chain.applied_to(job.draft)

            return applied()
        return iter(build_chains(jobs, signers))

    def _require_bulk_reviewer(self, kind: RecordType, reviewer: Actor,
                               items: Sequence[NewRecord]) -> None:
        org = self.issuers.require(reviewer.org, reviews=kind.value)
        if kind is RecordType.APP_FILING:
            for item in items:
                province = item.content.get("provider", {}).get("province")
                if org.region != province:
                    raise NotAuthorised(f"app filings of province {province} are reviewed "
                                        f"by its education department, not {org.code}")

    def _signers(self, orgs: Iterable[str]) -> dict[str, tuple[str, SM2Signer]]:
        return {org: self.issuers.signer(org) for org in sorted(orgs)}

    def signing_pool(self, orgs: Iterable[str], workers: int | None = None) -> SigningPool:
        """A pool that signs for ``orgs`` (and, for activation, nothing else is needed:
        the platform activates with the issuer's key) in ``workers`` processes."""
        return SigningPool(self._signers(orgs),
                           default_workers() if workers is None else workers,
                           seal=self.store.envelope_sealer())

    # -- anchoring --------------------------------------------------------------------------
    def anchor(self, record_ids: Sequence[str], *,
               pool: SigningPool | None = None) -> list[Record]:
        """Anchor approved records in one ledger transaction, then activate them (a
        lifecycle entry by the platform for each issuer). An amended version names the
        digest of the version anchored before it; that version is then superseded."""
        batch = self._anchor_on_ledger(self.store.get_many(record_ids))
        return self._store_activated(batch, self._activate(batch, pool))

    def anchor_many(self, record_ids: Sequence[str], *, batch: int = ANCHOR_BATCH,
                    pool: SigningPool | None = None,
                    progress: Callable[[int, int], None] | None = None) -> list[Record]:
        """``anchor`` in batches of up to ``batch`` records (one ledger transaction and
        one database transaction each). A batch that fails leaves the earlier batches
        anchored and its own records approved, so running it again finishes the work.

        Batches overlap: once batch k's activations are handed to the ``pool``'s
        workers, this process sends batch k+1's ledger transaction, then stores batch k.
        Whatever the ledger has anchored is still activated and stored when a later
        step fails, before the error goes up."""
        done: list[Record] = []
        total = len(record_ids)
        # Batches anchored on the ledger, not yet stored as active (at most two).
        pending: list[tuple[_AnchoredBatch, Iterator[Record]]] = []

        def store_oldest() -> None:
            done.extend(self._store_activated(*pending.pop(0)))
            if progress is not None:
                progress(len(done), total)

        def finish() -> None:
            while pending:
                store_oldest()

        try:
            for start in range(0, total, batch):
                ids = record_ids[start:start + batch]
                if pending and not pending[0][0].ids.isdisjoint(ids):
                    finish()   # a record twice: its first anchoring must be stored first
                anchored = self._anchor_on_ledger(self.store.get_many(ids))
                pending.append((anchored, self._activate(anchored, pool)))
                if len(pending) > 1:
                    store_oldest()   # while the workers sign this batch's activations
        except BaseException:
            finish()   # so that only the failed batch is left approved
            raise
        finish()
        return done

    def anchor_unstored(self, records: Iterable[Record], *, batch: int = ANCHOR_BATCH,
                        pool: SigningPool | None = None,
                        progress: Callable[[int, int], None] | None = None,
                        envelopes: dict[str, str] | None = None,
                        ) -> tuple[list[Record], list[dict[str, Any]]]:
        """Anchor and activate approved first versions that are not stored yet (what
        ``build_iter`` or ``build_many`` built), and return the active versions with
        their rows (``store.row_values``) for the caller to insert in one transaction
        (``store.insert_rows``): each version is encoded, sealed and written once,
        already active, instead of written approved and rewritten active.

        ``records`` is taken lazily: each time ``batch`` of them have come, they go to
        the ledger in one transaction and their activations (entries signed, rows
        encoded and sealed) are handed to the ``pool``'s workers, and the next ones are
        taken while the workers work; the activations are collected at the end. When a
        ledger transaction fails, nothing has been stored: the batches anchored before
        it stay on the ledger as anchors that no stored record points at (a record key,
        a salted digest and public metadata, nothing about a person), and running the
        caller again builds new versions with new ids. ``envelopes``: approved
        versions' envelope texts by record id (``build_iter``'s), used and removed as
        their activations are handed over (the others are encoded here)."""
        waiting: list[Record] = []
        texts = {} if envelopes is None else envelopes
        started: list[Iterator[tuple[Record, dict[str, Any]]]] = []

        def send() -> None:
            anchored = self._anchor_on_ledger(waiting[:])
            waiting.clear()
            started.append(self._activate_rows(anchored, pool, texts))

        total = 0
        for record in records:
            if record.version != 1 or record.state is not State.APPROVED:
                raise ValueError("anchor_unstored takes approved first versions only")
            waiting.append(record)
            total += 1
            if len(waiting) == batch:
                send()
        if waiting:
            send()
        done: list[Record] = []
        rows: list[dict[str, Any]] = []
        for activating in started:
            for record, row in activating:
                done.append(record)
                rows.append(row)
            if progress is not None:
                progress(len(done), total)
        return done, rows

    def _activate_rows(self, batch: _AnchoredBatch, pool: SigningPool | None,
                       texts: dict[str, str]) -> Iterator[tuple[Record, dict[str, Any]]]:
        """``_activate`` with each activated record's row (``store.row_values``): the
        entries signed and the envelopes sealed in the pool's workers when it has them
        (they start now), else here and now. ``texts``: approved envelope texts by
        record id (``bulk.awaiting_anchor``), taken out as used."""
        signers = self._signers({r.issuer.org for r in batch.records})
        jobs = [EnvelopeJob(texts.pop(record.id, None) or awaiting_anchor(record), record.id,
                            record.version, record.digest, record.lifecycle[-1],
                            len(record.lifecycle), anchor, system_actor(record.issuer.org),
                            batch.at)
                for record, anchor in zip(batch.records, batch.anchors, strict=True)]
        results: Iterable[tuple[Transition, str | bytes]]
        if (pool is not None and pool.forks and pool.seal is not None
                and set(signers) <= set(pool.signers) and len(jobs) > 1):
            results = pool.map_chunks(active_envelopes, jobs)
        else:
            results = active_envelopes(jobs, signers, seal=self.store.seal_envelopes)

        def activated_rows() -> Iterator[tuple[Record, dict[str, Any]]]:
            for record, anchor, (entry, envelope) in zip(batch.records, batch.anchors,
                                                          results, strict=True):
                active = activated(record, anchor, entry)
                yield active, self.store.row(active, envelope)

        return activated_rows()

    def _anchor_on_ledger(self, records: list[Record]) -> _AnchoredBatch:
        """The ledger transaction anchoring ``records`` (all approved)."""
        for record in records:
            check_transition(record.state, State.ACTIVE)
        # Only amendments (version > 1) can have an earlier anchored version.
        previous_anchored = [self._last_anchored(r) if r.version > 1 else None
                             for r in records]
        requests = [AnchorRequest(
            record.key, record.digest,
            before.anchor.version + 1 if before and before.anchor else 1,
            expected_metadata(record), before.digest if before else None)
            for record, before in zip(records, previous_anchored, strict=True)]
        anchors = self.anchoring.anchor(requests)
        return _AnchoredBatch(records, anchors, previous_anchored, self.clock())

    def _activate(self, batch: _AnchoredBatch, pool: SigningPool | None) -> Iterator[Record]:
        """The activated records (yielded lazily): their entries signed in ``pool``'s
        workers, which start now, or, without a pool, here and now."""
        signers = self._signers({r.issuer.org for r in batch.records})
        jobs = [ActivationJob(r.id, r.version, r.digest, r.lifecycle,
                              system_actor(r.issuer.org), batch.at) for r in batch.records]
        entries: Iterable[Transition]
        if pool is not None and set(signers) <= set(pool.signers) and len(jobs) > 1:
            entries = pool.map_chunks(activation_entries, jobs)
        else:
            entries = activation_entries(jobs, signers)
        return (activated(record, anchor, entry) for record, anchor, entry
                in zip(batch.records, batch.anchors, entries, strict=True))

    def _store_activated(self, batch: _AnchoredBatch,
                         activating: Iterator[Record]) -> list[Record]:
        activated: list[Record] = []
        rows: list[dict[str, Any]] = []
        for record in activating:
            activated.append(record)
            if len(activated) - len(rows) == _ENCODE_CHUNK:
                # Encoded while the workers sign the rest of the batch.
                rows.extend(self.store.row_values(activated[len(rows):]))
        rows.extend(self.store.row_values(activated[len(rows):]))
        self.store.save_rows(rows, batch.at)
        for record, before in zip(activated, batch.previous_anchored, strict=True):
            if before is not None:
                self.store.mark_superseded(record.id, before.version, record.version)
        for record in activated:
            if record.type is RecordType.CREDIT_RECORD and record.content["kind"] == "blacklist":
                self._revoke_filings_of(record)
        return activated

    def _last_anchored(self, record: Record) -> Record | None:
        earlier = [r for r in self.store.versions(record.id)
                   if r.version < record.version and r.anchor is not None]
        return earlier[-1] if earlier else None

    def _revoke_filings_of(self, credit: Record) -> None:
        code = credit.content["credit_code"]
        actor = system_actor(credit.issuer.org)
        for filing in self.store.find(record_type=RecordType.APP_FILING.value, lookup=code,
                                      states=[s.value for s in LIVE]):
            self._change_status(filing, State.REVOKED, actor,
                                f"provider blacklisted by credit record {credit.id}")

    # -- lifecycle on the ledger -----------------------------------------------------------
    def _may_change_status(self, record: Record, actor: Actor) -> None:
        if actor.org == record.issuer.org:
            return
        org = self.issuers.organisation(actor.org)
        if record.type.value not in org.reviews:
            raise NotAuthorised(f"{actor.org} may not change the status of {record.issuer.org}"
                                f"'s {record.type} records")

    def suspend(self, record_id: str, *, actor: Actor, comment: str | None = None) -> Record:
        return self._status_action(record_id, State.SUSPENDED, actor, comment)

    def reinstate(self, record_id: str, *, actor: Actor, comment: str | None = None) -> Record:
        return self._status_action(record_id, State.ACTIVE, actor, comment)

    def revoke(self, record_id: str, *, actor: Actor, comment: str | None = None) -> Record:
        return self._status_action(record_id, State.REVOKED, actor, comment)

    def withdraw(self, record_id: str, *, actor: Actor, comment: str | None = None) -> Record:
        record = self._current_anchored(record_id)
        self._require_issuer(record, actor)
        return self._change_status(record, State.WITHDRAWN, actor, comment)

    def expire_due(self, now: dt.datetime | None = None) -> list[Record]:
        """Mark every live record whose validity has ended as expired."""
        when = now or self.clock()
        expired = []
        for record in self.store.find(states=[s.value for s in LIVE]):
            until = record.validity.valid_until
            if until is not None and until <= when:
                expired.append(self._change_status(record, State.EXPIRED,
                                                   system_actor(record.issuer.org), None))
        return expired

    def _current_anchored(self, record_id: str) -> Record:
        """The newest anchored version (an amendment in review does not count yet)."""
        anchored = [r for r in self.store.versions(record_id) if r.anchor is not None]
        if not anchored:
            latest = self.store.get(record_id)
            raise IllegalTransition(latest.state.value, "a ledger state change",
                                    ("active",))
        return anchored[-1]

    def _status_action(self, record_id: str, target: State, actor: Actor,
                       comment: str | None) -> Record:
        record = self._current_anchored(record_id)
        self._may_change_status(record, actor)
        return self._change_status(record, target, actor, comment)

    def _change_status(self, record: Record, target: State, actor: Actor,
                       comment: str | None) -> Record:
        """The transition, the status bits, a new snapshot of the bits that changed and
        the anchor of the lifecycle entry — snapshot and entry in one ledger
        transaction."""
        check_transition(record.state, target)
        now = self.clock()
        changed = self._transition(record, target, actor, comment, now)
        entry = changed.lifecycle[-1]
        bits: dict[str, bool] = {}
        if target is State.SUSPENDED:
            bits["suspension"] = True
        elif target is State.ACTIVE:
            bits["suspension"] = False
        elif target in (State.REVOKED, State.WITHDRAWN):
            bits["revocation"] = True
        events = self.store.lifecycle_anchors(record.id, record.version)
        activation = next(t.seq for t in record.lifecycle if t.target is State.ACTIVE)
        prior = [t for t in record.lifecycle if t.seq > activation]
        event = AnchorRequest(lifecycle_key(record.id, record.version), entry.hash(),
                              len(events) + 1,
                              {"type": "lifecycle", "seq": entry.seq, "to": target.value},
                              prior[-1].hash() if prior else None)
        changes = {purpose: {record.status.index: value} for purpose, value in bits.items()}
        snapshots, requests = self._snapshot_requests(record.status.list, list(bits), now,
                                                      changes)
        anchors = self.anchoring.anchor([*requests, event])
        # Only once the ledger holds the new snapshots do the stored bits change (another
        # process changing the same list concurrently fails at the contract and retries).
        for purpose, change in changes.items():
            self.store.set_status_bits(record.status.list, purpose, change, now)
        for snapshot, anchor in zip(snapshots, anchors, strict=False):
            self.store.add_snapshot(snapshot.list_id, snapshot.purpose, snapshot.sequence,
                                    snapshot.to_json(), anchor, snapshot.valid_until)
        self.store.add_lifecycle_anchor(record.id, record.version, entry.seq, anchors[-1])
        return self._save(changed, now)

    # -- status snapshots -------------------------------------------------------------------
    def _snapshot_requests(self, list_id: str, purposes: Iterable[str], now: dt.datetime,
                           changes: dict[str, dict[int, bool]] | None = None
                           ) -> tuple[list[StatusSnapshot], list[AnchorRequest]]:
        """Signed snapshots of the list's current bits (with ``changes`` applied) and the
        requests that anchor them."""
        row = self.store.status_list(list_id)
        kid, signer = self.issuers.signer(row.org_code)
        snapshots, requests = [], []
        for purpose in purposes:
            bits = bytearray(getattr(row, purpose))
            for index, value in (changes or {}).get(purpose, {}).items():
                mask = 0x80 >> (index % 8)
                bits[index // 8] = bits[index // 8] | mask if value else bits[index // 8] & ~mask
            latest = self.store.latest_snapshot(list_id, purpose)
            sequence = (latest[0]["sequence"] + 1) if latest else 1
            snapshot = sign_snapshot(list_id, purpose, bytes(bits), org=row.org_code,
                                     kid=kid, signer=signer, sequence=sequence,
                                     valid_from=now, valid_until=now + self.snapshot_ttl)
            previous = StatusSnapshot.from_json(latest[0]).digest() if latest else None
            snapshots.append(snapshot)
            requests.append(AnchorRequest(snapshot.key, snapshot.digest(), sequence,
                                          {"type": "status_list", "purpose": purpose,
                                           "sequence": sequence}, previous))
        return snapshots, requests

    def publish_status(self, list_id: str, purposes: Sequence[str] = PURPOSES) -> None:
        """Sign and anchor fresh snapshots of a list (e.g. on a schedule, so offline
        bundles can always carry one that is far from expiry)."""
        now = self.clock()
        snapshots, requests = self._snapshot_requests(list_id, purposes, now)
        for snapshot, anchor in zip(snapshots, self.anchoring.anchor(requests), strict=True):
            self.store.add_snapshot(snapshot.list_id, snapshot.purpose, snapshot.sequence,
                                    snapshot.to_json(), anchor, snapshot.valid_until)

    def _fresh_snapshots(self, list_id: str) -> dict[str, tuple[StatusSnapshot, Anchor]]:
        """The latest snapshot of each purpose, publishing new ones when there are none or
        they are past half their lifetime."""
        now = self.clock()
        latest = {purpose: self.store.latest_snapshot(list_id, purpose)
                  for purpose in PURPOSES}
        stale = [purpose for purpose, row in latest.items()
                 if row is None or row[2] - now < self.snapshot_ttl / 2]
        if stale:
            self.publish_status(list_id, stale)
            # Only what was just published is read again.
            latest.update({purpose: self.store.latest_snapshot(list_id, purpose)
                           for purpose in stale})
        found = {}
        for purpose, row in latest.items():
            assert row is not None
            found[purpose] = (StatusSnapshot.from_json(row[0]), row[1])
        return found

    # -- evidence, verification, export -----------------------------------------------------
    def get(self, record_id: str, version: int | None = None) -> Record:
        return self.store.get(record_id, version)

    def evidence(self, record: Record) -> Evidence:
        """Everything needed to verify ``record``, from the store and the live ledger. Parts
        the ledger cannot give (it is unreachable) are marked unavailable, so the
        verification answers indeterminate rather than valid."""
        evidence = Evidence(record)
        snapshots: dict[str, tuple[StatusSnapshot, Anchor]] = {}
        if record.anchor is not None:
            try:
                snapshots = self._fresh_snapshots(record.status.list)
            except (*_UNREACHABLE, RecordsError) as exc:
                evidence.unavailable["status"] = f"status lists cannot be read: {exc}"
        kids = {record.issuer.kid, *(p.kid for p in record.proofs),
                *(t.kid for t in record.lifecycle), *(s.kid for s, _ in snapshots.values())}
        for kid in sorted(kids):
            try:
                evidence.certificates[kid] = self.issuers.certificate(kid)
            except RecordsError:
                continue
        anchored_at: dt.datetime | None = None
        try:
            anchored_at = self._ledger_evidence(record, evidence, snapshots)
        except _UNREACHABLE as exc:
            evidence.unavailable["ledger"] = f"the ledger cannot be reached: {exc}"
            evidence.unavailable.setdefault("status", "the ledger cannot be reached")
        try:
            # Signed once and reused until revocations change, it ages, or a record
            # anchored after it is asked about (records.issuers.published_crl).
            evidence.crl = self.issuers.published_crl(anchored_at)
        except (CryptoError, RecordsError, SQLAlchemyError):
            evidence.crl = None
        return evidence

    def _anchored_leaf(self, index: int, size: int) -> AnchoredLeaf:
        return AnchoredLeaf(self.ledger.leaf(index), self.ledger.inclusion_proof(index, size))

    def _ledger_evidence(self, record: Record, evidence: Evidence,
                         snapshots: dict[str, tuple[StatusSnapshot, Anchor]]
                         ) -> dt.datetime | None:
        """Fill in the ledger's part of ``evidence``; returns the anchor block's time."""
        anchored_at = None
        note = self.ledger.checkpoint()
        size = checkpoint_size(note)
        evidence.checkpoint = note
        anchor = record.anchor
        if anchor is not None and anchor.leaf_index < size:
            evidence.anchored = self._anchored_leaf(anchor.leaf_index, size)
            block = self.ledger.block(anchor.block)
            previous = self.ledger.block(anchor.block - 1)
            evidence.block = SignedBlockHeader(block.header.encode(), block.signature)
            anchored_at = block.header.timestamp
            evidence.previous_block = SignedBlockHeader(previous.header.encode(),
                                                        previous.signature)
            if block.header.tree_size < size:
                evidence.block_consistency = self.ledger.consistency_proof(
                    block.header.tree_size, size)
        for purpose, (snapshot, snap_anchor) in snapshots.items():
            anchored = (self._anchored_leaf(snap_anchor.leaf_index, size)
                        if snap_anchor.leaf_index < size else None)
            evidence.status[purpose] = StatusEvidence(snapshot, anchored)
        for seq, event in self.store.lifecycle_anchors(record.id, record.version).items():
            if event.leaf_index < size:
                evidence.events[seq] = self._anchored_leaf(event.leaf_index, size)
        for other in self.store.versions(record.id):
            if other.version != record.version and other.anchor is not None \
                    and other.anchor.leaf_index < size:
                evidence.history.append(self._anchored_leaf(other.anchor.leaf_index, size))
        return anchored_at

    def verify(self, record_id: str, version: int | None = None, *,
               now: dt.datetime | None = None) -> Report:
        """Online verification of a stored record version (the newest by default)."""
        record = self.store.get(record_id, version)
        evidence = self.evidence(record)
        try:
            trust = self.trust_anchors()
        except _UNREACHABLE:
            # Without the log key nothing on the ledger can be checked: the anchor and
            # status checks will say indeterminate, never valid.
            trust = TrustAnchors(tuple(self.issuers.root_certificates()), ())
        return verify_evidence(evidence, trust, now=now)

    def bundle(self, record_id: str, version: int | None = None) -> dict[str, Any]:
        """The offline bundle of a record version (records.bundle)."""
        from records.bundle import bundle_from_evidence

        record = self.store.get(record_id, version)
        trust = self.trust_anchors()
        channel = record.anchor.channel if record.anchor else self.ledger.channel_id
        return bundle_from_evidence(self.evidence(record), channel=channel, hints=trust,
                                    created=self.clock())

    def credential(self, record_id: str, version: int | None = None, *,
                   base_url: str | None = None) -> dict[str, Any]:
        """The anchored record version as a W3C Verifiable Credential 2.0 (Open Badges
        3.0 for archive entries), signed by the issuer with ``sm2-jcs-2025``."""
        from records.vc import add_proof, credential_document

        record = self.store.get(record_id, version)
        if record.anchor is None or record.state not in LIVE:
            raise IllegalTransition(record.state.value, "exported as a credential",
                                    tuple(s.value for s in LIVE))
        issuer = self.issuers.organisation(record.issuer.org)
        kid, signer = self.issuers.signer(issuer.code)
        document = credential_document(record, issuer.name, base_url=base_url)
        return add_proof(document, signer=signer,
                         verification_method=f"urn:edutrust:org:{issuer.code}#{kid}",
                         created=self.clock())
