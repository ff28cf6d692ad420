"""A ledger client in a process of its own, for the durability and concurrency tests (not
a test module).

The parent test builds the network, writes every organisation's certificates and SM2 keys
with ``save_organisations`` (test keys only: real deployments never export a key), and
starts ``python -m tests.ledger.ledger_worker KEYS_FILE DATABASE_URL MODE ...``. The worker
rebuilds the organisations with ``load_organisations``, opens the channel on the database,
prints ``ready``, waits for a line on stdin (so a parent can start the next worker while
the current one runs) and anchors entries. Every line it prints on stdout is flushed at once; a line
``ack TX_ID KEY...`` is printed only after ``submit`` returned, so it is the proof that
the commit was acknowledged. ``WorkerProcess`` is the parent's side: it starts a worker,
collects its lines and kills it.

Modes:

- ``loop PREFIX [PAUSE]``: submit one entry after another (keys ``PREFIX-0``,
  ``PREFIX-1``, ...), PAUSE seconds apart, until killed.
- ``count PREFIX N THREADS``: submit N entries from THREADS threads sharing one channel
  handle, then print ``done`` and exit.
- ``big PREFIX TXS ENTRIES PAUSE``: endorse TXS transactions of ENTRIES entries each, print
  ``enqueued TX_ID...``, order them together and wait for their block. With PAUSE > 0 the
  worker prints ``writing BLOCK`` once every row of a block is written and waits PAUSE
  seconds before the commit, so the parent can kill it inside the block's database
  transaction.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, select

from crypto.sm2 import Encoding, SM2PrivateKey, load_pem_private_key
from crypto.sm3 import sm3
from crypto.x509 import Certificate, CertificateAuthority
from edutrust.database import make_engine
from ledger.audit import audit_channel
from ledger.canonical import canonical_json
from ledger.channel import Channel
from ledger.embedded import EmbeddedOrganisation, restore_identity
from ledger.msp import OrganisationCA
from ledger.storage.sql import (
    BlockWriter,
    PendingRow,
    SqlLedgerStore,
    StateRow,
    TransactionRow,
)
from tests.ledger.network import open_channel

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ("anchoring",)


# -- sharing the organisations between processes -------------------------------------------
def _private_pem(signer: Any) -> str:
    if not isinstance(signer, SM2PrivateKey):
        raise TypeError("only test organisations built from SM2PrivateKey can be saved")
    return signer.private_bytes(Encoding.PEM).decode()


def save_organisations(orgs: dict[str, EmbeddedOrganisation], path: Path) -> None:
    """Write every CA and role identity (certificate PEM and private key PEM) to ``path``."""
    doc = {}
    for name, org in orgs.items():
        doc[name] = {
            "msp_id": org.msp_id,
            "display_name": org.ca.display_name,
            "ca": {"certificate": org.ca.certificate.pem().decode(),
                   "key": _private_pem(org.ca.authority.signer)},
            "identities": {role: {"certificate": ident.identity.certificate.pem().decode(),
                                  "key": _private_pem(ident.signer)}
                           for role, ident in org.identities.items()},
        }
    path.write_text(json.dumps(doc, indent=1))
    path.chmod(0o600)


def load_organisations(path: Path) -> dict[str, EmbeddedOrganisation]:
    """The organisations ``save_organisations`` wrote, with their signing keys."""
    orgs = {}
    for name, entry in json.loads(path.read_text()).items():
        ca_cert = Certificate.from_pem(entry["ca"]["certificate"].encode())
        authority = CertificateAuthority(ca_cert,
                                         load_pem_private_key(entry["ca"]["key"].encode()))
        ca = OrganisationCA(entry["msp_id"], entry["display_name"], authority)
        identities = {
            role: restore_identity(entry["msp_id"], role,
                                   Certificate.from_pem(item["certificate"].encode()),
                                   load_pem_private_key(item["key"].encode()))
            for role, item in entry["identities"].items()}
        orgs[name] = EmbeddedOrganisation(ca, identities)
    return orgs


# -- the worker process -----------------------------------------------------------------------
_print_lock = threading.Lock()


def _say(*words: object) -> None:
    with _print_lock:
        sys.stdout.write(" ".join(str(w) for w in words) + "\n")
        sys.stdout.flush()


def entries_json(keys: Sequence[str]) -> str:
    return canonical_json([{"key": k, "digest": sm3(k.encode()).hex()} for k in keys]).decode()


class _PausingStore(SqlLedgerStore):
    """Announces a fully written block and waits before committing it."""

    def __init__(self, engine: Any, pause: float) -> None:
        super().__init__(engine)
        self.pause = pause

    @contextmanager
    def block_writer(self, channel: str) -> Iterator[BlockWriter]:
        with super().block_writer(channel) as writer:
            yield writer
            height = writer.channel_row()[1]
            _say("writing", int(height) - 1)
            time.sleep(self.pause)


def _open(keys: Path, url: str, pause: float = 0.0) -> tuple[Channel, Any]:
    orgs = load_organisations(keys)
    engine = make_engine(url)
    store = _PausingStore(engine, pause) if pause > 0 else SqlLedgerStore(engine)
    return open_channel(store, orgs), orgs["School"].role("client")


def _loop(channel: Channel, client: Any, prefix: str, pause: float) -> None:
    number = 0
    while True:
        key = f"{prefix}-{number}"
        receipt = channel.submit(client, "anchoring", "anchor", entries_json([key]))
        _say("ack", receipt.tx_id, key)
        number += 1
        time.sleep(pause)


def _count(channel: Channel, client: Any, prefix: str, total: int, threads: int) -> None:
    numbers: queue.SimpleQueue[int] = queue.SimpleQueue()
    for n in range(total):
        numbers.put(n)
    failures: list[BaseException] = []

    def run() -> None:
        while True:
            try:
                n = numbers.get_nowait()
            except queue.Empty:
                return
            key = f"{prefix}-{n}"
            try:
                receipt = channel.submit(client, "anchoring", "anchor", entries_json([key]))
            except BaseException as exc:
                failures.append(exc)
                _say("error", key, type(exc).__name__, str(exc).replace("\n", " ")[:300])
                return
            _say("ack", receipt.tx_id, key)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if failures:
        raise SystemExit(1)
    _say("done")


def _big(channel: Channel, client: Any, prefix: str, count: int, entries: int) -> None:
    keys = [[f"{prefix}-{n}-{e}" for e in range(entries)] for n in range(count)]
    txs = [channel.endorse(client, "anchoring", "anchor", entries_json(k)) for k in keys]
    channel.store.enqueue_many(channel.channel_id, [(t.tx_id, t.encode()) for t in txs])
    _say("enqueued", " ".join(t.tx_id for t in txs))
    receipts = channel.wait([t.tx_id for t in txs], 120.0)
    for tx, tx_keys in zip(txs, keys, strict=True):
        _say("ack", receipts[tx.tx_id].tx_id, *tx_keys)
    _say("done")


def main(argv: Sequence[str]) -> None:
    keys, url, mode, prefix, *rest = argv
    pause = float(rest[2]) if mode == "big" else 0.0
    channel, client = _open(Path(keys), url, pause)
    _say("ready", os.getpid())
    sys.stdin.readline()
    if mode == "loop":
        _loop(channel, client, prefix, float(rest[0]) if rest else 0.0)
    elif mode == "count":
        _count(channel, client, prefix, int(rest[0]), int(rest[1]))
    elif mode == "big":
        _big(channel, client, prefix, int(rest[0]), int(rest[1]))
    else:
        raise SystemExit(f"unknown mode {mode}")


# -- the parent's side ------------------------------------------------------------------------
class WorkerProcess:
    """A running worker: its stdout lines as they arrive, its stderr in a file."""

    def __init__(self, keys: Path, url: str, mode: str, *args: object, log: Path,
                 hold: bool = False) -> None:
        """Start a worker; with ``hold`` it waits, ready, until ``go()``."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.log = log
        self._stderr: IO[bytes] = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.ledger.ledger_worker", str(keys), url, mode,
             *(str(a) for a in args)],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not hold:
            self.go()

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        self.process.stdin.close()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            if not raw.endswith(b"\n"):
                break  # a line cut short by the kill was never an acknowledgement
            with self._changed:
                self.lines.append(raw.decode().rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, word: str, timeout: float = 60.0, *, after: int = 0) -> str:
        """The first line (from index ``after``) whose first word is ``word``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[after:]:
                    if line.split(" ", 1)[0] == word:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    raise AssertionError(f"worker printed no {word!r} line; "
                                         f"stderr:\n{self.stderr_tail()}")
                self._changed.wait(min(left, 0.5))

    def acks(self) -> dict[str, str]:
        """Acknowledged transactions so far: key -> tx id."""
        with self._changed:
            lines = list(self.lines)
        found = {}
        for line in lines:
            words = line.split()
            if words[0] == "ack":
                found.update(dict.fromkeys(words[2:], words[1]))
        return found

    def kill(self) -> None:
        """SIGKILL: no handler, no flush, no rollback in the process."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.finish()

    def finish(self, timeout: float = 120.0) -> int:
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        self._stderr.close()
        return code

    def stderr_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def pending_tx_ids(store: SqlLedgerStore, channel: str) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.scalars(select(PendingRow.tx_id)
                                 .where(PendingRow.channel_id == channel)))


