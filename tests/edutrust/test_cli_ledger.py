"""``edutrust ledger ...`` as an operator and an offline verifier run it: anchor a file,
prove it, verify the proof with pinned keys and nothing else, and audit the chain."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import update

from crypto.sm2 import SM2PrivateKey
from crypto.sm3 import sm3
from edutrust.ledger_setup import CHANNEL, load_organisations, open_channel
from edutrust.platform import Platform
from edutrust.settings import Settings
from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint, NoteSigner, SignedNote, sign_checkpoint
from ledger.merkle import leaf_hash
from ledger.storage.sql import LeafRow
from tests.conftest import cli_env, run_cli


def ledger(settings: Settings, *args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return run_cli("ledger", *map(str, args), env=cli_env(settings))


def ok(result: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[bytes]:
    assert result.returncode == 0, result.stderr.decode()
    return result


def one_line(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_ledger_commands_before_edutrust_init_say_to_run_it(settings: Settings) -> None:
    result = ledger(settings, "init")
    assert result.returncode == 2
    assert "edutrust init" in one_line(result)
    assert result.stdout == b""


def test_ledger_init_again_changes_nothing(platform: Platform, settings: Settings) -> None:
    channel = open_channel(platform)
    before = channel.status()
    channel.close()
    result = ok(ledger(settings, "init"))
    assert json.loads(result.stdout)["created"] is False
    assert "exists" in one_line(result)
    assert json.loads(ok(ledger(settings, "status")).stdout) == before


def test_anchored_file_is_proved_and_verified_offline_with_pinned_keys(
        platform: Platform, settings: Settings, tmp_path: Path) -> None:
    document = tmp_path / "diploma.pdf"
    document.write_bytes(b"%PDF-1.7 graduation certificate")
    digest = sm3(document.read_bytes()).hex()
    receipt = json.loads(ok(ledger(settings, "anchor", "--file", document)).stdout)
    assert receipt["digest"] == digest and receipt["key"] == f"file:{digest}"
    assert (receipt["block"], receipt["leaf_index"]) == (1, 0)

    again = ledger(settings, "anchor", "--file", document)
    assert again.returncode == 1 and again.stdout == b""
    assert "anchored already" in one_line(again)

    (tmp_path / "keys.txt").write_bytes(ok(ledger(settings, "keys")).stdout)
    (tmp_path / "old.txt").write_bytes(ok(ledger(settings, "checkpoint")).stdout)
    second = tmp_path / "transcript.pdf"
    second.write_bytes(b"%PDF-1.7 transcript")
    ok(ledger(settings, "anchor", "--file", second, "--key", "transcript:42",
              "--as", "Regulator"))

    proof = json.loads(ok(ledger(settings, "proof", "--index", "0")).stdout)
    assert proof["size"] == 2
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "checkpoint.txt").write_text(proof["checkpoint"])
    (tmp_path / "leaf.bin").write_bytes(base64.b64decode(proof["leaf"]))
    result = ok(ledger(settings, "verify-proof", "--proof", tmp_path / "proof.json",
                       "--checkpoint", tmp_path / "checkpoint.txt",
                       "--leaf", tmp_path / "leaf.bin", "--keys", tmp_path / "keys.txt"))
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is True and verdict["size"] == 2
    assert verdict["entry"]["digest"] == digest
    assert "valid" in one_line(result)

    consistency = ok(ledger(settings, "proof", "--from", "1")).stdout
    (tmp_path / "consistency.json").write_bytes(consistency)
    result = ok(ledger(settings, "verify-proof", "--proof", tmp_path / "consistency.json",
                       "--old-checkpoint", tmp_path / "old.txt",
                       "--keys", tmp_path / "keys.txt"))
    assert json.loads(result.stdout)["kind"] == "consistency"


@pytest.fixture
def proof_files(platform: Platform, tmp_path: Path) -> dict[str, Path]:
    """An inclusion proof of leaf 1 of 3, its leaf and checkpoint, and the pinned keys."""
    channel = open_channel(platform)
    try:
        client = load_organisations(platform)["Province"].role("client")
        for name in ("a", "b", "c"):
            entry = [{"key": f"record:{name}", "digest": sm3(name.encode()).hex()}]
            channel.submit(client, "anchoring", "anchor", canonical_json(entry).decode())
        note = channel.checkpoint()
        proof = channel.inclusion_proof(1, 3).to_json()
        leaf = channel.leaf(1)
        keys = "".join(v.vkey() + "\n" for v in channel.verifiers())
    finally:
        channel.close()
    files = {"proof": tmp_path / "proof.json", "checkpoint": tmp_path / "checkpoint.txt",
             "leaf": tmp_path / "leaf.bin", "keys": tmp_path / "keys.txt"}
    files["proof"].write_text(json.dumps(proof))
    files["checkpoint"].write_bytes(note)
    files["leaf"].write_bytes(leaf)
    files["keys"].write_text(keys)
    return files


def verify(settings: Settings, files: dict[str, Path], *extra: str | Path
           ) -> subprocess.CompletedProcess[bytes]:
    return ledger(settings, "verify-proof", "--proof", files["proof"], "--checkpoint",
                  files["checkpoint"], "--leaf", files["leaf"], "--keys", files["keys"], *extra)


def invalid(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 1, result.stderr.decode()
    assert json.loads(result.stdout)["valid"] is False
    return one_line(result)


def test_tampered_leaf_proof_or_checkpoint_is_invalid(
        settings: Settings, proof_files: dict[str, Path], tmp_path: Path) -> None:
    ok(verify(settings, proof_files))

    leaf = proof_files["leaf"].read_bytes()
    other_leaf = leaf.replace(b'"record:b"', b'"record:x"')
    assert other_leaf != leaf
    result = ledger(settings, "verify-proof", "--proof", proof_files["proof"],
                    "--checkpoint", proof_files["checkpoint"], "--keys", proof_files["keys"],
                    "--leaf-base64", base64.b64encode(other_leaf).decode())
    assert "does not verify" in invalid(result)

    doc = json.loads(proof_files["proof"].read_text())
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**doc, "hashes": [base64.b64encode(leaf_hash(b"x")).decode(),
                                                    *doc["hashes"][1:]]}))
    invalid(verify(settings, {**proof_files, "proof": forged}))

    note = proof_files["checkpoint"].read_bytes()
    text, _, signatures = note.partition(b"\n\n")
    origin, size, _root = text.split(b"\n")
    other_root = base64.b64encode(leaf_hash(b"another tree"))
    tampered = tmp_path / "tampered.txt"
    tampered.write_bytes(b"\n".join([origin, size, other_root]) + b"\n\n" + signatures)
    assert "checkpoint" in invalid(verify(settings, {**proof_files, "checkpoint": tampered}))

    # The same statement signed by a key nobody pinned proves nothing.
    impostor = NoteSigner(origin.decode(), SM2PrivateKey.generate())
    checkpoint = Checkpoint.from_text(SignedNote.parse(note).text)
    tampered.write_bytes(sign_checkpoint(checkpoint, impostor))
    assert "pinned" in invalid(verify(settings, {**proof_files, "checkpoint": tampered}))

    # Pinned witnesses must have cosigned: the log's signature alone is not enough.
    log_only = SignedNote.parse(note)
    tampered.write_bytes(SignedNote(log_only.text, log_only.signatures[:1]).encode())
    invalid(verify(settings, {**proof_files, "checkpoint": tampered}))
    ok(verify(settings, {**proof_files, "checkpoint": tampered}, "--witnesses", "0"))


def test_bad_arguments_and_unreadable_input_exit_2_with_one_line(
        settings: Settings, proof_files: dict[str, Path], tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("not a key\n")
    for args in (["proof", "--index", "1", "--from", "0"], ["proof", "--index", "3"],
                 ["anchor", "--file", tmp_path / "missing.pdf"],
                 ["verify-proof", "--proof", proof_files["proof"]],
                 ["verify-proof", "--proof", proof_files["proof"], "--keys", garbage,
                  "--leaf", proof_files["leaf"]]):
        result = ledger(settings, *args)
        assert result.returncode == 2, (args, result.stderr.decode())
        one_line(result)
        assert result.stdout == b""


def test_audit_passes_then_names_a_tampered_leaf(
        platform: Platform, settings: Settings, proof_files: dict[str, Path]) -> None:
    report = json.loads(ok(ledger(settings, "audit")).stdout)
    assert report["ok"] is True and report["leaves"] == 3
    with platform.engine.begin() as conn:
        conn.execute(update(LeafRow).where(LeafRow.channel_id == CHANNEL,
                                           LeafRow.leaf_index == 1).values(leaf=b"{}"))
    result = ledger(settings, "audit")
    assert result.returncode == 1
    assert json.loads(result.stdout)["ok"] is False
    assert "divergence" in one_line(result)
