"""The bytes an anchoring transaction stores and signs stay the same: golden hashes of
the contract's state records, event, leaves, signed results and envelope for a fixed
batch (recorded before the anchoring path was made faster), and, end to end, every
stored row equal to what the plain document path (``canonical_json`` of ``to_doc``)
gives, with the audit agreeing. A tampered envelope is still refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from crypto.sm3 import sm3
from ledger.audit import audit_channel
from ledger.block import data_hash
from ledger.canonical import canonical_json, parse_canonical
from ledger.contract import Context, Creator, KeyModification, SimulationStub, StateEntry
from ledger.contracts.anchoring import AnchoringContract
from ledger.leaves import LEAF_MEMBERS, leaves_from_event
from ledger.storage.sql import LeafRow, StateRow, TransactionRow
from ledger.tx import (
    Endorsement,
    Proposal,
    ProposalResults,
    Response,
    Transaction,
    Version,
)
from ledger.validation import ValidationCode
from records.anchoring import AnchorRequest, entries_json
from tests.ledger.network import Network

_AT = dt.datetime(2026, 11, 28, 15, 0, 0, 123456, tzinfo=dt.UTC)
_CREATOR = Creator("School", "client", b"\x30\x82certificate")


def _requests(count: int) -> list[AnchorRequest]:
    """A fixed batch shaped as the records import anchors it, with a few unusual
    entries (empty and non-ASCII metadata, an amendment naming its previous digest)."""
    requests = []
    for i in range(count):
        key = f"record:{uuid.UUID(int=i * 7919 + 1)}"
        metadata: dict[str, Any] = {
            "type": "archive_entry", "schema": "urn:edutrust:schema:archive_entry:1",
            "schema_version": 1, "record_version": 1, "lifecycle": sm3(b"l%d" % i).hex()}
        if i == 3:
            metadata = {}
        if i == 5:
            metadata = {"type": "lifecycle", "seq": 2, "to": "已撤销", "flag": True,
                        "none": None}
        previous = sm3(b"prev").hex() if i == 7 else None
        requests.append(AnchorRequest(key, sm3(b"d%d" % i).hex(), 2 if previous else 1,
                                      metadata, previous))
    return requests


class _State:
    """Committed state holding version 1 of the amended key (entry 7)."""

    def __init__(self, requests: list[AnchorRequest]) -> None:
        amended = requests[7]
        self.rows = {amended.key: StateEntry(canonical_json({
            "key": amended.key, "digest": sm3(b"prev").hex(), "version": 1,
            "msp_id": "School", "metadata": {}, "previous": None, "tx_id": "00" * 32,
            "timestamp": "2026-01-01T00:00:00.000000Z"}), Version(3, 0))}

    def get(self, key: str) -> StateEntry | None:
        return self.rows.get(key)

    def get_many(self, keys: list[str]) -> dict[str, StateEntry]:
        return {k: self.rows[k] for k in keys if k in self.rows}

    def range(self, start: str, end: str) -> list[tuple[str, StateEntry]]:
        return []

    def history(self, key: str) -> list[KeyModification]:
        return []


def _fixed_transaction() -> tuple[list[AnchorRequest], str, SimulationStub, Transaction]:
    requests = _requests(40)
    entries = entries_json(requests)
    proposal = Proposal("archives", "anchoring", "anchor", (entries,), _CREATOR.certificate_der,
                        bytes(range(24)), _AT)
    stub = SimulationStub(_State(requests), proposal.tx_id, _CREATOR, _AT)
    payload = AnchoringContract().anchor(Context(stub), entries)
    results = ProposalResults(sm3(proposal.signed_bytes()), stub.rwset(),
                              Response(200, "", payload), stub.event)
    tx = Transaction(proposal, b"\x30signature", results,
                     (Endorsement(b"\x30endorser-a", b"\x30sig-a"),
                      Endorsement(b"\x30endorser-b", b"\x30sig-b")))
    return requests, entries, stub, tx


def _sha(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


# Recorded with the code before the anchoring path was reworked for speed.
GOLDEN = {
    "entries": "b78cdda1a6ba2adb0fa0dcebfd74980ff67086dcf97b43dffa9e7722e7a4773b",
    "writes": "f24ec0cfa948ee29c67300772bf595b07581eb42407d7237597c1646e9db68b2",
    "event": "615bf3ef5257b91c03bfe8e83e66c820bd1f4c171007c33366307dfa64c26c95",
    "results": "347ad2953669a90986065ea39767f2a121f86975784560861b0d9be7f4d03430",
    "leaves": "b4fb2a8a39b882b7a44bbf27a4eb67d5b208081e534c0ac83d0cbbfa603ae87a",
    "envelope": "c4704018a6de950345065bda05ed57df725e9749f5a890f14dca97ba988a6447",
}


def test_anchoring_bytes_match_the_recorded_golden_hashes() -> None:
    _, entries, stub, tx = _fixed_transaction()
    writes = [k.encode() + b"=" + (v or b"") for k, v in tx.results.rwset.writes]
    assert stub.event is not None
    leaves = leaves_from_event("archives", tx.tx_id, stub.event)
    observed = {
        "entries": _sha(entries.encode()),
        "writes": _sha(*writes),
        "event": _sha(stub.event.payload),
        "results": _sha(tx.results.signed_bytes()),
        "leaves": _sha(*leaves),
        "envelope": _sha(tx.encode()),
    }
    assert observed == GOLDEN


def test_anchoring_bytes_equal_the_document_path() -> None:
    requests, entries, stub, tx = _fixed_transaction()
    assert entries == canonical_json([r.entry() for r in requests]).decode()
    results = tx.results
    assert results.signed_bytes() == canonical_json(results.to_doc())
    assert tx.encode() == canonical_json(tx.to_doc())
    decoded = Transaction.decode(tx.encode())
    assert decoded == tx
    assert decoded.results.signed_bytes() == results.signed_bytes()
    assert stub.event is not None
    event = parse_canonical(stub.event.payload)
    assert canonical_json(event) == stub.event.payload
    assert leaves_from_event("archives", tx.tx_id, stub.event) == [
        canonical_json({"channel": "archives", "tx_id": tx.tx_id,
                        **{name: e[name] for name in LEAF_MEMBERS[2:]}})
        for e in event["entries"]]
    records = dict(results.rwset.writes)
    for e in event["entries"]:
        record = dict(e, tx_id=tx.tx_id, timestamp="2026-11-28T15:00:00.123456Z")
        assert records[e["key"]] == canonical_json(record)


def _stored(net: Network) -> dict[str, Any]:
    from sqlalchemy import select

    with net.engine.connect() as conn:
        return {
            "transactions": conn.execute(select(
                TransactionRow.block, TransactionRow.tx_num, TransactionRow.tx_id,
                TransactionRow.envelope, TransactionRow.code).order_by(
                TransactionRow.block, TransactionRow.tx_num)).all(),
            "state": dict(conn.execute(select(StateRow.key, StateRow.value)).all()),
            "leaves": [bytes(v) for v in conn.scalars(select(LeafRow.leaf).order_by(
                LeafRow.leaf_index))],
        }


def test_committed_rows_are_the_document_path_bytes_and_the_audit_agrees(
        net: Network) -> None:
    client = net.orgs["School"].role("client")
    requests = _requests(25)
    # Version 1 of the key entry 7 amends.
    net.channel.submit(client, "anchoring", "anchor", canonical_json(
        [{"key": requests[7].key, "digest": sm3(b"prev").hex()}]).decode())
    entries = entries_json(requests)
    assert entries == canonical_json([r.entry() for r in requests]).decode()
    receipt = net.channel.submit(client, "anchoring", "anchor", entries)
    assert receipt.code == "VALID" and receipt.leaf_count == 25
    stored = _stored(net)
    row = stored["transactions"][-1]
    envelope = bytes(row.envelope)
    tx = Transaction.decode(envelope)
    assert envelope == canonical_json(tx.to_doc())
    assert tx.proposal.args == (entries,)
    block = net.channel.block(row.block)
    assert block.header.encode() == canonical_json(block.header.to_doc())
    assert block.header.data_hash == data_hash([envelope])
    assert tx.results.event is not None
    event = parse_canonical(tx.results.event.payload)
    expected_leaves = [canonical_json({"channel": "archives", "tx_id": tx.tx_id,
                                       **{name: e[name] for name in LEAF_MEMBERS[2:]}})
                       for e in event["entries"]]
    assert stored["leaves"][-25:] == expected_leaves
    for key, value in tx.results.rwset.writes:
        assert bytes(stored["state"][key]) == value
    report = audit_channel(net.store, "archives", ["anchoring"])
    assert report.ok, report.divergence


def test_a_tampered_envelope_of_an_endorsed_transaction_is_refused(net: Network) -> None:
    client = net.orgs["School"].role("client")
    entries = canonical_json([r.entry() for r in _requests(3)]).decode()
    tx = net.channel.endorse(client, "anchoring", "anchor", entries)
    envelope = tx.encode()
    # The same transaction with one written record altered (still canonical JSON).
    key, value = tx.results.rwset.writes[0]
    altered = value.replace(b'"version":1', b'"version":9')
    assert altered != value
    forged = Transaction(tx.proposal, tx.signature, ProposalResults(
        tx.results.proposal_hash,
        type(tx.results.rwset)(tx.results.rwset.reads, (),
                               ((key, altered), *tx.results.rwset.writes[1:])),
        tx.results.response, tx.results.event), tx.endorsements).encode()
    assert forged != envelope
    # The genuine transaction is what this process encoded; the stored bytes are not.
    receipts = _submit_bytes(net, tx, forged)
    assert receipts.code == ValidationCode.ENDORSEMENT_POLICY_FAILURE.value
    assert net.channel.state("anchoring", key) is None
    report = audit_channel(net.store, "archives", ["anchoring"])
    assert report.ok, report.divergence


def _submit_bytes(net: Network, tx: Transaction, envelope: bytes) -> Any:
    """Order ``envelope`` under ``tx``'s id as if this process had submitted ``tx``."""
    remember = getattr(net.channel, "_remember_encoded", None)
    if remember is not None:
        remember(tx, tx.encode())
    net.store.enqueue("archives", tx.tx_id, envelope)
    return net.channel.wait([tx.tx_id], 30)[tx.tx_id]
