"""Concurrent submitters on one channel: several processes, and threads inside them, order
transactions through the shared pending queue and cut blocks in turn (group commit).

Every submission is acknowledged exactly once, blocks stay contiguous, each transaction
sits in one block and each anchored entry in one leaf. Runs on SQLite (WAL), and on
PostgreSQL too when EDUTRUST_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from ledger.config import BatchParameters
from ledger.storage.sql import BlockRow, LeafRow, SqlLedgerStore, TransactionRow
from tests.ledger.ledger_worker import (
    WorkerProcess,
    assert_acknowledged_are_committed,
    entries_json,
    pending_tx_ids,
    save_organisations,
)
from tests.ledger.network import Network, build_network, open_channel

CHANNEL = "archives"
PROCESS_THREADS = (1, 1, 2, 4)  # four processes, the last ones with several threads
SUBMITS_PER_PROCESS = 40
PARENT_THREADS, SUBMITS_PER_PARENT_THREAD = 2, 10


@pytest.fixture
def network(database_url: str, tmp_path: Path) -> Iterator[tuple[Network, Path]]:
    net = build_network(database_url, BatchParameters(max_count=50, timeout_ms=5))
    keys = tmp_path / "organisations.json"
    save_organisations(net.orgs, keys)
    try:
        yield net, keys
    finally:
        net.channel.close()
        net.engine.dispose()


@pytest.mark.slow
def test_submitters_in_four_processes_and_threads_all_commit_exactly_once(
        network: tuple[Network, Path], database_url: str, tmp_path: Path) -> None:
    net, keys = network
    workers = [WorkerProcess(keys, database_url, "count", f"p{n}", SUBMITS_PER_PROCESS,
                             threads, log=tmp_path / f"worker-{n}.log")
               for n, threads in enumerate(PROCESS_THREADS)]
    client = net.orgs["School"].role("client")
    parent_acks: dict[str, str] = {}
    failures: list[BaseException] = []

    def submit_from_parent_thread(number: int) -> None:
        for n in range(SUBMITS_PER_PARENT_THREAD):
            key = f"parent{number}-{n}"
            try:
                receipt = net.channel.submit(client, "anchoring", "anchor", entries_json([key]))
            except BaseException as exc:
                failures.append(exc)
                return
            parent_acks[key] = receipt.tx_id

    threads = [threading.Thread(target=submit_from_parent_thread, args=(n,))
               for n in range(PARENT_THREADS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = [w.finish(timeout=300) for w in workers]
    finally:
        for worker in workers:
            worker.kill()
    logs = "\n".join(w.stderr_tail() for w in workers)
    assert not failures, failures
    assert codes == [0] * len(workers), logs
    assert "database is locked" not in logs

    acks = dict(parent_acks)
    for worker in workers:
        worker_acks = worker.acks()
        assert len(worker_acks) == SUBMITS_PER_PROCESS
        acks.update(worker_acks)
    expected = len(PROCESS_THREADS) * SUBMITS_PER_PROCESS + \
        PARENT_THREADS * SUBMITS_PER_PARENT_THREAD
    assert len(acks) == len(set(acks.values())) == expected
    assert_acknowledged_are_committed(net.store, CHANNEL, acks)

    with net.engine.connect() as conn:
        numbers = list(conn.scalars(select(BlockRow.number)
                                   .where(BlockRow.channel_id == CHANNEL)
                                   .order_by(BlockRow.number)))
        tx_rows = conn.execute(select(TransactionRow.tx_id, TransactionRow.block,
                                      TransactionRow.code, TransactionRow.leaf_start,
                                      TransactionRow.leaf_count)
                               .where(TransactionRow.channel_id == CHANNEL,
                                      TransactionRow.block > 0)).all()
        leaf_tx = list(conn.scalars(select(LeafRow.tx_id).where(LeafRow.channel_id == CHANNEL)
                                    .order_by(LeafRow.leaf_index)))
    assert numbers == list(range(net.channel.status()["height"]))
    assert max(Counter(row.tx_id for row in tx_rows).values()) == 1  # in one block only
    assert {row.code for row in tx_rows} == {"VALID"}
    assert {row.tx_id for row in tx_rows} == set(acks.values())
    assert net.channel.tree_size() == expected == len(leaf_tx)  # one entry each
    assert len({row.leaf_start for row in tx_rows}) == len(tx_rows)
    assert all(leaf_tx[row.leaf_start] == row.tx_id and row.leaf_count == 1
               for row in tx_rows)
    assert len(numbers) > 2  # blocks were cut by several submitters, not one
    assert pending_tx_ids(net.store, CHANNEL) == []


def test_a_cutter_that_lost_the_race_neither_recommits_nor_drops_newer_transactions(
        network: tuple[Network, Path]) -> None:
    """Cutter A reads the pending batch; before A takes the cutting lock, B commits that
    batch and a new transaction is queued (SQLite may give it a freed queue slot). A must
    commit nothing stale and must not take the new transaction off the queue."""
    net, _ = network
    client = net.orgs["School"].role("client")
    first = net.channel.endorse(client, "anchoring", "anchor", entries_json(["first"]))
    second = net.channel.endorse(client, "anchoring", "anchor", entries_json(["second"]))
    net.store.enqueue(CHANNEL, first.tx_id, first.encode())

    store_a = SqlLedgerStore(net.engine)
    cutter_a = open_channel(store_a, net.orgs)
    peek = store_a.peek_pending

    def peek_then_lose_the_race(channel: str, max_count: int, max_bytes: int
                                ) -> list[tuple[object, ...]]:
        batch = peek(channel, max_count, max_bytes)
        assert net.channel.cut_block() is not None  # B commits the same batch first
        net.store.enqueue(CHANNEL, second.tx_id, second.encode())
        return batch  # type: ignore[return-value]

    store_a.peek_pending = peek_then_lose_the_race  # type: ignore[assignment,method-assign]
    try:
        cutter_a.cut_block()
    finally:
        cutter_a.close()

    receipts = net.channel.wait([first.tx_id, second.tx_id], timeout=10)
    assert {r.code for r in receipts.values()} == {"VALID"}
    with net.engine.connect() as conn:
        rows = conn.execute(select(TransactionRow.tx_id, TransactionRow.code)
                            .where(TransactionRow.channel_id == CHANNEL,
                                   TransactionRow.block > 0)).all()
    assert sorted(rows) == sorted([(first.tx_id, "VALID"), (second.tx_id, "VALID")])
    assert pending_tx_ids(net.store, CHANNEL) == []
