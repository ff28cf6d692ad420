"""The leaves of the channel's Merkle log: one per entry that a valid transaction anchors.

A leaf is the RFC 8785 canonical JSON of
``{"channel", "tx_id", "key", "version", "digest", "msp_id", "metadata", "previous"}``
(docs/ledger.md gives the exact rules). Leaves carry digests only, never personal data.
"""

from __future__ import annotations

from typing import Any

from ledger.canonical import CanonicalJSONError, canonical_json, parse_canonical
from ledger.contracts.anchoring import ANCHOR_EVENT
from ledger.errors import LedgerError
from ledger.tx import Event

LEAF_MEMBERS = ("channel", "tx_id", "key", "version", "digest", "msp_id", "metadata",
                "previous")


def leaves_from_event(channel: str, tx_id: str, event: Event | None) -> list[bytes]:
    """The leaves a valid transaction adds, in the order its contract anchored them."""
    if event is None or event.name != ANCHOR_EVENT:
        return []
    try:
        doc = parse_canonical(event.payload)
        entries = doc["entries"]
    except (CanonicalJSONError, KeyError, TypeError):
        raise LedgerError("malformed anchoring event") from None
    leaves = []
    for entry in entries:
        leaf: dict[str, Any] = {"channel": channel, "tx_id": tx_id}
        for name in LEAF_MEMBERS[2:]:
            leaf[name] = entry[name]
        leaves.append(canonical_json(leaf))
    return leaves


def parse_leaf(leaf: bytes) -> dict[str, Any]:
    doc = parse_canonical(leaf)
    if not isinstance(doc, dict) or set(doc) != set(LEAF_MEMBERS):
        raise LedgerError("not a ledger leaf")
    return doc
