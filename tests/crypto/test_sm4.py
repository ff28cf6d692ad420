"""SM4: the GB/T 32907 block examples, the RFC 8998 SM4-GCM vector, and SM4-GCM's
authentication (any change to ciphertext, tag, nonce or associated data is rejected)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import DecryptionError
from crypto.sm4 import KEY_SIZE, NONCE_SIZE, SM4GCM, TAG_SIZE, sm4_ecb_block

# GB/T 32907-2016 Appendix A: key and plaintext are the same block.
STANDARD_BLOCK = bytes.fromhex("0123456789abcdeffedcba9876543210")
ONCE = bytes.fromhex("681edf34d206965e86b3e94f536e4246")
MILLION_TIMES = bytes.fromhex("595298c7c6fd271f0402f804c33d3f66")

# RFC 8998 Appendix A.1 (SM4-GCM).
RFC8998_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
RFC8998_NONCE = bytes.fromhex("00001234567800000000ABCD")
RFC8998_AAD = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
RFC8998_PLAINTEXT = bytes.fromhex(
    "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
    "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
RFC8998_CIPHERTEXT = bytes.fromhex(
    "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
    "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D")
RFC8998_TAG = bytes.fromhex("83DE3541E4C2B58177E065A9BF7B62EC")

GCM_PROPERTY = settings(max_examples=100, deadline=None)


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_sm4_block_is_the_standard_example() -> None:
    assert sm4_ecb_block(STANDARD_BLOCK, STANDARD_BLOCK) == ONCE


def test_sm4_block_encrypted_a_million_times_is_the_standard_example() -> None:
    # sm4_ecb_block builds a new context per call; one ECB context over the same backend
    # keeps the million rounds under a second and checks the same primitive.
    encryptor = Cipher(algorithms.SM4(STANDARD_BLOCK), modes.ECB()).encryptor()  # noqa: S305
    block = STANDARD_BLOCK
    for _ in range(1_000_000):
        block = encryptor.update(block)
    assert block == MILLION_TIMES


def test_sm4_block_rejects_a_partial_block() -> None:
    with pytest.raises(ValueError):
        sm4_ecb_block(STANDARD_BLOCK, b"\x00" * 15)


def test_sm4_gcm_encrypts_the_rfc8998_vector_exactly() -> None:
    sealed = SM4GCM(RFC8998_KEY).encrypt(RFC8998_NONCE, RFC8998_PLAINTEXT, RFC8998_AAD)
    assert sealed == RFC8998_CIPHERTEXT + RFC8998_TAG


def test_sm4_gcm_decrypts_the_rfc8998_vector() -> None:
    opened = SM4GCM(RFC8998_KEY).decrypt(RFC8998_NONCE, RFC8998_CIPHERTEXT + RFC8998_TAG,
                                         RFC8998_AAD)
    assert opened == RFC8998_PLAINTEXT


def test_sm4_gcm_sizes_are_those_of_rfc8998() -> None:
    assert (KEY_SIZE, NONCE_SIZE, TAG_SIZE) == (16, 12, 16)
    assert len(SM4GCM.generate_key()) == KEY_SIZE
    assert SM4GCM.generate_key() != SM4GCM.generate_key()


@GCM_PROPERTY
@given(plaintext=st.binary(max_size=1000), aad=st.none() | st.binary(max_size=64))
def test_sm4_gcm_round_trips_any_message(plaintext: bytes, aad: bytes | None) -> None:
    aead, nonce = SM4GCM(SM4GCM.generate_key()), os.urandom(NONCE_SIZE)
    sealed = aead.encrypt(nonce, plaintext, aad)
    assert len(sealed) == len(plaintext) + TAG_SIZE
    assert aead.decrypt(nonce, sealed, aad) == plaintext


def test_empty_and_absent_associated_data_are_the_same() -> None:
    aead, nonce = SM4GCM(SM4GCM.generate_key()), os.urandom(NONCE_SIZE)
    assert aead.encrypt(nonce, b"msg", None) == aead.encrypt(nonce, b"msg", b"")
    assert aead.decrypt(nonce, aead.encrypt(nonce, b"msg", None), b"") == b"msg"


@GCM_PROPERTY
@given(plaintext=st.binary(max_size=200), aad=st.binary(max_size=32), data=st.data())
def test_flipped_bit_in_gcm_ciphertext_or_tag_is_rejected(plaintext: bytes, aad: bytes,
                                                          data: st.DataObject) -> None:
    aead, nonce = SM4GCM(SM4GCM.generate_key()), os.urandom(NONCE_SIZE)
    sealed = aead.encrypt(nonce, plaintext, aad)
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1), label="bit")
    with pytest.raises(DecryptionError):
        aead.decrypt(nonce, _flip(sealed, bit), aad)


@GCM_PROPERTY
@given(plaintext=st.binary(max_size=200), aad=st.binary(max_size=32),
       bit=st.integers(0, NONCE_SIZE * 8 - 1))
def test_flipped_bit_in_gcm_nonce_is_rejected(plaintext: bytes, aad: bytes, bit: int) -> None:
    aead, nonce = SM4GCM(SM4GCM.generate_key()), os.urandom(NONCE_SIZE)
    sealed = aead.encrypt(nonce, plaintext, aad)
    with pytest.raises(DecryptionError):
        aead.decrypt(_flip(nonce, bit), sealed, aad)


@GCM_PROPERTY
@given(plaintext=st.binary(max_size=200), aad=st.binary(min_size=1, max_size=64),
       data=st.data())
def test_flipped_bit_in_gcm_associated_data_is_rejected(plaintext: bytes, aad: bytes,
                                                        data: st.DataObject) -> None:
    aead, nonce = SM4GCM(SM4GCM.generate_key()), os.urandom(NONCE_SIZE)
    sealed = aead.encrypt(nonce, plaintext, aad)
    bit = data.draw(st.integers(0, len(aad) * 8 - 1), label="bit")
    with pytest.raises(DecryptionError):
        aead.decrypt(nonce, sealed, _flip(aad, bit))


def test_gcm_rejects_missing_or_extra_associated_data() -> None:
    aead, nonce = SM4GCM(SM4GCM.generate_key()), os.urandom(NONCE_SIZE)
    with pytest.raises(DecryptionError):
        aead.decrypt(nonce, aead.encrypt(nonce, b"msg", b"context"), None)
    with pytest.raises(DecryptionError):
        aead.decrypt(nonce, aead.encrypt(nonce, b"msg", None), b"context")


def test_gcm_rejects_another_key() -> None:
    nonce = os.urandom(NONCE_SIZE)
    sealed = SM4GCM(SM4GCM.generate_key()).encrypt(nonce, b"msg", None)
    with pytest.raises(DecryptionError):
        SM4GCM(SM4GCM.generate_key()).decrypt(nonce, sealed, None)


@pytest.mark.parametrize("length", [0, 1, TAG_SIZE - 1])
def test_gcm_rejects_data_shorter_than_a_tag(length: int) -> None:
    aead = SM4GCM(SM4GCM.generate_key())
    with pytest.raises(DecryptionError):
        aead.decrypt(os.urandom(NONCE_SIZE), os.urandom(length), None)


def test_gcm_rejects_truncated_or_extended_data() -> None:
    aead, nonce = SM4GCM(SM4GCM.generate_key()), os.urandom(NONCE_SIZE)
    sealed = aead.encrypt(nonce, b"a message of some length", None)
    for cut in range(1, len(sealed) - TAG_SIZE + 1):
        with pytest.raises(DecryptionError):
            aead.decrypt(nonce, sealed[:-cut], None)
    with pytest.raises(DecryptionError):
        aead.decrypt(nonce, sealed + b"\x00", None)


@pytest.mark.parametrize("key", [b"", b"\x00" * 15, b"\x00" * 17, b"\x00" * 32])
def test_gcm_rejects_keys_that_are_not_16_bytes(key: bytes) -> None:
    with pytest.raises(ValueError):
        SM4GCM(key)


def test_gcm_rejects_a_text_key() -> None:
    with pytest.raises(ValueError):
        SM4GCM("0123456789abcdef")  # type: ignore[arg-type]


@pytest.mark.parametrize("nonce_size", [0, 8, 11, 13, 16])
def test_gcm_accepts_only_12_byte_nonces(nonce_size: int) -> None:
    aead = SM4GCM(SM4GCM.generate_key())
    with pytest.raises(ValueError):
        aead.encrypt(os.urandom(nonce_size), b"msg", None)
    with pytest.raises(DecryptionError):
        aead.decrypt(os.urandom(nonce_size), os.urandom(32), None)
