"""What a passkey assertion is worth as an authentication factor (RFC 8176 ``amr``).

A passkey is phishing-resistant: the browser binds every assertion to our origin and the
authenticator signs our RP ID hash, so a look-alike site cannot relay it. Its ``amr``
method value says where the private key lives, read from the backup-eligible (BE) flag
the authenticator sets at creation and can never change:

- BE unset: a device-bound key (security key, TPM, secure enclave) -> ``hwk``
  (proof of possession of a hardware-secured key);
- BE set: a synced passkey (copied through a platform's cloud keychain) -> ``swk``
  (proof of possession of a software-secured key), since the key leaves the device.

User verification (PIN or biometric on the authenticator, required by us in every
ceremony) adds ``user``. Possession plus verification are two kinds of factor, so
``idp.mfa.acr.combine_amr`` adds ``mfa``, and a passkey alone reaches the
phishing-resistant level; after a password the login is ``pwd`` + these + ``mfa``.
"""

from __future__ import annotations

from idp.webauthn.ceremonies import PasskeyAssertion

HWK, SWK, USER = "hwk", "swk", "user"


def passkey_methods(assertion: PasskeyAssertion) -> list[str]:
    """The ``amr`` values one verified passkey assertion adds to a login."""
    methods = [SWK if assertion.backup_eligible else HWK]
    if assertion.user_verified:
        methods.append(USER)
    return methods
