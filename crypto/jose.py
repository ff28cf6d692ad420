"""JOSE with SM2: JWK import/export (SM2, EC P-256, RSA), JWK Sets, the JWS algorithm
``"SM2"`` registered with PyJWT, and strict JWT signing and verification.

There is no IANA registration for SM2 in JOSE; this module fixes the project's rules
(docs/crypto.md carries them as an interop spec):

* JWK (RFC 7517): ``{"kty": "EC", "crv": "SM2", "x": ..., "y": ...}``, ``x`` and ``y``
  the 32-byte big-endian affine coordinates in unpadded base64url; a private JWK adds the
  32-byte scalar ``"d"``. The point must lie on the SM2 curve (GB/T 32918.5).
* JWS ``alg: "SM2"`` (RFC 7515): SM2 signature with SM3 over Z(ID) || signing input,
  ID = ``1234567812345678`` (GM/T 0009), the signature encoded as raw ``r || s``
  (2 x 32 bytes, big-endian) before base64url - the same shape as ES256 (RFC 7518 3.4).
* RFC 7638 thumbprint of an SM2 key: SHA-256 over ``{"crv","kty","x","y"}`` in that
  (lexicographic) order, exactly like an EC key.

Importing this module registers ``SM2Algorithm`` with PyJWT's global ``jwt`` functions
(idempotently). ``decode_jwt`` is the verification entry point the rest of the project
uses: it refuses ``alg: none``, algorithms outside the caller's allow-list, alg/key-type
confusion, HMAC unless the caller holds an explicit ``HMACSecret``, ``crit`` headers and
missing or unknown ``kid`` values before PyJWT checks the signature and the claims.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, TypeGuard, overload

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import Algorithm
from jwt.exceptions import InvalidJTIError, InvalidKeyError, InvalidSubjectError

from crypto.errors import CryptoError, InvalidKey, InvalidSignature, InvalidToken, KeyNotFound
from crypto.keys.provider import SM2Signer
from crypto.sm2 import (
    DEFAULT_SIGNER_ID,
    KEY_SIZE,
    SignatureEncoding,
    SM2PrivateKey,
    SM2PublicKey,
    load_pem_private_key,
    load_pem_public_key,
)

ALG_SM2 = "SM2"
ALG_ES256 = "ES256"
ALG_RS256 = "RS256"
ALG_HS256 = "HS256"
ASYMMETRIC_ALGORITHMS = frozenset({ALG_SM2, ALG_ES256, ALG_RS256})
SUPPORTED_ALGORITHMS = ASYMMETRIC_ALGORITHMS | {ALG_HS256}

CRV_SM2 = "SM2"
CRV_P256 = "P-256"
SM2_SIGNATURE_SIZE = 2 * KEY_SIZE
MIN_RSA_BITS = 2048
MIN_HMAC_SECRET = 32  # RFC 7518 3.2: an HS256 key is at least as long as the hash
MAX_TOKEN_LENGTH = 64 * 1024  # an ID or access token is a few kB; refuse to parse more
DEFAULT_LEEWAY = dt.timedelta(seconds=30)
DEFAULT_REQUIRED_CLAIMS: tuple[str, ...] = ("exp",)

PublicKey: TypeAlias = SM2PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey: TypeAlias = SM2PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
JWKDict: TypeAlias = dict[str, Any]

_RSA_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")
_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


# --------------------------------------------------------------------------- encodings


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: object, what: str, error: type[CryptoError]) -> bytes:
    """Strict unpadded base64url: no padding, no other alphabet, canonical trailing bits."""
    if not isinstance(text, str):
        raise error(f"{what} must be a base64url string")
    if len(text) % 4 == 1 or not set(text) <= _B64URL_ALPHABET:
        raise error(f"{what} is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise error(f"{what} is not unpadded base64url") from None
    if b64url_encode(data) != text:
        raise error(f"{what} is not canonical base64url")
    return data


def _uint_encode(value: int) -> str:
    """An RSA integer as base64url of its minimal big-endian bytes (RFC 7518 6.3.1)."""
    return b64url_encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def _uint_decode(jwk: Mapping[str, Any], name: str) -> int:
    data = _b64url_decode(jwk.get(name), f"JWK member {name!r}", InvalidKey)
    if not data:
        raise InvalidKey(f"JWK member {name!r} is empty")
    return int.from_bytes(data, "big")


class _DuplicateMember(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name, value in pairs:
        if name in obj:
            raise _DuplicateMember(name)
        obj[name] = value
    return obj


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_object(data: str | bytes, what: str, error: type[CryptoError],
                 **details: str) -> dict[str, Any]:
    """Parse a JSON object, refusing duplicate member names (RFC 7515 5.2 allows us to)
    so that no two parsers can read different values out of one token."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, object_pairs_hook=_reject_duplicates,
                           parse_constant=_reject_constant)
    except _DuplicateMember as dup:
        raise error(f"{what} has a duplicate member {dup.args[0]!r}", **details) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise error(f"{what} is not valid JSON", **details) from None
    if not isinstance(value, dict):
        raise error(f"{what} is not a JSON object", **details)
    return value


