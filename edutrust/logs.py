"""Structured logging: one JSON object per line, with the request id, and a filter that
keeps secrets and personal identifiers out of every record."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Values that must never reach a log, whatever field or message they arrive in.
_REDACTIONS = [
    # Mainland resident ID-card numbers (18 characters, last may be X).
    (re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])"
                r"(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9])"), "[id-card]"),
    # Mainland mobile numbers.
    (re.compile(r"(?<![0-9])(?:\+?86)?1[3-9][0-9]{9}(?![0-9])"), "[phone]"),
    # JWTs / JWS compact serialisations.
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[jwt]"),
    # Secrets carried in a URL path: password-reset links and records share codes.
    (re.compile(r"(/password/reset/|/verify/)[^/\s?#\"']+"), r"\1[redacted]"),
    # PEM private keys.
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
                re.S), "[private-key]"),
    # key=value pairs whose name says secret.
    (re.compile(r"(?i)\b(password|passwd|secret|token|client_secret|code_verifier|"
                r"authorization|cookie|otp|totp)\b(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,&;]+)"),
     r"\1\2[redacted]"),
]
_SECRET_FIELDS = {"password", "secret", "client_secret", "token", "access_token",
                  "refresh_token", "id_token", "code", "code_verifier", "authorization",
                  "cookie", "otp", "master_key", "private_key"}


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line, with secrets redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = "[redacted]" if key.lower() in _SECRET_FIELDS else (
                redact(value) if isinstance(value, str) else value)
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "INFO", stream: object = None) -> None:
    """Send every logger's records to ``stream`` (stderr) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level, logging.INFO))
