"""Ledger benchmark: durable throughput of the embedded ledger on SQLite and PostgreSQL,
set beside the ceilings this machine puts on it, measured in the same run.

For each database, with a 2-of-3 endorsement policy (the default of the embedded network)
and every acknowledged transaction committed durably:

- transactions per second at block sizes 1, 100 and 1,000 (each transaction anchors one
  entry), end to end (endorse, order, validate, commit) and for order + commit alone;
- anchored entries per second when transactions carry 1, 100 and 1,000 entries;
- inclusion proofs generated and verified per second in a tree of 10^6 leaves;
- audit (replay from genesis) time, given per 10^5 transactions.

Beside them: the ceiling of raw durable inserts into the same database, the ceiling the
SM2 signatures and verifications of each transaction set on these cores (both measured
in the same run, alternating with ours round by round), and the published figures of
Hyperledger Fabric 2.5 and Tessera's POSIX log with their hardware (not run here).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
    text,
    update,
)

from bench import Options, Report, Row, ops_per_second, progress
from crypto.sm2 import SM2PrivateKey
from crypto.sm3 import sm3
from edutrust.database import make_engine, migrate
from ledger.audit import audit_channel
from ledger.canonical import canonical_json
from ledger.channel import Channel, Peer
from ledger.config import BatchParameters, ChannelConfig
from ledger.contracts.anchoring import AnchoringContract
from ledger.embedded import EmbeddedOrganisation, channel_config, create_organisation
from ledger.merkle import leaf_hash, node_hash, verify_inclusion
from ledger.msp import SigningIdentity
from ledger.storage.sql import ChannelRow, LedgerBase, SqlLedgerStore
from ledger.tx import Transaction

TITLE = "Ledger (issue: permissioned ledger)"
PG_URL = os.environ.get("EDUTRUST_BENCH_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ORIGIN = "edutrust.bench/ledger"
ENDORSEMENT = "OutOf(2, 'Ministry.peer', 'Province.peer', 'School.peer')"
BLOCK_SIZES = (1, 100, 1000)
ENTRY_BATCHES = (1, 100, 1000)
CORES = 2  # threads for endorsement, validation and the SM2 ceiling
# SM2 operations per transaction on the path measured here: the client signs the
# proposal, each of the 2 endorsers signs the results; the committer verifies the
# creator's signature and the 2 endorsements; the orderer signs each block header.
# Certificate chains are validated once per configuration and cached.
SIGNS_PER_TX = 3
VERIFIES_PER_TX = 3
TX_GOAL = 0.8
ENTRIES_GOAL = 20_000.0
VERIFY_GOAL = 50_000.0
FABRIC_TPS = 2946.7
TESSERA_HDD = 2900.0
TESSERA_NVME = 10000.0


@dataclass(frozen=True)
class Scale:
    """How much work each row does: transactions per row, tree size, audit size."""

    rounds: int
    transactions: dict[int, int]  # block size -> transactions per round
    entry_transactions: dict[int, int]  # entries per transaction -> transactions
    entry_block: dict[int, int]  # entries per transaction -> block size
    proof_leaves: int
    audit_transactions: int


QUICK = Scale(rounds=1, transactions={1: 10, 100: 200, 1000: 1000},
              entry_transactions={100: 10, 1000: 2}, entry_block={1: 100, 100: 10, 1000: 2},
              proof_leaves=100_000, audit_transactions=500)
DEFAULT = Scale(rounds=3, transactions={1: 40, 100: 500, 1000: 2000},
                entry_transactions={100: 50, 1000: 8},
                entry_block={1: 100, 100: 25, 1000: 4},
                proof_leaves=1_000_000, audit_transactions=10_000)
FULL = Scale(rounds=3, transactions=DEFAULT.transactions,
             entry_transactions=DEFAULT.entry_transactions, entry_block=DEFAULT.entry_block,
             proof_leaves=1_000_000, audit_transactions=100_000)


# ---------------------------------------------------------------- databases

@dataclass
class Database:
    """One database under test: a fresh SQLite file or a fresh PostgreSQL schema."""

    name: str
    url: str
    engine: Engine
    store: SqlLedgerStore
    version: str


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="edutrust-bench-") as folder:
        url = f"sqlite:///{folder}/ledger.db"
        engine = make_engine(url)  # WAL, synchronous=FULL: every commit is fsynced
        store = SqlLedgerStore(engine)
        try:
            migrate(engine)
            with engine.connect() as conn:
                version = conn.exec_driver_sql("select sqlite_version()").scalar()
                mode = conn.exec_driver_sql("pragma journal_mode").scalar()
                sync = conn.exec_driver_sql("pragma synchronous").scalar()
            yield Database("SQLite", url, engine, store,
                           f"SQLite {version} (journal_mode={mode}, synchronous={sync} "
                           "= FULL), file in a temporary folder on the local disk")
        finally:
            store.close()
            engine.dispose()


@contextmanager
def postgres_database(url: str) -> Iterator[Database]:
    """A schema of its own, dropped afterwards (as tests/conftest.py does)."""
    schema = "bench_" + uuid.uuid4().hex[:12]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            settings = {name: conn.exec_driver_sql(f"show {name}").scalar()
                        for name in ("server_version", "fsync", "synchronous_commit")}
        separator = "&" if "?" in url else "?"
        scoped = f"{url}{separator}options=-csearch_path%3D{schema}"
        engine = make_engine(scoped)
        store = SqlLedgerStore(engine)
        try:
            migrate(engine)
            yield Database("PostgreSQL", scoped, engine, store,
                           f"PostgreSQL {settings['server_version']} on 127.0.0.1 "
                           f"(fsync={settings['fsync']}, synchronous_commit="
                           f"{settings['synchronous_commit']}), schema {schema}, dropped "
                           "afterwards")
        finally:
            store.close()
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def postgres_reachable(url: str) -> str | None:
    """None if PostgreSQL answers, else why not (one line)."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # any driver or network error means: skip the rows
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    return None


