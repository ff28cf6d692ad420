"""The record digest: SM3 over the RFC 8785 canonical JSON of the record core, with every
person-linked value salted first.

Construction (docs/records.md "Digest"): for each person-linked JSON Pointer ``P`` of the
record (``/subject/ref`` when the subject is a person, and ``/content`` + each pointer
the content schema lists, ``*`` matching every array element or object member), the
value ``v`` found there is replaced by the string

    "hmac-sm3:" + lowercase hex( HMAC-SM3( salt, UTF-8(P) || 0x00 || JCS(v) ) )

where ``P`` is the concrete pointer (RFC 6901, indices filled in) and ``salt`` 32 random
bytes drawn for this record version and kept off the ledger. The digest is
``SM3(JCS(salted core))``. Without the salt a leaf reveals nothing about a person, not
even to someone guessing names; deleting the salt and the content (erasure) leaves the
ledger entry unlinkable to anyone.
"""

from __future__ import annotations

import base64
import binascii
import copy
import os
from collections.abc import Sequence
from typing import Any

from crypto.sm3 import hmac_sm3, sm3
from records.canonical import canonical_json
from records.errors import MalformedRecord

SALT_SIZE = 32
SALTED_PREFIX = "hmac-sm3:"
WILDCARD = "*"


def new_salt() -> bytes:
    return os.urandom(SALT_SIZE)


def encode_salt(salt: bytes) -> str:
    """base64url without padding (43 characters for 32 bytes)."""
    return base64.urlsafe_b64encode(salt).rstrip(b"=").decode("ascii")


def decode_salt(text: str) -> bytes:
    try:
        salt = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        raise MalformedRecord("the salt is not base64url") from None
    if len(salt) != SALT_SIZE or encode_salt(salt) != text:
        raise MalformedRecord(f"the salt must be {SALT_SIZE} bytes in canonical base64url")
    return salt


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def expand(pattern: str, document: Any) -> list[tuple[str | int, ...]]:
    """Every concrete path in ``document`` that ``pattern`` (a JSON Pointer with ``*``
    wildcards) names, as tuples of member names (strings) and indices (ints)."""
    if not pattern.startswith("/"):
        raise ValueError(f"a person-linked pointer starts with '/': {pattern!r}")
    paths: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    for raw in pattern[1:].split("/"):
        step = _unescape(raw)
        found: list[tuple[Any, tuple[str | int, ...]]] = []
        for node, path in paths:
            if isinstance(node, dict):
                if step == WILDCARD:
                    found.extend((node[n], (*path, n)) for n in sorted(node))
                elif step in node:
                    found.append((node[step], (*path, step)))
            elif isinstance(node, list):
                if step == WILDCARD:
                    found.extend((item, (*path, i)) for i, item in enumerate(node))
                elif step.isdigit() and int(step) < len(node):
                    found.append((node[int(step)], (*path, int(step))))
        paths = found
    return [path for _, path in paths]


def pointer(path: Sequence[str | int]) -> str:
    return "".join(["/" + _escape(str(p)) for p in path])


def salted_value(salt: bytes, at: str, value: Any) -> str:
    """``hmac-sm3:`` + hex HMAC-SM3(salt, UTF-8(pointer) || 0x00 || JCS(value))."""
    return SALTED_PREFIX + hmac_sm3(salt, at.encode("utf-8") + b"\x00"
                                    + canonical_json(value)).hex()


def salt_core(core: dict[str, Any], patterns: Sequence[str], salt: bytes) -> dict[str, Any]:
    """A copy of ``core`` with each person-linked value replaced by its salted form.
    Shorter patterns are applied first, so a value inside one already salted is not
    visited again. Only the containers on the way to a salted value are copied (the
    rest is shared with ``core``, which is never changed): a record has a handful of
    person-linked values and verification salts every record it checks."""
    salted = dict(core)
    fresh = {id(salted)}   # the containers copied so far (alive: they are in ``salted``)
    for pattern in sorted(patterns, key=lambda p: (p.count("/"), p)):
        for path in expand(pattern, salted):
            parent: Any = salted
            for step in path[:-1]:
                child = parent[step]
                if id(child) not in fresh:
                    child = dict(child) if type(child) is dict else (
                        list(child) if type(child) is list else copy.copy(child))
                    fresh.add(id(child))
                    parent[step] = child
                parent = child
            parent[path[-1]] = salted_value(salt, pointer(path), parent[path[-1]])
    return salted


def core_digest(core: dict[str, Any], patterns: Sequence[str], salt: bytes) -> str:
    """Lowercase hex SM3 of the canonical salted core: the record's digest."""
    return sm3(canonical_json(salt_core(core, patterns, salt))).hex()
