"""Issuing, storing, finding and revoking tokens.

Access tokens are RFC 9068 JWTs (or opaque random strings for clients registered that
way); refresh tokens are always opaque. Only SM3 digests of token strings are stored.
Refresh tokens rotate within a *family*: presenting one that was already rotated is
taken as theft (RFC 9700 4.14.2) and revokes the whole family; redeeming an
authorization code twice revokes everything issued from it (RFC 6749 4.1.2).

A JWT access token a client obtains for itself (client_credentials) is *stateless*: it
is not stored at all, since everything a resource server needs is in its signed claims.
It is accepted while its signature, issuer, audience and expiry verify, its ``jti`` is
not on the deny list (``RevokedAccessToken``, written by RFC 7009 revocation and kept
until the token's ``exp``), and its client still exists (registered no later than the
token's ``iat``), may still use client_credentials, and is still registered for the
token's scopes (only those count). Tokens of a person always keep their row: logout,
refresh-token reuse, code replay, consent withdrawal and password resets revoke them
there.
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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from crypto.errors import InvalidToken
from crypto.sm3 import sm3
from idp.oauth2.clients import FORMAT_JWT, FORMAT_OPAQUE, RegisteredClient
from idp.oauth2.config import ProviderConfig
from idp.oauth2.models import IssuedToken, RevokedAccessToken, utc
from idp.oauth2.rfc8707 import audience_claim
from idp.oauth2.rfc9068 import access_token_claims, looks_like_jwt, verify_access_token
from idp.oauth2.signing import SigningKeys

ACCESS_TOKEN, REFRESH_TOKEN = "access_token", "refresh_token"
CLIENT_CREDENTIALS = "client_credentials"
SubjectOf = Callable[[RegisteredClient, str], str]
FindClient = Callable[[str], RegisteredClient | None]


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
    # A stateless client_credentials JWT: ``row`` is built from its verified claims and
    # was never stored; revoking it puts its ``jti`` on the deny list.
    stateless: bool = False

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


def _segment(token: str, index: int) -> dict[str, Any] | None:
    """One JSON segment of a compact JWS, *unverified* (header 0, claims 1)."""
    try:
        part = token.split(".")[index]
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    return value if isinstance(value, dict) else None


def _jwt_id(token: str) -> str | None:
    """The ``jti`` of an access token this process has just signed."""
    claims = _segment(token, 1)
    jti = claims.get("jti") if claims is not None else None
    return jti if isinstance(jti, str) else None


def _timestamp(value: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(value), dt.UTC)


def is_stateless(client: RegisteredClient, user: Subject | None,
                 token: dict[str, Any]) -> bool:
    """Whether an issued token is kept out of the database: a JWT access token of the
    client itself (client_credentials), without a refresh token."""
    return (client.access_token_format != FORMAT_OPAQUE and user is None
            and not token.get("refresh_token"))


class TokenService:
    """Generates tokens for Authlib's grants and keeps their stored state."""

    def __init__(self, sessions: sessionmaker[Any], config: ProviderConfig,
                 signing: SigningKeys, subject_of: SubjectOf,
                 find_client: FindClient | None = None) -> None:
        self._sessions = sessions
        self._config = config
        self._signing = signing
        self._subject_of = subject_of
        # Stateless tokens are accepted only while their client is: without a way to
        # look clients up, none is.
        self._find_client = find_client

    # -- issuing (Authlib's token generator and save_token) ------------------------------
    def generate(self, grant_type: str, client: RegisteredClient, user: Subject | None = None,
                 scope: str | None = None, expires_in: int | None = None,
                 include_refresh_token: bool = True,
                 audience: Sequence[str] | None = None) -> dict[str, Any]:
        """A token response for Authlib; ``audience``: RFC 8707 resources the access
        token is for (none: the issuer)."""
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
                issuer=self._config.issuer, subject=subject,
                audience=audience_claim(audience or [], self._config.issuer),
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
             previous: TokenRecord | None = None, resources: Sequence[str] | None = None,
             audience: Sequence[str] | None = None,
             claims: dict[str, Any] | None = None) -> str:
        """Store an issued token; a refresh grant passes the ``previous`` token so the new
        one joins its family (and keeps the family's expiry, granted resources and claims
        request). ``audience`` is the access token's ``aud`` list (none: the issuer).
        Returns the row id (the ``jti``, and nothing stored, for a stateless token)."""
        access = token["access_token"]
        if previous is None and is_stateless(client, user, token):
            return _jwt_id(access) or ""
        issued = now_utc()
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
            claims=previous.row.claims if previous is not None else claims,
            resources=(previous.row.resources if previous is not None
                       else list(resources or []) or None),
            audience=list(audience or []) or None,
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

    def active_access_token(self, token: str, audiences: Sequence[str] | None = None, *,
                            any_audience: bool = False
                            ) -> tuple[TokenRecord, dict[str, Any] | None] | None:
        """The record of a usable access token (and its verified JWT claims), or
        ``None``: unknown, expired, revoked, or a JWT that does not verify strictly. A
        stateless token (not stored) gets a record built from its claims, with only the
        scopes its client is still registered for (see the module docstring).
        The token's audience (its RFC 8707 resources, else the issuer) must name the
        issuer, or one of ``audiences`` when given (a resource server such as the records
        API accepts its own identifier too); ``any_audience`` accepts every audience
        (introspection)."""
        if not token or len(token) > 8192:
            return None
        record = self.find(token, ACCESS_TOKEN)
        if record is None and looks_like_jwt(token):
            return self._active_stateless(token, None if any_audience else
                                          list(audiences) if audiences
                                          else [self._config.issuer])
        if record is None or record.kind != ACCESS_TOKEN:
            return None
        token_audience = list(record.row.audience or []) or [self._config.issuer]
        accepted = (token_audience if any_audience
                    else list(audiences) if audiences else [self._config.issuer])
        if not set(accepted) & set(token_audience):
            return None
        claims: dict[str, Any] | None = None
        if looks_like_jwt(token):
            try:
                claims = self._verified(token, accepted)
            except InvalidToken:
                return None
        if (record.row.token_format == FORMAT_JWT) != (claims is not None):
            return None
        if record.is_expired() or record.is_revoked():
            return None
        if claims is not None and claims.get("jti") != record.row.id:
            return None
        return record, claims

    # -- stateless tokens ------------------------------------------------------------------
    def _verified(self, token: str, audience: list[str] | None) -> dict[str, Any]:
        """The claims of an access token that verifies strictly (``audience`` None: the
        token's own audience, whatever it is), or ``InvalidToken``."""
        header = _segment(token, 0)
        kid = header.get("kid") if header is not None else None
        if audience is None:
            claims = _segment(token, 1)
            aud = claims.get("aud") if claims is not None else None
            audience = ([aud] if isinstance(aud, str) else
                        [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else [])
            if not audience:
                raise InvalidToken("the access token names no audience")
        return verify_access_token(
            token, self._signing.verification_keys(kid if isinstance(kid, str) else None),
            issuer=self._config.issuer, audience=audience)

    def _stateless_record(self, token: str, audience: list[str] | None
                          ) -> tuple[TokenRecord, dict[str, Any], RegisteredClient] | None:
        """A verified stateless token (deny list not consulted) with its client, or
        ``None``: it does not verify, is a person's token (those are always stored), or
        its client is gone or no longer the one that obtained it."""
        try:
            claims = self._verified(token, audience)
        except InvalidToken:
            return None
        client_id = claims.get("client_id")
        jti = claims.get("jti")
        if (not isinstance(client_id, str) or claims.get("sub") != client_id
                or not isinstance(jti, str) or len(jti) > 64
                or "auth_time" in claims or self._find_client is None):
            return None
        try:
            issued, expires = _timestamp(claims["iat"]), _timestamp(claims["exp"])
        except (TypeError, ValueError, OverflowError, OSError):
            return None
        client = self._find_client(client_id)
        if (client is None or CLIENT_CREDENTIALS not in client.grant_types
                or client.created_at > issued):
            return None
        # Only scopes the client is still registered for count.
        scope = client.get_allowed_scope(claims.get("scope") or "")
        aud = claims["aud"]
        aud_list = [aud] if isinstance(aud, str) else list(aud)
        row = IssuedToken(
            id=jti, client_id=client_id, person_id=None, scope=scope,
            token_format=FORMAT_JWT, access_token_hash=digest(token),
            refresh_token_hash=None, family_id=jti, authorization_code_id=None,
            audience=None if aud_list == [self._config.issuer] else aud_list,
            issued_at=issued, access_expires_at=expires)
        return TokenRecord(row, ACCESS_TOKEN, stateless=True), claims, client

    def _active_stateless(self, token: str, audience: list[str] | None
                          ) -> tuple[TokenRecord, dict[str, Any]] | None:
        found = self._stateless_record(token, audience)
        if found is None:
            return None
        record, claims, _client = found
        if record.is_expired() or self._denied(record.row.id):
            return None
        return record, claims

    def _denied(self, jti: str) -> bool:
        with self._sessions() as session:
            return session.get(RevokedAccessToken, jti) is not None

    def find_revocable(self, token: str, hint: str | None = None) -> TokenRecord | None:
        """What RFC 7009 revocation acts on: a stored token, else a stateless access
        token that verifies and has not expired (whatever its audience)."""
        record = self.find(token, hint)
        if record is not None or not token or len(token) > 8192 or not looks_like_jwt(token):
            return record
        found = self._stateless_record(token, None)
        if found is None or found[0].is_expired():
            return None
        return found[0]

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
        ends that access token only; a stateless one goes on the deny list until its
        ``exp``."""
        if record.stateless:
            self._deny(record)
            return
        if record.kind == REFRESH_TOKEN:
            self.revoke_families([record.row.family_id])
            return
        with self._sessions.begin() as session:
            session.execute(update(IssuedToken)
                            .where(IssuedToken.id == record.row.id,
                                   IssuedToken.access_revoked_at.is_(None))
                            .values(access_revoked_at=now_utc()))

    def _deny(self, record: TokenRecord) -> None:
        row = record.row
        try:
            with self._sessions.begin() as session:
                if session.get(RevokedAccessToken, row.id) is None:
                    session.add(RevokedAccessToken(
                        jti=row.id, client_id=row.client_id,
                        expires_at=row.access_expires_at, revoked_at=now_utc()))
        except IntegrityError:
            pass  # revoked concurrently: it is on the list either way