# ---------------------------------------------------------------- the network

@dataclass
class Network:
    """Three organisations, as in the embedded network; channels are created per row."""

    orgs: dict[str, EmbeddedOrganisation]

    @classmethod
    def create(cls) -> Network:
        def new_key(_name: str) -> SM2PrivateKey:
            return SM2PrivateKey.generate()

        return cls({
            "Ministry": create_organisation("Ministry", "Ministry", new_key,
                                            ("peer", "admin", "client", "orderer")),
            "Province": create_organisation("Province", "Province", new_key),
            "School": create_organisation("School", "School", new_key),
        })

    @property
    def client(self) -> SigningIdentity:
        return self.orgs["School"].role("client")

    @property
    def orderer(self) -> SigningIdentity:
        return self.orgs["Ministry"].role("orderer")

    def channel(self, db: Database, channel_id: str, block: int) -> Channel:
        config: ChannelConfig = channel_config(
            channel_id, ORIGIN, list(self.orgs.values()), "Ministry",
            endorsement=ENDORSEMENT,
            batch=BatchParameters(max_count=block, timeout_ms=1000))
        Channel.create(db.store, config, [self.orgs["Ministry"].role("admin"),
                                          self.orgs["Province"].role("admin")], self.orderer)
        return Channel(db.store, channel_id, contracts=[AnchoringContract()],
                       peers=[Peer(o.role("peer")) for o in self.orgs.values()],
                       orderer=self.orderer, workers=CORES)


def entries_argument(prefix: str, number: int, count: int) -> str:
    """The ``anchor`` argument: ``count`` entries with distinct keys and SM3 digests."""
    return canonical_json([
        {"key": f"{prefix}/{number}/{j}",
         "digest": sm3(f"{prefix}/{number}/{j}".encode()).hex()}
        for j in range(count)]).decode()


@dataclass
class Throughput:
    transactions: int
    entries: int
    endorse_seconds: float
    commit_seconds: float

    @property
    def end_to_end(self) -> float:
        return self.transactions / (self.endorse_seconds + self.commit_seconds)

    @property
    def commit_only(self) -> float:
        return self.transactions / self.commit_seconds

    @property
    def entries_per_second(self) -> float:
        return self.entries / (self.endorse_seconds + self.commit_seconds)


def run_transactions(network: Network, channel: Channel, prefix: str, count: int,
                     entries: int, block: int) -> Throughput:
    """Endorse ``count`` transactions on CORES threads, then submit them in chunks of
    ``block`` so that each chunk is one block; every receipt must say VALID."""
    arguments = [entries_argument(prefix, i, entries) for i in range(count)]
    client = network.client

    def endorse(argument: str) -> Transaction:
        return channel.endorse(client, "anchoring", "anchor", argument)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CORES) as pool:
        transactions = list(pool.map(endorse, arguments))
    endorsed = time.perf_counter()
    for i in range(0, count, block):
        receipts = channel.submit_endorsed(transactions[i: i + block])
        invalid = {r.code for r in receipts.values() if r.code != "VALID"}
        if invalid:
            raise RuntimeError(f"bench: transactions were not valid: {sorted(invalid)}")
    committed = time.perf_counter()
    return Throughput(count, count * entries, endorsed - start, committed - endorsed)


