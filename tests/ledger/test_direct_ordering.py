"""Transactions that fill a block by themselves are committed without the durable queue;
the rest, and everything queued before them, still go through it in order. Receipts of
either path say exactly what the stored block says."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from crypto.sm2 import SM2PrivateKey
from crypto.sm3 import sm3
from ledger.audit import audit_channel
from ledger.canonical import canonical_json
from ledger.channel import Channel, TransactionRejected, _config_transaction, _fill_block
from ledger.config import BatchParameters
from ledger.embedded import EmbeddedOrganisation
from ledger.msp import Identity, SigningIdentity
from ledger.storage.sql import Receipt, SqlLedgerStore
from ledger.tx import Transaction
from tests.ledger.network import Network, build_network

CHANNEL = "archives"


@pytest.fixture
def make_net(database_url: str, organisations: dict[str, EmbeddedOrganisation]
             ) -> Iterator[Any]:
    built: list[Network] = []

    def make(max_count: int, timeout_ms: int = 50, max_bytes: int = 8 * 1024 * 1024
             ) -> Network:
        net = build_network(database_url, orgs=organisations,
                            batch=BatchParameters(max_count=max_count, max_bytes=max_bytes,
                                                  timeout_ms=timeout_ms))
        built.append(net)
        return net

    yield make
    for net in built:
        net.channel.close()
        net.store.close()
        net.engine.dispose()


def anchor(net: Network, key: str, *more: str) -> Transaction:
    entries = [{"key": k, "digest": sm3(k.encode()).hex()} for k in (key, *more)]
    return net.channel.endorse(net.orgs["School"].role("client"), "anchoring", "anchor",
                               canonical_json(entries).decode())


class QueueSpy:
    """Counts what goes through the store's durable queue."""

    def __init__(self, store: SqlLedgerStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.queued: list[str] = []
        original = store.enqueue_many

        def enqueue_many(channel: str, items: list[tuple[str, bytes]]) -> None:
            self.queued += [tx_id for tx_id, _ in items]
            original(channel, items)

        monkeypatch.setattr(store, "enqueue_many", enqueue_many)


def stored(channel: Channel, receipt: Receipt) -> dict[str, Any]:
    found = channel.store.receipt(CHANNEL, receipt.tx_id)
    assert found is not None
    return found.to_doc()


def test_full_blocks_of_own_transactions_skip_the_queue(
        make_net: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    net = make_net(max_count=3)
    spy = QueueSpy(net.store, monkeypatch)
    txs = [anchor(net, f"direct/{i}") for i in range(7)]
    receipts = net.channel.submit_endorsed(txs)
    # Two full blocks of 3 directly; the seventh waits in the queue for the timeout.
    assert spy.queued == [txs[6].tx_id]
    blocks = [receipts[t.tx_id].block for t in txs]
    assert blocks[:3] == [blocks[0]] * 3 and blocks[3:6] == [blocks[0] + 1] * 3
    assert blocks[6] == blocks[0] + 2
    for tx in txs:
        assert receipts[tx.tx_id].to_doc() == stored(net.channel, receipts[tx.tx_id])
        assert receipts[tx.tx_id].code == "VALID"
    assert net.store.pending_summary(CHANNEL)[0] == 0
    assert audit_channel(net.store, CHANNEL, ["anchoring"]).ok


def test_receipts_match_the_block_for_many_entries_and_invalid_transactions(
        make_net: Any) -> None:
    net = make_net(max_count=4)
    first = anchor(net, "multi/a", "multi/b", "multi/c")
    # Endorsed against the same state as ``first`` and writing the same key: the
    # committer marks it MVCC_READ_CONFLICT, and it adds no leaf.
    conflicting = anchor(net, "multi/a")
    after = anchor(net, "multi/d", "multi/e")
    single = anchor(net, "multi/f")
    receipts = net.channel.submit_endorsed([first, conflicting, after, single])
    got = [receipts[t.tx_id] for t in (first, conflicting, after, single)]
    assert [r.code for r in got] == ["VALID", "MVCC_READ_CONFLICT", "VALID", "VALID"]
    assert [r.tx_num for r in got] == [0, 1, 2, 3]
    assert [(r.leaf_start, r.leaf_count) for r in got] == [(0, 3), (None, 0), (3, 2), (5, 1)]
    for receipt in got:
        assert receipt.to_doc() == stored(net.channel, receipt)
    block = net.channel.block(got[0].block)
    assert block.header.codes == ("VALID", "MVCC_READ_CONFLICT", "VALID", "VALID")
    assert net.channel.tree_size() == 6


def test_submit_raises_for_an_invalid_transaction_committed_directly(
        make_net: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    net = make_net(max_count=1)
    # Both endorsed before either commits: the second reads a version the first changes.
    first, second = anchor(net, "once"), anchor(net, "once")
    net.channel.submit_endorsed([first])
    monkeypatch.setattr(net.channel, "endorse", lambda *_args: second)
    with pytest.raises(TransactionRejected) as raised:
        net.channel.submit(net.orgs["School"].role("client"), "anchoring", "anchor", "x")
    assert raised.value.receipt.code == "MVCC_READ_CONFLICT"
    assert raised.value.receipt.to_doc() == stored(net.channel, raised.value.receipt)
    assert net.store.pending_summary(CHANNEL)[0] == 0


def test_own_transactions_join_the_queue_behind_queued_ones(
        make_net: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    net = make_net(max_count=2, timeout_ms=50)
    queued = anchor(net, "queued/1")
    # Queued by another process (or thread): one transaction, not a full block.
    net.store.enqueue(CHANNEL, queued.tx_id, queued.encode())
    spy = QueueSpy(net.store, monkeypatch)
    own = [anchor(net, "own/1"), anchor(net, "own/2")]
    checked: list[int] = []
    check = net.channel._check
    monkeypatch.setattr(net.channel, "_check", lambda batch, *rest: (
        checked.append(len(batch)), check(batch, *rest))[1])
    receipts = net.channel.submit_endorsed(own, timeout=30)
    # Only the queue's cutter checked, once per block it cut ([queued, own/1], [own/2]):
    # nothing was checked ahead for a batch that only joined the queue.
    assert checked == [2, 1]
    # First in, first out: the queued transaction, then the submitter's, in order.
    assert spy.queued == [t.tx_id for t in own]
    queued_receipt = net.store.receipt(CHANNEL, queued.tx_id)
    assert queued_receipt is not None and queued_receipt.code == "VALID"
    order = [(r.block, r.tx_num) for r in (queued_receipt, *(receipts[t.tx_id] for t in own))]
    assert order == sorted(order)
    assert all(receipts[t.tx_id].code == "VALID" for t in own)
    assert net.store.pending_summary(CHANNEL)[0] == 0


def test_checks_run_again_when_the_block_is_later_than_they_were(make_net: Any) -> None:
    """A block's time is never before the previous block's. If the own batch was
    checked at an earlier time, it is checked again at the block's time, which the
    audit replays it at: a creator certificate that expired in between is refused."""
    net = make_net(max_count=1)
    school = net.orgs["School"]
    key = SM2PrivateKey.generate()
    expiry = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).replace(microsecond=0)
    certificate = school.ca.issue("client", "School short-lived client", key.public_key(),
                                  not_after=expiry)
    short = SigningIdentity.of(Identity("School", "client", certificate), key)
    mine = net.channel.endorse(short, "anchoring", "anchor", canonical_json(
        [{"key": "short/1", "digest": "00" * 32}]).decode())
    config = net.channel.config()
    checked_at = dt.datetime.now(dt.UTC)
    batch = [(None, mine.tx_id, mine.encode(), False, checked_at)]
    checks = net.channel._check(batch, config, checked_at)
    assert [c.code.value for c in checks] == ["VALID"]
    time.sleep(max(0.0, (expiry - dt.datetime.now(dt.UTC)).total_seconds()) + 1.2)
    net.channel.submit_endorsed([anchor(net, "later/1")])  # a block after the expiry
    with net.channel._lock:
        committed = net.channel._commit_checked(batch, checks, config, checked_at)
    assert committed is not None
    header, [receipt] = committed
    assert header.timestamp > expiry
    assert receipt.code == "BAD_CREATOR"
    assert audit_channel(net.store, CHANNEL, ["anchoring"]).ok


def test_a_resubmitted_transaction_answers_with_its_first_receipt(
        make_net: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    net = make_net(max_count=1)
    tx = anchor(net, "again/1")
    first = net.channel.submit_endorsed([tx])[tx.tx_id]
    spy = QueueSpy(net.store, monkeypatch)
    second = net.channel.submit_endorsed([tx])[tx.tx_id]
    assert spy.queued == []
    assert second.to_doc() == first.to_doc()
    # The second submission is kept in a block of its own as a duplicate, as through
    # the queue, and the audit agrees.
    assert net.channel.block(first.block + 1).header.codes == ("DUPLICATE_TXID",)
    assert audit_channel(net.store, CHANNEL, ["anchoring"]).ok


def test_the_same_transaction_twice_in_one_block(make_net: Any) -> None:
    net = make_net(max_count=2)
    tx = anchor(net, "twice/1")
    receipts = net.channel.submit_endorsed([tx, tx])
    block = net.channel.block(receipts[tx.tx_id].block)
    assert block.header.codes == ("VALID", "DUPLICATE_TXID")
    assert receipts[tx.tx_id].code == "VALID" and receipts[tx.tx_id].tx_num == 0


def test_blocks_are_cut_by_bytes_too(make_net: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    net = make_net(max_count=100, max_bytes=1024)
    spy = QueueSpy(net.store, monkeypatch)
    txs = [anchor(net, f"bytes/{i}") for i in range(3)]
    assert all(len(t.encode()) >= 1024 for t in txs)
    receipts = net.channel.submit_endorsed(txs)
    # Each envelope reaches max_bytes alone: three full blocks, none queued.
    assert spy.queued == []
    blocks = [receipts[t.tx_id].block for t in txs]
    assert blocks == [blocks[0], blocks[0] + 1, blocks[0] + 2]


def test_a_queued_configuration_update_is_committed_first(make_net: Any) -> None:
    net = make_net(max_count=1)
    config = net.channel.config()
    new = replace(config, sequence=config.sequence + 1,
                  batch=BatchParameters(max_count=2, timeout_ms=50))
    admins = [net.orgs["Ministry"].role("admin"), net.orgs["Province"].role("admin")]
    update = _config_transaction(new, admins[0], admins, "update")
    net.store.enqueue(CHANNEL, update.tx_id, update.encode(), config_tx=True)
    own = [anchor(net, "after-config/1"), anchor(net, "after-config/2")]
    receipts = net.channel.submit_endorsed(own)
    update_receipt = net.store.receipt(CHANNEL, update.tx_id)
    assert update_receipt is not None and update_receipt.code == "VALID"
    # The new configuration (blocks of 2) governed the transactions submitted after it.
    assert {receipts[t.tx_id].block for t in own} == {update_receipt.block + 1}
    assert net.channel.config().batch.max_count == 2


@pytest.mark.parametrize(("sizes", "count", "limit", "taken"), [
    ([10, 10, 10], 3, 1000, 3),      # exactly full by count
    ([10, 10, 10, 10], 3, 1000, 3),  # more than a block
    ([10, 10], 3, 1000, None),       # too few: the queue waits for more
    ([], 3, 1000, None),
    ([600, 600], 10, 1000, 1),       # full by bytes
    ([2000, 10], 10, 1000, 1),       # one envelope over the limit goes alone
    ([2000], 10, 1000, 1),           # ... and fills a block by itself
    ([500, 500, 1], 10, 1000, 2),    # exactly max_bytes is full
    ([400, 500], 10, 1000, None),    # under max_bytes: not full
])
def test_fill_block(sizes: list[int], count: int, limit: int, taken: int | None) -> None:
    items = [(f"t{i}", b"x" * size) for i, size in enumerate(sizes)]
    got = _fill_block(items, count, limit)
    assert (None if got is None else len(got)) == taken
