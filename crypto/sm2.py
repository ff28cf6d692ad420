"""SM2 public-key cryptography (GB/T 32918, GM/T 0003) through the system libcrypto.

Key objects follow pyca/cryptography's style: typed private and public keys, explicit
encodings, one ``InvalidSignature``. Signatures are SM2 with SM3 over Z(ID) || M; the
signer ID is always set explicitly (default ``1234567812345678``, GM/T 0009).
Ciphertexts use the GM/T 0009 ASN.1 form (C1C3C2) that OpenSSL produces and checks.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import enum

from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem

from crypto import _libcrypto as _l
from crypto.errors import CryptoError, DecryptionError, InvalidKey, InvalidSignature

lib = _l.lib

DEFAULT_SIGNER_ID = b"1234567812345678"
CURVE_OID = "1.2.156.10197.1.301"
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
KEY_SIZE = 32  # bytes of a scalar or coordinate
MAX_SIGNER_ID_SIZE = 8190  # bytes; see _check_id
# Order n of the SM2 curve (GB/T 32918.5), used to check raw signature values.
CURVE_ORDER = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123

if "sm2" not in asn1_keys.NamedCurve._map.values():  # asn1crypto has no lookup API
    asn1_keys.NamedCurve.register("sm2", CURVE_OID, KEY_SIZE)


class Encoding(enum.Enum):
    """Serialisation of keys: PKCS#8 for private keys, SubjectPublicKeyInfo for public."""

    PEM = "PEM"
    DER = "DER"


class SignatureEncoding(enum.Enum):
    """DER ``SEQUENCE{r, s}`` (X.509, ledger, records) or raw ``r || s`` (JWS)."""

    DER = "DER"
    RAW = "RAW"


def _check_id(signer_id: bytes) -> bytes:
    if not isinstance(signer_id, bytes):
        raise TypeError("signer_id must be bytes")
    # ENTL is a 16-bit count of bits. The empty ID is allowed because OpenSSL 1.1.1-3.x
    # signs and verifies X.509 certificates, CSRs and CRLs with it unless told otherwise.
    # libcrypto refuses IDs of UINT16_MAX / 8 = 8191 bytes or more, one byte short of
    # what ENTL could count, so the bound is 8190.
    if len(signer_id) > MAX_SIGNER_ID_SIZE:
        raise ValueError(f"signer_id must be at most {MAX_SIGNER_ID_SIZE} bytes")
    return signer_id


def _digest_ctx(pkey: int, signer_id: bytes, *, sign: bool) -> tuple[int, int]:
    """An EVP_MD_CTX for SM2-with-SM3 over Z(signer_id), and its EVP_PKEY_CTX."""
    pctx = _l.not_null(lib.EVP_PKEY_CTX_new(pkey, None), CryptoError, "EVP_PKEY_CTX_new")
    mctx = lib.EVP_MD_CTX_new()
    if not mctx:
        lib.EVP_PKEY_CTX_free(pctx)
        raise MemoryError("EVP_MD_CTX_new")
    # Ownership of pctx passes to mctx once set; EVP_MD_CTX_free does not free a ctx
    # installed with EVP_MD_CTX_set_pkey_ctx, so the caller frees both.
    try:
        _l.check(lib.EVP_PKEY_CTX_set1_id(pctx, signer_id, len(signer_id)), CryptoError,
                 "setting the SM2 signer ID")
        lib.EVP_MD_CTX_set_pkey_ctx(mctx, pctx)
        init = lib.EVP_DigestSignInit if sign else lib.EVP_DigestVerifyInit
        _l.check(init(mctx, None, _l.sm3_md(), None, pkey), CryptoError,
                 "initialising SM2 with SM3")
    except BaseException:
        lib.EVP_MD_CTX_free(mctx)
        lib.EVP_PKEY_CTX_free(pctx)
        raise
    return mctx, pctx


def _free_digest_ctx(mctx: int, pctx: int) -> None:
    lib.EVP_MD_CTX_free(mctx)
    lib.EVP_PKEY_CTX_free(pctx)


