"""The signing work of bulk registration, as pure functions a process pool can run.

A record registered in bulk goes through exactly the lifecycle a record registered one
call at a time does — draft, submitted (with the issuer's proof), and, when a reviewer is
named, under_review and approved (with the reviewer's proof); after anchoring, active —
signed by the same keys. Only the work is arranged differently: the records of a chunk
(a worker's, or the whole list without workers) advance step by step, and each step's
entries (or proofs) of one organisation carry one batch signature (records.batch) over
their Merkle root instead of one signature each; a chunk of one record is signed as one
at a time. Key handles are resolved once per organisation, and chunks are built side by
side in worker processes, which send back only what they add (``Chain``, an
activation's ``Transition``) for the caller to apply.

Workers get the key handles by inheritance: ``SigningPool`` stores them in this module
before it forks its workers, so private keys never travel through a pipe or a file. The
same holds for the envelope sealer a pool may be given (``RecordStore.envelope_sealer``:
the sealer with its data key version resolved before the fork), with which workers also
seal the envelopes of the records they activate (``active_envelopes``). Without a
pool (``workers=1``, e.g. inside a web worker) the same functions run in the calling
process with the handles passed explicitly.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
import gc
import itertools
import json
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from crypto.keys.provider import SM2Signer
from records.batch import BatchRef, sign_all
from records.envelope import Anchor, Proof, Record, Review
from records.errors import SchemaViolation
from records.lifecycle import Actor, State, Transition, next_transition, transition_after
from records.schema import validate_content
from records.signing import ISSUE, REVIEW, signed_bytes, unsigned_proof
from records.store import compact_member, stored_json

# org code -> (key id, signing handle); filled in before a pool forks its workers.
Signers = Mapping[str, tuple[str, SM2Signer]]
_INHERITED: dict[str, tuple[str, SM2Signer]] = {}
# What is stored of each (envelope text in the stored form, record id, version): sealed
# to bytes by workers (``RecordStore.envelope_sealer``).
EnvelopeSealer = Callable[[Sequence[tuple[str, str, int]]], list[str | bytes]]
_INHERITED_SEALER: list[EnvelopeSealer] = []
# How the JSON text of an approved version awaiting its anchor ends (``awaiting_anchor``).
_AWAITING = '],"anchor":null,"state":"approved"}'

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class ChainJob:
    """One new record to take from nothing to ``submitted`` (no ``reviewer``) or
    ``approved``: ``draft`` has everything but digest and lifecycle."""

    draft: Record
    actor: Actor
    reviewer: Actor | None
    at: dt.datetime
    comment: str | None = None


@dataclass(frozen=True)
class Chain:
    """What ``build_chains`` adds to a draft: all a worker sends back (the draft with its
    content stays where it came from)."""

    digest: str
    state: State
    lifecycle: tuple[Transition, ...]
    proofs: tuple[Proof, ...]
    review: Review | None
    # The approved version's envelope text (``awaiting_anchor``), when asked for.
    envelope: str | None = None

    def applied_to(self, draft: Record) -> Record:
        return draft.with_changes(digest=self.digest, state=self.state,
                                  lifecycle=self.lifecycle, proofs=self.proofs,
                                  review=self.review)


@dataclass(frozen=True)
class ActivationJob:
    """What the platform's ``approved -> active`` entry of one anchored version is made
    of (not the whole record: only this goes to a worker)."""

    record: str
    version: int
    digest: str
    lifecycle: tuple[Transition, ...]
    actor: Actor
    at: dt.datetime


def _signed(items: Sequence[tuple[str, bytes]], keys: Signers
            ) -> list[tuple[bytes, BatchRef | None]]:
    """(signature, batch member) for each ``(org, leaf)``: one batch signature per
    organisation (an organisation with a single item signs it alone)."""
    groups: dict[str, list[int]] = {}
    for i, (org, _) in enumerate(items):
        groups.setdefault(org, []).append(i)
    result: list[tuple[bytes, BatchRef | None]] = [(b"", None)] * len(items)
    for org, indices in groups.items():
        kid, signer = keys[org]
        signed = sign_all([items[i][1] for i in indices], org=org, kid=kid, signer=signer)
        for i, pair in zip(indices, signed, strict=True):
            result[i] = pair
    return result


_Signable = TypeVar("_Signable", Transition, Proof)


def _with_signature(item: _Signable, signature: bytes, batch: BatchRef | None) -> _Signable:
    """``replace(item, signature=..., batch=...)`` for these frozen dataclasses (no
    ``__post_init__``, nothing derived from the two members) without ``replace``'s
    per-field work: a copy of the instance's members with those two set. What the
    instance remembered about itself goes only where the signature does not enter:
    ``Transition.signed_bytes`` (the statement), never ``Transition.hash``."""
    signed = object.__new__(type(item))
    members = {name: value for name, value in item.__dict__.items()
               if name[0] != "_" or name == "_signed_bytes"}
    members["signature"], members["batch"] = signature, batch
    signed.__dict__.update(members)
    return signed


def _entries(unsigned: Sequence[Transition], keys: Signers) -> list[Transition]:
    signed = _signed([(t.org, t.signed_bytes()) for t in unsigned], keys)
    return [_with_signature(t, sig, batch)
            for t, (sig, batch) in zip(unsigned, signed, strict=True)]


def _proofs(unsigned: Sequence[Proof], keys: Signers) -> list[Proof]:
    signed = _signed([(p.org, signed_bytes(p)) for p in unsigned], keys)
    return [_with_signature(p, sig, batch)
            for p, (sig, batch) in zip(unsigned, signed, strict=True)]


def build_chains(jobs: Sequence[ChainJob], signers: Signers | None = None) -> list[Record]:
    """The records' digests, lifecycles and proofs up to ``submitted`` or ``approved``:
    step by step, each step's entries (or proofs) of one organisation under one batch
    signature."""
    return [chain.applied_to(job.draft)
            for job, chain in zip(jobs, _chains(jobs, signers), strict=True)]


def build_chains_only(jobs: Sequence[ChainJob], signers: Signers | None = None, *,
                      envelopes: bool = False) -> list[Chain]:
    """``build_chains`` for a worker: only what it adds to the drafts. The last entry's
    hash, which anchoring puts in the leaf's metadata, is computed here and travels
    with the entry (``Transition.hash`` keeps it on the instance). ``envelopes``: each
    approved version's envelope text comes too (``awaiting_anchor``), so that the
    calling process need not encode it to have it activated."""
    chains = _chains(jobs, signers)
    for i, chain in enumerate(chains):
        chain.lifecycle[-1].hash()
        if envelopes and chain.state is State.APPROVED:
            chains[i] = Chain(chain.digest, chain.state, chain.lifecycle, chain.proofs,
                              chain.review, awaiting_anchor(chain.applied_to(jobs[i].draft)))
    return chains


def awaiting_anchor(record: Record) -> str:
    """The envelope text of an approved version in the store's form
    (``records.store.stored_text``) with its members ordered so that the text ends with
    the lifecycle, the anchor and the state: ``active_envelopes`` then writes the active
    version's text by replacing that end, instead of encoding the whole document again.
    The order of an object's members means nothing in JSON; the store decodes both."""
    if record.state is not State.APPROVED or not record.lifecycle or record.anchor:
        raise ValueError("an approved version, not anchored, awaits its anchor")
    doc = stored_json(record.to_json(include_salt=False))
    ordered = {k: v for k, v in doc.items() if k not in ("lifecycle", "anchor", "state")}
    ordered.update(lifecycle=doc["lifecycle"], anchor=None, state=State.APPROVED.value)
    text = json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
    assert text.endswith(_AWAITING)
    return text


