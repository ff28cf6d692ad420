"""The software key provider: keys generated in process, stored SM4-GCM-wrapped under a
master key, and unwrapped only inside this module when they are used.

Algorithms: ``SM2`` (signing, encryption), ``SM4`` (data keys), and ``P256`` / ``RSA2048``
for the JOSE algorithms ES256 / RS256 that OpenID Connect relying parties may ask for;
``jws()`` hands out a handle that produces JWS signature values and never the key.

Where the wrapped keys are kept is a ``WrappedKeyStore`` (a JSON file here, a database
table in the composition root). Each wrapped blob is bound by its associated data to its
key id, version and algorithm, so a blob copied onto another record does not open.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from crypto.errors import DecryptionError, KeyNotFound
from crypto.keys.provider import KeyInfo
from crypto.sm2 import (
    DEFAULT_SIGNER_ID,
    Encoding,
    SignatureEncoding,
    SM2PrivateKey,
    SM2PublicKey,
)
from crypto.sm4 import KEY_SIZE as SM4_KEY_SIZE
from crypto.sm4 import NONCE_SIZE, SM4GCM

_ALGORITHMS = ("SM2", "SM4", "P256", "RSA2048")
# Key algorithm -> the JWS alg its handle signs with (RFC 7518 3.3 and 3.4).
JWS_ALGORITHMS = {"P256": "ES256", "RSA2048": "RS256"}
_RSA_BITS = 2048
_P256_COORDINATE = 32
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class WrappedKey:
    """A stored key version: public facts plus the SM4-GCM-wrapped private material."""

    info: KeyInfo
    wrapped: bytes  # nonce || ciphertext || tag
    public_der: bytes | None  # SubjectPublicKeyInfo of SM2, P256 and RSA2048 keys


class WrappedKeyStore(Protocol):
    """Persistence for wrapped keys; append versions, mark retirement, read back."""

    def load(self, key_id: str) -> list[WrappedKey]:
        """Every version of ``key_id``, oldest first (empty if unknown)."""
        ...

    def key_ids(self) -> list[str]: ...

    def add(self, key: WrappedKey, retire: KeyInfo | None) -> None:
        """Store a new version and, in the same write, mark ``retire`` as retired.

        Must fail (raise ``ValueError``) if that key id and version already exist.
        """
        ...


def _aad(info: KeyInfo) -> bytes:
    return f"edutrust-key|{info.key_id}|{info.version}|{info.algorithm}".encode()


def _check_key_id(key_id: str) -> str:
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError("a key id is 1-64 letters, digits, '-' or '_'")
    return key_id


class _SoftwareHandle:
    """A handle on one SM2 key version; the private key stays inside this object."""

    __slots__ = ("_private", "info")

    def __init__(self, info: KeyInfo, private: SM2PrivateKey) -> None:
        self.info = info
        self._private = private

    def sign(self, data: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID,
             encoding: SignatureEncoding = SignatureEncoding.DER) -> bytes:
        return self._private.sign(data, signer_id=signer_id, encoding=encoding)

    def public_key(self) -> SM2PublicKey:
        return self._private.public_key()

    def decrypt(self, ciphertext: bytes) -> bytes:
        return self._private.decrypt(ciphertext)

    def __repr__(self) -> str:
        return f"<SM2 key handle {self.info.kid}>"


JWSPublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
_JWSPrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class _JWSHandle:
    """A handle on one P-256 or RSA-2048 key version that signs JWS signing input: raw
    ``r || s`` for ES256, PKCS#1 v1.5 with SHA-256 for RS256. The key stays inside."""

    __slots__ = ("_private", "info")

    def __init__(self, info: KeyInfo, private: _JWSPrivateKey) -> None:
        self.info = info
        self._private = private

    @property
    def jws_algorithm(self) -> str:
        return JWS_ALGORITHMS[self.info.algorithm]

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._private, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(self._private.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(_P256_COORDINATE, "big") + s.to_bytes(_P256_COORDINATE, "big")
        return self._private.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def public_key(self) -> JWSPublicKey:
        return self._private.public_key()

    def __repr__(self) -> str:
        return f"<{self.jws_algorithm} key handle {self.info.kid}>"


def _generate(algorithm: str) -> tuple[bytes, bytes | None]:
    """New key material: (secret to wrap, public SubjectPublicKeyInfo DER or None)."""
    if algorithm == "SM2":
        private = SM2PrivateKey.generate()
        return (private.private_bytes(Encoding.DER),
                private.public_key().public_bytes(Encoding.DER))
    if algorithm == "SM4":
        return SM4GCM.generate_key(), None
    jws_key: _JWSPrivateKey = (ec.generate_private_key(ec.SECP256R1()) if algorithm == "P256"
                               else rsa.generate_private_key(65537, _RSA_BITS))
    secret = jws_key.private_bytes(serialization.Encoding.DER,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    public = jws_key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return secret, public


class SoftwareKeyProvider:
    """``KeyProvider`` whose keys are wrapped under a 16-byte SM4 master key."""

    def __init__(self, store: WrappedKeyStore, master_key: bytes) -> None:
        if len(master_key) != SM4_KEY_SIZE:
            raise ValueError("the master key is a 16-byte SM4 key")
        self._store = store
        self._kek = SM4GCM(master_key)
        self._lock = threading.Lock()
        self._handles: dict[tuple[str, int], _SoftwareHandle] = {}
        self._jws_handles: dict[tuple[str, int], _JWSHandle] = {}

    # -- creation and rotation -------------------------------------------------------
    def _new_version(self, key_id: str, algorithm: str) -> KeyInfo:
        _check_key_id(key_id)
        if algorithm not in _ALGORITHMS:
            raise ValueError(f"unknown key algorithm {algorithm}")
        with self._lock:
            existing = self._store.load(key_id)
            if existing and existing[-1].info.algorithm != algorithm:
                raise ValueError(f"key {key_id} is an {existing[-1].info.algorithm} key")
            now = dt.datetime.now(dt.UTC)
            info = KeyInfo(key_id=key_id, version=len(existing) + 1, algorithm=algorithm,
                           created_at=now, retired_at=None)
            secret, public_der = _generate(algorithm)
            nonce = os.urandom(NONCE_SIZE)
            wrapped = nonce + self._kek.encrypt(nonce, secret, _aad(info))
            retire = replace(existing[-1].info, retired_at=now) if existing else None
            self._store.add(WrappedKey(info, wrapped, public_der), retire)
            return info

    def create_sm2(self, key_id: str) -> KeyInfo:
        if self._store.load(key_id):
            raise ValueError(f"key {key_id} exists already; rotate it instead")
        return self._new_version(key_id, "SM2")

    def create_sm4(self, key_id: str) -> KeyInfo:
        if self._store.load(key_id):
            raise ValueError(f"key {key_id} exists already; rotate it instead")
        return self._new_version(key_id, "SM4")

    def ensure(self, key_id: str, algorithm: str) -> KeyInfo:
        """The current version of ``key_id``, creating it if there is none."""
        versions = self._store.load(key_id)
        if versions:
            return versions[-1].info
        return self._new_version(key_id, algorithm)

    def rotate(self, key_id: str) -> KeyInfo:
        versions = self._store.load(key_id)
        if not versions:
            raise KeyNotFound(f"no key {key_id}")
        return self._new_version(key_id, versions[-1].info.algorithm)

    # -- reading ---------------------------------------------------------------------
    def versions(self, key_id: str) -> list[KeyInfo]:
        return [w.info for w in self._store.load(key_id)]

    def key_ids(self) -> list[str]:
        return self._store.key_ids()

    def _wrapped(self, key_id: str, version: int | None, algorithm: str) -> WrappedKey:
        versions = self._store.load(key_id)
        if not versions:
            raise KeyNotFound(f"no key {key_id}")
        if version is None:
            chosen = versions[-1]
        else:
            matches = [w for w in versions if w.info.version == version]
            if not matches:
                raise KeyNotFound(f"no version {version} of key {key_id}")
            chosen = matches[0]
        if chosen.info.algorithm != algorithm:
            raise KeyNotFound(f"key {key_id} is not an {algorithm} key")
        return chosen

    def _unwrap(self, wrapped: WrappedKey) -> bytes:
        blob = wrapped.wrapped
        try:
            return self._kek.decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], _aad(wrapped.info))
        except DecryptionError:
            raise DecryptionError(
                f"key {wrapped.info.kid} does not unwrap: wrong master key or altered record"
            ) from None

    def sm2(self, key_id: str, version: int | None = None) -> _SoftwareHandle:
        wrapped = self._wrapped(key_id, version, "SM2")
        cache_key = (key_id, wrapped.info.version)
        handle = self._handles.get(cache_key)
        if handle is None:
            private = SM2PrivateKey.from_der(self._unwrap(wrapped))
            if wrapped.public_der != private.public_key().public_bytes(Encoding.DER):
                raise DecryptionError(f"key {wrapped.info.kid}: stored public key mismatch")
            handle = _SoftwareHandle(wrapped.info, private)
            self._handles[cache_key] = handle
        elif handle.info != wrapped.info:  # retirement recorded since it was cached
            handle.info = wrapped.info
        return handle

    def public_key(self, key_id: str, version: int | None = None) -> SM2PublicKey:
        """The public key of an SM2 key version, without unwrapping anything."""
        wrapped = self._wrapped(key_id, version, "SM2")
        assert wrapped.public_der is not None
        return SM2PublicKey.from_der(wrapped.public_der)

    def unwrap_sm4(self, key_id: str, version: int | None = None) -> tuple[int, bytes]:
        wrapped = self._wrapped(key_id, version, "SM4")
        return wrapped.info.version, self._unwrap(wrapped)

    def _wrapped_jws(self, key_id: str, version: int | None) -> WrappedKey:
        versions = self._store.load(key_id)
        algorithm = versions[-1].info.algorithm if versions else "P256"
        if algorithm not in JWS_ALGORITHMS:
            raise KeyNotFound(f"key {key_id} is not a P256 or RSA2048 key")
        return self._wrapped(key_id, version, algorithm)

    def jws(self, key_id: str, version: int | None = None) -> _JWSHandle:
        """A handle on a P256 (ES256) or RSA2048 (RS256) key version (the current one when
        ``version`` is None)."""
        wrapped = self._wrapped_jws(key_id, version)
        cache_key = (key_id, wrapped.info.version)
        handle = self._jws_handles.get(cache_key)
        if handle is None:
            private = serialization.load_der_private_key(self._unwrap(wrapped), None)
            if not isinstance(private, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
                raise DecryptionError(f"key {wrapped.info.kid}: not a P256 or RSA key")
            public_der = private.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            if wrapped.public_der != public_der:
                raise DecryptionError(f"key {wrapped.info.kid}: stored public key mismatch")
            handle = _JWSHandle(wrapped.info, private)
            self._jws_handles[cache_key] = handle
        elif handle.info != wrapped.info:  # retirement recorded since it was cached
            handle.info = wrapped.info
        return handle

    def jws_public_key(self, key_id: str, version: int | None = None) -> JWSPublicKey:
        """The public key of a P256 or RSA2048 key version, without unwrapping anything."""
        wrapped = self._wrapped_jws(key_id, version)
        assert wrapped.public_der is not None
        public = serialization.load_der_public_key(wrapped.public_der)
        if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise DecryptionError(f"key {wrapped.info.kid}: stored public key is not P256/RSA")
        return public


class FileKeyStore:
    """A ``WrappedKeyStore`` in one JSON file (mode 0600), for tools and single hosts."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, list[dict[str, str | int | None]]]:
        if not self._path.exists():
            return {}
        data: dict[str, list[dict[str, str | int | None]]] = json.loads(self._path.read_text())
        return data

    @staticmethod
    def _decode(row: dict[str, str | int | None]) -> WrappedKey:
        def when(v: str | int | None) -> dt.datetime | None:
            return dt.datetime.fromisoformat(str(v)) if v else None

        created = when(row["created_at"])
        assert created is not None
        info = KeyInfo(key_id=str(row["key_id"]), version=int(row["version"] or 0),
                       algorithm=str(row["algorithm"]), created_at=created,
                       retired_at=when(row["retired_at"]))
        public = row["public_der"]
        return WrappedKey(info, bytes.fromhex(str(row["wrapped"])),
                          bytes.fromhex(str(public)) if public else None)

    def load(self, key_id: str) -> list[WrappedKey]:
        rows = self._read().get(key_id, [])
        return sorted((self._decode(r) for r in rows), key=lambda w: w.info.version)

    def key_ids(self) -> list[str]:
        return sorted(self._read())

    def add(self, key: WrappedKey, retire: KeyInfo | None) -> None:
        with self._lock:
            data = self._read()
            rows = data.setdefault(key.info.key_id, [])
            if any(r["version"] == key.info.version for r in rows):
                raise ValueError(f"key {key.info.kid} exists already")
            if retire is not None:
                for r in rows:
                    if r["version"] == retire.version and retire.retired_at:
                        r["retired_at"] = retire.retired_at.isoformat()
            rows.append({
                "key_id": key.info.key_id, "version": key.info.version,
                "algorithm": key.info.algorithm,
                "created_at": key.info.created_at.isoformat(), "retired_at": None,
                "wrapped": key.wrapped.hex(),
                "public_der": key.public_der.hex() if key.public_der else None,
            })
            tmp = self._path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._path)