def _pkey_op(pkey: int, init_name: str, op_name: str, data: bytes, error: type[CryptoError],
             what: str) -> bytes:
    ctx = _l.not_null(lib.EVP_PKEY_CTX_new(pkey, None), CryptoError, "EVP_PKEY_CTX_new")
    try:
        _l.check(getattr(lib, init_name)(ctx), error, what)
        op = getattr(lib, op_name)
        out_len = ctypes.c_size_t(0)
        _l.check(op(ctx, None, ctypes.byref(out_len), data, len(data)), error, what)
        out = ctypes.create_string_buffer(out_len.value)
        _l.check(op(ctx, out, ctypes.byref(out_len), data, len(data)), error, what)
        return out.raw[: out_len.value]
    finally:
        lib.EVP_PKEY_CTX_free(ctx)


def _require_sm2(pkey: int, what: str) -> None:
    if lib.EVP_PKEY_is_a(pkey, b"SM2") != 1:
        lib.EVP_PKEY_free(pkey)
        raise InvalidKey(f"{what} is not an SM2 key")


def _validate(pkey: int, *, private: bool) -> None:
    ctx = _l.not_null(lib.EVP_PKEY_CTX_new(pkey, None), InvalidKey, "EVP_PKEY_CTX_new")
    try:
        check = lib.EVP_PKEY_check if private else lib.EVP_PKEY_public_check
        if check(ctx) != 1:
            reason = _l.drain_errors()
            raise InvalidKey("SM2 key failed validation" + (f": {reason}" if reason else ""))
    finally:
        lib.EVP_PKEY_CTX_free(ctx)


def _int_der(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 8) // 8 or 1, "big")
    return b"\x02" + bytes([len(body)]) + body


def raw_to_der_signature(raw: bytes) -> bytes:
    """Convert a 64-byte ``r || s`` signature into DER ``SEQUENCE{r, s}``."""
    if len(raw) != 2 * KEY_SIZE:
        raise InvalidSignature("a raw SM2 signature is exactly 64 bytes")
    r = int.from_bytes(raw[:KEY_SIZE], "big")
    s = int.from_bytes(raw[KEY_SIZE:], "big")
    body = _int_der(r) + _int_der(s)
    return b"\x30" + bytes([len(body)]) + body


def der_to_raw_signature(der: bytes) -> bytes:
    """Convert DER ``SEQUENCE{r, s}`` into 64-byte ``r || s``; strict DER only."""
    try:
        if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2:
            raise ValueError
        pos, values = 2, []
        for _ in range(2):
            if der[pos] != 0x02:
                raise ValueError
            length = der[pos + 1]
            body = der[pos + 2: pos + 2 + length]
            if length == 0 or len(body) != length or length > KEY_SIZE + 1:
                raise ValueError
            # Minimal encoding: no superfluous leading zero, and non-negative.
            if body[0] & 0x80 or (length > 1 and body[0] == 0 and not body[1] & 0x80):
                raise ValueError
            values.append(int.from_bytes(body, "big"))
            pos += 2 + length
        if pos != len(der):
            raise ValueError
    except (ValueError, IndexError):
        raise InvalidSignature("malformed DER SM2 signature") from None
    r, s = values
    if not (0 < r < CURVE_ORDER and 0 < s < CURVE_ORDER):
        raise InvalidSignature("SM2 signature values out of range")
    return r.to_bytes(KEY_SIZE, "big") + s.to_bytes(KEY_SIZE, "big")


class _SM2Cipher(asn1_core.Sequence):  # type: ignore[misc]  # asn1crypto has no types
    """GM/T 0009 SM2Cipher: SEQUENCE { x INTEGER, y INTEGER, C3 OCTET STRING, C2 OCTET
    STRING }."""

    _fields = [  # noqa: RUF012 - asn1crypto's declaration style
        ("x", asn1_core.Integer),
        ("y", asn1_core.Integer),
        ("hash", asn1_core.OctetString),
        ("ciphertext", asn1_core.OctetString),
    ]