# --------------------------------------------------------------------------- JWK


def _sm2_members(key: SM2PublicKey) -> JWKDict:
    point = key.point()
    return {"kty": "EC", "crv": CRV_SM2, "x": b64url_encode(point[1:1 + KEY_SIZE]),
            "y": b64url_encode(point[1 + KEY_SIZE:])}


def _p256_members(key: ec.EllipticCurvePublicKey) -> JWKDict:
    if not isinstance(key.curve, ec.SECP256R1):
        raise InvalidKey(f"only P-256 EC keys are supported, not {key.curve.name}")
    numbers = key.public_numbers()
    return {"kty": "EC", "crv": CRV_P256, "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big"))}


def _rsa_members(key: rsa.RSAPublicKey) -> JWKDict:
    numbers = key.public_numbers()
    return {"kty": "RSA", "n": _uint_encode(numbers.n), "e": _uint_encode(numbers.e)}


def _is_sm2_signer(key: object) -> TypeGuard[SM2Signer]:
    """True for an SM2PrivateKey or provider handle. The ``SM2Signer`` protocol alone is
    not enough: cryptography's EC and Ed25519 private keys also have ``sign`` and
    ``public_key`` methods."""
    if isinstance(key, SM2PrivateKey):
        return True
    return isinstance(key, SM2Signer) and isinstance(key.public_key(), SM2PublicKey)


def _public_part(key: PublicKey | PrivateKey | SM2Signer) -> PublicKey:
    """The public key of a public key, a private key or a provider handle."""
    if isinstance(key, SM2PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return key.public_key()
    if _is_sm2_signer(key):  # SM2PrivateKey and every provider handle
        return key.public_key()
    raise InvalidKey(f"not an SM2, EC or RSA key: {type(key).__name__}")


def _public_members(key: PublicKey) -> JWKDict:
    if isinstance(key, SM2PublicKey):
        return _sm2_members(key)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _p256_members(key)
    if isinstance(key, rsa.RSAPublicKey):
        return _rsa_members(key)
    raise InvalidKey(f"not an SM2, EC or RSA public key: {type(key).__name__}")


def algorithm_for_key(key: PublicKey | PrivateKey | SM2Signer) -> str:
    """The one JWS ``alg`` this project uses with a key: SM2, ES256 (P-256) or RS256."""
    public = _public_part(key)
    if isinstance(public, SM2PublicKey):
        return ALG_SM2
    if isinstance(public, ec.EllipticCurvePublicKey):
        if not isinstance(public.curve, ec.SECP256R1):
            raise InvalidKey(f"only P-256 EC keys are supported, not {public.curve.name}")
        return ALG_ES256
    return ALG_RS256


def thumbprint(key: PublicKey | PrivateKey | SM2Signer | Mapping[str, Any], *,
               digest: Literal["sha256", "sm3"] = "sha256") -> str:
    """RFC 7638 JWK thumbprint, base64url.

    The required members are hashed as compact JSON in lexicographic order:
    ``crv, kty, x, y`` for SM2 and EC keys, ``e, kty, n`` for RSA. SHA-256 by default
    (what RFC 9278 thumbprint URIs and most verifiers assume); SM3 on request.
    """
    if isinstance(key, Mapping):
        key = load_public_jwk({name: value for name, value in key.items()
                               if name not in _RSA_PRIVATE_MEMBERS})
    members = _public_members(_public_part(key))
    required = ("e", "kty", "n") if members["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({name: members[name] for name in required},
                           separators=(",", ":"), sort_keys=True).encode("ascii")
    if digest == "sha256":
        return b64url_encode(hashlib.sha256(canonical).digest())
    if digest == "sm3":
        h = hashes.Hash(hashes.SM3())
        h.update(canonical)
        return b64url_encode(h.finalize())
    raise ValueError("digest must be 'sha256' or 'sm3'")


def public_jwk(key: PublicKey | PrivateKey | SM2Signer, *, kid: str | None = None,
               use: str | None = "sig", alg: str | None = None) -> JWKDict:
    """The public JWK of a key (a private key or provider handle gives its public half).

    ``kid`` defaults to the RFC 7638 thumbprint; ``alg`` to the key's algorithm.
    Never carries a private member.
    """
    public = _public_part(key)
    jwk = _public_members(public)
    jwk["kid"] = kid if kid is not None else thumbprint(public)
    if use is not None:
        jwk["use"] = use
    jwk["alg"] = alg if alg is not None else algorithm_for_key(public)
    _check_alg_member(jwk, public)
    return jwk


def private_jwk(key: PrivateKey, *, kid: str | None = None) -> JWKDict:
    """The private JWK of an exportable key. Only key ceremonies use this: provider
    handles never export, so they are refused here."""
    if isinstance(key, SM2PrivateKey):
        jwk = _sm2_members(key.public_key())
        jwk["d"] = b64url_encode(key.scalar())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = _p256_members(key.public_key())
        jwk["d"] = b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))
    elif isinstance(key, rsa.RSAPrivateKey):
        nums = key.private_numbers()
        jwk = _rsa_members(key.public_key())
        jwk.update({"d": _uint_encode(nums.d), "p": _uint_encode(nums.p),
                    "q": _uint_encode(nums.q), "dp": _uint_encode(nums.dmp1),
                    "dq": _uint_encode(nums.dmq1), "qi": _uint_encode(nums.iqmp)})
    else:
        raise InvalidKey(f"cannot export a private JWK of {type(key).__name__}")
    jwk["kid"] = kid if kid is not None else thumbprint(key)
    return jwk


