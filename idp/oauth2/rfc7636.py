"""Proof Key for Code Exchange (RFC 7636), stricter than the RFC: only ``S256`` is
accepted (``plain`` gives no protection against a leaked authorization request, RFC
9700 2.1.1), the method must be stated, and PKCE is mandatory for public clients and for
clients registered with ``require_pkce``."""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge

S256 = "S256"


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """Authlib's PKCE extension, limited to S256 and enforced per client."""

    DEFAULT_CODE_CHALLENGE_METHOD = S256
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = [S256]

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        method = data.get("code_challenge_method")
        if not challenge:
            if method:
                raise InvalidRequestError("Missing 'code_challenge'.")
            if grant.request.client.require_pkce:
                raise InvalidRequestError("This client must use PKCE with S256.")
            return
        if method != S256:
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        code = grant.request.authorization_code
        if grant.request.client.require_pkce and not code.code_challenge:
            raise InvalidGrantError("This client must use PKCE with S256.")
        super().validate_code_verifier(grant, result)
