"""HMAC-SM3 keys of the provider, derived from one SM4 data key held by the key
provider: one for client-secret tags, one for pairwise subject identifiers. Deriving
them (rather than storing several keys) keeps one key to back up and one to protect."""

from __future__ import annotations

import hmac
from typing import Protocol

from crypto.sm3 import hmac_sm3

_CLIENT_SECRET_LABEL = b"edutrust-oidc|client-secret|v1"
_PAIRWISE_LABEL = b"edutrust-oidc|pairwise-subject|v1"


class DataKeys(Protocol):
    def unwrap_sm4(self, key_id: str, version: int | None = None) -> tuple[int, bytes]: ...


class PlatformSecrets:
    """The derived keys, unwrapped once per process and kept in memory."""

    def __init__(self, keys: DataKeys, key_id: str) -> None:
        # Version 1 always: rotating this key would change every pairwise sub.
        _version, root = keys.unwrap_sm4(key_id, 1)
        self._client_secret_key = hmac_sm3(root, _CLIENT_SECRET_LABEL)
        self._pairwise_key = hmac_sm3(root, _PAIRWISE_LABEL)

    def client_secret_tag(self, client_id: str, secret: str) -> bytes:
        """The stored form of a client secret, bound to its client id."""
        return hmac_sm3(self._client_secret_key,
                        client_id.encode() + b"\x00" + secret.encode("utf-8"))

    def client_secret_matches(self, client_id: str, secret: str, tag: bytes) -> bool:
        return hmac.compare_digest(self.client_secret_tag(client_id, secret), tag)

    def pairwise_tag(self, sector: str, person_id: str) -> bytes:
        return hmac_sm3(self._pairwise_key, sector.encode() + b"\x00" + person_id.encode())
