"""The read connection ``SqlLedgerStore.reads`` keeps per thread: reused, yet every
statement sees what was committed before it, never left in a transaction, never shared
with a nested use, discarded after a failure, returned when its thread ends or the store
closes, and never used (nor closed) by a forked child. Runs on SQLite, and on PostgreSQL
when EDUTRUST_TEST_DATABASE_URL is set."""

from __future__ import annotations

import datetime as dt
import gc
import os
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, insert, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from edutrust.database import make_engine
from ledger.storage.sql import ChannelRow, LedgerBase, SqlLedgerStore

CHANNEL = "archives"


def engine_with_channel(database_url: str, **pool: Any) -> Engine:
    engine = make_engine(database_url, **pool)
    LedgerBase.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(ChannelRow), [{
            "channel_id": CHANNEL, "config": b"config", "height": 1, "tree_size": 0,
            "created_at": dt.datetime.now(dt.UTC)}])
    return engine


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = engine_with_channel(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> Iterator[SqlLedgerStore]:
    store = SqlLedgerStore(engine)
    yield store
    store.close()


@pytest.fixture
def checkouts(engine: Engine) -> list[int]:
    """Grows by one on every pool checkout of ``engine``."""
    seen: list[int] = []
    event.listen(engine, "checkout", lambda *_args: seen.append(1))
    return seen


def set_height(engine: Engine, height: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(ChannelRow).where(ChannelRow.channel_id == CHANNEL)
                     .values(height=height))


def driver_of(reads: Any) -> Any:
    return reads.conn.connection.driver_connection


def in_transaction(driver: Any) -> bool:
    if hasattr(driver, "in_transaction"):
        return bool(driver.in_transaction)
    return int(driver.info.transaction_status) != 0


def test_reads_in_one_thread_check_out_once(store: SqlLedgerStore,
                                            checkouts: list[int]) -> None:
    drivers = set()
    for _ in range(5):
        with store.reads(CHANNEL) as reads:
            assert reads.channel_row()[1] == 1
            assert reads.pending_summary() == (0, None)
            drivers.add(id(driver_of(reads)))
    assert len(checkouts) == 1
    assert len(drivers) == 1


def test_each_statement_sees_what_was_committed_before_it(engine: Engine,
                                                          store: SqlLedgerStore) -> None:
    with store.reads(CHANNEL) as reads:
        assert reads.channel_row()[1] == 1
        assert reads.header(0) is None  # through SQLAlchemy, not the driver
        set_height(engine, 2)
        assert reads.channel_row()[1] == 2
        assert reads.pending_summary() == (0, None)
        set_height(engine, 3)
        assert reads.channel_row()[1] == 3
    set_height(engine, 4)
    with store.reads(CHANNEL) as reads:
        assert reads.channel_row()[1] == 4


def test_no_transaction_stays_open_after_a_use(engine: Engine, store: SqlLedgerStore) -> None:
    with store.reads(CHANNEL) as reads:
        reads.channel_row()
        reads.pending_summary()
        reads.receipts(["t1"])
        conn, driver = reads.conn, driver_of(reads)
    assert not in_transaction(driver)
    assert not conn.in_transaction()
    if engine.dialect.name == "postgresql":
        with engine.connect() as other:
            backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            state = other.execute(text("SELECT state FROM pg_stat_activity WHERE pid = :p"),
                                  {"p": backend}).scalar()
        assert state == "idle"
    # A write slipped onto the connection is refused (PostgreSQL: a read-only session,
    # then a fresh connection) or rolled back (SQLite), never left open or committed.
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="read-only"), store.reads(CHANNEL) as reads:
            reads.conn.execute(update(ChannelRow).values(height=99))
        assert conn.closed
        with engine.begin() as writer:  # the read-only session did not reach the pool
            writer.execute(update(ChannelRow).values(height=1))
    else:
        with store.reads(CHANNEL) as reads:
            reads.conn.execute(update(ChannelRow).values(height=99))
        assert not in_transaction(driver)
    with engine.connect() as other:
        assert other.scalar(text("SELECT height FROM ledger_channels")) == 1


def test_a_nested_use_gets_its_own_connection(store: SqlLedgerStore,
                                              checkouts: list[int]) -> None:
    with store.reads(CHANNEL) as outer:
        outer.channel_row()
        with store.reads(CHANNEL) as inner:
            assert inner.conn is not outer.conn
            assert driver_of(inner) is not driver_of(outer)
            assert inner.channel_row()[1] == 1
        assert outer.channel_row()[1] == 1
    assert len(checkouts) == 2
    with store.reads(CHANNEL) as again:
        assert again.conn is outer.conn
    assert len(checkouts) == 2


