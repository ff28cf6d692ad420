"""Tables of multi-factor authentication: TOTP secrets (sealed), recovery codes
(hashed), per-organisation policy and the security notices shown to a person. Passkeys
have their own tables in ``idp.webauthn.models``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import IdpBase

REQUIREMENTS = ("none", "mfa", "phr")


class TotpSecret(IdpBase):
    """One TOTP authenticator per person: the confirmed secret, and a pending one while
    a (re-)enrollment waits for its first code. Both sealed with SM4-GCM."""

    __tablename__ = "mfa_totp"

    person_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("directory_people.id", ondelete="CASCADE"), primary_key=True)
    secret_sealed: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    pending_sealed: Mapped[str | None] = mapped_column(Text)
    pending_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The last 30-second step whose code was accepted: that step and every earlier one
    # are refused from then on (replay).
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(IdpBase):
    __tablename__ = "mfa_recovery_codes"
    __table_args__ = (Index("ix_mfa_recovery_codes_person", "person_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("directory_people.id", ondelete="CASCADE"))
    # ``<b64 salt>$<b64 HMAC-SM3(salt, code)>``
    code_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class OrgPolicy(IdpBase):
    """What a login of someone holding ``role`` in the organisation needs."""

    __tablename__ = "mfa_org_policies"
    __table_args__ = (
        CheckConstraint("requirement IN ('none', 'mfa', 'phr')",
                        name="ck_mfa_org_policies_requirement"),
    )

    organisation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("directory_organisations.id", ondelete="CASCADE"),
        primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    requirement: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SecurityNotice(IdpBase):
    """Something a person should know about their account (a recovery code was used, a
    factor was added or removed), shown on the next login and on the account page."""

    __tablename__ = "mfa_notices"
    __table_args__ = (Index("ix_mfa_notices_person", "person_id", "seen_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("directory_people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # catalog key suffix: idp.notice.<kind>
    details: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