def _chains(jobs: Sequence[ChainJob], signers: Signers | None) -> list[Chain]:
    """``build_chains``' work, kept as each record's lifecycle, proofs and review until
    the end (no intermediate record versions)."""
    keys = signers if signers is not None else _INHERITED
    count = len(jobs)
    at = [job.at for job in jobs]
    # The drafts with their digests: what the entries and proofs name.
    drafts = [job.draft.with_changes(digest=job.draft.compute_digest()) for job in jobs]
    lifecycles: list[tuple[Transition, ...]] = [()] * count

    def advance(indices: Sequence[int], target: State, actors: Sequence[Actor],
                when: Sequence[dt.datetime], comments: Sequence[str | None]) -> None:
        """Each record's next lifecycle entry (to ``target``), batch-signed per
        organisation."""
        unsigned = [next_transition(lifecycles[i], target, record=drafts[i].id,
                                    version=drafts[i].version, digest=drafts[i].digest,
                                    actor=actor, kid=keys[actor.org][0], at=moment,
                                    comment=comment)
                    for i, actor, moment, comment in zip(indices, actors, when, comments,
                                                         strict=True)]
        for i, entry in zip(indices, _entries(unsigned, keys), strict=True):
            lifecycles[i] = (*lifecycles[i], entry)

    everyone = range(count)
    actors = [job.actor for job in jobs]
    none: list[str | None] = [None] * count
    advance(everyone, State.DRAFT, actors, at, none)
    issued = _proofs([unsigned_proof(r, ISSUE, org=r.issuer.org, kid=keys[r.issuer.org][0],
                                     created=moment)
                      for r, moment in zip(drafts, at, strict=True)], keys)
    proofs: list[tuple[Proof, ...]] = [(proof,) for proof in issued]
    advance(everyone, State.SUBMITTED, actors, at, none)
    states = [State.SUBMITTED] * count
    reviews: list[Review | None] = [None] * count
    todo = [i for i, job in enumerate(jobs) if job.reviewer is not None]
    if todo:
        who = [job.reviewer for job in jobs if job.reviewer is not None]
        when = [at[i] for i in todo]
        advance(todo, State.UNDER_REVIEW, who, when, [None] * len(todo))
        decided = [Review(State.APPROVED.value, r.org, jobs[i].at, jobs[i].comment, {})
                   for i, r in zip(todo, who, strict=True)]
        reviewed = _proofs([unsigned_proof(drafts[i], REVIEW, org=r.org, kid=keys[r.org][0],
                                           created=jobs[i].at, review=review)
                            for i, r, review in zip(todo, who, decided, strict=True)], keys)
        for i, review, proof in zip(todo, decided, reviewed, strict=True):
            reviews[i] = review
            proofs[i] = (*proofs[i], proof)
        advance(todo, State.APPROVED, who, when, [jobs[i].comment for i in todo])
        for i in todo:
            states[i] = State.APPROVED
    return [Chain(draft.digest, state, lifecycle, proof, review)
            for draft, state, lifecycle, proof, review
            in zip(drafts, states, lifecycles, proofs, reviews, strict=True)]


