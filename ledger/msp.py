"""Membership service providers (MSPs) in Hyperledger Fabric's model, with SM2 certificates:
what an organisation publishes in the channel configuration (``MSPDefinition``), how a
certificate becomes a validated ``Identity`` with a role (``MSP.validate``), identities that
sign (``SigningIdentity``), and a small organisation CA for the embedded ledger, demos and
tests (``OrganisationCA``).

Choices, and where they follow or leave Fabric:

- Roles are Fabric's NodeOUs: the subject of an identity certificate carries exactly one
  ``OU`` of ``client``, ``peer``, ``admin`` or ``orderer`` (compared exactly, lower case);
  other ``OU`` values may appear beside it. There is no list of admin certificates.
- An identity certificate must not be a CA (as in Fabric) and must have the
  digitalSignature key usage.
- Validity is checked at the time given to ``MSP.validate`` (the transaction's time), so
  replaying the ledger gives the same answers. (Fabric's MSP ignores expiry and leaves it
  to other components.)
- Revocation follows Fabric: a certificate listed on a CRL of the definition, signed by
  the certificate's issuer, is revoked whatever the revocation date and whatever the CRL's
  thisUpdate/nextUpdate. The CRLs in the channel configuration are authoritative until a
  configuration update replaces them; a CRL past its nextUpdate must not lock an
  organisation out of its ledger. CRL signatures are checked when a definition is built.
  (``crypto.x509.validate``'s own CRL check enforces freshness and is therefore not used.)
- Identity signatures are SM2 with SM3, signer ID ``1234567812345678``, DER
  ``SEQUENCE{r, s}``; an identity's serialised form ("creator") is its DER certificate.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Final

from crypto.errors import CertificateError
from crypto.keys.provider import SM2Signer
from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding, SM2PublicKey
from crypto.x509 import (
    CERTIFICATE_SIGNER_ID,
    Certificate,
    CertificateAuthority,
    CertificateRevocationList,
    ChainValidationError,
    KeyUsage,
    RevocationReason,
    RevokedCertificate,
    create_crl,
    create_root_ca,
    issue_end_entity,
    parse_name,
    validate,
)
from ledger.errors import IdentityError, InvalidMSPDefinition
from ledger.policy import IDENTITY_ROLES, MSP_ID_PATTERN, Principal

__all__ = [
    "IDENTITY_ROLES",
    "IDENTITY_SIGNER_ID",
    "MSP",
    "Identity",
    "MSPDefinition",
    "OrganisationCA",
    "SigningIdentity",
    "distinct_signers",
]

IDENTITY_SIGNER_ID: Final[bytes] = DEFAULT_SIGNER_ID
MAX_DISPLAY_NAME_LENGTH: Final = 64  # it becomes the O attribute of the CA certificate
_JSON_KEYS: Final = frozenset(
    {"msp_id", "display_name", "root_certs", "intermediate_certs", "revocation_list"})


def _check_msp_id(msp_id: object, error: type[Exception]) -> str:
    if not isinstance(msp_id, str) or not MSP_ID_PATTERN.fullmatch(msp_id):
        raise error(f"invalid MSP id {msp_id!r}: 1 to 64 ASCII letters, digits, '.', '-' "
                    "or '_'")
    return msp_id


def _escape_name_value(value: str) -> str:
    """Escape a value for ``parse_name``'s ``/A=x/B=y`` form."""
    return value.replace("\\", "\\\\").replace("/", "\\/")


def _utc(at: dt.datetime) -> dt.datetime:
    if not isinstance(at, dt.datetime):
        raise TypeError("at must be a datetime")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware (UTC)")
    return at.astimezone(dt.UTC)


# --------------------------------------------------------------------------- definition


def _pem_text(value: object, label: str, where: str) -> bytes:
    """The bytes of a string holding exactly one PEM block labelled ``label``."""
    if not isinstance(value, str):
        raise InvalidMSPDefinition(f"{where}: expected a PEM string")
    text = value.strip()
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    if (not text.startswith(begin) or not text.endswith(end)
            or text.count("-----BEGIN") != 1 or text.count("-----END") != 1):
        raise InvalidMSPDefinition(f"{where}: expected exactly one PEM block {label!r}")
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidMSPDefinition(f"{where}: PEM must be ASCII") from None


