"""The one spelling of instants in records: UTC, whole seconds, ``Z`` (RFC 3339, and the
``xsd:dateTimeStamp`` form Verifiable Credentials use)."""

from __future__ import annotations

import datetime as dt
import functools
import re

from records.errors import MalformedRecord

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# The same shape strptime(_FORMAT) accepts once the canonical spelling is required
# (verification parses thousands of these: a regular expression beats strptime).
_SHAPE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z", re.ASCII)


# Both are pure functions of immutable values, called for the same few instants over and
# over (every statement of a record names its times): remembered.
@functools.lru_cache(maxsize=4096)
def format_timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    utc = value.astimezone(dt.UTC)
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:"
            f"{utc.minute:02d}:{utc.second:02d}Z")


def parse_timestamp(text: object) -> dt.datetime:
    if not isinstance(text, str):
        raise MalformedRecord("a timestamp is a string YYYY-MM-DDTHH:MM:SSZ")
    return _parse(text)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> dt.datetime:
    shape = _SHAPE.fullmatch(text)
    try:
        if shape is None:
            raise ValueError(text)
        year, month, day, hour, minute, second = (int(part) for part in shape.groups())
        value = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:
        raise MalformedRecord(f"malformed timestamp {text!r}") from None
    if format_timestamp(value) != text:
        raise MalformedRecord(f"non-canonical timestamp {text!r}")
    return value


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
