"""SM4 block cipher (GB/T 32907) in GCM mode (RFC 8998), through ``cryptography``.

The interface is the AEAD one of ``cryptography``'s ``AESGCM``: 16-byte key, 12-byte
nonce, associated data, and a 16-byte tag appended to the ciphertext. The system
OpenSSL 3.0 lacks SM4-GCM; ``cryptography``'s bundled OpenSSL has it.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from crypto.errors import DecryptionError

KEY_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16


class SM4GCM:
    """SM4-GCM authenticated encryption under one key."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_SIZE:
            raise ValueError("an SM4 key is 16 bytes")
        self._key = key

    @staticmethod
    def generate_key() -> bytes:
        return os.urandom(KEY_SIZE)

    def encrypt(self, nonce: bytes, plaintext: bytes, associated_data: bytes | None) -> bytes:
        """``ciphertext || tag``. Never reuse a nonce under the same key."""
        if len(nonce) != NONCE_SIZE:
            raise ValueError("an SM4-GCM nonce is 12 bytes")
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        if associated_data:
            enc.authenticate_additional_data(associated_data)
        body = enc.update(plaintext) + enc.finalize()
        return body + enc.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        """The plaintext, or ``DecryptionError`` if anything was altered."""
        if len(nonce) != NONCE_SIZE:
            raise DecryptionError("an SM4-GCM nonce is 12 bytes")
        if len(data) < TAG_SIZE:
            raise DecryptionError("SM4-GCM ciphertext shorter than its tag")
        body, tag = data[:-TAG_SIZE], data[-TAG_SIZE:]
        dec = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        if associated_data:
            dec.authenticate_additional_data(associated_data)
        try:
            return dec.update(body) + dec.finalize()
        except InvalidTag:
            raise DecryptionError("SM4-GCM authentication failed") from None


def sm4_ecb_block(key: bytes, block: bytes) -> bytes:
    """Encrypt one 16-byte block with raw SM4: only for the standard's test vectors."""
    if len(block) != 16:
        raise ValueError("an SM4 block is 16 bytes")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - one raw block
    return enc.update(block) + enc.finalize()
