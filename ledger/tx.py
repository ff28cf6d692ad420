"""Transactions in the Fabric shape: a signed proposal, the read/write set that endorsers
simulated and signed, and the envelope the orderer puts into a block.

Everything that is hashed or signed is the RFC 8785 canonical JSON of a plain document
(``to_doc``); byte strings travel as standard base64. ``from_doc`` parses strictly, so a
stored envelope that was altered fails to load or fails its signatures in audit.
"""

from __future__ import annotations

import binascii
import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from crypto.sm3 import sm3
from ledger.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalJSONError,
    canonical_json,
    encode_string,
    parse_canonical,
)
from ledger.errors import LedgerError

NONCE_SIZE = 24
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_ARGS = 64
MAX_ARG_BYTES = 4 * 1024 * 1024


class MalformedTransaction(LedgerError):
    """A proposal, read/write set or envelope does not have the required shape."""


# ``base64.b64encode`` and ``b64decode(validate=True)`` without their Python wrappers
# (every write of a read/write set goes through here, thousands per block).
_to_base64 = binascii.b2a_base64
_from_base64 = binascii.a2b_base64


def b64(raw: bytes) -> str:
    return _to_base64(raw, newline=False).decode()


def unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise MalformedTransaction(f"{what}: expected base64 text")
    try:
        raw = _from_base64(text, strict_mode=True)  # a non-ASCII str is a ValueError
    except (binascii.Error, ValueError):
        raise MalformedTransaction(f"{what}: invalid base64") from None
    if b64(raw) != text:
        raise MalformedTransaction(f"{what}: non-canonical base64")
    return raw


_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_TIME_FIELDS = "%d-%02d-%02dT%02d:%02d:%02d.%06dZ"
_UTC = dt.UTC
_from_iso = dt.datetime.fromisoformat


def format_time(value: dt.datetime) -> str:
    """UTC, microseconds, ``Z`` suffix: one spelling per instant."""
    if value.tzinfo is None:
        raise MalformedTransaction("times must be timezone-aware")
    utc = value.astimezone(_UTC)
    if utc.year < 1000:
        # glibc's %Y does not zero-pad years before 1000 ("999-..."): keep that spelling.
        return utc.strftime(_TIME_FORMAT)
    # Same text as that strftime, at a fifth of its cost (every transaction and block
    # formats and parses timestamps).
    return _TIME_FIELDS % (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second,
                           utc.microsecond)


def parse_time(text: object, what: str) -> dt.datetime:
    if not isinstance(text, str):
        raise MalformedTransaction(f"{what}: expected a timestamp")
    # Fast path for the canonical spelling: whatever fromisoformat makes of the text, it
    # is accepted only if formatting gives the very same text back, and the canonical
    # text of an instant is exactly what strptime below parses to that instant. Anything
    # else takes the strptime path, which decides between the two errors as it always did.
    if text[-1:] == "Z":
        try:
            value = _from_iso(text[:-1])
        except ValueError:
            pass
        else:
            if value.tzinfo is None:
                value = value.replace(tzinfo=_UTC)
                if format_time(value) == text:
                    return value
    try:
        value = dt.datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=_UTC)
    except ValueError:
        raise MalformedTransaction(f"{what}: malformed timestamp") from None
    if format_time(value) != text:
        raise MalformedTransaction(f"{what}: non-canonical timestamp")
    return value


