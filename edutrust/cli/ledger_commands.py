"""``edutrust ledger ...``: create the embedded ledger, anchor files, fetch proofs and
checkpoints, verify them offline against pinned keys, and audit the chain from genesis.

Exit codes follow the rest of the CLI: 0 success; 1 a negative answer (already anchored,
proof or checkpoint invalid, audit divergence); 2 usage or unreadable input.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from crypto.sm3 import sm3
from edutrust import i18n
from edutrust.cli.common import (
    CliError,
    NegativeAnswer,
    emit_json,
    open_initialised_platform,
    read_file,
    say,
    write_file,
)
from edutrust.ledger_setup import (
    CHANNEL,
    ORGANISATIONS,
    contracts,
    initialise_ledger,
    load_organisations,
    open_channel,
)
from edutrust.platform import Platform
from edutrust.settings import language_from_env
from ledger.audit import audit_channel
from ledger.canonical import CanonicalJSONError, canonical_json, parse_canonical
from ledger.channel import Channel, TransactionRejected
from ledger.checkpoint import (
    Checkpoint,
    NoteVerifier,
    SignatureKind,
    SignedNote,
    VerifiedCheckpoint,
    WitnessPolicy,
    verify_checkpoint,
)
from ledger.contract import ContractError, check_key
from ledger.errors import InvalidProof, LedgerError, TreeRangeError
from ledger.leaves import parse_leaf
from ledger.merkle import MAX_TREE_SIZE, ConsistencyProof, InclusionProof, leaf_hash

CONTRACT = "anchoring"
MSP_IDS = [msp_id for msp_id, _, _ in ORGANISATIONS]
DEFAULT_SUBMITTER = "Province"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _platform() -> Platform:
    return open_initialised_platform("ledger.error")


@contextmanager
def _channel() -> Iterator[tuple[Platform, Channel]]:
    """The platform's channel; ledger errors nobody handled become exit 2."""
    platform = _platform()
    try:
        try:
            channel = open_channel(platform)
        except LedgerError:
            raise CliError("ledger.not_initialised") from None
        try:
            if not channel.store.channel_exists(CHANNEL):
                raise CliError("ledger.not_initialised")
            yield platform, channel
        except LedgerError as exc:
            raise CliError("ledger.error", reason=exc) from None
        finally:
            channel.close()
    finally:
        platform.engine.dispose()


@click.group()
def ledger() -> None:
    """The embedded ledger: anchoring, proofs, checkpoints, offline verification, audit."""


@ledger.command("init")
def init_ledger() -> None:
    """Create the ledger's organisations and genesis block (after ``edutrust init``).
    Safe to run again: an existing channel is left unchanged."""
    platform = _platform()
    try:
        created = initialise_ledger(platform, say)
    except LedgerError as exc:
        raise CliError("ledger.error", reason=exc) from None
    finally:
        platform.engine.dispose()
    with _channel() as (_, channel):
        emit_json({"channel": CHANNEL, "origin": channel.config().origin, "created": created})


@ledger.command()
def status() -> None:
    """Height, tree size and root, last block hash, pending transactions (JSON)."""
    with _channel() as (_, channel):
        emit_json(channel.status())


@ledger.command()
@click.option("--file", "path", required=True, help="the file whose SM3 digest is anchored")
@click.option("--key", "entry_key", default=None, help='entry key (default "file:<sm3 hex>")')
@click.option("--as", "msp_id", type=click.Choice(MSP_IDS), default=DEFAULT_SUBMITTER,
              show_default=True, help="the organisation whose client submits")
