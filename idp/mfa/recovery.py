"""Recovery codes: ten one-time codes for when the person's authenticator is lost.

Each code is ten characters from an alphabet without look-alikes (50 bits), shown
once as ``xxxxx-xxxxx``, stored only as a salted HMAC-SM3 (a code is random, so a slow
password hash would add cost and no safety; guessing is stopped by the login throttle).
A code is spent with one conditional UPDATE, so it works exactly once even under races.
Regenerating replaces every earlier code.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import os
import secrets
import uuid

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from crypto.sm3 import hmac_sm3
from idp.mfa.models import RecoveryCode

COUNT = 10
LENGTH = 10
# Crockford's base32 without I, L, O, U: nothing to confuse when copied from paper.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def normalise(code: str) -> str:
    """Lowercase, separators and spaces dropped, look-alikes mapped (o→0, i/l→1)."""
    text = "".join(ch for ch in code.strip().lower() if ch.isalnum())
    return text.translate(str.maketrans("oil", "011"))[:LENGTH + 2]


def _hash(code: str, salt: bytes) -> str:
    return f"{_b64(salt)}${_b64(hmac_sm3(salt, code.encode()))}"


def _matches(code: str, stored: str) -> bool:
    salt_text, _, _digest = stored.partition("$")
    try:
        salt = base64.b64decode(salt_text + "=" * (-len(salt_text) % 4), validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(_hash(code, salt), stored)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


class RecoveryCodes:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def regenerate(self, person_id: str) -> list[str]:
        """Ten new codes (for showing once, formatted); every earlier code stops working."""
        codes = [new_code() for _ in range(COUNT)]
        created = _now()
        with self._sessions.begin() as session:
            session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person_id))
            for code in codes:
                session.add(RecoveryCode(id=str(uuid.uuid4()), person_id=person_id,
                                         code_hash=_hash(code, os.urandom(16)),
                                         created_at=created, used_at=None))
        return [display(code) for code in codes]

    def remaining(self, person_id: str) -> int:
        with self._sessions() as session:
            return int(session.scalar(
                select(func.count()).select_from(RecoveryCode)
                .where(RecoveryCode.person_id == person_id, RecoveryCode.used_at.is_(None)))
                or 0)

    def enrolled(self, person_id: str) -> bool:
        return self.remaining(person_id) > 0

    def use(self, person_id: str, code: str) -> bool:
        """Spend ``code`` if it is one of the person's unused codes."""
        typed = normalise(code)
        if len(typed) != LENGTH:
            return False
        with self._sessions() as session:
            rows = list(session.execute(
                select(RecoveryCode.id, RecoveryCode.code_hash)
                .where(RecoveryCode.person_id == person_id, RecoveryCode.used_at.is_(None))))
        found = None
        for row_id, stored in rows:  # check all, so timing does not tell which matched
            if _matches(typed, stored) and found is None:
                found = row_id
        if found is None:
            return False
        with self._sessions.begin() as session:
            spent = session.execute(update(RecoveryCode)
                                    .where(RecoveryCode.id == found,
                                           RecoveryCode.used_at.is_(None))
                                    .values(used_at=_now()))
            return bool(getattr(spent, "rowcount", 0) == 1)

    def remove_all(self, person_id: str) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person_id))
