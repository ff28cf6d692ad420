"""Append-only ledger tables through SQLAlchemy, for SQLite and PostgreSQL.

A block, its transactions, state and history updates, Merkle leaves and nodes, and the
removal of its transactions from the pending queue commit in one database transaction,
so after a crash the ledger resumes at the last committed block with nothing that was
acknowledged lost. Cutting a block first updates the channel row, which serialises
cutters across processes (a row lock on PostgreSQL, the write lock on SQLite).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Text,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Select

from ledger.block import Block, BlockHeader
from ledger.contract import KeyModification, StateEntry
from ledger.errors import LedgerError, MissingNode
from ledger.merkle import NodeAddress
from ledger.tx import Version

_CHUNK = 400  # keys per IN (...) query


class LedgerBase(DeclarativeBase):
    """The ledger's tables; migrations live with the composition root."""


class ChannelRow(LedgerBase):
    __tablename__ = "ledger_channels"
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    config: Mapped[bytes] = mapped_column(LargeBinary)        # current ChannelConfig
    height: Mapped[int] = mapped_column(BigInteger)              # number of blocks
    tree_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BlockRow(LedgerBase):
    __tablename__ = "ledger_blocks"
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    header: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    signer: Mapped[bytes] = mapped_column(LargeBinary)


class TransactionRow(LedgerBase):
    __tablename__ = "ledger_transactions"
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    block: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tx_num: Mapped[int] = mapped_column(Integer, primary_key=True)
    tx_id: Mapped[str] = mapped_column(String(64), index=True)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    code: Mapped[str] = mapped_column(String(40))
    leaf_start: Mapped[int | None] = mapped_column(BigInteger)
    leaf_count: Mapped[int] = mapped_column(Integer)


class StateRow(LedgerBase):
    __tablename__ = "ledger_state"
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    block: Mapped[int] = mapped_column(BigInteger)
    tx_num: Mapped[int] = mapped_column(Integer)


class HistoryRow(LedgerBase):
    __tablename__ = "ledger_history"
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    block: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tx_num: Mapped[int] = mapped_column(Integer, primary_key=True)
    tx_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[bytes | None] = mapped_column(LargeBinary)
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class LeafRow(LedgerBase):
    __tablename__ = "ledger_leaves"
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    block: Mapped[int] = mapped_column(BigInteger)
    tx_id: Mapped[str] = mapped_column(String(64))


class NodeRow(LedgerBase):
    __tablename__ = "ledger_nodes"
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class CheckpointRow(LedgerBase):
    __tablename__ = "ledger_checkpoints"
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    note: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WitnessRow(LedgerBase):
    """What each embedded witness last cosigned, so it never cosigns a fork."""

    __tablename__ = "ledger_witness_state"
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    witness: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(Text)


class PendingRow(LedgerBase):
    """Endorsed transactions waiting for a block. Removed when their block commits."""

    __tablename__ = "ledger_pending"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(String(64), index=True)
    tx_id: Mapped[str] = mapped_column(String(64), unique=True)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    config_tx: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# Statements on the hot paths (every endorsement, transaction and block), built once:
# building a SQLAlchemy statement costs several times more than running it.
_STATE = select(StateRow.value, StateRow.block, StateRow.tx_num).where(
    StateRow.channel_id == bindparam("channel"), StateRow.namespace == bindparam("namespace"),
    StateRow.key == bindparam("key"))
_CHANNEL_ROW = select(ChannelRow.config, ChannelRow.height, ChannelRow.tree_size).where(
    ChannelRow.channel_id == bindparam("channel"))
_HEADER = select(BlockRow.header).where(BlockRow.channel_id == bindparam("channel"),
                                        BlockRow.number == bindparam("number"))
_RECEIPTS = select(TransactionRow.tx_id, TransactionRow.block, TransactionRow.tx_num,
                   TransactionRow.code, TransactionRow.leaf_start,
                   TransactionRow.leaf_count).where(
    TransactionRow.channel_id == bindparam("channel"),
    TransactionRow.tx_id.in_(bindparam("tx_ids", expanding=True))).order_by(
    TransactionRow.block.desc(), TransactionRow.tx_num.desc())
_PENDING_SUMMARY = select(func.count(), func.min(PendingRow.received_at)).where(
    PendingRow.channel_id == bindparam("channel"))
_PENDING_PRESENT = select(PendingRow.seq, PendingRow.tx_id).where(
    PendingRow.seq.in_(bindparam("seqs", expanding=True)))
_PEEK_PENDING = select(PendingRow.seq, PendingRow.tx_id, PendingRow.envelope,
                       PendingRow.config_tx, PendingRow.received_at).where(
    PendingRow.channel_id == bindparam("channel")).order_by(PendingRow.seq).limit(
    bindparam("count"))
