"""Tables of the OpenID Connect layer: back-channel logout deliveries (OIDC Back-Channel
Logout 1.0 2.5), one row per client to notify when a login session ends, with every
attempt's outcome so an operator can see what each relying party was told."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import IdpBase

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class BackchannelLogoutDelivery(IdpBase):
    """One logout token to POST to one client's ``backchannel_logout_uri``."""

    __tablename__ = "oidc_backchannel_logout_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    sid: Mapped[str] = mapped_column(String(64), index=True)
    # The ``sub`` this client knows the person by (pairwise); no directory id is kept.
    subject: Mapped[str] = mapped_column(String(255))
    uri: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # HTTP status of the last attempt, or None when it got no answer (see last_error).
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
