"""The authorization code grant (RFC 6749 4.1) and its code store.

A code is stored as its SM3 digest with everything the token endpoint must check or
echo (client, redirect URI, scope, PKCE challenge, nonce, login facts, the OIDC
``claims`` request and RFC 8707 resources). Redemption marks
it used atomically; a second redemption fails and revokes every token the first one
produced (RFC 6749 4.1.2, RFC 9700 4.5).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import grants
from authlib.oidc.core import AuthorizationCodeMixin
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from idp.oauth2.clients import RegisteredClient
from idp.oauth2.config import ProviderConfig
from idp.oauth2.models import AuthorizationCode, utc
from idp.oauth2.rfc8707 import ResourceBoundGrant, split, token_resources
from idp.oauth2.tokens import Subject, TokenService, digest, now_utc
from idp.oidc.claims_parameter import ClaimsRequest, parse_claims_request


@dataclass
class CodeRecord(AuthorizationCodeMixin):  # type: ignore[misc]
    """A redeemed authorization code, as the token endpoint and the OIDC extension see it."""

    id: str
    client_id: str
    person_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: dt.datetime
    acr: str | None
    amr: list[str]
    sid: str | None
    claims: dict[str, Any] | None = None
    resources: list[str] | None = None

    def claims_request(self) -> ClaimsRequest:
        return ClaimsRequest.from_stored(self.claims)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str]:
        return list(self.amr)

    def subject(self) -> Subject:
        return Subject(self.person_id, self.auth_time, tuple(self.amr), self.acr, self.sid)


class CodeStore:
    """Authorization codes in the ``oauth_authorization_codes`` table."""

    def __init__(self, sessions: sessionmaker[Any], config: ProviderConfig,
                 tokens: TokenService) -> None:
        self._sessions = sessions
        self._config = config
        self._tokens = tokens

    def save(self, code: str, request: Any) -> None:
        subject: Subject = request.user
        client: RegisteredClient = request.client
        data = request.payload.data
        created = now_utc()
        # Both were validated by the authorization endpoint before the code was issued.
        claims = parse_claims_request(data.get("claims")).to_stored()
        resources = split(data.get("resource"))
        row = AuthorizationCode(
            id=str(uuid.uuid4()), code_hash=digest(code), client_id=client.client_id,
            person_id=subject.person_id, redirect_uri=request.payload.redirect_uri,
            scope=request.scope or "", nonce=data.get("nonce") or None,
            code_challenge=data.get("code_challenge") or None,
            code_challenge_method=data.get("code_challenge_method") or None,
            auth_time=subject.auth_time, acr=subject.acr, amr=list(subject.amr),
            sid=subject.sid, claims=claims, resources=resources or None, created_at=created,
            expires_at=created + self._config.authorization_code_ttl, used_at=None)
        with self._sessions.begin() as session:
            session.add(row)

    def redeem(self, code: str, client: RegisteredClient) -> CodeRecord | None:
        """The code's record if ``client`` may redeem it now, else ``None``. A code of
        another client is left alone; a code redeemed before revokes what it issued."""
        if not code or len(code) > 512:
            return None
        with self._sessions() as session:
            row = session.scalar(select(AuthorizationCode)
                                 .where(AuthorizationCode.code_hash == digest(code)))
        if row is None or row.client_id != client.client_id:
            return None
        if row.used_at is not None:
            self._tokens.revoke_issued_from_code(row.id)
            return None
        expires = utc(row.expires_at)
        if expires is None or expires <= now_utc():
            return None
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(AuthorizationCode)
                .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
                .values(used_at=now_utc()))
        if getattr(claimed, "rowcount", 0) != 1:  # redeemed concurrently
            self._tokens.revoke_issued_from_code(row.id)
            return None
        auth_time = utc(row.auth_time)
        assert auth_time is not None
        return CodeRecord(id=row.id, client_id=row.client_id, person_id=row.person_id,
                          redirect_uri=row.redirect_uri, scope=row.scope, nonce=row.nonce,
                          code_challenge=row.code_challenge,
                          code_challenge_method=row.code_challenge_method,
                          auth_time=auth_time, acr=row.acr, amr=list(row.amr or []),
                          sid=row.sid, claims=row.claims, resources=list(row.resources or []))


class AuthorizationCodeGrant(ResourceBoundGrant,
                             grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """Authlib's grant on our code store. ``server`` is ``EduTrustAuthorizationServer``."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    AUTHORIZATION_CODE_LENGTH = 43

    def save_authorization_code(self, code: str, request: Any) -> None:
        self.server.codes.save(code, request)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # RFC 8707 2.2: the token may be narrowed to resources within the grant.
        code: CodeRecord = self.request.authorization_code
        granted = code.resources or []
        self.request.granted_resources = granted
        self.request.audience = self.server.resources.narrow(token_resources(self.request),
                                                             granted)
        self.request.claims_request = code.claims

    def query_authorization_code(self, code: str, client: RegisteredClient) -> CodeRecord | None:
        record: CodeRecord | None = self.server.codes.redeem(code, client)
        return record

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        # Kept, marked used, so that a replay is recognised and answered by revocation.
        return None

    def authenticate_user(self, authorization_code: CodeRecord) -> Subject | None:
        person_active: Callable[[str], bool] = self.server.person_active
        if not person_active(authorization_code.person_id):
            return None
        return authorization_code.subject()