_CUTTING_LOCK = update(ChannelRow).where(ChannelRow.channel_id == bindparam("channel")).values(
    height=ChannelRow.height)
_INSERT_PENDING = insert(PendingRow)
_ADVANCE = update(ChannelRow).where(ChannelRow.channel_id == bindparam("channel")).values(
    height=bindparam("new_height"), tree_size=bindparam("new_tree_size"))
_ADVANCE_WITH_CONFIG = _ADVANCE.values(config=bindparam("new_config"))
_DELETE_PENDING = delete(PendingRow).where(PendingRow.seq.in_(bindparam("seqs", expanding=True)))
_NODE_QUERIES: dict[int, Select[int, int, bytes]] = {}
_DRIVER_SQL: dict[tuple[str, str, str, str, int], tuple[str, list[str] | None]] = {}
_KEY_PARAMETERS = [f"k{i}" for i in range(_CHUNK)]


def _keys_query(columns: Sequence[Any], count: int) -> Any:
    """``columns`` of the state rows of ``count`` keys (parameters channel, namespace,
    k0, k1, ...)."""
    return select(*columns).where(
        StateRow.channel_id == bindparam("channel"),
        StateRow.namespace == bindparam("namespace"),
        StateRow.key.in_([bindparam(f"k{i}") for i in range(count)]))


def _committed_query(count: int) -> Any:
    """Which of ``count`` tx ids (parameters channel, k0, k1, ...) have committed."""
    return select(TransactionRow.tx_id).where(
        TransactionRow.channel_id == bindparam("channel"),
        TransactionRow.tx_id.in_([bindparam(f"k{i}") for i in range(count)]))


# Statements run straight through the driver (see ``_Reads._driver_rows``), by name; a
# count is the number of key parameters where a statement has a list of them.
_DRIVER_STATEMENTS: dict[str, Callable[[int], Any]] = {
    "state": lambda _count: _STATE,
    "states": lambda count: _keys_query(
        (StateRow.key, StateRow.value, StateRow.block, StateRow.tx_num), count),
    "versions": lambda count: _keys_query((StateRow.key, StateRow.block, StateRow.tx_num),
                                          count),
    # Not state reads, but as hot: every endorsement reads the channel's configuration,
    # and every block takes the cutting lock, checks its tx ids and advances the channel.
    "channel": lambda _count: _CHANNEL_ROW,
    "committed": _committed_query,
    "cutting_lock": lambda _count: _CUTTING_LOCK,
    "advance": lambda _count: _ADVANCE,
    "advance_config": lambda _count: _ADVANCE_WITH_CONFIG,
}


def _driver_sql(dialect: Dialect, name: str, count: int) -> tuple[str, list[str] | None]:
    """A statement of ``_DRIVER_STATEMENTS`` compiled for the dialect's driver (once per
    dialect and key count): (SQL, parameter order if positional)."""
    which = (dialect.name, dialect.driver, dialect.paramstyle, name, count)
    found = _DRIVER_SQL.get(which)
    if found is None:
        compiled = _DRIVER_STATEMENTS[name](count).compile(dialect=dialect)
        positional = compiled.positiontup
        found = (str(compiled), list(positional) if positional is not None else None)
        _DRIVER_SQL[which] = found
    return found


# The writes of one valid transaction: namespace, its (key, value or None) pairs, the
# version they get, the transaction id.
TransactionWrites = tuple[str, Sequence[tuple[str, bytes | None]], Version, str]


