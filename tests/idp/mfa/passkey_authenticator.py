"""A software WebAuthn authenticator plus client for the tests: it answers the JSON
options our endpoints send with the JSON a browser would post back, built by hand with
``cryptography`` (ES256 keys as COSE_Key, authenticatorData with flags and counter,
clientDataJSON, ``none`` and ``packed`` attestation objects). Every field a test may
want to break (origin, RP ID, flags, counter, challenge) can be overridden."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cose_es256(key: ec.EllipticCurvePrivateKey) -> bytes:
    numbers = key.public_key().public_numbers()
    return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                        -3: numbers.y.to_bytes(32, "big")})


@dataclass
class StoredCredential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    counter: int = 0


@dataclass
class AttestationCA:
    """A test CA that signs ``packed`` attestation certificates."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, name: str = "Test Authenticator Vendor Root") -> AttestationCA:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                             crl_sign=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(key, cert)

    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, aaguid: bytes) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """An attestation key and certificate shaped as WebAuthn 8.2.1 asks."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Vendor"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Test Attestation")])
        now = dt.datetime.now(dt.UTC)
        aaguid_ext = x509.UnrecognizedExtension(
            x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4"), b"\x04\x10" + aaguid)
        cert = (x509.CertificateBuilder().subject_name(subject)
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                               critical=True)
                .add_extension(aaguid_ext, critical=False)
                .sign(self.key, hashes.SHA256()))
        return key, cert


@dataclass
class SoftAuthenticator:
    """One authenticator (think: a phone or a security key) holding several credentials,
    and the browser in front of it (``origin``)."""

    origin: str
    aaguid: bytes = field(default_factory=lambda: os.urandom(16))
    backup_eligible: bool = False
    credentials: dict[bytes, StoredCredential] = field(default_factory=dict)

    # -- navigator.credentials.create ----------------------------------------------------
    def create(self, options: dict[str, Any], *, origin: str | None = None,
               rp_id: str | None = None, user_verified: bool = True,
               attestation: str = "none", ca: AttestationCA | None = None,
               challenge: str | None = None, transports: tuple[str, ...] = ("internal",)
               ) -> dict[str, Any]:
        """``attestation``: ``none``, ``packed-self`` or ``packed`` (x5c from ``ca``)."""
        rp = rp_id or options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        credential_id = os.urandom(32)
        user_handle = unb64url(options["user"]["id"])
        self.credentials[credential_id] = StoredCredential(credential_id, key, rp,
                                                           user_handle)
        flags = UP | AT | (UV if user_verified else 0) | (BE if self.backup_eligible else 0)
        auth_data = (hashlib.sha256(rp.encode()).digest() + bytes([flags])
                     + struct.pack(">I", 0) + self.aaguid
                     + struct.pack(">H", len(credential_id)) + credential_id
                     + cose_es256(key))
        client_data = self._client_data("webauthn.create", challenge or options["challenge"],
                                        origin)
        statement: dict[str, Any] = {}
        fmt = "none"
        signed = auth_data + hashlib.sha256(client_data).digest()
        if attestation == "packed-self":
            fmt = "packed"
            statement = {"alg": -7, "sig": key.sign(signed, ec.ECDSA(hashes.SHA256()))}
        elif attestation == "packed":
            assert ca is not None
            att_key, att_cert = ca.issue(self.aaguid)
            fmt = "packed"
            statement = {"alg": -7, "sig": att_key.sign(signed, ec.ECDSA(hashes.SHA256())),
                         "x5c": [att_cert.public_bytes(serialization.Encoding.DER)]}
        attestation_object = cbor2.dumps({"fmt": fmt, "attStmt": statement,
                                          "authData": auth_data})
        return {"id": b64url(credential_id), "rawId": b64url(credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
                "response": {"clientDataJSON": b64url(client_data),
                             "attestationObject": b64url(attestation_object),
                             "transports": list(transports)}}

    # -- navigator.credentials.get -------------------------------------------------------
    def get(self, options: dict[str, Any], *, origin: str | None = None,
            rp_id: str | None = None, user_verified: bool = True,
            counter: int | None = None, credential_id: bytes | None = None,
            with_user_handle: bool = True, user_handle: bytes | None = None,
            challenge: str | None = None) -> dict[str, Any]:
        """An assertion with the first allowed credential we hold (or, when the options
        allow any, our first credential for the RP: discoverable)."""
        rp = rp_id or options["rpId"]
        stored = self._pick(options, credential_id)
        stored.counter = stored.counter + 1 if counter is None else counter
        flags = (UP | (UV if user_verified else 0)
                 | ((BE | BS) if self.backup_eligible else 0))
        auth_data = (hashlib.sha256(rp.encode()).digest() + bytes([flags])
                     + struct.pack(">I", stored.counter))
        client_data = self._client_data("webauthn.get", challenge or options["challenge"],
                                        origin)
        signature = stored.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                    ec.ECDSA(hashes.SHA256()))
        handle = user_handle if user_handle is not None else stored.user_handle
        return {"id": b64url(stored.credential_id), "rawId": b64url(stored.credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
                "response": {"clientDataJSON": b64url(client_data),
                             "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature),
                             "userHandle": b64url(handle) if with_user_handle else None}}

    def _pick(self, options: dict[str, Any], credential_id: bytes | None) -> StoredCredential:
        if credential_id is not None:
            return self.credentials[credential_id]
        allowed = [unb64url(c["id"]) for c in options.get("allowCredentials") or []]
        for cid, stored in self.credentials.items():
            if (not allowed or cid in allowed) and stored.rp_id == options["rpId"]:
                return stored
        raise LookupError("no credential for these options")

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge,
                           "origin": origin or self.origin, "crossOrigin": False},
                          separators=(",", ":")).encode()
