"""RFC 8785 (JSON Canonicalization Scheme) for records, including numbers with fractions.

The ledger's canonical form (``ledger.canonical``) refuses floats; records need them
(Open Badges ``creditsEarned`` is a number such as 2.5), so this module serialises
numbers exactly as RFC 8785 section 3.2.2.3 requires: the ECMAScript
``Number.prototype.toString`` of the IEEE 754 double. For every value without a fraction
the output is byte-identical to ``ledger.canonical.canonical_json``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from records.errors import CanonicalFormError

MAX_SAFE_INTEGER = 2**53
_MAX_DEPTH = 64
# What json.dumps(text, ensure_ascii=False) does for a string, without its per-call set-up
# (the C implementation when available): RFC 8785 section 3.2.2.2's escaping.
_quote = json.encoder.encode_basestring


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be")


def format_number(value: float) -> str:
    """ECMAScript Number::toString(value) for a finite double (ECMA-262 7.1.12.1)."""
    if math.isnan(value) or math.isinf(value):
        raise CanonicalFormError("NaN and infinities are not JSON")
    if value == 0:
        return "0"  # also for -0
    if value < 0:
        return "-" + format_number(-value)
    # repr() gives the shortest digit string that round-trips, correctly rounded: the
    # same digits ECMAScript picks. Re-express it as digits s (k of them) and n, where
    # value = 0.s × 10**n.
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    every = whole + fraction
    digits = every.lstrip("0")
    n = len(whole) - (len(every) - len(digits)) + int(exponent or 0)
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(e)}"


def _encode(value: Any, out: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise CanonicalFormError(f"nesting deeper than {_MAX_DEPTH}")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_quote(value))
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalFormError("integer outside the exact range of an IEEE double")
        out.append(str(value))
    elif isinstance(value, float):
        out.append(format_number(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, depth + 1)
        out.append("]")
    elif isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise CanonicalFormError("object member names must be strings")
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_quote(key))
            out.append(":")
            _encode(value[key], out, depth + 1)
        out.append("}")
    else:
        raise CanonicalFormError(f"cannot encode {type(value).__name__} as JSON")


_LEAVES = frozenset({str, bool})  # with None: the values _plain accepts as they are


def _plain(value: Any, depth: int) -> bool:
    """True if ``json.dumps`` (sorted keys, no spaces, no ASCII escaping) writes ``value``
    exactly as RFC 8785 does: only dicts with ASCII member names (code point order is
    then UTF-16 order), lists, strings, booleans, null, safe integers and the floats
    whose Python ``repr`` is their ECMAScript spelling (such as 2.5, but not 2.0 or
    1e+21: Python and ECMAScript differ on integral values and exponents)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return abs(value) <= MAX_SAFE_INTEGER
    if kind is float:
        return format_number(value) == repr(value)
    if depth >= _MAX_DEPTH:
        return False
    # Strings, null and booleans, most of any record, are accepted without a call.
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            if type(item) not in _LEAVES and item is not None and not _plain(item, depth + 1):
                return False
        return True
    if kind is list:
        for item in value:
            if type(item) not in _LEAVES and item is not None and not _plain(item, depth + 1):
                return False
        return True
    return False


# json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")), without
# building an encoder per call. No cycle check: it only encodes values _plain accepted,
# which are nested less than _MAX_DEPTH deep and so hold no cycle.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                            check_circular=False)
_dumps = _ENCODER.encode
# What _ENCODER.encode builds at every call for a non-string value (the C encoder of
# json.encoder.JSONEncoder.iterencode with these options), built once: it keeps no state
# between calls when it checks no cycles. None without the C accelerator.
_make_c_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_c_encoder: Any = (None if _make_c_encoder is None else _make_c_encoder(
    None, _ENCODER.default, _quote, None, ":", ",", True, False, True))


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``."""
    if _plain(value, 0):
        # The common case, in C; the encoder below handles everything else.
        if _c_encoder is not None and type(value) is not str:
            return "".join(_c_encoder(value, 0)).encode("utf-8")
        return _dumps(value).encode("utf-8")
    out: list[str] = []
    _encode(value, out, 0)
    return "".join(out).encode("utf-8")


def _duplicate_free(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise CanonicalFormError(f"duplicate member {key!r}")
        result[key] = item
    return result


def _no_constant(name: str) -> Any:
    raise CanonicalFormError(f"{name} is not JSON")


def parse_json(data: bytes | str) -> Any:
    """Strict JSON: UTF-8, no duplicate member names, no NaN or Infinity."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, object_pairs_hook=_duplicate_free,
                          parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalFormError(f"not JSON: {exc}") from None