class _BulkInsert:
    """A multi-row INSERT handed to the driver's ``executemany`` with the values already
    in driver form (each column's SQLAlchemy bind processor applied), compiled once per
    dialect from the same SQLAlchemy statement. For a block's thousands of rows this
    skips SQLAlchemy's per-row parameter handling, which cost more than the insert."""

    def __init__(self, build: Callable[[str], Any], columns: Sequence[str]) -> None:
        self._build = build  # dialect name -> statement
        self.columns = list(columns)
        self._compiled: dict[tuple[str, str, str], tuple[str, list[int] | None,
                                                          list[Any]]] = {}

    def _for(self, dialect: Dialect) -> tuple[str, list[int] | None, list[Any]]:
        which = (dialect.name, dialect.driver, dialect.paramstyle)
        found = self._compiled.get(which)
        if found is None:
            statement = self._build(dialect.name)
            compiled = statement.compile(dialect=dialect, column_keys=self.columns)
            table = statement.table
            # Bytes go to both drivers as they are (BLOB, bytea); other bind processors
            # (SQLite's DateTime as text) are applied as SQLAlchemy would.
            processors = [None if isinstance(table.c[name].type, LargeBinary)
                          else table.c[name].type.bind_processor(dialect)
                          for name in self.columns]
            positional = compiled.positiontup
            order = ([self.columns.index(name) for name in positional]
                     if positional is not None else None)
            found = (str(compiled), order, processors)
            self._compiled[which] = found
        return found

    def run(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (tuples in the order of ``columns``) on ``conn``'s transaction."""
        if not rows:
            return
        sql, order, processors = self._for(conn.dialect)
        for i, process in enumerate(processors):
            if process is not None:
                rows = [(*row[:i], process(row[i]) if row[i] is not None else None,
                         *row[i + 1:]) for row in rows]
        params: list[Any]
        if order is not None:
            params = rows if order == list(range(len(self.columns))) else [
                tuple(row[i] for i in order) for row in rows]
        else:
            params = [dict(zip(self.columns, row, strict=True)) for row in rows]
        driver: Any = conn.connection.driver_connection
        cursor = driver.cursor()
        try:
            cursor.executemany(sql, params)
        finally:
            cursor.close()


def _plain_insert(table: Any) -> Callable[[str], Any]:
    return lambda _dialect: insert(table)


def _state_upsert(dialect: str) -> Any:
    insert_fn: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert_fn(StateRow)
    return stmt.on_conflict_do_update(
        index_elements=["channel_id", "namespace", "key"],
        set_={"value": stmt.excluded.value, "block": stmt.excluded.block,
              "tx_num": stmt.excluded.tx_num})


_INSERT_BLOCKS = _BulkInsert(_plain_insert(BlockRow), (
    "channel_id", "number", "header", "hash", "signature", "signer"))
_INSERT_TRANSACTIONS = _BulkInsert(_plain_insert(TransactionRow), (
    "channel_id", "block", "tx_num", "tx_id", "envelope", "code", "leaf_start", "leaf_count"))
_INSERT_LEAVES = _BulkInsert(_plain_insert(LeafRow), (
    "channel_id", "leaf_index", "leaf", "block", "tx_id"))
_INSERT_NODES = _BulkInsert(_plain_insert(NodeRow), (
    "channel_id", "level", "node_index", "hash"))
_INSERT_HISTORY = _BulkInsert(_plain_insert(HistoryRow), (
    "channel_id", "namespace", "key", "block", "tx_num", "tx_id", "value", "timestamp"))
_UPSERT_STATE = _BulkInsert(_state_upsert, (
    "channel_id", "namespace", "key", "value", "block", "tx_num"))


def _node_query(count: int) -> Select[int, int, bytes]:
    """Nodes at ``count`` (level, index) pairs. The channel goes into every term: SQLite's
    planner then searches the primary key once per term instead of scanning all of the
    channel's nodes."""
    query = _NODE_QUERIES.get(count)
    if query is None:
        channel: Any = bindparam("channel")
        query = select(NodeRow.level, NodeRow.node_index, NodeRow.hash).where(or_(*[
            and_(NodeRow.channel_id == channel, NodeRow.level == bindparam(f"l{i}"),
                 NodeRow.node_index == bindparam(f"i{i}")) for i in range(count)]))
        _NODE_QUERIES[count] = query
    return query


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Receipt:
    """Where a committed transaction landed."""

    __slots__ = ("block", "code", "leaf_count", "leaf_start", "tx_id", "tx_num")

    def __init__(self, tx_id: str, block: int, tx_num: int, code: str,
                 leaf_start: int | None, leaf_count: int) -> None:
        self.tx_id, self.block, self.tx_num, self.code = tx_id, block, tx_num, code
        self.leaf_start, self.leaf_count = leaf_start, leaf_count

    def to_doc(self) -> dict[str, Any]:
        return {"tx_id": self.tx_id, "block": self.block, "tx_num": self.tx_num,
                "code": self.code, "leaf_index": self.leaf_start,
                "leaf_count": self.leaf_count}


class _Reads:
    """Reads shared by the store (own connection) and the block writer (its locked one)."""

    def __init__(self, conn: Connection, channel: str) -> None:
        self.conn = conn
        self.channel = channel

    def _driver_rows(self, name: str, namespace: str, keys: list[str]) -> list[Any]:
        """Rows of a state read straight from the driver. State reads run for every key
        an endorser reads and every key a block's transactions read, and SQLAlchemy's
        per-statement and per-row work cost more than the queries; the SQL is compiled
        from the same SQLAlchemy statements."""
        params: dict[str, Any] = {"channel": self.channel, "namespace": namespace}
        if name == "state":
            params["key"] = keys[0]
        else:
            params.update(zip(_KEY_PARAMETERS[:len(keys)], keys, strict=True))
        return self._driver_fetch(name, len(keys), params)

    def _driver_fetch(self, name: str, count: int, params: dict[str, Any]) -> list[Any]:
        rows: list[Any] = self._driver_execute(name, count, params, fetch=True)
        return rows

    def _driver_run(self, name: str, count: int, params: dict[str, Any]) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        changed: int = self._driver_execute(name, count, params, fetch=False)
        return changed

    def _driver_execute(self, name: str, count: int, params: dict[str, Any], *,
                        fetch: bool) -> Any:
        dialect = self.conn.dialect
        sql, order = _driver_sql(dialect, name, count)
        driver: Any = self.conn.connection.driver_connection
        cursor = driver.cursor()
        try:
            values = params if order is None else tuple(params[p] for p in order)
            if count > 1 and dialect.name == "postgresql":
                # Never as a server-side prepared statement: PostgreSQL's generic plan
                # of ``key IN ($3, ..., $1002)`` compares every row of the namespace
                # with each parameter in turn (seconds per block of large batches),
                # where a plan for the actual values hashes them or searches the index.
                cursor.execute(sql, values, prepare=False)
            else:
                cursor.execute(sql, values)
            return list(cursor.fetchall()) if fetch else cursor.rowcount
        finally:
            cursor.close()

    def versions(self, namespace: str, keys: list[str]) -> dict[str, Version]:
        found: dict[str, Version] = {}
        for i in range(0, len(keys), _CHUNK):
            for key, block, tx_num in self._driver_rows("versions", namespace,
                                                        keys[i: i + _CHUNK]):
                found[key] = Version(block, tx_num)
        return found

    def state(self, namespace: str, key: str) -> StateEntry | None:
        # Contracts read one key at a time, so this is the hottest query of endorsement.
        rows = self._driver_rows("state", namespace, [key])
        return StateEntry(bytes(rows[0][0]), Version(rows[0][1], rows[0][2])) if rows else None

    def states(self, namespace: str, keys: list[str]) -> dict[str, StateEntry]:
        """Committed entries of many keys, a few queries for all (absent keys left out)."""
        found: dict[str, StateEntry] = {}
        for i in range(0, len(keys), _CHUNK):
            for key, value, block, tx_num in self._driver_rows("states", namespace,
                                                               keys[i: i + _CHUNK]):
                found[key] = StateEntry(bytes(value), Version(block, tx_num))
        return found

    def history(self, namespace: str, key: str) -> list[KeyModification]:
        rows = self.conn.execute(select(HistoryRow.tx_id, HistoryRow.block, HistoryRow.tx_num,
                                        HistoryRow.value, HistoryRow.timestamp)
                                 .where(HistoryRow.channel_id == self.channel,
                                        HistoryRow.namespace == namespace,
                                        HistoryRow.key == key)
                                 .order_by(HistoryRow.block, HistoryRow.tx_num)).all()
        return [KeyModification(t, Version(b, n), v, _utc(ts)) for t, b, n, v, ts in rows]

    def range(self, namespace: str, start: str, end: str) -> list[tuple[str, StateEntry]]:
        query = (select(StateRow.key, StateRow.value, StateRow.block, StateRow.tx_num)
                 .where(StateRow.channel_id == self.channel, StateRow.namespace == namespace,
                        StateRow.key >= start))
        if end:
            query = query.where(StateRow.key < end)
        rows = self.conn.execute(query.order_by(StateRow.key).limit(10_001)).all()
        if len(rows) > 10_000:
            raise LedgerError("range query returns more than 10000 keys")
        return [(k, StateEntry(v, Version(b, t))) for k, v, b, t in rows]

    def range_versions(self, namespace: str, start: str, end: str) -> list[tuple[str, Version]]:
        return [(k, e.version) for k, e in self.range(namespace, start, end)]

    def node_hashes(self, addresses: Sequence[NodeAddress]) -> list[bytes]:
        if not addresses:
            return []
        found: dict[tuple[int, int], bytes] = {}
        wanted = [(a.level, a.index) for a in addresses]
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i: i + _CHUNK]
            params: dict[str, Any] = {"channel": self.channel}
            for n, (level, index) in enumerate(chunk):
                params[f"l{n}"], params[f"i{n}"] = level, index
            rows = self.conn.execute(_node_query(len(chunk)), params)
            for level, index, digest in rows:
                found[(level, index)] = digest
        try:
            return [found[w] for w in wanted]
        except KeyError as exc:
            raise MissingNode(f"no stored node {exc.args[0]}") from None

    def channel_row(self) -> Any:
        """(configuration, height, tree size) of the channel, or None."""
        rows = self._driver_fetch("channel", 1, {"channel": self.channel})
        return rows[0] if rows else None

    def receipts(self, tx_ids: list[str]) -> dict[str, Receipt]:
        found: dict[str, Receipt] = {}
        for i in range(0, len(tx_ids), _CHUNK):
            rows = self.conn.execute(_RECEIPTS, {"channel": self.channel,
                                                 "tx_ids": tx_ids[i: i + _CHUNK]})
            for tx_id, block, tx_num, code, leaf_start, leaf_count in rows:
                found[tx_id] = Receipt(tx_id, block, tx_num, code, leaf_start, leaf_count)
        return found

    def pending_summary(self) -> tuple[int, dt.datetime | None]:
        count, oldest = self.conn.execute(_PENDING_SUMMARY, {"channel": self.channel}).one()
        return int(count), _utc(oldest) if oldest else None

    def header(self, number: int) -> BlockHeader | None:
        raw = self.conn.scalar(_HEADER, {"channel": self.channel, "number": number})
        return BlockHeader.decode(raw) if raw is not None else None


