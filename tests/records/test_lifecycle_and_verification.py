"""Each record type end to end on the embedded ledger — draft, submitted, under review,
approved, anchored, verified — and the answers verification gives as records are
suspended, revoked, amended, blacklisted or their ledger becomes unreachable."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from ledger.block import Block
from ledger.checkpoint import NoteVerifier
from ledger.contract import KeyModification
from ledger.errors import LedgerError
from ledger.merkle import ConsistencyProof, InclusionProof
from ledger.msp import SigningIdentity
from ledger.storage.sql import Receipt
from records.anchoring import RecordAnchoring
from records.errors import IllegalTransition, NotAuthorised
from records.lifecycle import Actor, State
from records.registry import RecordRegistry
from records.verification import Overall, Report
from tests.records.conftest import (
    OTHER_PROVIDER_CODE,
    OTHER_REVIEWER,
    PROVIDER,
    REGULATOR,
    REVIEWER,
    RIGHTS_HOLDER,
    SCHOOL,
    Desk,
    app_content,
    archive_content,
    copyright_content,
    create_and_anchor,
    credit_content,
    student,
)

ALL_CHECKS = ["schema", "integrity", "signature", "issuer_authority", "review", "anchor",
              "status", "validity", "history"]


def outcomes(report: Report) -> dict[str, str]:
    return {name: check.outcome.value for name, check in report.checks.items()}


def failed(report: Report) -> dict[str, str]:
    return {name: check.code for name, check in report.checks.items()
            if check.outcome.value != "pass"}


CASES: dict[str, tuple[Any, ...]] = {
    "archive_entry": (archive_content, SCHOOL, REVIEWER, True),
    "copyright_registration": (copyright_content, RIGHTS_HOLDER, REVIEWER, False),
    "app_filing": (app_content, PROVIDER, REVIEWER, False),
    "credit_record": (credit_content, REGULATOR, Actor("officer-11", "reviewer", "EDU11"),
                      False),
}


@pytest.mark.parametrize("record_type", list(CASES))
def test_each_record_type_is_valid_once_reviewed_and_anchored(desk: Desk,
                                                              record_type: str) -> None:
    make, issuer, reviewer, person = CASES[record_type]
    if record_type == "credit_record":
        desk.issuers.register("EDU11C", "北京市教委信用处", "education_department",
                              reviews=["credit_record"], region="11")
        reviewer = Actor("officer-11", "reviewer", "EDU11C")
    record = create_and_anchor(desk, record_type, make(), issuer, reviewer,
                               subject=student() if person else None)

    assert record.state is State.ACTIVE
    assert [t.target.value for t in record.lifecycle] == [
        "draft", "submitted", "under_review", "approved", "active"]
    assert record.anchor is not None and record.anchor.key == f"record:{record.id}"
    report = desk.registry.verify(record.id)
    assert report.overall is Overall.VALID, failed(report)
    assert list(report.checks) == ALL_CHECKS
    assert set(outcomes(report).values()) == {"pass"}


def test_the_ledger_holds_digests_and_no_personal_data(desk: Desk) -> None:
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student("person-secret-42"))
    assert record.anchor is not None
    leaf = desk.channel.leaf(record.anchor.leaf_index).decode()
    assert record.digest in leaf
    for personal in ("person-secret-42", "张三", "高中数学"):
        assert personal not in leaf
    assert '"record_version":1' in leaf and '"type":"archive_entry"' in leaf


def test_approving_an_app_filing_assigns_a_provincial_filing_number(desk: Desk) -> None:
    record = create_and_anchor(desk, "app_filing", app_content(), PROVIDER, REVIEWER)
    assert record.review is not None
    number = record.review.assigned["filing_number"]
    assert re.fullmatch(r"教APP备11[0-9]{5}号", number)
    report = desk.registry.verify(record.id)
    assert report.checks["review"].data["assigned"] == {"filing_number": number}


def test_an_illegal_transition_is_refused_naming_the_allowed_states(desk: Desk) -> None:
    record = desk.registry.create("archive_entry", archive_content(), actor=SCHOOL,
                                  subject=student())
    with pytest.raises(IllegalTransition) as caught:
        desk.registry.approve(record.id, actor=REVIEWER)
    assert caught.value.current == "draft" and caught.value.allowed == ("submitted",)
    assert desk.registry.get(record.id).state is State.DRAFT


def test_a_school_cannot_register_an_entry_for_another_schools_student(desk: Desk) -> None:
    with pytest.raises(NotAuthorised):
        desk.registry.create("archive_entry", archive_content(), actor=SCHOOL,
                             subject=student("person-9", org="S002"))


def test_an_entry_for_another_schools_student_verifies_invalid_even_if_anchored(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """Had the platform's check been bypassed, verification still catches it."""
    monkeypatch.setattr(desk.registry, "_check_subject", lambda *args: None)
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student("person-9", org="S002"))
    report = desk.registry.verify(record.id)
    assert report.overall is Overall.INVALID
    assert report.checks["issuer_authority"].code == "foreign_subject"


