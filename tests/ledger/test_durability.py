"""Crash safety of the embedded ledger: processes appending to a channel are killed with
SIGKILL at random moments and inside a block's commit; afterwards the audit passes, every
acknowledged transaction is there, and the ledger carries on from the last committed block.

Runs on SQLite, and on PostgreSQL too when EDUTRUST_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.config import BatchParameters
from tests.ledger.ledger_worker import (
    WorkerProcess,
    assert_acknowledged_are_committed,
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


def _start(keys: Path, url: str, tmp_path: Path, mode: str, *args: object) -> WorkerProcess:
    return WorkerProcess(keys, url, mode, *args, log=tmp_path / f"worker-{args[0]}.log")


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
        network: tuple[Network, Path], database_url: str, tmp_path: Path) -> None:
    net, keys = network
    rng = random.Random(20240611)
    steady = _start(keys, database_url, tmp_path, "loop", "steady")
    steady.wait_for("ready")
    acks: dict[str, str] = {}
    killed_with_acks = 0
    try:
        for round_number in range(CRASH_ROUNDS):
            crasher = _start(keys, database_url, tmp_path, "loop", f"crash{round_number}")
            crasher.wait_for("ready")
            time.sleep(rng.uniform(0.2, 1.5))
            crasher.kill()
            crashed = crasher.acks()
            killed_with_acks += bool(crashed)
            acks.update(crashed)
            before = steady.acks()
            acks.update(before)
            assert_acknowledged_are_committed(net.store, CHANNEL, acks)
            # The other process is not blocked by anything the killed one held.
            _wait_for_progress(steady, len(before))
    finally:
        steady.kill()
    acks.update(steady.acks())
    assert_acknowledged_are_committed(net.store, CHANNEL, acks)
    assert killed_with_acks >= CRASH_ROUNDS // 2
    # The ledger resumes: a fresh handle appends after the crashes.
    client = net.orgs["School"].role("client")
    receipt = net.open_channel().submit(client, "anchoring", "anchor",
                                        '[{"digest":"' + "ab" * 32 + '","key":"after"}]')
    assert receipt.block == net.channel.status()["height"] - 1


@pytest.mark.slow
def test_kill_inside_a_big_block_commit_leaves_nothing_and_the_block_commits_later(
        network: tuple[Network, Path], database_url: str, tmp_path: Path) -> None:
    net, keys = network
    acks: dict[str, str] = {}
    for round_number in range(3):
        height = net.channel.status()["height"]
        big = _start(keys, database_url, tmp_path, "big", f"big{round_number}",
                     BIG_BLOCK_TXS, BIG_BLOCK_ENTRIES, 60)
        enqueued = big.wait_for("enqueued").split()[1:]
        big.wait_for("writing")  # every row of the block is written, not committed
        big.kill()
        assert big.acks() == {}
        status = net.channel.status()
        assert status["height"] == height
        assert set(enqueued) <= set(pending_tx_ids(net.store, CHANNEL))
        assert_acknowledged_are_committed(net.store, CHANNEL, acks)
        # Another process cuts the orphaned transactions with its own.
        drain = _start(keys, database_url, tmp_path, "count", f"drain{round_number}", 3, 1)
        drain.wait_for("done")
        assert drain.finish() == 0
        acks.update(drain.acks())
        receipts = net.store.receipts(CHANNEL, enqueued)
        assert sorted(receipts) == sorted(enqueued)
        assert {r.code for r in receipts.values()} == {"VALID"}
        assert len({r.block for r in receipts.values()}) == 1  # still one block
        assert pending_tx_ids(net.store, CHANNEL) == []
        assert_acknowledged_are_committed(net.store, CHANNEL, acks)


@pytest.mark.slow
def test_kill_at_random_moments_while_cutting_a_big_block_loses_nothing_acknowledged(
        network: tuple[Network, Path], database_url: str, tmp_path: Path) -> None:
    net, keys = network
    rng = random.Random(7)
    acks: dict[str, str] = {}
    orphans: list[str] = []
    for round_number in range(4):
        big = _start(keys, database_url, tmp_path, "big", f"cut{round_number}",
                     BIG_BLOCK_TXS, BIG_BLOCK_ENTRIES, 0)
        orphans.extend(big.wait_for("enqueued").split()[1:])
        time.sleep(rng.uniform(0.0, 0.5))
        big.kill()
        acks.update(big.acks())
        assert_acknowledged_are_committed(net.store, CHANNEL, acks)
    drain = _start(keys, database_url, tmp_path, "count", "drain", 2, 1)
    drain.wait_for("done")
    assert drain.finish() == 0
    acks.update(drain.acks())
    assert_acknowledged_are_committed(net.store, CHANNEL, acks)
    receipts = net.store.receipts(CHANNEL, orphans)
    assert sorted(receipts) == sorted(orphans)
    assert {r.code for r in receipts.values()} == {"VALID"}
    assert net.channel.tree_size() == len(orphans) * BIG_BLOCK_ENTRIES + 2
