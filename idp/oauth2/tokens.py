"""Issuing, storing, finding and revoking tokens.

Access tokens are RFC 9068 JWTs (or opaque random strings for clients registered that
way); refresh tokens are always opaque. Only SM3 digests of token strings are stored.
Refresh tokens rotate within a *family*: presenting one that was already rotated is
taken as theft (RFC 9700 4.14.2) and revokes the whole family; redeeming an
authorization code twice revokes everything issued from it (RFC 6749 4.1.2).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import TokenMixin
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from crypto.errors import InvalidToken
from crypto.sm3 import sm3
from idp.oauth2.clients import FORMAT_JWT, FORMAT_OPAQUE, RegisteredClient
from idp.oauth2.config import ProviderConfig
from idp.oauth2.models import IssuedToken, utc
from idp.oauth2.rfc9068 import access_token_claims, looks_like_jwt, verify_access_token
from idp.oauth2.signing import SigningKeys

ACCESS_TOKEN, REFRESH_TOKEN = "access_token", "refresh_token"
SubjectOf = Callable[[RegisteredClient, str], str]


def digest(token: str) -> str:
    """The stored form of a code or token string."""
    return sm3(token.encode("utf-8", "surrogatepass")).hex()


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Subject:
    """The person a grant acts for, with how and when they logged in. Authlib passes
    this through as the grant's ``user``."""

    person_id: str
    auth_time: dt.datetime
    amr: tuple[str, ...] = ("pwd",)
    acr: str | None = None
    sid: str | None = None

    def get_user_id(self) -> str:
        return self.person_id


@dataclass
class TokenRecord(TokenMixin):  # type: ignore[misc]
    """One stored token row, as the grants and endpoints see it. ``kind`` says whether
    it was found by its access token or by its refresh token."""

    row: IssuedToken
    kind: str  # "access_token" | "refresh_token"

    def check_client(self, client: RegisteredClient) -> bool:
        return bool(client.client_id == self.row.client_id)

    def get_scope(self) -> str:
        return self.row.scope

    def expires_at(self) -> dt.datetime | None:
        if self.kind == REFRESH_TOKEN:
            return utc(self.row.refresh_expires_at)
        return utc(self.row.access_expires_at)

    def get_expires_in(self) -> int:
        expiry = self.expires_at()
        return max(0, int((expiry - now_utc()).total_seconds())) if expiry else 0

    def is_expired(self) -> bool:
        expiry = self.expires_at()
        return expiry is None or expiry <= now_utc()

    def is_revoked(self) -> bool:
        if self.kind == REFRESH_TOKEN:
            return self.row.refresh_revoked_at is not None or self.row.refresh_used_at is not None
        return self.row.access_revoked_at is not None

    def get_user(self) -> str | None:
        return self.row.person_id

    def subject(self) -> Subject | None:
        if self.row.person_id is None:
            return None
        return Subject(self.row.person_id, utc(self.row.auth_time) or utc(self.row.issued_at)
                       or now_utc(), tuple(self.row.amr or ()), self.row.acr, self.row.sid)


