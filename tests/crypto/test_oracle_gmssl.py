"""Cross-checks of crypto.sm2/sm3/sm4 against ``gmssl`` (PyPI), an independent pure-Python
implementation used here as a test oracle only (see docs: it is never a production path)."""

from __future__ import annotations

import secrets

from gmssl import func as gmssl_func
from gmssl import sm2 as gmssl_sm2
from gmssl import sm3 as gmssl_sm3
from gmssl import sm4 as gmssl_sm4
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.sm2 import CURVE_ORDER, SignatureEncoding, SM2PrivateKey
from crypto.sm3 import sm3
from crypto.sm4 import sm4_ecb_block
from tests.crypto.conftest import der_to_raw_c1c3c2, raw_c1c3c2_to_der

ORACLE = settings(max_examples=40, deadline=None)
blocks = st.integers(1, 4).flatmap(lambda n: st.binary(min_size=16 * n, max_size=16 * n))
sm4_keys = st.binary(min_size=16, max_size=16)


def _pkcs7(data: bytes) -> bytes:
    pad = 16 - len(data) % 16
    return data + bytes([pad]) * pad


def _our_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    """SM4-CBC chained by hand from our single-block SM4."""
    out, previous = b"", iv
    for i in range(0, len(data), 16):
        block = bytes(a ^ b for a, b in zip(data[i:i + 16], previous, strict=True))
        previous = sm4_ecb_block(key, block)
        out += previous
    return out


def _gmssl_sm4(key: bytes, mode: int) -> gmssl_sm4.CryptSM4:
    cipher = gmssl_sm4.CryptSM4()
    cipher.set_key(key, mode)
    return cipher


def _key_gmssl_can_parse() -> SM2PrivateKey:
    """An SM2 key whose public X does not start with hex digit 0 or 4.

    gmssl strips the ``04`` prefix with ``str.lstrip("04")``, which removes every leading
    '0' and '4' character, so a key whose X begins with either would be mangled. The
    filter concerns gmssl's parsing only; our code takes every key.
    """
    while True:
        key = SM2PrivateKey.generate()
        if key.public_key().point().hex()[2] not in "04":
            return key


def _gmssl_for(key: SM2PrivateKey, *, mode: int = 1) -> gmssl_sm2.CryptSM2:
    oracle = gmssl_sm2.CryptSM2(private_key=key.scalar().hex(),
                                public_key=key.public_key().point().hex(), mode=mode)
    assert len(oracle.public_key) == 128  # the X || Y gmssl will use, unmangled
    return oracle


def _nonce_hex() -> str:
    # gmssl draws nonces from `random` unless given one; give it a proper one.
    return f"{secrets.randbelow(CURVE_ORDER - 1) + 1:064x}"


# --- SM3 --------------------------------------------------------------------------------


@ORACLE
@given(data=st.binary(max_size=700))
def test_sm3_equals_gmssl(data: bytes) -> None:
    assert sm3(data).hex() == gmssl_sm3.sm3_hash(gmssl_func.bytes_to_list(data))


def test_sm3_equals_gmssl_across_block_boundaries() -> None:
    for size in (55, 56, 63, 64, 65, 119, 120, 128):
        data = secrets.token_bytes(size)
        assert sm3(data).hex() == gmssl_sm3.sm3_hash(gmssl_func.bytes_to_list(data))


# --- SM4 --------------------------------------------------------------------------------


@ORACLE
@given(key=sm4_keys, data=blocks)
def test_sm4_ecb_blocks_equal_gmssl(key: bytes, data: bytes) -> None:
    # gmssl always adds a PKCS#7 block: compare the message blocks and the padding block.
    theirs = _gmssl_sm4(key, gmssl_sm4.SM4_ENCRYPT).crypt_ecb(data)
    padded = _pkcs7(data)
    ours = b"".join(sm4_ecb_block(key, padded[i:i + 16]) for i in range(0, len(padded), 16))
    assert ours == theirs
    assert _gmssl_sm4(key, gmssl_sm4.SM4_DECRYPT).crypt_ecb(ours) == data


@ORACLE
@given(key=sm4_keys, iv=sm4_keys, data=st.binary(max_size=70))
def test_sm4_cbc_blocks_equal_gmssl(key: bytes, iv: bytes, data: bytes) -> None:
    theirs = _gmssl_sm4(key, gmssl_sm4.SM4_ENCRYPT).crypt_cbc(iv, data)
    ours = _our_cbc(key, iv, _pkcs7(data))
    assert ours == theirs
    assert _gmssl_sm4(key, gmssl_sm4.SM4_DECRYPT).crypt_cbc(iv, ours) == data


def test_sm4_standard_block_equals_gmssl() -> None:
    block = bytes.fromhex("0123456789abcdeffedcba9876543210")
    theirs = _gmssl_sm4(block, gmssl_sm4.SM4_ENCRYPT).crypt_ecb(block)[:16]
    assert theirs == sm4_ecb_block(block, block) == bytes.fromhex(
        "681edf34d206965e86b3e94f536e4246")


# --- SM2 signatures (gmssl signs and verifies with the default ID only) ----------------


@settings(max_examples=8, deadline=None)
@given(message=st.binary(max_size=300))
def test_our_signature_verifies_in_gmssl(message: bytes) -> None:
    key = _key_gmssl_can_parse()
    raw = key.sign(message, encoding=SignatureEncoding.RAW)
    oracle = _gmssl_for(key)
    assert oracle.verify_with_sm3(raw.hex(), message) is True
    assert not oracle.verify_with_sm3(raw.hex(), message + b"!")


@settings(max_examples=8, deadline=None)
@given(message=st.binary(max_size=300))
def test_gmssl_signature_verifies_in_ours(message: bytes) -> None:
    key = _key_gmssl_can_parse()
    signature_hex = _gmssl_for(key).sign_with_sm3(message, _nonce_hex())
    raw = bytes.fromhex(signature_hex)
    key.public_key().verify(raw, message, encoding=SignatureEncoding.RAW)


# --- SM2 encryption (gmssl mode 1 is raw C1C3C2 without the 04 prefix) -----------------


@settings(max_examples=8, deadline=None)
@given(plaintext=st.binary(min_size=1, max_size=200))
def test_our_ciphertext_decrypts_in_gmssl(plaintext: bytes) -> None:
    key = _key_gmssl_can_parse()
    raw = der_to_raw_c1c3c2(key.public_key().encrypt(plaintext))
    assert _gmssl_for(key, mode=1).decrypt(raw) == plaintext


@settings(max_examples=8, deadline=None)
@given(plaintext=st.binary(min_size=1, max_size=200))
def test_gmssl_ciphertext_decrypts_in_ours(plaintext: bytes) -> None:
    key = _key_gmssl_can_parse()
    oracle = _gmssl_for(key, mode=1)
    # GB/T 32918.4 step A5: when the KDF output t is all zeros the encryptor must draw a
    # new k. gmssl returns None instead (1 in 256 for a one-byte message), so draw again.
    raw = None
    while raw is None:
        raw = oracle.encrypt(plaintext)
    assert key.decrypt(raw_c1c3c2_to_der(raw)) == plaintext
