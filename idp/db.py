"""The identity provider's SQLAlchemy base: every idp table hangs off ``IdpBase``;
the migrations (in the composition root) target its metadata."""

from sqlalchemy.orm import DeclarativeBase


class IdpBase(DeclarativeBase):
    """Tables of the identity provider (directory, clients, tokens, sessions, consent)."""
