"""The directory (一数一源): organisations as a tree, people, their roles in organisations
and guardians of minors, with official codes checked and personal identifiers sealed.

``models`` holds the tables, ``codes`` the official code formats, ``service`` the
``Directory`` that everything else calls, and ``importer`` the bulk CSV import. Errors
raised by the directory carry a catalog key (``key``) and values for the message.
"""

from __future__ import annotations


class DirectoryError(Exception):
    """A directory operation was refused; ``key`` names a catalog message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class InvalidCode(DirectoryError, ValueError):
    """An official code or identifier is malformed or fails its check character."""


class DirectoryConflict(DirectoryError):
    """The change would break a uniqueness or consistency rule of the directory."""


class NotFound(DirectoryError):
    """The organisation or person named does not exist."""


class WeakPassword(DirectoryError):
    """A new password breaks the policy; ``problems`` lists the rule keys."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("password.weak", problems=", ".join(problems))
        self.problems = problems


class ImportFileError(DirectoryError):
    """A CSV file cannot be read at all (not UTF-8, no header, unknown columns)."""
