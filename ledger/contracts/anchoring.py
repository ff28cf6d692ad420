"""The anchoring contract: binds SM3 digests to keys, one version after another.

``anchor`` takes a batch of entries (a school's batch of archive entries is one
transaction). A key's first anchoring is version 1; anchoring it again is refused unless
the entry names the current digest as ``previous`` and comes from the organisation that
anchored version 1 (an authorised new version, e.g. an amended record). Every anchored
entry becomes one leaf of the channel's Merkle log (see ledger.leaves).
"""

from __future__ import annotations

import re
from typing import Any

from ledger.canonical import CanonicalJSONError, canonical_json, parse_canonical
from ledger.contract import Context, Contract, ContractError, check_key, query, transaction
from ledger.tx import format_time

ANCHOR_EVENT = "anchored"
MAX_ENTRIES = 10_000
_DIGEST = re.compile(r"[0-9a-f]{64}")
_ENTRY_KEYS = {"key", "digest", "metadata", "previous"}


def _parse_entries(raw: str) -> list[dict[str, Any]]:
    try:
        entries = parse_canonical(raw.encode())
    except CanonicalJSONError as exc:
        raise ContractError(f"entries must be canonical JSON: {exc}") from None
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ENTRIES:
        raise ContractError(f"entries: a list of 1 to {MAX_ENTRIES}")
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or not {"key", "digest"} <= set(entry) <= _ENTRY_KEYS:
            raise ContractError("each entry has key, digest and optional metadata, previous")
        key = check_key(entry["key"]) if isinstance(entry["key"], str) else ""
        if not key:
            raise ContractError("entry key must be a string")
        if key in seen:
            raise ContractError(f"key {key} appears twice in one batch")
        seen.add(key)
        for name in ("digest", "previous"):
            if name in entry and not (isinstance(entry[name], str)
                                      and _DIGEST.fullmatch(entry[name])):
                raise ContractError(f"{name} must be 64 lowercase hex characters (SM3)")
        metadata = entry.get("metadata", {})
        if not isinstance(metadata, dict) or (metadata and len(canonical_json(metadata)) > 4096):
            raise ContractError("metadata: an object of at most 4 KiB")
    return entries


class AnchoringContract(Contract):
    name = "anchoring"

    @transaction
    def anchor(self, ctx: Context, entries_json: str) -> bytes:
        entries = _parse_entries(entries_json)
        creator = ctx.creator
        msp_id, tx_id = creator.msp_id, ctx.stub.tx_id
        timestamp = format_time(ctx.stub.timestamp)
        # One read of committed state for the whole batch (reads, and so the read set,
        # are the same as reading key by key).
        currents = ctx.stub.get_multiple_states([entry["key"] for entry in entries])
        anchored = []
        for entry, current_raw in zip(entries, currents, strict=True):
            key = entry["key"]
            previous = entry.get("previous")
            if current_raw is None:
                if previous is not None:
                    raise ContractError(f"{key}: no earlier version to follow")
                version = 1
            else:
                current = parse_canonical(current_raw)
                if previous is None:
                    raise ContractError(f"{key} is anchored already")
                if previous != current["digest"]:
                    raise ContractError(f"{key}: previous does not name the current version")
                if msp_id != current["msp_id"]:
                    raise ContractError(f"{key}: only {current['msp_id']} may add versions")
                version = current["version"] + 1
            metadata = entry.get("metadata", {})
            record = {"key": key, "digest": entry["digest"], "version": version,
                      "msp_id": msp_id, "metadata": metadata, "previous": previous,
                      "tx_id": tx_id, "timestamp": timestamp}
            ctx.stub.put_state(key, canonical_json(record))
            anchored.append({"key": key, "digest": entry["digest"], "version": version,
                             "msp_id": msp_id, "metadata": metadata, "previous": previous})
        ctx.stub.set_event(ANCHOR_EVENT, canonical_json({"entries": anchored}))
        return canonical_json({"anchored": len(anchored)})

    @query
    def read(self, ctx: Context, key: str) -> bytes:
        value = ctx.stub.get_state(key)
        if value is None:
            raise ContractError(f"{key} is not anchored")
        return value

    @query
    def history(self, ctx: Context, key: str) -> bytes:
        changes = ctx.stub.get_history_for_key(key)
        return canonical_json([parse_canonical(c.value) for c in changes
                               if c.value is not None])
