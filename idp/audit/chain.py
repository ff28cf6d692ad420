"""The audit chain's formats as pure functions, small enough for an outside verifier to
copy: the canonical form of an entry, the chained SM3 hash, the checkpoint text that the
platform signs with SM2, and how an IP address is shortened before it is recorded.

- ``canonical(entry)``: JSON with keys sorted, no spaces, UTF-8, integers only (RFC 8785
  for this subset) of ``{"seq", "time", "event", "person_id", "client_id", "ip",
  "details"}``; ``time`` is UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.
- ``hash = SM3(prev_hash || canonical(entry))`` over raw bytes; the first entry's
  ``prev_hash`` is 32 zero bytes (``GENESIS``).
- checkpoint text: ``"edutrust-audit\\n<seq>\\n<head hash hex>\\n<time>\\n"``, signed with
  SM2/SM3 (signer id ``1234567812345678``, DER signature).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from typing import Any

from crypto.sm3 import sm3

GENESIS = bytes(32)
CHECKPOINT_ORIGIN = "edutrust-audit"
MAX_SAFE_INTEGER = 2**53
# IP addresses are kept shortened to their network: IPv4 /24, IPv6 /48 (see docs/audit.md).
IPV4_PREFIX = 24
IPV6_PREFIX = 48


def format_time(when: dt.datetime) -> str:
    if when.tzinfo is None:       # SQLite hands back naive UTC
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _checked(value: Any, depth: int = 0) -> Any:
    if depth > 16:
        raise ValueError("audit details nest too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError("integer outside the exact range of an IEEE double")
        return value
    if isinstance(value, (list, tuple)):
        return [_checked(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("audit detail keys must be strings")
        return {k: _checked(value[k], depth + 1)
                for k in sorted(value, key=lambda k: k.encode("utf-16-be"))}
    raise ValueError(f"cannot put {type(value).__name__} in an audit entry")


def canonical_json(value: Any) -> bytes:
    try:
        return json.dumps(_checked(value), ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("audit strings must be valid Unicode") from None


def entry_document(seq: int, when: dt.datetime | str, event: str, person_id: str | None,
                   client_id: str | None, ip: str | None,
                   details: dict[str, Any]) -> dict[str, Any]:
    return {"seq": seq, "time": when if isinstance(when, str) else format_time(when),
            "event": event, "person_id": person_id, "client_id": client_id, "ip": ip,
            "details": details}


def chain_hash(prev_hash: bytes, document: dict[str, Any]) -> bytes:
    """``SM3(prev_hash || canonical(document))``."""
    return sm3(prev_hash + canonical_json(document))


def checkpoint_text(seq: int, head_hash: bytes, when: dt.datetime | str) -> bytes:
    stamp = when if isinstance(when, str) else format_time(when)
    return f"{CHECKPOINT_ORIGIN}\n{seq}\n{head_hash.hex()}\n{stamp}\n".encode()


def shorten_ip(address: str | None) -> str | None:
    """The network an address belongs to (``203.0.113.0/24``, ``2001:db8:1::/48``), or
    ``None`` when absent or not an IP address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
