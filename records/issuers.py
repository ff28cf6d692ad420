"""Organisations that issue and review records, their SM2 keys and certificates.

Each organisation has one SM2 key in the platform's key provider (key id
``records-org-<code>``; rotation adds versions) and, per key version, an end-entity
certificate issued by the platform root CA. What the organisation may do is written into
the certificate as subjectAltName URIs, so an offline verifier holding only the root
certificate can decide it:

- ``urn:edutrust:org:<code>`` — the organisation code the envelope names;
- ``urn:edutrust:records:issue:<type>`` — may issue records of that type;
- ``urn:edutrust:records:review:<type>`` — may review records of that type;
- ``urn:edutrust:region:<province code>`` — the region a reviewer is responsible for
  (app filings are reviewed by the department of the provider's province).

Revocation of an organisation certificate goes into a CRL the root CA signs on demand.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from crypto.keys.provider import KeyInfo, SM2Signer
from crypto.x509 import (
    Certificate,
    CertificateAuthority,
    CertificateRevocationList,
    Name,
    RevocationReason,
    RevokedCertificate,
    create_crl,
    issue_end_entity,
    parse_name,
)
from records.errors import NotAuthorised, UnknownIssuer
from records.schema import RECORD_TYPES
from records.store import CertificateRow, OrganisationRow, RecordStore
from records.timestamps import utc_now

ORG_URN = "urn:edutrust:org:"
ISSUE_URN = "urn:edutrust:records:issue:"
REVIEW_URN = "urn:edutrust:records:review:"
REGION_URN = "urn:edutrust:region:"
_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")
KINDS = ("school", "rights_holder", "app_provider", "education_department", "regulator",
         "operator")


class SigningKeys(Protocol):
    """What the registry needs from a key provider (``SoftwareKeyProvider`` fits)."""

    def create_sm2(self, key_id: str) -> KeyInfo: ...

    def rotate(self, key_id: str) -> KeyInfo: ...

    def versions(self, key_id: str) -> list[KeyInfo]: ...

    def sm2(self, key_id: str, version: int | None = None) -> SM2Signer: ...


@dataclass(frozen=True)
class Authority:
    """What one certificate says its organisation may do."""

    org: str | None
    issues: frozenset[str]
    reviews: frozenset[str]
    region: str | None

    @classmethod
    def of(cls, certificate: Certificate) -> Authority:
        return _authority_of(certificate)

    @classmethod
    def read(cls, certificate: Certificate) -> Authority:
        uris = certificate.subject_alternative_names.uris
        orgs = [u[len(ORG_URN):] for u in uris if u.startswith(ORG_URN)]
        regions = [u[len(REGION_URN):] for u in uris if u.startswith(REGION_URN)]
        return cls(orgs[0] if len(orgs) == 1 else None,
                   frozenset(u[len(ISSUE_URN):] for u in uris if u.startswith(ISSUE_URN)),
                   frozenset(u[len(REVIEW_URN):] for u in uris if u.startswith(REVIEW_URN)),
                   regions[0] if len(regions) == 1 else None)


@functools.lru_cache(maxsize=1024)
def _authority_of(certificate: Certificate) -> Authority:
    # Certificates are immutable and hash by their DER: what one states never changes.
    return Authority.read(certificate)


@dataclass(frozen=True)
class Organisation:
    code: str
    name: str
    kind: str
    key_id: str
    issues: frozenset[str]
    reviews: frozenset[str]
    region: str | None

    def uris(self) -> list[str]:
        uris = [ORG_URN + self.code]
        uris += [ISSUE_URN + t for t in sorted(self.issues)]
        uris += [REVIEW_URN + t for t in sorted(self.reviews)]
        if self.region:
            uris.append(REGION_URN + self.region)
        return uris


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("/", "\\/")


def _subject(org: Organisation) -> Name:
    """The subject of the organisation's certificates (``InvalidName``, a ``ValueError``,
    for a name X.509 cannot carry: empty, or longer than 64 characters)."""
    return parse_name(f"/C=CN/O={_escape(org.name)}/CN={_escape(org.code)}")


def kid_of(info: KeyInfo) -> str:
    return info.kid


def split_kid(kid: str) -> tuple[str, int]:
    key_id, _, version = kid.rpartition(".v")
    if not key_id or not version.isdigit():
        raise UnknownIssuer(f"malformed key id {kid!r}")
    return key_id, int(version)


class IssuerRegistry:
    """Registers organisations, holds their certificates, signs for them through key
    handles, and publishes the CRL of the platform root CA."""

    def __init__(self, store: RecordStore, keys: SigningKeys, root: CertificateAuthority, *,
                 certificate_days: int = 1825, crl_days: int = 7) -> None:
        self.store = store
        self.keys = keys
        self.root = root
        self.certificate_days = certificate_days
        self.crl_days = crl_days
        self._certificates: dict[str, Certificate] = {}
        self._published: tuple[tuple[tuple[int, dt.datetime, int], ...],
                               CertificateRevocationList] | None = None

    # -- registration ---------------------------------------------------------------------
    def register(self, code: str, name: str, kind: str, *, issues: Iterable[str] = (),
                 reviews: Iterable[str] = (), region: str | None = None) -> Organisation:
        """Create the organisation's key and certificate. Registering the same code again
        with the same rights returns it unchanged; different rights are refused."""
        if not _CODE.fullmatch(code):
            raise ValueError("an organisation code is 1-40 letters, digits, '-' or '_'")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        unknown = (set(issues) | set(reviews)) - set(RECORD_TYPES)
        if unknown:
            raise ValueError(f"unknown record types {sorted(unknown)}")
        org = Organisation(code, name, kind, f"records-org-{code.lower()}",
                           frozenset(issues), frozenset(reviews), region)
        _subject(org)   # a name no certificate can carry is refused before anything is written
        try:
            existing = self.organisation(code)
        except UnknownIssuer:
            existing = None
        if existing is not None:
            if existing != org:
                raise ValueError(f"organisation {code} is registered with other rights")
            return existing
        if not self.keys.versions(org.key_id):
            self.keys.create_sm2(org.key_id)
        self.store.add_organisation(OrganisationRow(
            code=code, name=name, kind=kind, key_id=org.key_id,
            capabilities=json.dumps({"issues": sorted(org.issues),
                                     "reviews": sorted(org.reviews)}),
            region=region, created_at=utc_now()))
        self._certify(org, self.keys.versions(org.key_id)[-1])
        return org

    def organisation(self, code: str) -> Organisation:
        row = self.store.organisation(code)
        rights = json.loads(row.capabilities)
        return Organisation(row.code, row.name, row.kind, row.key_id,
                            frozenset(rights["issues"]), frozenset(rights["reviews"]),
                            row.region)

    def _certify(self, org: Organisation, info: KeyInfo) -> Certificate:
        now = utc_now()
        not_after = min(now + dt.timedelta(days=self.certificate_days),
                        self.root.certificate.not_after)
        public_key = self.keys.sm2(org.key_id, info.version).public_key()
        certificate = issue_end_entity(
            self.root, _subject(org), public_key, not_before=now, not_after=not_after,
            uris=org.uris())
        self.store.add_certificate(CertificateRow(
            kid=kid_of(info), org_code=org.code, pem=certificate.pem().decode(),
            serial=f"{certificate.serial_number:x}", not_after=certificate.not_after,
            revoked_at=None, revocation_reason=None, created_at=now))
        self._certificates[kid_of(info)] = certificate
        return certificate

    def rotate(self, code: str) -> str:
        """A new key version with its own certificate; returns its key id."""
        org = self.organisation(code)
        info = self.keys.rotate(org.key_id)
        self._certify(org, info)
        return kid_of(info)

    # -- use ------------------------------------------------------------------------------
    def signer(self, code: str) -> tuple[str, SM2Signer]:
        """(key id, signing handle) of the organisation's current key."""
        org = self.organisation(code)
        versions = self.keys.versions(org.key_id)
        if not versions:
            raise UnknownIssuer(f"organisation {code} has no key")
        info = versions[-1]
        kid = kid_of(info)
        if self.store.certificate(kid) is None:
            self._certify(org, info)
        return kid, self.keys.sm2(org.key_id, info.version)

    def certificate(self, kid: str) -> Certificate:
        cached = self._certificates.get(kid)
        if cached is not None:
            return cached
        row = self.store.certificate(kid)
        if row is None:
            raise UnknownIssuer(f"no certificate for key {kid}")
        certificate = Certificate.from_pem(row.pem.encode())
        self._certificates[kid] = certificate
        return certificate

    def require(self, code: str, *, issues: str | None = None,
                reviews: str | None = None) -> Organisation:
        """The organisation, or ``NotAuthorised`` if it lacks the right asked for."""
        org = self.organisation(code)
        if issues is not None and issues not in org.issues:
            raise NotAuthorised(f"{code} may not issue {issues} records")
        if reviews is not None and reviews not in org.reviews:
            raise NotAuthorised(f"{code} may not review {reviews} records")
        return org

    # -- revocation -----------------------------------------------------------------------
    def revoke(self, kid: str, *, reason: RevocationReason = RevocationReason.UNSPECIFIED,
               at: dt.datetime | None = None) -> None:
        self.store.revoke_certificate(kid, (at or utc_now()).replace(microsecond=0),
                                      int(reason))

    def crl(self, at: dt.datetime | None = None) -> CertificateRevocationList:
        """A CRL of the root CA listing every revoked organisation certificate, valid
        from ``at`` (now) for ``crl_days``. Numbered by its issue time in milliseconds,
        so later CRLs have larger numbers."""
        return self._sign_crl(self._revocations(), at or utc_now())

    def published_crl(self, covering: dt.datetime | None = None) -> CertificateRevocationList:
        """The CRL verification hands out: the last one signed, reused while it lists
        exactly the revocations the store holds now (read on every call, so a revocation
        by another process is seen at once), is at least as recent as ``covering`` (the
        anchor time it must speak for; CRL times are whole seconds) and is in the first
        half of its validity. Otherwise a new one is signed and kept."""
        revoked = self._revocations()
        now = utc_now()
        kept = self._published
        if kept is not None:
            listed, crl = kept
            next_update = crl.next_update
            fresh = (next_update is not None and crl.this_update <= now
                     and now < crl.this_update + (next_update - crl.this_update) / 2)
            recent = covering is None or crl.this_update >= covering.replace(microsecond=0)
            if listed == revoked and fresh and recent:
                return crl
        crl = self._sign_crl(revoked, now)
        self._published = (revoked, crl)
        return crl

    def _revocations(self) -> tuple[tuple[int, dt.datetime, int], ...]:
        return tuple(sorted((int(row.serial, 16), _aware(row.revoked_at),
                             int(row.revocation_reason or 0))
                            for row in self.store.revoked_certificates() if row.revoked_at))

    def _sign_crl(self, revoked: tuple[tuple[int, dt.datetime, int], ...],
                  when: dt.datetime) -> CertificateRevocationList:
        entries = [RevokedCertificate(serial, at, RevocationReason(reason))
                   for serial, at, reason in revoked]
        return create_crl(self.root, entries,
                          crl_number=int(dt.datetime.now(dt.UTC).timestamp() * 1000),
                          this_update=when.replace(microsecond=0), days=self.crl_days)

    def root_certificates(self) -> Sequence[Certificate]:
        return (self.root.certificate,)


def _aware(value: dt.datetime | None) -> dt.datetime:
    assert value is not None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
