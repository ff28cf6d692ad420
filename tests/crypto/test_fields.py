"""Field encryption of personal identifiers and their blind index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.errors import DecryptionError
from crypto.fields import FieldCipher
from crypto.keys.software import FileKeyStore, SoftwareKeyProvider


@pytest.fixture
def keys(tmp_path: Path) -> SoftwareKeyProvider:
    provider = SoftwareKeyProvider(FileKeyStore(tmp_path / "k.json"), os.urandom(16))
    provider.create_sm4("pii")
    provider.create_sm4("pii-index")
    return provider


@pytest.fixture
def fields(keys: SoftwareKeyProvider) -> FieldCipher:
    return FieldCipher(keys, "pii", "pii-index")


ID_CARD = "11010519491231002X"


def test_sealed_value_opens_and_hides_the_plaintext(fields: FieldCipher) -> None:
    token = fields.seal(ID_CARD, b"person:1:id_card")
    assert ID_CARD not in token and "1949" not in token
    assert token.startswith("sm4gcm.pii.1.")
    assert fields.open(token, b"person:1:id_card") == ID_CARD


def test_sealing_twice_gives_different_tokens(fields: FieldCipher) -> None:
    assert fields.seal(ID_CARD, b"ad") != fields.seal(ID_CARD, b"ad")


def test_value_moved_to_another_row_does_not_open(fields: FieldCipher) -> None:
    token = fields.seal(ID_CARD, b"person:1:id_card")
    with pytest.raises(DecryptionError):
        fields.open(token, b"person:2:id_card")


def test_values_sealed_before_rotation_still_open(keys: SoftwareKeyProvider,
                                                  fields: FieldCipher) -> None:
    old = fields.seal("13800138000", b"p:1:phone")
    keys.rotate("pii")
    new = fields.seal("13800138000", b"p:1:phone")
    assert old.startswith("sm4gcm.pii.1.") and new.startswith("sm4gcm.pii.2.")
    assert fields.open(old, b"p:1:phone") == fields.open(new, b"p:1:phone") == "13800138000"


def test_a_pinned_sealer_keeps_its_version_never_asks_again_and_its_values_open(
        keys: SoftwareKeyProvider, fields: FieldCipher,
        monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = fields.pinned()
    keys.rotate("pii")

    def no_lookup(*args: object) -> None:
        raise AssertionError("a pinned sealer asked the key provider")

    monkeypatch.setattr(keys, "unwrap_sm4", no_lookup)
    one = pinned.seal(ID_CARD, b"p:1:id_card")
    [many] = pinned.seal_bytes_many([(ID_CARD.encode(), b"p:2:id_card")])
    monkeypatch.undo()

    assert one.startswith("sm4gcm.pii.1.") and many[5:9] == (1).to_bytes(4, "big")
    assert fields.open(one, b"p:1:id_card") == ID_CARD
    assert fields.open_bytes(many, b"p:2:id_card") == ID_CARD.encode()
    with pytest.raises(DecryptionError):
        fields.open_bytes(many, b"p:1:id_card")
    assert fields.pinned().seal(ID_CARD, b"ad").startswith("sm4gcm.pii.2.")


def test_version_label_cannot_be_changed(keys: SoftwareKeyProvider,
                                         fields: FieldCipher) -> None:
    keys.rotate("pii")
    token = fields.seal("x", b"ad")
    relabelled = token.replace("sm4gcm.pii.2.", "sm4gcm.pii.1.")
    with pytest.raises(DecryptionError):
        fields.open(relabelled, b"ad")


@pytest.mark.parametrize("token", ["", "garbage", "sm4gcm.pii.x.AAAA", "sm4gcm.other.1.AAAA",
                                   "sm4gcm.pii.1.!!!!", "sm4gcm.pii.0.AAAA", "sm4gcm.pii.1.AA"])
def test_malformed_tokens_are_rejected(fields: FieldCipher, token: str) -> None:
    with pytest.raises(DecryptionError):
        fields.open(token, b"ad")


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fixture is read-only
@given(value=st.text(min_size=0, max_size=64), position=st.integers(min_value=0))
def test_any_flipped_character_in_a_sealed_value_is_rejected(
        fields: FieldCipher, value: str, position: int) -> None:
    token = fields.seal(value, b"ad")
    body_start = token.rindex(".") + 1
    index = body_start + position % (len(token) - body_start)
    replacement = "A" if token[index] != "A" else "B"
    tampered = token[:index] + replacement + token[index + 1:]
    try:
        opened = fields.open(tampered, b"ad")
    except DecryptionError:
        return
    # Changing the last base64 character can alter only padding bits, not bytes.
    assert opened == value and index == len(token) - 1


def test_binary_sealed_value_opens_hides_the_plaintext_and_binds_its_row(
        fields: FieldCipher) -> None:
    value = ID_CARD.encode() * 3
    token = fields.seal_bytes(value, b"person:1:id_card")
    assert ID_CARD.encode() not in token and b"1949" not in token
    assert token[:9] == b"\x01\x03pii\x00\x00\x00\x01"
    assert len(token) == 9 + 12 + len(value) + 16   # header, nonce, ciphertext, tag
    assert fields.open_bytes(token, b"person:1:id_card") == value
    assert fields.seal_bytes(value, b"ad") != fields.seal_bytes(value, b"ad")
    with pytest.raises(DecryptionError):
        fields.open_bytes(token, b"person:2:id_card")
    with pytest.raises(DecryptionError):   # a text token is not a binary one, nor back
        fields.open_bytes(fields.seal(ID_CARD, b"ad").encode(), b"ad")


def test_sealing_many_values_looks_the_key_up_once(
        keys: SoftwareKeyProvider, fields: FieldCipher,
        monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[object] = []
    unwrap = keys.unwrap_sm4

    def counted(*args: object) -> tuple[int, bytes]:
        lookups.append(args)
        return unwrap(*args)   # type: ignore[arg-type]

    monkeypatch.setattr(keys, "unwrap_sm4", counted)
    tokens = fields.seal_bytes_many([(b"v%d" % i, b"p:%d" % i) for i in range(5)])
    assert len(lookups) == 1
    assert [fields.open_bytes(t, b"p:%d" % i) for i, t in enumerate(tokens)] == [
        b"v%d" % i for i in range(5)]


def test_binary_values_sealed_before_rotation_or_pinned_still_open(
        keys: SoftwareKeyProvider, fields: FieldCipher) -> None:
    old = fields.seal_bytes(b"13800138000", b"p:1:phone")
    pinned = fields.pinned()
    keys.rotate("pii")
    new = fields.seal_bytes(b"13800138000", b"p:1:phone")
    [kept] = pinned.seal_bytes_many([(b"13800138000", b"p:1:phone")])
    assert old[5:9] == kept[5:9] == (1).to_bytes(4, "big") and new[5:9] == (2).to_bytes(4, "big")
    assert {fields.open_bytes(t, b"p:1:phone") for t in (old, new, kept)} == {b"13800138000"}
    relabelled = new[:5] + (1).to_bytes(4, "big") + new[9:]
    with pytest.raises(DecryptionError):
        fields.open_bytes(relabelled, b"p:1:phone")


def test_a_field_key_id_must_fit_a_binary_token(keys: SoftwareKeyProvider) -> None:
    for key_id in ("", "k" * 256):
        with pytest.raises(ValueError):
            FieldCipher(keys, key_id, "pii-index")
    assert FieldCipher(keys, "k" * 255, "pii-index") is not None


@pytest.mark.parametrize("token", [b"", b"\x01", b"\x02\x03pii\x00\x00\x00\x01" + bytes(28),
                                   b"\x01\x03pij\x00\x00\x00\x01" + bytes(28),
                                   b"\x01\x05other\x00\x00\x00\x01" + bytes(28),
                                   b"\x01\x03pii\x00\x00\x00\x00" + bytes(28),
                                   b"\x01\x03pii\x00\x00\x00\x01" + bytes(20)])
def test_malformed_binary_tokens_are_rejected(fields: FieldCipher, token: bytes) -> None:
    with pytest.raises(DecryptionError):
        fields.open_bytes(token, b"ad")


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fixture is read-only
@given(value=st.binary(min_size=0, max_size=64), position=st.integers(min_value=0),
       flip=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_in_a_binary_sealed_value_is_rejected(
        fields: FieldCipher, value: bytes, position: int, flip: int) -> None:
    token = bytearray(fields.seal_bytes(value, b"ad"))
    token[position % len(token)] ^= flip
    with pytest.raises(DecryptionError):
        fields.open_bytes(bytes(token), b"ad")


def test_blind_index_is_deterministic_and_separated_by_context(
        fields: FieldCipher, keys: SoftwareKeyProvider) -> None:
    a = fields.blind_index(ID_CARD, "id_card")
    assert a == fields.blind_index(ID_CARD, "id_card")
    assert a != fields.blind_index(ID_CARD, "phone")
    assert a != fields.blind_index("11010519491231003X", "id_card")
    assert ID_CARD not in a
    keys.rotate("pii")  # rotating the data key does not change the index
    assert FieldCipher(keys, "pii", "pii-index").blind_index(ID_CARD, "id_card") == a


def test_blind_index_differs_between_installations(tmp_path: Path) -> None:
    def index_in_fresh_install(name: str) -> str:
        provider = SoftwareKeyProvider(FileKeyStore(tmp_path / name), os.urandom(16))
        provider.create_sm4("pii")
        provider.create_sm4("pii-index")
        return FieldCipher(provider, "pii", "pii-index").blind_index(ID_CARD, "id_card")

    assert index_in_fresh_install("a.json") != index_in_fresh_install("b.json")
