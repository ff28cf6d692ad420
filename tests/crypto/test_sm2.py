"""SM2 through crypto.sm2: the GM/T 0003.5 (GB/T 32918.5) Annex A examples on the
recommended curve, signature and encryption behaviour, strict encodings, key loading, and
interop both ways with the ``openssl`` command line."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import DecryptionError, InvalidKey, InvalidSignature
from crypto.sm2 import (
    CURVE_ORDER,
    DEFAULT_SIGNER_ID,
    MAX_SIGNER_ID_SIZE,
    Encoding,
    SignatureEncoding,
    SM2PrivateKey,
    SM2PublicKey,
    der_to_raw_signature,
    load_der_private_key,
    load_der_public_key,
    load_pem_private_key,
    load_pem_public_key,
    raw_to_der_signature,
)
from crypto.sm3 import sm3
from tests.crypto.conftest import SM2Cipher

if TYPE_CHECKING:
    from tests.crypto.conftest import OpenSSLCommand

# The recommended 256-bit curve (GB/T 32918.5-2017 / GM/T 0003.5-2012, section 2).
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123

# Annex A examples over that curve (not the test curve of part 2, whose example uses
# ID "ALICE123@YAHOO.COM"): one key serves both the signature and the encryption example.
STD_D = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
STD_X = bytes.fromhex("09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020")
STD_Y = bytes.fromhex("CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
STD_POINT = b"\x04" + STD_X + STD_Y
STD_ID = b"1234567812345678"
STD_MESSAGE = b"message digest"
STD_Z = bytes.fromhex("B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3")
STD_E = bytes.fromhex("F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640")
STD_R = bytes.fromhex("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3")
STD_S = bytes.fromhex("B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")
STD_PLAINTEXT = b"encryption standard"
STD_C1_X = bytes.fromhex("04EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73")
STD_C1_Y = bytes.fromhex("E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A63094D99283AFF767E124DF0")
STD_C3 = bytes.fromhex("59983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766")
STD_C2 = bytes.fromhex("21886CA989CA9C7D58087307CA93092D651EFA")

PROPERTY = settings(max_examples=60, deadline=None)
signer_ids = st.binary(min_size=0, max_size=64) | st.sampled_from(
    [DEFAULT_SIGNER_ID, b"ALICE123@YAHOO.COM", "学校-001".encode()])
messages = st.binary(max_size=2048)


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - x * x * x - A * x - B) % P == 0


def _der_int(body: bytes) -> bytes:
    return b"\x02" + bytes([len(body)]) + body


def _der_seq(*parts: bytes) -> bytes:
    body = b"".join(parts)
    return b"\x30" + bytes([len(body)]) + body


def _sig_der(r: int, s: int) -> bytes:
    """DER signature built directly, without the checks of ``raw_to_der_signature``."""
    def body(v: int) -> bytes:
        return v.to_bytes((v.bit_length() + 8) // 8 or 1, "big")
    return _der_seq(_der_int(body(r)), _der_int(body(s)))


@pytest.fixture(scope="module")
def key() -> SM2PrivateKey:
    return SM2PrivateKey.generate()


# --- GM/T 0003.5 Annex A -----------------------------------------------------------


def test_standard_private_key_gives_the_standard_public_point() -> None:
    assert SM2PrivateKey.from_scalar(STD_D).public_key().point() == STD_POINT


def test_standard_z_and_digest_follow_from_our_sm3_and_the_recommended_curve() -> None:
    entl = (len(STD_ID) * 8).to_bytes(2, "big")
    curve = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
    z = sm3(entl + STD_ID + curve + STD_X + STD_Y)
    assert z == STD_Z
    assert sm3(z + STD_MESSAGE) == STD_E


def test_standard_signature_verifies() -> None:
    public = SM2PublicKey.from_point(STD_POINT)
    public.verify(STD_R + STD_S, STD_MESSAGE, signer_id=STD_ID, encoding=SignatureEncoding.RAW)
    public.verify(raw_to_der_signature(STD_R + STD_S), STD_MESSAGE)  # default ID is STD_ID


def test_standard_signature_is_rejected_for_a_changed_message() -> None:
    public = SM2PublicKey.from_point(STD_POINT)
    for changed in (b"message digesT", b"message digest ", b""):
        with pytest.raises(InvalidSignature):
            public.verify(STD_R + STD_S, changed, encoding=SignatureEncoding.RAW)


def test_standard_signature_is_rejected_under_another_signer_id() -> None:
    public = SM2PublicKey.from_point(STD_POINT)
    with pytest.raises(InvalidSignature):
        public.verify(STD_R + STD_S, STD_MESSAGE, signer_id=b"ALICE123@YAHOO.COM",
                      encoding=SignatureEncoding.RAW)


def test_standard_ciphertext_decrypts() -> None:
    ciphertext = SM2Cipher({"x": int.from_bytes(STD_C1_X, "big"),
                            "y": int.from_bytes(STD_C1_Y, "big"),
                            "hash": STD_C3, "ciphertext": STD_C2}).dump()
    assert SM2PrivateKey.from_scalar(STD_D).decrypt(ciphertext) == STD_PLAINTEXT


# --- signatures ----------------------------------------------------------------------


def test_default_signer_id_is_that_of_gmt_0009() -> None:
    assert DEFAULT_SIGNER_ID == b"1234567812345678"


@PROPERTY
@given(message=messages, signer_id=signer_ids)
def test_signature_round_trips_in_der_and_raw(key: SM2PrivateKey, message: bytes,
                                              signer_id: bytes) -> None:
    public = key.public_key()
    der = key.sign(message, signer_id=signer_id)
    raw = key.sign(message, signer_id=signer_id, encoding=SignatureEncoding.RAW)
    assert der[0] == 0x30 and len(raw) == 64
    public.verify(der, message, signer_id=signer_id)
    public.verify(raw, message, signer_id=signer_id, encoding=SignatureEncoding.RAW)
    public.verify(der_to_raw_signature(der), message, signer_id=signer_id,
                  encoding=SignatureEncoding.RAW)


@PROPERTY
@given(message=messages, signer_id=signer_ids,
       encoding=st.sampled_from(list(SignatureEncoding)), data=st.data())
def test_flipped_bit_in_signature_is_rejected(key: SM2PrivateKey, message: bytes,
                                              signer_id: bytes, encoding: SignatureEncoding,
                                              data: st.DataObject) -> None:
    signature = key.sign(message, signer_id=signer_id, encoding=encoding)
    # DER length varies from one signature to the next: draw first, then fold the range.
    bit = data.draw(st.integers(0, 2**16), label="bit") % (len(signature) * 8)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(_flip(signature, bit), message, signer_id=signer_id,
                                encoding=encoding)


@PROPERTY
@given(message=messages, signer_id=signer_ids, other_id=signer_ids)
def test_signature_under_another_signer_id_is_rejected(key: SM2PrivateKey, message: bytes,
                                                       signer_id: bytes,
                                                       other_id: bytes) -> None:
    if other_id == signer_id:
        return
    signature = key.sign(message, signer_id=signer_id)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, message, signer_id=other_id)


def test_signature_is_rejected_for_another_message_or_key(key: SM2PrivateKey) -> None:
    signature = key.sign(b"transcript")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, b"transcripT")
    with pytest.raises(InvalidSignature):
        SM2PrivateKey.generate().public_key().verify(signature, b"transcript")


def test_signatures_are_randomised(key: SM2PrivateKey) -> None:
    first, second = key.sign(b"same"), key.sign(b"same")
    assert first != second
    key.public_key().verify(first, b"same")
    key.public_key().verify(second, b"same")


def test_longest_signer_id_is_accepted_and_a_longer_one_refused(key: SM2PrivateKey) -> None:
    assert MAX_SIGNER_ID_SIZE == 8190  # libcrypto's bound, one below what ENTL could count
    longest = b"i" * MAX_SIGNER_ID_SIZE
    key.public_key().verify(key.sign(b"m", signer_id=longest), b"m", signer_id=longest)
    with pytest.raises(ValueError):
        key.sign(b"m", signer_id=longest + b"i")
    with pytest.raises(ValueError):
        key.public_key().verify(key.sign(b"m"), b"m", signer_id=longest + b"i")


def test_text_signer_id_is_refused(key: SM2PrivateKey) -> None:
    with pytest.raises(TypeError):
        key.sign(b"m", signer_id="1234567812345678")  # type: ignore[arg-type]


def test_unknown_signature_encoding_is_refused(key: SM2PrivateKey) -> None:
    with pytest.raises(TypeError):
        key.sign(b"m", encoding="DER")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        key.public_key().verify(key.sign(b"m"), b"m", encoding="DER")  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(r=st.integers(1, CURVE_ORDER - 1), s=st.integers(1, CURVE_ORDER - 1))
def test_raw_and_der_signature_forms_convert_both_ways(r: int, s: int) -> None:
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    der = raw_to_der_signature(raw)
    assert der == _sig_der(r, s)
    assert der_to_raw_signature(der) == raw


def test_der_signature_with_trailing_bytes_is_rejected(key: SM2PrivateKey) -> None:
    der = key.sign(b"m")
    for tail in (b"\x00", b"\x30\x00", der):
        with pytest.raises(InvalidSignature):
            key.public_key().verify(der + tail, b"m")
    # ... also when the outer length is stretched to cover them.
    stretched = b"\x30" + bytes([der[1] + 1]) + der[2:] + b"\x00"
    with pytest.raises(InvalidSignature):
        key.public_key().verify(stretched, b"m")


def test_der_signature_with_non_minimal_integers_is_rejected(key: SM2PrivateKey) -> None:
    raw = key.sign(b"m", encoding=SignatureEncoding.RAW)
    r, s = raw[:32], raw[32:]
    minimal_r = r.lstrip(b"\x00")
    minimal_r = b"\x00" + minimal_r if minimal_r[0] & 0x80 else minimal_r
    minimal_s = s.lstrip(b"\x00")
    minimal_s = b"\x00" + minimal_s if minimal_s[0] & 0x80 else minimal_s
    key.public_key().verify(_der_seq(_der_int(minimal_r), _der_int(minimal_s)), b"m")
    for bad in (_der_seq(_der_int(b"\x00" + minimal_r), _der_int(minimal_s)),
                _der_seq(_der_int(minimal_r), _der_int(b"\x00\x00" + minimal_s))):
        with pytest.raises(InvalidSignature):
            key.public_key().verify(bad, b"m")


def test_der_signature_with_long_form_lengths_is_rejected(key: SM2PrivateKey) -> None:
    der = key.sign(b"m")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(b"\x30\x81" + der[1:], b"m")


def test_der_signature_with_negative_integer_is_rejected(key: SM2PrivateKey) -> None:
    high = b"\x80" + b"\x01" * 31
    with pytest.raises(InvalidSignature):
        der_to_raw_signature(_der_seq(_der_int(high), _der_int(b"\x01")))


@pytest.mark.parametrize("bad", [0, CURVE_ORDER, CURVE_ORDER + 1, 2**256 - 1])
@pytest.mark.parametrize("which", ["r", "s"])
def test_signature_value_zero_or_not_below_n_is_rejected(key: SM2PrivateKey, bad: int,
                                                         which: str) -> None:
    raw = key.sign(b"m", encoding=SignatureEncoding.RAW)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    r, s = (bad, s) if which == "r" else (r, bad)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(_sig_der(r, s), b"m")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(r.to_bytes(32, "big") + s.to_bytes(32, "big"), b"m",
                                encoding=SignatureEncoding.RAW)


@pytest.mark.parametrize("size", [0, 32, 63, 65, 128])
def test_raw_signature_of_wrong_length_is_rejected(key: SM2PrivateKey, size: int) -> None:
    with pytest.raises(InvalidSignature):
        key.public_key().verify(os.urandom(size), b"m", encoding=SignatureEncoding.RAW)


@pytest.mark.parametrize("garbage", [b"", b"\x30", b"\x30\x00", b"\x02\x01\x01", b"\xff" * 70])
def test_malformed_der_signature_is_rejected(key: SM2PrivateKey, garbage: bytes) -> None:
    with pytest.raises(InvalidSignature):
        key.public_key().verify(garbage, b"m")


# --- encryption ------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(min_size=1, max_size=4096))
def test_encryption_round_trips_any_message_size(key: SM2PrivateKey, plaintext: bytes) -> None:
    assert key.decrypt(key.public_key().encrypt(plaintext)) == plaintext


def test_ciphertext_is_gmt_0009_der_with_c1_on_the_curve(key: SM2PrivateKey) -> None:
    plaintext = b"education record key"
    ciphertext = key.public_key().encrypt(plaintext)
    parsed = SM2Cipher.load(ciphertext, strict=True)
    assert parsed.dump(force=True) == ciphertext
    assert _on_curve(parsed["x"].native, parsed["y"].native)
    assert len(parsed["hash"].native) == 32
    assert len(parsed["ciphertext"].native) == len(plaintext)
    assert parsed["ciphertext"].native != plaintext


def test_encryption_is_randomised(key: SM2PrivateKey) -> None:
    first, second = key.public_key().encrypt(b"same"), key.public_key().encrypt(b"same")
    assert first != second
    assert key.decrypt(first) == key.decrypt(second) == b"same"


def test_empty_plaintext_and_ciphertext_are_refused(key: SM2PrivateKey) -> None:
    with pytest.raises(ValueError):
        key.public_key().encrypt(b"")
    with pytest.raises(DecryptionError):
        key.decrypt(b"")


def test_every_flipped_bit_in_a_ciphertext_is_rejected(key: SM2PrivateKey) -> None:
    ciphertext = key.public_key().encrypt(b"short")
    for bit in range(len(ciphertext) * 8):
        with pytest.raises(DecryptionError):
            key.decrypt(_flip(ciphertext, bit))


@settings(max_examples=40, deadline=None)
@given(plaintext=st.binary(min_size=1, max_size=300), data=st.data())
def test_flipped_bit_in_ciphertext_is_rejected(key: SM2PrivateKey, plaintext: bytes,
                                               data: st.DataObject) -> None:
    ciphertext = key.public_key().encrypt(plaintext)
    bit = data.draw(st.integers(0, 2**16), label="bit") % (len(ciphertext) * 8)
    with pytest.raises(DecryptionError):
        key.decrypt(_flip(ciphertext, bit))


def test_every_truncation_of_a_ciphertext_is_rejected(key: SM2PrivateKey) -> None:
    ciphertext = key.public_key().encrypt(b"short")
    for length in range(len(ciphertext)):
        with pytest.raises(DecryptionError):
            key.decrypt(ciphertext[:length])


def test_ciphertext_with_trailing_bytes_is_rejected(key: SM2PrivateKey) -> None:
    ciphertext = key.public_key().encrypt(b"short")
    for tail in (b"\x00", b"junk", ciphertext):
        with pytest.raises(DecryptionError):
            key.decrypt(ciphertext + tail)


def test_ciphertext_in_ber_rather_than_der_is_rejected(key: SM2PrivateKey) -> None:
    ciphertext = key.public_key().encrypt(b"short")
    assert ciphertext[1] < 0x80
    long_form = b"\x30\x81" + ciphertext[1:]
    indefinite = b"\x30\x80" + ciphertext[2:] + b"\x00\x00"
    for variant in (long_form, indefinite):
        with pytest.raises(DecryptionError):
            key.decrypt(variant)


def test_ciphertext_for_another_key_is_rejected(key: SM2PrivateKey) -> None:
    ciphertext = SM2PrivateKey.generate().public_key().encrypt(b"not for you")
    with pytest.raises(DecryptionError):
        key.decrypt(ciphertext)


@pytest.mark.parametrize("garbage", [b"\x00", b"\x30\x00", bytes(range(3, 123))])
def test_garbage_ciphertext_is_rejected(key: SM2PrivateKey, garbage: bytes) -> None:
    with pytest.raises(DecryptionError):
        key.decrypt(garbage)


# --- keys ------------------------------------------------------------------------------


def test_private_key_round_trips_through_pkcs8_der_and_pem(key: SM2PrivateKey) -> None:
    der = key.private_bytes(Encoding.DER)
    pem = key.private_bytes(Encoding.PEM)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert pem.endswith(b"-----END PRIVATE KEY-----\n")
    for loaded in (SM2PrivateKey.from_der(der), load_der_private_key(der),
                   load_pem_private_key(pem)):
        assert loaded.scalar() == key.scalar()
        assert loaded.public_key() == key.public_key()
        assert loaded.private_bytes(Encoding.DER) == der


def test_pkcs8_names_the_sm2_curve(key: SM2PrivateKey) -> None:
    info = asn1_keys.PrivateKeyInfo.load(key.private_bytes(Encoding.DER))
    assert info["private_key_algorithm"]["algorithm"].dotted == "1.2.840.10045.2.1"
    assert info["private_key_algorithm"]["parameters"].chosen.dotted == "1.2.156.10197.1.301"


def test_public_key_round_trips_through_spki_der_pem_and_point(key: SM2PrivateKey) -> None:
    public = key.public_key()
    der, pem = public.public_bytes(Encoding.DER), public.public_bytes(Encoding.PEM)
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    for loaded in (SM2PublicKey.from_der(der), load_der_public_key(der),
                   load_pem_public_key(pem), SM2PublicKey.from_point(public.point())):
        assert loaded == public
        assert hash(loaded) == hash(public)
        assert loaded.public_bytes(Encoding.DER) == der
    assert public != SM2PrivateKey.generate().public_key()


@pytest.mark.parametrize("label", [b"EC PRIVATE KEY", b"SM2 PRIVATE KEY"])
def test_sec1_private_key_pem_loads(key: SM2PrivateKey, label: bytes) -> None:
    sec1 = asn1_keys.ECPrivateKey({
        "version": "ecPrivkeyVer1", "private_key": int.from_bytes(key.scalar(), "big"),
        "parameters": ("named", "sm2"), "public_key": key.public_key().point()}).dump()
    pem = (b"-----BEGIN " + label + b"-----\n" + base64.encodebytes(sec1)
           + b"-----END " + label + b"-----\n")
    assert load_pem_private_key(pem).scalar() == key.scalar()


def test_unknown_key_encoding_is_refused(key: SM2PrivateKey) -> None:
    with pytest.raises(TypeError):
        key.private_bytes("PEM")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        key.public_key().public_bytes("PEM")  # type: ignore[arg-type]


def test_scalar_round_trips(key: SM2PrivateKey) -> None:
    scalar = key.scalar()
    assert len(scalar) == 32
    restored = SM2PrivateKey.from_scalar(scalar)
    assert restored.public_key() == key.public_key()
    assert restored.scalar() == scalar


@pytest.mark.parametrize("d", [1, 2, CURVE_ORDER - 2])
def test_scalars_at_the_edges_of_the_range_are_accepted(d: int) -> None:
    restored = SM2PrivateKey.from_scalar(d.to_bytes(32, "big"))
    assert restored.scalar() == d.to_bytes(32, "big")
    restored.public_key().verify(restored.sign(b"m"), b"m")


def test_scalar_one_gives_the_generator() -> None:
    point = SM2PrivateKey.from_scalar((1).to_bytes(32, "big")).public_key().point()
    assert point == b"\x04" + GX.to_bytes(32, "big") + GY.to_bytes(32, "big")


# d = n - 1 is excluded: SM2 signing needs (1 + d) to be invertible mod n.
@pytest.mark.parametrize("d", [0, CURVE_ORDER - 1, CURVE_ORDER, 2**256 - 1])
def test_scalars_out_of_range_are_refused(d: int) -> None:
    with pytest.raises(InvalidKey):
        SM2PrivateKey.from_scalar(d.to_bytes(32, "big"))


@pytest.mark.parametrize("size", [0, 31, 33])
def test_scalars_of_wrong_length_are_refused(size: int) -> None:
    with pytest.raises(InvalidKey):
        SM2PrivateKey.from_scalar(b"\x01" * size)


def _point_variants() -> list[tuple[str, bytes]]:
    x, y = STD_X, STD_Y
    bad_y = ((int.from_bytes(y, "big") + 1) % P).to_bytes(32, "big")
    # x = p and y chosen so that (x mod p, y) is on the curve would still be out of range.
    return [
        ("off the curve", b"\x04" + x + bad_y),
        ("point at infinity as zeros", b"\x04" + bytes(64)),
        ("x not below p", b"\x04" + P.to_bytes(32, "big") + y),
        ("compressed prefix 02", b"\x02" + x + y),
        ("compressed prefix 03", b"\x03" + x + y),
        ("hybrid prefix 06", b"\x06" + x + y),
        ("hybrid prefix 07", b"\x07" + x + y),
        ("unknown prefix 05", b"\x05" + x + y),
        ("compressed form", b"\x02" + x),
        ("no prefix", x + y),
        ("truncated", (b"\x04" + x + y)[:-1]),
        ("extended", b"\x04" + x + y + b"\x00"),
        ("empty", b""),
    ]


@pytest.mark.parametrize(("case", "point"), _point_variants(),
                         ids=[case for case, _ in _point_variants()])
def test_invalid_public_point_is_refused(case: str, point: bytes) -> None:
    with pytest.raises(InvalidKey):
        SM2PublicKey.from_point(point)


def test_off_curve_point_in_spki_is_refused() -> None:
    bad_y = ((int.from_bytes(STD_Y, "big") + 1) % P).to_bytes(32, "big")
    spki = asn1_keys.PublicKeyInfo({
        "algorithm": {"algorithm": "ec", "parameters": ("named", "sm2")},
        "public_key": b"\x04" + STD_X + bad_y,
    }).dump()
    with pytest.raises(InvalidKey):
        SM2PublicKey.from_der(spki)


def _pkcs8_pem(private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
               | ed25519.Ed25519PrivateKey) -> bytes:
    return private.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def _spki_pem(private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
              | ed25519.Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def foreign_keys() -> dict[str, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
                           | ed25519.Ed25519PrivateKey]:
    return {"EC P-256": ec.generate_private_key(ec.SECP256R1()),
            "EC secp256k1": ec.generate_private_key(ec.SECP256K1()),
            "RSA": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "Ed25519": ed25519.Ed25519PrivateKey.generate()}


@pytest.mark.parametrize("kind", ["EC P-256", "EC secp256k1", "RSA", "Ed25519"])
def test_non_sm2_keys_are_refused(foreign_keys: dict[str, ec.EllipticCurvePrivateKey
                                                     | rsa.RSAPrivateKey
                                                     | ed25519.Ed25519PrivateKey],
                                  kind: str) -> None:
    private = foreign_keys[kind]
    with pytest.raises(InvalidKey, match="not an SM2 key"):
        load_pem_private_key(_pkcs8_pem(private))
    with pytest.raises(InvalidKey, match="not an SM2 key"):
        load_pem_public_key(_spki_pem(private))


def test_p256_sec1_pem_is_refused(foreign_keys: dict[str, ec.EllipticCurvePrivateKey
                                                     | rsa.RSAPrivateKey
                                                     | ed25519.Ed25519PrivateKey]) -> None:
    private = foreign_keys["EC P-256"]
    pem = private.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    assert pem.startswith(b"-----BEGIN EC PRIVATE KEY-----")
    with pytest.raises(InvalidKey):
        load_pem_private_key(pem)


def test_encrypted_pem_private_key_is_refused(key: SM2PrivateKey) -> None:
    encrypted = (b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjAp\n"
                 b"-----END ENCRYPTED PRIVATE KEY-----\n")
    with pytest.raises(InvalidKey, match="encrypted"):
        load_pem_private_key(encrypted)


def _corrupt_pems(key: SM2PrivateKey) -> list[tuple[str, Callable[[bytes], object], bytes]]:
    private_pem = key.private_bytes(Encoding.PEM)
    public_pem = key.public_key().public_bytes(Encoding.PEM)
    lines = private_pem.splitlines(keepends=True)
    return [
        ("empty", load_pem_private_key, b""),
        ("no PEM block", load_pem_private_key, b"just some text\n"),
        ("no end line", load_pem_private_key, b"".join(lines[:-1])),
        ("bad base64 character", load_pem_private_key,
         private_pem.replace(lines[1][:4], b"!!!!", 1)),
        ("base64 cut mid-quantum", load_pem_private_key, b"".join(
            [lines[0], lines[1][:-3] + b"\n", lines[-1]])),
        ("DER truncated", load_pem_private_key, b"".join([lines[0], lines[1], lines[-1]])),
        ("random DER", load_pem_private_key,
         b"-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n"),
        ("public PEM as private", load_pem_private_key, public_pem),
        ("private PEM as public", load_pem_public_key, private_pem),
        ("public DER truncated", load_pem_public_key, public_pem[:40] + public_pem[-25:]),
        ("public garbage", load_pem_public_key,
         b"-----BEGIN PUBLIC KEY-----\n" + b"QUJD" * 20 + b"\n-----END PUBLIC KEY-----\n"),
    ]


def test_corrupt_pem_is_refused_with_invalid_key(key: SM2PrivateKey) -> None:
    for case, load, pem in _corrupt_pems(key):
        with pytest.raises(InvalidKey):
            load(pem)
            pytest.fail(f"{case} was accepted")


@pytest.mark.parametrize("der", [b"", b"\x30", b"\x30\x00", bytes(range(7, 71)),
                                 b"\x30\x82\xff\xff" + bytes(60)])
def test_corrupt_der_is_refused_with_invalid_key(der: bytes) -> None:
    with pytest.raises(InvalidKey):
        SM2PrivateKey.from_der(der)
    with pytest.raises(InvalidKey):
        SM2PublicKey.from_der(der)


# --- interop with the openssl command line --------------------------------------------

INTEROP_IDS = [DEFAULT_SIGNER_ID, b"ALICE123@YAHOO.COM"]


def _distid(signer_id: bytes) -> str:
    return f"distid:{signer_id.decode()}"


def _write_keys(tmp_path: Path, key: SM2PrivateKey) -> tuple[Path, Path]:
    private, public = tmp_path / "key.pem", tmp_path / "pub.pem"
    private.write_bytes(key.private_bytes(Encoding.PEM))
    public.write_bytes(key.public_key().public_bytes(Encoding.PEM))
    return private, public


def test_openssl_generated_key_loads_in_ours(openssl: OpenSSLCommand, tmp_path: Path) -> None:
    pem = openssl("genpkey", "-algorithm", "SM2")
    loaded = load_pem_private_key(pem)
    (tmp_path / "key.pem").write_bytes(pem)
    public_pem = openssl("pkey", "-in", tmp_path / "key.pem", "-pubout")
    assert loaded.public_key() == load_pem_public_key(public_pem)
    assert loaded.public_key().public_bytes(Encoding.PEM) == public_pem


def test_openssl_traditional_key_loads_in_ours(openssl: OpenSSLCommand,
                                               tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_bytes(openssl("genpkey", "-algorithm", "SM2"))
    sec1 = openssl("ec", "-in", tmp_path / "key.pem")
    assert sec1.startswith(b"-----BEGIN SM2 PRIVATE KEY-----")  # OpenSSL 3's label for it
    assert load_pem_private_key(sec1).scalar() == load_pem_private_key(
        (tmp_path / "key.pem").read_bytes()).scalar()


def test_our_pkcs8_and_spki_pem_load_in_openssl(openssl: OpenSSLCommand, tmp_path: Path,
                                               key: SM2PrivateKey) -> None:
    private, public = _write_keys(tmp_path, key)
    # openssl re-encodes what it parsed: identical output proves it read every field.
    assert openssl("pkey", "-in", private) == private.read_bytes()
    assert openssl("pkey", "-in", private, "-pubout") == public.read_bytes()
    assert openssl("pkey", "-pubin", "-in", public) == public.read_bytes()
    assert b"SM2" in openssl("pkey", "-pubin", "-in", public, "-text", "-noout")
    der = openssl("pkey", "-pubin", "-in", public, "-outform", "DER")
    assert der == key.public_key().public_bytes(Encoding.DER)


@pytest.mark.parametrize("signer_id", INTEROP_IDS)
def test_our_signature_verifies_in_openssl(openssl: OpenSSLCommand, tmp_path: Path,
                                           key: SM2PrivateKey, signer_id: bytes) -> None:
    _, public = _write_keys(tmp_path, key)
    message, signature = tmp_path / "message", tmp_path / "signature"
    message.write_bytes(os.urandom(300))
    signature.write_bytes(key.sign(message.read_bytes(), signer_id=signer_id))
    openssl("pkeyutl", "-verify", "-pubin", "-inkey", public, "-rawin", "-digest", "sm3",
            "-pkeyopt", _distid(signer_id), "-in", message, "-sigfile", signature)
    wrong = openssl.attempt("pkeyutl", "-verify", "-pubin", "-inkey", public, "-rawin",
                            "-digest", "sm3", "-pkeyopt", _distid(b"someone else"),
                            "-in", message, "-sigfile", signature)
    assert wrong.returncode != 0


@pytest.mark.parametrize("signer_id", INTEROP_IDS)
def test_openssl_signature_verifies_in_ours(openssl: OpenSSLCommand, tmp_path: Path,
                                            key: SM2PrivateKey, signer_id: bytes) -> None:
    private, _ = _write_keys(tmp_path, key)
    message = tmp_path / "message"
    message.write_bytes(os.urandom(300))
    signature = openssl("pkeyutl", "-sign", "-inkey", private, "-rawin", "-digest", "sm3",
                        "-pkeyopt", _distid(signer_id), "-in", message)
    key.public_key().verify(signature, message.read_bytes(), signer_id=signer_id)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, message.read_bytes(), signer_id=b"someone else")


def test_openssl_signature_with_binary_signer_id_verifies_in_ours(
        openssl: OpenSSLCommand, tmp_path: Path, key: SM2PrivateKey) -> None:
    private, _ = _write_keys(tmp_path, key)
    signer_id = bytes(range(1, 40))
    message = tmp_path / "message"
    message.write_bytes(b"binary id")
    signature = openssl("pkeyutl", "-sign", "-inkey", private, "-rawin", "-digest", "sm3",
                        "-pkeyopt", f"hexdistid:{signer_id.hex()}", "-in", message)
    key.public_key().verify(signature, b"binary id", signer_id=signer_id)


@pytest.mark.parametrize("size", [1, 32, 1000])
def test_our_ciphertext_decrypts_in_openssl(openssl: OpenSSLCommand, tmp_path: Path,
                                            key: SM2PrivateKey, size: int) -> None:
    private, _ = _write_keys(tmp_path, key)
    plaintext = os.urandom(size)
    ciphertext = tmp_path / "ciphertext"
    ciphertext.write_bytes(key.public_key().encrypt(plaintext))
    assert openssl("pkeyutl", "-decrypt", "-inkey", private, "-in", ciphertext) == plaintext


@pytest.mark.parametrize("size", [1, 32, 1000])
def test_openssl_ciphertext_decrypts_in_ours(openssl: OpenSSLCommand, tmp_path: Path,
                                             key: SM2PrivateKey, size: int) -> None:
    _, public = _write_keys(tmp_path, key)
    plaintext = tmp_path / "plaintext"
    plaintext.write_bytes(os.urandom(size))
    ciphertext = openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", public, "-in", plaintext)
    assert key.decrypt(ciphertext) == plaintext.read_bytes()