def _jwt_id(token: str) -> str | None:
    """The ``jti`` of an access token this process has just signed."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    jti = claims.get("jti") if isinstance(claims, dict) else None
    return jti if isinstance(jti, str) else None


class TokenService:
    """Generates tokens for Authlib's grants and keeps their stored state."""

    def __init__(self, sessions: sessionmaker[Any], config: ProviderConfig,
                 signing: SigningKeys, subject_of: SubjectOf) -> None:
        self._sessions = sessions
        self._config = config
        self._signing = signing
        self._subject_of = subject_of

    # -- issuing (Authlib's token generator and save_token) ------------------------------
    def generate(self, grant_type: str, client: RegisteredClient, user: Subject | None = None,
                 scope: str | None = None, expires_in: int | None = None,
                 include_refresh_token: bool = True) -> dict[str, Any]:
        issued = now_utc().replace(microsecond=0)
        ttl = (dt.timedelta(seconds=expires_in) if expires_in
               else self._config.access_token_ttl)
        scope = scope or ""
        token: dict[str, Any] = {"token_type": "Bearer", "expires_in": int(ttl.total_seconds()),
                                 "scope": scope}
        if client.access_token_format == FORMAT_OPAQUE:
            token["access_token"] = secrets.token_urlsafe(32)
        else:
            subject = (self._subject_of(client, user.person_id) if user is not None
                       else client.client_id)
            claims = access_token_claims(
                issuer=self._config.issuer, subject=subject, audience=self._config.issuer,
                client_id=client.client_id, scope=scope, jti=str(uuid.uuid4()),
                issued_at=issued, expires_at=issued + ttl,
                auth_time=user.auth_time if user else None, acr=user.acr if user else None,
                amr=user.amr if user else None)
            token["access_token"] = self._signing.sign(
                claims, alg=client.access_token_signed_response_alg, typ="at+jwt")
        if include_refresh_token and user is not None:
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token

    def save(self, token: dict[str, Any], client: RegisteredClient, user: Subject | None, *,
             authorization_code_id: str | None = None,
             previous: TokenRecord | None = None) -> str:
        """Store an issued token; a refresh grant passes the ``previous`` token so the new
        one joins its family (and keeps the family's expiry). Returns the row id."""
        issued = now_utc()
        access = token["access_token"]
        jwt_format = client.access_token_format != FORMAT_OPAQUE
        row_id = (_jwt_id(access) if jwt_format else None) or str(uuid.uuid4())
        refresh = token.get("refresh_token")
        if previous is not None:
            family_id = previous.row.family_id
            refresh_expiry = utc(previous.row.refresh_expires_at)
        else:
            family_id = row_id
            refresh_expiry = issued + self._config.refresh_token_ttl if refresh else None
        row = IssuedToken(
            id=row_id, client_id=client.client_id,
            person_id=user.person_id if user else None, scope=token.get("scope") or "",
            token_format=FORMAT_JWT if jwt_format else FORMAT_OPAQUE,
            access_token_hash=digest(access),
            refresh_token_hash=digest(refresh) if refresh else None, family_id=family_id,
            authorization_code_id=(authorization_code_id if previous is None
                                   else previous.row.authorization_code_id),
            sid=user.sid if user else None, auth_time=user.auth_time if user else None,
            acr=user.acr if user else None, amr=list(user.amr) if user else None,
            issued_at=issued,
            access_expires_at=issued + dt.timedelta(seconds=int(token["expires_in"])),
            refresh_expires_at=refresh_expiry if refresh else None)
        with self._sessions.begin() as session:
            session.add(row)
        return row_id

    # -- finding -------------------------------------------------------------------------
    def find(self, token: str, hint: str | None = None) -> TokenRecord | None:
        """A stored token by its string: access token first unless hinted otherwise."""
        if not token or len(token) > 8192:
            return None
        hashed = digest(token)
        kinds = ([REFRESH_TOKEN, ACCESS_TOKEN] if hint == REFRESH_TOKEN
                 else [ACCESS_TOKEN, REFRESH_TOKEN])
        with self._sessions() as session:
            for kind in kinds:
                column = (IssuedToken.refresh_token_hash if kind == REFRESH_TOKEN
                          else IssuedToken.access_token_hash)
                row = session.scalar(select(IssuedToken).where(column == hashed))
                if row is not None:
                    return TokenRecord(row, kind)
        return None

    def active_access_token(self, token: str) -> tuple[TokenRecord, dict[str, Any] | None] | None:
        """The stored record of a usable access token (and its verified JWT claims), or
        ``None``: unknown, expired, revoked, or a JWT that does not verify strictly."""
        claims: dict[str, Any] | None = None
        if looks_like_jwt(token):
            try:
                claims = verify_access_token(token, self._signing.jwks(),
                                             issuer=self._config.issuer,
                                             audience=self._config.issuer)
            except InvalidToken:
                return None
        record = self.find(token, ACCESS_TOKEN)
        if record is None or record.kind != ACCESS_TOKEN:
            return None
        if (record.row.token_format == FORMAT_JWT) != (claims is not None):
            return None
        if record.is_expired() or record.is_revoked():
            return None
        if claims is not None and claims.get("jti") != record.row.id:
            return None
        return record, claims

    # -- state changes -------------------------------------------------------------------
    def claim_refresh_token(self, record: TokenRecord) -> bool:
        """Mark a refresh token used, atomically; ``False`` if it already was."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(IssuedToken)
                .where(IssuedToken.id == record.row.id, IssuedToken.refresh_used_at.is_(None),
                       IssuedToken.refresh_revoked_at.is_(None))
                .values(refresh_used_at=now_utc()))
            return bool(getattr(result, "rowcount", 0) == 1)

    def revoke_families(self, family_ids: Sequence[str]) -> None:
        if not family_ids:
            return
        when = now_utc()
        with self._sessions.begin() as session:
            session.execute(update(IssuedToken)
                            .where(IssuedToken.family_id.in_(list(family_ids)),
                                   IssuedToken.access_revoked_at.is_(None))
                            .values(access_revoked_at=when))
            session.execute(update(IssuedToken)
                            .where(IssuedToken.family_id.in_(list(family_ids)),
                                   IssuedToken.refresh_revoked_at.is_(None))
                            .values(refresh_revoked_at=when))

    def revoke_issued_from_code(self, code_id: str) -> None:
        """Revoke every token issued from an authorization code, with their rotations."""
        with self._sessions() as session:
            families = list(session.scalars(
                select(IssuedToken.family_id)
                .where(IssuedToken.authorization_code_id == code_id).distinct()))
        self.revoke_families(families)

    def revoke(self, record: TokenRecord) -> None:
        """RFC 7009: revoking a refresh token ends its family; revoking an access token
        ends that access token only."""
        if record.kind == REFRESH_TOKEN:
            self.revoke_families([record.row.family_id])
            return
        with self._sessions.begin() as session:
            session.execute(update(IssuedToken)
                            .where(IssuedToken.id == record.row.id,
                                   IssuedToken.access_revoked_at.is_(None))
                            .values(access_revoked_at=now_utc()))
