"""The software key provider: wrapping, versions, rotation, and that tampering or a wrong
master key is caught rather than silently producing a different key."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from crypto.errors import DecryptionError, InvalidSignature, KeyNotFound
from crypto.keys import KeyProvider, SM2Signer
from crypto.keys.software import FileKeyStore, SoftwareKeyProvider
from crypto.sm2 import SignatureEncoding


@pytest.fixture
def store(tmp_path: Path) -> FileKeyStore:
    return FileKeyStore(tmp_path / "keys.json")


@pytest.fixture
def provider(store: FileKeyStore) -> SoftwareKeyProvider:
    return SoftwareKeyProvider(store, os.urandom(16))


def test_provider_satisfies_the_key_provider_protocol(provider: SoftwareKeyProvider) -> None:
    checked: KeyProvider = provider
    provider.create_sm2("signing")
    assert isinstance(checked.sm2("signing"), SM2Signer)


def test_handle_signs_and_its_public_key_verifies(provider: SoftwareKeyProvider) -> None:
    provider.create_sm2("signing")
    handle = provider.sm2("signing")
    signature = handle.sign(b"record", encoding=SignatureEncoding.RAW)
    handle.public_key().verify(signature, b"record", encoding=SignatureEncoding.RAW)
    assert provider.public_key("signing") == handle.public_key()


def test_handle_decrypts_what_its_public_key_encrypted(provider: SoftwareKeyProvider) -> None:
    provider.create_sm2("enc")
    handle = provider.sm2("enc")
    assert handle.decrypt(handle.public_key().encrypt(b"secret")) == b"secret"


def test_handle_exposes_no_private_key_material(provider: SoftwareKeyProvider) -> None:
    provider.create_sm2("signing")
    handle = provider.sm2("signing")
    public_names = [n for n in dir(handle) if not n.startswith("_")]
    assert sorted(public_names) == ["decrypt", "info", "public_key", "sign"]


def test_stored_file_holds_no_plaintext_key(provider: SoftwareKeyProvider,
                                            store: FileKeyStore, tmp_path: Path) -> None:
    provider.create_sm2("signing")
    raw = (tmp_path / "keys.json").read_text()
    private_scalar = provider.sm2("signing")._private.scalar().hex()
    assert private_scalar not in raw
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600


def test_rotation_adds_a_version_and_old_versions_still_verify(
        provider: SoftwareKeyProvider) -> None:
    provider.create_sm2("signing")
    old_sig = provider.sm2("signing").sign(b"m")
    info = provider.rotate("signing")
    assert info.version == 2 and info.kid == "signing.v2"
    versions = provider.versions("signing")
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].retired_at is not None and versions[1].retired_at is None
    assert provider.sm2("signing").info.version == 2
    provider.public_key("signing", 1).verify(old_sig, b"m")
    with pytest.raises(InvalidSignature):
        provider.public_key("signing", 2).verify(old_sig, b"m")


def test_creating_an_existing_key_is_refused(provider: SoftwareKeyProvider) -> None:
    provider.create_sm4("data")
    with pytest.raises(ValueError, match="exists"):
        provider.create_sm4("data")
    with pytest.raises(ValueError, match="exists"):
        provider.create_sm2("data")


def test_unknown_keys_and_versions_raise_key_not_found(provider: SoftwareKeyProvider) -> None:
    with pytest.raises(KeyNotFound):
        provider.sm2("missing")
    provider.create_sm2("signing")
    with pytest.raises(KeyNotFound):
        provider.sm2("signing", 7)
    with pytest.raises(KeyNotFound):
        provider.unwrap_sm4("signing")  # an SM2 key is not a data key


def test_wrong_master_key_does_not_unwrap(store: FileKeyStore) -> None:
    SoftwareKeyProvider(store, os.urandom(16)).create_sm2("signing")
    with pytest.raises(DecryptionError, match="master key"):
        SoftwareKeyProvider(store, os.urandom(16)).sm2("signing")


def test_wrapped_blob_moved_to_another_key_does_not_unwrap(
        provider: SoftwareKeyProvider, tmp_path: Path) -> None:
    provider.create_sm4("a")
    provider.create_sm4("b")
    path = tmp_path / "keys.json"
    data = json.loads(path.read_text())
    data["b"][0]["wrapped"] = data["a"][0]["wrapped"]
    path.write_text(json.dumps(data))
    fresh = SoftwareKeyProvider(FileKeyStore(path), provider._kek._key)
    fresh.unwrap_sm4("a")
    with pytest.raises(DecryptionError):
        fresh.unwrap_sm4("b")


def test_flipped_bit_in_wrapped_key_is_detected(provider: SoftwareKeyProvider,
                                                tmp_path: Path) -> None:
    provider.create_sm2("signing")
    path = tmp_path / "keys.json"
    data = json.loads(path.read_text())
    blob = bytearray.fromhex(data["signing"][0]["wrapped"])
    for position in (0, 12, len(blob) // 2, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        data["signing"][0]["wrapped"] = tampered.hex()
        path.write_text(json.dumps(data))
        fresh = SoftwareKeyProvider(FileKeyStore(path), provider._kek._key)
        with pytest.raises(DecryptionError):
            fresh.sm2("signing")


def test_swapped_public_key_is_detected(provider: SoftwareKeyProvider,
                                        tmp_path: Path) -> None:
    provider.create_sm2("a")
    provider.create_sm2("b")
    path = tmp_path / "keys.json"
    data = json.loads(path.read_text())
    data["a"][0]["public_der"] = data["b"][0]["public_der"]
    path.write_text(json.dumps(data))
    fresh = SoftwareKeyProvider(FileKeyStore(path), provider._kek._key)
    with pytest.raises(DecryptionError, match="public key"):
        fresh.sm2("a")


@pytest.mark.parametrize("bad", ["", "has space", "x" * 65, "slash/ed", "点"])
def test_key_ids_are_restricted(provider: SoftwareKeyProvider, bad: str) -> None:
    with pytest.raises(ValueError):
        provider.create_sm2(bad)


def test_master_key_must_be_sixteen_bytes(store: FileKeyStore) -> None:
    with pytest.raises(ValueError):
        SoftwareKeyProvider(store, b"short")