def _get(doc: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(doc, dict) or key not in doc:
        raise MalformedTransaction(f"{what}: missing {key}")
    value = doc[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise MalformedTransaction(f"{what}: {key} has the wrong type")
    return value


def _exact_keys(doc: Any, keys: set[str], what: str) -> None:
    if not isinstance(doc, dict) or set(doc) != keys:
        raise MalformedTransaction(f"{what}: expected exactly the members {sorted(keys)}")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedTransaction(f"{what}: expected a string")
    return value


def _pairs(value: Any, what: str) -> list[list[Any]]:
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2
                                              for p in value):
        raise MalformedTransaction(f"{what}: expected a list of [key, value] pairs")
    return value


def _memo_signed_bytes(item: Proposal | ProposalResults) -> bytes:
    """``canonical_json(item.to_doc())``, computed once per (immutable) object: the same
    bytes are signed, hashed, verified and put into the envelope."""
    cached: bytes | None = item.__dict__.get("_signed_bytes")
    if cached is None:
        assembled = _assembled_results(item) if isinstance(item, ProposalResults) else None
        cached = assembled if assembled is not None else canonical_json(item.to_doc())
        object.__setattr__(item, "_signed_bytes", cached)
    return cached


def _exact_int(value: object) -> bool:
    return type(value) is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER


def _assembled_results(results: ProposalResults) -> bytes | None:
    """``canonical_json(results.to_doc())`` assembled from each member's canonical text in
    sorted member order, when the results have the usual shape (no range reads; string
    keys, message and event name; versions and status in the exact integer range). A
    thousand-entry batch has thousands of read and write pairs, and this is about three
    times faster than building and encoding the document. None otherwise: the caller
    encodes the document (which decides, and raises what it raises)."""
    rwset, response, event = results.rwset, results.response, results.event
    if rwset.range_reads or not _exact_int(response.status) \
            or type(response.message) is not str \
            or (event is not None and type(event.name) is not str):
        return None
    text = encode_string
    reads, writes = [], []
    for key, version in rwset.reads:
        if type(key) is not str:
            return None
        if version is None:
            reads.append(f"[{text(key)},null]")
        elif _exact_int(version.block) and _exact_int(version.tx_num):
            reads.append(f"[{text(key)},[{version.block},{version.tx_num}]]")
        else:
            return None
    for key, value in rwset.writes:
        if type(key) is not str:
            return None
        writes.append(f'[{text(key)},"{b64(value)}"]' if value is not None
                      else f"[{text(key)},null]")
    event_text = "null" if event is None else \
        f'{{"name":{text(event.name)},"payload":"{b64(event.payload)}"}}'
    try:
        return (f'{{"event":{event_text},"proposal_hash":"{b64(results.proposal_hash)}",'
                f'"response":{{"message":{text(response.message)},'
                f'"payload":"{b64(response.payload)}","status":{response.status}}},'
                f'"rwset":{{"range_reads":[],"reads":[{",".join(reads)}],'
                f'"writes":[{",".join(writes)}]}}}}').encode()
    except UnicodeEncodeError:
        return None


def _remember_signed_bytes(item: Proposal | ProposalResults, signed: bytes) -> None:
    """Install the canonical bytes an object was decoded from (``from_doc`` is strict, so
    ``to_doc`` gives back exactly the document those bytes encode)."""
    object.__setattr__(item, "_signed_bytes", signed)


@dataclass(frozen=True)
class Version:
    """Where a key was last written: block number and position in the block (MVCC)."""

    block: int
    tx_num: int

    def to_doc(self) -> list[int]:
        return [self.block, self.tx_num]

    @classmethod
    def from_doc(cls, doc: Any) -> Version | None:
        if doc is None:
            return None
        if (not isinstance(doc, list) or len(doc) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                           for x in doc)):
            raise MalformedTransaction("version: expected [block, tx_num]")
        return cls(doc[0], doc[1])


