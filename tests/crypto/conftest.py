"""Shared by the crypto tests: the ``openssl`` command line as an interop oracle (fixture),
and the GM/T 0009 SM2 ciphertext structure with conversions to and from raw C1C3C2."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import core


class OpenSSLCommand:
    """The system ``openssl`` binary, run in a subprocess."""

    def __init__(self, binary: str) -> None:
        self.binary = binary

    def attempt(self, *args: str | Path,
                input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run ``openssl args...`` and return the finished process, whatever its status."""
        return subprocess.run([self.binary, *map(str, args)], input=input,
                              capture_output=True, check=False, timeout=60)

    def __call__(self, *args: str | Path, input: bytes | None = None) -> bytes:
        """Run ``openssl args...``; its stdout, or the test fails with openssl's stderr."""
        proc = self.attempt(*args, input=input)
        if proc.returncode != 0:
            pytest.fail(f"openssl {' '.join(map(str, args))} exited {proc.returncode}: "
                        f"{proc.stderr.decode(errors='replace')}")
        return proc.stdout


@pytest.fixture(scope="session")
def openssl() -> OpenSSLCommand:
    """The ``openssl`` command line with SM2 (the interop oracle); skip if absent."""
    binary = shutil.which("openssl")
    if binary is None:
        pytest.skip("the openssl command line is not installed")
    command = OpenSSLCommand(binary)
    algorithms = command.attempt("list", "-public-key-algorithms")
    if algorithms.returncode != 0 or b"SM2" not in algorithms.stdout:
        pytest.skip("the openssl command line has no SM2")
    return command


class SM2Cipher(core.Sequence):  # type: ignore[misc]  # asn1crypto has no types
    """GM/T 0009 SM2Cipher: the ASN.1 form OpenSSL and crypto.sm2 use (C1C3C2)."""

    _fields = [  # noqa: RUF012 - asn1crypto's declaration style
        ("x", core.Integer),
        ("y", core.Integer),
        ("hash", core.OctetString),
        ("ciphertext", core.OctetString),
    ]


def raw_c1c3c2_to_der(raw: bytes) -> bytes:
    """``x || y || C3 || C2`` (no 04 prefix, as gmssl and many front ends emit it) to DER."""
    der: bytes = SM2Cipher({
        "x": int.from_bytes(raw[:32], "big"),
        "y": int.from_bytes(raw[32:64], "big"),
        "hash": raw[64:96],
        "ciphertext": raw[96:],
    }).dump()
    return der


def der_to_raw_c1c3c2(der: bytes) -> bytes:
    """The inverse of :func:`raw_c1c3c2_to_der`."""
    parsed = SM2Cipher.load(der, strict=True)
    x: int = parsed["x"].native
    y: int = parsed["y"].native
    c3: bytes = parsed["hash"].native
    c2: bytes = parsed["ciphertext"].native
    return x.to_bytes(32, "big") + y.to_bytes(32, "big") + c3 + c2
