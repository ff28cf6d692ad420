"""Blocks: a header that chains to the previous block, commits to the block's envelopes
and their validation codes, and states the Merkle tree (size and root) after the block;
signed by the orderer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from crypto.sm3 import sm3
from ledger.canonical import CanonicalJSONError, canonical_json, parse_canonical
from ledger.errors import LedgerError
from ledger.tx import b64, format_time, parse_time, unb64

GENESIS_PREVIOUS = bytes(32)


def data_hash(envelopes: list[bytes]) -> bytes:
    """SM3 over the canonical JSON list of base64(SM3(envelope)), in block order."""
    return sm3(canonical_json([b64(sm3(e)) for e in envelopes]))


@dataclass(frozen=True)
class BlockHeader:
    channel: str
    number: int
    previous_hash: bytes
    data_hash: bytes
    codes: tuple[str, ...]     # one validation code per envelope
    tree_size: int             # leaves in the channel's Merkle log after this block
    tree_root: bytes
    timestamp: dt.datetime     # when the orderer cut the block
    config_sequence: int       # the configuration the block was validated under

    def to_doc(self) -> dict[str, Any]:
        return {"channel": self.channel, "number": self.number,
                "previous_hash": b64(self.previous_hash), "data_hash": b64(self.data_hash),
                "codes": list(self.codes), "tree_size": self.tree_size,
                "tree_root": b64(self.tree_root), "timestamp": format_time(self.timestamp),
                "config_sequence": self.config_sequence}

    def encode(self) -> bytes:
        # Computed once per (immutable) header: it is signed, hashed and stored.
        cached: bytes | None = self.__dict__.get("_encoded")
        if cached is None:
            cached = canonical_json(self.to_doc())
            object.__setattr__(self, "_encoded", cached)
        return cached

    @property
    def hash(self) -> bytes:
        return sm3(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> BlockHeader:
        try:
            doc = parse_canonical(data)
            if set(doc) != {"channel", "number", "previous_hash", "data_hash", "codes",
                            "tree_size", "tree_root", "timestamp", "config_sequence"}:
                raise LedgerError("block header: unexpected members")
            return cls(str(doc["channel"]), int(doc["number"]),
                       unb64(doc["previous_hash"], "previous_hash"),
                       unb64(doc["data_hash"], "data_hash"),
                       tuple(str(c) for c in doc["codes"]), int(doc["tree_size"]),
                       unb64(doc["tree_root"], "tree_root"),
                       parse_time(doc["timestamp"], "timestamp"),
                       int(doc["config_sequence"]))
        except (CanonicalJSONError, KeyError, TypeError, ValueError) as exc:
            raise LedgerError(f"malformed block header: {exc}") from None


@dataclass(frozen=True)
class Block:
    header: BlockHeader
    envelopes: tuple[bytes, ...]
    signature: bytes   # orderer's SM2 DER signature over header.encode()
    signer: bytes      # orderer certificate, DER

    def to_doc(self) -> dict[str, Any]:
        """The JSON form served at /ledger/v1/blocks/{n}."""
        return {"header": self.header.to_doc(), "hash": b64(self.header.hash),
                "envelopes": [b64(e) for e in self.envelopes],
                "signature": b64(self.signature), "signer": b64(self.signer)}