def assert_acknowledged_are_committed(store: SqlLedgerStore, channel: str,
                                      acks: dict[str, str]) -> None:
    """The audit passes, every acknowledged transaction has a VALID receipt and its keys
    hold its entries, and no committed transaction is still pending."""
    report = audit_channel(store, channel, CONTRACTS)
    assert report.ok, report.divergence
    receipts = store.receipts(channel, sorted(set(acks.values())))
    assert {r.tx_id for r in receipts.values() if r.code == "VALID"} == set(acks.values())
    with store.engine.connect() as conn:
        stored: dict[str, bytes] = {}
        keys = sorted(acks)
        for i in range(0, len(keys), 400):
            stored.update((k, bytes(v)) for k, v in conn.execute(
                select(StateRow.key, StateRow.value).where(
                    StateRow.channel_id == channel, StateRow.namespace == "anchoring",
                    StateRow.key.in_(keys[i: i + 400]))))
    for key, tx_id in acks.items():
        assert key in stored, f"acknowledged key {key} is not in state"
        assert json.loads(stored[key])["tx_id"] == tx_id
    with store.engine.connect() as conn:  # one statement: other writers may be committing
        both = list(conn.scalars(select(PendingRow.tx_id).join(
            TransactionRow, and_(TransactionRow.channel_id == PendingRow.channel_id,
                                 TransactionRow.tx_id == PendingRow.tx_id))
            .where(PendingRow.channel_id == channel)))
    assert both == [], "a committed transaction is still pending"


if __name__ == "__main__":
    main(sys.argv[1:])
