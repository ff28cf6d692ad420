"""``edutrust crypto ...`` as an operator runs it, checked against the ``openssl`` CLI."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli

ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("EDUTRUST_")},
       "EDUTRUST_LANG": "en"}


def edutrust(*args: str | Path, env: dict[str, str] | None = None) \
        -> subprocess.CompletedProcess[bytes]:
    return run_cli("crypto", *map(str, args), env=env or ENV)


def openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, check=False)


def ok(result: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[bytes]:
    assert result.returncode == 0, result.stderr.decode()
    return result


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    key, pub = tmp_path / "key.pem", tmp_path / "pub.pem"
    ok(edutrust("keygen", "--out", key))
    ok(edutrust("pubkey", "--key", key, "--out", pub))
    return key, pub


def test_keygen_writes_a_0600_pkcs8_key_that_openssl_reads(keypair: tuple[Path, Path]) -> None:
    key, pub = keypair
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    text = ok(openssl("pkey", "-in", key, "-noout", "-text")).stdout.decode()
    assert "SM2" in text or "ASN1 OID: SM2" in text
    openssl_pub = ok(openssl("pkey", "-in", key, "-pubout")).stdout
    assert openssl_pub == pub.read_bytes()


def test_our_signature_verifies_with_openssl_and_theirs_with_ours(
        tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    key, pub = keypair
    msg, sig, their_sig = tmp_path / "msg", tmp_path / "sig", tmp_path / "their.sig"
    msg.write_bytes(b"student archive entry \xe5\xad\xa6")
    ok(edutrust("sign", "--key", key, "--in", msg, "--out", sig))
    ok(openssl("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
               "-pkeyopt", "distid:1234567812345678", "-in", msg, "-sigfile", sig))
    ok(openssl("pkeyutl", "-sign", "-inkey", key, "-rawin", "-digest", "sm3",
               "-pkeyopt", "distid:1234567812345678", "-in", msg, "-out", their_sig))
    result = ok(edutrust("verify", "--pub", pub, "--in", msg, "--sig", their_sig))
    assert "signature valid" in result.stderr.decode()


def test_custom_signer_id_round_trips_and_a_different_id_fails(
        tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    key, pub = keypair
    msg, sig = tmp_path / "msg", tmp_path / "sig"
    msg.write_bytes(b"m")
    ok(edutrust("sign", "--key", key, "--in", msg, "--out", sig, "--id", "school@edu.cn"))
    ok(openssl("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
               "-pkeyopt", "distid:school@edu.cn", "-in", msg, "-sigfile", sig))
    ok(edutrust("verify", "--pub", pub, "--in", msg, "--sig", sig, "--id", "school@edu.cn"))
    wrong = edutrust("verify", "--pub", pub, "--in", msg, "--sig", sig)
    assert wrong.returncode == 1
    assert "signature invalid" in wrong.stderr.decode()


def test_tampered_message_or_signature_exits_1(tmp_path: Path,
                                               keypair: tuple[Path, Path]) -> None:
    key, pub = keypair
    msg, sig = tmp_path / "msg", tmp_path / "sig"
    msg.write_bytes(b"grade: A")
    ok(edutrust("sign", "--key", key, "--in", msg, "--out", sig))
    msg.write_bytes(b"grade: B")
    assert edutrust("verify", "--pub", pub, "--in", msg, "--sig", sig).returncode == 1
    msg.write_bytes(b"grade: A")
    raw = bytearray(sig.read_bytes())
    raw[-1] ^= 1
    sig.write_bytes(bytes(raw))
    assert edutrust("verify", "--pub", pub, "--in", msg, "--sig", sig).returncode == 1


def test_encryption_interoperates_with_openssl_both_ways(tmp_path: Path,
                                                         keypair: tuple[Path, Path]) -> None:
    key, pub = keypair
    plain, ct, back = tmp_path / "plain", tmp_path / "ct", tmp_path / "back"
    plain.write_bytes(os.urandom(300))
    ok(edutrust("encrypt", "--pub", pub, "--in", plain, "--out", ct))
    ok(openssl("pkeyutl", "-decrypt", "-inkey", key, "-in", ct, "-out", back))
    assert back.read_bytes() == plain.read_bytes()
    their_ct, ours = tmp_path / "their.ct", tmp_path / "ours"
    ok(openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", pub, "-in", plain, "-out", their_ct))
    ok(edutrust("decrypt", "--key", key, "--in", their_ct, "--out", ours))
    assert ours.read_bytes() == plain.read_bytes()


def test_corrupt_ciphertext_is_a_negative_answer(tmp_path: Path,
                                                 keypair: tuple[Path, Path]) -> None:
    key, pub = keypair
    plain, ct = tmp_path / "plain", tmp_path / "ct"
    plain.write_bytes(b"secret")
    ok(edutrust("encrypt", "--pub", pub, "--in", plain, "--out", ct))
    raw = bytearray(ct.read_bytes())
    raw[-2] ^= 0x40
    ct.write_bytes(bytes(raw))
    result = edutrust("decrypt", "--key", key, "--in", ct, "--out", tmp_path / "out")
    assert result.returncode == 1
    assert not (tmp_path / "out").exists()


def test_sm3_matches_openssl_dgst(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.write_bytes(os.urandom(5000))
    ours = ok(edutrust("sm3", data)).stdout.decode().strip()
    theirs = ok(openssl("dgst", "-sm3", "-r", data)).stdout.decode().split()[0]
    assert ours == theirs


def test_ca_and_issued_certificate_pass_openssl_verify(tmp_path: Path) -> None:
    ca_key, ca, leaf_key, leaf_pub, leaf = (tmp_path / n for n in
                                            ("ca.key", "ca.pem", "l.key", "l.pub", "l.pem"))
    ok(edutrust("keygen", "--out", ca_key))
    ok(edutrust("ca-init", "--key", ca_key, "--subject", "/C=CN/O=教育部/CN=测试根 CA",
                "--days", "365", "--out", ca))
    ok(edutrust("keygen", "--out", leaf_key))
    ok(edutrust("pubkey", "--key", leaf_key, "--out", leaf_pub))
    ok(edutrust("cert-issue", "--ca-key", ca_key, "--ca-cert", ca, "--pub", leaf_pub,
                "--subject", "/C=CN/O=某某中学/CN=学籍系统", "--days", "30", "--out", leaf))
    ok(openssl("verify", "-CAfile", ca, leaf))
    text = ok(openssl("x509", "-in", leaf, "-noout", "-text", "-nameopt", "utf8")).stdout
    assert "SM2-with-SM3" in text.decode() or "1.2.156.10197.1.501" in text.decode()
    # A certificate works wherever a public key does.
    msg, sig = tmp_path / "m", tmp_path / "s"
    msg.write_bytes(b"x")
    ok(edutrust("sign", "--key", leaf_key, "--in", msg, "--out", sig))
    ok(edutrust("verify", "--pub", leaf, "--in", msg, "--sig", sig))


def test_cert_issue_refuses_a_ca_key_that_does_not_match(tmp_path: Path,
                                                         keypair: tuple[Path, Path]) -> None:
    _, pub = keypair
    ca_key, other, ca = tmp_path / "ca.key", tmp_path / "other.key", tmp_path / "ca.pem"
    ok(edutrust("keygen", "--out", ca_key))
    ok(edutrust("keygen", "--out", other))
    ok(edutrust("ca-init", "--key", ca_key, "--subject", "/CN=Root", "--days", "1",
                "--out", ca))
    result = edutrust("cert-issue", "--ca-key", other, "--ca-cert", ca, "--pub", pub,
                      "--subject", "/CN=x", "--days", "1", "--out", tmp_path / "x.pem")
    assert result.returncode == 2
    assert "does not match" in result.stderr.decode()


@pytest.mark.parametrize("case", ["missing", "corrupt", "rsa", "ec_p256", "empty"])
def test_bad_key_files_get_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    key = tmp_path / "key.pem"
    if case == "corrupt":
        key.write_text("-----BEGIN PRIVATE KEY-----\nnot base64!!\n-----END PRIVATE KEY-----\n")
    elif case == "rsa":
        ok(openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024",
                   "-out", key))
    elif case == "ec_p256":
        ok(openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                   "-out", key))
    elif case == "empty":
        key.write_bytes(b"")
    msg = tmp_path / "msg"
    msg.write_bytes(b"m")
    result = edutrust("sign", "--key", key, "--in", msg, "--out", tmp_path / "sig")
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr.decode()


def test_missing_option_is_a_usage_error(tmp_path: Path) -> None:
    result = edutrust("sign", "--key", tmp_path / "k.pem")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr.decode()


def test_messages_are_chinese_by_default(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k not in ("EDUTRUST_LANG", "LANG", "LC_ALL")}
    result = edutrust("sm3", tmp_path / "missing", env=env)
    assert result.returncode == 2
    assert "文件不存在" in result.stderr.decode()


def test_bad_subject_and_days_are_usage_errors(tmp_path: Path,
                                               keypair: tuple[Path, Path]) -> None:
    key, _ = keypair
    bad_subject = edutrust("ca-init", "--key", key, "--subject", "CN=no-slash", "--days",
                           "10", "--out", tmp_path / "ca.pem")
    assert bad_subject.returncode == 2 and "subject" in bad_subject.stderr.decode()
    bad_days = edutrust("ca-init", "--key", key, "--subject", "/CN=x", "--days", "0",
                        "--out", tmp_path / "ca.pem")
    assert bad_days.returncode == 2 and "days" in bad_days.stderr.decode()
