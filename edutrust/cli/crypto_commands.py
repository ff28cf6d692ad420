"""``edutrust crypto ...``: the operators' key-ceremony tools and our interop surface
with the ``openssl`` command line (PKCS#8 / SPKI PEM, DER signatures, GM/T 0009
ciphertexts, PEM certificates)."""

from __future__ import annotations

import click

from crypto import sm2, x509
from crypto.errors import CertificateError, CryptoError, DecryptionError, InvalidSignature
from crypto.sm3 import SM3
from edutrust.cli.common import CliError, NegativeAnswer, read_file, say, write_file

_ID_HELP = "signer ID (UTF-8), default 1234567812345678"


def _load_private(path: str) -> sm2.SM2PrivateKey:
    data = read_file(path)
    try:
        return sm2.load_pem_private_key(data) if b"-----BEGIN" in data else \
            sm2.load_der_private_key(data)
    except CryptoError as exc:
        raise CliError("crypto.bad_private_key", path=path, reason=exc) from None


def _load_public(path: str) -> sm2.SM2PublicKey:
    data = read_file(path)
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.Certificate.from_pem(data).public_key()
        return sm2.load_pem_public_key(data) if b"-----BEGIN" in data else \
            sm2.load_der_public_key(data)
    except CryptoError as exc:
        raise CliError("crypto.bad_public_key", path=path, reason=exc) from None


def _load_certificate(path: str) -> x509.Certificate:
    data = read_file(path)
    try:
        return x509.Certificate.from_pem(data) if b"-----BEGIN" in data else \
            x509.Certificate.from_der(data)
    except CryptoError as exc:
        raise CliError("crypto.bad_certificate", path=path, reason=exc) from None


def _signer_id(value: str | None) -> bytes:
    if value is None:
        return sm2.DEFAULT_SIGNER_ID
    raw = value.encode()
    if not 1 <= len(raw) <= sm2.MAX_SIGNER_ID_SIZE:
        raise CliError("crypto.bad_id")
    return raw


def _subject(value: str) -> x509.Name:
    try:
        return x509.parse_name(value)
    except (ValueError, CertificateError) as exc:
        raise CliError("crypto.bad_subject", reason=exc) from None


def _days(value: int) -> int:
    if not 1 <= value <= 36500:
        raise CliError("crypto.bad_days")
    return value


@click.group()
def crypto() -> None:
    """SM2 / SM3 keys, signatures, encryption and certificates (国密)."""


@crypto.command()
@click.option("--out", "out", required=True, help="PKCS#8 PEM file to create (mode 0600)")
def keygen(out: str) -> None:
    """Generate an SM2 private key."""
    key = sm2.SM2PrivateKey.generate()
    write_file(out, key.private_bytes(sm2.Encoding.PEM), private=True)
    say("crypto.key_written", path=out)


@crypto.command()
@click.option("--key", "key_path", required=True)
@click.option("--out", "out", required=True)
def pubkey(key_path: str, out: str) -> None:
    """Write the SubjectPublicKeyInfo PEM of a private key."""
    key = _load_private(key_path)
    write_file(out, key.public_key().public_bytes(sm2.Encoding.PEM))
    say("crypto.pub_written", path=out)


@crypto.command()
@click.option("--key", "key_path", required=True)
@click.option("--in", "in_path", required=True)
@click.option("--out", "out", required=True)
@click.option("--id", "signer_id", default=None, help=_ID_HELP)
def sign(key_path: str, in_path: str, out: str, signer_id: str | None) -> None:
    """Sign a file: SM2 with SM3, DER signature."""
    ident = _signer_id(signer_id)
    key = _load_private(key_path)
    write_file(out, key.sign(read_file(in_path), signer_id=ident))
    say("crypto.sig_written", path=out)