def _pem_list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc[key]
    if not isinstance(value, list):
        raise InvalidMSPDefinition(f"{key}: expected a list of PEM strings")
    return value


@dataclass(frozen=True, eq=False)
class MSPDefinition:
    """What an organisation publishes in the channel configuration: its MSP id, display
    name, root CA certificates, intermediate CA certificates and CRLs.

    Checked when built: a valid MSP id, at least one root, roots self-signed CAs,
    intermediates CAs that chain to a root, every CRL signed by one of these CAs.
    Equality compares the DER of every certificate and CRL.
    """

    msp_id: str
    display_name: str
    root_certificates: tuple[Certificate, ...]
    intermediate_certificates: tuple[Certificate, ...] = ()
    crls: tuple[CertificateRevocationList, ...] = ()

    def __post_init__(self) -> None:
        _check_msp_id(self.msp_id, InvalidMSPDefinition)
        name = self.display_name
        if (not isinstance(name, str) or not name.strip()
                or len(name) > MAX_DISPLAY_NAME_LENGTH
                or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name)):
            raise InvalidMSPDefinition(
                f"display name {name!r}: 1 to {MAX_DISPLAY_NAME_LENGTH} characters, no "
                "control characters")
        for attr, kind in (("root_certificates", Certificate),
                           ("intermediate_certificates", Certificate),
                           ("crls", CertificateRevocationList)):
            value = getattr(self, attr)
            if isinstance(value, str | bytes) or not isinstance(value, Iterable):
                raise InvalidMSPDefinition(f"{attr}: expected a sequence")
            items = tuple(value)
            if not all(isinstance(item, kind) for item in items):
                raise InvalidMSPDefinition(f"{attr}: every item must be a {kind.__name__}")
            object.__setattr__(self, attr, items)
        self._check_certificates()
        self._check_crls()

    def _check_certificates(self) -> None:
        roots, intermediates = self.root_certificates, self.intermediate_certificates
        if not roots:
            raise InvalidMSPDefinition(f"{self.msp_id}: at least one root certificate")
        every = [*roots, *intermediates]
        if len(set(every)) != len(every):
            raise InvalidMSPDefinition(f"{self.msp_id}: a certificate is listed twice")
        for root in roots:
            if not root.is_ca or not root.is_self_issued:
                raise InvalidMSPDefinition(
                    f"{self.msp_id}: root {root.subject} is not a self-signed CA certificate")
            try:
                root.verify_signature(root)
            except CertificateError as exc:
                raise InvalidMSPDefinition(f"{self.msp_id}: root {root.subject}: {exc}") \
                    from None
        for intermediate in intermediates:
            if not intermediate.is_ca or intermediate.is_self_issued:
                raise InvalidMSPDefinition(
                    f"{self.msp_id}: intermediate {intermediate.subject} is not a CA "
                    "certificate issued by another CA")
            try:
                # At its own notBefore: the definition may outlive a certificate, which
                # then fails identity validation at later times, not the definition.
                validate(intermediate, intermediates, roots, at=intermediate.not_before)
            except ChainValidationError as exc:
                raise InvalidMSPDefinition(
                    f"{self.msp_id}: intermediate {intermediate.subject} does not chain to a "
                    f"root: {exc}") from None

    def _check_crls(self) -> None:
        cas = (*self.root_certificates, *self.intermediate_certificates)
        for crl in self.crls:
            if not any(_crl_signed_by(crl, ca) for ca in cas):
                raise InvalidMSPDefinition(
                    f"{self.msp_id}: the CRL from {crl.issuer} (number {crl.crl_number}) is "
                    "not signed by any CA of this MSP")

    # -- JSON

    def to_json(self) -> dict[str, Any]:
        """A JSON object (keys in sorted order) for the channel configuration; certificates
        and CRLs as PEM strings, in the order of the definition."""
        return {
            "display_name": self.display_name,
            "intermediate_certs": [c.pem().decode("ascii")
                                   for c in self.intermediate_certificates],
            "msp_id": self.msp_id,
            "revocation_list": [crl.pem().decode("ascii") for crl in self.crls],
            "root_certs": [c.pem().decode("ascii") for c in self.root_certificates],
        }

    def to_json_text(self) -> str:
        """``to_json`` serialised: sorted keys, no insignificant whitespace, UTF-8 text."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, document: Mapping[str, Any] | str | bytes) -> MSPDefinition:
        """Parse ``to_json``'s object (or its text). Strict: exactly the five keys, the
        right types, one PEM block per string; any problem is ``InvalidMSPDefinition``."""
        doc: Any = document
        if isinstance(document, str | bytes):
            try:
                doc = json.loads(document)
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidMSPDefinition(f"MSP definition is not JSON: {exc}") from None
        if not isinstance(doc, Mapping):
            raise InvalidMSPDefinition("an MSP definition is a JSON object")
        keys = set(doc)
        if keys != _JSON_KEYS:
            missing, unknown = sorted(_JSON_KEYS - keys), sorted(str(k) for k in keys - _JSON_KEYS)
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unknown {', '.join(unknown)}"] if unknown else [])
            raise InvalidMSPDefinition(f"MSP definition keys: {'; '.join(parts)}")
        msp_id = _check_msp_id(doc["msp_id"], InvalidMSPDefinition)
        if not isinstance(doc["display_name"], str):
            raise InvalidMSPDefinition("display_name: expected a string")

        def certificates(key: str) -> tuple[Certificate, ...]:
            found = []
            for i, value in enumerate(_pem_list(doc, key)):
                where = f"{msp_id}: {key}[{i}]"
                try:
                    found.append(Certificate.from_pem(_pem_text(value, "CERTIFICATE", where)))
                except CertificateError as exc:
                    raise InvalidMSPDefinition(f"{where}: {exc}") from None
            return tuple(found)

        crls = []
        for i, value in enumerate(_pem_list(doc, "revocation_list")):
            where = f"{msp_id}: revocation_list[{i}]"
            try:
                crls.append(CertificateRevocationList.from_pem(
                    _pem_text(value, "X509 CRL", where)))
            except CertificateError as exc:
                raise InvalidMSPDefinition(f"{where}: {exc}") from None
        return cls(msp_id, doc["display_name"], certificates("root_certs"),
                   certificates("intermediate_certs"), tuple(crls))

    def _key(self) -> tuple[object, ...]:
        return (self.msp_id, self.display_name,
                tuple(c.der() for c in self.root_certificates),
                tuple(c.der() for c in self.intermediate_certificates),
                tuple(crl.der() for crl in self.crls))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MSPDefinition):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


def _crl_signed_by(crl: CertificateRevocationList, ca: Certificate) -> bool:
    if crl.issuer != ca.subject:
        return False
    aki, ski = crl.authority_key_identifier, ca.subject_key_identifier
    if aki is not None and ski is not None and aki != ski:
        return False
    try:
        crl.verify_signature(ca)
    except CertificateError:
        return False
    return True


# --------------------------------------------------------------------------- identities


@dataclass(frozen=True)
class Identity:
    """An organisation member: MSP id, role and certificate.

    Only ``MSP.validate`` establishes that an identity is genuine; constructing one
    directly proves nothing. ``id_bytes`` (the DER certificate) is Fabric's "creator".
    """

    msp_id: str
    role: str
    certificate: Certificate

    def __post_init__(self) -> None:
        if not isinstance(self.msp_id, str) or not MSP_ID_PATTERN.fullmatch(self.msp_id):
            raise IdentityError(f"invalid MSP id {self.msp_id!r}", reason="malformed")
        if self.role not in IDENTITY_ROLES:
            raise IdentityError(f"identity role {self.role!r} is not one of "
                                f"{', '.join(IDENTITY_ROLES)}", reason="malformed")
        if not isinstance(self.certificate, Certificate):
            raise TypeError("certificate must be a crypto.x509.Certificate")

    @property
    def id_bytes(self) -> bytes:
        return self.certificate.der()

    @property
    def msp_role(self) -> tuple[str, str]:
        """``(msp_id, role)``, what ``ledger.policy.evaluate`` takes for each signer."""
        return (self.msp_id, self.role)

    def public_key(self) -> SM2PublicKey:
        return self.certificate.public_key()

    def verify(self, signature: bytes, data: bytes) -> None:
        """Raise ``crypto.errors.InvalidSignature`` unless this identity signed ``data``
        (SM2/SM3, signer ID 1234567812345678, DER signature)."""
        self.certificate.public_key().verify(signature, data, signer_id=IDENTITY_SIGNER_ID,
                                             encoding=SignatureEncoding.DER)

    def principal_matches(self, principal: Principal) -> bool:
        """Whether this identity satisfies ``principal`` (``member``: any role)."""
        return principal.matches(self.msp_id, self.role)


@dataclass(frozen=True)
class SigningIdentity(Identity):
    """An identity together with the signer holding its private key (an ``SM2Signer``:
    a key-provider handle or an ``SM2PrivateKey``; the raw key is never needed)."""

    signer: SM2Signer = field(compare=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.signer, SM2Signer):
            raise TypeError("signer must be an SM2Signer")
        if self.signer.public_key() != self.certificate.public_key():
            raise IdentityError(f"the signer's public key is not the key of certificate "
                                f"{self.certificate.subject}", reason="key_mismatch")

    @classmethod
    def of(cls, identity: Identity, signer: SM2Signer) -> SigningIdentity:
        """Attach ``signer`` to a (validated) identity."""
        return cls(identity.msp_id, identity.role, identity.certificate, signer)

    @property
    def identity(self) -> Identity:
        """The plain identity, without the signer."""
        return Identity(self.msp_id, self.role, self.certificate)

    def sign(self, data: bytes) -> bytes:
        """SM2/SM3 signature over ``data`` with signer ID 1234567812345678, DER."""
        return self.signer.sign(data, signer_id=IDENTITY_SIGNER_ID,
                                    encoding=SignatureEncoding.DER)


def distinct_signers(identities: Iterable[Identity]) -> list[tuple[str, str]]:
    """The ``(msp_id, role)`` of each distinct identity, for ``ledger.policy.evaluate``.

    Fabric removes duplicate identities before evaluating a policy, so one certificate
    that signed twice counts once; identities are the same when MSP id and certificate are.
    """
    seen: set[tuple[str, bytes]] = set()
    signers: list[tuple[str, str]] = []
    for identity in identities:
        key = (identity.msp_id, identity.id_bytes)
        if key not in seen:
            seen.add(key)
            signers.append(identity.msp_role)
    return signers


# --------------------------------------------------------------------------- the MSP


class MSP:
    """Validates certificates against one organisation's definition."""

    def __init__(self, definition: MSPDefinition) -> None:
        if not isinstance(definition, MSPDefinition):
            raise TypeError("MSP needs an MSPDefinition")
        self.definition = definition
        self._crls_of: dict[bytes, tuple[CertificateRevocationList, ...]] = {}

    @property
    def msp_id(self) -> str:
        return self.definition.msp_id

    def _fail(self, certificate: Certificate, message: str, reason: str) -> IdentityError:
        return IdentityError(f"{self.msp_id}: certificate {certificate.subject} "
                             f"(serial {certificate.serial_number:x}) {message}", reason=reason)

    def _crls_signed_by(self, ca: Certificate) -> tuple[CertificateRevocationList, ...]:
        key = ca.der()
        if key not in self._crls_of:
            self._crls_of[key] = tuple(crl for crl in self.definition.crls
                                       if _crl_signed_by(crl, ca))
        return self._crls_of[key]

    def _check_revocation(self, path: Sequence[Certificate]) -> None:
        for child, issuer in pairwise(path):
            for crl in self._crls_signed_by(issuer):
                entry = crl.get_revoked(child.serial_number)
                if entry is not None and entry.reason is not RevocationReason.REMOVE_FROM_CRL:
                    what = "is" if child is path[0] else f"has an issuer, {child.subject}, that is"
                    raise self._fail(
                        path[0], f"{what} revoked (CRL number {crl.crl_number} from "
                        f"{crl.issuer}, reason {entry.reason.name.lower()})", "revoked")

    def validate(self, certificate: Certificate, at: dt.datetime) -> Identity:
        """The identity ``certificate`` stands for at time ``at``, or ``IdentityError``.

        Checks: a path to one of the roots through the intermediates, every certificate
        valid at ``at`` with good signatures and CA constraints (``crypto.x509.validate``);
        nothing on the path revoked by the definition's CRLs; the certificate is not a CA,
        has digitalSignature, and exactly one role OU (client, peer, admin, orderer).
        """
        if not isinstance(certificate, Certificate):
            raise TypeError("certificate must be a crypto.x509.Certificate")
        when = _utc(at)
        definition = self.definition
        try:
            path = validate(certificate, definition.intermediate_certificates,
                            definition.root_certificates, at=when)
        except ChainValidationError as exc:
            raise IdentityError(f"{self.msp_id}: {exc}", reason=exc.reason.value) from exc
        self._check_revocation(path)
        if certificate.is_ca:
            raise self._fail(certificate, "is a CA certificate, not an identity",
                             "ca_certificate")
        usage = certificate.key_usage
        if usage is None or KeyUsage.DIGITAL_SIGNATURE not in usage:
            raise self._fail(certificate, "lacks the digitalSignature key usage", "key_usage")
        units = {value for short, value in certificate.subject.attributes() if short == "OU"}
        roles = sorted(units & set(IDENTITY_ROLES))
        if not roles:
            raise self._fail(certificate, "has no role OU (one of "
                             f"{', '.join(IDENTITY_ROLES)})", "no_role")
        if len(roles) > 1:
            raise self._fail(certificate, f"has several role OUs ({', '.join(roles)}); an "
                             "identity has exactly one role", "ambiguous_role")
        return Identity(self.msp_id, roles[0], certificate)

    def deserialize(self, id_bytes: bytes, at: dt.datetime) -> Identity:
        """Validate a serialised identity (a DER certificate, Fabric's "creator")."""
        if not isinstance(id_bytes, bytes | bytearray):
            raise TypeError("id_bytes must be bytes")
        try:
            certificate = Certificate.from_der(bytes(id_bytes))
        except CertificateError as exc:
            raise IdentityError(f"{self.msp_id}: malformed identity: {exc}",
                                reason="malformed") from None
        return self.validate(certificate, at)

    def signing_identity(self, certificate: Certificate, signer: SM2Signer,
                         at: dt.datetime) -> SigningIdentity:
        """Validate ``certificate`` at ``at`` and attach the signer holding its key."""
        return SigningIdentity.of(self.validate(certificate, at), signer)

    def __repr__(self) -> str:
        return f"<MSP {self.msp_id}>"