@dataclass(frozen=True)
class Proposal:
    """A client's request to run ``contract.function(args)`` on a channel."""

    channel: str
    contract: str
    function: str
    args: tuple[str, ...]
    creator: bytes          # the client's certificate, DER (Fabric's serialized identity)
    nonce: bytes
    timestamp: dt.datetime  # the client's time; contracts see it as the transaction time

    def __post_init__(self) -> None:
        for name in ("channel", "contract", "function"):
            if not _NAME.fullmatch(getattr(self, name)):
                raise MalformedTransaction(f"{name}: 1-64 letters, digits, '_', '.', '-'")
        if len(self.args) > MAX_ARGS or sum(len(a.encode()) for a in self.args) > MAX_ARG_BYTES:
            raise MalformedTransaction("too many or too large arguments")
        if len(self.nonce) != NONCE_SIZE:
            raise MalformedTransaction(f"nonce: {NONCE_SIZE} bytes")

    @classmethod
    def create(cls, channel: str, contract: str, function: str, args: tuple[str, ...],
               creator: bytes, timestamp: dt.datetime | None = None) -> Proposal:
        return cls(channel, contract, function, tuple(args), creator, os.urandom(NONCE_SIZE),
                   timestamp or dt.datetime.now(dt.UTC))

    @property
    def tx_id(self) -> str:
        """hex SM3(nonce || creator), as Fabric derives its transaction ids (with SHA-256)."""
        cached: str | None = self.__dict__.get("_tx_id")
        if cached is None:
            cached = sm3(self.nonce + self.creator).hex()
            object.__setattr__(self, "_tx_id", cached)
        return cached

    def to_doc(self) -> dict[str, Any]:
        return {"channel": self.channel, "contract": self.contract, "function": self.function,
                "args": list(self.args), "creator": b64(self.creator), "nonce": b64(self.nonce),
                "timestamp": format_time(self.timestamp)}

    @classmethod
    def from_doc(cls, doc: Any) -> Proposal:
        _exact_keys(doc, {"channel", "contract", "function", "args", "creator", "nonce",
                          "timestamp"}, "proposal")
        args = _get(doc, "args", list, "proposal")
        if not all(isinstance(a, str) for a in args):
            raise MalformedTransaction("proposal: args must be strings")
        return cls(_get(doc, "channel", str, "proposal"), _get(doc, "contract", str, "proposal"),
                   _get(doc, "function", str, "proposal"), tuple(args),
                   unb64(doc["creator"], "creator"), unb64(doc["nonce"], "nonce"),
                   parse_time(doc["timestamp"], "timestamp"))

    def signed_bytes(self) -> bytes:
        return _memo_signed_bytes(self)

    def signed_hash(self) -> bytes:
        """SM3 of ``signed_bytes()`` (what results name as ``proposal_hash``), computed
        once per (immutable) proposal: its endorser and its committer in one process
        hash the same bytes."""
        cached: bytes | None = self.__dict__.get("_signed_hash")
        if cached is None:
            cached = sm3(self.signed_bytes())
            object.__setattr__(self, "_signed_hash", cached)
        return cached


@dataclass(frozen=True)
class RangeRead:
    """A range query a contract ran, with what it saw, to detect phantoms at commit."""

    start: str
    end: str
    results: tuple[tuple[str, Version], ...]


@dataclass(frozen=True)
class ReadWriteSet:
    reads: tuple[tuple[str, Version | None], ...] = ()
    range_reads: tuple[RangeRead, ...] = ()
    writes: tuple[tuple[str, bytes | None], ...] = ()  # None deletes the key

    def to_doc(self) -> dict[str, Any]:
        return {
            "reads": [[k, v.to_doc() if v else None] for k, v in self.reads],
            "range_reads": [{"start": r.start, "end": r.end,
                             "results": [[k, v.to_doc()] for k, v in r.results]}
                            for r in self.range_reads],
            "writes": [[k, b64(v) if v is not None else None] for k, v in self.writes],
        }

    @classmethod
    def from_doc(cls, doc: Any) -> ReadWriteSet:
        _exact_keys(doc, {"reads", "range_reads", "writes"}, "rwset")
        # Keys must already be strings: coercing (str(7) == "7") would accept a second
        # spelling of the same read/write set.
        reads = tuple((_text(k, "read key"), Version.from_doc(v))
                      for k, v in _pairs(doc["reads"], "reads"))
        ranges = []
        if not isinstance(doc["range_reads"], list):
            raise MalformedTransaction("rwset: range_reads must be a list")
        for r in doc["range_reads"]:
            _exact_keys(r, {"start", "end", "results"}, "range read")
            results = []
            for k, v in _pairs(r["results"], "range read results"):
                version = Version.from_doc(v)
                if version is None:
                    raise MalformedTransaction("range read result without version")
                results.append((_text(k, "range read key"), version))
            ranges.append(RangeRead(_text(r["start"], "range start"),
                                    _text(r["end"], "range end"), tuple(results)))
        writes = tuple((_text(k, "write key"), unb64(v, "write") if v is not None else None)
                       for k, v in _pairs(doc["writes"], "writes"))
        return cls(reads, tuple(ranges), writes)


@dataclass(frozen=True)
class Event:
    name: str
    payload: bytes


@dataclass(frozen=True)
class Response:
    """What the contract returned: status 200 with a payload, or 400/500 with a message."""

    status: int
    message: str = ""
    payload: bytes = b""


