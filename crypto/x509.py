"""X.509 with SM2: certificates, PKCS#10 requests, CRLs and chain validation (RFC 5280,
RFC 2986, GM/T 0015), built with ``asn1crypto`` and signed through any ``SM2Signer``.

What it produces and accepts:

- Signatures are SM2-with-SM3 (OID ``1.2.156.10197.1.501``, no parameters), DER
  ``SEQUENCE{r, s}``; keys are ``id-ecPublicKey`` on the SM2 curve (``1.2.156.10197.1.301``).
  Anything else (RSA, ECDSA P-256, ...) is refused with a ``CertificateError`` at load time.
- Signer ID (the "distinguishing ID" in Z): OpenSSL 1.1.1 to 3.x signs and verifies
  certificates, CSRs and CRLs with an *empty* ID unless told otherwise, and its command line
  cannot set an ID for intermediate certificates or CRLs. So that ``openssl verify`` and
  ``openssl crl -verify`` accept what we issue, we sign with ``OPENSSL_SIGNER_ID`` (empty)
  by default (``CERTIFICATE_SIGNER_ID``). GM/T 0009's ``1234567812345678``
  (``GMT_0009_SIGNER_ID``, used by CFCA, GmSSL, BouncyCastle) can be chosen per CA.
  Verification accepts either (``ACCEPTED_SIGNER_IDS``).
- Subject key identifier: RFC 5280 section 4.2.1.2 method 1, SHA-1 of the subjectPublicKey
  bits, the same value ``openssl`` writes for ``subjectKeyIdentifier=hash``. It is an
  identifier, not a security function. Fingerprints are SM3 of the DER certificate.
- Serial numbers are random 159-bit positive integers (20 octets in DER).
- Times are UTC; UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5).

Main entry points: ``parse_name`` ("/C=CN/O=Org/CN=Name"), ``create_root_ca``,
``create_intermediate_ca``, ``issue_end_entity``, ``issue_certificate`` with a
``CertificateProfile``, ``create_csr`` / ``issue_from_csr``, ``create_crl``, the
``Certificate``, ``CertificateSigningRequest`` and ``CertificateRevocationList`` wrappers,
and ``validate`` for chains (raises ``ChainValidationError`` naming the failed check).
"""

from __future__ import annotations

import binascii
import datetime as dt
import enum
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from asn1crypto import crl as asn1_crl
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509

from crypto.errors import CertificateError, InvalidKey, InvalidSignature
from crypto.keys.provider import SM2Signer
from crypto.sm2 import (
    DEFAULT_SIGNER_ID,
    SM2_WITH_SM3_OID,
    Encoding,
    SignatureEncoding,
    SM2PublicKey,
)
from crypto.sm3 import sm3

__all__ = [
    "ACCEPTED_SIGNER_IDS",
    "CA_KEY_USAGE",
    "CERTIFICATE_SIGNER_ID",
    "GMT_0009_SIGNER_ID",
    "OPENSSL_SIGNER_ID",
    "SIGNING_KEY_USAGE",
    "SM2_WITH_SM3_OID",
    "Certificate",
    "CertificateAuthority",
    "CertificateProfile",
    "CertificateRevocationList",
    "CertificateSigningRequest",
    "ChainValidationError",
    "ExtendedKeyUsage",
    "InvalidName",
    "KeyUsage",
    "Name",
    "RevocationReason",
    "RevokedCertificate",
    "SubjectAlternativeNames",
    "ValidationFailure",
    "create_crl",
    "create_csr",
    "create_intermediate_ca",
    "create_root_ca",
    "issue_certificate",
    "issue_end_entity",
    "issue_from_csr",
    "load_certificate",
    "load_certificates",
    "load_crl",
    "load_csr",
    "parse_name",
    "subject_key_identifier",
    "validate",
]

GMT_0009_SIGNER_ID: Final[bytes] = DEFAULT_SIGNER_ID
OPENSSL_SIGNER_ID: Final[bytes] = b""
CERTIFICATE_SIGNER_ID: Final[bytes] = OPENSSL_SIGNER_ID
ACCEPTED_SIGNER_IDS: Final[tuple[bytes, ...]] = (OPENSSL_SIGNER_ID, GMT_0009_SIGNER_ID)

_SM2_CURVE_NAME = "sm2"  # registered with asn1crypto by crypto.sm2
_MAX_PATH_CERTIFICATES = 10  # leaf + intermediates + anchor
_SERIAL_BITS = 159


# --------------------------------------------------------------------------- names


class InvalidName(CertificateError, ValueError):
    """A distinguished name string is malformed or uses an unsupported attribute."""


@dataclass(frozen=True)
class _Attribute:
    short: str        # OpenSSL short name, as written in "/CN=..."
    asn1_name: str    # asn1crypto's name for the attribute type
    max_length: int   # upper bound from RFC 5280 appendix A.1
    string_type: str  # the DirectoryString choice, or "ia5" for emailAddress


_ATTRIBUTES: Final[tuple[_Attribute, ...]] = (
    _Attribute("C", "country_name", 2, "printable_string"),
    _Attribute("ST", "state_or_province_name", 128, "utf8_string"),
    _Attribute("L", "locality_name", 128, "utf8_string"),
    _Attribute("O", "organization_name", 64, "utf8_string"),
    _Attribute("OU", "organizational_unit_name", 64, "utf8_string"),
    _Attribute("CN", "common_name", 64, "utf8_string"),
    _Attribute("serialNumber", "serial_number", 64, "printable_string"),
    _Attribute("emailAddress", "email_address", 255, "ia5"),
)
_BY_SHORT: Final = {a.short.lower(): a for a in _ATTRIBUTES}
_BY_ASN1: Final = {a.asn1_name: a for a in _ATTRIBUTES}
_PRINTABLE: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


def _check_value(attr: _Attribute, value: str) -> None:
    if not value:
        raise InvalidName(f"attribute {attr.short} has an empty value")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidName(f"attribute {attr.short} contains a control character")
    if len(value) > attr.max_length:
        raise InvalidName(f"attribute {attr.short} is longer than {attr.max_length} characters")
    if attr.short == "C" and not (len(value) == 2 and value.isascii() and value.isalpha()):
        raise InvalidName("attribute C must be a two-letter country code, e.g. CN")
    if attr.string_type == "printable_string" and not set(value) <= _PRINTABLE:
        raise InvalidName(f"attribute {attr.short} may only hold PrintableString characters")
    if attr.string_type == "ia5" and (not value.isascii() or "@" not in value):
        raise InvalidName(f"attribute {attr.short} must be an ASCII email address")


def _type_and_value(attr: _Attribute, value: str) -> asn1_x509.NameTypeAndValue:
    _check_value(attr, value)
    encoded: Any = value if attr.string_type == "ia5" else asn1_x509.DirectoryString(
        name=attr.string_type, value=value)
    return asn1_x509.NameTypeAndValue({"type": attr.asn1_name, "value": encoded})


def _split_components(text: str) -> list[list[tuple[str, bool]]]:
    """Split "/A=x/B=y" into components of (character, was_escaped)."""
    components: list[list[tuple[str, bool]]] = []
    current: list[tuple[str, bool]] = []
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 == len(text):
                raise InvalidName("the name ends with a lone backslash")
            current.append((text[i + 1], True))
            i += 2
            continue
        if ch == "/":
            components.append(current)
            current = []
        else:
            current.append((ch, False))
        i += 1
    components.append(current)
    return components