@dataclass
class ClientRun:
    """Clients submitting at once: transactions committed and the wall time it took."""

    transactions: int
    entries: int
    seconds: float

    @property
    def end_to_end(self) -> float:
        return self.transactions / self.seconds

    @property
    def entries_per_second(self) -> float:
        return self.entries / self.seconds


def run_clients(network: Network, channel: Channel, prefix: str, count: int,
                entries: int, block: int) -> ClientRun:
    """End to end as clients use the ledger: CORES client threads at once, each
    repeatedly endorsing ``block`` transactions and submitting them together
    (``submit_endorsed``, one block), waiting for their commit before the next. One
    client's endorsements run while the other's block commits, as with several
    application workers sharing a channel. Every receipt must say VALID."""
    arguments = [entries_argument(prefix, i, entries) for i in range(count)]
    chunks = iter([arguments[i: i + block] for i in range(0, count, block)])
    take = threading.Lock()
    failures: list[str] = []
    client = network.client

    def submitter() -> None:
        while not failures:
            with take:
                chunk = next(chunks, None)
            if chunk is None:
                return
            try:
                transactions = [channel.endorse(client, "anchoring", "anchor", a)
                                for a in chunk]
                receipts = channel.submit_endorsed(transactions)
            except Exception as exc:  # reported below, as the two-phase run would raise
                failures.append(f"{type(exc).__name__}: {exc}")
                return
            invalid = {r.code for r in receipts.values() if r.code != "VALID"}
            if invalid:
                failures.append(f"transactions were not valid: {sorted(invalid)}")

    threads = [threading.Thread(target=submitter) for _ in range(CORES)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"bench: {failures[0]}")
    return ClientRun(count, count * entries, took)


# ---------------------------------------------------------------- ceilings

def parallel_rate(op: Callable[[], object], seconds: float, threads: int = CORES) -> float:
    """Calls per wall-clock second of ``op`` run on ``threads`` threads at once."""
    op()
    barrier = threading.Barrier(threads + 1)
    counts = [0] * threads

    def work(slot: int) -> None:
        barrier.wait()
        deadline = time.perf_counter() + seconds
        done = 0
        while time.perf_counter() < deadline:
            op()
            done += 1
        counts[slot] = done

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - start)


@dataclass
class SM2Rates:
    signs: float
    verifies: float

    def tx_ceiling(self, block: int) -> float:
        """Transactions/s if SM2 were the only work (orderer signature amortised)."""
        return 1 / ((SIGNS_PER_TX + 1 / block) / self.signs + VERIFIES_PER_TX / self.verifies)

    def commit_ceiling(self, block: int) -> float:
        """Order + commit alone: the committer's verifications and the block signature."""
        return 1 / ((1 / block) / self.signs + VERIFIES_PER_TX / self.verifies)

    def audit_ceiling(self, block: int) -> float:
        """Replay: every transaction's verifications and each block's orderer signature."""
        return 1 / ((VERIFIES_PER_TX + 1 / block) / self.verifies)

    @staticmethod
    def around(before: SM2Rates, after: SM2Rates) -> SM2Rates:
        """The rates while a row ran, from probes right before and right after it."""
        return SM2Rates((before.signs + after.signs) / 2,
                        (before.verifies + after.verifies) / 2)


def measure_sm2(network: Network, seconds: float) -> SM2Rates:
    """Signs/s and verifies/s on CORES threads, over a real proposal's signed bytes."""
    client = network.client
    message = Transaction.decode(_sample_envelope(network)).proposal.signed_bytes()
    signature = client.sign(message)
    identity = client.identity
    signs = parallel_rate(lambda: client.sign(message), seconds)
    verifies = parallel_rate(lambda: identity.verify(signature, message), seconds)
    return SM2Rates(signs, verifies)


_SAMPLE: dict[str, bytes] = {}


def _sample_envelope(network: Network) -> bytes:
    """A representative one-entry envelope (for message and row sizes)."""
    if "envelope" not in _SAMPLE:
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{folder}/sample.db")
            try:
                migrate(engine)
                db = Database("SQLite", "", engine, SqlLedgerStore(engine), "")
                channel = network.channel(db, "sample", 1)
                tx = channel.endorse(network.client, "anchoring", "anchor",
                                     entries_argument("sample", 0, 1))
                channel.close()
                db.store.close()
                _SAMPLE["envelope"] = tx.encode()
            finally:
                engine.dispose()
    return _SAMPLE["envelope"]


