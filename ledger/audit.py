"""``edutrust ledger audit``: replay a channel from genesis and compare everything stored.

The replay recomputes every block hash and data hash, checks every orderer signature,
re-validates every transaction (identities, signatures, endorsement policies, MVCC) and
compares the codes, rebuilds world state, history, the Merkle leaves and nodes, and
checks every stored checkpoint's signatures and root. The first divergence is named.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from sqlalchemy import select

from crypto.errors import InvalidSignature
from ledger.block import GENESIS_PREVIOUS, BlockHeader, data_hash
from ledger.channel import check_config_transaction
from ledger.checkpoint import (
    NoteVerifier,
    SignatureKind,
    verify_checkpoint,
)
from ledger.config import ChannelConfig
from ledger.errors import LedgerError
from ledger.leaves import leaves_from_event
from ledger.merkle import MemoryNodeStore, NodeAddress, leaf_hash
from ledger.storage.sql import (
    BlockRow,
    ChannelRow,
    CheckpointRow,
    HistoryRow,
    LeafRow,
    NodeRow,
    SqlLedgerStore,
    StateRow,
    TransactionRow,
)
from ledger.tx import Transaction, Version
from ledger.validation import (
    BlockState,
    IdentityCache,
    ValidationCode,
    apply_writes,
    check_mvcc,
    check_signatures_parallel,
)


@dataclass
class AuditReport:
    channel: str
    blocks: int = 0
    transactions: int = 0
    leaves: int = 0
    checkpoints: int = 0
    divergence: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def to_doc(self) -> dict[str, Any]:
        return {"channel": self.channel, "ok": self.ok, "blocks": self.blocks,
                "transactions": self.transactions, "leaves": self.leaves,
                "checkpoints": self.checkpoints, "divergence": self.divergence}


class _Divergence(Exception):
    pass


# (namespace, key, block, tx_num, tx_id, value or None for a delete, block timestamp)
_HistoryRow = tuple[str, str, int, int, str, bytes | None, dt.datetime]


class _MemoryState:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[bytes, Version]] = {}

    def versions(self, namespace: str, keys: list[str]) -> dict[str, Version]:
        return {k: self.values[(namespace, k)][1] for k in keys
                if (namespace, k) in self.values}

    def ranges(self, namespace: str, start: str, end: str) -> list[tuple[str, Version]]:
        return sorted((k, v) for (ns, k), (_, v) in self.values.items()
                      if ns == namespace and k >= start and (not end or k < end))


def audit_channel(store: SqlLedgerStore, channel: str, contracts: Sequence[str],
                  workers: int = 2) -> AuditReport:
    report = AuditReport(channel)
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        _replay(store, channel, list(contracts), report, pool)
    except _Divergence as exc:
        report.divergence = str(exc)
    finally:
        pool.shutdown()
    return report


def _fail(message: str) -> _Divergence:
    return _Divergence(message)


def _replay(store: SqlLedgerStore, channel: str, contracts: list[str], report: AuditReport,
            pool: ThreadPoolExecutor) -> None:
    identities = IdentityCache()
    state = _MemoryState()
    history: list[_HistoryRow] = []
    tree = MemoryNodeStore()
    leaf_origins: list[tuple[int, str]] = []  # (block, tx_id) of every replayed leaf
    seen_tx_ids: set[str] = set()  # every transaction id of earlier blocks, any code
    config: ChannelConfig | None = None
    previous_hash = GENESIS_PREVIOUS
    previous_time = None
    # One consistent view while blocks keep coming. Results read lazily are closed on the
    # way out: a SQLite cursor left open when a divergence stops the loop would keep its
    # pooled connection on a stale snapshot, and that connection's next write would fail.
    with store.snapshot() as conn, ExitStack() as open_results:
        channel_row = conn.execute(select(ChannelRow.config, ChannelRow.height,
                                          ChannelRow.tree_size)
                                   .where(ChannelRow.channel_id == channel)).first()
        if channel_row is None:
            raise _fail(f"no channel {channel}")
        height = int(channel_row[1])
        blocks = open_results.enter_context(conn.execute(
            select(BlockRow.number, BlockRow.header, BlockRow.hash, BlockRow.signature,
                   BlockRow.signer)
            .where(BlockRow.channel_id == channel).order_by(BlockRow.number)))
        expected_number = 0
        for number, raw_header, stored_hash, signature, signer in blocks:
            where = f"block {number}"
            if number != expected_number:
                raise _fail(f"block {expected_number} is missing")
            expected_number += 1
            try:
                header = BlockHeader.decode(raw_header)
            except LedgerError as exc:
                raise _fail(f"{where}: header does not parse: {exc}") from None
            if header.encode() != bytes(raw_header):
                raise _fail(f"{where}: header is not in its canonical form")
            if header.hash != stored_hash:
                raise _fail(f"{where}: stored hash differs from the header's hash")
            if header.number != number or header.channel != channel:
                raise _fail(f"{where}: header names block {header.number} of "
                            f"{header.channel}")
            if header.previous_hash != previous_hash:
                raise _fail(f"{where}: previous hash does not chain to block {number - 1}")
            if previous_time is not None and header.timestamp < previous_time:
                raise _fail(f"{where}: timestamp goes backwards")
            tx_rows = conn.execute(select(TransactionRow.tx_num, TransactionRow.tx_id,
                                          TransactionRow.envelope, TransactionRow.code,
                                          TransactionRow.leaf_start, TransactionRow.leaf_count)
                                   .where(TransactionRow.channel_id == channel,
                                          TransactionRow.block == number)
                                   .order_by(TransactionRow.tx_num)).all()
            envelopes = [bytes(r[2]) for r in tx_rows]
            if [r[0] for r in tx_rows] != list(range(len(tx_rows))):
                raise _fail(f"{where}: transaction rows are missing or extra")
            if header.data_hash != data_hash(envelopes):
                raise _fail(f"{where}: data hash does not match its transactions")
            if tuple(r[3] for r in tx_rows) != header.codes:
                raise _fail(f"{where}: stored validation codes differ from the header")
            # The governing configuration: the new one for genesis.
            if number == 0:
                if len(envelopes) != 1:
                    raise _fail("genesis block must hold one configuration transaction")
                try:
                    genesis = Transaction.decode(envelopes[0])
                    config = check_config_transaction(genesis, None, identities,
                                                      header.timestamp)
                except LedgerError as exc:
                    raise _fail(f"genesis configuration is invalid: {exc}") from None
                if tx_rows[0][1] != genesis.tx_id:
                    raise _fail("genesis: stored transaction id differs")
            assert config is not None
            if header.config_sequence != config.sequence:
                raise _fail(f"{where}: validated under configuration {header.config_sequence}"
                            f", the replay has {config.sequence}")
            try:
                orderer = identities.resolve(config, bytes(signer), header.timestamp)
                if orderer.msp_id != config.orderer_msp or orderer.role != "orderer":
                    raise LedgerError("signer is not the channel's orderer")
                orderer.verify(bytes(signature), header.encode())
            except (LedgerError, InvalidSignature) as exc:
                raise _fail(f"{where}: orderer signature: {exc}") from None
            if number > 0:
                config = _replay_block(number, header, tx_rows, envelopes, config, contracts,
                                       identities, state, history, tree, pool,
                                       seen_tx_ids, leaf_origins)
            seen_tx_ids.update(r[1] for r in tx_rows)
            if header.tree_size != tree.size or header.tree_root != tree.root():
                raise _fail(f"{where}: Merkle tree after the block differs from the header")
            previous_hash, previous_time = header.hash, header.timestamp
            report.blocks += 1
            report.transactions += len(tx_rows)
        if expected_number != height:
            raise _fail(f"channel records height {height}, blocks found {expected_number}")
        assert config is not None
        if bytes(channel_row[0]) != config.encode():
            raise _fail("stored channel configuration differs from the replayed one")
        if int(channel_row[2]) != tree.size:
            raise _fail("stored tree size differs from the replayed tree")
        _compare_state(conn, channel, state, history)
        _compare_tree(conn, channel, tree, leaf_origins, open_results)
        report.leaves = tree.size
        report.checkpoints = _check_checkpoints(conn, channel, config, tree)


def _replay_block(number: int, header: BlockHeader, tx_rows: Sequence[Any], envelopes: list[bytes],
                  config: ChannelConfig, contracts: list[str], identities: IdentityCache,
                  state: _MemoryState, history: list[_HistoryRow],
                  tree: MemoryNodeStore, pool: ThreadPoolExecutor, seen_ids: set[str],
                  leaf_origins: list[tuple[int, str]]) -> ChannelConfig:
    where = f"block {number}"
    at = header.timestamp
    first_proposal = None
    try:
        first_proposal = Transaction.decode(envelopes[0]).proposal if envelopes else None
    except LedgerError:
        first_proposal = None
    is_config = first_proposal is not None and first_proposal.contract == "_config"
    codes: list[str] = []
    if is_config:
        if len(envelopes) != 1:
            raise _fail(f"{where}: a configuration transaction must be alone in its block")
        row = tx_rows[0]
        if Transaction.decode(envelopes[0]).tx_id != row[1]:
            raise _fail(f"{where} tx 0: stored id differs from the envelope's")
        if row[4] is not None or row[5] != 0:
            raise _fail(f"{where} tx 0: leaf index or count differs")
        new_config = config
        if row[1] in seen_ids:  # as the committer: a duplicate is never applied
            codes.append(ValidationCode.DUPLICATE_TXID.value)
        else:
            try:
                tx = Transaction.decode(envelopes[0])
                new_config = check_config_transaction(tx, config, identities, at)
                codes.append(ValidationCode.VALID.value)
            except LedgerError:
                codes.append(ValidationCode.BAD_PAYLOAD.value)
        if tuple(codes) != header.codes:
            raise _fail(f"{where}: replayed code {codes} differs from stored {header.codes}")
        return new_config
    checks = check_signatures_parallel(envelopes, config, contracts, identities, at, pool)
    block_state = BlockState(state.versions, state.ranges)
    block_ids: set[str] = set()
    pending_writes: list[tuple[str, str, bytes | None, Version, str]] = []
    for num, (row, check) in enumerate(zip(tx_rows, checks, strict=True)):
        tx_id = row[1]
        code = check.code
        if check.tx is not None and check.tx.tx_id != tx_id:
            raise _fail(f"{where} tx {num}: stored id differs from the envelope's")
        if tx_id in block_ids or tx_id in seen_ids:
            code = ValidationCode.DUPLICATE_TXID
        elif code is ValidationCode.VALID and check.tx is not None:
            code = check_mvcc(check.tx, block_state)
        leaves: list[bytes] = []
        if code is ValidationCode.VALID and check.tx is not None:
            version = Version(number, num)
            apply_writes(check.tx, block_state, version)
            pending_writes.extend((check.tx.proposal.contract, k, v, version, tx_id)
                                  for k, v in check.tx.results.rwset.writes)
            try:
                leaves = leaves_from_event(header.channel, tx_id, check.tx.results.event)
            except LedgerError:
                leaves = []
        if code.value != row[3]:
            raise _fail(f"{where} tx {num} ({tx_id[:16]}…): replay says {code.value}, "
                        f"stored {row[3]}")
        expected_start = tree.size if leaves else None
        if row[4] != expected_start or row[5] != len(leaves):
            raise _fail(f"{where} tx {num}: leaf index or count differs")
        tree.extend(leaf_hash(leaf) for leaf in leaves)
        leaf_origins.extend((number, tx_id) for _ in leaves)
        block_ids.add(tx_id)
        codes.append(code.value)
    for ns, key, value, version, tx_id in pending_writes:
        history.append((ns, key, version.block, version.tx_num, tx_id, value, at))
        if value is None:
            state.values.pop((ns, key), None)
        else:
            state.values[(ns, key)] = (value, version)
    return config


def _compare_state(conn: Any, channel: str, state: _MemoryState,
                   history: list[_HistoryRow]) -> None:
    stored = {(ns, k): (bytes(v), Version(b, t)) for ns, k, v, b, t in conn.execute(
        select(StateRow.namespace, StateRow.key, StateRow.value, StateRow.block,
               StateRow.tx_num).where(StateRow.channel_id == channel))}
    for slot in sorted(set(stored) | set(state.values)):
        if stored.get(slot) != state.values.get(slot):
            raise _fail(f"world state of {slot[0]}/{slot[1]} differs from the replay")
    stored_history = [(ns, k, b, t, tx, bytes(v) if v is not None else None, _utc(ts))
                      for ns, k, b, t, tx, v, ts in conn.execute(
                          select(HistoryRow.namespace, HistoryRow.key, HistoryRow.block,
                                 HistoryRow.tx_num, HistoryRow.tx_id, HistoryRow.value,
                                 HistoryRow.timestamp)
                          .where(HistoryRow.channel_id == channel))]
    for ours, theirs in zip_longest(sorted(history, key=_history_key),
                                    sorted(stored_history, key=_history_key)):
        if ours != theirs:
            # The row that sorts first is the one without a counterpart (or altered).
            row = min((r for r in (ours, theirs) if r is not None), key=_history_key)
            raise _fail(f"key history of {row[0]}/{row[1]} differs from the replay "
                        f"(block {row[2]}, tx {row[3]})")


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _history_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (row[0], row[1], row[2], row[3])


def _compare_tree(conn: Any, channel: str, tree: MemoryNodeStore,
                  leaf_origins: list[tuple[int, str]], open_results: ExitStack) -> None:
    index = 0
    for leaf_index, leaf, block, tx_id in open_results.enter_context(conn.execute(
            select(LeafRow.leaf_index, LeafRow.leaf, LeafRow.block, LeafRow.tx_id)
            .where(LeafRow.channel_id == channel).order_by(LeafRow.leaf_index))):
        if leaf_index != index:
            raise _fail(f"leaf {index} is missing")
        if index >= tree.size or leaf_hash(bytes(leaf)) != tree.node_hashes(
                [NodeAddress(0, index)])[0]:
            raise _fail(f"leaf {index} differs from the replayed entry")
        if (block, tx_id) != leaf_origins[index]:
            raise _fail(f"leaf {index} is attributed to another block or transaction")
        index += 1
    if index != tree.size:
        raise _fail(f"{index} leaves stored, {tree.size} replayed")
    count = 0
    for level, node_index, digest in open_results.enter_context(conn.execute(
            select(NodeRow.level, NodeRow.node_index, NodeRow.hash)
            .where(NodeRow.channel_id == channel))):
        address = NodeAddress(level, node_index)
        if address.end_leaf > tree.size:
            raise _fail(f"stored node {level}/{node_index} lies beyond the tree")
        if tree.node_hashes([address])[0] != bytes(digest):
            raise _fail(f"Merkle node {level}/{node_index} differs from the replay")
        count += 1
    expected = sum(tree.size >> level for level in range(64) if tree.size >> level)
    if count != expected:
        raise _fail(f"{count} Merkle nodes stored, {expected} expected")


def _check_checkpoints(conn: Any, channel: str, config: ChannelConfig,
                       tree: MemoryNodeStore) -> int:
    count = 0
    rows = conn.execute(select(CheckpointRow.tree_size, CheckpointRow.note)
                        .where(CheckpointRow.channel_id == channel)
                        .order_by(CheckpointRow.tree_size)).all()
    if not rows:
        return 0
    signers = conn.execute(select(BlockRow.signer).where(BlockRow.channel_id == channel)
                           .distinct()).scalars().all()
    log_keys = []
    for der in signers:
        try:
            from crypto.x509 import Certificate

            log_keys.append(NoteVerifier(config.origin, Certificate.from_der(bytes(der))
                                         .public_key(), SignatureKind.NOTE))
        except Exception:  # noqa: S112 - an unreadable signer is caught by the block replay
            continue
    for size, note in rows:
        note = bytes(note)
        verified = None
        for key in log_keys:
            try:
                verified = verify_checkpoint(note, key)
                break
            except LedgerError:
                continue
        if verified is None:
            raise _fail(f"checkpoint at size {size}: no valid orderer signature")
        if verified.checkpoint.size != size:
            raise _fail(f"checkpoint row {size} holds a checkpoint of size "
                        f"{verified.checkpoint.size}")
        if size > tree.size or _root_at(tree, size) != verified.checkpoint.root_hash:
            raise _fail(f"checkpoint at size {size}: root differs from the replayed tree")
        count += 1
    return count


def _root_at(tree: MemoryNodeStore, size: int) -> bytes:
    from ledger.merkle import empty_root, stored_root

    return empty_root() if size == 0 else stored_root(size, tree)
