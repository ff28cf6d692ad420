"""Crash safety of the embedded ledger: processes appending to a channel are killed with
SIGKILL at random moments and inside a block's commit; afterwards the audit passes, every
acknowledged transaction is there, and the ledger carries on from the last committed block.

Runs on SQLite, and on PostgreSQL too when EDUTRUST_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledger.config import BatchParameters
from tests.ledger.ledger_worker import (
    WorkerProcess,
    assert_acknowledged_are_committed,
    entries_json,
    pending_tx_ids,
    save_organisations,
)
from tests.ledger.network import Network, build_network

CHANNEL = "archives"
CRASH_ROUNDS = 15
BIG_BLOCK_TXS, BIG_BLOCK_ENTRIES = 50, 10  # 500 entries in one block


@pytest.fixture
def network(database_url: str, tmp_path: Path) -> Iterator[tuple[Network, Path]]:
    net = build_network(database_url, BatchParameters(max_count=500, timeout_ms=5))
    keys = tmp_path / "organisations.json"
    save_organisations(net.orgs, keys)
    try:
        yield net, keys
    finally:
        net.channel.close()
        net.engine.dispose()


WorkerFactory = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker(network: tuple[Network, Path], database_url: str, tmp_path: Path
                 ) -> Iterator[WorkerFactory]:
    """Start a worker on the test network (``hold=True``: ready, waiting for ``go()``);
    every worker still running at the end is killed."""
    started: list[WorkerProcess] = []

    def start(mode: str, *args: object, hold: bool = False) -> WorkerProcess:
        worker = WorkerProcess(network[1], database_url, mode, *args, hold=hold,
                               log=tmp_path / f"worker-{args[0]}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def _anchor_from_a_fresh_handle(net: Network, *keys: str) -> str:
    """Submit from a new channel handle, as a restarted process would; the tx id."""
    channel = net.open_channel()
    try:
        return channel.submit(net.orgs["School"].role("client"), "anchoring", "anchor",
                              entries_json(keys)).tx_id
    finally:
        channel.close()


def _wait_for_progress(worker: WorkerProcess, acknowledged: int, timeout: float = 60) -> None:
    """Until ``worker`` has acknowledged more than ``acknowledged`` transactions."""
    deadline = time.monotonic() + timeout
    while len(worker.acks()) <= acknowledged:
        assert worker.process.poll() is None, f"worker died:\n{worker.stderr_tail()}"
        assert time.monotonic() < deadline, (
            f"worker made no progress:\n{worker.stderr_tail()}")
        time.sleep(0.02)


@pytest.mark.slow
def test_acknowledged_transactions_survive_sigkill_at_random_moments(
        network: tuple[Network, Path], start_worker: WorkerFactory) -> None:
    net, _ = network
    rng = random.Random(20240611)
    # A second process keeps submitting (gently: every transaction lengthens the audits).
    steady = start_worker("loop", "steady", 0.2)
    steady.wait_for("ready")
    acks: dict[str, str] = {}
    crasher = start_worker("loop", "crash0", hold=True)
    for round_number in range(CRASH_ROUNDS):
        crasher.wait_for("ready")
        crasher.go()
        if round_number + 1 < CRASH_ROUNDS:  # the restart, ready while this one runs
            standby = start_worker("loop", f"crash{round_number + 1}", hold=True)
        time.sleep(rng.uniform(0.2, 1.5))
        crasher.kill()
        acks.update(crasher.acks())
        before = steady.acks()
        acks.update(before)
        assert_acknowledged_are_committed(net.store, CHANNEL, acks)
        # The other process is not blocked by anything the killed one held.
        _wait_for_progress(steady, len(before))
        crasher = standby
    steady.kill()
    acks.update(steady.acks())
    assert any(key.startswith("crash") for key in acks)
    assert_acknowledged_are_committed(net.store, CHANNEL, acks)
    # The ledger resumes after the last committed block.
    height = net.channel.status()["height"]
    tx_id = _anchor_from_a_fresh_handle(net, "after-the-crashes")
    assert net.store.receipts(CHANNEL, [tx_id])[tx_id].block == height


@pytest.mark.slow
def test_kill_inside_a_big_block_commit_leaves_nothing_and_the_block_commits_later(
        network: tuple[Network, Path], start_worker: WorkerFactory) -> None:
    net, _ = network
    acks: dict[str, str] = {}
    big = start_worker("big", "big0", BIG_BLOCK_TXS, BIG_BLOCK_ENTRIES, 60, hold=True)
    for round_number in range(3):
        height = net.channel.status()["height"]
        big.wait_for("ready")
        big.go()
        if round_number < 2:
            standby = start_worker("big", f"big{round_number + 1}", BIG_BLOCK_TXS,
                                   BIG_BLOCK_ENTRIES, 60, hold=True)
        enqueued = big.wait_for("enqueued").split()[1:]
        big.wait_for("writing")  # every row of the block is written, none committed
        big.kill()
        assert big.acks() == {}
        assert net.channel.status()["height"] == height
        assert set(enqueued) <= set(pending_tx_ids(net.store, CHANNEL))
        assert_acknowledged_are_committed(net.store, CHANNEL, acks)
        # Another process orders the orphaned transactions together with its own.
        key = f"after-kill-{round_number}"
        acks[key] = _anchor_from_a_fresh_handle(net, key)
        receipts = net.store.receipts(CHANNEL, enqueued)
        assert sorted(receipts) == sorted(enqueued)
        assert {r.code for r in receipts.values()} == {"VALID"}
        assert {r.block for r in receipts.values()} == {height}  # one block, the next
        assert pending_tx_ids(net.store, CHANNEL) == []
        assert_acknowledged_are_committed(net.store, CHANNEL, acks)
        big = standby
    assert net.channel.tree_size() == 3 * (BIG_BLOCK_TXS * BIG_BLOCK_ENTRIES + 1)


@pytest.mark.slow
def test_kill_at_random_moments_while_cutting_a_big_block_loses_nothing_acknowledged(
        network: tuple[Network, Path], start_worker: WorkerFactory) -> None:
    net, _ = network
    rng = random.Random(7)
    acks: dict[str, str] = {}
    orphans: list[str] = []
    rounds = 3
    big = start_worker("big", "cut0", BIG_BLOCK_TXS, BIG_BLOCK_ENTRIES, 0, hold=True)
    for round_number in range(rounds):
        big.wait_for("ready")
        big.go()
        if round_number + 1 < rounds:
            standby = start_worker("big", f"cut{round_number + 1}", BIG_BLOCK_TXS,
                                   BIG_BLOCK_ENTRIES, 0, hold=True)
        orphans.extend(big.wait_for("enqueued").split()[1:])
        time.sleep(rng.uniform(0.0, 0.5))
        big.kill()
        acks.update(big.acks())
        assert_acknowledged_are_committed(net.store, CHANNEL, acks)
        big = standby
    acks["drain"] = _anchor_from_a_fresh_handle(net, "drain")
    assert_acknowledged_are_committed(net.store, CHANNEL, acks)
    receipts = net.store.receipts(CHANNEL, orphans)
    assert sorted(receipts) == sorted(orphans)
    assert {r.code for r in receipts.values()} == {"VALID"}
    assert net.channel.tree_size() == len(orphans) * BIG_BLOCK_ENTRIES + 1
    assert pending_tx_ids(net.store, CHANNEL) == []