def _require_der_ciphertext(ciphertext: bytes) -> None:
    """Reject anything but the one DER encoding of an SM2Cipher.

    libcrypto's decoder ignores bytes after the SEQUENCE and accepts BER lengths, so
    without this check one ciphertext would have many encodings that all decrypt.
    """
    try:
        canonical = _SM2Cipher.load(ciphertext, strict=True).dump(force=True)
    except (ValueError, TypeError):
        raise DecryptionError("malformed SM2 ciphertext") from None
    if canonical != ciphertext:
        raise DecryptionError("SM2 ciphertext is not in DER")


class SM2PublicKey:
    """An SM2 public key; validated (on the curve, right order) when loaded."""

    __slots__ = ("_owned",)

    def __init__(self, _owned: _l.Owned) -> None:
        self._owned = _owned

    @property
    def _pkey(self) -> int:
        return self._owned.ptr

    @classmethod
    def from_der(cls, der: bytes) -> SM2PublicKey:
        """Load a DER SubjectPublicKeyInfo."""
        if not isinstance(der, bytes) or not der:
            raise InvalidKey("empty public key")
        buf = ctypes.c_char_p(der)
        pkey = lib.d2i_PUBKEY(None, ctypes.byref(buf), len(der))
        pkey = _l.not_null(pkey, InvalidKey, "not a DER SubjectPublicKeyInfo")
        _require_sm2(pkey, "public key")
        key = cls(_l.pkey_owned(pkey))
        _validate(pkey, private=False)
        return key

    @classmethod
    def from_point(cls, point: bytes) -> SM2PublicKey:
        """Load an uncompressed point ``04 || x || y`` (65 bytes)."""
        if len(point) != 1 + 2 * KEY_SIZE or point[0] != 4:
            raise InvalidKey("an SM2 public point is 65 bytes starting with 0x04")
        info = asn1_keys.PublicKeyInfo({
            "algorithm": {"algorithm": "ec", "parameters": ("named", "sm2")},
            "public_key": point,
        })
        return cls.from_der(info.dump())

    def public_bytes(self, encoding: Encoding) -> bytes:
        """SubjectPublicKeyInfo in PEM or DER."""
        der = _spki_der(self._pkey)
        if encoding is Encoding.DER:
            return der
        if encoding is Encoding.PEM:
            return _pem("PUBLIC KEY", der)
        raise TypeError("encoding must be an Encoding")

    def point(self) -> bytes:
        """The uncompressed point ``04 || x || y``."""
        info = asn1_keys.PublicKeyInfo.load(self.public_bytes(Encoding.DER))
        return bytes(info["public_key"])

    def verify(self, signature: bytes, data: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID,
               encoding: SignatureEncoding = SignatureEncoding.DER) -> None:
        """Raise ``InvalidSignature`` unless ``signature`` is this key's over ``data``."""
        _check_id(signer_id)
        if encoding is SignatureEncoding.RAW:
            der = raw_to_der_signature(signature)
        elif encoding is SignatureEncoding.DER:
            der_to_raw_signature(signature)  # strict DER and range checks first
            der = signature
        else:
            raise TypeError("encoding must be a SignatureEncoding")
        mctx, pctx = _digest_ctx(self._pkey, signer_id, sign=False)
        try:
            ok = lib.EVP_DigestVerify(mctx, der, len(der), data, len(data))
        finally:
            _free_digest_ctx(mctx, pctx)
        if ok != 1:
            _l.drain_errors()
            raise InvalidSignature("SM2 signature does not verify")

    def encrypt(self, plaintext: bytes) -> bytes:
        """SM2 encryption; returns the GM/T 0009 ASN.1 ciphertext (C1C3C2)."""
        if not plaintext:
            raise ValueError("SM2 cannot encrypt an empty message")
        return _pkey_op(self._pkey, "EVP_PKEY_encrypt_init", "EVP_PKEY_encrypt", plaintext,
                        CryptoError, "SM2 encryption failed")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SM2PublicKey):
            return NotImplemented
        return self.public_bytes(Encoding.DER) == other.public_bytes(Encoding.DER)

    def __hash__(self) -> int:
        return hash(self.public_bytes(Encoding.DER))


