"""``AuditLog``: record authentication events into the hash chain, seal it with signed
checkpoints, export it and verify it.

Appends are serialised on the head row (an UPDATE of ``audit_head`` is the first
statement of every append transaction: a row lock on PostgreSQL, the database write lock
on SQLite), so any number of workers and processes extend one chain, never two.
A checkpoint is signed inside the append that crosses ``checkpoint_every`` entries or
``checkpoint_interval`` of time since the previous one, and on demand (``checkpoint()``,
``edutrust audit checkpoint``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crypto.errors import CryptoError
from crypto.keys.provider import KeyInfo, SM2Signer
from crypto.sm2 import SM2PublicKey
from idp.audit import AuditError
from idp.audit.chain import (
    GENESIS,
    canonical_json,
    chain_hash,
    checkpoint_text,
    entry_document,
    format_time,
    shorten_ip,
)
from idp.audit.models import HEAD_ID, AuditCheckpoint, AuditEntry, AuditHead

_EVENT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_INTERNAL_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,64}$")
# Detail keys that would smell of a secret or a personal identifier: refused outright, so
# a careless caller fails in its tests instead of leaking into an undeletable log.
_FORBIDDEN_KEY_PARTS = ("password", "secret", "token", "otp", "code", "cookie", "id_card",
                        "idcard", "phone", "username", "email", "assertion", "private")
MAX_DETAILS = 2048          # bytes of canonical JSON
MAX_DETAIL_STRING = 256
VERIFY_BATCH = 1000


class AuditKeys(Protocol):
    """What the log needs of a key provider: sign with a key, read a public key."""

    def sm2(self, key_id: str, version: int | None = None) -> Any: ...

    def public_key(self, key_id: str, version: int | None = None) -> SM2PublicKey: ...


@dataclass(frozen=True)
class Divergence:
    seq: int
    reason: str   # "missing", "chain", "altered", "head", "checkpoint_hash",
    #               "checkpoint_signature", "checkpoint_beyond_head"


@dataclass
class VerifyReport:
    entries: int = 0
    checkpoints: int = 0
    head_seq: int = 0
    divergences: list[Divergence] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.divergences

    @property
    def first(self) -> Divergence | None:
        return min(self.divergences, key=lambda d: d.seq) if self.divergences else None

    def as_json(self) -> dict[str, Any]:
        first = self.first
        return {"intact": self.intact, "entries": self.entries, "checkpoints": self.checkpoints,
                "head_seq": self.head_seq,
                "first_divergent_seq": first.seq if first else None,
                "reason": first.reason if first else None}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_details(details: dict[str, Any]) -> str:
    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                lowered = str(key).lower()
                if any(part in lowered for part in _FORBIDDEN_KEY_PARTS):
                    raise AuditError(f"audit detail {key!r} may hold a secret or identifier")
                walk(inner)
        elif isinstance(value, (list, tuple)):
            for inner in value:
                walk(inner)
        elif isinstance(value, str) and len(value) > MAX_DETAIL_STRING:
            raise AuditError("audit detail strings are at most 256 characters")

    walk(details)
    try:
        text = canonical_json(details).decode("utf-8")
    except ValueError as exc:
        raise AuditError(str(exc)) from None
    if len(text.encode()) > MAX_DETAILS:
        raise AuditError("audit details are at most 2048 bytes")
    return text


def export_line(row: AuditEntry) -> dict[str, Any]:
    """One entry as exported (``edutrust audit export``): the hashed document plus its
    ``prev_hash`` and ``hash`` (hex)."""
    document = entry_document(row.seq, row.recorded_at, row.event, row.person_id,
                              row.client_id, row.ip, json.loads(row.details))
    return {**document, "prev_hash": row.prev_hash, "hash": row.hash}


class AuditLog:
    """``keys`` signs checkpoints with the SM2 key ``key_id`` (the platform signing key)."""

    def __init__(self, sessions: sessionmaker[Session], keys: AuditKeys,
                 key_id: str = "platform-signing", *, checkpoint_every: int = 256,
                 checkpoint_interval: dt.timedelta = dt.timedelta(hours=1),
                 clock: Callable[[], dt.datetime] = _now) -> None:
        self._sessions = sessions
        self._keys = keys
        self.key_id = key_id
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval = checkpoint_interval
        self._clock = clock

    # -- writing -------------------------------------------------------------------------
    def record(self, event: str, *, person_id: str | None = None,
               client_id: str | None = None, ip: str | None = None,
               details: dict[str, Any] | None = None) -> int:
        """Append one event; returns its sequence number.

        ``person_id`` is the directory's internal id (a UUID), never a username, ID or
        phone number; ``ip`` is shortened to its /24 (IPv4) or /48 (IPv6) network;
        ``details`` is a small JSON object whose keys must not name secrets or
        identifiers (``AuditError`` otherwise)."""
        if len(event) > 64 or not _EVENT.match(event):
            raise AuditError("an audit event is lowercase words joined by dots")
        if person_id is not None and not _INTERNAL_ID.match(person_id):
            raise AuditError("person_id must be an internal id")
        if client_id is not None and not _CLIENT_ID.match(client_id):
            raise AuditError("client_id is malformed")
        details_text = _check_details(dict(details or {}))
        network = shorten_ip(ip)
        for _attempt in range(3):
            try:
                return self._append(event, person_id, client_id, network, details_text)
            except IntegrityError:
                # Only possible when the head row was missing and two writers created it
                # at once; the loser retries on the now-present head.
                continue
        raise AuditError("the audit head cannot be locked")

    def _lock_head(self, session: Session) -> AuditHead:
        locked = session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID)
                                 .values(seq=AuditHead.seq))
        if getattr(locked, "rowcount", 0) != 1:
            session.add(AuditHead(id=HEAD_ID, seq=0, hash=GENESIS.hex(), checkpoint_seq=0,
                                  checkpoint_at=None))
            session.flush()
        head = session.get(AuditHead, HEAD_ID, populate_existing=True)
        assert head is not None
        return head

    def _append(self, event: str, person_id: str | None, client_id: str | None,
                ip: str | None, details_text: str) -> int:
        with self._sessions.begin() as session:
            head = self._lock_head(session)
            seq = head.seq + 1
            when = self._clock()
            document = entry_document(seq, when, event, person_id, client_id, ip,
                                      json.loads(details_text))
            digest = chain_hash(bytes.fromhex(head.hash), document)
            session.add(AuditEntry(seq=seq, recorded_at=when, event=event,
                                   person_id=person_id, client_id=client_id, ip=ip,
                                   details=details_text, prev_hash=head.hash,
                                   hash=digest.hex()))
            head.seq, head.hash = seq, digest.hex()
            last = head.checkpoint_at
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=dt.UTC)
            if (seq - head.checkpoint_seq >= self.checkpoint_every
                    or last is None or when - last >= self.checkpoint_interval):
                self._sign(session, head, when)
        return seq

    def _sign(self, session: Session, head: AuditHead, when: dt.datetime) -> AuditCheckpoint:
        handle = self._keys.sm2(self.key_id)
        signer: SM2Signer = handle
        info: KeyInfo = handle.info
        stamp = format_time(when)
        signature = signer.sign(checkpoint_text(head.seq, bytes.fromhex(head.hash), stamp))
        checkpoint = AuditCheckpoint(seq=head.seq, head_hash=head.hash, signed_at=stamp,
                                     key_id=info.key_id, key_version=info.version,
                                     signature=base64.b64encode(signature).decode())
        session.add(checkpoint)
        head.checkpoint_seq, head.checkpoint_at = head.seq, when
        return checkpoint

    def checkpoint(self) -> int | None:
        """Sign a checkpoint at the current head now; returns its sequence number, or
        ``None`` when the head is already checkpointed (or the log is empty)."""
        with self._sessions.begin() as session:
            head = self._lock_head(session)
            if head.seq == 0 or head.checkpoint_seq == head.seq:
                return None
            return self._sign(session, head, self._clock()).seq

    # -- reading -------------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        with self._sessions() as session:
            row = session.get(AuditHead, HEAD_ID)
            return (row.seq, row.hash) if row is not None else (0, GENESIS.hex())

    def entries(self, since: int = 0) -> Iterator[dict[str, Any]]:
        """Exported entries with ``seq > since``, oldest first (read in batches)."""
        after = since
        while True:
            with self._sessions() as session:
                rows = list(session.scalars(select(AuditEntry).where(AuditEntry.seq > after)
                                            .order_by(AuditEntry.seq).limit(VERIFY_BATCH)))
            if not rows:
                return
            for row in rows:
                yield export_line(row)
            after = rows[-1].seq

    def checkpoints(self) -> list[dict[str, Any]]:
        with self._sessions() as session:
            rows = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))
            return [{"seq": r.seq, "head_hash": r.head_hash, "time": r.signed_at,
                     "kid": f"{r.key_id}.v{r.key_version}", "signature": r.signature}
                    for r in rows]

    # -- verifying -----------------------------------------------------------------------
    def _signature_ok(self, cp: AuditCheckpoint) -> bool:
        try:
            public = self._keys.public_key(cp.key_id, cp.key_version)
            signature = base64.b64decode(cp.signature, validate=True)
            head_hash = bytes.fromhex(cp.head_hash)
            public.verify(signature, checkpoint_text(cp.seq, head_hash, cp.signed_at))
        except (CryptoError, ValueError, binascii.Error, LookupError):
            return False
        except Exception:  # an unknown key id or version in a key store: not ours
            return False
        return True

    def verify(self) -> VerifyReport:
        """Recompute the whole chain from the first entry, check every checkpoint's
        signature and head hash, and the head row. Finds edited, deleted, inserted and
        reordered entries, a tail cut below a checkpoint, and forged checkpoints."""
        report = VerifyReport()
        with self._sessions() as session:
            checkpoints = {cp.seq: cp for cp in session.scalars(select(AuditCheckpoint))}
            head = session.get(AuditHead, HEAD_ID)
        report.checkpoints = len(checkpoints)
        for cp in checkpoints.values():
            if not self._signature_ok(cp):
                report.divergences.append(Divergence(cp.seq, "checkpoint_signature"))
        prev, expected, broken = GENESIS, 1, False
        after = 0
        while True:
            with self._sessions() as session:
                rows = list(session.scalars(select(AuditEntry).where(AuditEntry.seq > after)
                                            .order_by(AuditEntry.seq).limit(VERIFY_BATCH)))
            if not rows:
                break
            for row in rows:
                report.entries += 1
                if broken:
                    continue
                problem = self._entry_problem(row, expected, prev)
                if problem is not None:
                    report.divergences.append(problem)
                    broken = True
                    continue
                prev = bytes.fromhex(row.hash)
                sealed = checkpoints.get(row.seq)
                if sealed is not None and sealed.head_hash != row.hash:
                    report.divergences.append(Divergence(row.seq, "checkpoint_hash"))
                    broken = True
                expected += 1
            after = rows[-1].seq
        last_seq = expected - 1 if not broken else None
        report.head_seq = head.seq if head is not None else 0
        if last_seq is not None:
            if head is None and last_seq > 0:
                report.divergences.append(Divergence(last_seq + 1, "head"))
            elif head is not None and (head.seq != last_seq or head.hash != prev.hex()):
                report.divergences.append(Divergence(min(head.seq, last_seq) + 1, "head"))
            beyond = [seq for seq in checkpoints if seq > last_seq]
            if beyond:
                report.divergences.append(Divergence(last_seq + 1, "checkpoint_beyond_head"))
        return report

    @staticmethod
    def _entry_problem(row: AuditEntry, expected: int, prev: bytes) -> Divergence | None:
        if row.seq != expected:
            return Divergence(expected, "missing")
        if row.prev_hash != prev.hex():
            return Divergence(row.seq, "chain")
        try:
            document = entry_document(row.seq, row.recorded_at, row.event, row.person_id,
                                      row.client_id, row.ip, json.loads(row.details))
            recomputed = chain_hash(prev, document)
            canonical = canonical_json(json.loads(row.details)).decode("utf-8")
        except (ValueError, TypeError):
            return Divergence(row.seq, "altered")
        if recomputed.hex() != row.hash or canonical != row.details:
            return Divergence(row.seq, "altered")
        return None