class Name:
    """An X.509 distinguished name.

    ``str(name)`` is the OpenSSL one-line form ``/C=CN/O=Org/CN=Name`` (``/`` and ``\\``
    inside values escaped with a backslash); equality follows RFC 5280 section 7.1
    (case-insensitive, whitespace-folded comparison of directory strings).
    """

    __slots__ = ("_asn1",)

    def __init__(self, asn1: asn1_x509.Name) -> None:
        self._asn1 = asn1

    @classmethod
    def parse(cls, text: str) -> Name:
        """Parse ``/C=CN/ST=.../L=.../O=.../OU=.../CN=.../serialNumber=.../emailAddress=...``.

        Attributes appear in the order written and may repeat (two ``OU``); attribute
        names are matched case-insensitively; a backslash escapes the next character.
        """
        if not isinstance(text, str):
            raise TypeError("a name must be given as str")
        if not text.startswith("/"):
            raise InvalidName("a name starts with '/', e.g. /C=CN/O=Org/CN=Name")
        rdns = []
        for component in _split_components(text):
            if not component:
                raise InvalidName("the name has an empty component ('//' or a trailing '/')")
            try:
                eq = next(i for i, (ch, escaped) in enumerate(component)
                          if ch == "=" and not escaped)
            except StopIteration:
                raw = "".join(ch for ch, _ in component)
                raise InvalidName(f"component {raw!r} has no '='") from None
            key = "".join(ch for ch, _ in component[:eq]).strip()
            value = "".join(ch for ch, _ in component[eq + 1:])
            attr = _BY_SHORT.get(key.lower())
            if attr is None:
                supported = ", ".join(a.short for a in _ATTRIBUTES)
                raise InvalidName(f"unsupported attribute {key!r}; supported: {supported}")
            rdns.append(asn1_x509.RelativeDistinguishedName([_type_and_value(attr, value)]))
        asn1 = asn1_x509.Name(name="", value=asn1_x509.RDNSequence(rdns))
        return cls(asn1_x509.Name.load(asn1.dump()))

    @classmethod
    def from_der(cls, der: bytes) -> Name:
        return cls(_parse(asn1_x509.Name, bytes(der), "name"))

    @property
    def asn1(self) -> asn1_x509.Name:
        """The underlying ``asn1crypto.x509.Name`` (for building other structures)."""
        return self._asn1

    def der(self) -> bytes:
        return bytes(self._asn1.dump())

    def attributes(self) -> list[tuple[str, str]]:
        """``(short name, value)`` pairs in order; unknown types appear as dotted OIDs."""
        pairs: list[tuple[str, str]] = []
        for rdn in self._asn1.chosen:
            for type_and_value in rdn:
                type_name = type_and_value["type"].native
                attr = _BY_ASN1.get(type_name)
                short = attr.short if attr else type_and_value["type"].dotted
                value = type_and_value["value"].native
                pairs.append((short, value if isinstance(value, str) else repr(value)))
        return pairs

    def get(self, short: str) -> str | None:
        """The first value of attribute ``short`` (e.g. ``"CN"``), or None."""
        return next((v for k, v in self.attributes() if k == short), None)

    @property
    def common_name(self) -> str | None:
        return self.get("CN")

    def __str__(self) -> str:
        def escape(value: str) -> str:
            return value.replace("\\", "\\\\").replace("/", "\\/")

        return "".join(f"/{k}={escape(v)}" for k, v in self.attributes())

    def __repr__(self) -> str:
        return f"Name({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Name):
            return NotImplemented
        if self.der() == other.der():
            # The same encoding is the same name; the RFC 4518 comparison below (string
            # preparation of every value) is only needed when encodings differ.
            return True
        try:
            return bool(self._asn1 == other._asn1)
        except ValueError:
            # RFC 4518 string preparation refuses unassigned or prohibited code points
            # (asn1crypto raises ValueError); such a name only equals its exact encoding.
            return self.der() == other.der()

    def __hash__(self) -> int:
        try:
            return hash(self._asn1.hashable)
        except ValueError:
            return hash(self.der())


def parse_name(text: str) -> Name:
    """Parse an OpenSSL-style name such as ``/C=CN/O=某大学/CN=Name``; see ``Name.parse``."""
    return Name.parse(text)


def _as_name(value: Name | str) -> Name:
    return value if isinstance(value, Name) else Name.parse(value)


# --------------------------------------------------------------------------- helpers


def _pem(label: str, der: bytes) -> bytes:
    return bytes(asn1_pem.armor(label, der))


def _unarmor(data: bytes, labels: tuple[str, ...], what: str) -> list[bytes]:
    """DER bodies of every PEM block in ``data`` whose label is one of ``labels``."""
    try:
        blocks = [der for label, _, der in asn1_pem.unarmor(data, multiple=True)
                  if label in labels]
    except (ValueError, binascii.Error) as exc:
        raise CertificateError(f"malformed PEM {what}: {exc}") from None
    if not blocks:
        raise CertificateError(f"no PEM block labelled {' or '.join(labels)} found")
    return blocks


def _der_or_pem(data: bytes, labels: tuple[str, ...], what: str) -> bytes:
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"a {what} is loaded from bytes")
    data = bytes(data)
    if data.lstrip().startswith(b"-----BEGIN"):
        return _unarmor(data, labels, what)[0]
    return data