def test_an_app_filing_is_reviewed_only_by_the_providers_province(desk: Desk) -> None:
    record = desk.registry.create("app_filing", app_content(), actor=PROVIDER)
    desk.registry.submit(record.id, actor=PROVIDER)
    with pytest.raises(NotAuthorised):
        desk.registry.start_review(record.id, actor=OTHER_REVIEWER)


def test_suspension_is_reported_and_reinstatement_restores_validity(desk: Desk) -> None:
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student())
    desk.registry.suspend(record.id, actor=SCHOOL, comment="核查中")
    report = desk.registry.verify(record.id)
    assert report.overall is Overall.INVALID
    assert report.checks["status"].code == "suspended"
    desk.registry.reinstate(record.id, actor=SCHOOL, comment="核查完毕")
    report = desk.registry.verify(record.id)
    assert report.overall is Overall.VALID, failed(report)
    assert [e["to"] for e in report.checks["history"].data["lifecycle"]][-2:] == [
        "suspended", "active"]


def test_revocation_is_reported_as_revoked(desk: Desk) -> None:
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student())
    desk.registry.revoke(record.id, actor=REVIEWER, comment="材料造假")
    report = desk.registry.verify(record.id)
    assert report.overall is Overall.INVALID
    assert report.checks["status"].code == "revoked"


def test_the_revocation_bit_alone_makes_a_bundle_invalid(desk: Desk) -> None:
    """Even if the envelope still said active, the anchored status list says revoked."""
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student())
    active_copy = desk.registry.get(record.id)
    desk.registry.revoke(record.id, actor=SCHOOL)
    evidence = desk.registry.evidence(desk.registry.get(record.id))
    evidence.record = active_copy
    from records.verification import verify_evidence

    report = verify_evidence(evidence, desk.registry.trust_anchors())
    assert report.checks["status"].code == "revoked"


def test_an_amendment_supersedes_the_previous_version(desk: Desk) -> None:
    registry = desk.registry
    first = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                              subject=student())
    corrected = archive_content()
    corrected["result"][0]["value"] = "A+"
    second = registry.amend(first.id, corrected, actor=SCHOOL, comment="成绩更正")
    assert second.version == 2 and second.previous is not None
    assert (second.previous.version, second.previous.digest) == (1, first.digest)
    assert registry.verify(first.id, 1).overall is Overall.VALID  # not yet replaced
    registry.submit(first.id, actor=SCHOOL)
    registry.start_review(first.id, actor=REVIEWER)
    registry.approve(first.id, actor=REVIEWER)
    [anchored] = registry.anchor([first.id])
    assert anchored.anchor is not None and anchored.anchor.version == 2

    old = registry.verify(first.id, 1)
    assert old.overall is Overall.INVALID
    assert old.checks["history"].code == "superseded"
    assert old.checks["history"].data["superseded_by"]["record_version"] == 2
    new = registry.verify(first.id)
    assert new.overall is Overall.VALID, failed(new)
    assert [v["record_version"] for v in new.history] == [1, 2]
    assert registry.get(first.id, 1).content["result"][0]["value"] == "A"  # not edited


def test_blacklisting_a_provider_revokes_its_app_filings(desk: Desk) -> None:
    code = OTHER_PROVIDER_CODE
    desk.issuers.register("AP02", "另一家教育公司", "app_provider", issues=["app_filing"])
    provider = Actor("filer-02", "app_provider", "AP02")
    filing = create_and_anchor(desk, "app_filing", app_content(code=code), provider, REVIEWER)
    desk.issuers.register("EDUCR", "信用审核处", "education_department",
                          reviews=["credit_record"], region="11")
    create_and_anchor(desk, "credit_record", credit_content("blacklist", code), REGULATOR,
                      Actor("officer", "reviewer", "EDUCR"))
    assert desk.registry.get(filing.id).state is State.REVOKED
    report = desk.registry.verify(filing.id)
    assert report.checks["status"].code == "revoked"


def test_a_later_registration_of_the_same_content_is_flagged(desk: Desk) -> None:
    content = copyright_content(b"a lecture recorded once")
    first = create_and_anchor(desk, "copyright_registration", content, RIGHTS_HOLDER,
                              REVIEWER)
    desk.issuers.register("RH02", "某出版社", "rights_holder",
                          issues=["copyright_registration"])
    later = desk.registry.create("copyright_registration", content,
                                 actor=Actor("editor-9", "rights_manager", "RH02"))
    notes = desk.registry.review_notes(later.id)
    assert len(notes) == 1 and "RH01" in notes[0] and first.id in notes[0]


class UnreachableLedger:
    """A ledger whose every call fails, as when its database or network is down."""

    channel_id = "edutrust"

    def _down(self, *args: object, **kwargs: object) -> Any:
        raise LedgerError("connection refused")

    def checkpoint(self) -> bytes:
        return self._down()

    def leaf(self, index: int) -> bytes:
        return self._down()

    def inclusion_proof(self, index: int, size: int) -> InclusionProof:
        return self._down()

    def consistency_proof(self, first: int, second: int) -> ConsistencyProof:
        return self._down()

    def block(self, number: int) -> Block:
        return self._down()

    def history(self, contract: str, key: str) -> list[KeyModification]:
        return self._down()

    def state(self, contract: str, key: str) -> bytes | None:
        return self._down()

    def verifiers(self) -> list[NoteVerifier]:
        return self._down()

    def submit(self, client: SigningIdentity, contract: str, function: str, *args: str,
               timeout: float = 60.0) -> Receipt:
        return self._down()


