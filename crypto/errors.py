"""The one exception hierarchy of the crypto package."""


class CryptoError(Exception):
    """Base of every error the crypto package raises."""


class InvalidSignature(CryptoError):
    """A signature did not verify (wrong key, signer ID, data or encoding)."""


class InvalidKey(CryptoError):
    """Key material is malformed, of the wrong type, or fails validation."""


class DecryptionError(CryptoError):
    """A ciphertext or sealed value could not be decrypted or failed its integrity check."""


class CertificateError(CryptoError):
    """A certificate, CSR or CRL is malformed, or a chain does not validate."""


class KeyNotFound(CryptoError):
    """A key provider has no key with the requested id or version."""


class InvalidToken(CryptoError):
    """A JOSE token (JWS / JWT) was rejected: malformed, disallowed algorithm or key,
    unknown ``kid``, unsupported ``crit``, bad signature, or a failed claim check.

    ``reason`` is a short stable code callers may map to protocol errors:
    ``malformed``, ``header``, ``algorithm``, ``key``, ``signature``, ``expired``,
    ``immature`` or ``claims``.
    """

    def __init__(self, message: str, *, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason
