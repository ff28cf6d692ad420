"""Offline bundles: everything needed to verify a record, checked with no server, network
or database — in Python and by ``edutrust records verify`` in a subprocess — and the
forgeries they must expose."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding, SM2PrivateKey
from crypto.x509 import create_root_ca, parse_name
from ledger.checkpoint import Checkpoint, NoteSigner, SignatureKind, SignedNote, sign_checkpoint
from records.bundle import verify_bundle
from records.canonical import canonical_json
from records.envelope import Record
from records.errors import MalformedBundle
from records.verification import Overall, TrustAnchors
from tests.conftest import run_cli
from tests.records.conftest import (
    REVIEWER,
    SCHOOL,
    Desk,
    archive_content,
    create_and_anchor,
    student,
)


@pytest.fixture(scope="module")
def valid_bundle(desk: Desk) -> dict[str, Any]:
    record = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                               subject=student("person-bundle"))
    return desk.registry.bundle(record.id)



def verdict(bundle: Any, anchors: dict[str, Any]) -> tuple[str, dict[str, str]]:
    report = verify_bundle(bundle, anchors)
    return report.overall.value, {n: c.code for n, c in report.checks.items()
                                  if c.outcome.value != "pass"}


def test_a_bundle_verifies_with_only_the_pinned_anchors(valid_bundle: dict[str, Any],
                                                        anchors: dict[str, Any]) -> None:
    assert verdict(valid_bundle, anchors) == ("valid", {})
    as_bytes = json.dumps(valid_bundle, ensure_ascii=False).encode()
    assert verify_bundle(as_bytes, anchors).overall is Overall.VALID


def test_a_bundle_carries_the_evidence_but_the_ledger_leaf_no_personal_data(
        valid_bundle: dict[str, Any]) -> None:
    assert set(valid_bundle["status"]) == {"revocation", "suspension"}
    assert valid_bundle["ledger"]["checkpoint"].startswith("127.0.0.1:8000/ledger/edutrust\n")
    assert valid_bundle["crl"].startswith("-----BEGIN X509 CRL-----")
    assert "person-bundle" not in valid_bundle["ledger"]["anchor"]["leaf"]
    assert valid_bundle["record"]["salt"]  # the holder's copy lets a verifier recompute


def test_one_changed_byte_in_the_record_makes_it_invalid(valid_bundle: dict[str, Any],
                                                         anchors: dict[str, Any]) -> None:
    data = json.dumps(valid_bundle, ensure_ascii=False, separators=(",", ":")).encode()
    assert data.count(b'"value":"A"') == 1
    tampered = data.replace(b'"value":"A"', b'"value":"B"')
    assert len(tampered) == len(data)
    overall, problems = verdict(tampered, anchors)
    assert overall == "invalid" and problems["integrity"] == "digest_mismatch"


def test_a_signature_by_the_wrong_organisation_is_invalid(desk: Desk,
                                                          valid_bundle: dict[str, Any],
                                                          anchors: dict[str, Any]) -> None:
    forged = copy.deepcopy(valid_bundle)
    proof = forged["record"]["proofs"][0]
    assert proof["purpose"] == "issue" and proof["org"] == "S001"
    _, other_school = desk.issuers.signer("S002")
    statement = {k: v for k, v in proof.items() if k != "signature"}
    proof["signature"] = base64.b64encode(other_school.sign(
        canonical_json(statement), signer_id=DEFAULT_SIGNER_ID,
        encoding=SignatureEncoding.DER)).decode()
    overall, problems = verdict(forged, anchors)
    assert overall == "invalid" and problems["signature"] == "bad_signature"


def test_a_record_claimed_by_another_organisations_key_is_invalid(
        desk: Desk, valid_bundle: dict[str, Any], anchors: dict[str, Any]) -> None:
    """S002 names its own key and certificate for a record that says S001 issued it."""
    forged = copy.deepcopy(valid_bundle)
    kid, other_school = desk.issuers.signer("S002")
    forged["certificates"][kid] = desk.issuers.certificate(kid).pem().decode()
    proof = forged["record"]["proofs"][0]
    proof["kid"] = kid
    forged["record"]["issuer"]["kid"] = kid
    record = Record.from_json(forged["record"])
    proof["digest"] = forged["record"]["digest"] = record.compute_digest()
    statement = {k: v for k, v in proof.items() if k != "signature"}
    proof["signature"] = base64.b64encode(other_school.sign(
        canonical_json(statement), signer_id=DEFAULT_SIGNER_ID,
        encoding=SignatureEncoding.DER)).decode()
    overall, problems = verdict(forged, anchors)
    assert overall == "invalid"
    assert problems["signature"] == "wrong_organisation"
    assert problems["anchor"] == "leaf_mismatch"


def test_an_anchor_that_does_not_match_the_record_is_invalid(
        desk: Desk, valid_bundle: dict[str, Any], anchors: dict[str, Any]) -> None:
    other = create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                              subject=student("person-other"))
    other_bundle = desk.registry.bundle(other.id)
    forged = copy.deepcopy(valid_bundle)
    forged["ledger"] = other_bundle["ledger"]
    forged["record"]["anchor"]["leaf_index"] = other_bundle["record"]["anchor"]["leaf_index"]
    overall, problems = verdict(forged, anchors)
    assert overall == "invalid" and problems["anchor"] == "leaf_mismatch"


def test_a_forged_checkpoint_is_invalid(valid_bundle: dict[str, Any],
                                        anchors: dict[str, Any]) -> None:
    genuine = valid_bundle["ledger"]["checkpoint"].encode()
    checkpoint = Checkpoint.from_text(SignedNote.parse(genuine).text)
    forger = NoteSigner(checkpoint.origin, SM2PrivateKey.generate(), SignatureKind.NOTE)
    forged = copy.deepcopy(valid_bundle)
    forged["ledger"]["checkpoint"] = sign_checkpoint(checkpoint, forger).decode()
    overall, problems = verdict(forged, anchors)
    assert overall == "invalid" and problems["anchor"] == "checkpoint_signature"


def test_a_checkpoint_with_another_root_is_invalid(valid_bundle: dict[str, Any],
                                                   anchors: dict[str, Any]) -> None:
    lines = valid_bundle["ledger"]["checkpoint"].split("\n")
    lines[2] = base64.b64encode(bytes(32)).decode()
    forged = copy.deepcopy(valid_bundle)
    forged["ledger"]["checkpoint"] = "\n".join(lines)
    overall, problems = verdict(forged, anchors)
    assert overall == "invalid" and problems["anchor"] == "checkpoint_signature"


def test_a_bundle_from_another_platform_is_not_trusted(valid_bundle: dict[str, Any],
                                                       anchors: dict[str, Any]) -> None:
    stranger = create_root_ca(SM2PrivateKey.generate(), parse_name("/CN=Someone Else"),
                              days=30)
    pinned = {**anchors, "root_certificates": [stranger.pem().decode()]}
    overall, problems = verdict(valid_bundle, pinned)
    assert overall == "invalid" and problems["issuer_authority"] == "chain_untrusted"


def test_without_status_evidence_the_answer_is_indeterminate(
        valid_bundle: dict[str, Any], anchors: dict[str, Any]) -> None:
    stripped = {**valid_bundle, "status": {}}
    assert verdict(stripped, anchors) == ("indeterminate", {"status": "snapshot_missing"})


def test_an_expired_status_snapshot_makes_the_answer_indeterminate(
        valid_bundle: dict[str, Any], anchors: dict[str, Any]) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=60)
    report = verify_bundle(valid_bundle, anchors, now=later)
    assert report.overall is Overall.INDETERMINATE
    assert report.checks["status"].code == "snapshot_stale"


def test_anything_but_a_bundle_is_refused(anchors: dict[str, Any]) -> None:
    for junk in (b"not json", b"[]", b'{"format": "something else"}'):
        with pytest.raises(MalformedBundle):
            verify_bundle(junk, anchors)
    with pytest.raises(MalformedBundle):
        TrustAnchors.from_json({"root_certificates": [], "log_keys": []})


# --- the command line, with no server and no database -------------------------------------

def offline_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUTRUST_")}
    env.update({"EDUTRUST_HOME": str(tmp_path / "no-such-home"), "EDUTRUST_LANG": "en",
                "EDUTRUST_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"})
    return env


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_cli_verifies_a_bundle_offline(tmp_path: Path, valid_bundle: dict[str, Any],
                                           anchors: dict[str, Any]) -> None:
    bundle = write(tmp_path / "bundle.json", valid_bundle)
    trust = write(tmp_path / "anchors.json", anchors)
    result = run_cli("records", "verify", str(bundle), "--trust-anchors", str(trust),
                     env=offline_env(tmp_path))
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["overall"] == "valid"
    assert report["record"]["id"] == valid_bundle["record"]["id"]
    assert b"valid: record" in result.stderr


def run_in_process(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The same entry point without a new interpreter (the subprocess test above proves
    the offline case end to end; these cover the exit codes)."""
    from edutrust.cli import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_exits_1_for_a_tampered_bundle(tmp_path: Path, valid_bundle: dict[str, Any],
                                               anchors: dict[str, Any],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    forged = copy.deepcopy(valid_bundle)
    forged["record"]["content"]["creditsEarned"] = 5
    bundle = write(tmp_path / "bundle.json", forged)
    trust = write(tmp_path / "anchors.json", anchors)
    code, out, err = run_in_process("records", "verify", str(bundle), "--trust-anchors",
                                    str(trust), capsys=capsys)
    assert code == 1
    assert json.loads(out)["overall"] == "invalid"
    assert "integrity" in err


def test_the_cli_exits_2_for_what_it_cannot_read(tmp_path: Path,
                                                 valid_bundle: dict[str, Any],
                                                 anchors: dict[str, Any],
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # No --trust-anchors and nothing pinned in $EDUTRUST_HOME: exit 2.
    monkeypatch.setenv("EDUTRUST_HOME", str(tmp_path / "no-such-home"))
    trust = write(tmp_path / "anchors.json", anchors)
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\x01 not a bundle")
    bundle = write(tmp_path / "bundle.json", valid_bundle)
    for args in (("records", "verify", str(garbage), "--trust-anchors", str(trust)),
                 ("records", "verify", str(tmp_path / "missing.json"), "--trust-anchors",
                  str(trust)),
                 ("records", "verify", str(bundle), "--trust-anchors", str(garbage)),
                 ("records", "verify", str(bundle))):
        code, out, err = run_in_process(*args, capsys=capsys)
        assert code == 2, (args, err)
        assert out == ""
        assert len(err.strip().splitlines()) == 1
