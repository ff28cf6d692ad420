"""Brute-force throttling of logins and second-factor codes, per account and per client
address, on the short-lived store (Redis when configured, in-process otherwise).

Accounts are keyed by the SM3 digest of the normalised username *whether or not the
account exists*, so an attacker learns nothing from which usernames slow down or lock.
After ``free_failures`` failures each further attempt has to wait a growing delay
(attempts inside it are refused unchecked); ``max_failures`` locks the account for
``lockout``. An address is locked after ``address_max_failures``. Failures are counted
over ``window`` from the first of a series. A success clears the
account's counters. Nothing here sleeps: a refused attempt costs the server nothing.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from crypto.sm3 import sm3
from idp.shortlived import ShortLivedStore


@dataclass(frozen=True)
class ThrottleConfig:
    # Failures an account may have before attempts are slowed down.
    free_failures: int = 3
    # Failures (within ``window``) that lock the account for ``lockout``.
    max_failures: int = 10
    # How long a lock lasts.
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    # How long a failure is remembered (from the first one of a series); a success
    # forgets them. After a lock ends, one more failure within the window locks again.
    window: dt.timedelta = dt.timedelta(minutes=15)
    # The first forced wait after ``free_failures``, doubled per further failure ...
    first_delay: dt.timedelta = dt.timedelta(seconds=1)
    # ... up to this.
    max_delay: dt.timedelta = dt.timedelta(seconds=60)
    # Failures from one client address (any accounts) that lock that address.
    address_max_failures: int = 100


@dataclass(frozen=True)
class Verdict:
    """``allowed`` or not; when not, ``locked`` (a lockout, not just a wait) and the
    seconds until another attempt is worth making."""

    allowed: bool
    locked: bool = False
    retry_after: int = 0


ALLOWED = Verdict(True)


def account_key(username: str) -> str:
    """The throttle's name for an account: a digest of the username as typed,
    normalised the way the directory does (NFC, trimmed, lowercase)."""
    name = unicodedata.normalize("NFC", username).strip().casefold()
    return sm3(name.encode("utf-8", "surrogatepass")).hex()[:32]


class LoginThrottle:
    def __init__(self, store: ShortLivedStore, config: ThrottleConfig) -> None:
        self._store = store
        self.config = config

    def _seconds(self, span: dt.timedelta) -> int:
        return max(1, int(span.total_seconds()))

    def check(self, account: str, address: str | None) -> Verdict:
        """May an attempt on ``account`` (an ``account_key``) from ``address`` go ahead?"""
        for key, locked in ((f"throttle:lock:{account}", True),
                            (f"throttle:lock:addr:{address}" if address else "", True),
                            (f"throttle:wait:{account}", False)):
            if not key:
                continue
            left = self._store.expires_in(key)
            if left is not None:
                return Verdict(False, locked, left)
        return ALLOWED

    def failed(self, account: str, address: str | None) -> Verdict:
        """Count a failed attempt; the verdict for the next one (locked when this
        failure locked the account or the address)."""
        window = self._seconds(self.config.window)
        lockout = self._seconds(self.config.lockout)
        failures = self._store.incr(f"throttle:fail:{account}", window)
        if address:
            from_address = self._store.incr(f"throttle:fail:addr:{address}", window)
            if from_address >= self.config.address_max_failures:
                self._store.add_if_absent(f"throttle:lock:addr:{address}", lockout)
        if failures >= self.config.max_failures:
            self._store.add_if_absent(f"throttle:lock:{account}", lockout)
            return Verdict(False, True, self._store.expires_in(f"throttle:lock:{account}")
                           or lockout)
        if failures >= self.config.free_failures:
            extra = failures - self.config.free_failures
            delay = min(self.config.first_delay * (2 ** min(extra, 20)), self.config.max_delay)
            wait = self._seconds(delay)
            self._store.add_if_absent(f"throttle:wait:{account}", wait)
            return Verdict(False, False, wait)
        return ALLOWED

    def succeeded(self, account: str) -> None:
        for key in (f"throttle:fail:{account}", f"throttle:wait:{account}"):
            self._store.forget(key)
