"""The provider's signing keys: JWS signing with SM2, ES256 or RS256 through the key
provider (keys never leave it), the JWK Set published at ``jwks_uri``, and the
``at_hash`` / ``c_hash`` half-hashes of OIDC Core 3.1.3.6.

Each algorithm has one key id; every version of it that is current, or retired less than
``retired_key_publication`` ago, is published with ``kid = "<key_id>.v<version>"``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from crypto.errors import KeyNotFound
from crypto.jose import JWK, JWKSet, b64url_encode
from crypto.keys.software import SoftwareKeyProvider
from crypto.sm2 import SignatureEncoding
from crypto.sm3 import sm3
from idp.oauth2.config import ProviderConfig

SIGNING_ALGS = ("SM2", "ES256", "RS256")
_KEY_ALGORITHM = {"SM2": "SM2", "ES256": "P256", "RS256": "RSA2048"}


def half_hash(value: str, alg: str) -> str:
    """Left half of the hash of ``value`` that goes with ``alg``: SM3 for SM2, SHA-256
    for ES256 and RS256 (OIDC Core 3.1.3.6, ``at_hash``)."""
    data = value.encode("ascii")
    digest = sm3(data) if alg == "SM2" else hashlib.sha256(data).digest()
    return b64url_encode(digest[: len(digest) // 2])


def ensure_key(keys: SoftwareKeyProvider, key_id: str, algorithm: str) -> None:
    """Create ``key_id`` if it does not exist; safe when several workers race to do so."""
    if keys.versions(key_id):
        return
    try:
        keys.ensure(key_id, algorithm)
    except ValueError:
        # Another process created version 1 between our check and our insert.
        if not keys.versions(key_id):
            raise


class SigningKeys:
    """Signs JWTs for the provider and publishes the keys that verify them."""

    def __init__(self, keys: SoftwareKeyProvider, config: ProviderConfig) -> None:
        self._keys = keys
        self._config = config
        self._key_ids = {"SM2": config.sm2_key_id, "ES256": config.es256_key_id,
                         "RS256": config.rs256_key_id}

    def ensure(self) -> None:
        """Create every key the provider signs or derives secrets with."""
        for alg, key_id in self._key_ids.items():
            ensure_key(self._keys, key_id, _KEY_ALGORITHM[alg])
        ensure_key(self._keys, self._config.secrets_key_id, "SM4")

    def sign(self, claims: Mapping[str, Any], *, alg: str, typ: str = "JWT") -> str:
        """A compact JWS of ``claims`` under the current version of ``alg``'s key."""
        if alg not in self._key_ids:
            raise ValueError(f"unsupported signing alg {alg!r}")
        key_id = self._key_ids[alg]
        if alg == "SM2":
            sm2_handle = self._keys.sm2(key_id)
            kid = sm2_handle.info.kid
        else:
            jws_handle = self._keys.jws(key_id)
            kid = jws_handle.info.kid
        header = {"alg": alg, "kid": kid, "typ": typ}
        signing_input = (
            b64url_encode(json.dumps(header, separators=(",", ":")).encode()) + "."
            + b64url_encode(json.dumps(dict(claims), separators=(",", ":"),
                                       ensure_ascii=False).encode("utf-8"))
        ).encode("ascii")
        if alg == "SM2":
            signature = sm2_handle.sign(signing_input, encoding=SignatureEncoding.RAW)
        else:
            signature = jws_handle.sign(signing_input)
        return signing_input.decode("ascii") + "." + b64url_encode(signature)

    def jwks(self, now: dt.datetime | None = None) -> JWKSet:
        """Every publishable signing key: current versions and recently retired ones."""
        now = now or dt.datetime.now(dt.UTC)
        entries: list[JWK] = []
        for alg, key_id in self._key_ids.items():
            for info in self._keys.versions(key_id):
                if info.retired_at is not None and (
                        info.retired_at + self._config.retired_key_publication <= now):
                    continue
                try:
                    public = (self._keys.public_key(key_id, info.version) if alg == "SM2"
                              else self._keys.jws_public_key(key_id, info.version))
                except KeyNotFound:
                    continue
                entries.append(JWK(public, info.kid, alg, "sig"))
        return JWKSet(tuple(entries))
