"""The OAuth 2.0 authorization server: clients, grants, tokens and the endpoints around
them, one module per specification (``rfc7636`` PKCE, ``rfc7662`` introspection,
``rfc7009`` revocation, ``rfc8414`` metadata, ``rfc9068`` JWT access tokens, ``rfc9207``
the ``iss`` response parameter) on top of Authlib's RFC 6749 core.

Errors raised here belong to ``ProviderError``; protocol errors towards clients are
Authlib's ``OAuth2Error`` subclasses, rendered as RFC 6749 JSON.
"""

from __future__ import annotations


class ProviderError(Exception):
    """The provider cannot do what an operator asked (bad client registration, ...);
    ``key`` names a catalog message, ``values`` fill it."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values
