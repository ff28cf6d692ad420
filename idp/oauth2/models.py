"""Tables of the authorization server: registered clients, authorization codes, issued
tokens and remembered consent.

No secret is stored in the clear: client secrets are HMAC-SM3 tags, codes and tokens
are SM3 digests (they are long random strings, so a digest is as good as a slow hash).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import IdpBase


class OAuthClient(IdpBase):
    """A registered relying party (OIDC Registration 2 metadata, the subset we honour)."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # ``hmac-sm3$<base64url tag>`` for confidential clients, None for public ones.
    secret_hash: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    response_types: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(8))
    access_token_signed_response_alg: Mapped[str] = mapped_column(String(8))
    access_token_format: Mapped[str] = mapped_column(String(8))  # "jwt" | "opaque"
    subject_type: Mapped[str] = mapped_column(String(16))  # "pairwise" | "public"
    # Pairwise subjects are computed per sector (OIDC Core 8.1): the redirect host.
    sector_identifier: Mapped[str] = mapped_column(String(255))
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    require_pkce: Mapped[bool] = mapped_column(Boolean, default=False)
    require_par: Mapped[bool] = mapped_column(Boolean, default=False)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # OIDC RP-Initiated Logout 1.0 3.1 and Back-Channel Logout 1.0 2.2.
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    backchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The directory organisation a client_credentials client acts for (a school's
    # system, a department's review desk); None for clients that act for nobody.
    org_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("directory_organisations.id", ondelete="RESTRICT"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AuthorizationCode(IdpBase):
    """One authorization code (RFC 6749 4.1.2), redeemable once."""

    __tablename__ = "oauth_authorization_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    auth_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JSON)
    sid: Mapped[str | None] = mapped_column(String(64))
    # The OIDC ``claims`` request (OIDC Core 5.5), validated, carried to the tokens.
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # RFC 8707 resource indicators granted with the code (registered resource servers).
    resources: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class IssuedToken(IdpBase):
    """An access token and, when the grant allows, its refresh token.

    Refresh tokens rotate: each use issues a new row in the same ``family_id`` and marks
    the old one ``refresh_used_at``; presenting a used one revokes the whole family.
    """

    __tablename__ = "oauth_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # also the JWT jti
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str | None] = mapped_column(String(36), index=True)
    scope: Mapped[str] = mapped_column(Text)
    token_format: Mapped[str] = mapped_column(String(8))  # "jwt" | "opaque"
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    authorization_code_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # The login session (ID token ``sid``); back-channel logout finds its clients by it.
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    auth_time: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str] | None] = mapped_column(JSON)
    # The grant's OIDC ``claims`` request and RFC 8707 resources, kept for the family's
    # refreshes; ``audience`` is this access token's ``aud`` (None: the issuer).
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    resources: Mapped[list[str] | None] = mapped_column(JSON)
    audience: Mapped[list[str] | None] = mapped_column(JSON)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    access_expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                           index=True)
    refresh_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    access_revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RevokedAccessToken(IdpBase):
    """The deny list of stateless access tokens: RFC 9068 JWTs a client obtained with
    client_credentials are not stored when issued (they are self-contained), so revoking
    one (RFC 7009) records its ``jti`` here until its ``exp``; the purge deletes the row
    once the token could no longer verify anyway."""

    __tablename__ = "oauth_revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    # No foreign key: deleting a client already ends its stateless tokens.
    client_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Consent(IdpBase):
    """Scopes a person granted a third-party client; asked again only for new scopes."""

    __tablename__ = "oauth_consents"

    person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"),
        primary_key=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
