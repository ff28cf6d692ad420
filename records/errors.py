"""The one exception hierarchy of the records package.

Callers (the web layer, the CLI) catch ``RecordsError`` and map its subclasses to
problem responses or exit codes in one place. Verification never raises for a record
that is merely wrong: it answers ``invalid`` or ``indeterminate`` with reasons.
"""

from __future__ import annotations


class RecordsError(Exception):
    """Base of every error the records package raises."""


class CanonicalFormError(RecordsError):
    """A value cannot be put in RFC 8785 canonical form (NaN, a huge integer, ...)."""


class SchemaViolation(RecordsError):
    """Record content does not satisfy its JSON Schema; ``errors`` lists each problem as
    ``(json pointer, message)``."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class UnknownSchema(RecordsError):
    """No schema is known for a record type and version."""


class MalformedRecord(RecordsError):
    """A record envelope is structurally wrong (missing members, wrong types)."""


class IllegalTransition(RecordsError):
    """A lifecycle transition the state machine does not allow from the current state."""

    def __init__(self, current: str, target: str, allowed: tuple[str, ...]) -> None:
        choices = ", ".join(allowed) if allowed else "none (final state)"
        super().__init__(f"a record in state {current!r} cannot become {target!r}; "
                         f"allowed next states: {choices}")
        self.current = current
        self.target = target
        self.allowed = allowed


class NotAuthorised(RecordsError):
    """An organisation tried an action its role or certificate does not allow (a school
    registering for another school's student, a reviewer without review rights, ...)."""


class UnknownIssuer(RecordsError):
    """No registered organisation (or certificate) has this code or key id."""


class RecordNotFound(RecordsError):
    """No record with this id (and version)."""


class AnchoringFailed(RecordsError):
    """The ledger refused or could not commit an anchoring transaction."""


class StatusListError(RecordsError):
    """A status list is full, unknown, or a status snapshot is malformed."""


class MalformedBundle(RecordsError):
    """An offline bundle or trust-anchor document does not parse."""


class CredentialError(RecordsError):
    """A Verifiable Credential cannot be exported, or its proof does not verify."""


class BulkRejected(RecordsError):
    """A bulk registration refused as a whole: ``problems`` lists ``(index, error)`` for
    every item that could not be registered; nothing was written."""

    def __init__(self, problems: list[tuple[int, RecordsError]]) -> None:
        super().__init__(f"{len(problems)} of the records cannot be registered; "
                         f"the first (item {problems[0][0]}): {problems[0][1]}")
        self.problems = problems
