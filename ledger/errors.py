"""The one exception hierarchy of the ledger package.

Every error the ledger raises derives from ``LedgerError``, so callers (the web layer, the
CLI) can turn any of them into a problem response or exit code 1/2 in one place.
"""


class LedgerError(Exception):
    """Base of every error the ledger package raises."""


class TreeRangeError(LedgerError):
    """A leaf index or tree size outside the tree: index >= size, from > to, size 0 where a
    leaf is needed, a negative number. The request is wrong, not the log."""


class MissingNode(LedgerError):
    """A node store was asked for a subtree hash it does not hold (beyond its size)."""


class InvalidProof(LedgerError):
    """An inclusion or consistency proof does not verify, or is malformed."""


class MalformedNote(LedgerError):
    """A signed note, checkpoint body, verifier key or proof document does not parse."""


class InvalidNoteSignature(LedgerError):
    """A signature by a known key fails, or no signature by the required key verifies."""


class CosignaturePolicyNotMet(LedgerError):
    """Fewer witnesses than the policy requires cosigned a checkpoint."""


class UnknownLog(LedgerError):
    """A witness was asked to cosign a checkpoint of a log it does not follow."""


class InconsistentCheckpoint(LedgerError):
    """A checkpoint cannot extend the last one a witness cosigned for the same log."""


class ForkDetected(InconsistentCheckpoint):
    """The log shows a different tree than before: same size with another root, or a larger
    tree with no valid consistency proof from the previous one (a split view)."""


class RollbackDetected(InconsistentCheckpoint):
    """The log presents a smaller tree than one already cosigned."""


class PolicyError(LedgerError):
    """An endorsement policy or principal is invalid (a role that does not exist, an
    ``OutOf`` count outside 1..len, an empty gate), or a policy cannot be evaluated."""


class PolicySyntaxError(PolicyError):
    """Policy text does not parse; ``position`` is the 0-based index of the offending
    character in the text and ``detail`` the message without the position."""

    def __init__(self, detail: str, position: int) -> None:
        super().__init__(f"{detail} (at position {position})")
        self.detail = detail
        self.position = position


class InvalidMSPDefinition(LedgerError):
    """An organisation's MSP definition is malformed or inconsistent: bad MSP id, no root
    certificate, a CA certificate that is not a CA, a CRL no listed CA signed, bad JSON."""


class IdentityError(LedgerError):
    """An identity was rejected by its MSP, or cannot be issued or used.

    ``reason`` is a short stable code: the ``crypto.x509.ValidationFailure`` value when the
    certificate chain failed (``expired``, ``not_yet_valid``, ``untrusted``, ``signature``,
    ...), ``revoked``, or one of ``malformed``, ``unknown_msp``, ``ca_certificate``,
    ``key_usage``, ``no_role``, ``ambiguous_role``, ``key_mismatch``, ``issuance``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
