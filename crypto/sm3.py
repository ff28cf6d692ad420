"""SM3 hashing (GB/T 32905), HMAC-SM3 and PBKDF2-HMAC-SM3, through ``cryptography``."""

from __future__ import annotations

from cryptography.hazmat.primitives import constant_time, hashes, hmac
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

DIGEST_SIZE = 32
BLOCK_SIZE = 64


class SM3:
    """Incremental SM3, for inputs that arrive in pieces (files, Merkle nodes)."""

    __slots__ = ("_ctx",)

    def __init__(self, data: bytes = b"") -> None:
        self._ctx = hashes.Hash(hashes.SM3())
        if data:
            self._ctx.update(data)

    def update(self, data: bytes) -> None:
        self._ctx.update(data)

    def copy(self) -> SM3:
        clone = SM3.__new__(SM3)
        clone._ctx = self._ctx.copy()
        return clone

    def digest(self) -> bytes:
        """The 32-byte digest; the object can be used no further."""
        return self._ctx.finalize()


def sm3(data: bytes) -> bytes:
    """SM3 digest of ``data`` (32 bytes)."""
    ctx = hashes.Hash(hashes.SM3())
    ctx.update(data)
    return ctx.finalize()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 of ``data`` (32 bytes)."""
    if not key:
        raise ValueError("HMAC-SM3 needs a non-empty key")
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


def hmac_sm3_matches(key: bytes, data: bytes, tag: bytes) -> bool:
    """Whether ``tag`` is the HMAC-SM3 of ``data``, compared in constant time."""
    return constant_time.bytes_eq(hmac_sm3(key, data), tag)


def pbkdf2_hmac_sm3(password: bytes, salt: bytes, iterations: int, length: int = 32) -> bytes:
    """PBKDF2 (RFC 8018) with HMAC-SM3 as the pseudorandom function."""
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    if len(salt) < 8:
        raise ValueError("PBKDF2 salt must be at least 8 bytes")
    return PBKDF2HMAC(hashes.SM3(), length, salt, iterations).derive(password)