# --------------------------------------------------------------------------- the CA


class OrganisationCA:
    """An organisation's root CA: issues role certificates, revokes them, publishes CRLs
    and the ``MSPDefinition``. For the embedded ledger, demos and tests; the signer may be
    a key-provider handle, the private key is never read."""

    def __init__(self, msp_id: str, display_name: str, authority: CertificateAuthority, *,
                 revoked: Iterable[RevokedCertificate] = (), crl_number: int = 0,
                 latest_crl: CertificateRevocationList | None = None) -> None:
        self.msp_id = _check_msp_id(msp_id, InvalidMSPDefinition)
        self.display_name = display_name
        self.authority = authority
        self._revoked: dict[int, RevokedCertificate] = {r.serial_number: r for r in revoked}
        self._crl_number = crl_number
        self._latest_crl = latest_crl
        self.definition()  # fail now if the parts do not make a valid definition

    @classmethod
    def create(cls, msp_id: str, display_name: str, signer: SM2Signer, *, days: int = 3650,
               not_before: dt.datetime | None = None,
               signer_id: bytes = CERTIFICATE_SIGNER_ID) -> OrganisationCA:
        """A new self-signed root ``/C=CN/O=<display name>/OU=<msp id>/CN=<msp id> CA``."""
        _check_msp_id(msp_id, InvalidMSPDefinition)
        common_name = f"{msp_id} CA" if len(msp_id) <= 61 else msp_id  # CN: 64 characters
        try:
            subject = parse_name(f"/C=CN/O={_escape_name_value(display_name)}"
                                 f"/OU={_escape_name_value(msp_id)}"
                                 f"/CN={_escape_name_value(common_name)}")
            certificate = create_root_ca(signer, subject, days=days, not_before=not_before,
                                         signer_id=signer_id)
            authority = CertificateAuthority(certificate, signer, signer_id)
        except (CertificateError, ValueError) as exc:
            raise InvalidMSPDefinition(f"cannot create the CA of {msp_id}: {exc}") from None
        return cls(msp_id, display_name, authority)

    @property
    def certificate(self) -> Certificate:
        return self.authority.certificate

    @property
    def revoked(self) -> tuple[RevokedCertificate, ...]:
        return tuple(self._revoked.values())

    @property
    def crl_number(self) -> int:
        """The number of the last CRL issued (0: none yet)."""
        return self._crl_number

    def issue(self, role: str, common_name: str, public_key: SM2PublicKey, *,
              days: int | None = 365, not_before: dt.datetime | None = None,
              not_after: dt.datetime | None = None,
              extra_units: Sequence[str] = ()) -> Certificate:
        """An end-entity signing certificate ``/C=CN/O=<display name>/OU=<role>/CN=<name>``
        (digitalSignature + nonRepudiation) for ``public_key``. ``extra_units`` adds further
        OUs (e.g. a department) after the role. Give ``days`` or ``not_after``."""
        if role not in IDENTITY_ROLES:
            raise IdentityError(f"role {role!r} is not one of {', '.join(IDENTITY_ROLES)}",
                                reason="issuance")
        if not_after is not None:
            days = None
        units = "".join(f"/OU={_escape_name_value(unit)}" for unit in extra_units)
        try:
            subject = parse_name(f"/C=CN/O={_escape_name_value(self.display_name)}"
                                 f"/OU={role}{units}/CN={_escape_name_value(common_name)}")
            return issue_end_entity(self.authority, subject, public_key, days=days,
                                    not_before=not_before, not_after=not_after)
        except (CertificateError, ValueError) as exc:
            raise IdentityError(f"{self.msp_id}: cannot issue a {role} certificate for "
                                f"{common_name!r}: {exc}", reason="issuance") from None

    def revoke(self, certificate: Certificate | int, *, at: dt.datetime | None = None,
               reason: RevocationReason = RevocationReason.UNSPECIFIED) -> RevokedCertificate:
        """Record a revocation (by certificate or serial number); ``crl()`` publishes it.
        Revoking again returns the first entry unchanged."""
        if isinstance(certificate, Certificate):
            if certificate.issuer != self.certificate.subject:
                raise IdentityError(f"{self.msp_id}: certificate {certificate.subject} was not "
                                    "issued by this CA", reason="issuance")
            serial = certificate.serial_number
        else:
            serial = certificate
        if isinstance(serial, bool) or not isinstance(serial, int) or serial <= 0:
            raise ValueError("serial numbers are positive integers")
        when = _utc(at) if at is not None else dt.datetime.now(dt.UTC).replace(microsecond=0)
        return self._revoked.setdefault(serial, RevokedCertificate(serial, when, reason))

    def crl(self, *, days: int | None = 30, this_update: dt.datetime | None = None,
            next_update: dt.datetime | None = None) -> CertificateRevocationList:
        """Sign the next CRL (number + 1) listing every revocation so far; ``definition()``
        includes the latest one."""
        if next_update is not None:
            days = None
        try:
            crl = create_crl(self.authority, self.revoked, crl_number=self._crl_number + 1,
                             days=days, this_update=this_update, next_update=next_update)
        except (CertificateError, ValueError) as exc:
            raise IdentityError(f"{self.msp_id}: cannot issue a CRL: {exc}",
                                reason="issuance") from None
        self._crl_number += 1
        self._latest_crl = crl
        return crl

    def definition(self) -> MSPDefinition:
        """The MSP definition: this root and the latest CRL, if any."""
        crls = (self._latest_crl,) if self._latest_crl is not None else ()
        return MSPDefinition(self.msp_id, self.display_name, (self.certificate,), (), crls)

    def __repr__(self) -> str:
        return f"<OrganisationCA {self.msp_id} {self.certificate.subject}>"
