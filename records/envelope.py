"""The one envelope around every record version (archive entry, copyright registration,
app filing, credit record), as an immutable value with its JSON form.

The envelope's *core* — id, type, schema, version, previous, issuer, subject, validity,
status slot and content — is what the digest covers (records.digest) and therefore what
the issuer signs and the ledger anchors. Everything else (salt, proofs, review decision,
lifecycle history, anchor) is evidence about that core. The JSON shape is
``records/schemas/envelope-1.json``; docs/records.md describes each member.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
from dataclasses import dataclass, field, fields
from typing import Any

from records.batch import BatchRef
from records.digest import core_digest, decode_salt, encode_salt
from records.errors import MalformedRecord
from records.lifecycle import State, Transition, state_named
from records.schema import schema_by_id, validate_envelope
from records.timestamps import format_timestamp, parse_timestamp

PROOF_TYPE = "edutrust-record-proof/v1"
RECORD_KEY_PREFIX = "record:"


class RecordType(enum.StrEnum):
    ARCHIVE_ENTRY = "archive_entry"
    COPYRIGHT_REGISTRATION = "copyright_registration"
    APP_FILING = "app_filing"
    CREDIT_RECORD = "credit_record"


class SubjectKind(enum.StrEnum):
    PERSON = "person"              # archive entries: a directory person reference
    ORGANISATION = "organisation"  # credit records: a unified social credit code
    RESOURCE = "resource"          # copyright: the SM3 digest of the content
    APP = "app"                    # app filings: the package id


def record_key(record_id: str) -> str:
    """The ledger key every version of a record is anchored under."""
    return RECORD_KEY_PREFIX + record_id


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: object, what: str) -> bytes:
    try:
        if not isinstance(text, str):
            raise ValueError
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, binascii.Error):
        raise MalformedRecord(f"{what} is not base64") from None


@dataclass(frozen=True)
class SchemaRef:
    id: str
    version: int


@dataclass(frozen=True)
class VersionLink:
    """The version this one amends: its id, version number and digest."""

    id: str
    version: int
    digest: str


@dataclass(frozen=True)
class IssuerRef:
    """The issuing organisation's code and the key id (``<key>.v<n>``) it signs with."""

    org: str
    kid: str


@dataclass(frozen=True)
class Subject:
    """Whom or what the record is about. For a person this is a directory reference,
    never a personal identifier, and it is salted before hashing; ``org`` is the
    organisation the subject belongs to (a student's school)."""

    kind: SubjectKind
    ref: str
    org: str | None


@dataclass(frozen=True)
class Validity:
    valid_from: dt.datetime
    valid_until: dt.datetime | None

    def contains(self, at: dt.datetime) -> bool:
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)


@dataclass(frozen=True)
class StatusSlot:
    """The record's index in its issuer's status lists (one revocation and one
    suspension bitstring share the list id and index)."""

    list: str
    index: int


@dataclass(frozen=True)
class Review:
    decision: str                 # approved | returned | rejected
    org: str
    at: dt.datetime
    comment: str | None
    assigned: dict[str, str] = field(default_factory=dict)  # e.g. {"filing_number": ...}

    def to_json(self) -> dict[str, Any]:
        return {"decision": self.decision, "org": self.org, "at": format_timestamp(self.at),
                "comment": self.comment, "assigned": dict(self.assigned)}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Review:
        return cls(doc["decision"], doc["org"], parse_timestamp(doc["at"]), doc["comment"],
                   dict(doc["assigned"]))


@dataclass(frozen=True)
class Proof:
    """An SM2 signature by an organisation over a statement about one record version:
    ``purpose`` ``issue`` (the issuer) or ``review`` (the reviewer, with its decision)."""

    purpose: str
    record: str
    version: int
    digest: str
    org: str
    kid: str
    created: dt.datetime
    review: Review | None
    signature: bytes
    batch: BatchRef | None = None   # set when ``signature`` covers a batch (records.batch)

    def statement(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": PROOF_TYPE, "purpose": self.purpose,
                               "record": self.record, "version": self.version,
                               "digest": self.digest, "org": self.org, "kid": self.kid,
                               "created": format_timestamp(self.created)}
        if self.review is not None:
            doc["review"] = self.review.to_json()
        return doc

    def to_json(self) -> dict[str, Any]:
        doc = {**self.statement(), "signature": _b64(self.signature)}
        if self.batch is not None:
            doc["batch"] = self.batch.to_json()
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Proof:
        review = Review.from_json(doc["review"]) if "review" in doc else None
        return cls(doc["purpose"], doc["record"], doc["version"], doc["digest"], doc["org"],
                   doc["kid"], parse_timestamp(doc["created"]), review,
                   _unb64(doc["signature"], "proof signature"),
                   BatchRef.from_json(doc["batch"]) if "batch" in doc else None)


@dataclass(frozen=True)
class Anchor:
    """Where the ledger holds this version: channel, transaction, block, leaf index,
    key and the key's ledger version."""

    channel: str
    tx_id: str
    block: int
    leaf_index: int
    key: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "tx_id": self.tx_id, "block": self.block,
                "leaf_index": self.leaf_index, "key": self.key, "version": self.version}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Anchor:
        return cls(doc["channel"], doc["tx_id"], doc["block"], doc["leaf_index"], doc["key"],
                   doc["version"])


