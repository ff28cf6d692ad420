"""The refresh token grant (RFC 6749 6) with rotation: every use returns a new refresh
token and retires the old one; presenting a retired one revokes the whole family
(RFC 9700 4.14.2), since either the client or an attacker holds a stolen copy.
``resource`` (RFC 8707) may narrow the new access token within the grant's resources;
the OIDC extension adds a new ID token (``idp.oidc.id_token.OpenIDRefresh``)."""

from __future__ import annotations

from typing import ClassVar

from authlib.oauth2.rfc6749 import InvalidGrantError, grants

from idp.oauth2.clients import RegisteredClient
from idp.oauth2.rfc8707 import ResourceBoundGrant, token_resources
from idp.oauth2.tokens import REFRESH_TOKEN, Subject, TokenRecord


class RefreshTokenGrant(ResourceBoundGrant, grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def validate_token_request(self) -> None:
        super().validate_token_request()
        record: TokenRecord = self.request.refresh_token
        granted = list(record.row.resources or [])
        self.request.granted_resources = granted
        self.request.audience = self.server.resources.narrow(token_resources(self.request),
                                                             granted)
        self.request.claims_request = record.row.claims

    def authenticate_refresh_token(self, refresh_token: str) -> TokenRecord | None:
        record: TokenRecord | None = self.server.tokens.find(refresh_token, REFRESH_TOKEN)
        if record is None or record.kind != REFRESH_TOKEN:
            return None
        if record.row.refresh_used_at is not None:
            client: RegisteredClient | None = self.request.client
            if client is not None and record.check_client(client):
                self.server.tokens.revoke_families([record.row.family_id])
            return None
        if record.is_revoked() or record.is_expired():
            return None
        return record

    def authenticate_user(self, refresh_token: TokenRecord) -> Subject:
        subject = refresh_token.subject()
        if subject is None or not self.server.person_active(subject.person_id):
            raise InvalidGrantError("The person of this refresh token is no longer active.")
        # Claim the token now, atomically, so two concurrent uses cannot both succeed.
        if not self.server.tokens.claim_refresh_token(refresh_token):
            self.server.tokens.revoke_families([refresh_token.row.family_id])
            raise InvalidGrantError("The refresh token was already used.")
        return subject

    def revoke_old_credential(self, refresh_token: TokenRecord) -> None:
        # Already marked used in authenticate_user.
        return None
