"""Every setting of the platform, read from ``EDUTRUST_*`` environment variables.

Each option is documented where it is defined; docs/operations.md lists them too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _positive_int(name: str, default: int) -> int:
    value = _env(name, str(default))
    return int(value) if value.isascii() and value.isdigit() and int(value) > 0 else default


@dataclass(frozen=True)
class Settings:
    # EDUTRUST_HOME: folder for the embedded database, the master key, keys and logs.
    home: Path
    # EDUTRUST_DATABASE_URL: SQLAlchemy URL. Default: SQLite file $EDUTRUST_HOME/edutrust.db
    # (WAL mode). Production: postgresql+psycopg://user@host/db.
    database_url: str
    # EDUTRUST_REDIS_URL: Redis for rate limits, replay caches and short-lived state.
    # Empty means an in-process store (single-process embedded mode only).
    redis_url: str | None
    # EDUTRUST_ISSUER: the OIDC issuer URL, also the public base URL of the platform.
    issuer: str
    # EDUTRUST_MASTER_KEY: base64 of the 16-byte SM4 master key that wraps every private
    # key. Default: read from $EDUTRUST_HOME/master.key (created by `edutrust init`, 0600).
    # In production inject it from a secret store, or use a hardware key provider.
    master_key_b64: str | None
    # EDUTRUST_LANG: language of CLI messages, "zh" (default) or "en". Web pages follow
    # ui_locales / Accept-Language instead.
    lang: str
    # EDUTRUST_LOG_LEVEL: DEBUG, INFO (default), WARNING, ERROR. Logs are JSON lines.
    log_level: str
    # Login throttling (docs/mfa.md), counted per account and per client address over
    # passwords and second-factor codes alike:
    # EDUTRUST_LOGIN_FREE_FAILURES: failures before each attempt must wait a growing delay.
    login_free_failures: int = 3
    # EDUTRUST_LOGIN_MAX_FAILURES: failures that lock the account ...
    login_max_failures: int = 10
    # EDUTRUST_LOGIN_LOCKOUT_SECONDS: ... for this long (also how long failures count).
    login_lockout_seconds: int = 900
    # EDUTRUST_LOGIN_ADDRESS_MAX_FAILURES: failures from one address that lock it.
    login_address_max_failures: int = 100
    # EDUTRUST_TRUSTED_PROXIES: how many reverse proxies stand in front of the platform.
    # With N > 0 the client address and scheme come from the last N hops of the
    # X-Forwarded-For / X-Forwarded-Proto headers (werkzeug ProxyFix), so throttling and
    # the audit log see the real client; with 0 (default) those headers are ignored, as
    # anyone can send them when no proxy sets them.
    trusted_proxies: int = 0

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(_env("EDUTRUST_HOME", "./var")).resolve()
        return cls(
            home=home,
            database_url=_env("EDUTRUST_DATABASE_URL", f"sqlite:///{home / 'edutrust.db'}"),
            redis_url=os.environ.get("EDUTRUST_REDIS_URL", "").strip() or None,
            issuer=_env("EDUTRUST_ISSUER", "http://127.0.0.1:8000").rstrip("/"),
            master_key_b64=os.environ.get("EDUTRUST_MASTER_KEY", "").strip() or None,
            lang=language_from_env(),
            log_level=_env("EDUTRUST_LOG_LEVEL", "INFO").upper(),
            login_free_failures=_positive_int("EDUTRUST_LOGIN_FREE_FAILURES", 3),
            login_max_failures=_positive_int("EDUTRUST_LOGIN_MAX_FAILURES", 10),
            login_lockout_seconds=_positive_int("EDUTRUST_LOGIN_LOCKOUT_SECONDS", 900),
            login_address_max_failures=_positive_int("EDUTRUST_LOGIN_ADDRESS_MAX_FAILURES",
                                                     100),
            trusted_proxies=_positive_int("EDUTRUST_TRUSTED_PROXIES", 0),
        )

    @property
    def master_key_path(self) -> Path:
        return self.home / "master.key"


def language_from_env() -> str:
    """CLI language: EDUTRUST_LANG, else LANG/LC_ALL starting with ``en``, else Chinese."""
    explicit = os.environ.get("EDUTRUST_LANG", "").strip().lower()
    if explicit:
        return "en" if explicit.startswith("en") else "zh"
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").lower()
        if value.startswith("en"):
            return "en"
        if value.startswith("zh"):
            return "zh"
    return "zh"
