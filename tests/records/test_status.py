"""Bitstring Status Lists and their signed snapshots."""

from __future__ import annotations

import datetime as dt

import pytest

from crypto.sm2 import SM2PrivateKey
from records.errors import StatusListError
from records.status import LIST_SIZE, StatusSnapshot, bit, decode_list, encode_list, sign_snapshot

# The all-zero 16 KiB list of the W3C Bitstring Status List v1.0 examples.
W3C_EMPTY = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def test_the_w3c_example_list_decodes_to_131072_clear_bits() -> None:
    bits = decode_list(W3C_EMPTY, LIST_SIZE)
    assert len(bits) * 8 == LIST_SIZE and not any(bits)


def test_index_zero_is_the_leftmost_bit() -> None:
    bits = bytearray(LIST_SIZE // 8)
    bits[0] = 0x80
    bits[1] = 0x01
    encoded = encode_list(bytes(bits))
    decoded = decode_list(encoded, LIST_SIZE)
    assert encoded.startswith("u")
    assert [i for i in range(16) if bit(decoded, i)] == [0, 15]


def test_a_list_of_the_wrong_size_or_encoding_is_refused() -> None:
    with pytest.raises(StatusListError):
        decode_list(W3C_EMPTY, 1024)
    with pytest.raises(StatusListError):
        decode_list("zNotBase64url", LIST_SIZE)


def test_a_snapshot_is_signed_and_survives_json() -> None:
    key = SM2PrivateKey.generate()
    bits = bytearray(LIST_SIZE // 8)
    bits[12] = 0x08  # index 100
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    snapshot = sign_snapshot("S001.1", "revocation", bytes(bits), org="S001", kid="k.v1",
                             signer=key, sequence=3, valid_from=now,
                             valid_until=now + dt.timedelta(days=30))
    again = StatusSnapshot.from_json(snapshot.to_json())
    assert again == snapshot and again.is_set(100) and not again.is_set(99)
    assert again.signature_is_valid(key.public_key())
    assert again.key == "status:S001.1:revocation"
    doc = snapshot.to_json()
    doc["sequence"] = 4
    assert not StatusSnapshot.from_json(doc).signature_is_valid(key.public_key())
