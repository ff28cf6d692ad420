"""Batch signatures: one SM2 signature by an organisation over the SM3 Merkle root of
many items it would otherwise sign one by one (the bulk path's lifecycle entries and
proofs).

Leaf i is exactly the bytes an individual signature on item i would cover. The root is
the RFC 9162 Merkle tree hash with SM3 (``ledger.merkle``) over the leaves in batch
order; the organisation signs the RFC 8785 canonical JSON of the batch statement
``{"type": "edutrust-signature-batch/v1", "org", "kid", "size", "root"}`` (root in
standard base64). Each item carries ``{"size", "index", "path"}``, never the root: a
verifier recomputes the root from the item's own bytes and path, then checks the
signature with the key of the item's (org, kid). docs/records.md section 5 states it.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crypto.errors import InvalidSignature
from crypto.keys.provider import SM2Signer
from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding, SM2PublicKey
from ledger.errors import InvalidProof
from ledger.merkle import hash_leaves, inclusion_root, leaf_hash, root_and_labelled_paths
from records.canonical import canonical_json
from records.errors import MalformedRecord

BATCH_TYPE = "edutrust-signature-batch/v1"
# A path longer than this would be a batch of more than 2**64 items.
MAX_PATH = 64


class BatchMismatch(InvalidSignature):
    """A batch member whose path cannot be an inclusion path of its index and size."""


@functools.lru_cache(maxsize=4096)
def _path_hash(text: str) -> bytes:
    """The bytes of one path hash's text; ``ValueError`` unless it is canonical standard
    base64. Kept per exact text (a pure function; a text that fails raises every time):
    the members of a batch, and so the bundles of its records, share most path nodes."""
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("a path hash is not canonical base64")
    return raw


@dataclass(frozen=True)
class BatchRef:
    """Where an item sits in the batch its signature covers. ``path`` holds the hashes
    as their JSON text (standard base64): envelopes are encoded more often than
    verified, and the items of a batch share most of their path's nodes."""

    size: int
    index: int
    path: tuple[str, ...]

    def hashes(self) -> list[bytes]:
        """The path's hashes; ``ValueError`` unless each is canonical standard base64
        (one text per hash, so the text an entry's hash covers is the one verified).
        Decoded once per (frozen) instance: parsing checks them and verification uses
        them."""
        cached: list[bytes] | None = self.__dict__.get("_hashes")
        if cached is None:
            cached = [_path_hash(h) for h in self.path]
            object.__setattr__(self, "_hashes", cached)
        return list(cached)

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "index": self.index, "path": list(self.path)}

    @classmethod
    def from_json(cls, doc: Any) -> BatchRef:
        try:
            size, index, path = doc["size"], doc["index"], doc["path"]
            if (type(size) is not int or type(index) is not int or not isinstance(path, list)
                    or len(path) > MAX_PATH):
                raise ValueError
            for text in path:
                if not isinstance(text, str):
                    raise ValueError
            hashes = [_path_hash(text) for text in path]   # checked here, used by verify
        except (KeyError, TypeError, ValueError):   # binascii.Error is a ValueError
            raise MalformedRecord("malformed batch member") from None
        batch = cls(size, index, tuple(path))
        object.__setattr__(batch, "_hashes", hashes)
        return batch


def _b64(node: bytes) -> str:
    return base64.b64encode(node).decode("ascii")


def statement(org: str, kid: str, size: int, root: bytes) -> bytes:
    """The canonical bytes a batch signature covers."""
    return canonical_json({"type": BATCH_TYPE, "org": org, "kid": kid, "size": size,
                           "root": base64.b64encode(root).decode("ascii")})


def sign_all(leaves: Sequence[bytes], *, org: str, kid: str,
             signer: SM2Signer) -> list[tuple[bytes, BatchRef | None]]:
    """(signature, batch member) for each leaf: one signature over the batch, or, for a
    single leaf, an individual signature and no batch member."""
    if len(leaves) == 1:
        return [(signer.sign(leaves[0], signer_id=DEFAULT_SIGNER_ID,
                             encoding=SignatureEncoding.DER), None)]
    root, paths = root_and_labelled_paths(hash_leaves(leaves), _b64)
    size = len(leaves)
    signature = signer.sign(statement(org, kid, size, root),
                            signer_id=DEFAULT_SIGNER_ID, encoding=SignatureEncoding.DER)
    return [(signature, BatchRef(size, i, tuple(path))) for i, path in enumerate(paths)]


def verify(signature: bytes, leaf: bytes, batch: BatchRef | None, *, org: str, kid: str,
           public_key: SM2PublicKey) -> None:
    """Raise ``InvalidSignature`` (``BatchMismatch`` for an impossible path) unless
    ``public_key`` signed ``leaf`` alone (no ``batch``) or the batch ``leaf`` is in."""
    if batch is None:
        signed = leaf
    else:
        if batch.size < 2 or not 0 <= batch.index < batch.size:
            raise BatchMismatch(f"batch index {batch.index} of size {batch.size}")
        try:
            root = inclusion_root(leaf_hash(leaf), batch.index, batch.size, batch.hashes())
        except (InvalidProof, ValueError) as exc:   # binascii.Error is a ValueError
            raise BatchMismatch(str(exc)) from None
        exact = type(org) is str and type(kid) is str and type(batch.size) is int
        signed = (_statement if exact else statement)(org, kid, batch.size, root)
    public_key.verify(signature, signed, signer_id=DEFAULT_SIGNER_ID,
                      encoding=SignatureEncoding.DER)


@functools.lru_cache(maxsize=256)
def _statement(org: str, kid: str, size: int, root: bytes) -> bytes:
    """``statement``, kept per exact (org, kid, size, root): every member of a batch, and
    so every bundle of its records, leads to the same statement. Only the bytes are
    kept; ``verify`` still recomputes the root from each item and checks the signature."""
    return statement(org, kid, size, root)