def _jwk_mapping(jwk: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(jwk, str | bytes):
        return _json_object(jwk, "JWK", InvalidKey)
    if not isinstance(jwk, Mapping):
        raise InvalidKey("a JWK is a JSON object")
    return jwk


def _coordinate(jwk: Mapping[str, Any], name: str) -> bytes:
    # RFC 7518 6.2.1.2: coordinates are the full field size, leading zeros included.
    value = _b64url_decode(jwk.get(name), f"JWK member {name!r}", InvalidKey)
    if len(value) != KEY_SIZE:
        raise InvalidKey(f"JWK member {name!r} must encode exactly {KEY_SIZE} bytes")
    return value


def _load_ec_public(jwk: Mapping[str, Any]) -> SM2PublicKey | ec.EllipticCurvePublicKey:
    crv = jwk.get("crv")
    x, y = _coordinate(jwk, "x"), _coordinate(jwk, "y")
    if crv == CRV_SM2:
        try:
            return SM2PublicKey.from_point(b"\x04" + x + y)
        except InvalidKey:
            raise InvalidKey("JWK point is not on the SM2 curve") from None
    if crv == CRV_P256:
        try:
            return ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            ).public_key()
        except ValueError:
            raise InvalidKey("JWK point is not on the P-256 curve") from None
    raise InvalidKey(f"unsupported EC curve {crv!r} (supported: SM2, P-256)")