class SM2PrivateKey:
    """An SM2 private key held by libcrypto; callers that must never see it use a
    key provider instead (see crypto.keys)."""

    __slots__ = ("_owned", "_public")

    def __init__(self, _owned: _l.Owned) -> None:
        self._owned = _owned
        self._public: SM2PublicKey | None = None

    @property
    def _pkey(self) -> int:
        return self._owned.ptr

    @classmethod
    def generate(cls) -> SM2PrivateKey:
        ctx = _l.not_null(lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None), CryptoError,
                          "SM2 key generation")
        try:
            _l.check(lib.EVP_PKEY_keygen_init(ctx), CryptoError, "SM2 key generation")
            out = ctypes.c_void_p()
            _l.check(lib.EVP_PKEY_generate(ctx, ctypes.byref(out)), CryptoError,
                     "SM2 key generation")
        finally:
            lib.EVP_PKEY_CTX_free(ctx)
        return cls(_l.pkey_owned(out.value or 0))

    @classmethod
    def from_der(cls, der: bytes) -> SM2PrivateKey:
        """Load a DER PKCS#8 (or SEC 1) private key; the key is validated."""
        if not isinstance(der, bytes) or not der:
            raise InvalidKey("empty private key")
        buf = ctypes.c_char_p(der)
        pkey = lib.d2i_AutoPrivateKey(None, ctypes.byref(buf), len(der))
        pkey = _l.not_null(pkey, InvalidKey, "not a DER private key")
        _require_sm2(pkey, "private key")
        key = cls(_l.pkey_owned(pkey))
        _validate(pkey, private=True)
        return key

    @classmethod
    def from_scalar(cls, scalar: bytes) -> SM2PrivateKey:
        """Load a private key from its 32-byte big-endian scalar d (1 <= d < n - 1)."""
        if len(scalar) != KEY_SIZE:
            raise InvalidKey("an SM2 private scalar is 32 bytes")
        d = int.from_bytes(scalar, "big")
        if not 1 <= d < CURVE_ORDER - 1:
            raise InvalidKey("SM2 private scalar out of range")
        ec = asn1_keys.ECPrivateKey({"version": "ecPrivkeyVer1", "private_key": d,
                                     "parameters": ("named", "sm2")})
        return cls.from_der(ec.dump())

    def private_bytes(self, encoding: Encoding) -> bytes:
        """Unencrypted PKCS#8, PEM or DER. Only key ceremonies and providers call this."""
        bio = _l.not_null(lib.BIO_new(lib.BIO_s_mem()), CryptoError, "BIO_new")
        try:
            _l.check(lib.i2d_PKCS8PrivateKey_bio(bio, self._pkey, None, None, 0, None, None),
                     CryptoError, "PKCS#8 serialisation")
            der = _l.bio_read_all(bio)
        finally:
            lib.BIO_free(bio)
        if encoding is Encoding.DER:
            return der
        if encoding is Encoding.PEM:
            return _pem("PRIVATE KEY", der)
        raise TypeError("encoding must be an Encoding")

    def scalar(self) -> bytes:
        """The 32-byte private scalar d (for JWK export by key ceremonies only)."""
        info = asn1_keys.PrivateKeyInfo.load(self.private_bytes(Encoding.DER))
        return int(info["private_key"].parsed["private_key"].native).to_bytes(KEY_SIZE, "big")

    def public_key(self) -> SM2PublicKey:
        if self._public is None:
            self._public = SM2PublicKey.from_der(_spki_der(self._pkey))
        return self._public

    def sign(self, data: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID,
             encoding: SignatureEncoding = SignatureEncoding.DER) -> bytes:
        """SM2 signature with SM3 over Z(signer_id) || data."""
        _check_id(signer_id)
        mctx, pctx = _digest_ctx(self._pkey, signer_id, sign=True)
        try:
            size = ctypes.c_size_t(0)
            _l.check(lib.EVP_DigestSign(mctx, None, ctypes.byref(size), data, len(data)),
                     CryptoError, "SM2 signing")
            out = ctypes.create_string_buffer(size.value)
            _l.check(lib.EVP_DigestSign(mctx, out, ctypes.byref(size), data, len(data)),
                     CryptoError, "SM2 signing")
        finally:
            _free_digest_ctx(mctx, pctx)
        der = out.raw[: size.value]
        if encoding is SignatureEncoding.DER:
            return der
        if encoding is SignatureEncoding.RAW:
            return der_to_raw_signature(der)
        raise TypeError("encoding must be a SignatureEncoding")

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Decrypt a GM/T 0009 ciphertext; C3 (the SM3 check value) is verified."""
        if not ciphertext:
            raise DecryptionError("empty SM2 ciphertext")
        _require_der_ciphertext(ciphertext)
        return _pkey_op(self._pkey, "EVP_PKEY_decrypt_init", "EVP_PKEY_decrypt", ciphertext,
                        DecryptionError, "SM2 decryption failed")


def _pem(label: str, der: bytes) -> bytes:
    return bytes(asn1_pem.armor(label, der))


def pem_to_der(pem: bytes, label: str) -> bytes:
    """The DER inside the first PEM block labelled ``label``; ``InvalidKey`` if none."""
    begin, end = f"-----BEGIN {label}-----".encode(), f"-----END {label}-----".encode()
    start = pem.find(begin)
    stop = pem.find(end, start + len(begin))
    if start < 0 or stop < 0:
        raise InvalidKey(f"no PEM block labelled {label}")
    try:
        return base64.b64decode(b"".join(pem[start + len(begin): stop].split()), validate=True)
    except binascii.Error:
        raise InvalidKey(f"corrupt base64 in PEM block {label}") from None


def load_pem_private_key(pem: bytes) -> SM2PrivateKey:
    """Load an unencrypted PKCS#8 (``PRIVATE KEY``) or SEC 1 (``EC PRIVATE KEY``) PEM.

    SEC 1 is also accepted as ``SM2 PRIVATE KEY``, the label OpenSSL 3 gives it
    (``openssl ec``, ``openssl pkey -traditional``).
    """
    label = next((f"{kind} PRIVATE KEY" for kind in ("EC", "SM2")
                  if f"-----BEGIN {kind} PRIVATE KEY-----".encode() in pem), "PRIVATE KEY")
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in pem:
        raise InvalidKey("encrypted PEM private keys are not supported; decrypt it first")
    return SM2PrivateKey.from_der(pem_to_der(pem, label))


def load_der_private_key(der: bytes) -> SM2PrivateKey:
    return SM2PrivateKey.from_der(der)


def load_pem_public_key(pem: bytes) -> SM2PublicKey:
    """Load a SubjectPublicKeyInfo PEM (``PUBLIC KEY``)."""
    return SM2PublicKey.from_der(pem_to_der(pem, "PUBLIC KEY"))


def load_der_public_key(der: bytes) -> SM2PublicKey:
    return SM2PublicKey.from_der(der)


lib.CRYPTO_free.restype = None
lib.CRYPTO_free.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]


def _spki_der(pkey: int) -> bytes:
    """The DER SubjectPublicKeyInfo of a (public or private) EVP_PKEY."""
    out = ctypes.c_char_p()
    length = lib.i2d_PUBKEY(pkey, ctypes.byref(out))
    if length <= 0:
        raise CryptoError("i2d_PUBKEY failed: " + _l.drain_errors())
    # OpenSSL allocated the buffer: copy it out, then free it with CRYPTO_free.
    der = ctypes.string_at(out, length)
    lib.CRYPTO_free(ctypes.cast(out, ctypes.c_void_p), b"", 0)
    return der