@dataclass(frozen=True)
class Record:
    """One version of a record with all its evidence. Immutable: every change (a
    transition, a proof, the anchor) makes a new value with ``dataclasses.replace``."""

    id: str
    type: RecordType
    schema: SchemaRef
    version: int
    previous: VersionLink | None
    issuer: IssuerRef
    subject: Subject
    validity: Validity
    status: StatusSlot
    content: dict[str, Any]
    salt: bytes | None
    digest: str
    state: State
    proofs: tuple[Proof, ...] = ()
    review: Review | None = None
    lifecycle: tuple[Transition, ...] = ()
    anchor: Anchor | None = None

    # -- the core and its digest ----------------------------------------------------------
    def core(self) -> dict[str, Any]:
        """The members the digest covers, in JSON form (before salting)."""
        return {
            "id": self.id, "type": self.type.value,
            "schema": {"id": self.schema.id, "version": self.schema.version},
            "version": self.version,
            "previous": None if self.previous is None else {
                "id": self.previous.id, "version": self.previous.version,
                "digest": self.previous.digest},
            "issuer": {"org": self.issuer.org, "kid": self.issuer.kid},
            "subject": {"kind": self.subject.kind.value, "ref": self.subject.ref,
                        "org": self.subject.org},
            "validity": {"from": format_timestamp(self.validity.valid_from),
                         "until": None if self.validity.valid_until is None
                         else format_timestamp(self.validity.valid_until)},
            "status": {"list": self.status.list, "index": self.status.index},
            "content": self.content,
        }

    def person_linked(self) -> tuple[str, ...]:
        """The salted pointers of this record (relative to the core)."""
        schema = schema_by_id(self.schema.id, self.schema.version)
        own = ("/subject/ref",) if self.subject.kind is SubjectKind.PERSON else ()
        return own + tuple("/content" + p for p in schema.person_linked)

    def compute_digest(self) -> str:
        """The digest recomputed from the core and the salt (``MalformedRecord`` if the
        salt has been erased)."""
        if self.salt is None:
            raise MalformedRecord("the salt of this record was erased; its digest cannot "
                                  "be recomputed")
        return core_digest(self.core(), self.person_linked(), self.salt)

    @property
    def key(self) -> str:
        return record_key(self.id)

    def proof(self, purpose: str) -> Proof | None:
        return next((p for p in self.proofs if p.purpose == purpose), None)

    def with_changes(self, **changes: Any) -> Record:
        """``dataclasses.replace(self, **changes)`` without its per-field work (a record
        has no ``__post_init__`` and nothing derived from its members): a copy of the
        members with ``changes`` set. Bulk work makes two new versions per record."""
        if not changes.keys() <= _RECORD_FIELDS:
            unknown = sorted(changes.keys() - _RECORD_FIELDS)
            raise TypeError(f"Record has no field {unknown[0]!r}")
        copy = object.__new__(Record)
        members = copy.__dict__
        members.update(self.__dict__)
        members.update(changes)
        return copy

    # -- JSON ------------------------------------------------------------------------------
    def to_json(self, *, include_salt: bool = True) -> dict[str, Any]:
        doc = self.core()
        doc.update({
            "salt": encode_salt(self.salt) if include_salt and self.salt else None,
            "digest": self.digest,
            "state": self.state.value,
            "proofs": [p.to_json() for p in self.proofs],
            "review": self.review.to_json() if self.review else None,
            "lifecycle": [t.to_json() for t in self.lifecycle],
            "anchor": self.anchor.to_json() if self.anchor else None,
        })
        return doc

    @classmethod
    def from_json(cls, doc: Any, *, check_shape: bool = True) -> Record:
        """Parse an envelope. Its shape is checked against envelope-1.json unless
        ``check_shape`` is False (for envelopes this package stored itself); the content
        is checked against its own schema only by verification."""
        if check_shape:
            validate_envelope(doc)
        try:
            validity = doc["validity"]
            previous = doc["previous"]
            record = cls(
                id=doc["id"], type=RecordType(doc["type"]),
                schema=SchemaRef(doc["schema"]["id"], doc["schema"]["version"]),
                version=doc["version"],
                previous=None if previous is None else VersionLink(
                    previous["id"], previous["version"], previous["digest"]),
                issuer=IssuerRef(doc["issuer"]["org"], doc["issuer"]["kid"]),
                subject=Subject(SubjectKind(doc["subject"]["kind"]), doc["subject"]["ref"],
                                doc["subject"]["org"]),
                validity=Validity(parse_timestamp(validity["from"]),
                                  None if validity["until"] is None
                                  else parse_timestamp(validity["until"])),
                status=StatusSlot(doc["status"]["list"], doc["status"]["index"]),
                content=doc["content"],
                salt=None if doc["salt"] is None else decode_salt(doc["salt"]),
                digest=doc["digest"], state=state_named(doc["state"]),
                proofs=tuple(Proof.from_json(p) for p in doc["proofs"]),
                review=None if doc["review"] is None else Review.from_json(doc["review"]),
                lifecycle=tuple(Transition.from_json(t) for t in doc["lifecycle"]),
                anchor=None if doc["anchor"] is None else Anchor.from_json(doc["anchor"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedRecord(f"malformed record envelope: {exc}") from None
        return record


_RECORD_FIELDS = frozenset(f.name for f in fields(Record))