def anchor(path: str, entry_key: str | None, msp_id: str) -> None:
    """Anchor a file's SM3 digest through the anchoring contract (JSON receipt)."""
    digest = sm3(read_file(path)).hex()
    key = f"file:{digest}" if entry_key is None else entry_key
    try:
        check_key(key)
    except ContractError as exc:
        raise CliError("ledger.bad_key", reason=exc) from None
    with _channel() as (platform, channel):
        current = channel.state(CONTRACT, key)
        if current is not None:
            record = parse_canonical(current)
            raise NegativeAnswer("ledger.already_anchored", entry=key,
                                 version=record["version"], digest=record["digest"])
        client = load_organisations(platform)[msp_id].role("client")
        entries = canonical_json([{"key": key, "digest": digest}]).decode()
        try:
            receipt = channel.submit(client, CONTRACT, "anchor", entries)
        except (ContractError, TransactionRejected) as exc:
            raise NegativeAnswer("ledger.refused", reason=exc) from None
    say("ledger.anchored", entry=key, digest=digest, block=receipt.block,
        leaf_index=receipt.leaf_start)
    emit_json({"tx_id": receipt.tx_id, "block": receipt.block,
               "leaf_index": receipt.leaf_start, "digest": digest, "key": key})


_SIZE = click.IntRange(0, MAX_TREE_SIZE)


@ledger.command()
@click.option("--index", type=_SIZE, default=None, help="leaf to prove included")
@click.option("--size", type=_SIZE, default=None,
              help="tree size to prove against (default: the current checkpoint's)")
@click.option("--from", "first", type=_SIZE, default=None,
              help="older tree size of a consistency proof")
@click.option("--to", "second", type=_SIZE, default=None,
              help="newer tree size (default: the current checkpoint's)")
def proof(index: int | None, size: int | None, first: int | None,
          second: int | None) -> None:
    """An inclusion proof (with the leaf) or a consistency proof, each with the current
    signed checkpoint, as one JSON document."""
    inclusion = index is not None
    if inclusion == (first is not None) or (second if inclusion else size) is not None:
        raise CliError("ledger.proof_options")
    with _channel() as (_, channel):
        note = channel.checkpoint()
        current = _checkpoint_size(note)
        target = (size if inclusion else second)
        target = current if target is None else target
        if target != current:
            say("ledger.size_mismatch", proof_size=target, checkpoint_size=current)
        try:
            if index is not None:
                found = channel.inclusion_proof(index, target)
                leaf = channel.leaf(index)
                doc: dict[str, Any] = {**found.to_json(), "leaf": _b64(leaf),
                                       "leaf_hash": _b64(leaf_hash(leaf))}
            else:
                assert first is not None
                doc = channel.consistency_proof(first, target).to_json()
        except TreeRangeError as exc:
            raise CliError("ledger.out_of_range", tree_size=channel.tree_size(),
                           reason=exc) from None
    doc["checkpoint"] = note.decode()
    emit_json(doc)


def _checkpoint_size(note: bytes) -> int:
    return Checkpoint.from_text(SignedNote.parse(note).text).size


@ledger.command()
def checkpoint() -> None:
    """The latest signed, cosigned checkpoint note (text) on stdout."""
    with _channel() as (_, channel):
        note = channel.checkpoint()
    write_file("-", note)


@ledger.command()
def keys() -> None:
    """The log's and the witnesses' verifier keys, one per line, to pin for verify-proof."""
    with _channel() as (_, channel):
        lines = "".join(v.vkey() + "\n" for v in channel.verifiers())
    write_file("-", lines.encode())


# -- offline verification -----------------------------------------------------------------

