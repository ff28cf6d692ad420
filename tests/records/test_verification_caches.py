"""What verification memoises (certificate paths, CRL signatures, the published CRL)
never changes an answer: a revocation, a later anchor or another time is always seen."""

from __future__ import annotations

import datetime as dt

import pytest

from crypto.sm2 import SM2PrivateKey
from crypto.x509 import (
    CertificateAuthority,
    ChainValidationError,
    create_crl,
    create_root_ca,
)
from records.verification import Overall, crl_signed_by, validated_path
from tests.records.conftest import REVIEWER, Desk, archive_content, create_and_anchor, student


def test_the_published_crl_is_reused_until_the_revocations_change(desk: Desk) -> None:
    first = desk.issuers.published_crl()
    assert desk.issuers.published_crl().der() == first.der()
    desk.issuers.register("S081", "某县第八十一中学", "school", issues=["archive_entry"])
    kid, _ = desk.issuers.signer("S081")
    desk.issuers.revoke(kid)
    after = desk.issuers.published_crl()
    serial = desk.issuers.certificate(kid).serial_number
    assert after.der() != first.der()
    assert after.get_revoked(serial) is not None


def test_a_published_crl_older_than_the_anchor_asked_about_is_replaced(desk: Desk) -> None:
    first = desk.issuers.published_crl()
    later = desk.issuers.published_crl(first.this_update + dt.timedelta(seconds=1))
    assert later.der() != first.der()
    assert later.this_update >= first.this_update


def test_a_record_anchored_after_the_published_crl_still_verifies_valid(desk: Desk) -> None:
    from records.lifecycle import Actor

    school = Actor("staff-82", "school_staff", "S082")
    desk.issuers.register("S082", "某县第八十二中学", "school", issues=["archive_entry"])
    desk.issuers.published_crl()
    record = create_and_anchor(desk, "archive_entry", archive_content(), school, REVIEWER,
                               subject=student("p-82", "S082"))
    report = desk.registry.verify(record.id)
    assert report.overall is Overall.VALID, report.to_json()["checks"]
    # And a revocation right after is on the next answer's CRL (here: a later one).
    desk.issuers.revoke(record.issuer.kid, at=dt.datetime.now(dt.UTC) + dt.timedelta(
        seconds=1))
    report = desk.registry.verify(record.id)
    assert "revoked_later" in report.checks["issuer_authority"].data


def test_a_remembered_certificate_path_is_not_reused_outside_its_validity(
        desk: Desk) -> None:
    kid, _ = desk.issuers.signer("S001")
    certificate = desk.issuers.certificate(kid)
    roots = list(desk.issuers.root_certificates())
    now = dt.datetime.now(dt.UTC)
    assert validated_path(certificate, [], roots, at=now)[0] == certificate
    with pytest.raises(ChainValidationError, match="expired"):
        validated_path(certificate, [], roots,
                       at=certificate.not_after + dt.timedelta(days=1))
    with pytest.raises(ChainValidationError):
        validated_path(certificate, [], roots,
                       at=certificate.not_before - dt.timedelta(seconds=1))
    with pytest.raises(ChainValidationError):
        validated_path(certificate, [], [_other_ca().certificate], at=now)


def _other_ca() -> CertificateAuthority:
    key = SM2PrivateKey.generate()
    return CertificateAuthority(create_root_ca(key, "/C=CN/O=Elsewhere/CN=Other Root",
                                               days=30), key)


def test_a_crl_signed_by_another_ca_is_never_taken_for_the_platforms(desk: Desk) -> None:
    root = desk.issuers.root_certificates()[0]
    other = _other_ca()
    foreign = create_crl(other, [], crl_number=1,
                         this_update=dt.datetime.now(dt.UTC).replace(microsecond=0), days=1)
    assert crl_signed_by(foreign, root) is False
    assert crl_signed_by(foreign, root) is False
    assert crl_signed_by(desk.issuers.published_crl(), root) is True