RAW_METADATA = MetaData()
RAW_TABLE = Table(
    "bench_raw_inserts", RAW_METADATA,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("channel_id", String(64), nullable=False),
    Column("tx_id", String(64), nullable=False, index=True),
    Column("envelope", LargeBinary, nullable=False),
    Column("code", String(40), nullable=False),
    Column("block", BigInteger, nullable=False),
)


@dataclass
class RawInserts:
    single: float  # committed rows/s, one row per transaction
    batched: float  # committed rows/s, RAW_BATCH rows per transaction


RAW_BATCH = 1000


def measure_raw_inserts(db: Database, envelope: bytes, seconds: float) -> RawInserts:
    """Durable INSERT + COMMIT into a table as wide as ledger_transactions, same database."""
    RAW_METADATA.create_all(db.engine)
    counter = iter(range(10**12))

    def row() -> dict[str, Any]:
        n = next(counter)
        return {"channel_id": "raw", "tx_id": f"{n:064x}", "envelope": envelope,
                "code": "VALID", "block": n}

    def one() -> None:
        with db.engine.begin() as conn:
            conn.execute(insert(RAW_TABLE), [row()])

    def many() -> None:
        rows = [row() for _ in range(RAW_BATCH)]
        with db.engine.begin() as conn:
            conn.execute(insert(RAW_TABLE), rows)

    try:
        single = ops_per_second(one, seconds)
        batched = ops_per_second(many, seconds) * RAW_BATCH
    finally:
        RAW_METADATA.drop_all(db.engine)
    return RawInserts(single, batched)


# ---------------------------------------------------------------- proofs

@dataclass
class ProofTree:
    """Leaf hashes and every perfect-subtree hash of a tree built in memory."""

    size: int
    levels: list[list[bytes]]


def build_tree(size: int) -> ProofTree:
    """The perfect subtrees of ``size`` leaves, level by level (RFC 9162 with SM3)."""
    level = [leaf_hash(b"bench leaf %d" % i) for i in range(size)]
    levels = [level]
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        levels.append(level)
    return ProofTree(size, levels)


def load_tree(db: Database, network: Network, tree: ProofTree, channel_id: str) -> Channel:
    """A channel whose node table holds ``tree``: the rows a ledger of that many
    entries would have in ledger_nodes, written directly instead of through
    transactions (its blocks do not cover them: never audit this channel)."""
    channel = network.channel(db, channel_id, 100)
    rows = ((level, index, digest) for level, hashes in enumerate(tree.levels)
            for index, digest in enumerate(hashes))
    with db.engine.begin() as conn:
        raw: Any = conn.connection.driver_connection
        if db.engine.dialect.name == "postgresql":
            with raw.cursor() as cur, cur.copy(
                    "COPY ledger_nodes (channel_id, level, node_index, hash) FROM STDIN") as copy:
                for level, index, digest in rows:
                    copy.write_row((channel_id, level, index, digest))
        else:
            raw.executemany("INSERT INTO ledger_nodes (channel_id, level, node_index, hash) "
                            "VALUES (?, ?, ?, ?)",
                            ((channel_id, lv, ix, h) for lv, ix, h in rows))
        conn.execute(update(ChannelRow).where(ChannelRow.channel_id == channel_id)
                     .values(tree_size=tree.size))
    return channel