def activation_entries(jobs: Sequence[ActivationJob], signers: Signers | None = None
                       ) -> list[Transition]:
    """The platform's signed ``approved -> active`` lifecycle entries (one batch
    signature per issuer)."""
    keys = signers if signers is not None else _INHERITED
    unsigned = [next_transition(job.lifecycle, State.ACTIVE, record=job.record,
                                version=job.version, digest=job.digest, actor=job.actor,
                                kid=keys[job.actor.org][0], at=job.at, comment=None)
                for job in jobs]
    return _entries(unsigned, keys)


def activated(record: Record, anchor: Anchor, entry: Transition) -> Record:
    """The anchored record with its activation entry (from ``activation_entries``)."""
    return record.with_changes(anchor=anchor, state=State.ACTIVE,
                               lifecycle=(*record.lifecycle, entry))


@dataclass(frozen=True)
class EnvelopeJob:
    """An anchored record to activate, as a worker needs it to sign the activation entry
    and seal the active version's envelope, so that the calling process does neither:
    the approved version's envelope text (``awaiting_anchor``), the record's id, version
    and digest, its last lifecycle entry and their number, the anchor, and who
    activates it when. A text travels to a worker far faster than the record object."""

    envelope: str
    record: str
    version: int
    digest: str
    last: Transition
    count: int
    anchor: Anchor
    actor: Actor
    at: dt.datetime


def active_envelopes(jobs: Sequence[EnvelopeJob], signers: Signers | None = None,
                     seal: EnvelopeSealer | None = None
                     ) -> list[tuple[Transition, str | bytes]]:
    """For each job, the platform's signed ``approved -> active`` entry (one batch
    signature per issuer, as ``activation_entries``) and what is stored of the active
    version's envelope: ``records.store.stored_text(activated(record, anchor, entry))``,
    sealed by ``seal`` (in a worker, the sealer the pool was given)."""
    keys = signers if signers is not None else _INHERITED
    sealer = seal if seal is not None else _INHERITED_SEALER[0]
    entries = _entries([
        transition_after(j.last, j.count, State.ACTIVE, record=j.record, version=j.version,
                         digest=j.digest, actor=j.actor, kid=keys[j.actor.org][0], at=j.at,
                         comment=None)
        for j in jobs], keys)
    texts = []
    for job, entry in zip(jobs, entries, strict=True):
        if not job.envelope.endswith(_AWAITING):
            raise ValueError("not the envelope text of an approved version awaiting its anchor")
        stored = compact_member(entry.to_json(), job.record, job.version, job.digest)
        texts.append((f"{job.envelope[:-len(_AWAITING)]},{_json(stored)}],"
                      f'"anchor":{_json(job.anchor.to_json())},"state":"active"}}',
                      job.record, job.version))
    return list(zip(entries, sealer(texts), strict=True))


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def check_content(job: tuple[str, int, Any], signers: Signers | None = None
                  ) -> tuple[str, list[tuple[str, str]]] | None:
    """None if ``(record type, schema version, content)`` satisfies the schema, else the
    ``SchemaViolation``'s message and problems (picklable, unlike the exception).
    ``signers`` is unused: every function a ``SigningPool`` maps takes it."""
    record_type, version, content = job
    try:
        validate_content(record_type, version, content)
    except SchemaViolation as exc:
        return str(exc), list(exc.errors)
    return None


