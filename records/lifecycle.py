"""The record lifecycle: states, the transitions allowed between them, and signed,
hash-chained transition entries.

    draft -> submitted -> under_review -> approved | returned | rejected
    approved -> active (anchored) -> suspended <-> active
    active | suspended -> revoked | expired | withdrawn

Nothing is edited in place: an amendment is a new version (records.registry) that goes
through the same states. Each transition records who (actor, role, organisation), when
and why, names the record version and its digest, links to the SM3 hash of the entry
before it, and is signed with the acting organisation's SM2 key.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from crypto.errors import CryptoError
from crypto.keys.provider import SM2Signer
from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding, SM2PublicKey
from crypto.sm3 import sm3
from records import batch as batches
from records.batch import BatchMismatch, BatchRef
from records.canonical import MAX_SAFE_INTEGER, canonical_json
from records.errors import IllegalTransition, MalformedRecord
from records.timestamps import format_timestamp, parse_timestamp


class State(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    RETURNED = "returned"
    REJECTED = "rejected"
    ACTIVE = "active"          # anchored on the ledger
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


ALLOWED: dict[State, tuple[State, ...]] = {
    State.DRAFT: (State.SUBMITTED,),
    State.SUBMITTED: (State.UNDER_REVIEW,),
    State.UNDER_REVIEW: (State.APPROVED, State.RETURNED, State.REJECTED),
    State.APPROVED: (State.ACTIVE,),
    State.RETURNED: (),
    State.REJECTED: (),
    State.ACTIVE: (State.SUSPENDED, State.REVOKED, State.EXPIRED, State.WITHDRAWN),
    State.SUSPENDED: (State.ACTIVE, State.REVOKED, State.EXPIRED, State.WITHDRAWN),
    State.REVOKED: (),
    State.EXPIRED: (),
    State.WITHDRAWN: (),
}
# States whose record is (or was) on the ledger and is not final.
LIVE = frozenset({State.ACTIVE, State.SUSPENDED})
# States from which an amendment (a new version) may start.
AMENDABLE = frozenset({State.RETURNED, State.ACTIVE, State.SUSPENDED})
FINAL = frozenset(s for s, nxt in ALLOWED.items() if not nxt)
_BY_VALUE: dict[str, State] = {s.value: s for s in State}


def state_named(value: Any) -> State:
    """``State(value)``, by a dictionary lookup for a string (every envelope names a state
    per lifecycle entry; the enum's own lookup costs several times more)."""
    found = _BY_VALUE.get(value) if type(value) is str else None
    return found if found is not None else State(value)


def check_transition(current: State, target: State) -> None:
    """Raise ``IllegalTransition`` unless ``current -> target`` is in the state machine."""
    allowed = ALLOWED[current]
    if target not in allowed:
        raise IllegalTransition(current.value, target.value, tuple(s.value for s in allowed))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    try:
        if not isinstance(text, str):
            raise ValueError
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, binascii.Error):
        raise MalformedRecord(f"{what} is not base64") from None


