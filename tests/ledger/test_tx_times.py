"""Timestamps in transactions and blocks: the fast ``format_time`` and ``parse_time`` give
the same text, accept the same strings and raise the same errors as the strptime/strftime
definition they replaced (kept here as the oracle)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from ledger.tx import MalformedTransaction, format_time, parse_time


def oracle_format(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise MalformedTransaction("times must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def oracle_parse(text: object, what: str) -> dt.datetime:
    if not isinstance(text, str):
        raise MalformedTransaction(f"{what}: expected a timestamp")
    try:
        value = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise MalformedTransaction(f"{what}: malformed timestamp") from None
    if oracle_format(value) != text:
        raise MalformedTransaction(f"{what}: non-canonical timestamp")
    return value


def outcome(function: object, *args: object) -> tuple[str, object]:
    try:
        result = function(*args)  # type: ignore[operator]
    except MalformedTransaction as exc:
        return ("error", str(exc))
    except (OverflowError, ValueError) as exc:
        return (type(exc).__name__, str(exc))
    if isinstance(result, dt.datetime):
        return ("value", (result, result.tzinfo, type(result)))
    return ("value", result)


ZONES = [dt.UTC, dt.timezone(dt.timedelta(hours=8)),
         dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
         dt.timezone(dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999999)),
         dt.timezone(dt.timedelta(0), "UTC-named")]


def random_datetimes(count: int, seed: int) -> list[dt.datetime]:
    rng = random.Random(seed)
    low = dt.datetime(1, 1, 1).toordinal()
    high = dt.datetime(9999, 12, 31).toordinal()
    values = []
    for _ in range(count):
        day = dt.date.fromordinal(rng.randint(low, high))
        values.append(dt.datetime(day.year, day.month, day.day, rng.randrange(24),
                                  rng.randrange(60), rng.randrange(60),
                                  rng.randrange(1_000_000), tzinfo=rng.choice(ZONES)))
    return values


EDGES = [dt.datetime(y, m, d, h, mi, s, us, tzinfo=tz)
         for y, m, d in [(1, 1, 1), (9, 12, 31), (99, 1, 1), (999, 12, 31), (1000, 1, 1),
                         (1969, 12, 31), (1970, 1, 1), (2000, 2, 29), (2026, 11, 28),
                         (9999, 12, 31)]
         for h, mi, s, us in [(0, 0, 0, 0), (23, 59, 59, 999999), (12, 0, 0, 1)]
         for tz in ZONES]


@pytest.mark.parametrize("seed", range(4))
def test_format_and_parse_agree_with_strftime_and_strptime(seed: int) -> None:
    for value in random_datetimes(5000, seed) + (EDGES if seed == 0 else []):
        formatted = outcome(format_time, value)
        assert formatted == outcome(oracle_format, value), value
        if formatted[0] == "value":
            text = formatted[1]
            assert isinstance(text, str)
            assert outcome(parse_time, text, "t") == outcome(oracle_parse, text, "t"), text
            # The same instant spelt with a zero-padded year, or the offset form.
            for variant in (text.zfill(27), text[:-1] + "+00:00", text[:-1],
                            text.replace("T", " "), text[:-2] + "Z", text[:-1] + "0Z"):
                assert (outcome(parse_time, variant, "t")
                        == outcome(oracle_parse, variant, "t")), variant


def test_years_before_1000_keep_the_unpadded_spelling_and_are_never_accepted() -> None:
    assert format_time(dt.datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)) == (
        "999-01-02T03:04:05.000006Z")
    assert format_time(dt.datetime(1, 1, 1, tzinfo=dt.UTC)) == "1-01-01T00:00:00.000000Z"
    with pytest.raises(MalformedTransaction, match="t: malformed timestamp"):
        parse_time("999-01-02T03:04:05.000006Z", "t")
    with pytest.raises(MalformedTransaction, match="t: non-canonical timestamp"):
        parse_time("0999-01-02T03:04:05.000006Z", "t")


def test_naive_times_are_refused() -> None:
    with pytest.raises(MalformedTransaction, match=r"^times must be timezone-aware$"):
        format_time(dt.datetime(2026, 1, 1))


def test_other_zones_are_converted_to_utc() -> None:
    value = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert format_time(value) == "2026-01-01T00:00:00.000000Z"


TRICKY = [
    "2026-11-28T12:34:56.123456Z", "2026-11-28T12:34:56.123456", "2026-11-28T12:34:56.123456z",
    "2026-11-28T12:34:56.123456+00:00", "2026-11-28T12:34:56.123456+00:00Z",
    "2026-11-28T12:34:56.123456Z ", " 2026-11-28T12:34:56.123456Z",
    "2026-11-28T12:34:56.123456ZZ", "2026-11-28T12:34:56.12345Z", "2026-11-28T12:34:56.1234567Z",
    "2026-11-28T12:34:56Z", "2026-11-28T12:34:56.Z", "2026-11-28T12:34Z", "2026-11-28Z",
    "2026-11-28 12:34:56.123456Z", "2026-11-28t12:34:56.123456Z", "2026-11-28T12:34:56,123456Z",
    "20261128T123456.123456Z", "2026-W48-6T12:34:56.123456Z", "2026-333T12:34:56.123456Z",
    "２026-11-28T12:34:56.123456Z", "2026-11-28T12:34:56.12345６Z", "2026-１1-28T12:34:56.123456Z",
    "2026-11-28T12:34:60.000000Z", "2026-11-28T12:34:61.000000Z", "2026-11-28T24:00:00.000000Z",
    "2026-11-28T23:60:00.000000Z", "2026-02-30T00:00:00.000000Z", "2026-02-29T00:00:00.000000Z",
    "2024-02-29T00:00:00.000000Z", "2026-13-01T00:00:00.000000Z", "2026-00-01T00:00:00.000000Z",
    "2026-11-00T00:00:00.000000Z", "2026-11-31T00:00:00.000000Z", "0000-01-01T00:00:00.000000Z",
    "0001-01-01T00:00:00.000000Z", "1-01-01T00:00:00.000000Z", "0999-12-31T23:59:59.999999Z",
    "999-12-31T23:59:59.999999Z", "1000-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z",
    "10000-01-01T00:00:00.000000Z", "2026-1-28T12:34:56.123456Z", "2026-11-8T12:34:56.123456Z",
    "2026-11-28T1:34:56.123456Z", "2026-11-28T12:3:56.123456Z", "2026-11-28T12:34:5.123456Z",
    "2026-11-28T12:34:56.1Z", "2026-11- 8T12:34:56.123456Z", "+2026-11-28T12:34:56.123456Z",
    "-2026-11-28T12:34:56.123456Z", "2026-11-28T12:34:56.123456\x00Z",
    "2026-11-28T12:34:56.123456Z\n",
    "\n2026-11-28T12:34:56.123456Z", "2026-11-28T12:34:56.123456-00:00", "", "Z", "T", "-",
    "2026-11-28T12:34:56.123456+08:00", "2026-11-28T12:34:56.000000Z", "2026-11-28T00:00:00Z",
    "2026_11_28T12:34:56.123456Z", "2026-11-28T12:34:56.123456\u200bZ",
    "١٩٧٠-01-01T00:00:00.000000Z",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_strings_get_the_same_answer(text: str) -> None:
    assert outcome(parse_time, text, "stamp") == outcome(oracle_parse, text, "stamp")


@pytest.mark.parametrize("value", [None, 0, 1.5, b"2026-11-28T12:34:56.123456Z",
                                   dt.datetime(2026, 1, 1, tzinfo=dt.UTC), ["x"]])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(MalformedTransaction, match=r"^stamp: expected a timestamp$"):
        parse_time(value, "stamp")


def test_random_strings_near_the_canonical_shape_get_the_same_answer() -> None:
    rng = random.Random(7)
    alphabet = "0123456789-T:.Z +２٣ "
    base = "2026-11-28T12:34:56.123456Z"
    for _ in range(20000):
        chars = list(base)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(chars))
            action = rng.randrange(3)
            if action == 0:
                chars[i] = rng.choice(alphabet)
            elif action == 1:
                chars.insert(i, rng.choice(alphabet))
            elif len(chars) > 1:
                del chars[i]
        text = "".join(chars)
        assert outcome(parse_time, text, "t") == outcome(oracle_parse, text, "t"), text