class BlockWriter(_Reads):
    """A write transaction that holds the channel's cutting lock."""

    def pending_still_there(self, entries: list[tuple[int, str]]) -> set[int]:
        """Which of the (seq, tx_id) pending entries are still queued. The tx id is
        compared too: SQLite reuses the seq of a removed row once the queue is empty, so
        a seq alone may name a newer transaction."""
        wanted = dict(entries)
        present: set[int] = set()
        seqs = list(wanted)
        for i in range(0, len(seqs), _CHUNK):
            present.update(seq for seq, tx_id in self.conn.execute(
                _PENDING_PRESENT, {"seqs": seqs[i: i + _CHUNK]}) if wanted[seq] == tx_id)
        return present

    def committed_tx_ids(self, tx_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(tx_ids), _CHUNK):
            chunk = tx_ids[i: i + _CHUNK]
            params: dict[str, Any] = {"channel": self.channel}
            params.update(zip(_KEY_PARAMETERS[:len(chunk)], chunk, strict=True))
            found.update(row[0] for row in self._driver_fetch("committed", len(chunk),
                                                              params))
        return found

    def write_block(self, block: Block, codes: list[str], tx_ids: list[str],
                    leaves: list[list[bytes]], first_leaf: int,
                    writes: list[TransactionWrites],
                    nodes: list[tuple[int, int, bytes]], timestamp: dt.datetime,
                    pending_seqs: list[int], new_config: bytes | None) -> None:
        header = block.header
        c = self.channel
        _INSERT_BLOCKS.run(self.conn, [(c, header.number, header.encode(), header.hash,
                                        block.signature, block.signer)])
        number = header.number
        tx_rows: list[tuple[Any, ...]] = []
        leaf_rows: list[tuple[Any, ...]] = []
        next_leaf = first_leaf
        for num, (envelope, code, tx_id, tx_leaves) in enumerate(
                zip(block.envelopes, codes, tx_ids, leaves, strict=True)):
            tx_rows.append((c, number, num, tx_id, envelope, code,
                            next_leaf if tx_leaves else None, len(tx_leaves)))
            for leaf in tx_leaves:
                leaf_rows.append((c, next_leaf, leaf, number, tx_id))
                next_leaf += 1
        _INSERT_TRANSACTIONS.run(self.conn, tx_rows)
        _INSERT_LEAVES.run(self.conn, leaf_rows)
        _INSERT_NODES.run(self.conn, [(c, level, index, h) for level, index, h in nodes])
        if writes:
            self._apply_state(writes, timestamp)
        advance: dict[str, Any] = {"channel": c, "new_height": header.number + 1,
                                   "new_tree_size": header.tree_size}
        if new_config is not None:
            advance["new_config"] = new_config
            self._driver_run("advance_config", 1, advance)
        else:
            self._driver_run("advance", 1, advance)
        for i in range(0, len(pending_seqs), _CHUNK):
            self.conn.execute(_DELETE_PENDING, {"seqs": pending_seqs[i: i + _CHUNK]})

    def _apply_state(self, writes: list[TransactionWrites], timestamp: dt.datetime) -> None:
        c = self.channel
        _INSERT_HISTORY.run(self.conn, [(c, ns, k, v.block, v.tx_num, tx_id, value, timestamp)
                                        for ns, pairs, v, tx_id in writes
                                        for k, value in pairs])
        # The last write of a key in the block wins. (Tuples of strings, bytes and ints
        # only: the garbage collector stops tracking them, so a block's thousands of them
        # do not bring on full collections, which walk every object of the process.)
        final: dict[tuple[str, str], tuple[bytes | None, int, int]] = {}
        for ns, pairs, v, _ in writes:
            block, tx_num = v.block, v.tx_num
            for k, value in pairs:
                final[(ns, k)] = (value, block, tx_num)
        deletes = [(ns, k) for (ns, k), (value, _, _) in final.items() if value is None]
        for i in range(0, len(deletes), _CHUNK):
            self.conn.execute(delete(StateRow).where(
                StateRow.channel_id == c,
                tuple_(StateRow.namespace, StateRow.key).in_(deletes[i: i + _CHUNK])))
        _UPSERT_STATE.run(self.conn, [(c, ns, k, value, block, tx_num)
                                      for (ns, k), (value, block, tx_num) in final.items()
                                      if value is not None])


