"""Revocation and suspension through W3C Bitstring Status Lists (v1.0), as signed and
anchored snapshots.

Each issuing organisation has status lists of ``LIST_SIZE`` bits (131,072: the minimum
the W3C recommends, so one record's bit hides among many); a record holds one index, used
in both the list's ``revocation`` and ``suspension`` bitstrings. Bit ``i`` is bit
``7 - i % 8`` of byte ``i // 8`` (index 0 is the leftmost bit). The encoded list is the
W3C ``encodedList``: multibase base64url (prefix ``u``, no padding) of the GZIP-compressed
bitstring.

A *snapshot* freezes one bitstring: ``{"type": "edutrust-status-list/v1", "id", "org",
"kid", "purpose", "size", "sequence", "encoded_list", "valid_from", "valid_until"}``,
signed by the list's organisation (SM2 over the canonical JSON of these members) and
anchored on the ledger under ``status:<id>:<purpose>`` with digest SM3(canonical JSON of
the signed snapshot). A verifier trusts a snapshot only while ``valid_until`` has not
passed; every status change publishes a new one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import gzip
import zlib
from dataclasses import dataclass, replace
from typing import Any

from crypto.errors import CryptoError
from crypto.keys.provider import SM2Signer
from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding, SM2PublicKey
from crypto.sm3 import sm3
from records.canonical import canonical_json
from records.errors import StatusListError
from records.timestamps import format_timestamp, parse_timestamp

LIST_SIZE = 131_072
PURPOSES = ("revocation", "suspension")
SNAPSHOT_TYPE = "edutrust-status-list/v1"
STATUS_KEY_PREFIX = "status:"
_MAX_LIST_BYTES = 1 << 20


def status_key(list_id: str, purpose: str) -> str:
    """The ledger key a list's snapshots of one purpose are anchored under."""
    return f"{STATUS_KEY_PREFIX}{list_id}:{purpose}"


def bit(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"index {index} is outside a list of {len(bits) * 8} bits")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def encode_list(bits: bytes) -> str:
    """W3C encodedList: ``u`` + base64url(GZIP(bits)) without padding."""
    compressed = gzip.compress(bits, compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


@functools.lru_cache(maxsize=64)  # every record of a list is checked against the same one
def decode_list(encoded: str, size: int) -> bytes:
    if not encoded.startswith("u"):
        raise StatusListError("encodedList must be multibase base64url (prefix 'u')")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        bits = decompressor.decompress(compressed, _MAX_LIST_BYTES + 1)
    except (ValueError, binascii.Error, zlib.error):
        raise StatusListError("encodedList is not base64url GZIP") from None
    if len(bits) != size // 8 or size % 8:
        raise StatusListError(f"encodedList does not hold {size} bits")
    return bits


@dataclass(frozen=True)
class StatusSnapshot:
    list_id: str
    org: str
    kid: str
    purpose: str
    size: int
    sequence: int
    encoded_list: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    signature: bytes

    def statement(self) -> dict[str, Any]:
        return {"type": SNAPSHOT_TYPE, "id": self.list_id, "org": self.org, "kid": self.kid,
                "purpose": self.purpose, "size": self.size, "sequence": self.sequence,
                "encoded_list": self.encoded_list,
                "valid_from": format_timestamp(self.valid_from),
                "valid_until": format_timestamp(self.valid_until)}

    def to_json(self) -> dict[str, Any]:
        return {**self.statement(),
                "signature": base64.b64encode(self.signature).decode("ascii")}

    def digest(self) -> str:
        """What the ledger anchors: hex SM3 of the canonical signed snapshot."""
        return _snapshot_digest(self)

    @property
    def key(self) -> str:
        return status_key(self.list_id, self.purpose)

    def bits(self) -> bytes:
        return decode_list(self.encoded_list, self.size)

    def is_set(self, index: int) -> bool:
        return bit(self.bits(), index)

    def signature_is_valid(self, public_key: SM2PublicKey) -> bool:
        try:
            public_key.verify(self.signature, _signed_bytes(self),
                              signer_id=DEFAULT_SIGNER_ID, encoding=SignatureEncoding.DER)
        except CryptoError:
            return False
        return True

    @classmethod
    def from_json(cls, doc: Any) -> StatusSnapshot:
        try:
            if doc["type"] != SNAPSHOT_TYPE or doc["purpose"] not in PURPOSES:
                raise ValueError("not a status list snapshot")
            if set(doc) != {*cls._members(), "signature"}:
                raise ValueError("unexpected or missing members")
            size = doc["size"]
            if type(size) is not int or size <= 0 or size % 8 or size > 8 * _MAX_LIST_BYTES:
                raise ValueError("bad size")
            return cls(str(doc["id"]), str(doc["org"]), str(doc["kid"]), doc["purpose"],
                       size, int(doc["sequence"]), str(doc["encoded_list"]),
                       parse_timestamp(doc["valid_from"]), parse_timestamp(doc["valid_until"]),
                       base64.b64decode(str(doc["signature"]).encode("ascii"),
                                        validate=True))
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise StatusListError(f"malformed status snapshot: {exc}") from None

    @staticmethod
    def _members() -> tuple[str, ...]:
        return ("type", "id", "org", "kid", "purpose", "size", "sequence", "encoded_list",
                "valid_from", "valid_until")


# Every record of a list carries the same snapshots, so a verifier meets equal snapshots
# over and over. These two are pure functions of the snapshot's value (equality and hash
# cover every member, the signature included): kept, per value. The signature itself is
# checked at every verification.
@functools.lru_cache(maxsize=256)
def _signed_bytes(snapshot: StatusSnapshot) -> bytes:
    return canonical_json(snapshot.statement())


@functools.lru_cache(maxsize=256)
def _snapshot_digest(snapshot: StatusSnapshot) -> str:
    return sm3(canonical_json(snapshot.to_json())).hex()


def sign_snapshot(list_id: str, purpose: str, bits: bytes, *, org: str, kid: str,
                  signer: SM2Signer, sequence: int, valid_from: dt.datetime,
                  valid_until: dt.datetime) -> StatusSnapshot:
    if purpose not in PURPOSES:
        raise StatusListError(f"purpose must be one of {', '.join(PURPOSES)}")
    unsigned = StatusSnapshot(list_id, org, kid, purpose, len(bits) * 8, sequence,
                              encode_list(bits), valid_from.replace(microsecond=0),
                              valid_until.replace(microsecond=0), b"")
    signature = signer.sign(canonical_json(unsigned.statement()), signer_id=DEFAULT_SIGNER_ID,
                            encoding=SignatureEncoding.DER)
    return replace(unsigned, signature=signature)
