"""TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps; what every authenticator app
speaks) with secrets sealed at rest and replay refused.

A code is accepted for the previous, current or next step (±30 s of clock skew). The
step it matched is recorded with one conditional UPDATE (``last_used_step < step``), so
the same code, or an older one, is refused afterwards even when two requests race.
Enrollment keeps the new secret *pending* until the person types a code it generates;
only then does it replace the confirmed one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import io
import time
from collections.abc import Callable

import pyotp
import segno
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from crypto.errors import DecryptionError
from crypto.fields import FieldCipher
from idp.mfa.models import TotpSecret

STEP = 30
DIGITS = 6
WINDOW = 1  # steps accepted either side of now
ISSUER = "EduTrust"
PENDING_TTL = dt.timedelta(minutes=15)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aad(person_id: str, column: str) -> bytes:
    return f"mfa_totp:{person_id}:{column}".encode()


def normalise_code(code: str) -> str:
    """Digits only: people type spaces or dashes (``123 456``), and full-width digits
    from a Chinese input method."""
    return "".join(str(int(ch)) for ch in code if ch.isdecimal())[:DIGITS + 2]


def matching_step(secret: str, code: str, at: float) -> int | None:
    """The step within ±``WINDOW`` of ``at`` whose code is ``code``, else ``None``."""
    code = normalise_code(code)
    if len(code) != DIGITS:
        return None
    generator = pyotp.TOTP(secret, digits=DIGITS, interval=STEP)
    now_step = int(at) // STEP
    found = None
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        # Compare every candidate (no early exit) in constant time.
        if hmac.compare_digest(generator.at(step * STEP), code) and found is None:
            found = step
    return found


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).provisioning_uri(
        name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The ``otpauth://`` URI as an inline SVG QR code (no script, no external image)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False,
                                    svgns=True, title="TOTP", nl=False)
    return out.getvalue().decode()


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


class TotpAuthenticators:
    def __init__(self, sessions: sessionmaker[Session], fields: FieldCipher, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._fields = fields
        self._clock = clock

    def enrolled(self, person_id: str) -> bool:
        with self._sessions() as session:
            row = session.get(TotpSecret, person_id)
            return row is not None and row.secret_sealed is not None

    def begin_enrollment(self, person_id: str) -> str:
        """A new pending secret (base32) for ``person_id``; the confirmed one, if any,
        keeps working until ``confirm`` succeeds."""
        secret = pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends
        sealed = self._fields.seal(secret, _aad(person_id, "pending"))
        with self._sessions.begin() as session:
            row = session.get(TotpSecret, person_id)
            if row is None:
                row = TotpSecret(person_id=person_id)
                session.add(row)
            row.pending_sealed, row.pending_since = sealed, _now()
        return secret

    def pending_secret(self, person_id: str) -> str | None:
        with self._sessions() as session:
            row = session.get(TotpSecret, person_id)
            if row is None or row.pending_sealed is None or row.pending_since is None:
                return None
            since = row.pending_since if row.pending_since.tzinfo else \
                row.pending_since.replace(tzinfo=dt.UTC)
            if since + PENDING_TTL <= _now():
                return None
            sealed = row.pending_sealed
        return self._open(sealed, person_id, "pending")

    def confirm(self, person_id: str, code: str) -> bool:
        """Make the pending secret the person's authenticator if ``code`` is right."""
        secret = self.pending_secret(person_id)
        if secret is None:
            return False
        step = matching_step(secret, code, self._clock())
        if step is None:
            return False
        with self._sessions.begin() as session:
            row = session.get(TotpSecret, person_id)
            if row is None or row.pending_sealed is None:
                return False
            row.secret_sealed = self._fields.seal(secret, _aad(person_id, "secret"))
            row.confirmed_at = _now()
            row.pending_sealed = row.pending_since = None
            row.last_used_step = step  # the confirmation code cannot log in afterwards
        return True

    def verify(self, person_id: str, code: str) -> bool:
        """Whether ``code`` is a fresh code of the person's confirmed authenticator; a
        code accepted once is never accepted again."""
        with self._sessions() as session:
            row = session.get(TotpSecret, person_id)
            sealed = row.secret_sealed if row is not None else None
        if sealed is None:
            return False
        secret = self._open(sealed, person_id, "secret")
        if secret is None:
            return False
        step = matching_step(secret, code, self._clock())
        if step is None:
            return False
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(TotpSecret)
                .where(TotpSecret.person_id == person_id,
                       TotpSecret.secret_sealed == sealed,
                       or_(TotpSecret.last_used_step.is_(None),
                           TotpSecret.last_used_step < step))
                .values(last_used_step=step))
            return bool(getattr(claimed, "rowcount", 0) == 1)

    def remove(self, person_id: str) -> bool:
        with self._sessions.begin() as session:
            row = session.get(TotpSecret, person_id)
            if row is None:
                return False
            had = row.secret_sealed is not None
            session.delete(row)
            return had

    def confirmed_at(self, person_id: str) -> dt.datetime | None:
        with self._sessions() as session:
            return session.scalar(select(TotpSecret.confirmed_at)
                                  .where(TotpSecret.person_id == person_id))

    def _open(self, sealed: str, person_id: str, column: str) -> str | None:
        try:
            secret = self._fields.open(sealed, _aad(person_id, column))
        except DecryptionError:
            return None
        try:
            base64.b32decode(secret + "=" * (-len(secret) % 8))
        except ValueError:
            return None
        return secret
