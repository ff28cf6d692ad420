"""Passkeys (W3C WebAuthn Level 2/3) for the identity provider, on py_webauthn.

``models`` holds the credential and per-organisation attestation tables,
``ceremonies`` the ``Passkeys`` service (registration and authentication ceremonies,
listing, renaming, removal, sign-counter checks), ``challenges`` where challenges wait
for their answer, and ``factor`` what a passkey assertion is worth (``amr`` values).
Errors carry a catalog key, as the directory's do.
"""

from __future__ import annotations


class PasskeyError(Exception):
    """A passkey operation was refused; ``key`` names a catalog message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class CeremonyExpired(PasskeyError):
    """The challenge is unknown, used already or expired (start the ceremony again)."""


class VerificationFailed(PasskeyError):
    """The authenticator's response does not verify (origin, RP ID, challenge, signature,
    user verification, attestation)."""


class UnknownCredential(PasskeyError):
    """No usable passkey has this credential id (never registered, removed, its owner
    inactive, or it belongs to someone else)."""


class CounterRegression(PasskeyError):
    """The signature counter went backwards: the credential may have been cloned. The
    assertion is refused and the credential is marked ``possibly_cloned``; ``detected``
    is true only the first time (later uses of a flagged credential are refused too)."""

    def __init__(self, key: str, *, person_id: str, detected: bool) -> None:
        super().__init__(key)
        self.person_id = person_id
        self.detected = detected
