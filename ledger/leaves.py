"""The leaves of the channel's Merkle log: one per entry that a valid transaction anchors.

A leaf is the RFC 8785 canonical JSON of
``{"channel", "tx_id", "key", "version", "digest", "msp_id", "metadata", "previous"}``
(docs/ledger.md gives the exact rules). Leaves carry digests only, never personal data.
"""

from __future__ import annotations

import json
from typing import Any

from ledger.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    canonical_json_each,
    encode_string,
    flat_object_json,
    parse_canonical,
)
from ledger.contracts.anchoring import ANCHOR_EVENT
from ledger.errors import LedgerError
from ledger.tx import Event

LEAF_MEMBERS = ("channel", "tx_id", "key", "version", "digest", "msp_id", "metadata",
                "previous")


def leaves_from_event(channel: str, tx_id: str, event: Event | None) -> list[bytes]:
    """The leaves a valid transaction adds, in the order its contract anchored them."""
    if event is None or event.name != ANCHOR_EVENT:
        return []
    assembled = _assembled_leaves(channel, tx_id, event.payload)
    if assembled is not None:
        return assembled
    try:
        doc = parse_canonical(event.payload)
        entries = doc["entries"]
    except (CanonicalJSONError, KeyError, TypeError):
        raise LedgerError("malformed anchoring event") from None
    return canonical_json_each([{"channel": channel, "tx_id": tx_id,
                                 **{name: entry[name] for name in LEAF_MEMBERS[2:]}}
                                for entry in entries])


_ENTRY_MEMBERS = frozenset(LEAF_MEMBERS[2:])


def _assembled_leaves(channel: str, tx_id: str, payload: bytes) -> list[bytes] | None:
    """The leaves, when every entry of the event has the usual shape (exactly the six
    members; string key, digest and msp_id; previous a string or null; a version in the
    exact integer range; flat metadata). The event's canonical JSON is then assembled
    from each member's canonical text in sorted member order, and the leaves from the
    same texts: when that equals the payload, the payload is canonical and these are
    the leaves the general path computes, for about a third of its cost. None otherwise
    (the general path then decides, and raises what it raises)."""
    try:
        doc = json.loads(payload)
    except (ValueError, TypeError, RecursionError):
        return None
    if type(doc) is not dict or doc.keys() != {"entries"} or type(doc["entries"]) is not list:
        return None
    text = encode_string
    try:
        head = f'{{"channel":{text(channel)},"digest":'
        tail = f',"tx_id":{text(tx_id)},"version":'
        leaves, entries = [], []
        for entry in doc["entries"]:
            if type(entry) is not dict or entry.keys() != _ENTRY_MEMBERS:
                return None
            key, digest, msp_id = entry["key"], entry["digest"], entry["msp_id"]
            version, previous = entry["version"], entry["previous"]
            meta = flat_object_json(entry["metadata"])
            if (meta is None or type(key) is not str or type(digest) is not str
                    or type(msp_id) is not str
                    or (previous is not None and type(previous) is not str)
                    or type(version) is not int
                    or not -MAX_SAFE_INTEGER <= version <= MAX_SAFE_INTEGER):
                return None
            digest_text = text(digest)
            members = (f'"key":{text(key)},"metadata":{meta},"msp_id":{text(msp_id)},'
                       f'"previous":{"null" if previous is None else text(previous)}')
            entries.append(f'{{"digest":{digest_text},{members},"version":{version}}}')
            leaves.append(f"{head}{digest_text},{members}{tail}{version}}}")
        if ('{"entries":[' + ",".join(entries) + "]}").encode() != payload:
            return None
        return [leaf.encode() for leaf in leaves]
    except UnicodeEncodeError:
        return None


def parse_leaf(leaf: bytes) -> dict[str, Any]:
    doc = parse_canonical(leaf)
    if not isinstance(doc, dict) or set(doc) != set(LEAF_MEMBERS):
        raise LedgerError("not a ledger leaf")
    return doc
