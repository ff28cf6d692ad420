"""SM3, HMAC-SM3 and PBKDF2-HMAC-SM3: the GB/T 32905 examples, and equality with the
``openssl`` command line (dgst, mac, kdf)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.sm3 import (
    BLOCK_SIZE,
    DIGEST_SIZE,
    SM3,
    hmac_sm3,
    hmac_sm3_matches,
    pbkdf2_hmac_sm3,
    sm3,
)

if TYPE_CHECKING:
    from tests.crypto.conftest import OpenSSLCommand

# GB/T 32905-2016 Appendix A, examples 1 and 2.
ABC_DIGEST = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
ABCD16_DIGEST = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def _openssl_hex(output: bytes) -> str:
    """The hex value at the end of an ``openssl dgst|mac|kdf`` line, lower case."""
    return output.decode().strip().rsplit(" ", 1)[-1].replace(":", "").lower()


def test_sm3_of_abc_is_the_standard_example() -> None:
    assert sm3(b"abc").hex() == ABC_DIGEST


def test_sm3_of_abcd_times_16_is_the_standard_example() -> None:
    assert sm3(b"abcd" * 16).hex() == ABCD16_DIGEST


def test_sm3_sizes_are_those_of_the_standard() -> None:
    assert (DIGEST_SIZE, BLOCK_SIZE) == (32, 64)
    assert len(sm3(b"")) == DIGEST_SIZE


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=4))
def test_incremental_sm3_equals_one_shot(data: bytes, cuts: list[int]) -> None:
    ctx = SM3()
    start = 0
    for cut in sorted(c for c in cuts if c <= len(data)):
        ctx.update(data[start:cut])
        start = cut
    ctx.update(data[start:])
    assert ctx.digest() == sm3(data)


def test_copy_of_incremental_sm3_is_independent() -> None:
    ctx = SM3(b"ab")
    clone = ctx.copy()
    ctx.update(b"c")
    clone.update(b"x")
    assert ctx.digest().hex() == ABC_DIGEST
    assert clone.digest() == sm3(b"abx")


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 119, 128, 4096])
def test_sm3_equals_openssl_dgst(openssl: OpenSSLCommand, size: int) -> None:
    data = os.urandom(size)
    assert _openssl_hex(openssl("dgst", "-sm3", input=data)) == sm3(data).hex()


# Key sizes around the 64-byte block: shorter keys are padded, longer ones hashed first.
@pytest.mark.parametrize("key_size", [1, 16, 32, 63, 64, 65, 200])
def test_hmac_sm3_equals_openssl_mac(openssl: OpenSSLCommand, key_size: int) -> None:
    key, data = os.urandom(key_size), os.urandom(100)
    out = openssl("mac", "-digest", "SM3", "-macopt", f"hexkey:{key.hex()}", "HMAC",
                  input=data)
    assert _openssl_hex(out) == hmac_sm3(key, data).hex()


def test_hmac_sm3_needs_a_key() -> None:
    with pytest.raises(ValueError):
        hmac_sm3(b"", b"data")


def test_hmac_sm3_matches_only_its_own_tag() -> None:
    key, data = os.urandom(32), b"record"
    tag = hmac_sm3(key, data)
    assert hmac_sm3_matches(key, data, tag)
    assert not hmac_sm3_matches(key, data + b"!", tag)
    assert not hmac_sm3_matches(os.urandom(32), data, tag)
    assert not hmac_sm3_matches(key, data, tag[:-1])


@pytest.mark.parametrize(("iterations", "length"), [(1, 32), (2, 32), (1000, 32), (10, 48)])
def test_pbkdf2_hmac_sm3_equals_openssl_kdf(openssl: OpenSSLCommand, iterations: int,
                                            length: int) -> None:
    password, salt = os.urandom(12), os.urandom(16)
    out = openssl("kdf", "-keylen", str(length), "-kdfopt", "digest:SM3",
                  "-kdfopt", f"hexpass:{password.hex()}", "-kdfopt", f"hexsalt:{salt.hex()}",
                  "-kdfopt", f"iter:{iterations}", "PBKDF2")
    assert _openssl_hex(out) == pbkdf2_hmac_sm3(password, salt, iterations, length).hex()


def test_pbkdf2_hmac_sm3_equals_openssl_kdf_for_a_text_password(
        openssl: OpenSSLCommand) -> None:
    out = openssl("kdf", "-keylen", "32", "-kdfopt", "digest:SM3", "-kdfopt", "pass:密码 pw",
                  "-kdfopt", "salt:NaCl-salt", "-kdfopt", "iter:5", "PBKDF2")
    derived = pbkdf2_hmac_sm3("密码 pw".encode(), b"NaCl-salt", 5)
    assert _openssl_hex(out) == derived.hex()


def test_pbkdf2_hmac_sm3_rejects_zero_iterations_and_short_salt() -> None:
    with pytest.raises(ValueError):
        pbkdf2_hmac_sm3(b"pw", b"saltsalt", 0)
    with pytest.raises(ValueError):
        pbkdf2_hmac_sm3(b"pw", b"short", 1)