def test_a_database_error_discards_the_kept_connection(store: SqlLedgerStore,
                                                        checkouts: list[int]) -> None:
    with store.reads(CHANNEL) as reads:
        first = reads.conn
    with pytest.raises(DBAPIError), store.reads(CHANNEL) as reads:
        assert reads.conn is first
        reads.conn.exec_driver_sql("select * from no_such_table")
    assert first.closed
    with store.reads(CHANNEL) as reads:
        assert reads.conn is not first
        assert reads.channel_row()[1] == 1
    assert len(checkouts) == 2


def test_an_error_of_the_callers_own_keeps_the_connection(store: SqlLedgerStore,
                                                          checkouts: list[int]) -> None:
    # A contract refusing a proposal raises inside the endorser's reads: the connection
    # is fine and stays kept, with no transaction left open.
    with store.reads(CHANNEL) as reads:
        first = reads.conn
    with pytest.raises(RuntimeError, match="refused"), store.reads(CHANNEL) as reads:
        assert reads.channel_row()[1] == 1
        raise RuntimeError("refused")
    assert not first.closed
    with store.reads(CHANNEL) as reads:
        assert reads.conn is first
        assert not in_transaction(driver_of(reads))
        assert reads.channel_row()[1] == 1
    assert len(checkouts) == 1


def test_an_interrupt_discards_the_kept_connection(store: SqlLedgerStore) -> None:
    with store.reads(CHANNEL) as reads:
        first = reads.conn
    with pytest.raises(KeyboardInterrupt), store.reads(CHANNEL):
        raise KeyboardInterrupt
    assert first.closed


def test_a_broken_connection_is_never_reused(store: SqlLedgerStore) -> None:
    with store.reads(CHANNEL) as reads:
        broken, driver = reads.conn, driver_of(reads)
    driver.close()  # as if the server had gone away between two uses
    with pytest.raises(Exception) as raised, store.reads(CHANNEL) as reads:
        assert reads.conn is broken
        reads.channel_row()
    assert store.is_database_error(raised.value)  # the driver's, not the test's assert
    with store.reads(CHANNEL) as reads:
        assert reads.conn is not broken
        assert reads.channel_row()[1] == 1


def test_an_idle_connection_is_pinged_and_replaced_if_gone(
        store: SqlLedgerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    with store.reads(CHANNEL) as reads:
        broken, driver = reads.conn, driver_of(reads)
    driver.close()  # the server went away while the connection sat idle
    monkeypatch.setattr(store, "PING_AFTER", 0.0)
    with store.reads(CHANNEL) as reads:  # no failed read: the ping found it gone
        assert reads.conn is not broken
        assert reads.channel_row()[1] == 1
    assert broken.closed


def test_an_ended_thread_returns_its_connection_without_warnings(
        engine: Engine, store: SqlLedgerStore) -> None:
    with store.reads(CHANNEL) as reads:
        reads.channel_row()
    baseline = engine.pool.checkedout()  # type: ignore[attr-defined]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            threads = [threading.Thread(target=lambda: _use(store)) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            del threads
            gc.collect()
            assert engine.pool.checkedout() == baseline  # type: ignore[attr-defined]
    assert [str(w.message) for w in caught] == []


def _use(store: SqlLedgerStore) -> None:
    with store.reads(CHANNEL) as reads:
        assert reads.channel_row()[1] == 1


def test_close_returns_every_kept_connection(engine: Engine, store: SqlLedgerStore,
                                             checkouts: list[int]) -> None:
    used, release = threading.Barrier(3, timeout=30), threading.Event()

    def hold() -> None:
        _use(store)
        used.wait()
        release.wait(30)
        _use(store)  # after close: a checkout of its own, returned at once

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    _use(store)
    used.wait()
    assert engine.pool.checkedout() == 3  # type: ignore[attr-defined]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.close()
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        release.set()
        for thread in threads:
            thread.join()
        _use(store)
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        engine.dispose()
        gc.collect()
    assert [str(w.message) for w in caught] == []
    assert len(checkouts) == 6


def test_threads_beyond_the_pools_share_check_out_as_before(database_url: str) -> None:
    engine = engine_with_channel(database_url, pool_size=3, max_overflow=10)
    store = SqlLedgerStore(engine)
    start, done = threading.Barrier(5, timeout=30), threading.Event()

    def use_and_hold() -> None:
        _use(store)
        start.wait()
        done.wait(30)
        _use(store)

    threads = [threading.Thread(target=use_and_hold) for _ in range(4)]
    for thread in threads:
        thread.start()
    start.wait()
    assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]  # one kept
    done.set()
    for thread in threads:
        thread.join()
    store.close()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    engine.dispose()