@dataclass(frozen=True)
class Transition:
    """One signed lifecycle entry; ``source`` is None only for the creation (-> draft)."""

    seq: int
    source: State | None
    target: State
    record: str
    version: int
    digest: str
    actor: str
    role: str
    org: str
    kid: str
    at: dt.datetime
    comment: str | None
    previous: str | None      # hex SM3 of the canonical JSON of the entry before
    signature: bytes
    batch: BatchRef | None = None   # set when ``signature`` covers a batch (records.batch)

    def statement(self) -> dict[str, Any]:
        """Every member but the signature and batch: what the signature covers (alone, or
        as a leaf of its batch)."""
        return {"seq": self.seq, "from": self.source.value if self.source else None,
                "to": self.target.value, "record": self.record, "version": self.version,
                "digest": self.digest, "actor": self.actor, "role": self.role,
                "org": self.org, "kid": self.kid, "at": format_timestamp(self.at),
                "comment": self.comment, "previous": self.previous}

    def signed_bytes(self) -> bytes:
        # Remembered on the (frozen) instance: verification asks for it and for the hash
        # of every entry more than once.
        cached: bytes | None = self.__dict__.get("_signed_bytes")
        if cached is None:
            texts = _statement_texts(self)
            if texts is None:
                cached = canonical_json(self.statement())
            else:
                # The pieces are kept too: the entry's hash is the same text with the
                # batch and signature members added.
                object.__setattr__(self, "_statement_texts", texts)
                cached = "".join(texts).encode()
            object.__setattr__(self, "_signed_bytes", cached)
        return cached

    def to_json(self) -> dict[str, Any]:
        doc = {**self.statement(), "signature": _b64(self.signature)}
        if self.batch is not None:
            doc["batch"] = self.batch.to_json()
        return doc

    def hash(self) -> str:
        """Hex SM3 of the whole entry (signature included): the next entry's ``previous``
        and, for the entry before anchoring, the ``lifecycle`` member of the anchor."""
        cached: str | None = self.__dict__.get("_hash")
        if cached is None:
            cached = sm3(_whole_bytes(self) or canonical_json(self.to_json())).hex()
            object.__setattr__(self, "_hash", cached)
        return cached

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Transition:
        try:
            return cls(int(doc["seq"]), state_named(doc["from"]) if doc["from"] else None,
                       state_named(doc["to"]), str(doc["record"]), int(doc["version"]),
                       str(doc["digest"]), str(doc["actor"]), str(doc["role"]),
                       str(doc["org"]), str(doc["kid"]), parse_timestamp(doc["at"]),
                       doc["comment"], doc["previous"],
                       _unb64(doc["signature"], "transition signature"),
                       BatchRef.from_json(doc["batch"]) if "batch" in doc else None)
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedRecord(f"malformed lifecycle entry: {exc}") from None

    def verify(self, public_key: SM2PublicKey) -> None:
        """Raise ``CryptoError`` unless ``public_key`` signed this entry (alone, or the
        batch its ``batch`` member places it in: ``BatchMismatch`` for an impossible
        path)."""
        batches.verify(self.signature, self.signed_bytes(), self.batch, org=self.org,
                       kid=self.kid, public_key=public_key)


@dataclass(frozen=True)
class Actor:
    """Who acts: a directory reference (never a personal identifier), the role they act
    in, and the organisation whose key signs the transition."""

    ref: str
    role: str
    org: str


def sign_transition(history: Sequence[Transition], target: State, *, record: str,
                    version: int, digest: str, actor: Actor, kid: str, signer: SM2Signer,
                    at: dt.datetime, comment: str | None) -> Transition:
    """The next entry of ``history``, checked against the state machine and signed."""
    unsigned = next_transition(history, target, record=record, version=version,
                               digest=digest, actor=actor, kid=kid, at=at, comment=comment)
    signature = signer.sign(unsigned.signed_bytes(), signer_id=DEFAULT_SIGNER_ID,
                            encoding=SignatureEncoding.DER)
    return replace(unsigned, signature=signature)


_quote = json.encoder.encode_basestring


def _safe_int(value: object) -> bool:
    return type(value) is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER


def _whole_bytes(entry: Transition) -> bytes | None:
    """``canonical_json(entry.to_json())`` assembled from each member's JSON text in
    sorted member order (the statement's pieces, kept by ``signed_bytes`` or made here,
    with the batch and signature members between them), when every member has its usual
    type (strings, safe integers, null where allowed); None otherwise, and the general
    encoder decides. Entries are hashed and signed in bulk, and this skips walking each
    one's document to check it."""
    texts = entry.__dict__.get("_statement_texts") or _statement_texts(entry)
    if texts is None:
        return None
    head, middle, tail = texts
    batch_text = ""
    batch = entry.batch
    if batch is not None:
        path = batch.path
        if (not _safe_int(batch.index) or not _safe_int(batch.size)
                or type(path) is not tuple or not all(type(h) is str for h in path)):
            return None
        batch_text = (f',"batch":{{"index":{batch.index},"path":[{",".join(map(_quote, path))}]'
                      f',"size":{batch.size}}}')
    if type(entry.signature) is not bytes:
        return None
    return (f'{head}{batch_text}{middle},"signature":{_quote(_b64(entry.signature))}'
            f'{tail}').encode()


