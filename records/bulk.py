"""The signing work of bulk registration, as pure functions a process pool can run.

A record registered in bulk goes through exactly the lifecycle a record registered one
call at a time does — draft, submitted (with the issuer's proof), and, when a reviewer is
named, under_review and approved (with the reviewer's proof); after anchoring, active —
with the same signatures by the same keys. Only the work is arranged differently: each
record's chain is built in one go from key handles resolved once per organisation, and
the chains of many records are built side by side in worker processes, which send back
only what they add (``Chain``, an activation's ``Transition``) for the caller to apply.

Workers get the key handles by inheritance: ``SigningPool`` stores them in this module
before it forks its workers, so private keys never travel through a pipe or a file.
Without a pool (``workers=1``, e.g. inside a web worker) the same functions run in the
calling process with the handles passed explicitly.
"""

from __future__ import annotations

import datetime as dt
import functools
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from crypto.keys.provider import SM2Signer
from records.envelope import Anchor, Proof, Record, Review
from records.errors import SchemaViolation
from records.lifecycle import Actor, State, Transition, sign_transition
from records.schema import validate_content
from records.signing import ISSUE, REVIEW, sign_proof

# org code -> (key id, signing handle); filled in before a pool forks its workers.
Signers = Mapping[str, tuple[str, SM2Signer]]
_INHERITED: dict[str, tuple[str, SM2Signer]] = {}
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
    """What ``build_chain`` adds to a draft: all a worker sends back (the draft with its
    content stays where it came from)."""

    digest: str
    state: State
    lifecycle: tuple[Transition, ...]
    proofs: tuple[Proof, ...]
    review: Review | None

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


def _transition(record: Record, target: State, actor: Actor, signers: Signers,
                at: dt.datetime, comment: str | None) -> Record:
    kid, signer = signers[actor.org]
    entry = sign_transition(record.lifecycle, target, record=record.id,
                            version=record.version, digest=record.digest, actor=actor,
                            kid=kid, signer=signer, at=at, comment=comment)
    return record.with_changes(state=target, lifecycle=(*record.lifecycle, entry))


def build_chain(job: ChainJob, signers: Signers | None = None) -> Record:
    """The record's digest, lifecycle and proofs up to ``submitted`` or ``approved``."""
    keys = signers if signers is not None else _INHERITED
    at = job.at
    record = job.draft.with_changes(digest=job.draft.compute_digest())
    record = _transition(record, State.DRAFT, job.actor, keys, at, None)
    issuer = record.issuer.org
    kid, signer = keys[issuer]
    proof = sign_proof(record, ISSUE, org=issuer, kid=kid, signer=signer, created=at)
    record = record.with_changes(proofs=(proof,))
    record = _transition(record, State.SUBMITTED, job.actor, keys, at, None)
    if job.reviewer is None:
        return record
    reviewer = job.reviewer
    record = _transition(record, State.UNDER_REVIEW, reviewer, keys, at, None)
    review = Review(State.APPROVED.value, reviewer.org, at, job.comment, {})
    rkid, rsigner = keys[reviewer.org]
    review_proof = sign_proof(record, REVIEW, org=reviewer.org, kid=rkid, signer=rsigner,
                              created=at, review=review)
    record = record.with_changes(review=review, proofs=(proof, review_proof))
    return _transition(record, State.APPROVED, reviewer, keys, at, job.comment)


def build_chain_only(job: ChainJob, signers: Signers | None = None) -> Chain:
    """``build_chain`` for a worker: only what it adds to the draft."""
    record = build_chain(job, signers)
    return Chain(record.digest, record.state, record.lifecycle, record.proofs, record.review)


def activation_entry(job: ActivationJob, signers: Signers | None = None) -> Transition:
    """The platform's signed ``approved -> active`` lifecycle entry."""
    keys = signers if signers is not None else _INHERITED
    kid, signer = keys[job.actor.org]
    return sign_transition(job.lifecycle, State.ACTIVE, record=job.record,
                           version=job.version, digest=job.digest, actor=job.actor,
                           kid=kid, signer=signer, at=job.at, comment=None)


def activated(record: Record, anchor: Anchor, entry: Transition) -> Record:
    """The anchored record with its activation entry (from ``activation_entry``)."""
    return record.with_changes(anchor=anchor, state=State.ACTIVE,
                               lifecycle=(*record.lifecycle, entry))


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
    """Runs ``build_chain_only`` and ``activation_entry`` over many records: in
    ``workers`` forked processes, or in this process when ``workers`` is 1 (or fork is
    unavailable).

    Use as a context manager; the handles of ``signers`` are what the workers sign with.
    One forking pool at a time per process (the handles pass through a module global),
    so keep ``workers=1`` in multi-threaded servers.
    """

    def __init__(self, signers: Signers, workers: int = 1, *, chunk: int = 200) -> None:
        self.signers = dict(signers)
        self.workers = max(1, workers)
        self.chunk = chunk
        self._executor: Executor | None = None

    def __enter__(self) -> SigningPool:
        if self.workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            _INHERITED.clear()
            _INHERITED.update(self.signers)
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

    def map(self, fn: Callable[..., _R], items: Iterable[Any]) -> Iterator[_R]:
        """``fn(item)`` for every item, in order (lazily, chunk by chunk)."""
        if self._executor is None:
            bound = functools.partial(fn, signers=self.signers)
            return (bound(item) for item in items)
        batch = list(items)
        chunks = [batch[i:i + self.chunk] for i in range(0, len(batch), self.chunk)]
        futures = [self._executor.submit(_run_chunk, fn, c) for c in chunks]
        return (result for future in futures for result in future.result())


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
