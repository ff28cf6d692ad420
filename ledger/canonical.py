"""Canonical JSON (RFC 8785, JCS) for everything the ledger hashes or signs.

Only the JSON subset the ledger needs is accepted: objects with string keys, arrays,
strings, booleans, null and integers that are exact in an IEEE double (|n| <= 2**53).
Floats are refused rather than serialised, so no number formatting question arises.
Keys are ordered by their UTF-16 code units, as RFC 8785 section 3.2.3 requires.
"""

from __future__ import annotations

import json
from typing import Any

from ledger.errors import LedgerError

MAX_SAFE_INTEGER = 2**53


class CanonicalJSONError(LedgerError):
    """A value cannot be put in canonical form (a float, a non-string key, a huge int)."""


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be")


def _check(value: Any, depth: int = 0) -> Any:
    if depth > 64:
        raise CanonicalJSONError("nesting deeper than 64")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalJSONError("integer outside the exact range of an IEEE double")
        return value
    if isinstance(value, float):
        raise CanonicalJSONError("floats are not allowed in canonical ledger JSON")
    if isinstance(value, (list, tuple)):
        return [_check(v, depth + 1) for v in value]
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise CanonicalJSONError("object keys must be strings")
        return {k: _check(value[k], depth + 1) for k in sorted(value, key=_utf16_key)}
    raise CanonicalJSONError(f"cannot encode {type(value).__name__}")


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 UTF-8 bytes of ``value``."""
    try:
        ordered = _check(value)
        return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode()
    except UnicodeEncodeError:
        # A lone surrogate (possible in a str, or via a \ud800 escape) is not Unicode
        # text; RFC 8785 needs valid Unicode, so refuse rather than leak UnicodeError.
        raise CanonicalJSONError("strings must be valid Unicode (no lone surrogates)") \
            from None


def _reject_constant(name: str) -> Any:
    raise CanonicalJSONError(f"{name} is not JSON")


def _reject_float(text: str) -> Any:
    raise CanonicalJSONError("floats are not allowed in canonical ledger JSON")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalJSONError(f"duplicate member {key!r}")
        result[key] = value
    return result


def parse_canonical(data: bytes) -> Any:
    """Parse JSON and insist it was canonical: re-encoding must give the same bytes."""
    try:
        value = json.loads(data.decode(), object_pairs_hook=_pairs,
                           parse_constant=_reject_constant, parse_float=_reject_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalJSONError(f"not JSON: {exc}") from None
    if canonical_json(value) != data:
        raise CanonicalJSONError("JSON is not in canonical (RFC 8785) form")
    return value
