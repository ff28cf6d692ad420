"""The provider's signing keys: JWS signing with SM2, ES256 or RS256 through the key
provider (keys never leave it), the JWK Set published at ``jwks_uri``, and the
``at_hash`` / ``c_hash`` half-hashes of OIDC Core 3.1.3.6.

Each algorithm has one key id; every version of it that is current, or retired less than
``retired_key_publication`` ago, is published with ``kid = "<key_id>.v<version>"``.
The key set and its serialized form are cached in the process, keyed by the list of
published key versions, which is re-read (cheaply, no key material) on every use of
``published()`` (the JWKS endpoint): a rotation by ``edutrust keys rotate`` in another
process shows there at once.

The hot paths do not touch the key store on every call: ``sign`` keeps the handle of
each algorithm's current key version (unwrapped once per process by the key provider)
and ``verification_keys`` the key set, both for ``ProviderConfig.signing_key_recheck``;
a token naming a ``kid`` outside the cached set re-reads it at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PublishedKeys:
    """The published JWK Set, its JSON document and the document's ETag, for one list
    of published key versions (``versions``)."""

    versions: tuple[tuple[str, str, int], ...]  # (alg, kid, version)
    key_set: JWKSet
    document: bytes
    etag: str


class SigningKeys:
    """Signs JWTs for the provider and publishes the keys that verify them."""

    def __init__(self, keys: SoftwareKeyProvider, config: ProviderConfig,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._keys = keys
        self._config = config
        self._key_ids = {"SM2": config.sm2_key_id, "ES256": config.es256_key_id,
                         "RS256": config.rs256_key_id}
        self._published: PublishedKeys | None = None
        self._clock = clock
        self._recheck = config.signing_key_recheck.total_seconds()
        self._lock = threading.Lock()
        # alg -> (handle of the current key version, its kid, when it was looked up)
        self._signers: dict[str, tuple[Any, str, float]] = {}
        # (published keys, their kids, when they were read) for verification
        self._verifying: tuple[PublishedKeys, frozenset[str], float] | None = None

    def ensure(self) -> None:
        """Create every key the provider signs or derives secrets with."""
        for alg, key_id in self._key_ids.items():
            ensure_key(self._keys, key_id, _KEY_ALGORITHM[alg])
        ensure_key(self._keys, self._config.secrets_key_id, "SM4")

    def sign(self, claims: Mapping[str, Any], *, alg: str, typ: str = "JWT") -> str:
        """A compact JWS of ``claims`` under the current version of ``alg``'s key."""
        if alg not in self._key_ids:
            raise ValueError(f"unsupported signing alg {alg!r}")
        handle, kid = self._signer(alg)
        header = {"alg": alg, "kid": kid, "typ": typ}
        signing_input = (
            b64url_encode(json.dumps(header, separators=(",", ":")).encode()) + "."
            + b64url_encode(json.dumps(dict(claims), separators=(",", ":"),
                                       ensure_ascii=False).encode("utf-8"))
        ).encode("ascii")
        if alg == "SM2":
            signature = handle.sign(signing_input, encoding=SignatureEncoding.RAW)
        else:
            signature = handle.sign(signing_input)
        return signing_input.decode("ascii") + "." + b64url_encode(signature)

    def _signer(self, alg: str) -> tuple[Any, str]:
        """The handle on ``alg``'s current key version and its kid, looked up in the key
        store at most once per ``signing_key_recheck``."""
        now = self._clock()
        cached = self._signers.get(alg)
        if cached is not None and now - cached[2] < self._recheck:
            return cached[0], cached[1]
        key_id = self._key_ids[alg]
        handle: Any = self._keys.sm2(key_id) if alg == "SM2" else self._keys.jws(key_id)
        kid = str(handle.info.kid)
        with self._lock:
            self._signers[alg] = (handle, kid, now)
        return handle, kid

    def _publishable(self, now: dt.datetime) -> tuple[tuple[str, str, int], ...]:
        """(alg, kid, version) of every key version to publish now."""
        found: list[tuple[str, str, int]] = []
        for alg, key_id in self._key_ids.items():
            for info in self._keys.versions(key_id):
                if info.retired_at is not None and (
                        info.retired_at + self._config.retired_key_publication <= now):
                    continue
                found.append((alg, info.kid, info.version))
        return tuple(found)

    def published(self, now: dt.datetime | None = None) -> PublishedKeys:
        """The published keys, rebuilt only when the list of key versions changed."""
        versions = self._publishable(now or dt.datetime.now(dt.UTC))
        cached = self._published
        if cached is not None and cached.versions == versions:
            return cached
        entries: list[JWK] = []
        for alg, kid, version in versions:
            key_id = self._key_ids[alg]
            try:
                public = (self._keys.public_key(key_id, version) if alg == "SM2"
                          else self._keys.jws_public_key(key_id, version))
            except KeyNotFound:
                continue
            entries.append(JWK(public, kid, alg, "sig"))
        key_set = JWKSet(tuple(entries))
        document = json.dumps(key_set.to_dict(), separators=(",", ":")).encode("utf-8")
        etag = '"' + hashlib.sha256(document).hexdigest()[:32] + '"'
        cached = PublishedKeys(versions, key_set, document, etag)
        self._published = cached
        return cached

    def verification_keys(self, kid: str | None = None) -> JWKSet:
        """The published key set for verifying tokens on a hot path: kept for
        ``signing_key_recheck``, re-read at once for a ``kid`` it does not hold."""
        now = self._clock()
        cached = self._verifying
        if (cached is not None and now - cached[2] < self._recheck
                and (kid is None or kid in cached[1])):
            return cached[0].key_set
        published = self.published()
        kids = frozenset(name for _alg, name, _version in published.versions)
        self._verifying = (published, kids, now)
        return published.key_set

    def jwks(self, now: dt.datetime | None = None) -> JWKSet:
        """Every publishable signing key: current versions and recently retired ones."""
        return self.published(now).key_set