def _statement_texts(entry: Transition) -> tuple[str, str, str] | None:
    """``canonical_json(entry.statement())`` as text in three pieces, split where the
    whole entry's ``batch`` and ``signature`` members go (after ``at``, after ``seq``);
    None unless every member has its usual type. (A ``State`` is a ``str``: quoting the
    member quotes its value.)"""
    q, top = _quote, MAX_SAFE_INTEGER
    seq, version, source = entry.seq, entry.version, entry.source
    comment, previous = entry.comment, entry.previous
    if not (type(entry.actor) is str and type(entry.record) is str
            and type(entry.digest) is str and type(entry.role) is str
            and type(entry.org) is str and type(entry.kid) is str
            and type(seq) is int and -top <= seq <= top
            and type(version) is int and -top <= version <= top
            and type(entry.target) is State
            and (source is None or type(source) is State)
            and (comment is None or type(comment) is str)
            and (previous is None or type(previous) is str)):
        return None
    return (f'{{"actor":{q(entry.actor)},"at":{q(format_timestamp(entry.at))}',
            f',"comment":{"null" if comment is None else q(comment)}'
            f',"digest":{q(entry.digest)},"from":{"null" if source is None else q(source)}'
            f',"kid":{q(entry.kid)},"org":{q(entry.org)}'
            f',"previous":{"null" if previous is None else q(previous)}'
            f',"record":{q(entry.record)},"role":{q(entry.role)},"seq":{seq}',
            f',"to":{q(entry.target)},"version":{version}}}')


def next_transition(history: Sequence[Transition], target: State, *, record: str,
                    version: int, digest: str, actor: Actor, kid: str, at: dt.datetime,
                    comment: str | None) -> Transition:
    """The next entry of ``history``, checked against the state machine, not yet signed
    (its signature empty): for ``sign_transition`` or a batch signature."""
    return transition_after(history[-1] if history else None, len(history), target,
                            record=record, version=version, digest=digest, actor=actor,
                            kid=kid, at=at, comment=comment)


def transition_after(last: Transition | None, count: int, target: State, *, record: str,
                     version: int, digest: str, actor: Actor, kid: str, at: dt.datetime,
                     comment: str | None) -> Transition:
    """``next_transition`` of a history known by its last entry and its length (what a
    worker is sent instead of the whole history)."""
    if last is not None:
        check_transition(last.target, target)
        source: State | None = last.target
        previous: str | None = last.hash()
    else:
        if target is not State.DRAFT:
            raise IllegalTransition("(none)", target.value, (State.DRAFT.value,))
        source, previous = None, None
    return Transition(count, source, target, record, version, digest, actor.ref,
                      actor.role, actor.org, kid, at.replace(microsecond=0), comment,
                      previous, b"")


def chain_problems(history: Sequence[Transition], *, record: str, version: int, digest: str,
                   key_for: Callable[[str, str], SM2PublicKey | None]) -> tuple[list[str],
                                                                                  list[str]]:
    """Check a lifecycle history: sequence numbers, hash links, allowed transitions, the
    record it names, and each signature with ``key_for(org, kid)`` (None: the signer's
    certificate is unknown). Returns (problems, unverifiable entries)."""
    problems: list[str] = []
    unknown: list[str] = []
    previous: Transition | None = None
    for i, entry in enumerate(history):
        where = f"lifecycle entry {i}"
        if entry.seq != i:
            problems.append(f"{where}: sequence number {entry.seq}")
        if (entry.record, entry.version, entry.digest) != (record, version, digest):
            problems.append(f"{where}: names another record version or digest")
        if previous is None:
            if entry.source is not None or entry.target is not State.DRAFT:
                problems.append(f"{where}: a history starts with the creation of a draft")
        else:
            if entry.source is not previous.target:
                problems.append(f"{where}: starts from {entry.source} but the record was "
                                f"{previous.target}")
            elif entry.target not in ALLOWED[previous.target]:
                problems.append(f"{where}: {previous.target} -> {entry.target} is not allowed")
            if entry.previous != previous.hash():
                problems.append(f"{where}: does not link to the entry before it")
            if entry.at < previous.at:
                problems.append(f"{where}: dated before the entry before it")
        key = key_for(entry.org, entry.kid)
        if key is None:
            unknown.append(f"{where}: no certificate for {entry.kid}")
        else:
            try:
                entry.verify(key)
            except BatchMismatch as exc:
                problems.append(f"{where}: its batch path does not fit ({exc})")
            except CryptoError:
                kind = "batch signature" if entry.batch is not None else "signature"
                problems.append(f"{where}: the {kind} of {entry.org} does not verify")
        previous = entry
    return problems, unknown
