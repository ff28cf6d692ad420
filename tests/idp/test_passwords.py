"""PBKDF2-HMAC-SM3 password hashes: format, verification, upgrades, the unknown-user path
and the password policy."""

from __future__ import annotations

import base64

import pytest

from crypto.sm3 import pbkdf2_hmac_sm3
from idp import passwords
from idp.passwords import (
    DEFAULT_ITERATIONS,
    DUMMY_HASH,
    check_password_policy,
    hash_password,
    needs_upgrade,
    verify_password,
)

FAST = 1_000   # the lowest accepted work factor keeps these tests quick


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def test_hash_is_self_describing_pbkdf2_hmac_sm3() -> None:
    stored = hash_password("Spring-2026 学期", iterations=FAST)
    scheme, iterations, salt, digest = stored.split("$")
    assert (scheme, iterations) == ("pbkdf2-sm3", str(FAST))
    assert len(_unb64(salt)) == 16 and len(_unb64(digest)) == 32
    # Anyone can recompute it from the string alone: PBKDF2-HMAC-SM3 over UTF-8.
    assert pbkdf2_hmac_sm3("Spring-2026 学期".encode(), _unb64(salt), FAST, 32) == \
        _unb64(digest)


def test_right_password_verifies_and_wrong_one_does_not() -> None:
    stored = hash_password("correct horse 42", iterations=FAST)
    assert verify_password("correct horse 42", stored)
    assert not verify_password("correct horse 43", stored)
    assert not verify_password("", stored)


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same password 1", iterations=FAST) != \
        hash_password("same password 1", iterations=FAST)


def test_composed_and_decomposed_accents_are_the_same_password() -> None:
    stored = hash_password("caf\u00e9-Lyon-2026", iterations=FAST)
    assert verify_password("cafe\u0301-Lyon-2026", stored)


def test_default_hash_uses_default_iterations_and_needs_no_upgrade() -> None:
    stored = hash_password("Default-cost 99")
    assert stored.split("$")[1] == str(DEFAULT_ITERATIONS)
    assert not needs_upgrade(stored)
    assert verify_password("Default-cost 99", stored)


def test_fewer_iterations_or_another_scheme_needs_an_upgrade() -> None:
    assert needs_upgrade(hash_password("old cost 12345", iterations=FAST))
    assert needs_upgrade("bcrypt$2b$12$abcdefghijklmnopqrstuv")
    assert needs_upgrade("garbage")
    assert needs_upgrade(None)


@pytest.mark.parametrize("part, replacement", [(1, "1001"), (2, "AAAAAAAAAAAAAAAAAAAAAA"),
                                               (3, "A" * 43)])
def test_tampered_hash_does_not_verify(part: int, replacement: str) -> None:
    pieces = hash_password("tamper-proof 1", iterations=FAST).split("$")
    pieces[part] = replacement
    assert not verify_password("tamper-proof 1", "$".join(pieces))


@pytest.mark.parametrize("stored", [
    "", "garbage", "pbkdf2-sm3", "pbkdf2-sm3$$$", "pbkdf2-sm3$abc$c2FsdHNhbHQ$aGFzaA",
    "pbkdf2-sm3$0$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "pbkdf2-sm3$01000$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "pbkdf2-sm3$999999999999$c2FsdHNhbHRzYWx0$" + "A" * 43,   # absurd work factor
    "pbkdf2-sm3$1000$not base64!$" + "A" * 43,
    "pbkdf2-sm3$1000$c2FsdA$" + "A" * 43,                      # 4-byte salt
    "pbkdf2-sm3$1000$c2FsdHNhbHRzYWx0$QUJD",                   # 3-byte hash
    "pbkdf2-sm3$1000$c2FsdHNhbHRzYWx0$" + "A" * 43 + "$extra",
    "pbkdf2-sm3$\u0661\u0660\u0660\u0660$c2FsdHNhbHRzYWx0$" + "A" * 43,  # Arabic digits
])
def test_malformed_stored_strings_answer_false_instead_of_raising(stored: str) -> None:
    assert verify_password("whatever 12345", stored) is False


def test_unknown_user_path_still_runs_one_full_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = passwords.pbkdf2_hmac_sm3

    def counting(password: bytes, salt: bytes, iterations: int, length: int = 32) -> bytes:
        calls.append(iterations)
        return real(password, salt, FAST, length)   # the count matters, not the cost

    monkeypatch.setattr(passwords, "pbkdf2_hmac_sm3", counting)
    assert verify_password("guess 123456", None) is False
    assert verify_password("guess 123456", "not-a-hash") is False
    assert verify_password("guess 123456", DUMMY_HASH) is False
    assert calls == [DEFAULT_ITERATIONS] * 3


def test_dummy_hash_is_well_formed_at_the_default_cost() -> None:
    assert not needs_upgrade(DUMMY_HASH)


@pytest.mark.parametrize("password, problem", [
    ("Short1!", "password.too_short"),
    ("x" * 257 + "1", "password.too_long"),
    ("alllowercaseletters", "password.one_class"),
    ("12345678901234", "password.one_class"),
    ("aaaaaaaaaaaa", "password.repeated"),
    ("zhangsan-2026!", "password.contains_username"),
    ("ZhangSan2026", "password.contains_username"),
    ("Password123", "password.common"),
    ("Wang Xiaoming", "password.equals_name"),
])
def test_policy_names_each_broken_rule(password: str, problem: str) -> None:
    assert problem in check_password_policy(password, username="zhangsan",
                                            display_name="wang xiaoming")


def test_policy_accepts_a_reasonable_password_including_chinese() -> None:
    assert check_password_policy("春眠不觉晓 2026", username="zhangsan") == []
    assert check_password_policy("Tr0ub4dor&3-horse", username="zhangsan") == []


def test_every_policy_key_is_in_the_catalog() -> None:
    from edutrust import i18n

    assert set(passwords.POLICY_KEYS) <= set(i18n.CATALOG)
