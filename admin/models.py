"""Tables of the operator side: which clients act as operators with their own
(client_credentials) tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import IdpBase


class OperatorClient(IdpBase):
    """A client registered as an operator client: its client_credentials tokens act for
    the platform's operators (a deployment pipeline, an integration of the ministry)."""

    __tablename__ = "admin_operator_clients"

    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"),
        primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
