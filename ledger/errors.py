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