def test_a_pool_too_small_to_share_keeps_nothing(database_url: str) -> None:
    # With one connection in the pool, a kept one would leave the block writer none.
    engine = engine_with_channel(database_url, pool_size=1, max_overflow=0, pool_timeout=2)
    store = SqlLedgerStore(engine)
    try:
        with store.reads(CHANNEL) as reads:
            assert reads.channel_row()[1] == 1
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        with store.block_writer(CHANNEL) as writer:
            assert writer.channel_row()[1] == 1
    finally:
        store.close()
        engine.dispose()


def test_the_share_is_counted_per_pool_not_per_store(database_url: str) -> None:
    engine = engine_with_channel(database_url, pool_size=4, max_overflow=10)
    stores = [SqlLedgerStore(engine) for _ in range(3)]
    start, done = threading.Barrier(4, timeout=30), threading.Event()

    def use_and_hold(store: SqlLedgerStore) -> None:
        _use(store)
        start.wait()
        done.wait(30)

    threads = [threading.Thread(target=use_and_hold, args=(s,)) for s in stores]
    try:
        for thread in threads:
            thread.start()
        start.wait()
        # A pool of 4 leaves 2 to writers: 2 kept in all, whatever the number of stores.
        assert engine.pool.checkedout() == 2  # type: ignore[attr-defined]
    finally:
        done.set()
        for thread in threads:
            thread.join()
        for store in stores:
            store.close()
        engine.dispose()


def test_snapshot_and_block_writer_check_out_fresh_connections(
        store: SqlLedgerStore, checkouts: list[int]) -> None:
    with store.reads(CHANNEL) as reads:
        kept = reads.conn
    with store.snapshot() as conn:
        assert conn is not kept
    with store.block_writer(CHANNEL) as writer:
        assert writer.conn is not kept
    assert len(checkouts) == 3


def test_a_single_connection_pool_is_not_kept() -> None:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    LedgerBase.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(ChannelRow), [{
            "channel_id": CHANNEL, "config": b"c", "height": 1, "tree_size": 0,
            "created_at": dt.datetime.now(dt.UTC)}])
    store = SqlLedgerStore(engine)
    seen: list[int] = []
    event.listen(engine, "checkout", lambda *_args: seen.append(1))
    _use(store)
    _use(store)
    assert len(seen) == 2
    engine.dispose()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_neither_uses_nor_closes_the_parents_connection(
        engine: Engine, store: SqlLedgerStore) -> None:
    with store.reads(CHANNEL) as reads:
        parents = driver_of(reads)
        reads.channel_row()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then exit without running the parent's cleanups
        answer = b"fail"
        try:
            os.close(read_end)
            with store.reads(CHANNEL) as reads:
                if driver_of(reads) is not parents and reads.channel_row()[1] == 1:
                    answer = b"ok"
            store.close()
            gc.collect()
        finally:
            os.write(write_end, answer)
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    assert answer == b"ok"
    set_height(engine, 7)
    with store.reads(CHANNEL) as reads:  # the parent's connection still works
        assert driver_of(reads) is parents
        assert reads.channel_row()[1] == 7


def test_many_key_reads_are_never_prepared_on_postgresql(store: SqlLedgerStore) -> None:
    """A server-side prepared ``key IN ($3, ...)`` gets a generic plan that compares every
    row with every parameter: the multi-key reads run unprepared, however often."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (SQLite has no server-side prepared statements)")
    keys = [f"key/{i}" for i in range(20)]
    with store.reads(CHANNEL) as reads:
        for _ in range(12):  # psycopg prepares a statement from its 5th execution on
            assert reads.versions("anchoring", keys) == {}
            assert reads.states("anchoring", keys) == {}
        prepared = reads.conn.exec_driver_sql(
            "select statement from pg_prepared_statements").scalars().all()
    assert not any("IN (" in statement for statement in prepared), prepared