@crypto.command()
@click.option("--pub", "pub_path", required=True, help="public key or certificate PEM")
@click.option("--in", "in_path", required=True)
@click.option("--sig", "sig_path", required=True)
@click.option("--id", "signer_id", default=None, help=_ID_HELP)
def verify(pub_path: str, in_path: str, sig_path: str, signer_id: str | None) -> None:
    """Verify a DER signature: exit 0 valid, 1 invalid."""
    ident = _signer_id(signer_id)
    key = _load_public(pub_path)
    data, signature = read_file(in_path), read_file(sig_path)
    try:
        key.verify(signature, data, signer_id=ident)
    except InvalidSignature:
        raise NegativeAnswer("crypto.sig_invalid") from None
    say("crypto.sig_valid")


@crypto.command()
@click.option("--pub", "pub_path", required=True)
@click.option("--in", "in_path", required=True)
@click.option("--out", "out", required=True)
def encrypt(pub_path: str, in_path: str, out: str) -> None:
    """SM2-encrypt a file (GM/T 0009 ASN.1, C1C3C2)."""
    key = _load_public(pub_path)
    data = read_file(in_path)
    if not data:
        raise CliError("crypto.encrypt_empty")
    write_file(out, key.encrypt(data))
    say("crypto.ct_written", path=out)


@crypto.command()
@click.option("--key", "key_path", required=True)
@click.option("--in", "in_path", required=True)
@click.option("--out", "out", required=True)
def decrypt(key_path: str, in_path: str, out: str) -> None:
    """Decrypt an SM2 ciphertext; its SM3 check value (C3) is verified."""
    key = _load_private(key_path)
    try:
        plain = key.decrypt(read_file(in_path))
    except DecryptionError:
        raise NegativeAnswer("crypto.decrypt_failed") from None
    write_file(out, plain, private=True)
    say("crypto.pt_written", path=out)


@crypto.command(name="sm3")
@click.argument("path")
def sm3_command(path: str) -> None:
    """Print the SM3 digest of a file (hex); '-' reads standard input."""
    digest = SM3(read_file(path)).digest().hex()
    click.echo(digest)


@crypto.command(name="ca-init")
@click.option("--key", "key_path", required=True, help="the CA's SM2 private key PEM")
@click.option("--subject", required=True, help='e.g. "/C=CN/O=某教育厅/CN=Root CA"')
@click.option("--days", type=int, required=True)
@click.option("--out", "out", required=True)
def ca_init(key_path: str, subject: str, days: int, out: str) -> None:
    """Create a self-signed SM2 root CA certificate."""
    name, valid_days = _subject(subject), _days(days)
    key = _load_private(key_path)
    cert = x509.create_root_ca(key, name, days=valid_days)
    write_file(out, cert.pem())
    say("crypto.cert_written", path=out)


@crypto.command(name="cert-issue")
@click.option("--ca-key", "ca_key_path", required=True)
@click.option("--ca-cert", "ca_cert_path", required=True)
@click.option("--pub", "pub_path", required=True, help="subject's public key PEM")
@click.option("--subject", required=True)
@click.option("--days", type=int, required=True)
@click.option("--ca", "as_ca", is_flag=True, help="issue an intermediate CA certificate")
@click.option("--path-len", type=int, default=None, help="pathLen of an intermediate CA")
@click.option("--out", "out", required=True)
def cert_issue(ca_key_path: str, ca_cert_path: str, pub_path: str, subject: str, days: int,
               as_ca: bool, path_len: int | None, out: str) -> None:
    """Issue an SM2 certificate signed by a CA."""
    name, valid_days = _subject(subject), _days(days)
    ca_key = _load_private(ca_key_path)
    ca_cert = _load_certificate(ca_cert_path)
    if not ca_cert.is_ca:
        raise CliError("crypto.not_ca", path=ca_cert_path)
    if ca_cert.public_key() != ca_key.public_key():
        raise CliError("crypto.ca_key_mismatch")
    subject_key = _load_public(pub_path)
    try:
        authority = x509.CertificateAuthority(ca_cert, ca_key)
        if as_ca:
            cert = x509.create_intermediate_ca(authority, name, subject_key, days=valid_days,
                                               path_length=path_len)
        else:
            cert = x509.issue_end_entity(authority, name, subject_key, days=valid_days)
    except CryptoError as exc:
        raise CliError("crypto.issue_failed", reason=exc) from None
    write_file(out, cert.pem())
    say("crypto.cert_written", path=out)