def _load_rsa_public(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    n, e = _uint_decode(jwk, "n"), _uint_decode(jwk, "e")
    if n.bit_length() < MIN_RSA_BITS:
        raise InvalidKey(f"RSA keys must have at least {MIN_RSA_BITS} bits")
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise InvalidKey(f"invalid RSA public key: {exc}") from None


def _check_alg_member(jwk: Mapping[str, Any], key: PublicKey) -> None:
    alg = jwk.get("alg")
    if alg is not None and alg != algorithm_for_key(key):
        raise InvalidKey(f"JWK alg {alg!r} does not fit a key that uses "
                         f"{algorithm_for_key(key)!r}")


def load_public_jwk(jwk: Mapping[str, Any] | str | bytes) -> PublicKey:
    """An SM2, P-256 or RSA public key from its JWK; private JWKs are refused."""
    data = _jwk_mapping(jwk)
    kty = data.get("kty")
    if kty == "EC":
        if "d" in data:
            raise InvalidKey("private JWK where a public key is expected")
        key: PublicKey = _load_ec_public(data)
    elif kty == "RSA":
        if any(name in data for name in _RSA_PRIVATE_MEMBERS):
            raise InvalidKey("private JWK where a public key is expected")
        key = _load_rsa_public(data)
    elif kty == "oct":
        raise InvalidKey("symmetric JWK where a public key is expected")
    else:
        raise InvalidKey(f"unsupported JWK kty {kty!r} (supported: EC, RSA)")
    _check_alg_member(data, key)
    return key


def load_private_jwk(jwk: Mapping[str, Any] | str | bytes) -> PrivateKey:
    """An SM2, P-256 or RSA private key from its JWK; the public members must match."""
    data = _jwk_mapping(jwk)
    kty = data.get("kty")
    if kty == "EC":
        if "d" not in data:
            raise InvalidKey("public JWK where a private key is expected")
        public = _load_ec_public(data)
        scalar = _b64url_decode(data["d"], "JWK member 'd'", InvalidKey)
        if len(scalar) != KEY_SIZE:
            raise InvalidKey(f"JWK member 'd' must encode exactly {KEY_SIZE} bytes")
        private: PrivateKey
        if isinstance(public, SM2PublicKey):
            private = SM2PrivateKey.from_scalar(scalar)
            if private.public_key() != public:
                raise InvalidKey("JWK 'd' does not match its public point")
        else:
            d = int.from_bytes(scalar, "big")
            try:
                private = ec.derive_private_key(d, ec.SECP256R1())
            except ValueError:
                raise InvalidKey("JWK 'd' is out of range for P-256") from None
            if private.public_key().public_numbers() != public.public_numbers():
                raise InvalidKey("JWK 'd' does not match its public point")
    elif kty == "RSA":
        if "oth" in data:
            raise InvalidKey("multi-prime RSA JWKs are not supported")
        missing = [m for m in _RSA_PRIVATE_MEMBERS[:-1] if m not in data]
        if missing:
            raise InvalidKey(f"RSA private JWK lacks {', '.join(missing)}")
        public_rsa = _load_rsa_public(data)
        try:
            private = rsa.RSAPrivateNumbers(
                p=_uint_decode(data, "p"), q=_uint_decode(data, "q"),
                d=_uint_decode(data, "d"), dmp1=_uint_decode(data, "dp"),
                dmq1=_uint_decode(data, "dq"), iqmp=_uint_decode(data, "qi"),
                public_numbers=public_rsa.public_numbers(),
            ).private_key()
        except ValueError as exc:
            raise InvalidKey(f"inconsistent RSA private JWK: {exc}") from None
    elif kty == "oct":
        raise InvalidKey("symmetric JWKs are not loaded as private keys; use HMACSecret")
    else:
        raise InvalidKey(f"unsupported JWK kty {kty!r} (supported: EC, RSA)")
    _check_alg_member(data, _public_part(private))
    return private


@dataclass(frozen=True)
class JWK:
    """A public verification key as published in a JWK Set."""

    key: PublicKey
    kid: str | None
    alg: str
    use: str | None = "sig"

    def __post_init__(self) -> None:
        if self.alg != algorithm_for_key(self.key):
            raise InvalidKey(f"alg {self.alg!r} does not fit a key that uses "
                             f"{algorithm_for_key(self.key)!r}")

    @classmethod
    def from_key(cls, key: PublicKey | PrivateKey | SM2Signer, *, kid: str | None = None,
                 use: str | None = "sig") -> JWK:
        """Publishable form of a key or provider handle; ``kid`` defaults to its
        RFC 7638 thumbprint."""
        public = _public_part(key)
        return cls(public, kid if kid is not None else thumbprint(public),
                   algorithm_for_key(public), use)

    @classmethod
    def from_dict(cls, jwk: Mapping[str, Any] | str | bytes) -> JWK:
        """A public JWK; ``alg`` defaults to the key type's algorithm when absent."""
        data = _jwk_mapping(jwk)
        key = load_public_jwk(data)
        kid = data.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidKey("JWK kid must be a string")
        use = data.get("use")
        if use is not None and not isinstance(use, str):
            raise InvalidKey("JWK use must be a string")
        return cls(key, kid, data.get("alg") or algorithm_for_key(key), use)

    def to_dict(self) -> JWKDict:
        jwk = _public_members(self.key)
        if self.kid is not None:
            jwk["kid"] = self.kid
        if self.use is not None:
            jwk["use"] = self.use
        jwk["alg"] = self.alg
        return jwk

    def thumbprint(self) -> str:
        return thumbprint(self.key)


@dataclass(frozen=True)
class JWKSet:
    """A JWK Set (RFC 7517 section 5) of public signing keys, mixing SM2, ES256 and
    RS256; ``kid`` values are unique."""

    keys: tuple[JWK, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        kids = [k.kid for k in self.keys if k.kid is not None]
        duplicates = sorted({kid for kid in kids if kids.count(kid) > 1})
        if duplicates:
            raise InvalidKey(f"duplicate kid in JWK Set: {', '.join(duplicates)}")

    @classmethod
    def of(cls, *keys: JWK | PublicKey | PrivateKey | SM2Signer) -> JWKSet:
        """A set from JWKs or keys (keys get their thumbprint as ``kid``)."""
        return cls(tuple(k if isinstance(k, JWK) else JWK.from_key(k) for k in keys))

    @classmethod
    def from_dict(cls, document: Mapping[str, Any] | str | bytes) -> JWKSet:
        """Parse a JWKS document.

        Keys of a type this project does not verify with (``oct``, OKP, curves other
        than SM2/P-256) are skipped, as RFC 7517 5 advises; a supported key that is
        malformed, off its curve, or carries private members fails the whole set.
        """
        doc = (_json_object(document, "JWK Set", InvalidKey)
               if isinstance(document, str | bytes) else document)
        if not isinstance(doc, Mapping):
            raise InvalidKey("a JWK Set is a JSON object")
        entries = doc.get("keys")
        if not isinstance(entries, list):
            raise InvalidKey("a JWK Set has a 'keys' array")
        keys: list[JWK] = []
        for entry in entries:
            if not isinstance(entry, Mapping):
                raise InvalidKey("every JWK Set entry is a JSON object")
            kty, crv = entry.get("kty"), entry.get("crv")
            if kty not in ("EC", "RSA") or (kty == "EC" and crv not in (CRV_SM2, CRV_P256)):
                continue
            keys.append(JWK.from_dict(entry))
        return cls(tuple(keys))

    def to_dict(self) -> dict[str, list[JWKDict]]:
        return {"keys": [k.to_dict() for k in self.keys]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def find(self, kid: str) -> JWK:
        """The key with this ``kid``; ``KeyNotFound`` if none."""
        for key in self.keys:
            if key.kid == kid:
                return key
        raise KeyNotFound(f"no key with kid {kid!r} in the JWK Set")

    def __iter__(self) -> Iterator[JWK]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True, repr=False)
class HMACSecret:
    """A shared secret for HS256. Only this type ever reaches the HMAC algorithm, so a
    public key (PEM or JWK text) can never be reused as an HMAC secret."""

    secret: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) < MIN_HMAC_SECRET:
            raise InvalidKey(f"an HS256 secret is at least {MIN_HMAC_SECRET} bytes")

    def __repr__(self) -> str:
        return "HMACSecret(<redacted>)"


# --------------------------------------------------------------------------- PyJWT


class SM2Algorithm(Algorithm):
    """JWS ``alg: "SM2"`` for PyJWT: SM2 with SM3, Z over ``1234567812345678``, raw
    ``r || s``. Signs with any ``SM2Signer`` (a provider handle never exports its key);
    verifies with an ``SM2PublicKey``. ``compute_hash_digest`` is SM3 (for at_hash)."""

    hash_alg = hashes.SM3

    def prepare_key(self, key: Any) -> SM2Signer | SM2PublicKey:
        if isinstance(key, SM2PublicKey) or _is_sm2_signer(key):
            return key
        if isinstance(key, str):
            key = key.encode("utf-8")
        if isinstance(key, bytes):
            try:
                if b"PRIVATE KEY-----" in key:
                    return load_pem_private_key(key)
                return load_pem_public_key(key)
            except CryptoError as exc:
                raise InvalidKeyError(f"not an SM2 PEM key: {exc}") from None
        raise InvalidKeyError(
            f"alg SM2 needs an SM2 signer or SM2PublicKey, not {type(key).__name__}")

    def sign(self, msg: bytes, key: SM2Signer | SM2PublicKey) -> bytes:
        if not _is_sm2_signer(key):
            raise InvalidKeyError("signing with alg SM2 needs a private key or key handle")
        signature = key.sign(msg, signer_id=DEFAULT_SIGNER_ID, encoding=SignatureEncoding.RAW)
        if len(signature) != SM2_SIGNATURE_SIZE:
            raise InvalidKeyError("the SM2 signer did not return a raw 64-byte signature")
        return signature

    def verify(self, msg: bytes, key: SM2Signer | SM2PublicKey, sig: bytes) -> bool:
        public = key if isinstance(key, SM2PublicKey) else key.public_key()
        if len(sig) != SM2_SIGNATURE_SIZE:
            return False
        try:
            public.verify(sig, msg, signer_id=DEFAULT_SIGNER_ID,
                          encoding=SignatureEncoding.RAW)
        except InvalidSignature:
            return False
        return True

    @overload
    @staticmethod
    def to_jwk(key_obj: Any, as_dict: Literal[True]) -> JWKDict: ...

    @overload
    @staticmethod
    def to_jwk(key_obj: Any, as_dict: Literal[False] = False) -> str: ...

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> JWKDict | str:
        """A private JWK for an ``SM2PrivateKey``; the public JWK for a public key or a
        provider handle (whose private key is never exported)."""
        if isinstance(key_obj, SM2PrivateKey):
            jwk = _sm2_members(key_obj.public_key())
            jwk["d"] = b64url_encode(key_obj.scalar())
        elif isinstance(key_obj, SM2PublicKey):
            jwk = _sm2_members(key_obj)
        elif _is_sm2_signer(key_obj):
            jwk = _sm2_members(key_obj.public_key())
        else:
            raise InvalidKeyError(f"not an SM2 key: {type(key_obj).__name__}")
        return jwk if as_dict else json.dumps(jwk)

    @staticmethod
    def from_jwk(jwk: str | JWKDict) -> SM2PrivateKey | SM2PublicKey:
        try:
            data = _jwk_mapping(jwk)
            if data.get("kty") != "EC" or data.get("crv") != CRV_SM2:
                raise InvalidKey("not an SM2 JWK (kty EC, crv SM2)")
            key = load_private_jwk(data) if "d" in data else load_public_jwk(data)
        except InvalidKey as exc:
            raise InvalidKeyError(str(exc)) from None
        assert isinstance(key, SM2PrivateKey | SM2PublicKey)
        return key


def register_sm2_algorithm() -> None:
    """Register ``SM2Algorithm`` with PyJWT's global ``jwt.encode``/``jwt.decode``;
    calling it again changes nothing."""
    try:
        existing = jwt.get_algorithm_by_name(ALG_SM2)
    except NotImplementedError:
        jwt.register_algorithm(ALG_SM2, SM2Algorithm())
        return
    # Compare by name so that a reloaded module still counts as the same implementation.
    kind = type(existing)
    if (kind.__module__, kind.__qualname__) != (__name__, SM2Algorithm.__qualname__):
        raise CryptoError(f"PyJWT already has another 'SM2' algorithm: {kind.__qualname__}")


register_sm2_algorithm()


# --------------------------------------------------------------------------- JWT

Signer: TypeAlias = SM2Signer | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | HMACSecret
VerificationKeys: TypeAlias = JWKSet | JWK | PublicKey | HMACSecret

_RESERVED_HEADERS = frozenset({"alg", "kid", "crit", "b64"})


def _key_fits(alg: str, key: object, *, signing: bool) -> bool:
    if alg == ALG_SM2:
        return _is_sm2_signer(key) if signing else isinstance(key, SM2PublicKey)
    if alg == ALG_ES256:
        kind = ec.EllipticCurvePrivateKey if signing else ec.EllipticCurvePublicKey
        return isinstance(key, kind) and isinstance(key.curve, ec.SECP256R1)
    if alg == ALG_RS256:
        kind_rsa = rsa.RSAPrivateKey if signing else rsa.RSAPublicKey
        return isinstance(key, kind_rsa) and key.key_size >= MIN_RSA_BITS
    if alg == ALG_HS256:
        return isinstance(key, HMACSecret)
    return False


def encode_jwt(claims: Mapping[str, Any], signer: Signer, *, alg: str, kid: str | None,
               headers: Mapping[str, Any] | None = None) -> str:
    """Sign ``claims`` as a compact JWS: SM2 with any ``SM2Signer`` (provider handle),
    ES256 with a P-256 key, RS256 with an RSA key of 2048+ bits, HS256 only with an
    ``HMACSecret``. ``headers`` may add e.g. ``typ``; ``alg``/``kid`` come from the
    arguments and ``crit``/``b64`` are refused (no verifier here would accept them)."""
    if alg not in SUPPORTED_ALGORITHMS:
        raise ValueError(f"unsupported alg {alg!r}; supported: "
                         f"{', '.join(sorted(SUPPORTED_ALGORITHMS))}")
    if not _key_fits(alg, signer, signing=True):
        raise InvalidKey(f"a {type(signer).__name__} cannot sign with alg {alg}")
    extra = dict(headers or {})
    reserved = sorted(_RESERVED_HEADERS & extra.keys())
    if reserved:
        raise ValueError(f"header members {', '.join(reserved)} cannot be set through "
                         "headers (alg and kid are arguments; crit and b64 are refused)")
    if kid is not None:
        if not isinstance(kid, str) or not kid:
            raise ValueError("kid must be a non-empty string")
        extra["kid"] = kid
    key: Any = signer.secret if isinstance(signer, HMACSecret) else signer
    return jwt.encode(dict(claims), key, algorithm=alg, headers=extra or None)


def _split(token: str | bytes) -> tuple[bytes, bytes, bytes]:
    if isinstance(token, str):
        try:
            token = token.encode("ascii")
        except UnicodeEncodeError:
            raise InvalidToken("token is not ASCII") from None
    if not isinstance(token, bytes):
        raise InvalidToken("token must be str or bytes")
    if not token.isascii():
        raise InvalidToken("token is not ASCII")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken(f"token is longer than {MAX_TOKEN_LENGTH} bytes")
    parts = token.split(b".")
    if len(parts) == 5:
        raise InvalidToken("encrypted JWTs (JWE) are not accepted")
    if len(parts) != 3:
        raise InvalidToken("a signed JWT has exactly three dot-separated parts")
    header, payload, signature = parts
    return header, payload, signature


def _segment(segment: bytes, what: str) -> bytes:
    return _b64url_decode(segment.decode("ascii"), f"JWT {what}", InvalidToken)


def _check_header(header: Mapping[str, Any], algorithms: frozenset[str],
                  typ: str | None) -> str:
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise InvalidToken("JWT header has no alg", reason="algorithm")
    if alg.lower() == "none":
        raise InvalidToken("unsecured JWT (alg none) is never accepted", reason="algorithm")
    if alg not in SUPPORTED_ALGORITHMS:
        raise InvalidToken(f"unsupported alg {alg!r}", reason="algorithm")
    if alg not in algorithms:
        raise InvalidToken(f"alg {alg!r} is not among the allowed algorithms "
                           f"({', '.join(sorted(algorithms))})", reason="algorithm")
    if "crit" in header:
        raise InvalidToken(f"critical header extensions not understood: {header['crit']!r}",
                           reason="header")
    if "b64" in header:
        raise InvalidToken("the b64 header (RFC 7797) is not accepted", reason="header")
    if "kid" in header and not isinstance(header["kid"], str):
        raise InvalidToken("JWT header kid must be a string", reason="header")
    if typ is not None:
        got = header.get("typ")
        if not isinstance(got, str) or _media_type(got) != _media_type(typ):
            raise InvalidToken(f"JWT typ {got!r} is not {typ!r}", reason="header")
    return alg


def _media_type(value: str) -> str:
    # RFC 7515 4.1.9: "application/" may be omitted from typ, and matching is
    # case-insensitive.
    value = value.lower()
    return value[len("application/"):] if value.startswith("application/") else value


def _resolve_key(keys: VerificationKeys, alg: str, kid: str | None) -> object:
    """The key that verifies a token with this alg and kid, or ``InvalidToken``."""
    if isinstance(keys, JWKSet):
        candidates = [k for k in keys if k.use in (None, "sig")]
        if kid is None:
            if len(candidates) != 1:
                raise InvalidToken("JWT header has no kid and the JWK Set has "
                                   f"{len(candidates)} signing keys", reason="key")
            entry = candidates[0]
        else:
            matches = [k for k in candidates if k.kid == kid]
            if not matches:
                raise InvalidToken(f"no signing key with kid {kid!r}", reason="key")
            entry = matches[0]
        keys = entry
    if isinstance(keys, JWK):
        if kid is not None and keys.kid is not None and kid != keys.kid:
            raise InvalidToken(f"no signing key with kid {kid!r}", reason="key")
        if keys.use not in (None, "sig"):
            raise InvalidToken(f"key {keys.kid!r} is not a signing key", reason="key")
        if keys.alg != alg:
            raise InvalidToken(f"alg {alg!r} does not match key {keys.kid!r} "
                               f"(alg {keys.alg!r})", reason="key")
        return keys.key
    return keys


def decode_jwt(token: str | bytes, keys: VerificationKeys, *, algorithms: Collection[str],
               audience: str | Iterable[str] | None = None, issuer: str | None = None,
               subject: str | None = None, leeway: float | dt.timedelta = DEFAULT_LEEWAY,
               required: Iterable[str] = DEFAULT_REQUIRED_CLAIMS,
               typ: str | None = None) -> dict[str, Any]:
    """Verify a compact JWS JWT and return its claims; ``InvalidToken`` otherwise.

    ``keys`` is a JWK Set (a ``kid`` is then needed unless the set has one signing key),
    one JWK or public key, or an ``HMACSecret`` - the latter only with
    ``algorithms=["HS256"]``, and HS256 with nothing else, so that symmetric and
    asymmetric algorithms can never read the same key material. ``algorithms`` is the
    caller's fixed allow-list, never derived from the token. ``required`` claims must be
    present (``exp`` by default); ``exp``/``nbf``/``iat`` are checked with ``leeway``,
    ``aud``/``iss``/``sub`` when given (a token with ``aud`` needs ``audience``), and
    ``typ`` (RFC 8725 explicit typing) when given.
    """
    if isinstance(algorithms, str | bytes):
        raise ValueError("algorithms must be a collection of alg names, not one string")
    allowed = frozenset(algorithms)
    if not allowed:
        raise ValueError("algorithms must be a non-empty collection of alg names")
    unknown = allowed - SUPPORTED_ALGORITHMS
    if unknown:
        raise ValueError(f"unsupported algorithms in allow-list: {', '.join(sorted(unknown))}")
    if isinstance(keys, HMACSecret) != (ALG_HS256 in allowed) or (
            ALG_HS256 in allowed and len(allowed) > 1):
        raise ValueError("HS256 is allowed only alone and only with an HMACSecret key")

    header_b64, payload_b64, _ = _split(token)
    header = _json_object(_segment(header_b64, "header"), "JWT header", InvalidToken)
    alg = _check_header(header, allowed, typ)
    key = _resolve_key(keys, alg, header.get("kid"))
    if not _key_fits(alg, key, signing=False):
        raise InvalidToken(f"alg {alg!r} cannot be verified with a {type(key).__name__}",
                           reason="key")
    # PyJWT would silently keep the last of duplicate claims; refuse them instead.
    _json_object(_segment(payload_b64, "payload"), "JWT claims", InvalidToken)

    pyjwt_key: Any = key.secret if isinstance(key, HMACSecret) else key
    try:
        claims: dict[str, Any] = jwt.decode(
            token, pyjwt_key, algorithms=[alg], audience=audience, issuer=issuer,
            subject=subject, leeway=leeway,
            options={"require": list(required), "verify_signature": True},
        )
    except jwt.InvalidSignatureError:
        raise InvalidToken("JWT signature does not verify", reason="signature") from None
    except jwt.ExpiredSignatureError:
        raise InvalidToken("JWT has expired", reason="expired") from None
    except jwt.ImmatureSignatureError as exc:
        raise InvalidToken(f"JWT is not yet valid: {exc}", reason="immature") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"JWT lacks required claim {exc.claim!r}", reason="claims") from None
    except (jwt.InvalidAudienceError, jwt.InvalidIssuerError, jwt.InvalidIssuedAtError,
            InvalidSubjectError, InvalidJTIError) as exc:
        raise InvalidToken(f"JWT claim check failed: {exc}", reason="claims") from None
    except jwt.InvalidAlgorithmError as exc:
        raise InvalidToken(f"JWT algorithm rejected: {exc}", reason="algorithm") from None
    except jwt.InvalidKeyError as exc:
        raise InvalidToken(f"JWT key rejected: {exc}", reason="key") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed JWT: {exc}") from None
    return claims


__all__ = [
    "ALG_ES256",
    "ALG_HS256",
    "ALG_RS256",
    "ALG_SM2",
    "DEFAULT_LEEWAY",
    "JWK",
    "HMACSecret",
    "JWKSet",
    "SM2Algorithm",
    "algorithm_for_key",
    "b64url_encode",
    "decode_jwt",
    "encode_jwt",
    "load_private_jwk",
    "load_public_jwk",
    "private_jwk",
    "public_jwk",
    "register_sm2_algorithm",
    "thumbprint",
]
