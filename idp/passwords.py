"""Password hashing with PBKDF2-HMAC-SM3, and the password policy.

A stored hash describes itself: ``pbkdf2-sm3$<iterations>$<b64 salt>$<b64 hash>``
(16-byte random salt, 32-byte output, standard base64 without padding), so the work
factor can be raised later and old hashes still verify; ``needs_upgrade`` tells login to
re-hash with the current parameters once it holds the plaintext. Verification never
raises on a malformed stored string: it answers ``False``.

``DUMMY_HASH`` is a well-formed hash of no known password. Login verifies against it when
the user is unknown, has no password or is disabled, so that every failed login costs one
full PBKDF2 and response times do not reveal which usernames exist.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import unicodedata

from crypto.sm3 import pbkdf2_hmac_sm3

SCHEME = "pbkdf2-sm3"
# Chosen so that one hash costs about 70 ms of CPU on the reference machine (AMD EPYC,
# one core, OpenSSL through `cryptography`); docs/directory.md gives the measurement.
DEFAULT_ITERATIONS = 120_000
SALT_SIZE = 16
HASH_SIZE = 32
# Bounds on what a stored string may ask for: a tampered row must not make one login
# run for minutes, and a too-weak hash must not be accepted as "verified".
MIN_ITERATIONS = 1_000
MAX_ITERATIONS = 10_000_000

MIN_LENGTH = 10
MAX_LENGTH = 256

# The commonest choices that pass the length and class rules anyway (lowercase, no
# spaces); a real deployment adds a breached-password check on top.
_COMMON = frozenset({
    "1234567890", "12345678910", "0123456789", "1qaz2wsx3edc", "qwertyuiop",
    "qwerty12345", "qwerty123456", "password123", "password1234", "passw0rd123",
    "a123456789", "a1234567890", "abc1234567", "abcd123456", "abc123456789",
    "aa123456789", "woaini1314", "woaini520", "iloveyou123", "admin12345",
    "admin123456", "zxcvbnm123", "1q2w3e4r5t", "q1w2e3r4t5", "asdfghjkl1",
    "p@ssw0rd123", "p@ssword123", "changeme123", "welcome123",
})


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _password_bytes(password: str) -> bytes:
    # NFC so that the same password typed through different input methods (composed or
    # decomposed accents, full forms from a Chinese IME stay as typed) hashes the same.
    return unicodedata.normalize("NFC", password).encode("utf-8")


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS) -> str:
    """A new self-describing hash of ``password`` with a fresh random salt."""
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be {MIN_ITERATIONS}..{MAX_ITERATIONS}")
    salt = os.urandom(SALT_SIZE)
    digest = pbkdf2_hmac_sm3(_password_bytes(password), salt, iterations, HASH_SIZE)
    return f"{SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def _parse(stored: str) -> tuple[int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != SCHEME:
        return None
    if not parts[1].isascii() or not parts[1].isdigit() or parts[1].startswith("0"):
        return None
    iterations = int(parts[1])
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        return None
    try:
        salt, digest = _unb64(parts[2]), _unb64(parts[3])
    except (binascii.Error, ValueError):
        return None
    if len(salt) < 8 or not 16 <= len(digest) <= 64:
        return None
    return iterations, salt, digest


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``, compared in constant time.

    A missing or malformed ``stored`` still costs one full hash (against ``DUMMY_HASH``)
    and answers ``False``.
    """
    parsed = _parse(stored) if isinstance(stored, str) else None
    if parsed is None:
        dummy = _parse(DUMMY_HASH)
        assert dummy is not None
        iterations, salt, expected = dummy
        pbkdf2_hmac_sm3(_password_bytes(password), salt, iterations, len(expected))
        return False
    iterations, salt, expected = parsed
    actual = pbkdf2_hmac_sm3(_password_bytes(password), salt, iterations, len(expected))
    return hmac.compare_digest(actual, expected)


def needs_upgrade(stored: str | None) -> bool:
    """Whether ``stored`` should be replaced by a hash with today's parameters: another
    scheme, a malformed string, fewer iterations or a shorter salt or output."""
    parsed = _parse(stored) if isinstance(stored, str) else None
    if parsed is None:
        return True
    iterations, salt, digest = parsed
    return iterations < DEFAULT_ITERATIONS or len(salt) < SALT_SIZE or len(digest) < HASH_SIZE


# Random salt and output, fixed so importing this module costs nothing; nobody knows a
# password that hashes to it.
DUMMY_HASH = (f"{SCHEME}${DEFAULT_ITERATIONS}$"
              "fqc1qEWpXyHK/h7imldSow$"
              "8b19vfsY6tl44t9h71pCDPUIybwYvPaSzcbu/cATxgY")


def _character_classes(password: str) -> set[str]:
    classes: set[str] = set()
    for ch in password:
        if ch.isascii() and ch.islower():
            classes.add("lower")
        elif ch.isascii() and ch.isupper():
            classes.add("upper")
        elif ch.isdigit():
            classes.add("digit")
        else:
            classes.add("other")  # punctuation, spaces, Chinese characters, ...
    return classes


def check_password_policy(password: str, *, username: str | None = None,
                          display_name: str | None = None) -> list[str]:
    """The policy rules ``password`` breaks, as catalog keys (empty when acceptable).

    Rules: 10 to 256 characters; at least two character classes (lowercase, uppercase,
    digits, anything else); not the username or display name, nor containing the
    username; not one character repeated; not a well-known choice.
    """
    problems: list[str] = []
    text = unicodedata.normalize("NFC", password)
    if len(text) < MIN_LENGTH:
        problems.append("password.too_short")
    if len(text) > MAX_LENGTH:
        problems.append("password.too_long")
    if len(_character_classes(text)) < 2:
        problems.append("password.one_class")
    folded = text.casefold()
    if text and len(set(folded)) == 1:
        problems.append("password.repeated")
    if username and (folded == username.casefold() or
                     (len(username) >= 3 and username.casefold() in folded)):
        problems.append("password.contains_username")
    if display_name and folded == display_name.strip().casefold():
        problems.append("password.equals_name")
    if folded in _COMMON:
        problems.append("password.common")
    return problems


# Every key check_password_policy can answer, for the catalog test.
POLICY_KEYS = ("password.too_short", "password.too_long", "password.one_class",
               "password.repeated", "password.contains_username", "password.equals_name",
               "password.common")
