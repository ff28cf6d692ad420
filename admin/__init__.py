"""The operator side of the platform: role-based access for operators (``rbac``) and the
operator HTTP API (``web``) for clients (``clients``) and directory bulk import. It may
use every other package; nothing but the composition root imports it.

Errors raised here belong to ``AdminError``: each carries an HTTP status and a problem
slug (RFC 9457, ``urn:edutrust:problem:<slug>``) with values for its message.
"""

from __future__ import annotations


class AdminError(Exception):
    """An operator request was refused: ``status``, problem ``slug``, message values.
    ``catalog_reason`` names a catalog message (key, values) that becomes the problem's
    ``reason`` value in the request's language (e.g. the CLI's message for a bad
    registration)."""

    def __init__(self, status: int, slug: str, **values: object) -> None:
        super().__init__(slug)
        self.status = status
        self.slug = slug
        self.values = values
        self.catalog_reason: tuple[str, dict[str, object]] | None = None


class AccessDenied(AdminError):
    """No usable operator credentials (401) or not enough of them (403); ``challenge``
    is the RFC 6750 ``WWW-Authenticate`` value, if one applies."""

    def __init__(self, status: int, slug: str, challenge: str | None = None,
                 **values: object) -> None:
        super().__init__(status, slug, **values)
        self.challenge = challenge