def _utc(value: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{what} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC)")
    return value.astimezone(dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _time(value: dt.datetime) -> asn1_x509.Time:
    value = value.astimezone(dt.UTC).replace(microsecond=0)
    choice = "utc_time" if 1950 <= value.year < 2050 else "general_time"
    return asn1_x509.Time(name=choice, value=value)


def _validity(not_before: dt.datetime | None, not_after: dt.datetime | None,
              days: int | None) -> tuple[dt.datetime, dt.datetime]:
    start = (_utc(not_before, "not_before") if not_before is not None else _now())
    start = start.replace(microsecond=0)
    if (days is None) == (not_after is None):
        raise ValueError("give exactly one of days or not_after")
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError("days must be a positive integer")
        end = start + dt.timedelta(days=days)
    else:
        assert not_after is not None
        end = _utc(not_after, "not_after").replace(microsecond=0)
    if end <= start:
        raise ValueError("not_after must be later than not_before")
    return start, end


def _random_serial() -> int:
    """A positive 159-bit serial: top bit set so the DER is always 20 octets."""
    return (1 << (_SERIAL_BITS - 1)) | secrets.randbits(_SERIAL_BITS - 1)


def _signature_algorithm() -> asn1_x509.SignedDigestAlgorithm:
    # SM2-with-SM3 carries no parameters (absent, not NULL), as OpenSSL writes it.
    return asn1_x509.SignedDigestAlgorithm({"algorithm": SM2_WITH_SM3_OID})


def _algorithm_label(algorithm: Any) -> str:
    oid = algorithm["algorithm"]
    name = oid.native
    return f"{name} ({oid.dotted})" if name != oid.dotted else str(oid.dotted)


def _require_sm2_signature(outer: Any, inner: Any | None, what: str) -> None:
    if outer["algorithm"].dotted != SM2_WITH_SM3_OID:
        raise CertificateError(
            f"{what} is signed with {_algorithm_label(outer)}, not SM2-with-SM3 "
            f"({SM2_WITH_SM3_OID}); only SM2 is supported")
    if inner is not None and inner.dump() != outer.dump():
        raise CertificateError(f"{what}: the signed and the outer signature algorithms differ")


def _sm2_public_key(spki: asn1_keys.PublicKeyInfo, what: str) -> SM2PublicKey:
    algorithm = spki["algorithm"]
    if algorithm["algorithm"].native != "ec":
        raise CertificateError(f"{what} has a {algorithm['algorithm'].native} key, not SM2")
    parameters = algorithm["parameters"]
    curve = parameters.chosen.native if parameters.name == "named" else None
    if curve != _SM2_CURVE_NAME:
        raise CertificateError(f"{what} has an EC key on curve {curve}, not SM2")
    try:
        return SM2PublicKey.from_der(bytes(spki.dump()))
    except InvalidKey as exc:
        raise CertificateError(f"{what} has an invalid SM2 public key: {exc}") from None


def subject_key_identifier(public_key: SM2PublicKey) -> bytes:
    """RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits (20 bytes).

    This matches ``openssl``'s ``subjectKeyIdentifier=hash``; SHA-1 only names the key.
    """
    spki = asn1_keys.PublicKeyInfo.load(public_key.public_bytes(Encoding.DER))
    bits = bytes(spki["public_key"].contents[1:])  # drop the unused-bits octet
    return hashlib.sha1(bits, usedforsecurity=False).digest()


def _sign(signer: SM2Signer, data: bytes, signer_id: bytes) -> bytes:
    if not isinstance(signer, SM2Signer):
        raise TypeError("signer must be an SM2Signer (SM2PrivateKey or a provider handle)")
    return signer.sign(data, signer_id=signer_id, encoding=SignatureEncoding.DER)


def _verify(public_key: SM2PublicKey, signature: bytes, data: bytes,
            signer_ids: Sequence[bytes]) -> bool:
    for signer_id in signer_ids:
        try:
            public_key.verify(signature, data, signer_id=signer_id,
                              encoding=SignatureEncoding.DER)
        except InvalidSignature:
            continue
        return True
    return False


def _check_extension_list(extensions: Any, what: str) -> None:
    seen: set[str] = set()
    for extension in extensions:
        oid = extension["extn_id"].dotted
        if oid in seen:
            raise CertificateError(f"{what} has extension {oid} more than once")
        seen.add(oid)


def _parse(spec: Any, der: bytes, what: str) -> Any:
    try:
        value = spec.load(der, strict=True)
        value.native  # noqa: B018 - parse every field now, so errors surface at load time
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        # asn1crypto reports some malformed encodings with IndexError or AttributeError.
        raise CertificateError(f"malformed DER {what}: {exc!r}") from None
    return value


def _signature_octets(bit_string: Any, what: str) -> bytes:
    """The octets of a signature BIT STRING, which must have no unused bits."""
    contents = bytes(bit_string.contents)
    if not contents or contents[0] != 0:
        raise CertificateError(f"the signature BIT STRING of the {what} has unused bits")
    return contents[1:]


# --------------------------------------------------------------------------- extensions


class KeyUsage(enum.Enum):
    """RFC 5280 keyUsage bits (values are asn1crypto's names)."""

    DIGITAL_SIGNATURE = "digital_signature"
    NON_REPUDIATION = "non_repudiation"  # a.k.a. contentCommitment
    KEY_ENCIPHERMENT = "key_encipherment"
    DATA_ENCIPHERMENT = "data_encipherment"
    KEY_AGREEMENT = "key_agreement"
    KEY_CERT_SIGN = "key_cert_sign"
    CRL_SIGN = "crl_sign"
    ENCIPHER_ONLY = "encipher_only"
    DECIPHER_ONLY = "decipher_only"


class ExtendedKeyUsage(enum.Enum):
    """Common extendedKeyUsage purposes (values are OIDs)."""

    SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
    CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
    CODE_SIGNING = "1.3.6.1.5.5.7.3.3"
    EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4"
    TIME_STAMPING = "1.3.6.1.5.5.7.3.8"
    OCSP_SIGNING = "1.3.6.1.5.5.7.3.9"


SIGNING_KEY_USAGE: Final = frozenset({KeyUsage.DIGITAL_SIGNATURE, KeyUsage.NON_REPUDIATION})
CA_KEY_USAGE: Final = frozenset({KeyUsage.KEY_CERT_SIGN, KeyUsage.CRL_SIGN})


@dataclass(frozen=True)
class SubjectAlternativeNames:
    """DNS names, URIs and email addresses for the subjectAltName extension."""

    dns_names: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for dns in self.dns_names:
            if not dns or not dns.isascii() or any(c.isspace() for c in dns):
                raise ValueError(f"invalid DNS name {dns!r} (ASCII, IDNA-encoded, no spaces)")
        for uri in self.uris:
            if ":" not in uri or any(c.isspace() for c in uri):
                raise ValueError(f"invalid URI {uri!r}")
        for email in self.emails:
            if email.count("@") != 1 or not email.isascii() or any(c.isspace() for c in email):
                raise ValueError(f"invalid email address {email!r}")

    def __bool__(self) -> bool:
        return bool(self.dns_names or self.uris or self.emails)

    def _general_names(self) -> list[asn1_x509.GeneralName]:
        return ([asn1_x509.GeneralName(name="dns_name", value=d) for d in self.dns_names]
                + [asn1_x509.GeneralName(name="uniform_resource_identifier", value=u)
                   for u in self.uris]
                + [asn1_x509.GeneralName(name="rfc822_name", value=e) for e in self.emails])

    @classmethod
    def _from_general_names(cls, names: Any) -> SubjectAlternativeNames:
        dns, uris, emails = [], [], []
        for general_name in names:
            if general_name.name == "dns_name":
                dns.append(general_name.native)
            elif general_name.name == "uniform_resource_identifier":
                uris.append(general_name.native)
            elif general_name.name == "rfc822_name":
                emails.append(general_name.native)
        return cls(tuple(dns), tuple(uris), tuple(emails))


@dataclass(frozen=True)
class CertificateProfile:
    """What the issuing CA decides to put in a certificate besides names, key and validity.

    ``basicConstraints`` and ``keyUsage`` are always present and critical; SKI and AKI are
    always added; ``extendedKeyUsage`` and ``subjectAltName`` are non-critical.
    """

    is_ca: bool
    key_usage: frozenset[KeyUsage]
    path_length: int | None = None
    extended_key_usage: tuple[ExtendedKeyUsage, ...] = ()
    subject_alternative_names: SubjectAlternativeNames = field(
        default_factory=SubjectAlternativeNames)

    def __post_init__(self) -> None:
        if not self.key_usage:
            raise ValueError("a profile needs at least one key usage")
        if self.is_ca and KeyUsage.KEY_CERT_SIGN not in self.key_usage:
            raise ValueError("a CA profile must include keyCertSign")
        if not self.is_ca and KeyUsage.KEY_CERT_SIGN in self.key_usage:
            raise ValueError("keyCertSign is only for CA certificates")
        if self.path_length is not None:
            if not self.is_ca:
                raise ValueError("a path length only applies to CA certificates")
            if isinstance(self.path_length, bool) or self.path_length < 0:
                raise ValueError("path_length must be a non-negative integer")

    @classmethod
    def certificate_authority(cls, path_length: int | None = None) -> CertificateProfile:
        """CA:TRUE (with ``pathLenConstraint`` when given), keyCertSign + cRLSign."""
        return cls(is_ca=True, key_usage=CA_KEY_USAGE, path_length=path_length)

    @classmethod
    def end_entity(cls, *, key_usage: Iterable[KeyUsage] = SIGNING_KEY_USAGE,
                   tls_server: bool = False, tls_client: bool = False,
                   dns_names: Sequence[str] = (), uris: Sequence[str] = (),
                   emails: Sequence[str] = ()) -> CertificateProfile:
        """CA:FALSE; digitalSignature + nonRepudiation unless ``key_usage`` says otherwise;
        serverAuth / clientAuth EKU on request; subjectAltName from the given names."""
        eku = tuple(p for p, wanted in ((ExtendedKeyUsage.SERVER_AUTH, tls_server),
                                        (ExtendedKeyUsage.CLIENT_AUTH, tls_client)) if wanted)
        return cls(is_ca=False, key_usage=frozenset(key_usage), extended_key_usage=eku,
                   subject_alternative_names=SubjectAlternativeNames(
                       tuple(dns_names), tuple(uris), tuple(emails)))

    def _extensions(self, ski: bytes, aki: bytes | None) -> list[dict[str, Any]]:
        constraints: dict[str, Any] = {"ca": self.is_ca}
        if self.path_length is not None:
            constraints["path_len_constraint"] = self.path_length
        extensions: list[dict[str, Any]] = [
            {"extn_id": "basic_constraints", "critical": True, "extn_value": constraints},
            {"extn_id": "key_usage", "critical": True,
             "extn_value": {u.value for u in self.key_usage}},
            {"extn_id": "key_identifier", "critical": False, "extn_value": ski},
        ]
        if aki is not None:
            extensions.append({"extn_id": "authority_key_identifier", "critical": False,
                               "extn_value": {"key_identifier": aki}})
        if self.extended_key_usage:
            extensions.append({"extn_id": "extended_key_usage", "critical": False,
                               "extn_value": [p.value for p in self.extended_key_usage]})
        if self.subject_alternative_names:
            extensions.append({"extn_id": "subject_alt_name", "critical": False,
                               "extn_value": self.subject_alternative_names._general_names()})
        return extensions


# Extensions whose meaning we enforce (or that carry no constraint), so they may be critical.
_UNDERSTOOD_EXTENSIONS: Final = frozenset({
    "basic_constraints", "key_usage", "extended_key_usage", "subject_alt_name",
    "key_identifier", "authority_key_identifier",
})


# --------------------------------------------------------------------------- certificate


class Certificate:
    """An SM2 X.509 certificate, loaded from PEM or DER and checked to be SM2 throughout."""

    __slots__ = ("_asn1", "_der", "_public_key")

    def __init__(self, asn1: asn1_x509.Certificate, der: bytes) -> None:
        self._asn1 = asn1
        self._der = der
        self._public_key: SM2PublicKey | None = None

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        asn1 = _parse(asn1_x509.Certificate, bytes(der), "certificate")
        tbs = asn1["tbs_certificate"]
        _require_sm2_signature(asn1["signature_algorithm"], tbs["signature"], "certificate")
        spki_algorithm = tbs["subject_public_key_info"]["algorithm"]
        if spki_algorithm["algorithm"].native != "ec" or (
                spki_algorithm["parameters"].name != "named"
                or spki_algorithm["parameters"].chosen.native != _SM2_CURVE_NAME):
            raise CertificateError("certificate subject key is not an SM2 key")
        extensions = tbs["extensions"]
        if len(extensions) and tbs["version"].native != "v3":
            raise CertificateError("certificate has extensions but is not version 3")
        _check_extension_list(extensions, "certificate")
        return cls(asn1, bytes(der))

    @classmethod
    def from_pem(cls, pem: bytes) -> Certificate:
        """The first ``CERTIFICATE`` block of ``pem``."""
        return cls.from_der(_unarmor(pem, ("CERTIFICATE",), "certificate")[0])

    # -- fields

    @property
    def asn1(self) -> asn1_x509.Certificate:
        return self._asn1

    @property
    def _tbs(self) -> Any:
        return self._asn1["tbs_certificate"]

    @property
    def version(self) -> int:
        """1, 2 or 3."""
        return int(self._tbs["version"].native[1:])

    @property
    def serial_number(self) -> int:
        return int(self._tbs["serial_number"].native)

    @property
    def subject(self) -> Name:
        return Name(self._tbs["subject"])

    @property
    def issuer(self) -> Name:
        return Name(self._tbs["issuer"])

    @property
    def not_before(self) -> dt.datetime:
        value: dt.datetime = self._tbs["validity"]["not_before"].native
        return value.astimezone(dt.UTC)

    @property
    def not_after(self) -> dt.datetime:
        value: dt.datetime = self._tbs["validity"]["not_after"].native
        return value.astimezone(dt.UTC)

    def public_key(self) -> SM2PublicKey:
        if self._public_key is None:
            self._public_key = _sm2_public_key(self._tbs["subject_public_key_info"],
                                               f"certificate {self.subject}")
        return self._public_key

    @property
    def is_ca(self) -> bool:
        """basicConstraints cA (False when the extension is absent)."""
        value = self._asn1.basic_constraints_value
        return bool(value is not None and value["ca"].native)

    @property
    def path_length(self) -> int | None:
        """basicConstraints pathLenConstraint, or None for no limit (or not a CA)."""
        value = self._asn1.basic_constraints_value
        if value is None or value["path_len_constraint"].native is None:
            return None
        return int(value["path_len_constraint"].native)

    @property
    def key_usage(self) -> frozenset[KeyUsage] | None:
        """The keyUsage bits, or None when the extension is absent (no restriction)."""
        value = self._asn1.key_usage_value
        if value is None:
            return None
        known = {usage.value for usage in KeyUsage}
        # Bits beyond decipherOnly have no meaning in RFC 5280 and are ignored.
        return frozenset(KeyUsage(name) for name in value.native if name in known)

    @property
    def extended_key_usage(self) -> frozenset[str] | None:
        """extendedKeyUsage purposes as dotted OIDs, or None when absent."""
        value = self._asn1.extended_key_usage_value
        if value is None:
            return None
        return frozenset(str(purpose.dotted) for purpose in value)

    @property
    def subject_alternative_names(self) -> SubjectAlternativeNames:
        value = self._asn1.subject_alt_name_value
        if value is None:
            return SubjectAlternativeNames()
        return SubjectAlternativeNames._from_general_names(value)

    @property
    def subject_key_identifier(self) -> bytes | None:
        value = self._asn1.key_identifier_value
        return None if value is None else bytes(value.native)

    @property
    def authority_key_identifier(self) -> bytes | None:
        value = self._asn1.authority_key_identifier_value
        if value is None or value["key_identifier"].native is None:
            return None
        return bytes(value["key_identifier"].native)

    @property
    def critical_extensions(self) -> frozenset[str]:
        """asn1crypto names (or dotted OIDs) of the extensions marked critical."""
        return frozenset(str(name) for name in self._asn1.critical_extensions)

    @property
    def is_self_issued(self) -> bool:
        return self.subject == self.issuer

    @property
    def tbs_bytes(self) -> bytes:
        """The exact signed bytes (TBSCertificate as received)."""
        return bytes(self._tbs.dump())

    @property
    def signature(self) -> bytes:
        return _signature_octets(self._asn1["signature_value"], "certificate")

    def fingerprint(self) -> bytes:
        """SM3 of the DER certificate (32 bytes)."""
        return sm3(self._der)

    def is_valid_at(self, at: dt.datetime) -> bool:
        when = _utc(at, "at")
        return self.not_before <= when <= self.not_after

    # -- serialisation

    def der(self) -> bytes:
        return self._der

    def pem(self) -> bytes:
        return _pem("CERTIFICATE", self._der)

    def public_bytes(self, encoding: Encoding) -> bytes:
        if encoding is Encoding.DER:
            return self.der()
        if encoding is Encoding.PEM:
            return self.pem()
        raise TypeError("encoding must be an Encoding")

    # -- signature

    def verify_signature(self, issuer: Certificate | SM2PublicKey, *,
                         signer_ids: Sequence[bytes] = ACCEPTED_SIGNER_IDS) -> None:
        """Raise ``CertificateError`` unless ``issuer``'s key signed this certificate.

        Only the signature is checked; names, validity and constraints are ``validate``'s.
        """
        key = issuer.public_key() if isinstance(issuer, Certificate) else issuer
        if not _verify(key, self.signature, self.tbs_bytes, signer_ids):
            by = f" by {issuer.subject}" if isinstance(issuer, Certificate) else ""
            raise CertificateError(
                f"the signature of certificate {self.subject} (serial {self.serial_number:x})"
                f" does not verify{by}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Certificate):
            return NotImplemented
        return self._der == other._der

    def __hash__(self) -> int:
        return hash(self._der)

    def __repr__(self) -> str:
        return f"<Certificate subject={str(self.subject)!r} serial={self.serial_number:x}>"


def load_certificate(data: bytes) -> Certificate:
    """Load one certificate from PEM (first block) or DER."""
    return Certificate.from_der(_der_or_pem(data, ("CERTIFICATE",), "certificate"))


def load_certificates(pem: bytes) -> list[Certificate]:
    """Every certificate of a PEM bundle, in order."""
    return [Certificate.from_der(der) for der in _unarmor(pem, ("CERTIFICATE",), "bundle")]


# --------------------------------------------------------------------------- issuing


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate together with the signer holding its key.

    ``signer`` is any ``SM2Signer``: an ``SM2PrivateKey`` or a key-provider handle; the
    private key is never needed. ``signer_id`` is the SM2 ID its signatures use.
    """

    certificate: Certificate
    signer: SM2Signer
    signer_id: bytes = CERTIFICATE_SIGNER_ID

    def __post_init__(self) -> None:
        if not isinstance(self.signer, SM2Signer):
            raise TypeError("signer must be an SM2Signer (SM2PrivateKey or a provider handle)")
        if not self.certificate.is_ca:
            raise CertificateError(f"{self.certificate.subject} is not a CA certificate")
        usage = self.certificate.key_usage
        if usage is not None and KeyUsage.KEY_CERT_SIGN not in usage:
            raise CertificateError(f"{self.certificate.subject} lacks keyCertSign")
        if self.signer.public_key() != self.certificate.public_key():
            raise CertificateError("the signer's key is not the CA certificate's key")


def _assemble_certificate(*, issuer_name: Name, subject: Name, public_key: SM2PublicKey,
                          profile: CertificateProfile, validity: tuple[dt.datetime, dt.datetime],
                          aki: bytes | None, signer: SM2Signer,
                          signer_id: bytes) -> Certificate:
    if not isinstance(public_key, SM2PublicKey):
        raise TypeError("public_key must be an SM2PublicKey")
    spki = asn1_keys.PublicKeyInfo.load(public_key.public_bytes(Encoding.DER))
    tbs = asn1_x509.TbsCertificate({
        "version": "v3",
        "serial_number": _random_serial(),
        "signature": _signature_algorithm(),
        "issuer": issuer_name.asn1,
        "validity": {"not_before": _time(validity[0]), "not_after": _time(validity[1])},
        "subject": subject.asn1,
        "subject_public_key_info": spki,
        "extensions": profile._extensions(subject_key_identifier(public_key), aki),
    })
    tbs_der = bytes(tbs.dump())
    signature = _sign(signer, tbs_der, signer_id)
    certificate = asn1_x509.Certificate({
        "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
        "signature_algorithm": _signature_algorithm(),
        "signature_value": signature,
    })
    return Certificate.from_der(bytes(certificate.dump()))


def create_root_ca(signer: SM2Signer, subject: Name | str, *, days: int | None = None,
                   not_before: dt.datetime | None = None,
                   not_after: dt.datetime | None = None, path_length: int | None = None,
                   signer_id: bytes = CERTIFICATE_SIGNER_ID) -> Certificate:
    """A self-signed root CA certificate: CA:TRUE (critical), keyCertSign + cRLSign
    (critical), SKI, AKI = SKI. Give ``days`` or ``not_after``; ``not_before`` defaults to
    now."""
    name = _as_name(subject)
    public_key = signer.public_key()
    return _assemble_certificate(
        issuer_name=name, subject=name, public_key=public_key,
        profile=CertificateProfile.certificate_authority(path_length),
        validity=_validity(not_before, not_after, days),
        aki=subject_key_identifier(public_key), signer=signer, signer_id=signer_id)


def issue_certificate(issuer: CertificateAuthority, subject: Name | str,
                      public_key: SM2PublicKey, profile: CertificateProfile, *,
                      days: int | None = None, not_before: dt.datetime | None = None,
                      not_after: dt.datetime | None = None) -> Certificate:
    """Issue a certificate for ``public_key`` under ``issuer`` with ``profile``'s extensions.

    The validity must lie within the issuer's, and a CA under an issuer with a path length
    must have a smaller one; otherwise ``CertificateError``.
    """
    ca = issuer.certificate
    validity = _validity(not_before, not_after, days)
    if validity[0] < ca.not_before or validity[1] > ca.not_after:
        raise CertificateError(
            f"the requested validity {validity[0]:%Y-%m-%d %H:%M:%S} to "
            f"{validity[1]:%Y-%m-%d %H:%M:%S} UTC is outside the issuer's "
            f"({ca.not_before:%Y-%m-%d %H:%M:%S} to {ca.not_after:%Y-%m-%d %H:%M:%S} UTC)")
    if profile.is_ca and ca.path_length is not None:
        if ca.path_length == 0:
            raise CertificateError(f"{ca.subject} has pathLen 0 and cannot issue CA certificates")
        if profile.path_length is None or profile.path_length >= ca.path_length:
            raise CertificateError(
                f"a CA under {ca.subject} (pathLen {ca.path_length}) needs a path length of "
                f"at most {ca.path_length - 1}")
    return _assemble_certificate(
        issuer_name=ca.subject, subject=_as_name(subject), public_key=public_key,
        profile=profile, validity=validity,
        aki=ca.subject_key_identifier or subject_key_identifier(ca.public_key()),
        signer=issuer.signer, signer_id=issuer.signer_id)


def create_intermediate_ca(issuer: CertificateAuthority, subject: Name | str,
                           public_key: SM2PublicKey, *, path_length: int | None = 0,
                           days: int | None = None, not_before: dt.datetime | None = None,
                           not_after: dt.datetime | None = None) -> Certificate:
    """An intermediate CA certificate (pathLen ``path_length``; None means unlimited)."""
    return issue_certificate(issuer, subject, public_key,
                             CertificateProfile.certificate_authority(path_length),
                             days=days, not_before=not_before, not_after=not_after)


def issue_end_entity(issuer: CertificateAuthority, subject: Name | str,
                     public_key: SM2PublicKey, *, days: int | None = None,
                     not_before: dt.datetime | None = None,
                     not_after: dt.datetime | None = None,
                     key_usage: Iterable[KeyUsage] = SIGNING_KEY_USAGE,
                     tls_server: bool = False, tls_client: bool = False,
                     dns_names: Sequence[str] = (), uris: Sequence[str] = (),
                     emails: Sequence[str] = ()) -> Certificate:
    """An end-entity certificate; by default for signing (digitalSignature +
    nonRepudiation), optionally with TLS server/client EKU and subjectAltName entries."""
    profile = CertificateProfile.end_entity(key_usage=key_usage, tls_server=tls_server,
                                            tls_client=tls_client, dns_names=dns_names,
                                            uris=uris, emails=emails)
    return issue_certificate(issuer, subject, public_key, profile, days=days,
                             not_before=not_before, not_after=not_after)


# --------------------------------------------------------------------------- CSR


class CertificateSigningRequest:
    """A PKCS#10 certification request (RFC 2986) with an SM2 key and signature."""

    __slots__ = ("_asn1", "_der")

    def __init__(self, asn1: asn1_csr.CertificationRequest, der: bytes) -> None:
        self._asn1 = asn1
        self._der = der

    @classmethod
    def from_der(cls, der: bytes) -> CertificateSigningRequest:
        asn1 = _parse(asn1_csr.CertificationRequest, bytes(der), "certificate request")
        _require_sm2_signature(asn1["signature_algorithm"], None, "certificate request")
        return cls(asn1, bytes(der))

    @classmethod
    def from_pem(cls, pem: bytes) -> CertificateSigningRequest:
        labels = ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
        return cls.from_der(_unarmor(pem, labels, "certificate request")[0])

    @property
    def asn1(self) -> asn1_csr.CertificationRequest:
        return self._asn1

    @property
    def _info(self) -> Any:
        return self._asn1["certification_request_info"]

    @property
    def subject(self) -> Name:
        return Name(self._info["subject"])

    def public_key(self) -> SM2PublicKey:
        return _sm2_public_key(self._info["subject_pk_info"], f"request {self.subject}")

    @property
    def requested_subject_alternative_names(self) -> SubjectAlternativeNames:
        """The subjectAltName in the request's extensionRequest (a CA may ignore it)."""
        for attribute in self._info["attributes"]:
            if attribute["type"].native != "extension_request":
                continue
            for extensions in attribute["values"]:
                for extension in extensions:
                    if extension["extn_id"].native == "subject_alt_name":
                        return SubjectAlternativeNames._from_general_names(
                            extension["extn_value"].parsed)
        return SubjectAlternativeNames()

    def verify(self, *, signer_ids: Sequence[bytes] = ACCEPTED_SIGNER_IDS) -> None:
        """Raise ``CertificateError`` unless the request is signed by its own key."""
        info = bytes(self._info.dump())
        signature = _signature_octets(self._asn1["signature"], "certificate request")
        if not _verify(self.public_key(), signature, info, signer_ids):
            raise CertificateError(
                f"the self-signature of the request for {self.subject} does not verify")

    def der(self) -> bytes:
        return self._der

    def pem(self) -> bytes:
        return _pem("CERTIFICATE REQUEST", self._der)

    def public_bytes(self, encoding: Encoding) -> bytes:
        if encoding is Encoding.DER:
            return self.der()
        if encoding is Encoding.PEM:
            return self.pem()
        raise TypeError("encoding must be an Encoding")

    def __repr__(self) -> str:
        return f"<CertificateSigningRequest subject={str(self.subject)!r}>"


def load_csr(data: bytes) -> CertificateSigningRequest:
    """Load a certification request from PEM or DER (the signature is not yet checked)."""
    labels = ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
    return CertificateSigningRequest.from_der(_der_or_pem(data, labels, "certificate request"))


def create_csr(signer: SM2Signer, subject: Name | str, *, dns_names: Sequence[str] = (),
               uris: Sequence[str] = (), emails: Sequence[str] = (),
               signer_id: bytes = CERTIFICATE_SIGNER_ID) -> CertificateSigningRequest:
    """A PKCS#10 request signed by ``signer``; subjectAltName goes in an extensionRequest."""
    public_key = signer.public_key()
    sans = SubjectAlternativeNames(tuple(dns_names), tuple(uris), tuple(emails))
    attributes = []
    if sans:
        attributes.append({
            "type": "extension_request",
            "values": [[{"extn_id": "subject_alt_name", "critical": False,
                         "extn_value": sans._general_names()}]],
        })
    info = asn1_csr.CertificationRequestInfo({
        "version": "v1",
        "subject": _as_name(subject).asn1,
        "subject_pk_info": asn1_keys.PublicKeyInfo.load(public_key.public_bytes(Encoding.DER)),
        "attributes": attributes,
    })
    info_der = bytes(info.dump())
    request = asn1_csr.CertificationRequest({
        "certification_request_info": asn1_csr.CertificationRequestInfo.load(info_der),
        "signature_algorithm": _signature_algorithm(),
        "signature": _sign(signer, info_der, signer_id),
    })
    return CertificateSigningRequest.from_der(bytes(request.dump()))


def issue_from_csr(issuer: CertificateAuthority, csr: CertificateSigningRequest,
                   profile: CertificateProfile, *, days: int | None = None,
                   not_before: dt.datetime | None = None,
                   not_after: dt.datetime | None = None,
                   subject: Name | str | None = None) -> Certificate:
    """Issue a certificate for a request whose self-signature verifies.

    The subject comes from the request (unless ``subject`` overrides it); the extensions
    come only from ``profile``: the CA decides, requested extensions are ignored.
    """
    csr.verify()
    return issue_certificate(issuer, subject if subject is not None else csr.subject,
                             csr.public_key(), profile, days=days, not_before=not_before,
                             not_after=not_after)


# --------------------------------------------------------------------------- CRL


class RevocationReason(enum.IntEnum):
    """CRLReason codes (RFC 5280 section 5.3.1)."""

    UNSPECIFIED = 0
    KEY_COMPROMISE = 1
    CA_COMPROMISE = 2
    AFFILIATION_CHANGED = 3
    SUPERSEDED = 4
    CESSATION_OF_OPERATION = 5
    CERTIFICATE_HOLD = 6
    REMOVE_FROM_CRL = 8
    PRIVILEGE_WITHDRAWN = 9
    AA_COMPROMISE = 10


# asn1crypto's registry of reason names, keyed by code
_REASON_NAMES: Final[dict[int, str]] = {
    int(code): str(name) for code, name in asn1_crl.CRLReason._map.items()}


@dataclass(frozen=True)
class RevokedCertificate:
    """One CRL entry."""

    serial_number: int
    revocation_date: dt.datetime
    reason: RevocationReason = RevocationReason.UNSPECIFIED


class CertificateRevocationList:
    """A version 2 CRL signed with SM2."""

    __slots__ = ("_asn1", "_der", "_revoked")

    def __init__(self, asn1: asn1_crl.CertificateList, der: bytes) -> None:
        self._asn1 = asn1
        self._der = der
        self._revoked: dict[int, RevokedCertificate] | None = None

    @classmethod
    def from_der(cls, der: bytes) -> CertificateRevocationList:
        asn1 = _parse(asn1_crl.CertificateList, bytes(der), "CRL")
        tbs = asn1["tbs_cert_list"]
        _require_sm2_signature(asn1["signature_algorithm"], tbs["signature"], "CRL")
        _check_extension_list(tbs["crl_extensions"], "CRL")
        return cls(asn1, bytes(der))

    @classmethod
    def from_pem(cls, pem: bytes) -> CertificateRevocationList:
        return cls.from_der(_unarmor(pem, ("X509 CRL",), "CRL")[0])

    @property
    def asn1(self) -> asn1_crl.CertificateList:
        return self._asn1

    @property
    def _tbs(self) -> Any:
        return self._asn1["tbs_cert_list"]

    @property
    def issuer(self) -> Name:
        return Name(self._tbs["issuer"])

    @property
    def this_update(self) -> dt.datetime:
        value: dt.datetime = self._tbs["this_update"].native
        return value.astimezone(dt.UTC)

    @property
    def next_update(self) -> dt.datetime | None:
        value: dt.datetime | None = self._tbs["next_update"].native
        return None if value is None else value.astimezone(dt.UTC)

    @property
    def crl_number(self) -> int | None:
        value = self._asn1.crl_number_value
        return None if value is None else int(value.native)

    @property
    def authority_key_identifier(self) -> bytes | None:
        value = self._asn1.authority_key_identifier_value
        if value is None or value["key_identifier"].native is None:
            return None
        return bytes(value["key_identifier"].native)

    @property
    def critical_extensions(self) -> frozenset[str]:
        """Critical CRL and entry extensions (asn1crypto names or dotted OIDs)."""
        names = {str(n) for n in self._asn1.critical_extensions}
        for entry in self._tbs["revoked_certificates"]:
            names |= {str(n) for n in entry.critical_extensions}
        return frozenset(names)

    def revoked_certificates(self) -> list[RevokedCertificate]:
        return list(self._entries().values())

    def get_revoked(self, serial_number: int) -> RevokedCertificate | None:
        """The entry for ``serial_number``, or None if it is not on this list."""
        return self._entries().get(serial_number)

    def _entries(self) -> dict[int, RevokedCertificate]:
        if self._revoked is None:
            entries: dict[int, RevokedCertificate] = {}
            for entry in self._tbs["revoked_certificates"]:
                reason_value = entry.crl_reason_value
                reason = (RevocationReason.UNSPECIFIED if reason_value is None
                          else RevocationReason(_code_of_reason(reason_value.native)))
                serial = int(entry["user_certificate"].native)
                entries[serial] = RevokedCertificate(
                    serial, entry["revocation_date"].native.astimezone(dt.UTC), reason)
            self._revoked = entries
        return self._revoked

    def is_fresh_at(self, at: dt.datetime) -> bool:
        """thisUpdate <= at < nextUpdate (a CRL without nextUpdate is never fresh)."""
        when = _utc(at, "at")
        next_update = self.next_update
        return next_update is not None and self.this_update <= when < next_update

    def verify_signature(self, issuer: Certificate | SM2PublicKey, *,
                         signer_ids: Sequence[bytes] = ACCEPTED_SIGNER_IDS) -> None:
        """Raise ``CertificateError`` unless ``issuer``'s key signed this CRL."""
        key = issuer.public_key() if isinstance(issuer, Certificate) else issuer
        signature = _signature_octets(self._asn1["signature"], "CRL")
        if not _verify(key, signature, bytes(self._tbs.dump()), signer_ids):
            by = f" with the key of {issuer.subject}" if isinstance(issuer, Certificate) else ""
            raise CertificateError(f"the signature of the CRL from {self.issuer} does not "
                                   f"verify{by}")

    def der(self) -> bytes:
        return self._der

    def pem(self) -> bytes:
        return _pem("X509 CRL", self._der)

    def public_bytes(self, encoding: Encoding) -> bytes:
        if encoding is Encoding.DER:
            return self.der()
        if encoding is Encoding.PEM:
            return self.pem()
        raise TypeError("encoding must be an Encoding")

    def __repr__(self) -> str:
        return (f"<CertificateRevocationList issuer={str(self.issuer)!r} "
                f"number={self.crl_number} entries={len(self._entries())}>")


def _code_of_reason(name: str) -> int:
    return next(code for code, known in _REASON_NAMES.items() if known == name)


def load_crl(data: bytes) -> CertificateRevocationList:
    """Load a CRL from PEM or DER (the signature is checked by ``verify_signature``)."""
    return CertificateRevocationList.from_der(_der_or_pem(data, ("X509 CRL",), "CRL"))


def create_crl(issuer: CertificateAuthority, revoked: Iterable[RevokedCertificate], *,
               crl_number: int, next_update: dt.datetime | None = None,
               days: int | None = None,
               this_update: dt.datetime | None = None) -> CertificateRevocationList:
    """A v2 CRL with cRLNumber and AKI, listing ``revoked`` (reason codes other than
    ``UNSPECIFIED`` are written as entry extensions). Give ``days`` or ``next_update``."""
    ca = issuer.certificate
    usage = ca.key_usage
    if usage is not None and KeyUsage.CRL_SIGN not in usage:
        raise CertificateError(f"{ca.subject} lacks cRLSign and cannot sign CRLs")
    if isinstance(crl_number, bool) or not isinstance(crl_number, int) or crl_number < 0:
        raise ValueError("crl_number must be a non-negative integer")
    start, end = _validity(this_update, next_update, days)
    entries = []
    for item in revoked:
        if item.serial_number <= 0:
            raise ValueError("serial numbers are positive")
        entry: dict[str, Any] = {
            "user_certificate": item.serial_number,
            "revocation_date": _time(_utc(item.revocation_date, "revocation_date")),
        }
        if item.reason is not RevocationReason.UNSPECIFIED:
            entry["crl_entry_extensions"] = [{
                "extn_id": "crl_reason", "critical": False,
                "extn_value": _REASON_NAMES[int(item.reason)]}]
        entries.append(entry)
    fields: dict[str, Any] = {
        "version": "v2",
        "signature": _signature_algorithm(),
        "issuer": ca.subject.asn1,
        "this_update": _time(start),
        "next_update": _time(end),
        "crl_extensions": [
            {"extn_id": "authority_key_identifier", "critical": False,
             "extn_value": {"key_identifier": ca.subject_key_identifier
                            or subject_key_identifier(ca.public_key())}},
            {"extn_id": "crl_number", "critical": False, "extn_value": crl_number},
        ],
    }
    if entries:  # RFC 5280: the list is absent, not empty, when nothing is revoked
        fields["revoked_certificates"] = entries
    tbs_der = bytes(asn1_crl.TbsCertList(fields).dump())
    certificate_list = asn1_crl.CertificateList({
        "tbs_cert_list": asn1_crl.TbsCertList.load(tbs_der),
        "signature_algorithm": _signature_algorithm(),
        "signature": _sign(issuer.signer, tbs_der, issuer.signer_id),
    })
    return CertificateRevocationList.from_der(bytes(certificate_list.dump()))


# --------------------------------------------------------------------------- validation


class ValidationFailure(enum.Enum):
    """Why a chain did not validate (``ChainValidationError.reason``)."""

    SIGNATURE = "signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    NOT_A_CA = "not_a_ca"
    PATH_LENGTH_EXCEEDED = "path_length_exceeded"
    KEY_USAGE = "key_usage"
    EXTENDED_KEY_USAGE = "extended_key_usage"
    KEY_IDENTIFIER_MISMATCH = "key_identifier_mismatch"
    UNTRUSTED = "untrusted"  # no path to a trust anchor
    PATH_TOO_LONG = "path_too_long"
    UNHANDLED_CRITICAL_EXTENSION = "unhandled_critical_extension"
    REVOKED = "revoked"
    CRL_MISSING = "crl_missing"
    CRL_SIGNATURE = "crl_signature"
    CRL_STALE = "crl_stale"
    CRL_NOT_YET_VALID = "crl_not_yet_valid"
    CRL_UNSUPPORTED = "crl_unsupported"


class ChainValidationError(CertificateError):
    """A certificate path did not validate; ``reason`` names the failed check and
    ``certificate`` the certificate it failed on (when there is one)."""

    def __init__(self, reason: ValidationFailure, message: str,
                 certificate: Certificate | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.certificate = certificate


def _fail(reason: ValidationFailure, message: str,
          certificate: Certificate | None = None) -> ChainValidationError:
    return ChainValidationError(reason, message, certificate)


@dataclass(frozen=True)
class _Validation:
    anchors: tuple[Certificate, ...]
    intermediates: tuple[Certificate, ...]
    at: dt.datetime
    crls: tuple[CertificateRevocationList, ...]
    require_crl: bool
    signer_ids: tuple[bytes, ...]


def _check_time(cert: Certificate, at: dt.datetime) -> None:
    if at < cert.not_before:
        raise _fail(ValidationFailure.NOT_YET_VALID,
                    f"certificate {cert.subject} is not valid before "
                    f"{cert.not_before:%Y-%m-%d %H:%M:%S} UTC", cert)
    if at > cert.not_after:
        raise _fail(ValidationFailure.EXPIRED,
                    f"certificate {cert.subject} expired at "
                    f"{cert.not_after:%Y-%m-%d %H:%M:%S} UTC", cert)


def _check_critical(cert: Certificate) -> None:
    unknown = sorted(cert.critical_extensions - _UNDERSTOOD_EXTENSIONS)
    if unknown:
        raise _fail(ValidationFailure.UNHANDLED_CRITICAL_EXTENSION,
                    f"certificate {cert.subject} has unsupported critical extension(s) "
                    f"{', '.join(unknown)}", cert)


def _check_revocation(child: Certificate, issuer: Certificate, v: _Validation) -> None:
    candidates = [
        crl for crl in v.crls
        if crl.issuer == child.issuer and not (
            crl.authority_key_identifier and issuer.subject_key_identifier
            and crl.authority_key_identifier != issuer.subject_key_identifier)
    ]
    if not candidates:
        if v.require_crl:
            raise _fail(ValidationFailure.CRL_MISSING,
                        f"no CRL from {child.issuer} to check certificate {child.subject}",
                        child)
        return
    usage = issuer.key_usage
    if usage is not None and KeyUsage.CRL_SIGN not in usage:
        raise _fail(ValidationFailure.KEY_USAGE,
                    f"{issuer.subject} lacks cRLSign, so its CRLs cannot be trusted", issuer)
    problems: list[ChainValidationError] = []
    fresh: list[CertificateRevocationList] = []
    for crl in candidates:
        unsupported = sorted(crl.critical_extensions - {"crl_reason", "crl_number",
                                                        "authority_key_identifier"})
        if unsupported:
            problems.append(_fail(ValidationFailure.CRL_UNSUPPORTED,
                                  f"the CRL from {crl.issuer} has unsupported critical "
                                  f"extension(s) {', '.join(unsupported)}"))
            continue
        try:
            crl.verify_signature(issuer, signer_ids=v.signer_ids)
        except CertificateError as exc:
            problems.append(_fail(ValidationFailure.CRL_SIGNATURE, str(exc)))
            continue
        if v.at < crl.this_update:
            problems.append(_fail(ValidationFailure.CRL_NOT_YET_VALID,
                                  f"the CRL from {crl.issuer} (number {crl.crl_number}) is not "
                                  f"valid before {crl.this_update:%Y-%m-%d %H:%M:%S} UTC"))
            continue
        if crl.next_update is None or v.at >= crl.next_update:
            when = ("has no nextUpdate" if crl.next_update is None
                    else f"expired at {crl.next_update:%Y-%m-%d %H:%M:%S} UTC")
            problems.append(_fail(ValidationFailure.CRL_STALE,
                                  f"the CRL from {crl.issuer} (number {crl.crl_number}) is "
                                  f"stale: it {when}"))
            continue
        fresh.append(crl)
    if not fresh:
        raise problems[0]
    for crl in fresh:
        entry = crl.get_revoked(child.serial_number)
        if entry is not None and entry.reason is not RevocationReason.REMOVE_FROM_CRL:
            raise _fail(ValidationFailure.REVOKED,
                        f"certificate {child.subject} (serial {child.serial_number:x}) was "
                        f"revoked at {entry.revocation_date:%Y-%m-%d %H:%M:%S} UTC, reason "
                        f"{entry.reason.name.lower()}", child)


def _check_link(child: Certificate, parent: Certificate, path: list[Certificate],
                v: _Validation) -> None:
    """Everything about ``parent`` acting as the issuer of ``child`` at ``v.at``."""
    aki, ski = child.authority_key_identifier, parent.subject_key_identifier
    if aki is not None and ski is not None and aki != ski:
        raise _fail(ValidationFailure.KEY_IDENTIFIER_MISMATCH,
                    f"the authority key identifier of {child.subject} ({aki.hex()}) does not "
                    f"match the subject key identifier of {parent.subject} ({ski.hex()})", child)
    try:
        child.verify_signature(parent, signer_ids=v.signer_ids)
    except CertificateError as exc:
        raise _fail(ValidationFailure.SIGNATURE, str(exc), child) from None
    _check_time(parent, v.at)
    _check_critical(parent)
    if not parent.is_ca:
        raise _fail(ValidationFailure.NOT_A_CA,
                    f"{parent.subject} is not a CA (basicConstraints cA is not set) but "
                    f"issued {child.subject}", parent)
    usage = parent.key_usage
    if usage is not None and KeyUsage.KEY_CERT_SIGN not in usage:
        raise _fail(ValidationFailure.KEY_USAGE,
                    f"{parent.subject} lacks keyCertSign but issued {child.subject}", parent)
    # CA certificates between this one and the leaf; self-issued ones do not count.
    below = sum(1 for cert in path[1:] if not cert.is_self_issued)
    if parent.path_length is not None and below > parent.path_length:
        raise _fail(ValidationFailure.PATH_LENGTH_EXCEEDED,
                    f"{parent.subject} allows {parent.path_length} CA certificate(s) below it "
                    f"but the path has {below}", parent)
    _check_revocation(child, parent, v)


def _extend(path: list[Certificate], v: _Validation) -> list[Certificate]:
    child = path[-1]
    seen = set(path)
    candidates: list[Certificate] = []
    for cert in (*v.anchors, *v.intermediates):
        if cert.subject == child.issuer and cert not in seen and cert not in candidates:
            candidates.append(cert)
    if not candidates:
        raise _fail(ValidationFailure.UNTRUSTED,
                    f"no certificate found for {child.issuer}, the issuer of {child.subject}: "
                    f"the chain does not end at a trust anchor", child)
    errors: list[ChainValidationError] = []
    for parent in candidates:
        try:
            _check_link(child, parent, path, v)
            if parent in v.anchors:
                return [*path, parent]
            if len(path) + 1 >= _MAX_PATH_CERTIFICATES:
                raise _fail(ValidationFailure.PATH_TOO_LONG,
                            f"no trust anchor within {_MAX_PATH_CERTIFICATES} certificates")
            return _extend([*path, parent], v)
        except ChainValidationError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    first = errors[0]
    raise ChainValidationError(first.reason, "; ".join(str(e) for e in errors),
                               first.certificate)


def validate(leaf: Certificate, intermediates: Iterable[Certificate] = (),
             trust_anchors: Iterable[Certificate] = (), *, at: dt.datetime | None = None,
             crls: Iterable[CertificateRevocationList] = (), require_crl: bool = False,
             purpose: ExtendedKeyUsage | None = None,
             signer_ids: Sequence[bytes] = ACCEPTED_SIGNER_IDS) -> list[Certificate]:
    """Validate ``leaf`` up to one of ``trust_anchors`` at time ``at`` (default now).

    Checks, for every link: issuer name = subject name, AKI = SKI where both exist, the
    SM2 signature, validity at ``at`` (anchors included), basicConstraints cA and
    pathLenConstraint, keyUsage keyCertSign (and cRLSign for CRL issuers), no unknown
    critical extension, and revocation: every CRL from the issuer must verify, be fresh
    at ``at`` (thisUpdate <= at < nextUpdate) and not list the serial. With
    ``require_crl`` a certificate without a CRL from its issuer fails. With ``purpose``
    the leaf's extendedKeyUsage, when present, must include it.

    Returns the path ``[leaf, intermediates..., anchor]``; raises ``ChainValidationError``.
    """
    when = _utc(at, "at") if at is not None else dt.datetime.now(dt.UTC)
    v = _Validation(tuple(trust_anchors), tuple(intermediates), when, tuple(crls),
                    require_crl, tuple(signer_ids))
    if not v.anchors:
        raise _fail(ValidationFailure.UNTRUSTED, "no trust anchors were given")
    _check_time(leaf, when)
    _check_critical(leaf)
    if purpose is not None:
        eku = leaf.extended_key_usage
        if eku is not None and purpose.value not in eku:
            raise _fail(ValidationFailure.EXTENDED_KEY_USAGE,
                        f"certificate {leaf.subject} is not for {purpose.name.lower()}", leaf)
    if leaf in v.anchors:
        return [leaf]
    return _extend([leaf], v)

