"""Passkey tables: one row per registered credential, and the attestation an
organisation demands of its people's authenticators."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import IdpBase
from idp.directory.models import new_id, utcnow

# Attestation conveyance an organisation may ask for (WebAuthn 5.4.7).
ATTESTATION_NONE, ATTESTATION_DIRECT = "none", "direct"
ATTESTATIONS = (ATTESTATION_NONE, ATTESTATION_DIRECT)


class PasskeyCredential(IdpBase):
    __tablename__ = "webauthn_credentials"
    __table_args__ = (
        UniqueConstraint("credential_id", name="uq_webauthn_credentials_credential_id"),
    )

    # Our own id for the credential (URLs, logs); the authenticator's id is below.
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("directory_people.id", ondelete="CASCADE"), index=True)
    # base64url of the credential id the authenticator chose (at most 1023 bytes).
    credential_id: Mapped[str] = mapped_column(String(1400))
    # base64url of the WebAuthn user handle: random, one per person, never the person id.
    user_handle: Mapped[str] = mapped_column(String(88), index=True)
    # The credential public key as the authenticator sent it (COSE_Key, RFC 9052).
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Last signature counter seen (uint32; 0 when the authenticator keeps none).
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    aaguid: Mapped[str] = mapped_column(String(36))
    attestation_format: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    # Backup eligibility (BE, fixed for the credential's life) and state (BS).
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when the signature counter went backwards; the credential is refused from then on.
    possibly_cloned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PasskeyOrgPolicy(IdpBase):
    """Attestation an organisation requires when its people register a passkey. With
    ``direct``, registrations must carry a verifiable attestation statement; with root
    certificates set, its chain must lead to one of them (no self-attestation)."""

    __tablename__ = "webauthn_org_policies"
    __table_args__ = (
        CheckConstraint("attestation IN ('none', 'direct')",
                        name="ck_webauthn_org_policies_attestation"),
    )

    organisation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("directory_organisations.id", ondelete="CASCADE"),
        primary_key=True)
    attestation: Mapped[str] = mapped_column(String(8), default=ATTESTATION_NONE)
    # PEM bundle of trusted attestation roots (vendor CAs), or NULL for any verified one.
    root_certificates: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CeremonyState(IdpBase):
    """A WebAuthn ceremony waiting for the authenticator's answer, when there is no
    Redis (``idp.webauthn.challenges``): the in-process store is private to one worker,
    and a ceremony's options and answer may reach different workers."""

    __tablename__ = "webauthn_ceremonies"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
