"""The anchoring contract: binds SM3 digests to keys, one version after another.

``anchor`` takes a batch of entries (a school's batch of archive entries is one
transaction). A key's first anchoring is version 1; anchoring it again is refused unless
the entry names the current digest as ``previous`` and comes from the organisation that
anchored version 1 (an authorised new version, e.g. an amended record). Every anchored
entry becomes one leaf of the channel's Merkle log (see ledger.leaves).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ledger.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    canonical_json,
    canonical_json_each,
    encode_string,
    flat_object_json,
    parse_canonical,
)
from ledger.contract import Context, Contract, ContractError, check_key, query, transaction
from ledger.tx import format_time

ANCHOR_EVENT = "anchored"
MAX_ENTRIES = 10_000
_DIGEST = re.compile(r"[0-9a-f]{64}")
_ENTRY_KEYS = {"key", "digest", "metadata", "previous"}


def _size(metadata: dict[str, Any], text: str | None = None) -> int:
    """A size of the canonical JSON of ``metadata`` that exceeds 4,096 exactly when its
    UTF-8 bytes do: the number of characters when there are at most 1,024 (then at most
    4,096 bytes), else the number of bytes. ``text``: that canonical JSON, if known."""
    if text is None:
        text = flat_object_json(metadata)
    if text is None:
        return len(canonical_json(metadata))
    return len(text) if len(text) <= 1024 else len(text.encode())


# key, digest, metadata, previous of one checked entry, and the canonical JSON of its
# metadata when the parse had it at hand (None: not known yet)
_Entry = tuple[str, str, Any, "str | None", "str | None"]


def entry_json(key: str, digest: str, metadata: str | None, previous: str | None) -> str:
    """The canonical JSON of one anchoring entry from its strings and its metadata's
    canonical text (None: no ``metadata`` member): the members in sorted order, as
    ``canonical_json`` writes them. How the contract recognises its usual input, and how
    a client can write that input without encoding the documents."""
    text = encode_string
    member = f'{{"digest":{text(digest)},"key":{text(key)}'
    if metadata is not None:
        member = f'{member},"metadata":{metadata}'
    if previous is not None:
        member = f'{member},"previous":{text(previous)}'
    return member + "}"


def _usual_entries(raw: str) -> list[_Entry] | None:
    """The checked entries, each with the canonical JSON of its metadata (``{}`` where
    it has none), when every entry has the usual shape (string key, digest and
    previous, flat metadata, no other member) and passes every check of
    ``_checked_entries``. Each entry's canonical text is assembled from its members'
    and, when the whole equals ``raw``, ``raw`` is canonical and the parsed list is what
    ``parse_canonical`` gives. One pass, and each metadata object encoded once (for the
    size check and the state records). None otherwise, and ``_checked_entries``
    decides (and raises what it raises)."""
    try:
        entries = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if type(entries) is not list or not 1 <= len(entries) <= MAX_ENTRIES:
        return None
    is_digest = _DIGEST.fullmatch
    seen: set[str] = set()
    texts: list[str] = []
    checked: list[_Entry] = []
    for entry in entries:
        if type(entry) is not dict or not entry.keys() <= _ENTRY_KEYS:
            return None
        key, digest = entry.get("key"), entry.get("digest")
        if type(key) is not str or type(digest) is not str or key in seen \
                or not is_digest(digest):
            return None
        try:
            check_key(key)
        except ContractError:
            return None
        seen.add(key)
        given: str | None = None
        if "metadata" in entry:
            metadata = entry["metadata"]
            given = meta = flat_object_json(metadata)
            if meta is None or (metadata and _size(metadata, meta) > 4096):
                return None
        else:
            metadata, meta = {}, "{}"
        previous = entry.get("previous")
        if "previous" in entry and (type(previous) is not str or not is_digest(previous)):
            return None
        texts.append(entry_json(key, digest, given, previous))
        checked.append((key, digest, metadata, previous, meta))
    if "[" + ",".join(texts) + "]" != raw:
        return None
    return checked


def _parse_entries(raw: str) -> list[_Entry]:
    data = raw.encode()  # text that is not Unicode fails here, as it always has
    usual = _usual_entries(raw)
    return usual if usual is not None else _checked_entries(data)


def _checked_entries(data: bytes) -> list[_Entry]:
    """The entries parsed by ``parse_canonical`` and checked one by one; the first
    problem found is the ``ContractError`` raised."""
    try:
        entries = parse_canonical(data)
    except CanonicalJSONError as exc:
        raise ContractError(f"entries must be canonical JSON: {exc}") from None
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ENTRIES:
        raise ContractError(f"entries: a list of 1 to {MAX_ENTRIES}")
    seen: set[str] = set()
    is_digest = _DIGEST.fullmatch
    for entry in entries:
        if not isinstance(entry, dict) or not (entry.keys() <= _ENTRY_KEYS and "key" in entry
                                               and "digest" in entry):
            raise ContractError("each entry has key, digest and optional metadata, previous")
        key = entry["key"]
        key = check_key(key) if isinstance(key, str) else ""
        if not key:
            raise ContractError("entry key must be a string")
        if key in seen:
            raise ContractError(f"key {key} appears twice in one batch")
        seen.add(key)
        digest = entry["digest"]
        if not (isinstance(digest, str) and is_digest(digest)):
            raise ContractError("digest must be 64 lowercase hex characters (SM3)")
        if "previous" in entry:
            previous = entry["previous"]
            if not (isinstance(previous, str) and is_digest(previous)):
                raise ContractError("previous must be 64 lowercase hex characters (SM3)")
        if "metadata" in entry:
            metadata = entry["metadata"]
            if not isinstance(metadata, dict) or (metadata and _size(metadata) > 4096):
                raise ContractError("metadata: an object of at most 4 KiB")
    return [(e["key"], e["digest"], e.get("metadata", {}), e.get("previous"), None)
            for e in entries]


# key, digest, version, metadata, previous of one anchored entry
_Anchored = tuple[str, str, Any, Any, "str | None"]


def _encode_documents(anchored: list[_Anchored], msp_id: str, tx_id: str,
                      timestamp: str) -> tuple[list[bytes], bytes]:
    """The state records and the event payload, as documents through ``canonical_json``:
    record ``{"key", "digest", "version", "msp_id", "metadata", "previous", "tx_id",
    "timestamp"}``, event ``{"entries": [{"key", "digest", "version", "msp_id",
    "metadata", "previous"}, ...]}``."""
    records = canonical_json_each([
        {"key": key, "digest": digest, "version": version, "msp_id": msp_id,
         "metadata": metadata, "previous": previous, "tx_id": tx_id, "timestamp": timestamp}
        for key, digest, version, metadata, previous in anchored])
    event = canonical_json({"entries": [
        {"key": key, "digest": digest, "version": version, "msp_id": msp_id,
         "metadata": metadata, "previous": previous}
        for key, digest, version, metadata, previous in anchored]})
    return records, event


def _encode_assembled(anchored: list[_Anchored], msp_id: str, tx_id: str,
                      timestamp: str, metadata_texts: Sequence[str | None] | None = None
                      ) -> tuple[list[bytes], bytes] | None:
    """What ``_encode_documents`` returns, assembled from each member's canonical text
    in the members' sorted order (about a third of the cost), when every entry has the
    usual shape: a version in the exact integer range and flat metadata (key, digest and
    previous are strings already). ``metadata_texts``: the canonical JSON of each
    entry's metadata, if known. None otherwise, and ``_encode_documents`` decides
    (and raises what it raises)."""
    text = encode_string
    try:
        shared = f',"msp_id":{text(msp_id)},"previous":'
        record_tail = f',"timestamp":{text(timestamp)},"tx_id":{text(tx_id)},"version":'
        records: list[bytes] = []
        entries: list[str] = []
        for index, (key, digest, version, metadata, previous) in enumerate(anchored):
            meta = metadata_texts[index] if metadata_texts is not None else None
            if meta is None:
                meta = flat_object_json(metadata)
            if meta is None or type(version) is not int or \
                    not -MAX_SAFE_INTEGER <= version <= MAX_SAFE_INTEGER:
                return None
            head = (f'{{"digest":{text(digest)},"key":{text(key)},"metadata":{meta}{shared}'
                    f'{"null" if previous is None else text(previous)}')
            records.append(f"{head}{record_tail}{version}}}".encode())
            entries.append(f'{head},"version":{version}}}')
        event = ('{"entries":[' + ",".join(entries) + "]}").encode()
    except UnicodeEncodeError:
        return None
    return records, event


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
        currents = ctx.stub.get_multiple_states([entry[0] for entry in entries])
        anchored: list[_Anchored] = []
        for (key, digest, metadata, previous, _), current_raw in zip(entries, currents,
                                                                     strict=True):
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
            anchored.append((key, digest, version, metadata, previous))
        metadata_texts = [entry[4] for entry in entries]
        encoded = _encode_assembled(anchored, msp_id, tx_id, timestamp, metadata_texts) or \
            _encode_documents(anchored, msp_id, tx_id, timestamp)
        records, event = encoded
        put_state = ctx.stub.put_state
        for (key, *_), record in zip(anchored, records, strict=True):
            put_state(key, record)
        ctx.stub.set_event(ANCHOR_EVENT, event)
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
