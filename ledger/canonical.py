"""Canonical JSON (RFC 8785, JCS) for everything the ledger hashes or signs.

Only the JSON subset the ledger needs is accepted: objects with string keys, arrays,
strings, booleans, null and integers that are exact in an IEEE double (|n| <= 2**53).
Floats are refused rather than serialised, so no number formatting question arises.
Keys are ordered by their UTF-16 code units, as RFC 8785 section 3.2.3 requires.

Every block, transaction and leaf passes through here several times, so the common case
is fast: one iterative type check of the value, then the C encoder of ``json`` with
``sort_keys``. Sorting by code point equals sorting by UTF-16 code units unless a key
holds a character beyond U+FFFF; such values (and subclasses of the JSON types) take
the general path, which sorts by UTF-16 explicitly. Both give the same bytes.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

from ledger.errors import LedgerError

MAX_SAFE_INTEGER = 2**53
MAX_DEPTH = 64

def _unsupported(value: Any) -> Any:
    raise CanonicalJSONError(f"cannot encode {type(value).__name__}")


def _encoder(sort_keys: bool) -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
    sort_keys=...)``. The C encoder is made once here instead of once per call, which
    was half the cost of encoding a small object. No circular-reference markers: values
    reach it only after a depth-bounded check."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the C accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                                sort_keys=sort_keys).encode
    encode = make(None, _unsupported, json.encoder.encode_basestring, None, ":", ",",
                  sort_keys, False, False)

    def run(value: Any) -> str:
        return "".join(encode(value, 0))

    return run


_encode_sorted = _encoder(sort_keys=True)
_encode_ordered = _encoder(sort_keys=False)
_decode = json.JSONDecoder().decode


class CanonicalJSONError(LedgerError):
    """A value cannot be put in canonical form (a float, a non-string key, a huge int)."""


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be")


def _check(value: Any, depth: int = 0) -> Any:
    """The general path: check ``value`` and rebuild it with keys in UTF-16 order."""
    if depth > MAX_DEPTH:
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


def _plain(value: Any) -> bool:
    """True if ``value`` holds only exact JSON types, in range, at most 64 deep, and no
    object key beyond the Basic Multilingual Plane (so code point order is UTF-16 order);
    False if the general path must decide (it also raises every error)."""
    kind = type(value)
    if kind is not dict and kind is not list and kind is not tuple:
        return kind is str or kind is bool or value is None or (
            kind is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    # Two parallel stacks rather than one of (item, depth) pairs: no tuple per container,
    # which would also count towards the garbage collector's allocation threshold.
    stack: list[Any] = [value]
    depths = [0]
    pop, push, pop_depth, push_depth = stack.pop, stack.append, depths.pop, depths.append
    while stack:
        item = pop()
        depth = pop_depth()
        if not item:
            continue
        if depth >= MAX_DEPTH:
            return False
        depth += 1
        if type(item) is dict:
            for key in item:
                if type(key) is not str:
                    return False
            keys = "".join(item)
            if not keys.isascii() and max(keys) > "\uffff":
                return False
            children = item.values()
        else:
            children = item
        for child in children:
            kind = type(child)
            if kind is str or kind is bool or child is None:
                continue
            if kind is int:
                if -MAX_SAFE_INTEGER <= child <= MAX_SAFE_INTEGER:
                    continue
                return False
            if kind is dict or kind is list or kind is tuple:
                push(child)
                push_depth(depth)
                continue
            return False
    return True


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 UTF-8 bytes of ``value``."""
    try:
        if _plain(value):
            return _encode_sorted(value).encode()
        return _encode_ordered(_check(value)).encode()
    except UnicodeEncodeError:
        # A lone surrogate (possible in a str, or via a \ud800 escape) is not Unicode
        # text; RFC 8785 needs valid Unicode, so refuse rather than leak UnicodeError.
        raise CanonicalJSONError("strings must be valid Unicode (no lone surrogates)") \
            from None


# The JSON string literal ``canonical_json`` writes for a ``str`` (the same C function),
# for callers that assemble a fixed-shape object from already encoded members. A lone
# surrogate passes here; encoding the assembled text to UTF-8 then raises.
encode_string: Callable[[str], str] = json.encoder.encode_basestring
FLAT_TYPES = (str, int, bool, type(None))


def flat_object_json(value: Any) -> str | None:
    """The canonical JSON text of a dict whose members are all strings, exact ints,
    booleans or null (``canonical_json(value).decode()``); None for anything else (a
    nested container, a float, not a dict), which the caller encodes the general way.
    Nothing nested, so the object can sit at any depth of a larger document.

    Contracts and leaves encode one such object per anchored entry: once its members
    are checked to be exact JSON types in range, the C encoder writes the same text as
    ``canonical_json`` without walking the value a second time."""
    if type(value) is not dict:
        return None
    if not value:
        return "{}"
    for key, member in value.items():
        kind = type(member)
        if type(key) is not str or (
                kind is not str and kind is not bool and member is not None
                and (kind is not int
                     or not -MAX_SAFE_INTEGER <= member <= MAX_SAFE_INTEGER)):
            return None
    text = _encode_sorted(value)
    if text.isascii():
        return text
    keys = "".join(value)
    if not keys.isascii() and max(keys) > "\uffff":
        return _flat_general(value)   # code point order is not UTF-16 order here
    try:
        text.encode()
    except UnicodeEncodeError:   # a lone surrogate: canonical_json refuses it
        return None
    return text


def _flat_general(value: dict[str, Any]) -> str | None:
    for member in value.values():
        if type(member) not in FLAT_TYPES:
            return None
    try:
        return canonical_json(value).decode()
    except CanonicalJSONError:
        return None


def canonical_json_each(values: list[Any]) -> list[bytes]:
    """``[canonical_json(v) for v in values]``, with one type check for the whole list
    (a contract's records, a transaction's leaves): the same bytes and the same errors."""
    try:
        if _plain(values):
            encode = _encode_sorted
            return [encode(value).encode() for value in values]
    except UnicodeEncodeError:
        pass  # the value by value path below raises the error canonical_json raises
    return [canonical_json(value) for value in values]


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


_strict_decode = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_reject_constant,
                                  parse_float=_reject_float).decode


def parse_canonical(data: bytes) -> Any:
    """Parse JSON and insist it was canonical: re-encoding must give the same bytes.

    A duplicate member, a float or a NaN never re-encodes to the same bytes, so the
    fast parse needs no hooks; when the comparison fails, a strict parse names why."""
    try:
        text = data.decode()
        value = _decode(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalJSONError(f"not JSON: {exc}") from None
    try:
        same = canonical_json(value) == data
    except CanonicalJSONError:
        same = False
    if not same:
        try:
            value = _strict_decode(text)
        except json.JSONDecodeError as exc:  # pragma: no cover - the fast parse succeeded
            raise CanonicalJSONError(f"not JSON: {exc}") from None
        if canonical_json(value) != data:
            raise CanonicalJSONError("JSON is not in canonical (RFC 8785) form")
    return value