# Connections that a parent process kept for reads, seen from a forked child: the child
# must never close them (closing ends the session the parent still uses) nor let the
# pool clean them up, so they stay referenced here until the child exits.
_INHERITED: list[Connection] = []


def _release_kept(conn: Connection, pid: int, read_only_session: bool) -> None:
    """Give a kept read connection back to its pool (the finalizer of ``_KeptReads``).
    A read-only PostgreSQL session is closed rather than handed to writers."""
    if os.getpid() != pid:
        _INHERITED.append(conn)
        return
    if read_only_session:
        conn.invalidate()
    conn.close()


def _driver_in_transaction(driver: Any) -> bool:
    """Whether the DBAPI connection has a transaction open (True when it cannot tell)."""
    flag = getattr(driver, "in_transaction", None)  # sqlite3
    if isinstance(flag, bool):
        return flag
    status = getattr(getattr(driver, "info", None), "transaction_status", None)  # psycopg
    return status is None or int(status) != 0


class _KeptReads:
    """A thread's kept read connection (see ``SqlLedgerStore.reads``). When the thread
    ends, its thread-local copy goes and the finalizer returns the connection to the
    pool."""

    __slots__ = ("__weakref__", "conn", "driver", "finalizer", "in_use", "pid", "used")

    def __init__(self, conn: Connection, read_only_session: bool) -> None:
        self.conn = conn
        self.driver: Any = conn.connection.driver_connection
        self.pid = os.getpid()
        self.in_use = False
        self.used = time.monotonic()  # when last given out
        self.finalizer = weakref.finalize(self, _release_kept, conn, self.pid,
                                          read_only_session)


