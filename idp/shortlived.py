"""Short-lived shared state of the identity provider: replay caches (assertion ``jti``),
rate-limit counters and single-use values such as WebAuthn challenges. Every entry
expires on its own.

Two stores behind one protocol: ``RedisStore`` when ``EDUTRUST_REDIS_URL`` is set
(shared by every worker and every host), and ``InProcessStore`` otherwise. The in-process
store is **per process**: with several gunicorn workers, or several hosts, each keeps
its own entries, so a replay sent to another worker is not recognised. Production
deployments with more than one worker set ``EDUTRUST_REDIS_URL``.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Protocol

_KEY_PREFIX = "edutrust:"


class ShortLivedStore(Protocol):
    def add_if_absent(self, key: str, ttl_seconds: int) -> bool:
        """Record ``key`` for ``ttl_seconds``; ``True`` if it was not already recorded
        (atomically: of two concurrent callers exactly one gets ``True``)."""
        ...

    def incr(self, key: str, ttl_seconds: int) -> int:
        """Add one to the counter ``key`` and return the new value; the counter starts
        at 1 and expires ``ttl_seconds`` after its first increment."""
        ...

    def put(self, key: str, value: str, ttl_seconds: int) -> None:
        """Store ``value`` under ``key`` for ``ttl_seconds`` (replacing any value)."""
        ...

    def take(self, key: str) -> str | None:
        """Return the value under ``key`` and delete it, atomically: of two concurrent
        callers at most one gets the value (single-use challenges)."""
        ...

    def expires_in(self, key: str) -> int | None:
        """Whole seconds (at least 1) until the counter or mark ``key`` expires, or
        ``None`` when there is none (lockouts: how long is left)."""
        ...

    def forget(self, key: str) -> None:
        """Delete the counter or mark ``key`` (a successful login clears its failures)."""
        ...


def _check_ttl(ttl_seconds: int) -> int:
    if not isinstance(ttl_seconds, int) or ttl_seconds < 1:
        raise ValueError("ttl_seconds must be a positive whole number of seconds")
    return ttl_seconds


class InProcessStore:
    """A thread-safe dictionary with expiry, private to this process (see the module
    docstring: not shared between gunicorn workers)."""

    # Expired entries are swept every this many writes, so memory stays bounded by what
    # is alive plus one sweep interval.
    _SWEEP_EVERY = 1024

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, int]] = {}  # key -> (expires at, value)
        self._values: dict[str, tuple[float, str]] = {}   # put/take entries
        self._writes = 0

    def _live(self, key: str, now: float) -> tuple[float, int] | None:
        entry = self._entries.get(key)
        if entry is not None and entry[0] <= now:
            del self._entries[key]
            return None
        return entry

    def _wrote(self, now: float) -> None:
        self._writes += 1
        if self._writes % self._SWEEP_EVERY == 0:
            for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
                del self._entries[key]
            for key in [k for k, (expires, _) in self._values.items() if expires <= now]:
                del self._values[key]

    def add_if_absent(self, key: str, ttl_seconds: int) -> bool:
        ttl = _check_ttl(ttl_seconds)
        with self._lock:
            now = self._clock()
            if self._live(key, now) is not None:
                return False
            self._entries[key] = (now + ttl, 1)
            self._wrote(now)
            return True

    def incr(self, key: str, ttl_seconds: int) -> int:
        ttl = _check_ttl(ttl_seconds)
        with self._lock:
            now = self._clock()
            entry = self._live(key, now)
            expires, value = entry if entry is not None else (now + ttl, 0)
            self._entries[key] = (expires, value + 1)
            self._wrote(now)
            return value + 1

    def put(self, key: str, value: str, ttl_seconds: int) -> None:
        ttl = _check_ttl(ttl_seconds)
        with self._lock:
            now = self._clock()
            self._values[key] = (now + ttl, value)
            self._wrote(now)

    def take(self, key: str) -> str | None:
        with self._lock:
            entry = self._values.pop(key, None)
            if entry is None or entry[0] <= self._clock():
                return None
            return entry[1]

    def expires_in(self, key: str) -> int | None:
        with self._lock:
            now = self._clock()
            entry = self._live(key, now)
            return None if entry is None else max(1, math.ceil(entry[0] - now))

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


class RedisStore:
    """Entries in Redis, shared by every worker: ``SET NX EX`` for ``add_if_absent``;
    for counters ``SET 0 NX EX`` then ``INCR`` in one transaction (INCR keeps the expiry
    set by the first call, and this works on Redis before 7)."""

    def __init__(self, client: Any, prefix: str = _KEY_PREFIX) -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = _KEY_PREFIX) -> RedisStore:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5),
                   prefix)

    def add_if_absent(self, key: str, ttl_seconds: int) -> bool:
        ttl = _check_ttl(ttl_seconds)
        return bool(self._redis.set(self._prefix + key, b"1", nx=True, ex=ttl))

    def incr(self, key: str, ttl_seconds: int) -> int:
        ttl = _check_ttl(ttl_seconds)
        name = self._prefix + key
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(name, 0, nx=True, ex=ttl)
        pipe.incr(name)
        _, value = pipe.execute()
        return int(value)

    def put(self, key: str, value: str, ttl_seconds: int) -> None:
        ttl = _check_ttl(ttl_seconds)
        self._redis.set(self._prefix + key, value.encode("utf-8"), ex=ttl)

    def take(self, key: str) -> str | None:
        # GET and DEL in one MULTI (GETDEL needs Redis 6.2).
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(self._prefix + key)
        pipe.delete(self._prefix + key)
        value, _ = pipe.execute()
        return None if value is None else bytes(value).decode("utf-8")

    def expires_in(self, key: str) -> int | None:
        left = int(self._redis.ttl(self._prefix + key))
        return None if left == -2 else max(1, left)  # -2: absent; -1: no expiry (never ours)

    def forget(self, key: str) -> None:
        self._redis.delete(self._prefix + key)


def open_short_lived_store(redis_url: str | None) -> ShortLivedStore:
    """Redis when a URL is configured, else the per-process store."""
    if redis_url:
        return RedisStore.from_url(redis_url)
    return InProcessStore()
