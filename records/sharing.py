"""Share codes: a holder hands a verifier (a university, an employer) a short code that
opens one record's public verification page until a time the holder chose — the habit
of 学信网 online verification reports.

- **Who holds a record**: the person an archive entry is about (``Holder.person`` =
  the subject's directory reference), the organisation it belongs to (the subject's
  organisation, e.g. the student's school), or its issuer.
- **Codes** are 16 characters from an alphabet without look-alikes (``0/O``, ``1/I/L``
  are absent): about 79 bits, drawn with ``secrets``; shown in groups of four
  (``ABCD-EFGH-JKMN-PQRS``) and accepted in any case, with or without hyphens and
  spaces. Only SM3 of the normalised code is stored, with its first four characters as
  a hint so a holder can tell codes apart in a list; the code itself is shown once.
- **Expiry** is required, in the future and at most ``MAX_LIFETIME`` (one year) ahead.
  Codes are revocable; a revoked or expired code opens nothing (``ShareCodeGone``), an
  unknown one neither (``ShareCodeNotFound``).
- **What is shown**: the holder picks the content members to show (``fields``; default
  all). Whatever is picked, the public view never contains the subject's directory
  reference, the salt, or contact data (``NEVER_SHOWN``). Verification always runs on
  the whole record.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from crypto.sm3 import sm3
from records.envelope import Record, SubjectKind
from records.errors import NotAuthorised, RecordsError
from records.registry import RecordRegistry
from records.store import RecordsBase
from records.timestamps import format_timestamp, utc_now
from records.verification import Report

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"   # 31 symbols, no 0 O 1 I L
CODE_LENGTH = 16
HINT_LENGTH = 4
MAX_LIFETIME = dt.timedelta(days=366)
MIN_LIFETIME = dt.timedelta(minutes=5)
# Content members a public page never shows, whatever the holder picked: contact data of
# a person (an app filing's data-security contact: name, phone, e-mail).
NEVER_SHOWN = frozenset({"data_security_contact"})
_NOTE_LENGTH = 200


class ShareCodeError(RecordsError):
    """Base of the share-code errors."""


class ShareCodeNotFound(ShareCodeError):
    """No share code matches (wrong code, or not one of the holder's)."""


class ShareCodeGone(ShareCodeError):
    """The code existed but has expired or was revoked; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the share code has been {reason}")
        self.reason = reason


class InvalidShareRequest(ShareCodeError):
    """A share request the rules refuse: expiry out of bounds, unknown fields, a record
    that is not on the ledger."""


class ShareCodeRow(RecordsBase):
    __tablename__ = "records_share_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(8))
    record_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    holder_person: Mapped[str | None] = mapped_column(String(200), index=True)
    holder_org: Mapped[str | None] = mapped_column(String(40), index=True)
    fields: Mapped[str] = mapped_column(Text)      # JSON list of content members
    note: Mapped[str | None] = mapped_column(String(_NOTE_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    views: Mapped[int] = mapped_column(Integer, default=0)
    last_viewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Holder:
    """Who shares: a person (directory reference) or an organisation (its code), as the
    caller authenticated them. Exactly one is set."""

    person: str | None = None
    org: str | None = None

    def __post_init__(self) -> None:
        if (self.person is None) == (self.org is None):
            raise ValueError("a holder is either a person or an organisation")


@dataclass(frozen=True)
class ShareCode:
    """A share code as its holder lists it (never the code itself, only its hint)."""

    id: str
    hint: str
    record_id: str
    version: int | None
    holder: Holder
    fields: tuple[str, ...]
    note: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    views: int
    last_viewed_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "active"

    def to_json(self, now: dt.datetime | None = None) -> dict[str, Any]:
        when = now or utc_now()
        return {"id": self.id, "hint": self.hint + "…", "record": self.record_id,
                "version": self.version, "fields": list(self.fields), "note": self.note,
                "holder": {"person": self.holder.person, "org": self.holder.org},
                "created_at": format_timestamp(self.created_at),
                "expires_at": format_timestamp(self.expires_at),
                "revoked_at": (format_timestamp(self.revoked_at)
                               if self.revoked_at else None),
                "views": self.views,
                "last_viewed_at": (format_timestamp(self.last_viewed_at)
                                   if self.last_viewed_at else None),
                "state": self.state(when)}


@dataclass(frozen=True)
class IssuedShareCode:
    """A new code: ``code`` is shown to the holder once and stored nowhere."""

    code: str
    share: ShareCode

    def to_json(self, now: dt.datetime | None = None) -> dict[str, Any]:
        return {"code": self.code, **self.share.to_json(now)}


@dataclass(frozen=True)
class SharedView:
    """What the public page shows: the record version, the content members the holder
    chose, and the verification of the whole record."""

    share: ShareCode
    record: Record
    content: dict[str, Any]
    report: Report


def new_code() -> str:
    """A fresh code, grouped by four for reading aloud and typing."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(text: str) -> str | None:
    """The code's canonical form (upper case, no separators), or None when ``text``
    cannot be a code (so a lookup never even reaches the database)."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    raw = "".join(c for c in text.upper() if c not in "- ")
    if len(raw) != CODE_LENGTH or any(c not in ALPHABET for c in raw):
        return None
    return raw


def code_hash(normalised: str) -> str:
    return sm3(b"edutrust-share-code\x00" + normalised.encode("ascii")).hex()


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _share(row: ShareCodeRow) -> ShareCode:
    created, expires = _utc(row.created_at), _utc(row.expires_at)
    assert created is not None and expires is not None
    return ShareCode(row.id, row.hint, row.record_id, row.version,
                     Holder(row.holder_person, None) if row.holder_person
                     else Holder(None, row.holder_org),
                     tuple(json.loads(row.fields)), row.note, created, expires,
                     _utc(row.revoked_at), row.views or 0, _utc(row.last_viewed_at))


def holds(record: Record, holder: Holder) -> bool:
    """Whether ``holder`` may share ``record``: the person an archive entry is about,
    the organisation the subject belongs to, or the issuer."""
    if holder.person is not None:
        return record.subject.kind is SubjectKind.PERSON and record.subject.ref == holder.person
    return holder.org in (record.issuer.org, record.subject.org)


def public_content(record: Record, fields: Sequence[str]) -> dict[str, Any]:
    """The content members ``fields`` names, minus what is never shown."""
    return {name: value for name, value in record.content.items()
            if name in fields and name not in NEVER_SHOWN}


class ShareCodes:
    """Creating, listing, revoking and opening share codes."""

    def __init__(self, sessions: sessionmaker[Session], registry: RecordRegistry, *,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.sessions = sessions
        self.registry = registry
        self.clock = clock

    # -- holders ------------------------------------------------------------------------
    def create(self, record_id: str, holder: Holder, *, expires_at: dt.datetime,
               fields: Sequence[str] | None = None, version: int | None = None,
               note: str | None = None) -> IssuedShareCode:
        """A new code for ``record_id`` (its newest anchored version when ``version`` is
        None, so an amendment is shown once anchored) valid until ``expires_at``.
        ``NotAuthorised`` unless ``holder`` holds the record; ``InvalidShareRequest`` for
        an expiry out of bounds, unknown fields or a record not on the ledger."""
        now = self.clock()
        if expires_at.tzinfo is None:
            raise InvalidShareRequest("the expiry time must be timezone-aware")
        expires_at = expires_at.astimezone(dt.UTC).replace(microsecond=0)
        if expires_at < now + MIN_LIFETIME:
            raise InvalidShareRequest("a share code must stay valid for at least 5 minutes")
        if expires_at > now + MAX_LIFETIME:
            raise InvalidShareRequest("a share code expires within one year")
        record = self._shown_version(record_id, version)
        if not holds(record, holder):
            raise NotAuthorised("only the record's holder, its organisation or its issuer "
                                "may share it")
        chosen = list(record.content) if fields is None else list(dict.fromkeys(fields))
        unknown = [f for f in chosen if f not in record.content]
        if unknown or not chosen:
            raise InvalidShareRequest(f"fields must name members of the record's content: "
                                      f"{', '.join(unknown) or '(none chosen)'}")
        if note is not None and len(note) > _NOTE_LENGTH:
            raise InvalidShareRequest(f"a note has at most {_NOTE_LENGTH} characters")
        code = new_code()
        normalised = normalise_code(code)
        assert normalised is not None
        row = ShareCodeRow(id=str(uuid.uuid4()), code_hash=code_hash(normalised),
                           hint=normalised[:HINT_LENGTH], record_id=record.id,
                           version=version, holder_person=holder.person,
                           holder_org=holder.org, fields=json.dumps(chosen), note=note,
                           created_at=now, expires_at=expires_at, revoked_at=None,
                           views=0, last_viewed_at=None)
        with self.sessions.begin() as session:
            session.add(row)
        return IssuedShareCode(code, _share(row))

    def list(self, holder: Holder, *, record_id: str | None = None) -> list[ShareCode]:
        """The holder's codes (every state), newest first."""
        with self.sessions() as session:
            query = select(ShareCodeRow)
            if holder.person is not None:
                query = query.where(ShareCodeRow.holder_person == holder.person)
            else:
                query = query.where(ShareCodeRow.holder_org == holder.org)
            if record_id is not None:
                query = query.where(ShareCodeRow.record_id == record_id)
            rows = session.scalars(query.order_by(ShareCodeRow.created_at.desc(),
                                                  ShareCodeRow.id)).all()
        return [_share(r) for r in rows]

    def revoke(self, share_id: str, holder: Holder) -> ShareCode:
        """Revoke one of the holder's codes (revoking twice keeps the first time);
        ``ShareCodeNotFound`` if it is not the holder's."""
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(ShareCodeRow, share_id)
            if row is None or (row.holder_person, row.holder_org) != (holder.person,
                                                                      holder.org):
                raise ShareCodeNotFound("no such share code of this holder")
            if row.revoked_at is None:
                row.revoked_at = now
            return _share(row)

    # -- verifiers ----------------------------------------------------------------------
    def open(self, code: str) -> ShareCode:
        """The share a code opens; ``ShareCodeNotFound`` or ``ShareCodeGone``."""
        normalised = normalise_code(code)
        if normalised is None:
            raise ShareCodeNotFound("no such share code")
        with self.sessions() as session:
            row = session.scalars(select(ShareCodeRow).where(
                ShareCodeRow.code_hash == code_hash(normalised))).first()
        if row is None:
            raise ShareCodeNotFound("no such share code")
        share = _share(row)
        state = share.state(self.clock())
        if state != "active":
            raise ShareCodeGone(state)
        return share

    def view(self, code: str) -> SharedView:
        """Open a code and verify the record it shares (counts the view)."""
        share = self.open(code)
        record = self._shown_version(share.record_id, share.version)
        report = self.registry.verify(record.id, record.version)
        with self.sessions.begin() as session:
            session.execute(update(ShareCodeRow).where(ShareCodeRow.id == share.id)
                            .values(views=ShareCodeRow.views + 1,
                                    last_viewed_at=self.clock()))
        return SharedView(share, record, public_content(record, share.fields), report)

    def _shown_version(self, record_id: str, version: int | None) -> Record:
        if version is not None:
            record = self.registry.get(record_id, version)
            if record.anchor is None:
                raise InvalidShareRequest("only records on the ledger can be shared")
            return record
        anchored = [r for r in self.registry.store.versions(record_id) if r.anchor]
        if not anchored:
            self.registry.get(record_id)  # RecordNotFound when there is none
            raise InvalidShareRequest("only records on the ledger can be shared")
        return anchored[-1]

