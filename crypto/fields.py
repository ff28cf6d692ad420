"""Field encryption for personal identifiers stored in the database.

``FieldCipher.seal`` encrypts a value with SM4-GCM under the current version of a data
key; the token names the key version, so values sealed before a rotation still open.
The caller's associated data (table, column, row id) is bound into the tag, so a sealed
value copied to another row or column does not open. ``blind_index`` is an HMAC-SM3 of
the normalised value under a separate, never-rotated index key, for equality lookup
without decrypting (ID-card numbers, phone numbers).

Large values stored in binary columns (records' envelopes) are sealed to bytes instead
(``seal_bytes``): the same SM4-GCM seal and associated data, without the base64 that a
text token adds (a third of the value's size).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from typing import Protocol

from crypto.errors import DecryptionError, KeyNotFound
from crypto.sm3 import hmac_sm3
from crypto.sm4 import NONCE_SIZE, SM4GCM

_PREFIX = "sm4gcm"
# First byte of a binary token (``seal_bytes``): its format's version.
_BINARY_V1 = 1


class DataKeySource(Protocol):
    """What a field cipher needs from a key provider."""

    def unwrap_sm4(self, key_id: str, version: int | None = None) -> tuple[int, bytes]: ...


def _aad(key_id: str, version: int, associated_data: bytes) -> bytes:
    return b"|".join([_PREFIX.encode(), key_id.encode(), str(version).encode(),
                      associated_data])


def _seal(key_id: str, version: int, cipher: SM4GCM, value: str,
          associated_data: bytes) -> str:
    nonce = os.urandom(NONCE_SIZE)
    body = nonce + cipher.encrypt(nonce, value.encode(),
                                  _aad(key_id, version, associated_data))
    encoded = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    return f"{_PREFIX}.{key_id}.{version}.{encoded}"


def _seal_bytes(key_id: str, version: int, cipher: SM4GCM, value: bytes,
                associated_data: bytes) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    label = key_id.encode()
    return b"".join([bytes([_BINARY_V1, len(label)]), label, version.to_bytes(4, "big"),
                     nonce, cipher.encrypt(nonce, value,
                                           _aad(key_id, version, associated_data))])


class PinnedSealer:
    """Seals under one data key version resolved beforehand, never asking the key
    provider again: what a forked worker process gets (it must not reach the provider's
    storage), for the duration of one bulk job. It only seals; opening stays with
    ``FieldCipher``, which knows every version."""

    def __init__(self, key_id: str, version: int, cipher: SM4GCM) -> None:
        self._key_id = key_id
        self._version = version
        self._cipher = cipher

    def seal(self, value: str, associated_data: bytes) -> str:
        return _seal(self._key_id, self._version, self._cipher, value, associated_data)

    def seal_bytes_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """``FieldCipher.seal_bytes`` for each (value, associated data) pair."""
        key_id, version, cipher = self._key_id, self._version, self._cipher
        return [_seal_bytes(key_id, version, cipher, value, associated_data)
                for value, associated_data in items]


class FieldCipher:
    """Seal and open field values under a rotating SM4 data key."""

    def __init__(self, keys: DataKeySource, key_id: str, index_key_id: str) -> None:
        if not 0 < len(key_id.encode()) < 256:
            raise ValueError("a field key id is 1 to 255 bytes (binary tokens name it)")
        self._keys = keys
        self._key_id = key_id
        self._index_key_id = index_key_id
        self._cache: dict[int, SM4GCM] = {}
        self._index_key: bytes | None = None

    def _cipher(self, version: int | None) -> tuple[int, SM4GCM]:
        if version is not None and version in self._cache:
            return version, self._cache[version]
        got_version, raw = self._keys.unwrap_sm4(self._key_id, version)
        cipher = SM4GCM(raw)
        self._cache[got_version] = cipher
        return got_version, cipher

    def seal(self, value: str, associated_data: bytes) -> str:
        """``sm4gcm.<key id>.<version>.<base64url(nonce || ciphertext || tag)>``."""
        version, cipher = self._cipher(None)
        return _seal(self._key_id, version, cipher, value, associated_data)

    def seal_bytes(self, value: bytes, associated_data: bytes) -> bytes:
        """``value`` sealed to bytes, for a binary column: ``0x01 || len(key id) (1 byte)
        || key id || version (4 bytes, big-endian) || nonce (12) || ciphertext || tag
        (16)``, the tag over the same associated data as ``seal``'s."""
        version, cipher = self._cipher(None)
        return _seal_bytes(self._key_id, version, cipher, value, associated_data)

    def pinned(self) -> PinnedSealer:
        """A sealer for the current key version, looked up once, now."""
        version, cipher = self._cipher(None)
        return PinnedSealer(self._key_id, version, cipher)

    def seal_bytes_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """``seal_bytes`` for many (value, associated data) pairs under one lookup of the
        current key version (bulk writes: one key unwrap instead of one per value)."""
        return self.pinned().seal_bytes_many(items)

    def open(self, token: str, associated_data: bytes) -> str:
        """The value sealed in ``token``; ``DecryptionError`` if anything differs."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != _PREFIX or parts[1] != self._key_id:
            raise DecryptionError("not a sealed field of this key")
        try:
            version = int(parts[2])
            body = base64.urlsafe_b64decode(parts[3] + "=" * (-len(parts[3]) % 4))
        except (ValueError, binascii.Error):
            raise DecryptionError("malformed sealed field") from None
        if version < 1 or len(body) < NONCE_SIZE:
            raise DecryptionError("malformed sealed field")
        _, cipher = self._cipher(version)
        plain = cipher.decrypt(body[:NONCE_SIZE], body[NONCE_SIZE:],
                               _aad(self._key_id, version, associated_data))
        try:
            return plain.decode()
        except UnicodeDecodeError:
            raise DecryptionError("sealed field is not UTF-8") from None

    def open_bytes(self, token: bytes, associated_data: bytes) -> bytes:
        """The value sealed by ``seal_bytes``; ``DecryptionError`` if anything differs."""
        label = self._key_id.encode()
        head = 2 + len(label)
        if (len(token) < head + 4 + NONCE_SIZE or token[0] != _BINARY_V1
                or token[1] != len(label) or token[2:head] != label):
            raise DecryptionError("not a sealed value of this key")
        version = int.from_bytes(token[head:head + 4], "big")
        if version < 1:
            raise DecryptionError("malformed sealed value")
        try:
            _, cipher = self._cipher(version)
        except KeyNotFound:
            raise DecryptionError(f"no version {version} of this key") from None
        body = head + 4
        return cipher.decrypt(token[body:body + NONCE_SIZE], token[body + NONCE_SIZE:],
                              _aad(self._key_id, version, associated_data))

    def blind_index(self, normalised_value: str, context: str) -> str:
        """Hex HMAC-SM3 of ``context || 0x00 || value`` under the index key.

        ``context`` separates kinds of identifier (``id_card``, ``phone``) so equal
        strings of different kinds do not share an index. The index key is pinned to its
        first version: rotating it would need every index recomputed.
        """
        if self._index_key is None:
            _, self._index_key = self._keys.unwrap_sm4(self._index_key_id, 1)
        return hmac_sm3(self._index_key, context.encode() + b"\x00"
                        + normalised_value.encode()).hex()