@dataclass(frozen=True)
class ProposalResults:
    """What endorsers sign: the proposal's hash, the read/write set, response and event."""

    proposal_hash: bytes
    rwset: ReadWriteSet
    response: Response
    event: Event | None

    def to_doc(self) -> dict[str, Any]:
        return {
            "proposal_hash": b64(self.proposal_hash),
            "rwset": self.rwset.to_doc(),
            "response": {"status": self.response.status, "message": self.response.message,
                         "payload": b64(self.response.payload)},
            "event": ({"name": self.event.name, "payload": b64(self.event.payload)}
                      if self.event else None),
        }

    @classmethod
    def from_doc(cls, doc: Any) -> ProposalResults:
        _exact_keys(doc, {"proposal_hash", "rwset", "response", "event"}, "results")
        resp = doc["response"]
        _exact_keys(resp, {"status", "message", "payload"}, "response")
        event = doc["event"]
        if event is not None:
            _exact_keys(event, {"name", "payload"}, "event")
        return cls(
            unb64(doc["proposal_hash"], "proposal_hash"),
            ReadWriteSet.from_doc(doc["rwset"]),
            Response(_get(resp, "status", int, "response"), _get(resp, "message", str, "resp"),
                     unb64(resp["payload"], "payload")),
            Event(_get(event, "name", str, "event"), unb64(event["payload"], "event"))
            if event is not None else None,
        )

    def signed_bytes(self) -> bytes:
        return _memo_signed_bytes(self)


@dataclass(frozen=True)
class Endorsement:
    endorser: bytes   # certificate DER
    signature: bytes  # SM2 DER over ProposalResults.signed_bytes()

    def to_doc(self) -> dict[str, Any]:
        return {"endorser": b64(self.endorser), "signature": b64(self.signature)}

    @classmethod
    def from_doc(cls, doc: Any) -> Endorsement:
        _exact_keys(doc, {"endorser", "signature"}, "endorsement")
        return cls(unb64(doc["endorser"], "endorser"), unb64(doc["signature"], "signature"))


@dataclass(frozen=True)
class Transaction:
    """The envelope: proposal + creator's signature + results + endorsements."""

    proposal: Proposal
    signature: bytes  # creator's SM2 DER signature over proposal.signed_bytes()
    results: ProposalResults
    endorsements: tuple[Endorsement, ...] = field(default_factory=tuple)

    @property
    def tx_id(self) -> str:
        return self.proposal.tx_id

    def to_doc(self) -> dict[str, Any]:
        return {"proposal": self.proposal.to_doc(), "signature": b64(self.signature),
                "results": self.results.to_doc(),
                "endorsements": [e.to_doc() for e in self.endorsements]}

    def encode(self) -> bytes:
        # The canonical JSON of an object is its members' canonical encodings in key
        # order, so the envelope is assembled from the proposal's and the results'
        # signed bytes (already computed for signing) instead of encoding them again.
        return _envelope_bytes(self.proposal.signed_bytes(), b64(self.signature),
                               self.results.signed_bytes(),
                               canonical_json([e.to_doc() for e in self.endorsements]))

    @classmethod
    def decode(cls, data: bytes) -> Transaction:
        fast = _decode_fast(data)
        if fast is not None:
            return fast
        try:
            doc = parse_canonical(data)
        except CanonicalJSONError as exc:
            raise MalformedTransaction(f"envelope: {exc}") from None
        return cls._from_doc(doc)

    @classmethod
    def _from_doc(cls, doc: Any) -> Transaction:
        _exact_keys(doc, {"proposal", "signature", "results", "endorsements"}, "envelope")
        endorsements = _get(doc, "endorsements", list, "envelope")
        return cls(Proposal.from_doc(doc["proposal"]), unb64(doc["signature"], "signature"),
                   ProposalResults.from_doc(doc["results"]),
                   tuple(Endorsement.from_doc(e) for e in endorsements))


def _is_version(value: object, optional: bool) -> bool:
    """What ``Version.from_doc`` gives back: None (if ``optional``) or a Version of two
    non-negative exact ints."""
    if value is None:
        return optional
    return type(value) is Version and type(value.block) is int and \
        type(value.tx_num) is int and value.block >= 0 and value.tx_num >= 0