def _run_chunk(fn: Callable[[_T], _R], items: list[_T]) -> list[_R]:
    return [fn(item) for item in items]


class SigningPool:
    """Runs ``build_chains_only``, ``activation_entries`` and ``active_envelopes`` over
    many records: in ``workers`` forked processes, or in this process when ``workers``
    is 1 (or fork is unavailable).

    Use as a context manager; the handles of ``signers`` are what the workers sign with,
    and ``seal`` (``RecordStore.envelope_sealer``) what they seal envelopes with. One
    forking pool at a time per process (both pass through module globals), so keep
    ``workers=1`` in multi-threaded servers.
    """

    def __init__(self, signers: Signers, workers: int = 1, *, chunk: int = 200,
                 seal: EnvelopeSealer | None = None) -> None:
        self.signers = dict(signers)
        self.workers = max(1, workers)
        self.chunk = chunk
        self.seal = seal
        self._executor: Executor | None = None

    @property
    def forks(self) -> bool:
        """Whether the work runs in worker processes (inside the ``with`` block)."""
        return self._executor is not None

    def __enter__(self) -> SigningPool:
        if self.workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            _INHERITED.clear()
            _INHERITED.update(self.signers)
            _INHERITED_SEALER.clear()
            if self.seal is not None:
                _INHERITED_SEALER.append(self.seal)
            # Workers start on the first submit and inherit _INHERITED as it is now.
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("fork"))
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        _INHERITED.clear()
        _INHERITED_SEALER.clear()

    def map(self, fn: Callable[..., _R], items: Iterable[Any]) -> Iterator[_R]:
        """``fn(item)`` for every item, in order (lazily, chunk by chunk)."""
        if self._executor is None:
            bound = functools.partial(fn, signers=self.signers)
            return (bound(item) for item in items)
        batch = list(items)
        chunks = [batch[i:i + self.chunk] for i in range(0, len(batch), self.chunk)]
        futures = [self._executor.submit(_run_chunk, fn, c) for c in chunks]
        return (result for future in futures for result in future.result())

    def map_chunks(self, fn: Callable[..., list[_R]], items: Sequence[Any], *,
                   ahead: int | None = None) -> Iterator[_R]:
        """The results of ``fn(chunk)`` for every ``chunk`` of ``items`` (in order,
        lazily): in the workers, or, without them, over the whole list at once. The
        workers start at once. ``ahead``: at most that many chunks are handed to the
        workers before their results are taken (one more per chunk taken), so that work
        handed over later (another ``map_chunks``) does not queue behind all of these."""
        if self._executor is None:
            return iter(fn(list(items), signers=self.signers)) if items else iter(())
        executor = self._executor
        chunks = iter([list(items[i:i + self.chunk])
                       for i in range(0, len(items), self.chunk)])
        started = collections.deque(executor.submit(fn, c)
                                    for c in itertools.islice(chunks, ahead))

        def results() -> Iterator[_R]:
            while started:
                future = started.popleft()
                following = next(chunks, None)
                if following is not None:
                    started.append(executor.submit(fn, following))
                yield from future.result()

        return results()


_PAUSES = [0, False]   # imports running with the collector paused; was it enabled
_PAUSES_LOCK = threading.Lock()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a bulk job runs (and in the
    workers it forks meanwhile, which inherit the setting). A bulk job allocates
    millions of long-lived objects (rows, records, entries) that hold no reference
    cycles; every full collection walks all of them again, which cost a 30,000-row
    import a quarter of its time in this process, and its forked workers touch (and
    so copy) every inherited page. Reference counting frees everything else as usual;
    the collector resumes when the last concurrent bulk job ends."""
    with _PAUSES_LOCK:
        if _PAUSES[0] == 0:
            _PAUSES[1] = gc.isenabled()
            gc.disable()
        _PAUSES[0] += 1
    try:
        yield
    finally:
        with _PAUSES_LOCK:
            _PAUSES[0] -= 1
            if _PAUSES[0] == 0 and _PAUSES[1]:
                gc.enable()


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
