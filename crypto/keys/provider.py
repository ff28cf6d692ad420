"""The key-provider interface. Private keys never leave a provider: callers get a handle
that can sign, decrypt and unwrap, and the public key. The software provider
(``crypto.keys.software``) keeps keys SM4-GCM-wrapped under a master key; an HSM
(GM/T 0018 SDF, PKCS#11) or cloud KMS provider implements the same protocol.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding, SM2PublicKey


@runtime_checkable
class SM2Signer(Protocol):
    """Anything that signs with an SM2 private key it does not reveal.

    ``SM2PrivateKey`` satisfies it, and so does every provider's ``KeyHandle``.
    """

    def sign(self, data: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID,
             encoding: SignatureEncoding = SignatureEncoding.DER) -> bytes: ...

    def public_key(self) -> SM2PublicKey: ...


@dataclass(frozen=True)
class KeyInfo:
    """What may be known about a key without touching its private part."""

    key_id: str        # stable name of the key, e.g. "platform-signing"
    version: int       # 1, 2, ... : a rotation adds a version, old ones stay usable
    algorithm: str     # "SM2", "SM4" (symmetric data keys), "P256" or "RSA2048" (JWS)
    created_at: dt.datetime
    retired_at: dt.datetime | None  # set when a newer version replaced it

    @property
    def kid(self) -> str:
        """The JOSE ``kid``: key id and version, e.g. ``platform-signing.v2``."""
        return f"{self.key_id}.v{self.version}"


class KeyHandle(SM2Signer, Protocol):
    """One version of an SM2 key inside a provider."""

    info: KeyInfo

    def decrypt(self, ciphertext: bytes) -> bytes: ...


class KeyProvider(Protocol):
    """Creates, rotates and uses keys it never exports."""

    def create_sm2(self, key_id: str) -> KeyInfo:
        """Generate the first version of an SM2 key; error if ``key_id`` exists."""
        ...

    def create_sm4(self, key_id: str) -> KeyInfo:
        """Generate the first version of a symmetric SM4 data-encryption key."""
        ...

    def rotate(self, key_id: str) -> KeyInfo:
        """Add a new version; the previous one is retired but stays usable."""
        ...

    def versions(self, key_id: str) -> list[KeyInfo]:
        """Every version of a key, oldest first."""
        ...

    def key_ids(self) -> list[str]: ...

    def sm2(self, key_id: str, version: int | None = None) -> KeyHandle:
        """A handle on an SM2 key version (the current one when ``version`` is None)."""
        ...

    def unwrap_sm4(self, key_id: str, version: int | None = None) -> tuple[int, bytes]:
        """The (version, raw key) of an SM4 data key, for in-process AEAD of fields.

        Data keys are the one thing that leaves a provider, and only into memory: an
        HSM provider returns them unwrapped by the device, as envelope encryption does.
        """
        ...