def decodes_to_itself(tx: Transaction) -> bool:
    """True when ``Transaction.decode(tx.encode()) == tx``, member by member and with the
    same exact types (tuples where decoding builds tuples, ``str``, ``bytes`` and ``int``
    rather than subclasses), so that a committer may use ``tx`` itself for an envelope
    whose bytes equal ``tx.encode()`` instead of parsing them again. False when any
    member is not exactly what ``from_doc`` builds (the caller then decodes): every
    check ``from_doc`` makes of a value is made here of the value it would give."""
    proposal, results = tx.proposal, tx.results
    rwset, response, event = results.rwset, results.response, results.event
    if type(tx) is not Transaction or type(proposal) is not Proposal \
            or type(results) is not ProposalResults or type(rwset) is not ReadWriteSet \
            or type(response) is not Response or type(tx.signature) is not bytes \
            or type(results.proposal_hash) is not bytes:
        return False
    if not (type(proposal.channel) is str and type(proposal.contract) is str
            and type(proposal.function) is str and type(proposal.args) is tuple
            and all(type(a) is str for a in proposal.args)
            and type(proposal.creator) is bytes and type(proposal.nonce) is bytes
            and type(proposal.timestamp) is dt.datetime
            and proposal.timestamp.tzinfo is dt.UTC):
        return False
    try:
        if parse_time(format_time(proposal.timestamp), "timestamp") != proposal.timestamp:
            return False
    except (MalformedTransaction, ValueError, OverflowError):
        return False
    if type(response.status) is not int or type(response.message) is not str \
            or type(response.payload) is not bytes:
        return False
    if event is not None and (type(event) is not Event or type(event.name) is not str
                              or type(event.payload) is not bytes):
        return False
    if type(tx.endorsements) is not tuple or not all(
            type(e) is Endorsement and type(e.endorser) is bytes
            and type(e.signature) is bytes for e in tx.endorsements):
        return False
    reads, writes, ranges = rwset.reads, rwset.writes, rwset.range_reads
    if type(reads) is not tuple or type(writes) is not tuple or type(ranges) is not tuple:
        return False
    for pair in reads:
        if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str \
                or not _is_version(pair[1], True):
            return False
    for write in writes:
        if type(write) is not tuple or len(write) != 2 or type(write[0]) is not str \
                or (write[1] is not None and type(write[1]) is not bytes):
            return False
    for rng in ranges:
        if type(rng) is not RangeRead or type(rng.start) is not str \
                or type(rng.end) is not str or type(rng.results) is not tuple:
            return False
        for seen in rng.results:
            if type(seen) is not tuple or len(seen) != 2 or type(seen[0]) is not str \
                    or not _is_version(seen[1], False):
                return False
    return True


def _envelope_bytes(proposal: bytes, signature: str, results: bytes,
                    endorsements: bytes) -> bytes:
    """The canonical JSON of ``{"endorsements", "proposal", "results", "signature"}`` from
    the canonical encodings of its members (base64 text needs no escaping)."""
    return b"".join((b'{"endorsements":', endorsements, b',"proposal":', proposal,
                     b',"results":', results, b',"signature":"', signature.encode(), b'"}'))


_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/=]*")
_ENVELOPE_MEMBERS = frozenset({"proposal", "signature", "results", "endorsements"})


def _decode_fast(data: bytes) -> Transaction | None:
    """Decode a canonical envelope, encoding each part once: the parts' canonical bytes
    both prove the whole envelope canonical (they must reassemble to ``data``) and are
    what the signatures cover. None when anything is off: the strict path then decides
    (and names the problem)."""
    try:
        doc = json.loads(data)
    except (TypeError, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(doc, dict) or doc.keys() != _ENVELOPE_MEMBERS:
        return None
    signature = doc["signature"]
    if not isinstance(signature, str) or not _BASE64_TEXT.fullmatch(signature):
        return None
    # The results are read before they are encoded, and encoded from what was read:
    # ``from_doc`` is strict, so that is the canonical JSON of the document they were
    # read from when it has one, and the assembled encoding of their thousands of pairs
    # is much the cheapest. (The proposal is encoded first: its checks assume text that
    # is valid Unicode.)
    try:
        proposal_bytes = canonical_json(doc["proposal"])
        endorsement_bytes = canonical_json(doc["endorsements"])
        tx = Transaction._from_doc(doc)
        results_bytes = tx.results.signed_bytes()
    except (MalformedTransaction, CanonicalJSONError):
        return None
    if _envelope_bytes(proposal_bytes, signature, results_bytes, endorsement_bytes) != data:
        return None
    _remember_signed_bytes(tx.proposal, proposal_bytes)
    return tx
