"""Anchoring records, status snapshots and lifecycle entries through the ledger's
``anchoring`` contract, and the ledger reads evidence is built from.

Ledger keys and what they anchor (metadata never names a person):

- ``record:<id>`` — each anchored version of a record: digest = the record digest,
  metadata ``{"type", "schema", "schema_version", "record_version", "lifecycle"}``
  (``lifecycle``: hex SM3 of the approval entry of the lifecycle history); a new version
  names the digest of the version it follows as ``previous``;
- ``status:<list id>:<purpose>`` — status list snapshots (records.status);
- ``lifecycle:<id>:<version>`` — the lifecycle entries after activation (suspension,
  reinstatement, revocation, expiry, withdrawal): digest = the entry's hash, metadata
  ``{"type": "lifecycle", "seq", "to"}``.

One call anchors a batch of entries in one transaction; each entry becomes one leaf of the
channel's Merkle log, in order, starting at the receipt's ``leaf_index``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger.block import Block
from ledger.canonical import canonical_json as ledger_json
from ledger.canonical import flat_object_json
from ledger.checkpoint import NoteVerifier
from ledger.contract import KeyModification
from ledger.contracts.anchoring import entry_json
from ledger.errors import LedgerError
from ledger.merkle import ConsistencyProof, InclusionProof
from ledger.msp import SigningIdentity
from ledger.storage.sql import Receipt
from records.envelope import Anchor
from records.errors import AnchoringFailed

CONTRACT = "anchoring"
LIFECYCLE_KEY_PREFIX = "lifecycle:"


def lifecycle_key(record_id: str, version: int) -> str:
    return f"{LIFECYCLE_KEY_PREFIX}{record_id}:{version}"


class LedgerView(Protocol):
    """The ledger reads verification evidence needs (``ledger.channel.Channel`` fits)."""

    channel_id: str

    def checkpoint(self) -> bytes: ...

    def leaf(self, index: int) -> bytes: ...

    def inclusion_proof(self, index: int, size: int) -> InclusionProof: ...

    def consistency_proof(self, first: int, second: int) -> ConsistencyProof: ...

    def block(self, number: int) -> Block: ...

    def history(self, contract: str, key: str) -> list[KeyModification]: ...

    def state(self, contract: str, key: str) -> bytes | None: ...

    def verifiers(self) -> list[NoteVerifier]: ...


class LedgerWriter(LedgerView, Protocol):
    def submit(self, client: SigningIdentity, contract: str, function: str, *args: str,
               timeout: float = 60.0) -> Receipt: ...


@dataclass(frozen=True)
class AnchorRequest:
    """One entry to anchor; ``version`` is the ledger version it will get (1 for a new
    key, the previous version + 1 when ``previous`` names the current digest)."""

    key: str
    digest: str
    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    previous: str | None = None

    def entry(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"key": self.key, "digest": self.digest,
                               "metadata": self.metadata}
        if self.previous is not None:
            doc["previous"] = self.previous
        return doc


def entries_json(requests: Sequence[AnchorRequest]) -> str:
    """The contract's argument: the canonical JSON of ``[r.entry() for r in requests]``.

    Assembled from each entry's members in their sorted order (digest, key, metadata,
    previous) when every request has the usual shape (string key, digest and previous,
    flat metadata): the same text for about half the cost of encoding the documents.
    Otherwise the documents are encoded (and that decides what is refused)."""
    parts: list[str] = []
    for request in requests:
        key, digest, previous = request.key, request.digest, request.previous
        meta = flat_object_json(request.metadata)
        if meta is None or type(key) is not str or type(digest) is not str \
                or (previous is not None and type(previous) is not str):
            return _entries_documents(requests)
        parts.append(entry_json(key, digest, meta, previous))
    assembled = "[" + ",".join(parts) + "]"
    if not assembled.isascii():
        try:
            assembled.encode()
        except UnicodeEncodeError:  # a lone surrogate: the documents' path refuses it
            return _entries_documents(requests)
    return assembled


def _entries_documents(requests: Sequence[AnchorRequest]) -> str:
    return ledger_json([r.entry() for r in requests]).decode()


class RecordAnchoring:
    """Anchors batches through one ledger client identity (the platform's)."""

    def __init__(self, ledger: LedgerWriter, client: SigningIdentity, *,
                 timeout: float = 60.0) -> None:
        self.ledger = ledger
        self.client = client
        self.timeout = timeout

    @property
    def channel_id(self) -> str:
        return self.ledger.channel_id

    def anchor(self, requests: Sequence[AnchorRequest]) -> list[Anchor]:
        """Anchor every request in one transaction; their anchors, in order.
        ``AnchoringFailed`` if the contract or the ledger refuses, or it cannot commit."""
        if not requests:
            return []
        entries = entries_json(requests)
        try:
            receipt = self.ledger.submit(self.client, CONTRACT, "anchor", entries,
                                         timeout=self.timeout)
        except LedgerError as exc:
            raise AnchoringFailed(f"the ledger did not anchor the batch: {exc}") from exc
        if receipt.leaf_start is None or receipt.leaf_count != len(requests):
            raise AnchoringFailed("the ledger committed the batch without its leaves")
        return [Anchor(self.channel_id, receipt.tx_id, receipt.block,
                       receipt.leaf_start + i, r.key, r.version)
                for i, r in enumerate(requests)]

    def current(self, key: str) -> dict[str, Any] | None:
        """The ledger's current entry for ``key`` (version, digest, msp_id, ...)."""
        from ledger.canonical import parse_canonical

        raw = self.ledger.state(CONTRACT, key)
        return None if raw is None else dict(parse_canonical(raw))
