"""JOSE with SM2: JWK import/export, JWK Sets, the JWS alg "SM2" inside PyJWT, and the
attacks strict verification must refuse. SM2 JWS signatures are cross-checked against
crypto.sm2 directly, the ``openssl`` command line and the pure-Python ``gmssl`` oracle."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from gmssl import sm2 as gmssl_sm2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crypto.jose as jose
from crypto.errors import InvalidKey, InvalidToken, KeyNotFound
from crypto.jose import (
    JWK,
    HMACSecret,
    JWKSet,
    SM2Algorithm,
    decode_jwt,
    encode_jwt,
    load_private_jwk,
    load_public_jwk,
    private_jwk,
    public_jwk,
    thumbprint,
)
from crypto.sm2 import (
    DEFAULT_SIGNER_ID,
    Encoding,
    SignatureEncoding,
    SM2PrivateKey,
    SM2PublicKey,
    der_to_raw_signature,
    raw_to_der_signature,
)

# Field prime of the SM2 curve (GB/T 32918.5), to build points that are off the curve.
SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF


class OpaqueHandle:
    """Stands in for a key provider's handle: signs, shows its public key, exports
    nothing (no ``scalar``, no ``private_bytes``)."""

    def __init__(self) -> None:
        self.__key = SM2PrivateKey.generate()

    def sign(self, data: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID,
             encoding: SignatureEncoding = SignatureEncoding.DER) -> bytes:
        return self.__key.sign(data, signer_id=signer_id, encoding=encoding)

    def public_key(self) -> SM2PublicKey:
        return self.__key.public_key()


@pytest.fixture(scope="module")
def handle() -> OpaqueHandle:
    return OpaqueHandle()


@pytest.fixture(scope="module")
def sm2_key() -> SM2PrivateKey:
    return SM2PrivateKey.generate()


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def small_rsa_key() -> rsa.RSAPrivateKey:
    # Deliberately weak: the tests prove such keys are refused.
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505


@pytest.fixture(scope="module")
def jwks(handle: OpaqueHandle, ec_key: ec.EllipticCurvePrivateKey,
         rsa_key: rsa.RSAPrivateKey) -> JWKSet:
    return JWKSet.of(JWK.from_key(handle, kid="platform.v1"),
                     JWK.from_key(ec_key, kid="es.v1"),
                     JWK.from_key(rsa_key, kid="rs.v1"))


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": "https://idp.example", "sub": "student-1", "aud": "platform-a",
            "iat": now, "exp": now + 300, **extra}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def forge(header: dict[str, Any], body: dict[str, Any],
          sign: Callable[[bytes], bytes] = lambda _: b"") -> str:
    """A compact JWS with any header, signed by ``sign`` over the ASCII signing input."""
    signing_input = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(body).encode()))
    return signing_input + "." + b64(sign(signing_input.encode()))


def verify(token: str, keys: Any = None, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("algorithms", ["SM2", "ES256", "RS256"])
    kwargs.setdefault("audience", "platform-a")
    kwargs.setdefault("issuer", "https://idp.example")
    return decode_jwt(token, keys, **kwargs)


# --------------------------------------------------------------------------- round trips


def test_sm2_jwt_signed_by_provider_handle_round_trips(handle: OpaqueHandle,
                                                       jwks: JWKSet) -> None:
    token = encode_jwt(claims(), handle, alg="SM2", kid="platform.v1")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "SM2", "kid": "platform.v1", "typ": "JWT"}
    assert len(unb64(token.split(".")[2])) == 64
    assert verify(token, jwks)["sub"] == "student-1"


def test_es256_jwt_round_trips(ec_key: ec.EllipticCurvePrivateKey, jwks: JWKSet) -> None:
    token = encode_jwt(claims(), ec_key, alg="ES256", kid="es.v1")
    assert verify(token, jwks)["sub"] == "student-1"


def test_rs256_jwt_round_trips(rsa_key: rsa.RSAPrivateKey, jwks: JWKSet) -> None:
    token = encode_jwt(claims(), rsa_key, alg="RS256", kid="rs.v1")
    assert verify(token, jwks)["sub"] == "student-1"


def test_hs256_round_trips_only_with_an_explicit_secret() -> None:
    secret = HMACSecret(secrets.token_bytes(32))
    token = encode_jwt(claims(), secret, alg="HS256", kid=None)
    assert verify(token, secret, algorithms=["HS256"])["sub"] == "student-1"


def test_typed_header_is_carried_and_enforced(handle: OpaqueHandle, jwks: JWKSet) -> None:
    token = encode_jwt(claims(), handle, alg="SM2", kid="platform.v1",
                       headers={"typ": "at+jwt"})
    assert verify(token, jwks, typ="application/at+jwt")["sub"] == "student-1"
    with pytest.raises(InvalidToken, match="typ"):
        verify(token, jwks, typ="JWT")


def test_pyjwt_global_functions_accept_alg_sm2(sm2_key: SM2PrivateKey) -> None:
    # PyJWT's annotations know only cryptography keys, hence the Any.
    private: Any = sm2_key
    public: Any = sm2_key.public_key()
    token = jwt.encode({"hello": "world"}, private, algorithm="SM2")
    assert jwt.decode(token, public, algorithms=["SM2"]) == {"hello": "world"}
    pem = sm2_key.public_key().public_bytes(Encoding.PEM)
    assert jwt.decode(token, pem, algorithms=["SM2"]) == {"hello": "world"}


def test_registration_is_idempotent() -> None:
    before = jwt.get_algorithm_by_name("SM2")
    jose.register_sm2_algorithm()
    jose.register_sm2_algorithm()
    assert jwt.get_algorithm_by_name("SM2") is before
    assert isinstance(before, SM2Algorithm)


def test_sm2_at_hash_digest_is_sm3() -> None:
    digest = hashes.Hash(hashes.SM3())
    digest.update(b"access-token")
    assert SM2Algorithm().compute_hash_digest(b"access-token") == digest.finalize()


# --------------------------------------------------------------------------- interop


def test_sm2_jws_verifies_with_crypto_sm2_over_ascii_signing_input(
        handle: OpaqueHandle) -> None:
    token = encode_jwt(claims(), handle, alg="SM2", kid="platform.v1")
    signing_input, _, signature = token.rpartition(".")
    handle.public_key().verify(unb64(signature), signing_input.encode("ascii"),
                               signer_id=b"1234567812345678", encoding=SignatureEncoding.RAW)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_sm2_jws_verifies_with_openssl_cli(tmp_path: Path, handle: OpaqueHandle) -> None:
    token = encode_jwt(claims(), handle, alg="SM2", kid="platform.v1")
    signing_input, _, signature = token.rpartition(".")
    (tmp_path / "pub.pem").write_bytes(handle.public_key().public_bytes(Encoding.PEM))
    (tmp_path / "input").write_bytes(signing_input.encode("ascii"))
    (tmp_path / "sig.der").write_bytes(raw_to_der_signature(unb64(signature)))
    result = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
         "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
         "-in", str(tmp_path / "input"), "-sigfile", str(tmp_path / "sig.der")],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_jws_signed_by_openssl_cli_is_accepted(tmp_path: Path, sm2_key: SM2PrivateKey) -> None:
    (tmp_path / "key.pem").write_bytes(sm2_key.private_bytes(Encoding.PEM))

    def openssl_sign(data: bytes) -> bytes:
        (tmp_path / "input").write_bytes(data)
        der = subprocess.run(
            ["openssl", "pkeyutl", "-sign", "-inkey", str(tmp_path / "key.pem"), "-rawin",
             "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
             "-in", str(tmp_path / "input")],
            capture_output=True, check=True).stdout
        return der_to_raw_signature(der)

    token = forge({"alg": "SM2", "typ": "JWT"}, claims(), openssl_sign)
    assert verify(token, sm2_key.public_key())["sub"] == "student-1"


def gmssl_oracle(public: SM2PublicKey) -> gmssl_sm2.CryptSM2:
    xy = public.point()[1:].hex()
    # gmssl strips a leading "04" (and any further '0'/'4' characters) from the key hex,
    # so hand it the bare x || y; callers avoid keys whose x starts with 0x04.
    assert not xy.startswith("04")
    return gmssl_sm2.CryptSM2(private_key="", public_key=xy)


def gmssl_friendly_key() -> SM2PrivateKey:
    while True:
        key = SM2PrivateKey.generate()
        if not key.public_key().point()[1:].hex().startswith("04"):
            return key


def test_sm2_jws_verifies_with_gmssl_oracle() -> None:
    key = gmssl_friendly_key()
    token = encode_jwt(claims(), key, alg="SM2", kid=None)
    signing_input, _, signature = token.rpartition(".")
    oracle = gmssl_oracle(key.public_key())
    assert oracle.verify_with_sm3(unb64(signature).hex(), signing_input.encode("ascii"))
    assert not oracle.verify_with_sm3(unb64(signature).hex(), signing_input.encode() + b"x")


def test_jws_signed_by_gmssl_oracle_is_accepted() -> None:
    key = gmssl_friendly_key()
    signer = gmssl_sm2.CryptSM2(private_key=key.scalar().hex(),
                                public_key=key.public_key().point()[1:].hex())

    def gmssl_sign(data: bytes) -> bytes:
        nonce = secrets.token_hex(32)  # gmssl's own nonce comes from `random`
        return bytes.fromhex(signer.sign_with_sm3(data, nonce))

    token = forge({"alg": "SM2"}, claims(), gmssl_sign)
    assert verify(token, key.public_key())["sub"] == "student-1"


# --------------------------------------------------------------------------- JWK


def test_sm2_public_jwk_has_fixed_members_and_round_trips(sm2_key: SM2PrivateKey) -> None:
    jwk = public_jwk(sm2_key, kid="k1")
    point = sm2_key.public_key().point()
    assert jwk == {"kty": "EC", "crv": "SM2", "x": b64(point[1:33]), "y": b64(point[33:]),
                   "kid": "k1", "use": "sig", "alg": "SM2"}
    assert len(jwk["x"]) == len(jwk["y"]) == 43
    assert load_public_jwk(jwk) == sm2_key.public_key()
    assert load_public_jwk(json.dumps(jwk)) == sm2_key.public_key()


def test_sm2_private_jwk_round_trips(sm2_key: SM2PrivateKey) -> None:
    jwk = private_jwk(sm2_key)
    assert unb64(jwk["d"]) == sm2_key.scalar()
    loaded = load_private_jwk(jwk)
    assert isinstance(loaded, SM2PrivateKey)
    assert loaded.scalar() == sm2_key.scalar()


def test_provider_handle_exports_only_its_public_jwk(handle: OpaqueHandle) -> None:
    jwk = public_jwk(handle)
    assert "d" not in jwk
    assert load_public_jwk(jwk) == handle.public_key()
    assert "d" not in SM2Algorithm.to_jwk(handle, as_dict=True)
    with pytest.raises(InvalidKey):
        private_jwk(handle)  # type: ignore[arg-type]


def test_es256_and_rs256_jwks_round_trip(ec_key: ec.EllipticCurvePrivateKey,
                                         rsa_key: rsa.RSAPrivateKey) -> None:
    ec_jwk, rsa_jwk = public_jwk(ec_key), public_jwk(rsa_key)
    assert (ec_jwk["kty"], ec_jwk["crv"], ec_jwk["alg"]) == ("EC", "P-256", "ES256")
    assert (rsa_jwk["kty"], rsa_jwk["e"], rsa_jwk["alg"]) == ("RSA", "AQAB", "RS256")
    ec_public, rsa_public = load_public_jwk(ec_jwk), load_public_jwk(rsa_jwk)
    assert isinstance(ec_public, ec.EllipticCurvePublicKey)
    assert isinstance(rsa_public, rsa.RSAPublicKey)
    assert ec_public.public_numbers() == ec_key.public_key().public_numbers()
    assert rsa_public.public_numbers() == rsa_key.public_key().public_numbers()
    ec_back = load_private_jwk(private_jwk(ec_key))
    rsa_back = load_private_jwk(private_jwk(rsa_key))
    assert isinstance(ec_back, ec.EllipticCurvePrivateKey)
    assert isinstance(rsa_back, rsa.RSAPrivateKey)
    assert ec_back.private_numbers() == ec_key.private_numbers()
    assert rsa_back.private_numbers() == rsa_key.private_numbers()


def test_sm2_algorithm_jwk_conversions_match_pyjwt_conventions(sm2_key: SM2PrivateKey) -> None:
    private = SM2Algorithm.from_jwk(SM2Algorithm.to_jwk(sm2_key))
    public = SM2Algorithm.from_jwk(SM2Algorithm.to_jwk(sm2_key.public_key(), as_dict=True))
    assert isinstance(private, SM2PrivateKey) and private.scalar() == sm2_key.scalar()
    assert public == sm2_key.public_key()
    with pytest.raises(jwt.InvalidKeyError):
        SM2Algorithm.from_jwk({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})


def test_thumbprint_matches_rfc7638_example() -> None:
    jwk = {"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
           "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhD"
                "R1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h"
                "4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91Cb"
                "OpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-cs"
                "FCur-kEgU8awapJzKnqDKgw"}
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_sm2_thumbprint_hashes_crv_kty_x_y_in_lexicographic_order(
        sm2_key: SM2PrivateKey) -> None:
    jwk = public_jwk(sm2_key, kid="ignored")
    canonical = ('{"crv":"SM2","kty":"EC","x":"' + jwk["x"] + '","y":"' + jwk["y"] + '"}')
    assert thumbprint(jwk) == b64(hashlib.sha256(canonical.encode()).digest())
    assert thumbprint(sm2_key) == thumbprint(sm2_key.public_key()) == thumbprint(jwk)
    assert JWK.from_key(sm2_key).kid == thumbprint(jwk)
    sm3 = hashes.Hash(hashes.SM3())
    sm3.update(canonical.encode())
    assert thumbprint(jwk, digest="sm3") == b64(sm3.finalize())


def test_jwk_with_point_off_the_curve_is_rejected(sm2_key: SM2PrivateKey) -> None:
    jwk = public_jwk(sm2_key)
    y = int.from_bytes(unb64(jwk["y"]), "big")
    off_curve = dict(jwk, y=b64(((y + 1) % SM2_P).to_bytes(32, "big")))
    with pytest.raises(InvalidKey, match="not on the SM2 curve"):
        load_public_jwk(off_curve)
    with pytest.raises(InvalidKey, match="not on the SM2 curve"):
        load_public_jwk(dict(jwk, x=b64(bytes(32)), y=b64(bytes(32))))
    with pytest.raises(InvalidKey):
        JWKSet.from_dict({"keys": [off_curve]})


def test_p256_coordinates_relabelled_as_sm2_are_rejected(
        ec_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(InvalidKey, match="not on the SM2 curve"):
        load_public_jwk(dict(public_jwk(ec_key, alg="ES256"), crv="SM2", alg="SM2"))


@pytest.mark.parametrize("member, value", [
    ("x", b64(bytes(31))),          # short coordinate
    ("y", b64(bytes(33))),          # long coordinate
    ("x", "AAAA="),                 # padded
    ("x", "AA+/AA"),                # base64, not base64url
    ("x", 12345),                   # not a string
])
def test_jwk_with_malformed_coordinate_is_rejected(sm2_key: SM2PrivateKey, member: str,
                                                   value: object) -> None:
    with pytest.raises(InvalidKey):
        load_public_jwk(dict(public_jwk(sm2_key), **{member: value}))


def test_jwk_with_non_canonical_base64url_is_rejected(sm2_key: SM2PrivateKey) -> None:
    jwk = public_jwk(sm2_key)
    last = jwk["x"][-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 43 characters carry 258 bits for 256: the low two bits of the last are unused.
    twin = alphabet[alphabet.index(last) ^ 1]
    with pytest.raises(InvalidKey, match="canonical"):
        load_public_jwk(dict(jwk, x=jwk["x"][:-1] + twin))


@pytest.mark.parametrize("changes", [
    {"kty": "OKP"}, {"kty": "oct"}, {"kty": None}, {"crv": "P-384"}, {"crv": "sm2"},
    {"alg": "ES256"},
])
def test_jwk_with_wrong_kty_crv_or_alg_is_rejected(sm2_key: SM2PrivateKey,
                                                   changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidKey):
        load_public_jwk(dict(public_jwk(sm2_key), **changes))


def test_private_jwk_where_public_expected_is_rejected(sm2_key: SM2PrivateKey,
                                                       rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(InvalidKey, match="private JWK"):
        load_public_jwk(private_jwk(sm2_key))
    with pytest.raises(InvalidKey, match="private JWK"):
        load_public_jwk(private_jwk(rsa_key))
    with pytest.raises(InvalidKey, match="private JWK"):
        JWKSet.from_dict({"keys": [private_jwk(sm2_key)]})
    with pytest.raises(InvalidKey, match="public JWK where a private key"):
        load_private_jwk(public_jwk(sm2_key))


def test_private_jwk_whose_d_does_not_match_its_point_is_rejected(
        sm2_key: SM2PrivateKey) -> None:
    other = SM2PrivateKey.generate()
    with pytest.raises(InvalidKey, match="does not match"):
        load_private_jwk(dict(private_jwk(sm2_key), d=b64(other.scalar())))


def test_small_rsa_jwk_is_rejected(small_rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(InvalidKey, match="2048"):
        load_public_jwk(public_jwk(small_rsa_key))


def test_jwk_text_with_duplicate_member_is_rejected(sm2_key: SM2PrivateKey) -> None:
    jwk = public_jwk(sm2_key)
    text = json.dumps(jwk)[:-1] + ', "crv": "P-256"}'
    with pytest.raises(InvalidKey, match="duplicate"):
        load_public_jwk(text)


# --------------------------------------------------------------------------- JWK Set


def test_jwks_mixes_sm2_es256_rs256_with_use_and_alg_and_no_private_members(
        sm2_key: SM2PrivateKey, ec_key: ec.EllipticCurvePrivateKey,
        rsa_key: rsa.RSAPrivateKey) -> None:
    document = json.loads(JWKSet.of(sm2_key, ec_key, rsa_key).to_json())
    entries = document["keys"]
    assert [(k["kty"], k.get("crv"), k["alg"], k["use"]) for k in entries] == [
        ("EC", "SM2", "SM2", "sig"), ("EC", "P-256", "ES256", "sig"),
        ("RSA", None, "RS256", "sig")]
    private_members = {"d", "p", "q", "dp", "dq", "qi", "oth"}
    assert all(private_members.isdisjoint(k) for k in entries)
    assert [k["kid"] for k in entries] == [thumbprint(sm2_key), thumbprint(ec_key),
                                           thumbprint(rsa_key)]
    parsed = JWKSet.from_dict(document)
    assert parsed.to_dict() == document
    assert parsed.find(thumbprint(ec_key)).alg == "ES256"
    with pytest.raises(KeyNotFound):
        parsed.find("missing")


def test_jwks_skips_key_types_it_does_not_verify_with(sm2_key: SM2PrivateKey) -> None:
    okp = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = okp.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    document = {"keys": [{"kty": "oct", "k": b64(b"s" * 32), "kid": "hmac"},
                         {"kty": "OKP", "crv": "Ed25519", "x": b64(raw), "kid": "ed"},
                         public_jwk(sm2_key, kid="sm2")]}
    assert [k.kid for k in JWKSet.from_dict(document)] == ["sm2"]


def test_jwks_with_duplicate_kid_is_rejected(sm2_key: SM2PrivateKey,
                                             ec_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(InvalidKey, match="duplicate kid"):
        JWKSet.from_dict({"keys": [public_jwk(sm2_key, kid="a"), public_jwk(ec_key, kid="a")]})


# --------------------------------------------------------------------------- attacks


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_rejected(jwks: JWKSet, alg: str) -> None:
    token = forge({"alg": alg, "kid": "platform.v1"}, claims())
    with pytest.raises(InvalidToken, match="alg none") as error:
        verify(token, jwks)
    assert error.value.reason == "algorithm"


def test_hs256_signed_with_public_key_pem_is_rejected(handle: OpaqueHandle,
                                                      jwks: JWKSet) -> None:
    pem = handle.public_key().public_bytes(Encoding.PEM)
    token = forge({"alg": "HS256", "kid": "platform.v1"}, claims(),
                  lambda data: hmac.new(pem, data, hashlib.sha256).digest())
    for keys in (jwks, handle.public_key(), jwks.find("platform.v1")):
        with pytest.raises(InvalidToken, match="not among the allowed"):
            verify(token, keys)


def test_hs256_signed_with_public_jwk_json_is_rejected(handle: OpaqueHandle,
                                                       jwks: JWKSet) -> None:
    for secret in (json.dumps(public_jwk(handle, kid="platform.v1")).encode(),
                   jwks.to_json().encode()):
        def sign(data: bytes, secret: bytes = secret) -> bytes:
            return hmac.new(secret, data, hashlib.sha256).digest()

        token = forge({"alg": "HS256", "kid": "platform.v1"}, claims(), sign)
        with pytest.raises(InvalidToken, match="not among the allowed"):
            verify(token, jwks)


def test_hmac_cannot_be_allowed_together_with_public_keys(jwks: JWKSet) -> None:
    token = encode_jwt(claims(), HMACSecret(b"k" * 32), alg="HS256", kid=None)
    with pytest.raises(ValueError, match="HS256"):
        verify(token, jwks, algorithms=["SM2", "HS256"])
    with pytest.raises(ValueError, match="HS256"):
        verify(token, HMACSecret(b"k" * 32), algorithms=["SM2"])


def test_sm2_token_relabelled_es256_is_rejected(handle: OpaqueHandle, jwks: JWKSet) -> None:
    sign = lambda data: handle.sign(data, encoding=SignatureEncoding.RAW)  # noqa: E731
    token = forge({"alg": "ES256", "kid": "platform.v1"}, claims(), sign)
    with pytest.raises(InvalidToken, match="does not match key") as error:
        verify(token, jwks)
    assert error.value.reason == "key"
    with pytest.raises(InvalidToken, match="cannot be verified with a SM2PublicKey"):
        verify(token, handle.public_key())


def test_es256_key_with_alg_sm2_is_rejected(ec_key: ec.EllipticCurvePrivateKey,
                                            jwks: JWKSet) -> None:
    es_token = encode_jwt(claims(), ec_key, alg="ES256", kid="es.v1")
    _, body, signature = es_token.split(".")
    relabelled = b64(json.dumps({"alg": "SM2", "kid": "es.v1"}).encode())
    token = f"{relabelled}.{body}.{signature}"
    with pytest.raises(InvalidToken, match="does not match key"):
        verify(token, jwks)
    with pytest.raises(InvalidToken, match="cannot be verified"):
        verify(token, ec_key.public_key())
    # PyJWT itself, reached directly, refuses an EC key for alg SM2 as well.
    with pytest.raises(jwt.InvalidKeyError):
        jwt.decode(token, ec_key.public_key(), algorithms=["SM2"])


def test_signing_with_a_key_of_the_wrong_type_is_refused(
        ec_key: ec.EllipticCurvePrivateKey, sm2_key: SM2PrivateKey,
        rsa_key: rsa.RSAPrivateKey) -> None:
    for signer, alg in ((ec_key, "SM2"), (sm2_key, "ES256"), (rsa_key, "SM2"),
                        (sm2_key, "HS256"), (sm2_key.public_key(), "SM2")):
        with pytest.raises(InvalidKey):
            encode_jwt(claims(), signer, alg=alg, kid=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported alg"):
        encode_jwt(claims(), sm2_key, alg="PS256", kid=None)
    with pytest.raises(ValueError, match="crit"):
        encode_jwt(claims(), sm2_key, alg="SM2", kid=None, headers={"crit": ["exp"]})


def test_rsa_key_below_2048_bits_cannot_verify(small_rsa_key: rsa.RSAPrivateKey) -> None:
    token = forge({"alg": "RS256"}, claims(),
                  lambda d: small_rsa_key.sign(d, padding.PKCS1v15(), hashes.SHA256()))
    with pytest.raises(InvalidToken, match="cannot be verified"):
        verify(token, small_rsa_key.public_key())


def flip(segment: str, bit: int) -> str:
    data = bytearray(unb64(segment))
    data[bit // 8 % len(data)] ^= 1 << (bit % 8)
    return b64(bytes(data))


@pytest.fixture(scope="module")
def sm2_token(handle: OpaqueHandle) -> str:
    return encode_jwt(claims(exp=int(time.time()) + 3600), handle, alg="SM2",
                      kid="platform.v1")


FLIP = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FLIP
@given(bit=st.integers(min_value=0, max_value=8 * 64 - 1))
def test_flipped_bit_in_signature_is_rejected(sm2_token: str, jwks: JWKSet, bit: int) -> None:
    header, body, signature = sm2_token.split(".")
    with pytest.raises(InvalidToken) as error:
        verify(f"{header}.{body}.{flip(signature, bit)}", jwks)
    assert error.value.reason == "signature"


@FLIP
@given(bit=st.integers(min_value=0, max_value=4096))
def test_flipped_bit_in_payload_is_rejected(sm2_token: str, jwks: JWKSet, bit: int) -> None:
    header, body, signature = sm2_token.split(".")
    with pytest.raises(InvalidToken):
        verify(f"{header}.{flip(body, bit)}.{signature}", jwks)


@FLIP
@given(bit=st.integers(min_value=0, max_value=4096))
def test_flipped_bit_in_header_is_rejected(sm2_token: str, jwks: JWKSet, bit: int) -> None:
    header, body, signature = sm2_token.split(".")
    with pytest.raises(InvalidToken):
        verify(f"{flip(header, bit)}.{body}.{signature}", jwks)


def test_changed_claim_with_original_signature_is_rejected(sm2_token: str,
                                                           jwks: JWKSet) -> None:
    header, body, signature = sm2_token.split(".")
    forged = b64(json.dumps(dict(json.loads(unb64(body)), sub="admin")).encode())
    with pytest.raises(InvalidToken, match="signature does not verify"):
        verify(f"{header}.{forged}.{signature}", jwks)


MANGLES: list[Callable[[str], str]] = [
    lambda s: s + "=",                                       # padding
    lambda s: s[:-1],                                        # truncated
    lambda s: b64(raw_to_der_signature(unb64(s))),           # DER instead of raw
    lambda s: b64(unb64(s) + b"\x00"),                       # 65 bytes
    lambda s: b64(bytes(64)),                                # r = s = 0
]


@pytest.mark.parametrize("mangle", MANGLES)
def test_malformed_signature_encoding_is_rejected(sm2_token: str, jwks: JWKSet,
                                                  mangle: Callable[[str], str]) -> None:
    header, body, signature = sm2_token.split(".")
    with pytest.raises(InvalidToken):
        verify(f"{header}.{body}.{mangle(signature)}", jwks)


def test_unknown_kid_is_rejected(handle: OpaqueHandle, jwks: JWKSet) -> None:
    token = encode_jwt(claims(), handle, alg="SM2", kid="platform.v0")
    with pytest.raises(InvalidToken, match=r"no signing key with kid 'platform\.v0'"):
        verify(token, jwks)
    with pytest.raises(InvalidToken, match="no signing key"):
        verify(token, jwks.find("platform.v1"))


def test_missing_kid_is_rejected_when_several_keys(handle: OpaqueHandle,
                                                   jwks: JWKSet) -> None:
    token = encode_jwt(claims(), handle, alg="SM2", kid=None)
    with pytest.raises(InvalidToken, match="no kid"):
        verify(token, jwks)
    assert verify(token, JWKSet.of(jwks.find("platform.v1")))["sub"] == "student-1"


def test_key_published_for_encryption_does_not_verify(handle: OpaqueHandle) -> None:
    keys = JWKSet.of(JWK.from_key(handle, kid="enc", use="enc"))
    token = encode_jwt(claims(), handle, alg="SM2", kid="enc")
    with pytest.raises(InvalidToken, match="no signing key"):
        verify(token, keys)


def test_expired_token_is_rejected(handle: OpaqueHandle, jwks: JWKSet) -> None:
    past = int(time.time()) - 120
    token = encode_jwt(claims(iat=past - 300, exp=past), handle, alg="SM2",
                       kid="platform.v1")
    with pytest.raises(InvalidToken, match="expired") as error:
        verify(token, jwks)
    assert error.value.reason == "expired"
    assert verify(token, jwks, leeway=600)["sub"] == "student-1"


def test_token_not_yet_valid_is_rejected(handle: OpaqueHandle, jwks: JWKSet) -> None:
    token = encode_jwt(claims(nbf=int(time.time()) + 600), handle, alg="SM2",
                       kid="platform.v1")
    with pytest.raises(InvalidToken) as error:
        verify(token, jwks)
    assert error.value.reason == "immature"


def test_token_without_exp_is_rejected_by_default(handle: OpaqueHandle, jwks: JWKSet) -> None:
    body = claims()
    del body["exp"]
    token = encode_jwt(body, handle, alg="SM2", kid="platform.v1")
    with pytest.raises(InvalidToken, match="'exp'"):
        verify(token, jwks)


@pytest.mark.parametrize("kwargs", [{"audience": "platform-b"},
                                    {"issuer": "https://evil.example"},
                                    {"audience": None}])
def test_wrong_audience_or_issuer_is_rejected(sm2_token: str, jwks: JWKSet,
                                              kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken) as error:
        verify(sm2_token, jwks, **kwargs)
    assert error.value.reason == "claims"


@pytest.mark.parametrize("crit", [["exp"], ["b64"], ["urn:example:unknown"]])
def test_crit_header_is_rejected(handle: OpaqueHandle, jwks: JWKSet, crit: list[str]) -> None:
    sign = lambda data: handle.sign(data, encoding=SignatureEncoding.RAW)  # noqa: E731
    token = forge({"alg": "SM2", "kid": "platform.v1", "crit": crit, crit[0]: True},
                  claims(), sign)
    with pytest.raises(InvalidToken, match="critical") as error:
        verify(token, jwks)
    assert error.value.reason == "header"


def test_duplicate_claim_is_rejected(handle: OpaqueHandle, jwks: JWKSet) -> None:
    body = json.dumps(claims())[:-1] + ', "sub": "admin"}'
    header = b64(json.dumps({"alg": "SM2", "kid": "platform.v1"}).encode())
    signing_input = f"{header}.{b64(body.encode())}"
    signature = handle.sign(signing_input.encode(), encoding=SignatureEncoding.RAW)
    with pytest.raises(InvalidToken, match="duplicate member 'sub'"):
        verify(f"{signing_input}.{b64(signature)}", jwks)


@pytest.mark.parametrize("token", ["a.b", "a.b.c.d.e", "", "é.b.c", b"\xff.b.c", "x" * 70_000,
                                   "eyJhbGciOiJTTTIifQ. e30.AAAA"])
def test_token_that_is_not_a_compact_jws_is_rejected(jwks: JWKSet, token: str | bytes) -> None:
    with pytest.raises(InvalidToken):
        verify(token, jwks)


@pytest.mark.parametrize("algorithms", [["PS256"], ["none"], [], "SM2"])
def test_allow_list_with_unsupported_entries_is_a_programming_error(
        sm2_token: str, jwks: JWKSet, algorithms: Any) -> None:
    with pytest.raises(ValueError):
        verify(sm2_token, jwks, algorithms=algorithms)


def test_alg_outside_allow_list_is_rejected(sm2_token: str, jwks: JWKSet) -> None:
    with pytest.raises(InvalidToken, match="not among the allowed") as error:
        verify(sm2_token, jwks, algorithms=["ES256", "RS256"])
    assert error.value.reason == "algorithm"
