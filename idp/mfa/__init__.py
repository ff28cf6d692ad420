"""Multi-factor authentication: what second factors a person has (``factors``), what
their organisation requires of them (``policy``), the factors themselves (``totp``,
``recovery``; passkeys live in ``idp.webauthn``), what a login is worth (``acr``), the
brute-force throttle (``throttle``) and the security notices a person sees after login
(``notices``). The login pages that drive all this are in ``idp.web.mfa``;
docs/mfa.md describes the flow and how a factor plugs in.

Errors carry a catalog key (``key``), as the directory's do.
"""

from __future__ import annotations


class MfaError(Exception):
    """An MFA operation was refused; ``key`` names a catalog message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values
