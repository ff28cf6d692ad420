"""The audit trail of authentication events: an append-only log whose entries are
chained with SM3 (``hash = SM3(prev_hash || canonical(entry))``) and periodically sealed
by SM2-signed checkpoints, so an edited, deleted, reordered or forged entry is found by
``AuditLog.verify`` (``edutrust audit verify``).

``chain`` holds the pure hashing and checkpoint formats (what an outside verifier needs),
``models`` the tables, ``events`` the event names, and ``log`` the ``AuditLog`` that the
web layer and the command line call.
"""

from __future__ import annotations


class AuditError(Exception):
    """An entry cannot be recorded as given (bad event name, forbidden detail, ...)."""


from idp.audit.log import AuditLog, Divergence, VerifyReport  # noqa: E402

__all__ = ["AuditError", "AuditLog", "Divergence", "VerifyReport"]