class _PoolShare:
    """The read connections kept out of one pool, by every store on it: capped per pool,
    so that writers always find connections."""

    __slots__ = ("kept", "reserved")

    def __init__(self) -> None:
        self.kept: set[weakref.finalize[Any, Any]] = set()
        self.reserved = 0  # being opened


_SHARES: weakref.WeakKeyDictionary[Any, _PoolShare] = weakref.WeakKeyDictionary()
_SHARES_LOCK = threading.Lock()


class SqlLedgerStore:
    """Everything the channel reads and writes, on one SQLAlchemy engine."""

    # Seconds a kept read connection may sit unused before it is pinged on its next use.
    PING_AFTER = 10.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._kept_lock = threading.Lock()
        self._kept: set[weakref.finalize[Any, Any]] = set()  # of this store's connections
        self._closed = False

    @contextmanager
    def reads(self, channel: str) -> Iterator[_Reads]:
        """Committed reads, each statement seeing what was committed before it.

        Endorsement and the commit wait loop come here for every transaction, and a pool
        checkout (with its return-time rollback, and on PostgreSQL a pre-ping round trip)
        cost as much as their queries. So each thread keeps one connection for this, in
        autocommit on PostgreSQL and never left in a transaction, so it holds no snapshot
        or lock between uses. A nested use, and a thread beyond the pool's share, check
        out a connection as before. A database error while it is in use discards the
        kept connection (an error of the caller's own, such as a contract refusing a
        proposal, leaves it in use); one idle for ``PING_AFTER`` seconds is pinged first,
        as the pool would. A session the server ends between two closer uses fails that
        one use (``is_database_error``), and the next gets a fresh connection."""
        kept = self._kept_reads()
        if kept is None:
            with self.engine.connect() as conn:
                yield _Reads(conn, channel)
            return
        conn = kept.conn
        kept.in_use = True
        try:
            yield _Reads(conn, channel)
        except Exception as exc:
            if self.is_database_error(exc):
                self._discard(kept)
            else:
                self._end_use(kept)
            raise
        except BaseException:
            self._discard(kept)
            raise
        else:
            self._end_use(kept)
        finally:
            kept.in_use = False

    def is_database_error(self, exc: Exception) -> bool:
        """Whether ``exc`` came from the database or its driver (not from the caller)."""
        dbapi: Any = self.engine.dialect.loaded_dbapi
        return isinstance(exc, (SQLAlchemyError, dbapi.Error))

    def _end_use(self, kept: _KeptReads) -> None:
        """Leave no transaction open on the kept connection (discard it if that fails)."""
        try:
            if kept.conn.in_transaction() or _driver_in_transaction(kept.driver):
                kept.conn.rollback()
        except BaseException:
            self._discard(kept)
            raise

    def _kept_reads(self) -> _KeptReads | None:
        """This thread's kept read connection, made on first use; None for a nested use,
        once the store is closed, or when the pool has no share for this thread."""
        kept: _KeptReads | None = getattr(self._local, "kept", None)
        if kept is not None:
            if kept.in_use:
                return None
            if kept.pid == os.getpid() and kept.finalizer.alive and self._alive(kept):
                return kept
            self._local.kept = kept = None  # forked, closed by close(), or broken
        if self._closed or getattr(self._local, "no_share", False):
            return None
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):  # e.g. SQLite in memory: one connection
            return None
        with _SHARES_LOCK:
            share = _SHARES.get(pool)
            if share is None:
                share = _SHARES[pool] = _PoolShare()
            share.kept = {f for f in share.kept if f.alive}
            # Kept connections stay checked out for their thread's life: leave at least
            # two of the pool's steady connections to writers and other readers (so a
            # pool of fewer than three keeps none).
            if len(share.kept) + share.reserved >= pool.size() - 2:
                self._local.no_share = True
                return None
            share.reserved += 1
        try:
            conn = self.engine.connect()
        except BaseException:
            with _SHARES_LOCK:
                share.reserved -= 1
            raise
        postgresql = conn.dialect.name == "postgresql"
        try:
            if postgresql:
                # Each statement commits on its own, so the session never sits idle in a
                # transaction; read-only, as a write would otherwise commit at once.
                conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                conn.rollback()
            kept = _KeptReads(conn, postgresql)
        except BaseException:
            if postgresql:
                conn.invalidate()  # it may have become read-only
            conn.close()
            with _SHARES_LOCK:
                share.reserved -= 1
            raise
        with _SHARES_LOCK:
            share.reserved -= 1
            share.kept.add(kept.finalizer)
        with self._kept_lock:
            if self._closed:
                kept.finalizer()
                return None
            self._kept = {f for f in self._kept if f.alive}
            self._kept.add(kept.finalizer)
        self._local.kept = kept
        return kept

    def _alive(self, kept: _KeptReads) -> bool:
        """False (and discarded) if a connection idle for PING_AFTER seconds no longer
        answers; pinged only then, so the hot paths pay nothing."""
        now = time.monotonic()
        idle, kept.used = now - kept.used, now
        if idle < self.PING_AFTER:
            return True
        try:
            cursor = kept.driver.cursor()
            try:
                cursor.execute("SELECT 1")
                cursor.fetchall()
            finally:
                cursor.close()
        except Exception as exc:
            if not self.is_database_error(exc):
                raise
            self._discard(kept)
            return False
        return True

    def _discard(self, kept: _KeptReads) -> None:
        """Close a kept connection after a failure: the next use gets a fresh one."""
        if getattr(self._local, "kept", None) is kept:
            self._local.kept = None
        with self._kept_lock:
            self._kept.discard(kept.finalizer)
        kept.finalizer()

    def close(self) -> None:
        """Return the connections this store keeps for reads to the pool (call before
        ``engine.dispose()``); later reads check out connections as without them. Call
        it once the threads using the store are done."""
        with self._kept_lock:
            self._closed = True
            finalizers, self._kept = self._kept, set()
        for finalizer in finalizers:
            finalizer()

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only connection on which every statement sees the same committed state,
        for readers such as the audit that must not mix in blocks committed meanwhile.
        (Without it each statement reads its own snapshot: READ COMMITTED on PostgreSQL,
        and the SQLite driver opens no transaction for reads.)"""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ",
                                       postgresql_readonly=True)
            elif conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")  # deferred: the first read fixes the snapshot
            yield conn

    @contextmanager
    def block_writer(self, channel: str) -> Iterator[BlockWriter]:
        """A transaction holding the channel's cutting lock; commits on normal exit."""
        with self.engine.begin() as conn:
            writer = BlockWriter(conn, channel)
            if writer._driver_run("cutting_lock", 1, {"channel": channel}) != 1:
                raise LedgerError(f"no channel {channel}")
            yield writer

    # -- channel lifecycle --------------------------------------------------------------
    def channel_exists(self, channel: str) -> bool:
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(ChannelRow)
                               .where(ChannelRow.channel_id == channel)) == 1

    def create_channel(self, channel: str, config: bytes, genesis: Block, tx_id: str,
                       created_at: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(ChannelRow), [{
                "channel_id": channel, "config": config, "height": 0, "tree_size": 0,
                "created_at": created_at}])
            writer = BlockWriter(conn, channel)
            writer.write_block(genesis, ["VALID"], [tx_id], [[]], 0, [], [], created_at, [],
                               None)

    def channels(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.scalars(select(ChannelRow.channel_id).order_by(
                ChannelRow.channel_id)))

    # -- pending queue -------------------------------------------------------------------
    def enqueue(self, channel: str, tx_id: str, envelope: bytes, *, config_tx: bool = False
                ) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(_INSERT_PENDING, [{
                    "channel_id": channel, "tx_id": tx_id, "envelope": envelope,
                    "config_tx": int(config_tx), "received_at": dt.datetime.now(dt.UTC)}])
        except IntegrityError:
            raise LedgerError(f"transaction {tx_id} is already waiting to be ordered") from None

    def enqueue_many(self, channel: str, items: list[tuple[str, bytes]]) -> None:
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            conn.execute(_INSERT_PENDING, [
                {"channel_id": channel, "tx_id": t, "envelope": e, "config_tx": 0,
                 "received_at": now} for t, e in items])

    def peek_pending(self, channel: str, max_count: int, max_bytes: int
                     ) -> list[tuple[int, str, bytes, bool, dt.datetime]]:
        """The oldest pending transactions that fit one block (a config transaction
        always goes alone)."""
        with self.engine.connect() as conn:
            rows = conn.execute(_PEEK_PENDING, {"channel": channel, "count": max_count}).all()
        batch: list[tuple[int, str, bytes, bool, dt.datetime]] = []
        size = 0
        for seq, tx_id, envelope, config_tx, received in rows:
            if config_tx:
                if not batch:
                    batch.append((seq, tx_id, envelope, True, _utc(received)))
                break
            if batch and size + len(envelope) > max_bytes:
                break
            size += len(envelope)
            batch.append((seq, tx_id, envelope, False, _utc(received)))
        return batch

    def pending_summary(self, channel: str) -> tuple[int, dt.datetime | None]:
        with self.engine.connect() as conn:
            return _Reads(conn, channel).pending_summary()

    def is_pending(self, tx_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(PendingRow)
                               .where(PendingRow.tx_id == tx_id)) == 1

    # -- reading the ledger --------------------------------------------------------------
    def receipt(self, channel: str, tx_id: str) -> Receipt | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(TransactionRow.block, TransactionRow.tx_num,
                                      TransactionRow.code, TransactionRow.leaf_start,
                                      TransactionRow.leaf_count)
                               .where(TransactionRow.channel_id == channel,
                                      TransactionRow.tx_id == tx_id)
                               .order_by(TransactionRow.block, TransactionRow.tx_num)).first()
        return Receipt(tx_id, *row) if row else None

    def receipts(self, channel: str, tx_ids: list[str]) -> dict[str, Receipt]:
        with self.engine.connect() as conn:
            return _Reads(conn, channel).receipts(tx_ids)

    def get_state(self, channel: str, namespace: str, key: str) -> StateEntry | None:
        with self.engine.connect() as conn:
            return _Reads(conn, channel).state(namespace, key)

    def history(self, channel: str, namespace: str, key: str) -> list[KeyModification]:
        with self.engine.connect() as conn:
            return _Reads(conn, channel).history(namespace, key)

    def block(self, channel: str, number: int) -> Block | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(BlockRow.header, BlockRow.signature, BlockRow.signer)
                               .where(BlockRow.channel_id == channel,
                                      BlockRow.number == number)).first()
            if row is None:
                return None
            envelopes = conn.scalars(select(TransactionRow.envelope).where(
                TransactionRow.channel_id == channel, TransactionRow.block == number)
                .order_by(TransactionRow.tx_num)).all()
        return Block(BlockHeader.decode(row[0]), tuple(envelopes), row[1], row[2])

    def leaf(self, channel: str, index: int) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.scalar(select(LeafRow.leaf).where(LeafRow.channel_id == channel,
                                                          LeafRow.leaf_index == index))

    def latest_checkpoint(self, channel: str) -> tuple[int, bytes] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(CheckpointRow.tree_size, CheckpointRow.note)
                               .where(CheckpointRow.channel_id == channel)
                               .order_by(CheckpointRow.tree_size.desc()).limit(1)).first()
        return (row[0], row[1]) if row else None

    def witness_state(self, channel: str, witness: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(select(WitnessRow.state).where(
                WitnessRow.channel_id == channel, WitnessRow.witness == witness))

    def store_checkpoint(self, channel: str, tree_size: int, note: bytes,
                         witness_states: dict[str, str]) -> None:
        """Store a checkpoint and what each witness cosigned. Concurrent writers are
        fine: a checkpoint of a size already stored is dropped, and a witness's state
        only ever moves forward."""
        try:
            with self.engine.begin() as conn:
                exists = conn.scalar(select(func.count()).select_from(CheckpointRow).where(
                    CheckpointRow.channel_id == channel, CheckpointRow.tree_size == tree_size))
                if exists:
                    return
                conn.execute(insert(CheckpointRow), [{
                    "channel_id": channel, "tree_size": tree_size, "note": note,
                    "created_at": dt.datetime.now(dt.UTC)}])
                for name, state in witness_states.items():
                    current = conn.scalar(select(WitnessRow.state).where(
                        WitnessRow.channel_id == channel, WitnessRow.witness == name))
                    if current is None:
                        conn.execute(insert(WitnessRow), [{
                            "channel_id": channel, "witness": name, "state": state}])
                    elif json.loads(current)["size"] < json.loads(state)["size"]:
                        conn.execute(update(WitnessRow).where(
                            WitnessRow.channel_id == channel, WitnessRow.witness == name)
                            .values(state=state))
        except IntegrityError:
            return  # another process stored this size (or a witness row) first