class _Invalid(Exception):
    """Verification failed (exit 1); ``key`` names the catalog message saying why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key, self.values = key, values

    def reason(self) -> str:
        return i18n.translate(self.key, language_from_env(), **self.values)


def _load_keys(path: str) -> tuple[list[NoteVerifier], list[NoteVerifier]]:
    """(log keys, witness keys) from a file of signed-note verifier keys, one per line."""
    try:
        text = read_file(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError("ledger.bad_keys_file", path=path, reason=exc.reason) from None
    verifiers: list[NoteVerifier] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            verifier = NoteVerifier.from_vkey(line)
        except LedgerError as exc:
            raise CliError("ledger.bad_keys_file", path=path, reason=exc) from None
        if verifier not in verifiers:
            verifiers.append(verifier)
    logs = [v for v in verifiers if v.kind is SignatureKind.NOTE]
    if not logs:
        raise CliError("ledger.no_log_key", path=path)
    return logs, [v for v in verifiers if v.kind is SignatureKind.COSIGNATURE]


def _verify_note(note: bytes, logs: list[NoteVerifier],
                 policy: WitnessPolicy | None) -> VerifiedCheckpoint:
    try:
        parsed = SignedNote.parse(note)
        pinned = [k for k in logs if any(k.matches(s) for s in parsed.signatures)]
        if not pinned:
            raise _Invalid("ledger.invalid_unpinned")
        return verify_checkpoint(note, pinned[0], policy=policy)
    except LedgerError as exc:
        raise _Invalid("ledger.invalid_checkpoint", reason=exc) from None


def _note_from(path: str | None, embedded: object, option: str) -> bytes:
    if path is not None:
        return read_file(path)
    if isinstance(embedded, str):
        return embedded.encode("utf-8")
    raise CliError("ledger.checkpoint_missing", option=option)


def _leaf_from(path: str | None, text: str | None, embedded: object) -> bytes:
    if path is not None and text is not None:
        raise CliError("ledger.leaf_options")
    if path is not None:
        return read_file(path)
    if text is not None:
        try:
            return base64.b64decode(text.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error):
            raise CliError("ledger.bad_leaf_base64") from None
    if isinstance(embedded, str):
        try:
            return base64.b64decode(embedded.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error):
            raise _Invalid("ledger.invalid_leaf") from None
    raise CliError("ledger.leaf_options")


def _entry(leaf: bytes) -> dict[str, Any] | None:
    try:
        return parse_leaf(leaf)
    except (LedgerError, CanonicalJSONError):
        return None


@ledger.command("verify-proof")
@click.option("--proof", "proof_path", required=True,
              help="inclusion or consistency proof JSON (as `ledger proof` or HTTP serve it)")
@click.option("--checkpoint", "checkpoint_path", default=None,
              help="signed checkpoint note (default: the one inside the proof document)")
@click.option("--leaf", "leaf_path", default=None, help="file holding the exact leaf bytes")
@click.option("--leaf-base64", "leaf_b64", default=None, help="the leaf bytes in base64")
@click.option("--old-checkpoint", "old_path", default=None,
              help="for a consistency proof: the older checkpoint you already trust")
@click.option("--keys", "keys_path", required=True,
              help="pinned verifier keys, one per line (as /ledger/v1/keys serves them)")
@click.option("--witnesses", "threshold", type=click.IntRange(min=0), default=None,
              help="witness cosignatures required (default: every witness key in --keys)")
def verify_proof(proof_path: str, checkpoint_path: str | None, leaf_path: str | None,
                 leaf_b64: str | None, old_path: str | None, keys_path: str,
                 threshold: int | None) -> None:
    """Verify a proof offline against a checkpoint signed by the pinned log key and
    cosigned by the pinned witnesses: exit 0 valid, 1 invalid."""
    try:
        doc = json.loads(read_file(proof_path))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CliError("ledger.bad_proof_file", path=proof_path, reason=exc) from None
    if not isinstance(doc, dict) or not ({"index", "from"} & set(doc)):
        raise CliError("ledger.bad_proof_file", path=proof_path,
                       reason='neither "index" nor "from" is present')
    logs, witnesses = _load_keys(keys_path)
    required = len(witnesses) if threshold is None else threshold
    if required > len(witnesses):
        raise CliError("ledger.bad_witness_count", count=required, available=len(witnesses))
    try:
        policy = WitnessPolicy(tuple(witnesses), required)
    except LedgerError as exc:  # e.g. two witness keys with one name
        raise CliError("ledger.bad_keys_file", path=keys_path, reason=exc) from None
    note = _note_from(checkpoint_path, doc.get("checkpoint"), "--checkpoint")
    try:
        if "index" in doc:
            leaf = _leaf_from(leaf_path, leaf_b64, doc.get("leaf"))
            result = _verify_inclusion(doc, note, leaf, logs, policy)
        else:
            old = _note_from(old_path, None, "--old-checkpoint")
            result = _verify_consistency(doc, note, old, logs, policy)
    except _Invalid as exc:
        emit_json({"valid": False, "error": exc.key.removeprefix("ledger.invalid_"),
                   "reason": exc.reason()})
        raise NegativeAnswer("ledger.proof_invalid", reason=exc.reason()) from None
    emit_json(result)


def _witness_list(verified: VerifiedCheckpoint) -> str:
    return ", ".join(sorted(verified.cosigners)) or "-"


def _verify_inclusion(doc: dict[str, Any], note: bytes, leaf: bytes,
                      logs: list[NoteVerifier], policy: WitnessPolicy) -> dict[str, Any]:
    verified = _verify_note(note, logs, policy)
    checkpoint = verified.checkpoint
    try:
        found = InclusionProof.from_json(doc)
        if found.size != checkpoint.size:
            raise _Invalid("ledger.invalid_size", proof_size=found.size,
                           checkpoint_size=checkpoint.size)
        found.verify(leaf_hash(leaf), checkpoint.root_hash)
    except InvalidProof as exc:
        raise _Invalid("ledger.invalid_proof", reason=exc) from None
    say("ledger.proof_valid", index=found.index, size=found.size, origin=checkpoint.origin,
        witnesses=_witness_list(verified))
    return {"valid": True, "kind": "inclusion", "origin": checkpoint.origin,
            "index": found.index, "size": found.size, "root": _b64(checkpoint.root_hash),
            "leaf_hash": _b64(leaf_hash(leaf)), "cosigners": dict(verified.cosigners),
            "entry": _entry(leaf)}


def _verify_consistency(doc: dict[str, Any], note: bytes, old: bytes,
                        logs: list[NoteVerifier], policy: WitnessPolicy) -> dict[str, Any]:
    verified = _verify_note(note, logs, policy)
    # The older checkpoint is one the verifier already trusts; its log signature suffices.
    previous = _verify_note(old, logs, None).checkpoint
    checkpoint = verified.checkpoint
    try:
        found = ConsistencyProof.from_json(doc)
        if (found.first, found.second) != (previous.size, checkpoint.size):
            raise _Invalid("ledger.invalid_sizes", first=found.first, second=found.second,
                           old_size=previous.size, new_size=checkpoint.size)
        if previous.origin != checkpoint.origin:
            raise _Invalid("ledger.invalid_origins")
        found.verify(previous.root_hash, checkpoint.root_hash)
    except InvalidProof as exc:
        raise _Invalid("ledger.invalid_proof", reason=exc) from None
    say("ledger.consistency_valid", first=found.first, second=found.second,
        origin=checkpoint.origin, witnesses=_witness_list(verified))
    return {"valid": True, "kind": "consistency", "origin": checkpoint.origin,
            "from": found.first, "to": found.second, "old_root": _b64(previous.root_hash),
            "root": _b64(checkpoint.root_hash), "cosigners": dict(verified.cosigners)}


# -- audit ---------------------------------------------------------------------------------

@ledger.command()
def audit() -> None:
    """Replay the channel from genesis, recomputing every hash, signature, proof and state
    value; exit 1 naming the first divergence."""
    with _channel() as (_, channel):
        report = audit_channel(channel.store, CHANNEL, [c.name for c in contracts()])
    emit_json(report.to_doc())
    if not report.ok:
        raise NegativeAnswer("ledger.audit_divergence", divergence=report.divergence)
    say("ledger.audit_ok", blocks=report.blocks, transactions=report.transactions,
        leaves=report.leaves, checkpoints=report.checkpoints)
