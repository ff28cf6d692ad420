"""What verification memoises (certificate paths, CRL signatures, the published CRL,
parsed block headers, snapshot bytes) never changes an answer: a revocation, a later
anchor, another time or a forged signature is always seen."""

from __future__ import annotations

import base64
import copy
import datetime as dt
from typing import Any

import pytest

from crypto.sm2 import SM2PrivateKey
from crypto.x509 import (
    CertificateAuthority,
    ChainValidationError,
    create_crl,
    create_root_ca,
)
from records.bundle import verify_bundle
from records.canonical import canonical_json
from records.verification import (
    Outcome,
    Overall,
    crl_names_issuer_of,
    crl_signed_by,
    validated_path,
)
from tests.records.conftest import (
    REVIEWER,
    SCHOOL,
    Desk,
    archive_content,
    create_and_anchor,
    student,
)


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
    school = desk.issuers.certificate(desk.issuers.signer("S001")[0])
    assert crl_names_issuer_of(desk.issuers.published_crl(), school) is True
    assert crl_names_issuer_of(foreign, school) is False
    assert crl_names_issuer_of(foreign, school) is False


# --- what is kept per exact input (block headers, snapshot bytes) is only parsing: every
# signature of a bundle is verified at every verification.

@pytest.fixture(scope="module")
def bundle(desk: Desk) -> dict[str, Any]:
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student("person-caches"))
    return desk.registry.bundle(record.id)



def _problems(bundle: dict[str, Any], anchors: dict[str, Any]) -> dict[str, str]:
    report = verify_bundle(bundle, anchors)
    return {n: c.code for n, c in report.checks.items() if c.outcome is not Outcome.PASS}


def _foreign_signature(message: bytes) -> str:
    return base64.b64encode(SM2PrivateKey.generate().sign(message)).decode()


def test_every_signature_is_verified_again_on_every_verification(
        bundle: dict[str, Any], anchors: dict[str, Any], sm2_verified: list[bytes]
) -> None:
    assert _problems(bundle, anchors) == {}  # certificates and CRL now remembered
    calls = sm2_verified
    for _ in range(2):
        calls.clear()
        assert _problems(bundle, anchors) == {}
        # issuer and reviewer proofs, lifecycle entries, status snapshots, the two block
        # headers, the checkpoint's log signature and each witness cosignature
        assert len(calls) == (2 + len(bundle["record"]["lifecycle"]) + len(bundle["status"])
                              + 2 + 1 + len(anchors["witness_keys"]))


def test_a_block_header_seen_before_still_needs_its_signature(
        bundle: dict[str, Any], anchors: dict[str, Any]) -> None:
    assert _problems(bundle, anchors) == {}
    forged = copy.deepcopy(bundle)
    block = forged["ledger"]["block"]
    block["signature"] = _foreign_signature(base64.b64decode(block["header"]))
    assert _problems(forged, anchors)["anchor"] == "block_signature"
    assert _problems(bundle, anchors) == {}


def test_a_status_snapshot_seen_before_still_needs_its_signature(
        bundle: dict[str, Any], anchors: dict[str, Any]) -> None:
    assert _problems(bundle, anchors) == {}
    resigned = copy.deepcopy(bundle)
    snapshot = resigned["status"]["revocation"]["snapshot"]
    statement = {k: v for k, v in snapshot.items() if k != "signature"}
    snapshot["signature"] = _foreign_signature(canonical_json(statement))
    assert _problems(resigned, anchors)["status"] == "snapshot_signature"
    altered = copy.deepcopy(bundle)
    altered["status"]["revocation"]["snapshot"]["sequence"] += 1
    assert _problems(altered, anchors)["status"] == "snapshot_signature"
    assert _problems(bundle, anchors) == {}
