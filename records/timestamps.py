"""The one spelling of instants in records: UTC, whole seconds, ``Z`` (RFC 3339, and the
``xsd:dateTimeStamp`` form Verifiable Credentials use)."""

from __future__ import annotations

import datetime as dt

from records.errors import MalformedRecord

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return value.astimezone(dt.UTC).strftime(_FORMAT)


def parse_timestamp(text: object) -> dt.datetime:
    if not isinstance(text, str):
        raise MalformedRecord("a timestamp is a string YYYY-MM-DDTHH:MM:SSZ")
    try:
        value = dt.datetime.strptime(text, _FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        raise MalformedRecord(f"malformed timestamp {text!r}") from None
    if format_timestamp(value) != text:
        raise MalformedRecord(f"non-canonical timestamp {text!r}")
    return value


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
