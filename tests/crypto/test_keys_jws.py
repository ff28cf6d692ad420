"""P-256 and RSA-2048 keys in the software provider: wrapped like SM2 keys, rotated the
same way, and their handles sign JWS values that crypto.jose verifies as ES256 / RS256."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from crypto.errors import DecryptionError, InvalidToken, KeyNotFound
from crypto.jose import JWK, decode_jwt
from crypto.keys.software import FileKeyStore, SoftwareKeyProvider


@pytest.fixture
def store(tmp_path: Path) -> FileKeyStore:
    return FileKeyStore(tmp_path / "keys.json")


@pytest.fixture
def provider(store: FileKeyStore) -> SoftwareKeyProvider:
    return SoftwareKeyProvider(store, os.urandom(16))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact(handle: object, alg: str, claims: dict[str, object]) -> str:
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    return f"{header}.{payload}.{_b64(handle.sign(signing_input))}"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("algorithm", "alg", "kind"), [
    ("P256", "ES256", ec.EllipticCurvePublicKey),
    ("RSA2048", "RS256", rsa.RSAPublicKey),
])
def test_jws_handle_signs_what_jose_verifies(provider: SoftwareKeyProvider, algorithm: str,
                                             alg: str, kind: type) -> None:
    provider.ensure("jws", algorithm)
    handle = provider.jws("jws")
    assert handle.jws_algorithm == alg
    assert isinstance(handle.public_key(), kind)
    exp = int((dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).timestamp())
    token = _compact(handle, alg, {"sub": "x", "exp": exp})
    claims = decode_jwt(token, JWK.from_key(provider.jws_public_key("jws"), kid="k"),
                        algorithms=[alg])
    assert claims["sub"] == "x"


def test_es256_signature_is_raw_sixty_four_bytes(provider: SoftwareKeyProvider) -> None:
    provider.ensure("es", "P256")
    assert len(provider.jws("es").sign(b"input")) == 64


def test_jws_handle_exposes_no_private_key_material(provider: SoftwareKeyProvider) -> None:
    provider.ensure("rs", "RSA2048")
    handle = provider.jws("rs")
    public_names = [n for n in dir(handle) if not n.startswith("_")]
    assert sorted(public_names) == ["info", "jws_algorithm", "public_key", "sign"]


def test_rotated_jws_key_keeps_old_version_verifying(provider: SoftwareKeyProvider) -> None:
    provider.ensure("es", "P256")
    old = provider.jws("es")
    exp = int((dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).timestamp())
    token = _compact(old, "ES256", {"exp": exp})
    info = provider.rotate("es")
    assert info.version == 2 and info.algorithm == "P256"
    assert provider.versions("es")[0].retired_at is not None
    assert provider.jws("es").public_key() != old.public_key()
    decode_jwt(token, JWK.from_key(provider.jws_public_key("es", 1), kid="k"),
               algorithms=["ES256"])
    with pytest.raises(InvalidToken):
        decode_jwt(token, JWK.from_key(provider.jws_public_key("es", 2), kid="k"),
                   algorithms=["ES256"])


def test_stored_file_holds_no_plaintext_jws_key(provider: SoftwareKeyProvider,
                                                tmp_path: Path) -> None:
    provider.ensure("es", "P256")
    private = provider.jws("es")._private
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    scalar = private.private_numbers().private_value.to_bytes(32, "big").hex()
    assert scalar not in (tmp_path / "keys.json").read_text()


def test_jws_key_does_not_open_as_sm2_and_sm2_key_not_as_jws(
        provider: SoftwareKeyProvider) -> None:
    provider.ensure("es", "P256")
    provider.create_sm2("sm2")
    with pytest.raises(KeyNotFound):
        provider.sm2("es")
    with pytest.raises(KeyNotFound):
        provider.jws("sm2")
    with pytest.raises(KeyNotFound):
        provider.jws("missing")


def test_jws_key_under_wrong_master_key_does_not_unwrap(store: FileKeyStore) -> None:
    SoftwareKeyProvider(store, os.urandom(16)).ensure("es", "P256")
    with pytest.raises(DecryptionError):
        SoftwareKeyProvider(store, os.urandom(16)).jws("es")


def test_unknown_algorithm_is_refused(provider: SoftwareKeyProvider) -> None:
    with pytest.raises(ValueError, match="unknown key algorithm"):
        provider.ensure("x", "ED25519")
