"""``ledger audit``: replaying a channel from genesis rebuilds world state, the key history
and the Merkle log from the blocks and matches what is stored; altering any stored row
(block, transaction, state, history, leaf, node, checkpoint, channel) is reported, naming
where the replay and the store part."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, delete, insert, select, text

from crypto.sm3 import sm3
from ledger.audit import AuditReport, audit_channel
from ledger.block import BlockHeader
from ledger.canonical import canonical_json
from ledger.channel import TransactionRejected
from ledger.config import BatchParameters
from ledger.storage.sql import LedgerBase
from ledger.tx import Transaction
from tests.conftest import PG_URL
from tests.ledger.network import Network, build_network

CHANNEL = "archives"


def digest(label: str) -> str:
    return sm3(label.encode()).hex()


def anchor_args(*entries: dict[str, Any]) -> str:
    return canonical_json(list(entries)).decode()


@dataclass
class Ledger:
    """A populated channel and where things landed in it."""

    net: Network
    conflict_block: int       # VALID then MVCC_READ_CONFLICT
    policy_failure_block: int  # ENDORSEMENT_POLICY_FAILURE then VALID
    config_block: int         # an applied configuration update
    rejected_config_block: int
    last_block: int


def populate(net: Network) -> Ledger:
    """Blocks of every kind: a batch, an MVCC conflict, a policy failure beside a valid
    transaction, a configuration update, a new version, a rejected configuration update,
    two checkpoints."""
    channel = net.channel
    school = net.orgs["School"].role("client")
    admins = [net.orgs["Ministry"].role("admin"), net.orgs["School"].role("admin")]

    def endorse(*entries: dict[str, Any]) -> Transaction:
        return channel.endorse(school, "anchoring", "anchor", anchor_args(*entries))

    channel.submit(school, "anchoring", "anchor", anchor_args(
        {"key": "a", "digest": digest("a1"), "metadata": {"kind": "transcript"}},
        {"key": "b", "digest": digest("b1")}, {"key": "c", "digest": digest("c1")}))
    first, second = endorse({"key": "d", "digest": digest("d1")}), \
        endorse({"key": "d", "digest": digest("d2")})
    conflict = channel.submit_endorsed([first, second])
    assert [conflict[t.tx_id].code for t in (first, second)] == ["VALID", "MVCC_READ_CONFLICT"]
    weak = endorse({"key": "x", "digest": digest("x1")})
    weak = dataclasses.replace(weak, endorsements=weak.endorsements[:1])
    fine = endorse({"key": "e", "digest": digest("e1")})
    mixed = channel.submit_endorsed([weak, fine])
    assert [mixed[t.tx_id].code for t in (weak, fine)] == ["ENDORSEMENT_POLICY_FAILURE",
                                                           "VALID"]
    config = channel.update_config(
        channel.config().next(batch=BatchParameters(max_count=40, timeout_ms=5)), admins)
    channel.submit(school, "anchoring", "anchor", anchor_args(
        {"key": "a", "digest": digest("a2"), "previous": digest("a1")}))
    with pytest.raises(TransactionRejected) as rejected:
        channel.update_config(channel.config().next(), admins[:1])
    channel.checkpoint()
    last = channel.submit(school, "anchoring", "anchor", anchor_args(
        {"key": "f", "digest": digest("f1")}, {"key": "g", "digest": digest("g1")}))
    channel.checkpoint()
    return Ledger(net, conflict[first.tx_id].block, mixed[weak.tx_id].block, config.block,
                  rejected.value.receipt.block, last.block)


@pytest.fixture(scope="module")
def module_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database for the whole module, SQLite or a fresh PostgreSQL schema (as the
    suite's ``database_url``): populating a ledger costs more than restoring its rows."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('audit') / 'ledger.db'}"
        return
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


Rows = dict[str, list[dict[str, Any]]]


def save_rows(engine: Engine) -> Rows:
    with engine.connect() as conn:
        return {name: [dict(r) for r in conn.execute(select(table)).mappings()]
                for name, table in LedgerBase.metadata.tables.items()}


def restore_rows(engine: Engine, rows: Rows) -> None:
    with engine.begin() as conn:
        for name, table in LedgerBase.metadata.tables.items():
            conn.execute(delete(table))
            if rows[name]:
                conn.execute(insert(table), rows[name])


@pytest.fixture(scope="module")
def populated(module_database_url: str) -> Iterator[tuple[Ledger, Rows]]:
    net = build_network(module_database_url)
    ledger = populate(net)
    net.channel.close()
    yield ledger, save_rows(net.engine)
    net.engine.dispose()


@pytest.fixture
def ledger(populated: tuple[Ledger, Rows]) -> Iterator[Ledger]:
    """The populated ledger with a fresh channel handle (no caches from other tests);
    every row is put back afterwards, whatever the test altered."""
    base, rows = populated
    channel = base.net.open_channel()
    yield dataclasses.replace(base, net=dataclasses.replace(base.net, channel=channel))
    channel.close()
    restore_rows(base.net.engine, rows)


def audit(ledger: Ledger) -> AuditReport:
    return audit_channel(ledger.net.store, CHANNEL, ["anchoring"])


def execute(ledger: Ledger, sql: str, **params: Any) -> None:
    with ledger.net.engine.begin() as conn:
        result = conn.execute(text(sql), {"channel": CHANNEL, **params})
        assert result.rowcount == 1, f"expected to alter one row: {sql}"


def fetch(ledger: Ledger, sql: str, **params: Any) -> Any:
    with ledger.net.engine.connect() as conn:
        row = conn.execute(text(sql), {"channel": CHANNEL, **params}).first()
    assert row is not None
    return row[0] if len(row) == 1 else row


def flip(data: bytes, position: int = -1) -> bytes:
    raw = bytearray(data)
    raw[position] ^= 0x01
    return bytes(raw)


def assert_divergence(ledger: Ledger, *fragments: str) -> None:
    report = audit(ledger)
    assert not report.ok, "the audit missed the alteration"
    assert report.divergence is not None
    for fragment in fragments:
        assert fragment in report.divergence, report.divergence


# --------------------------------------------------------------------------- a clean ledger


def test_untouched_ledger_audits_clean(ledger: Ledger) -> None:
    report = audit(ledger)
    assert report.ok, report.divergence
    status = ledger.net.channel.status()
    assert report.blocks == status["height"] == ledger.last_block + 1
    assert report.leaves == status["tree_size"] == 8
    assert report.checkpoints == 2
    codes = [c for n in range(report.blocks) for c in ledger.net.channel.block(n).header.codes]
    assert report.transactions == len(codes)
    assert {"MVCC_READ_CONFLICT", "ENDORSEMENT_POLICY_FAILURE"} <= set(codes)
    assert codes.count("VALID") < len(codes) - 2


def test_replayed_state_and_history_equal_the_stored_ones(ledger: Ledger) -> None:
    # The audit rebuilds world state and the key history from the blocks alone and
    # compares them row by row; a clean report means the rebuild equals the store.
    assert audit(ledger).ok
    history = ledger.net.channel.history("anchoring", "a")
    assert [h.version.block for h in history] == sorted(h.version.block for h in history)
    assert len(history) == 2
    assert ledger.net.channel.state("anchoring", "x") is None


def test_audit_names_a_channel_that_does_not_exist(ledger: Ledger) -> None:
    report = audit_channel(ledger.net.store, "nowhere", ["anchoring"])
    assert not report.ok and "nowhere" in (report.divergence or "")


def test_audit_stays_clean_while_the_ledger_grows(ledger: Ledger) -> None:
    channel = ledger.net.channel
    school = ledger.net.orgs["School"].role("client")
    for i in range(3):
        channel.submit(school, "anchoring", "anchor",
                       anchor_args({"key": f"more/{i}", "digest": digest(str(i))}))
        assert audit(ledger).ok


def test_resubmitted_invalid_transaction_audits_as_duplicate(ledger: Ledger) -> None:
    channel = ledger.net.channel
    block = channel.block(ledger.policy_failure_block)
    invalid = block.envelopes[0]
    tx_id = Transaction.decode(invalid).tx_id
    ledger.net.store.enqueue(CHANNEL, tx_id, invalid)
    number = channel.cut_block()
    assert number is not None
    assert channel.block(number).header.codes == ("DUPLICATE_TXID",)
    report = audit(ledger)
    assert report.ok, report.divergence


def test_resubmitted_configuration_transaction_audits_as_duplicate(ledger: Ledger) -> None:
    channel = ledger.net.channel
    envelope = channel.block(0).envelopes[0]
    # Bypass Channel.submit_endorsed (which refuses configuration transactions): the
    # committer must still mark a replayed genesis transaction as a duplicate.
    ledger.net.store.enqueue(CHANNEL, Transaction.decode(envelope).tx_id, envelope,
                             config_tx=True)
    number = channel.cut_block()
    assert number is not None
    assert channel.block(number).header.codes == ("DUPLICATE_TXID",)
    report = audit(ledger)
    assert report.ok, report.divergence


# --------------------------------------------------------------------------- blocks


def test_altered_block_header_is_detected(ledger: Ledger) -> None:
    n = ledger.conflict_block
    header = fetch(ledger, "SELECT header FROM ledger_blocks WHERE channel_id = :channel "
                   "AND number = :n", n=n)
    altered = bytes(header).replace(b'"MVCC_READ_CONFLICT"', b'"VALID"')
    assert altered != bytes(header)
    execute(ledger, "UPDATE ledger_blocks SET header = :h WHERE channel_id = :channel "
            "AND number = :n", h=altered, n=n)
    assert_divergence(ledger, f"block {n}")


def test_block_header_rewritten_with_a_matching_hash_fails_the_orderer_signature(
        ledger: Ledger) -> None:
    n = ledger.conflict_block
    header = bytes(fetch(ledger, "SELECT header FROM ledger_blocks WHERE "
                         "channel_id = :channel AND number = :n", n=n))
    decoded = BlockHeader.decode(header)
    later = dataclasses.replace(decoded, timestamp=decoded.timestamp + dt.timedelta(seconds=1))
    altered = later.encode()
    execute(ledger, "UPDATE ledger_blocks SET header = :h, hash = :hash WHERE "
            "channel_id = :channel AND number = :n", h=altered, hash=sm3(altered), n=n)
    assert_divergence(ledger, f"block {n}", "signature")


def test_block_header_respelled_without_changing_its_meaning_is_detected(
        ledger: Ledger) -> None:
    n = ledger.conflict_block
    header = bytes(fetch(ledger, "SELECT header FROM ledger_blocks WHERE "
                         "channel_id = :channel AND number = :n", n=n))
    respelled = header.replace(f'"number":{n},'.encode(), f'"number":"{n}",'.encode())
    assert respelled != header
    execute(ledger, "UPDATE ledger_blocks SET header = :h WHERE channel_id = :channel "
            "AND number = :n", h=respelled, n=n)
    assert_divergence(ledger, f"block {n}")


def test_altered_block_hash_is_detected(ledger: Ledger) -> None:
    n = ledger.config_block
    execute(ledger, "UPDATE ledger_blocks SET hash = :h WHERE channel_id = :channel "
            "AND number = :n", h=bytes(32), n=n)
    assert_divergence(ledger, f"block {n}", "hash")


def test_altered_block_signature_is_detected(ledger: Ledger) -> None:
    n = ledger.policy_failure_block
    signature = fetch(ledger, "SELECT signature FROM ledger_blocks WHERE "
                      "channel_id = :channel AND number = :n", n=n)
    execute(ledger, "UPDATE ledger_blocks SET signature = :s WHERE channel_id = :channel "
            "AND number = :n", s=flip(bytes(signature)), n=n)
    assert_divergence(ledger, f"block {n}", "signature")


def test_block_signed_by_an_identity_other_than_the_orderer_is_detected(
        ledger: Ledger) -> None:
    n = ledger.last_block
    impostor = ledger.net.orgs["Ministry"].role("admin")
    header = bytes(fetch(ledger, "SELECT header FROM ledger_blocks WHERE "
                         "channel_id = :channel AND number = :n", n=n))
    execute(ledger, "UPDATE ledger_blocks SET signature = :s, signer = :c WHERE "
            "channel_id = :channel AND number = :n", s=impostor.sign(header),
            c=impostor.identity.id_bytes, n=n)
    assert_divergence(ledger, f"block {n}", "orderer")


def test_deleted_block_is_detected(ledger: Ledger) -> None:
    n = ledger.config_block
    execute(ledger, "DELETE FROM ledger_blocks WHERE channel_id = :channel AND number = :n",
            n=n)
    assert_divergence(ledger, f"block {n}")


# --------------------------------------------------------------------------- transactions


def test_altered_transaction_envelope_is_detected(ledger: Ledger) -> None:
    n = ledger.conflict_block
    envelope = bytes(fetch(ledger, "SELECT envelope FROM ledger_transactions WHERE "
                           "channel_id = :channel AND block = :n AND tx_num = 1", n=n))
    altered = envelope.replace(digest("d2").encode(), digest("d3").encode())
    assert altered != envelope
    execute(ledger, "UPDATE ledger_transactions SET envelope = :e WHERE channel_id = :channel "
            "AND block = :n AND tx_num = 1", e=altered, n=n)
    assert_divergence(ledger, f"block {n}", "data hash")


def test_altered_validation_code_is_detected(ledger: Ledger) -> None:
    n = ledger.conflict_block
    execute(ledger, "UPDATE ledger_transactions SET code = 'VALID' WHERE "
            "channel_id = :channel AND block = :n AND tx_num = 1", n=n)
    assert_divergence(ledger, f"block {n}", "code")


def test_deleted_transaction_row_is_detected(ledger: Ledger) -> None:
    n = ledger.policy_failure_block
    execute(ledger, "DELETE FROM ledger_transactions WHERE channel_id = :channel "
            "AND block = :n AND tx_num = 0", n=n)
    assert_divergence(ledger, f"block {n}")


def test_altered_transaction_id_is_detected(ledger: Ledger) -> None:
    n = ledger.policy_failure_block
    execute(ledger, "UPDATE ledger_transactions SET tx_id = :t WHERE channel_id = :channel "
            "AND block = :n AND tx_num = 1", t="0" * 64, n=n)
    assert_divergence(ledger, f"block {n}", "id")


def test_altered_configuration_transaction_id_is_detected(ledger: Ledger) -> None:
    n = ledger.config_block
    execute(ledger, "UPDATE ledger_transactions SET tx_id = :t WHERE channel_id = :channel "
            "AND block = :n AND tx_num = 0", t="0" * 64, n=n)
    assert_divergence(ledger, f"block {n}")


def test_altered_leaf_position_of_a_transaction_is_detected(ledger: Ledger) -> None:
    execute(ledger, "UPDATE ledger_transactions SET leaf_count = 2 WHERE "
            "channel_id = :channel AND block = 1 AND tx_num = 0")
    assert_divergence(ledger, "block 1", "leaf")


# --------------------------------------------------------------------------- world state


def test_altered_state_value_is_detected(ledger: Ledger) -> None:
    execute(ledger, "UPDATE ledger_state SET value = :v WHERE channel_id = :channel "
            "AND namespace = 'anchoring' AND key = 'b'", v=b'{"digest":"forged"}')
    assert_divergence(ledger, "world state", "anchoring/b")


def test_altered_state_version_is_detected(ledger: Ledger) -> None:
    execute(ledger, "UPDATE ledger_state SET tx_num = tx_num + 1 WHERE channel_id = :channel "
            "AND namespace = 'anchoring' AND key = 'c'")
    assert_divergence(ledger, "world state", "anchoring/c")


def test_added_state_row_is_detected(ledger: Ledger) -> None:
    execute(ledger, "INSERT INTO ledger_state (channel_id, namespace, key, value, block, "
            "tx_num) VALUES (:channel, 'anchoring', 'planted', :v, 1, 0)", v=b"{}")
    assert_divergence(ledger, "world state", "anchoring/planted")


def test_deleted_state_row_is_detected(ledger: Ledger) -> None:
    execute(ledger, "DELETE FROM ledger_state WHERE channel_id = :channel "
            "AND namespace = 'anchoring' AND key = 'e'")
    assert_divergence(ledger, "world state", "anchoring/e")


def test_state_of_an_invalid_transaction_is_detected(ledger: Ledger) -> None:
    # The write of the transaction that failed its endorsement policy, planted as if valid.
    execute(ledger, "INSERT INTO ledger_state (channel_id, namespace, key, value, block, "
            "tx_num) VALUES (:channel, 'anchoring', 'x', :v, :n, 0)", v=b"{}",
            n=ledger.policy_failure_block)
    assert_divergence(ledger, "world state", "anchoring/x")


# --------------------------------------------------------------------------- key history


def test_altered_history_value_is_detected(ledger: Ledger) -> None:
    execute(ledger, "UPDATE ledger_history SET value = :v WHERE channel_id = :channel "
            "AND namespace = 'anchoring' AND key = 'a' AND block = 1", v=b"{}")
    assert_divergence(ledger, "history", "anchoring/a")


def test_deleted_history_row_is_detected(ledger: Ledger) -> None:
    execute(ledger, "DELETE FROM ledger_history WHERE channel_id = :channel "
            "AND namespace = 'anchoring' AND key = 'a' AND block = 1")
    assert_divergence(ledger, "history", "anchoring/a")


def test_added_history_row_is_detected(ledger: Ledger) -> None:
    execute(ledger, "INSERT INTO ledger_history (channel_id, namespace, key, block, tx_num, "
            "tx_id, value, timestamp) SELECT channel_id, namespace, key, block, tx_num + 5, "
            "tx_id, value, timestamp FROM ledger_history WHERE channel_id = :channel "
            "AND key = 'b'")
    assert_divergence(ledger, "history", "anchoring/b")


def test_altered_history_timestamp_is_detected(ledger: Ledger) -> None:
    execute(ledger, "UPDATE ledger_history SET timestamp = :t WHERE channel_id = :channel "
            "AND key = 'c'", t=dt.datetime(2001, 1, 1, tzinfo=dt.UTC))
    assert_divergence(ledger, "history", "anchoring/c")


# --------------------------------------------------------------------------- Merkle log


def test_altered_leaf_is_detected(ledger: Ledger) -> None:
    leaf = bytes(fetch(ledger, "SELECT leaf FROM ledger_leaves WHERE channel_id = :channel "
                       "AND leaf_index = 3"))
    altered = leaf.replace(digest("d1").encode(), digest("d2").encode())
    assert altered != leaf
    execute(ledger, "UPDATE ledger_leaves SET leaf = :l WHERE channel_id = :channel "
            "AND leaf_index = 3", l=altered)
    assert_divergence(ledger, "leaf 3")


def test_deleted_leaf_is_detected(ledger: Ledger) -> None:
    execute(ledger, "DELETE FROM ledger_leaves WHERE channel_id = :channel "
            "AND leaf_index = 4")
    assert_divergence(ledger, "leaf 4")


def test_leaf_attributed_to_another_transaction_is_detected(ledger: Ledger) -> None:
    execute(ledger, "UPDATE ledger_leaves SET tx_id = :t, block = block + 1 WHERE "
            "channel_id = :channel AND leaf_index = 5", t="0" * 64)
    assert_divergence(ledger, "leaf 5")


def test_altered_merkle_node_is_detected(ledger: Ledger) -> None:
    node_hash = fetch(ledger, "SELECT hash FROM ledger_nodes WHERE channel_id = :channel "
                      "AND level = 1 AND node_index = 1")
    execute(ledger, "UPDATE ledger_nodes SET hash = :h WHERE channel_id = :channel "
            "AND level = 1 AND node_index = 1", h=flip(bytes(node_hash), 0))
    assert_divergence(ledger, "node 1/1")


def test_deleted_merkle_node_is_detected(ledger: Ledger) -> None:
    execute(ledger, "DELETE FROM ledger_nodes WHERE channel_id = :channel "
            "AND level = 2 AND node_index = 0")
    assert_divergence(ledger, "node")


# --------------------------------------------------------------------------- checkpoints


def test_altered_checkpoint_note_is_detected(ledger: Ledger) -> None:
    note = bytes(fetch(ledger, "SELECT note FROM ledger_checkpoints WHERE "
                       "channel_id = :channel AND tree_size = 6"))
    lines = note.split(b"\n")
    lines[2] = b"A" * 43 + b"="  # another root hash, same shape
    execute(ledger, "UPDATE ledger_checkpoints SET note = :n WHERE channel_id = :channel "
            "AND tree_size = 6", n=b"\n".join(lines))
    assert_divergence(ledger, "checkpoint", "6")


def test_checkpoint_filed_under_another_size_is_detected(ledger: Ledger) -> None:
    execute(ledger, "UPDATE ledger_checkpoints SET tree_size = 7 WHERE channel_id = :channel "
            "AND tree_size = 6")
    assert_divergence(ledger, "checkpoint", "7")


def test_checkpoint_copied_from_another_size_is_detected(ledger: Ledger) -> None:
    newer = bytes(fetch(ledger, "SELECT note FROM ledger_checkpoints WHERE "
                        "channel_id = :channel AND tree_size = 8"))
    execute(ledger, "UPDATE ledger_checkpoints SET note = :n WHERE channel_id = :channel "
            "AND tree_size = 6", n=newer)
    assert_divergence(ledger, "checkpoint", "6")


# --------------------------------------------------------------------------- the channel row


def test_altered_channel_configuration_is_detected(ledger: Ledger) -> None:
    config = ledger.net.channel.config()
    altered = config.next(batch=BatchParameters(max_count=10_000))
    execute(ledger, "UPDATE ledger_channels SET config = :c WHERE channel_id = :channel",
            c=altered.encode())
    assert_divergence(ledger, "configuration")


def test_altered_channel_tree_size_is_detected(ledger: Ledger) -> None:
    execute(ledger, "UPDATE ledger_channels SET tree_size = tree_size - 1 WHERE "
            "channel_id = :channel")
    assert_divergence(ledger, "tree size")


def test_altered_channel_height_is_detected(ledger: Ledger) -> None:
    execute(ledger, "UPDATE ledger_channels SET height = height + 1 WHERE "
            "channel_id = :channel")
    assert_divergence(ledger, "height")
