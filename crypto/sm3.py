"""SM3 hashing (GB/T 32905), HMAC-SM3 and PBKDF2-HMAC-SM3.

Plain SM3 goes through ``hashlib`` when the interpreter's OpenSSL has it (the system
OpenSSL 3.x does; a call costs about half of ``cryptography``'s, which matters for Merkle
trees hashing 32-byte nodes), and through ``cryptography`` otherwise. Both are OpenSSL's
implementation; the tests check them against the standard vectors and each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from cryptography.hazmat.primitives import constant_time, hashes, hmac
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

DIGEST_SIZE = 32
BLOCK_SIZE = 64


def _hashlib_has_sm3() -> bool:
    try:
        return hashlib.new("sm3", b"abc").hexdigest().startswith("66c7f0f4")
    except ValueError:
        return False


_HASHLIB_SM3 = _hashlib_has_sm3()


class SM3:
    """Incremental SM3, for inputs that arrive in pieces (files, Merkle nodes)."""

    __slots__ = ("_ctx", "_done")

    def __init__(self, data: bytes = b"") -> None:
        self._done = False
        self._ctx: hashes.Hash | hashlib._Hash = (
            hashlib.new("sm3") if _HASHLIB_SM3 else hashes.Hash(hashes.SM3()))
        if data:
            self._ctx.update(data)

    def update(self, data: bytes) -> None:
        if self._done:
            raise ValueError("SM3 context already finalised")
        self._ctx.update(data)

    def copy(self) -> SM3:
        clone = SM3.__new__(SM3)
        clone._done = self._done
        clone._ctx = self._ctx.copy()
        return clone

    def digest(self) -> bytes:
        """The 32-byte digest; the object can be used no further."""
        if self._done:
            raise ValueError("SM3 context already finalised")
        self._done = True
        if isinstance(self._ctx, hashes.Hash):
            return self._ctx.finalize()
        return self._ctx.digest()


def _sm3_cryptography(data: bytes) -> bytes:
    ctx = hashes.Hash(hashes.SM3())
    ctx.update(data)
    return ctx.finalize()


def _sm3_hashlib(empty: hashlib._Hash) -> Callable[[bytes], bytes]:
    """SM3 by copying ``empty``, a fresh context: that skips the digest lookup
    (EVP_MD_fetch) every ``hashlib.new("sm3")`` pays, half the cost of a short input."""

    def sm3_hashlib(data: bytes) -> bytes:
        ctx = empty.copy()
        ctx.update(data)
        return ctx.digest()

    return sm3_hashlib


_sm3: Callable[[bytes], bytes] = (_sm3_hashlib(hashlib.new("sm3")) if _HASHLIB_SM3
                                  else _sm3_cryptography)


def sm3(data: bytes) -> bytes:
    """SM3 digest of ``data`` (32 bytes)."""
    return _sm3(data)


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
