"""Directory tables: organisations (a tree), people, memberships (person, organisation,
role) and guardian links. Phone and ID-card numbers live only sealed (SM4-GCM) beside
their blind index; nothing here holds them in plaintext."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import IdpBase

ORG_KINDS = ("national", "province", "city", "county", "school", "bureau", "enterprise")
ROLES = ("student", "teacher", "staff", "guardian", "regulator", "operator")
RELATIONS = ("guardian", "father", "mother", "grandparent", "relative", "other")

# Blind-index contexts (crypto.fields.FieldCipher.blind_index).
PHONE = "phone"
ID_CARD = "id_card"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def new_id() -> str:
    """A UUIDv7 (RFC 9562) string: millisecond time first, so ids sort by creation."""
    millis = time.time_ns() // 1_000_000
    raw = bytearray(millis.to_bytes(6, "big") + os.urandom(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)   # version 7
    raw[8] = 0x80 | (raw[8] & 0x3F)   # RFC 9562 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sealed_context(person_id: str, column: str) -> bytes:
    """Associated data binding a sealed value to its row and column."""
    return f"person:{person_id}:{column}".encode()


class Organisation(IdpBase):
    __tablename__ = "directory_organisations"
    __table_args__ = (
        UniqueConstraint("code", name="uq_directory_organisations_code"),
        CheckConstraint(_one_of("kind", ORG_KINDS), name="ck_directory_organisations_kind"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # Division code, school identification code or unified social credit code.
    code: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("directory_organisations.id", ondelete="RESTRICT"),
        index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Person(IdpBase):
    __tablename__ = "directory_people"
    __table_args__ = (
        UniqueConstraint("username", name="uq_directory_people_username"),
        UniqueConstraint("id_card_index", name="uq_directory_people_id_card_index"),
        # 学籍号: unique when present (NULLs never collide).
        UniqueConstraint("student_number", name="uq_directory_people_student_number"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64))   # lowercase
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_sealed: Mapped[str | None] = mapped_column(Text)
    # Shared phones are common (a child listed with a parent's number): not unique.
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    id_card_sealed: Mapped[str | None] = mapped_column(Text)
    id_card_index: Mapped[str | None] = mapped_column(String(64))
    student_number: Mapped[str | None] = mapped_column(String(32))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Membership(IdpBase):
    __tablename__ = "directory_memberships"
    __table_args__ = (
        Index("ix_directory_memberships_organisation", "organisation_id"),
        CheckConstraint(_one_of("role", ROLES), name="ck_directory_memberships_role"),
    )

    person_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("directory_people.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("directory_organisations.id", ondelete="RESTRICT"),
        primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GuardianLink(IdpBase):
    __tablename__ = "directory_guardian_links"
    __table_args__ = (Index("ix_directory_guardian_links_minor", "minor_id"),)

    guardian_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("directory_people.id", ondelete="CASCADE"), primary_key=True)
    minor_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("directory_people.id", ondelete="CASCADE"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(16), default="guardian")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