def test_verification_is_indeterminate_when_the_ledger_is_unreachable(desk: Desk) -> None:
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student())
    registry = desk.registry
    cut_off = RecordRegistry(registry.store, registry.issuers,
                             RecordAnchoring(UnreachableLedger(), registry.anchoring.client),
                             trust=registry.trust_anchors(),
                             snapshot_ttl=dt.timedelta(seconds=1))
    report = cut_off.verify(record.id)
    assert report.overall is Overall.INDETERMINATE
    assert report.checks["anchor"].code == "ledger_unavailable"
    assert report.checks["status"].outcome.value == "indeterminate"
    assert report.checks["integrity"].outcome.value == "pass"
    assert report.checks["signature"].outcome.value == "pass"
    # Not even the log key could be fetched: still indeterminate, never valid.
    unpinned = RecordRegistry(registry.store, registry.issuers,
                              RecordAnchoring(UnreachableLedger(), registry.anchoring.client))
    report = unpinned.verify(record.id)
    assert report.overall is Overall.INDETERMINATE
    assert report.checks["anchor"].code == "ledger_unavailable"


def test_an_issuer_certificate_revoked_before_anchoring_makes_the_record_invalid(
        desk: Desk) -> None:
    desk.issuers.register("S003", "某县第三中学", "school", issues=["archive_entry"])
    school = Actor("staff-3", "school_staff", "S003")
    registry = desk.registry
    record = registry.create("archive_entry", archive_content(), actor=school,
                             subject=student("p-3", "S003"))
    registry.submit(record.id, actor=school)
    registry.start_review(record.id, actor=REVIEWER)
    registry.approve(record.id, actor=REVIEWER)
    desk.issuers.revoke(record.issuer.kid)
    registry.anchor([record.id])
    report = registry.verify(record.id)
    assert report.overall is Overall.INVALID
    assert report.checks["issuer_authority"].code == "revoked"


def test_an_issuer_certificate_revoked_after_anchoring_leaves_the_record_valid(
        desk: Desk) -> None:
    desk.issuers.register("S004", "某县第四中学", "school", issues=["archive_entry"])
    school = Actor("staff-4", "school_staff", "S004")
    record = create_and_anchor(desk, "archive_entry", archive_content(), school, REVIEWER,
                               subject=student("p-4", "S004"))
    desk.issuers.revoke(record.issuer.kid, at=dt.datetime.now(dt.UTC) + dt.timedelta(
        seconds=2))
    report = desk.registry.verify(record.id)
    assert report.overall is Overall.VALID, failed(report)
    assert "revoked_later" in report.checks["issuer_authority"].data


def test_a_record_past_its_validity_is_invalid_and_expires(desk: Desk) -> None:
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student(), valid_until=until)
    later = until + dt.timedelta(hours=1)
    report = desk.registry.verify(record.id, now=later)
    assert report.checks["validity"].code == "expired"
    assert report.overall is Overall.INVALID
    expired = desk.registry.expire_due(later)
    assert record.id in {r.id for r in expired}
    assert desk.registry.get(record.id).state is State.EXPIRED


def test_verifiable_credential_export_is_an_open_badge_with_an_sm2_proof(desk: Desk) -> None:
    from records.errors import CredentialError
    from records.vc import verify_proof

    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student("person-vc"))
    credential = desk.registry.credential(record.id, base_url="https://edutrust.example")
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    subject = credential["credentialSubject"]
    assert subject["achievement"]["achievementType"] == "Course"
    assert subject["creditsEarned"] == 2.5
    assert "person-vc" not in str(credential)
    assert credential["credentialStatus"][0]["type"] == "BitstringStatusListEntry"
    proof = credential["proof"]
    assert proof["cryptosuite"] == "sm2-jcs-2025" and proof["proofValue"].startswith("z")
    public_key = desk.issuers.certificate(record.issuer.kid).public_key()
    verify_proof(credential, public_key)
    tampered = {**credential, "name": "高中物理"}
    with pytest.raises(CredentialError):
        verify_proof(tampered, public_key)
    other = desk.issuers.certificate(desk.issuers.signer("S002")[0]).public_key()
    with pytest.raises(CredentialError):
        verify_proof(credential, other)


def test_other_record_types_export_as_generic_credentials(desk: Desk) -> None:
    record = create_and_anchor(desk, "app_filing", app_content(), PROVIDER, REVIEWER)
    credential = desk.registry.credential(record.id)
    assert credential["type"] == ["VerifiableCredential", "EduTrustAppFiling"]
    assert credential["credentialSubject"]["filing_number"].startswith("教APP备11")