def check_tree(channel: Channel, tree: ProofTree) -> bytes:
    """The stored tree answers proofs that verify against its root; the root."""
    root = channel.root(tree.size)
    for index in (0, tree.size // 3, tree.size - 1):
        proof = channel.inclusion_proof(index, tree.size)
        verify_inclusion(tree.levels[0][index], index, tree.size, proof.hashes, root)
    return root


def measure_proof_generation(channel: Channel, size: int, seconds: float) -> float:
    rng = random.Random(1)
    return ops_per_second(lambda: channel.inclusion_proof(rng.randrange(size), size), seconds)


def measure_point_selects(db: Database, channel_id: str, size: int, seconds: float) -> float:
    """A raw ceiling for proof reads: one ledger_nodes row by primary key per query,
    straight through the driver on one open connection."""
    rng = random.Random(2)
    sql = ("select hash from ledger_nodes where channel_id = ? and level = 0 "
           "and node_index = ?")
    if db.engine.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    with db.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        cur = raw.cursor()
        try:
            return ops_per_second(
                lambda: cur.execute(sql, (channel_id, rng.randrange(size))).fetchone(),
                seconds)
        finally:
            cur.close()


@dataclass(frozen=True)
class ProofSample:
    """Proofs of random leaves, for verification (no database involved)."""

    size: int
    root: bytes
    items: list[tuple[bytes, int, tuple[bytes, ...]]]


def proof_sample(channel: Channel, tree: ProofTree, root: bytes, count: int) -> ProofSample:
    rng = random.Random(3)
    items = []
    for _ in range(count):
        index = rng.randrange(tree.size)
        items.append((tree.levels[0][index], index,
                      channel.inclusion_proof(index, tree.size).hashes))
    return ProofSample(tree.size, root, items)


def _verify_loop(sample: ProofSample, seconds: float) -> float:
    items, size, root = sample.items, sample.size, sample.root
    position = [0]

    def verify() -> None:
        leaf, index, hashes = items[position[0] % len(items)]
        position[0] += 1
        verify_inclusion(leaf, index, size, hashes, root)

    return ops_per_second(verify, seconds)


def _verify_process(sample: ProofSample, seconds: float, barrier: Any, results: Any) -> None:
    barrier.wait()
    results.put(_verify_loop(sample, seconds))


def measure_verification(sample: ProofSample, seconds: float) -> tuple[float, float]:
    """(verifications/s in this thread, verifications/s of CORES processes together).

    hashlib keeps the GIL for inputs this small, so threads would not add up; a verifier
    serving many clients runs one process per core.
    """
    single = _verify_loop(sample, seconds)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(CORES)
    results = context.Queue()
    processes = [context.Process(target=_verify_process,
                                 args=(sample, seconds, barrier, results))
                 for _ in range(CORES)]
    for process in processes:
        process.start()
    rates = [results.get(timeout=120 + 4 * seconds) for _ in processes]
    for process in processes:
        process.join()
    return single, sum(rates)


# ---------------------------------------------------------------- audit

AUDIT_CHANNEL = "audit"
AUDIT_BLOCK = 100


def build_audit_ledger(network: Network, db: Database, count: int) -> None:
    """``count`` one-entry transactions in blocks of AUDIT_BLOCK, committed normally."""
    channel = network.channel(db, AUDIT_CHANNEL, AUDIT_BLOCK)
    chunk = 1000
    try:
        for start in range(0, count, chunk):
            run_transactions(network, channel, f"audit{start}", min(chunk, count - start),
                             1, AUDIT_BLOCK)
    finally:
        channel.close()


def copy_channel(source: Database, target: Database, channel_id: str) -> None:
    """Every row of a channel, table by table: the same ledger in another database
    (committing it again there would only repeat the throughput rows)."""
    with source.engine.connect() as reader, target.engine.begin() as writer:
        for table in LedgerBase.metadata.sorted_tables:
            if "channel_id" not in table.c:
                continue
            rows = [dict(r._mapping) for r in reader.execute(
                select(table).where(table.c.channel_id == channel_id))]
            for i in range(0, len(rows), 5000):
                writer.execute(insert(table), rows[i: i + 5000])


def measure_audit(db: Database, channel_id: str) -> tuple[float, int]:
    """(seconds, transactions replayed) for one full audit of the channel."""
    start = time.perf_counter()
    report = audit_channel(db.store, channel_id, ["anchoring"], workers=CORES)
    took = time.perf_counter() - start
    if not report.ok:
        raise RuntimeError(f"bench: audit found a divergence: {report.divergence}")
    return took, report.transactions


# ---------------------------------------------------------------- the run

@dataclass
class DatabaseRows:
    """Every figure of one database, round by round."""

    db_name: str
    end_to_end: dict[int, list[float]] = field(default_factory=dict)
    commit_only: dict[int, list[float]] = field(default_factory=dict)
    entries: dict[int, list[float]] = field(default_factory=dict)
    raw_single: list[float] = field(default_factory=list)
    raw_batched: list[float] = field(default_factory=list)
    tx_ceiling: dict[int, list[float]] = field(default_factory=dict)
    commit_ceiling: dict[int, list[float]] = field(default_factory=dict)
    proofs: list[float] = field(default_factory=list)
    point_selects: list[float] = field(default_factory=list)
    audit_rate: list[float] = field(default_factory=list)
    audit_ceiling: list[float] = field(default_factory=list)
    audit_size: int = 0


def _rate_line(label: str, value: float, peer: str, peer_value: float) -> str:
    return (f"  {label:<44} ours {value:>10,.1f}  {peer:<30} {peer_value:>10,.1f}  "
            f"{value / peer_value:.2f}x")


class LedgerBench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.scale = QUICK if options.quick else (FULL if options.full else DEFAULT)
        self.rounds = self.scale.rounds if options.quick else min(options.rounds,
                                                                  self.scale.rounds)
        self.seconds = options.seconds
        self.network = Network.create()
        self.sm2: list[SM2Rates] = []
        self.verify_single: list[float] = []
        self.verify_processes: list[float] = []
        self.notes: list[str] = []
        self.details: list[tuple[str, str]] = []

    def run_database(self, db: Database, tree: ProofTree) -> DatabaseRows:
        rows = DatabaseRows(db.name)
        envelope = _sample_envelope(self.network)
        progress(f"bench ledger: {db.name}: loading {tree.size:,} leaves into ledger_nodes")
        proof_channel = load_tree(db, self.network, tree, "proofs")
        root = check_tree(proof_channel, tree)
        sample = proof_sample(proof_channel, tree, root, 2000)
        gc.collect()
        gc.freeze()
        for rnd in range(self.rounds):
            progress(f"bench ledger: {db.name}: round {rnd + 1}/{self.rounds}")
            self.round(db, rows, rnd, envelope)
            rows.proofs.append(measure_proof_generation(proof_channel, tree.size,
                                                        self.seconds))
            rows.point_selects.append(measure_point_selects(db, "proofs", tree.size,
                                                            self.seconds))
            progress(_rate_line("inclusion proofs generated/s", rows.proofs[-1],
                                "point SELECT/s", rows.point_selects[-1]))
            if db.name == "SQLite":
                single, together = measure_verification(sample, self.seconds)
                self.verify_single.append(single)
                self.verify_processes.append(together)
                progress(f"  inclusion proofs verified/s: {single:,.0f} (1 thread), "
                         f"{together:,.0f} ({CORES} processes)")
        proof_channel.close()
        return rows

    def probe(self) -> SM2Rates:
        """SM2 rates now (half the time signing, half verifying)."""
        sm2 = measure_sm2(self.network, self.seconds / 2)
        self.sm2.append(sm2)
        progress(f"  SM2 on {CORES} threads: {sm2.signs:,.0f} signs/s, "
                 f"{sm2.verifies:,.0f} verifies/s")
        return sm2

    def round(self, db: Database, rows: DatabaseRows, rnd: int, envelope: bytes) -> None:
        raw = measure_raw_inserts(db, envelope, self.seconds)
        rows.raw_single.append(raw.single)
        rows.raw_batched.append(raw.batched)
        progress(f"  raw durable inserts: {raw.single:,.0f} rows/s one per commit, "
                 f"{raw.batched:,.0f} rows/s {RAW_BATCH} per commit")
        before = self.probe()
        for block in BLOCK_SIZES:
            count = self.scale.transactions[block]
            channel = self.network.channel(db, f"tx-b{block}-r{rnd}", block)
            result = run_transactions(self.network, channel, f"b{block}r{rnd}", count, 1,
                                      block)
            channel.close()
            channel = self.network.channel(db, f"clients-b{block}-r{rnd}", block)
            clients = run_clients(self.network, channel, f"c{block}r{rnd}", count, 1, block)
            channel.close()
            after = self.probe()
            sm2 = SM2Rates.around(before, after)
            before = after
            rows.end_to_end.setdefault(block, []).append(clients.end_to_end)
            rows.commit_only.setdefault(block, []).append(result.commit_only)
            rows.tx_ceiling.setdefault(block, []).append(sm2.tx_ceiling(block))
            rows.commit_ceiling.setdefault(block, []).append(sm2.commit_ceiling(block))
            if block == self.scale.entry_block[1]:
                rows.entries.setdefault(1, []).append(clients.entries_per_second)
            progress(_rate_line(f"tx/s end to end, block {block} ({count} tx)",
                                clients.end_to_end, "SM2 ceiling", sm2.tx_ceiling(block)))
            progress(_rate_line(f"tx/s endorse, then commit, block {block}",
                                result.end_to_end, "SM2 ceiling", sm2.tx_ceiling(block)))
            progress(_rate_line(f"tx/s order + commit, block {block}", result.commit_only,
                                "SM2 ceiling (commit)", sm2.commit_ceiling(block)))
        for entries in ENTRY_BATCHES[1:]:
            count = self.scale.entry_transactions[entries]
            block = self.scale.entry_block[entries]
            channel = self.network.channel(db, f"entries-{entries}-r{rnd}", block)
            clients = run_clients(self.network, channel, f"e{entries}r{rnd}", count,
                                  entries, block)
            channel.close()
            rows.entries.setdefault(entries, []).append(clients.entries_per_second)
            progress(_rate_line(f"entries/s, {entries} per tx ({count} tx, block {block})",
                                clients.entries_per_second, "goal", ENTRIES_GOAL))

    def audit(self, db: Database, rows: DatabaseRows, source: Database | None) -> None:
        """Audit a ledger of audit_transactions: committed here, or copied from
        ``source`` where it was committed."""
        count = self.scale.audit_transactions
        if source is None:
            progress(f"bench ledger: {db.name}: committing {count:,} transactions to audit")
            build_audit_ledger(self.network, db, count)
        else:
            progress(f"bench ledger: {db.name}: copying the audited ledger from {source.name}")
            copy_channel(source, db, AUDIT_CHANNEL)
        progress(f"bench ledger: {db.name}: auditing")
        before = self.probe()
        seconds, replayed = measure_audit(db, AUDIT_CHANNEL)
        sm2 = SM2Rates.around(before, self.probe())
        rows.audit_size = replayed
        rows.audit_rate.append(replayed / seconds)
        rows.audit_ceiling.append(sm2.audit_ceiling(AUDIT_BLOCK))
        progress(f"  audit of {replayed:,} transactions: {seconds:.1f} s = "
                 f"{seconds * 100_000 / replayed:,.0f} s per 10^5")


def _rows_for(rows: DatabaseRows, sm2: list[SM2Rates]) -> list[Row]:
    db = rows.db_name
    out: list[Row] = []
    for block in BLOCK_SIZES:
        out.append(Row(f"{db}: tx/s end to end, block {block}",
                       "SM2 ceiling (3 signs + 3 verifies per tx)",
                       rows.end_to_end[block], rows.tx_ceiling[block], goal=TX_GOAL))
    for block in BLOCK_SIZES:
        out.append(Row(f"{db}: tx/s order + commit, block {block}",
                       "SM2 ceiling of commit (3 verifies per tx)",
                       rows.commit_only[block], rows.commit_ceiling[block]))
    out.append(Row(f"{db}: tx/s end to end, block 1", "raw durable INSERT, 1 row per commit",
                   rows.end_to_end[1], rows.raw_single))
    out.append(Row(f"{db}: tx/s order + commit, block 1000",
                   f"raw durable INSERT, {RAW_BATCH} rows per commit",
                   rows.commit_only[1000], rows.raw_batched))
    for entries in ENTRY_BATCHES:
        out.append(Row(f"{db}: anchored entries/s, {entries} per tx", "issue goal",
                       rows.entries[entries], [ENTRIES_GOAL], goal=1.0))
    out.append(Row(f"{db}: inclusion proofs generated/s, 10^6 leaves",
                   "raw point SELECT of one node", rows.proofs, rows.point_selects))
    out.append(Row(f"{db}: audit, transactions replayed/s",
                   "SM2 ceiling of replay (3 verifies per tx)", rows.audit_rate,
                   rows.audit_ceiling))
    return out


def run(options: Options) -> Report:
    bench = LedgerBench(options)
    scale = bench.scale
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    progress(f"bench ledger: building a tree of {scale.proof_leaves:,} leaves in memory")
    tree = build_tree(scale.proof_leaves)
    # The in-memory tree (and each database's proof sample, below) are the benchmark's
    # fixtures, not ledger state: frozen out of the collector's full passes, as
    # `edutrust serve` workers freeze their start-up objects (edutrust/server.py).
    gc.collect()
    gc.freeze()
    results: list[DatabaseRows] = []
    details: list[tuple[str, str]] = []
    notes: list[str] = []
    unreachable = postgres_reachable(PG_URL)
    with sqlite_database() as lite:
        details.append(("SQLite", lite.version))
        results.append(bench.run_database(lite, tree))
        bench.audit(lite, results[-1], None)
        if unreachable is None:
            with postgres_database(PG_URL) as pg:
                details.append(("PostgreSQL", pg.version))
                results.append(bench.run_database(pg, tree))
                bench.audit(pg, results[-1], lite)
    if unreachable is not None:
        details.append(("PostgreSQL", f"not reachable at {PG_URL}: {unreachable}"))
        notes.append("PostgreSQL rows are missing: the server did not answer "
                     f"({unreachable}); set EDUTRUST_BENCH_PG_URL to measure them")

    table: list[Row] = []
    for rows in results:
        table += _rows_for(rows, bench.sm2)
    leaves = "10^6" if scale.proof_leaves == 10**6 else f"{scale.proof_leaves:,}"
    table.append(Row(f"inclusion proofs verified/s, {leaves} leaves, 1 thread",
                     "issue goal", bench.verify_single, [VERIFY_GOAL], goal=1.0))
    table.append(Row(f"inclusion proofs verified/s, {leaves} leaves, {CORES} processes",
                     "issue goal", bench.verify_processes, [VERIFY_GOAL], goal=1.0))
    best_tx = max(results, key=lambda r: statistics.median(r.end_to_end[1000]))
    best_entries = max(results, key=lambda r: statistics.median(r.entries[1000]))
    table.append(Row(f"{best_tx.db_name}: tx/s end to end, block 1000",
                     "Hyperledger Fabric 2.5, published", best_tx.end_to_end[1000],
                     [FABRIC_TPS]))
    table.append(Row(f"{best_entries.db_name}: anchored entries/s, 1000 per tx",
                     "Tessera POSIX (SAS HDD), published", best_entries.entries[1000],
                     [TESSERA_HDD]))
    table.append(Row(f"{best_entries.db_name}: anchored entries/s, 1000 per tx",
                     "Tessera POSIX (NVMe), published", best_entries.entries[1000],
                     [TESSERA_NVME]))

    sm2 = bench.sm2
    details += [
        ("load", f"1-minute load average {load_before:.1f} at the start, "
                 f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} logical cores; "
                 f"the ledger run took {(time.perf_counter() - started) / 60:.1f} min"),
        ("SM2 on these cores", f"{statistics.median(s.signs for s in sm2):,.0f} signs/s and "
         f"{statistics.median(s.verifies for s in sm2):,.0f} verifies/s on {CORES} threads "
         "(medians of the rounds), over a real proposal's signed bytes"),
        ("network", "3 organisations (Ministry also orders), endorsement policy "
         f"{ENDORSEMENT}, contract `anchoring`"),
        ("sizes", "per round: "
         + ", ".join(f"{n:,} tx at block {b}" for b, n in scale.transactions.items()) + "; "
         + ", ".join(f"{n} tx of {e} entries (block {scale.entry_block[e]})"
                     for e, n in scale.entry_transactions.items())
         + f"; proofs over {scale.proof_leaves:,} leaves; audit of "
         f"{scale.audit_transactions:,} one-entry tx in blocks of {AUDIT_BLOCK}"),
    ]
    for rows in results:
        if rows.audit_rate:
            rate = statistics.median(rows.audit_rate)
            details.append((f"audit, {rows.db_name}",
                            f"{rows.audit_size:,} transactions replayed in "
                            f"{rows.audit_size / rate:.1f} s = {100_000 / rate:,.0f} s per "
                            "10^5 transactions"))
    notes += [
        f"medians of {bench.rounds} rounds, all wall-clock; each SM2 ceiling is the mean "
        f"of probes ({CORES} threads, {bench.seconds / 2:g} s signing + "
        f"{bench.seconds / 2:g} s verifying) right before and right after its row; raw "
        "inserts are measured at the start of each round",
        f"end to end = {CORES} clients at once, each endorsing a block's worth of "
        "transactions (each proposal endorsed by 2 peers) and submitting them together, "
        "waiting for the durable commit before its next batch; order + commit = a "
        "separate run: every transaction endorsed first, then submit_endorsed in chunks "
        "of one block, each waiting for its durable commit",
        "SM2 ceiling = 1 / ((3 + 1/B) / signs per s + 3 / verifies per s): client, 2 "
        "endorsers and the orderer's per-block signature; creator and 2 endorsement "
        "verifications; certificate chains are validated once and cached",
        "inclusion proofs: the node table of a 10^6-leaf tree is written directly into "
        "ledger_nodes (leaf and node hashes computed as RFC 9162 with SM3), not committed "
        "through 10^6 transactions; generation = Channel.inclusion_proof (tree size + one "
        "node query), verification = ledger.merkle.verify_inclusion, no database",
        "published figures are not run here; their hardware differs (see docs/performance.md)",
    ]
    return Report(TITLE, details, [], table, notes)
