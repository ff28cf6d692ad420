"""A channel of the embedded ledger: execute → order → validate, then proofs and
checkpoints.

- **Execute**: ``endorse`` runs the contract on the peers the endorsement policy needs
  (each simulates against committed state and signs the same results).
- **Order**: the envelope is appended to the durable pending queue. A block is cut when
  ``max_count`` transactions or ``max_bytes`` are pending, or when the oldest has waited
  ``timeout_ms``; any waiting submitter, in any process, may cut it (group commit). A
  submitter whose own transactions fill a block while nothing is queued commits them
  as that block directly (the queue would only hand them back).
- **Validate and commit**: signatures, identities and policies are checked in parallel
  outside the lock; then, holding the channel's cutting lock, the MVCC pass, the Merkle
  leaves, the orderer-signed header and every row of the block commit in one database
  transaction. ``submit`` returns only after that commit: an acknowledged transaction is
  never lost.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from crypto.sm3 import sm3
from ledger.block import GENESIS_PREVIOUS, Block, BlockHeader, data_hash
from ledger.checkpoint import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    SignatureKind,
    Witness,
    add_cosignatures,
    sign_checkpoint,
)
from ledger.config import CONFIG_KEY, CONFIG_NAMESPACE, ChannelConfig, ConfigError
from ledger.contract import (
    Context,
    Contract,
    ContractError,
    Creator,
    KeyModification,
    SimulationStub,
    StateEntry,
)
from ledger.errors import LedgerError, TreeRangeError
from ledger.leaves import leaves_from_event
from ledger.merkle import (
    ConsistencyProof,
    Frontier,
    InclusionProof,
    consistency_proof,
    empty_root,
    hash_leaves,
    inclusion_proof,
    stored_root,
)
from ledger.msp import Identity, SigningIdentity
from ledger.policy import evaluate, policy_principals
from ledger.storage.sql import BlockWriter, Receipt, SqlLedgerStore, TransactionWrites
from ledger.tx import (
    Endorsement,
    Proposal,
    ProposalResults,
    ReadWriteSet,
    Response,
    Transaction,
    Version,
)
from ledger.validation import (
    BlockState,
    Encoded,
    IdentityCache,
    SignatureCheck,
    ValidationCode,
    apply_writes,
    check_mvcc,
    check_signatures_parallel,
)

# A transaction of a block being cut: (queue seq, or None for the submitter's own; tx id;
# envelope; configuration transaction; received at).
_BatchItem = tuple[int | None, str, bytes, bool, dt.datetime]
_DUPLICATE = ValidationCode.DUPLICATE_TXID.value


def _fill_block(items: list[tuple[str, bytes]], max_count: int, max_bytes: int
                ) -> list[tuple[str, bytes]] | None:
    """The first of ``items`` that make a full block, as the queue's cutter would take
    them: ``max_count`` of them, or fewer that reach ``max_bytes`` (at least one, however
    large). None if they run out before the block is full."""
    size = 0
    for count, (_, envelope) in enumerate(items):
        if count == max_count or (count and size + len(envelope) > max_bytes):
            return items[:count]
        size += len(envelope)
        if size >= max_bytes:
            return items[:count + 1]
    return items if len(items) == max_count else None


class TransactionRejected(LedgerError):
    """A transaction was ordered but marked invalid (``receipt.code`` says why)."""

    def __init__(self, receipt: Receipt) -> None:
        super().__init__(f"transaction {receipt.tx_id} is invalid: {receipt.code}")
        self.receipt = receipt


class CommitTimeout(LedgerError):
    """A submitted transaction was not committed in time (it may still commit later)."""


class _CommittedReads(Protocol):
    def channel_row(self) -> Any: ...

    def state(self, namespace: str, key: str) -> StateEntry | None: ...

    def states(self, namespace: str, keys: list[str]) -> dict[str, StateEntry]: ...

    def range(self, namespace: str, start: str, end: str) -> list[tuple[str, StateEntry]]: ...

    def history(self, namespace: str, key: str) -> list[KeyModification]: ...


class _StateView:
    """A ``StateReader`` over committed state of one namespace, through one connection
    for the whole simulation (a connection per read cost more than the read)."""

    def __init__(self, reads: _CommittedReads, namespace: str) -> None:
        self._reads, self._ns = reads, namespace

    def get(self, key: str) -> StateEntry | None:
        return self._reads.state(self._ns, key)

    def get_many(self, keys: list[str]) -> dict[str, StateEntry]:
        return self._reads.states(self._ns, keys)

    def range(self, start: str, end: str) -> list[tuple[str, StateEntry]]:
        return self._reads.range(self._ns, start, end)

    def history(self, key: str) -> list[KeyModification]:
        return self._reads.history(self._ns, key)


@dataclass(frozen=True)
class Peer:
    """An organisation's endorsing peer (in the embedded ledger, a key it holds here)."""

    identity: SigningIdentity

    @property
    def msp_id(self) -> str:
        return self.identity.identity.msp_id


def _config_transaction(config: ChannelConfig, creator: SigningIdentity,
                        admins: Sequence[SigningIdentity], function: str) -> Transaction:
    encoded = config.encode()
    proposal = Proposal.create(config.channel_id, CONFIG_NAMESPACE, function,
                               (encoded.decode(),), creator.identity.id_bytes)
    results = ProposalResults(sm3(proposal.signed_bytes()),
                              ReadWriteSet(writes=((CONFIG_KEY, encoded),)),
                              Response(200), None)
    signed = results.signed_bytes()
    return Transaction(proposal, creator.sign(proposal.signed_bytes()), results,
                       tuple(Endorsement(a.identity.id_bytes, a.sign(signed)) for a in admins))


def check_config_transaction(tx: Transaction, current: ChannelConfig | None,
                             identities: IdentityCache, at: dt.datetime) -> ChannelConfig:
    """The configuration a config transaction installs, or ``ConfigError``. Genesis
    (``current`` None) must satisfy its own admin policy; an update, the current one."""
    proposal = tx.proposal
    if proposal.contract != CONFIG_NAMESPACE or len(proposal.args) != 1:
        raise ConfigError("not a configuration transaction")
    new = ChannelConfig.decode(proposal.args[0].encode())
    writes = tx.results.rwset.writes
    if writes != ((CONFIG_KEY, new.encode()),) or tx.results.proposal_hash != sm3(
            proposal.signed_bytes()):
        raise ConfigError("configuration write set does not match the proposal")
    governing = current or new
    if current is not None and (new.channel_id != current.channel_id
                                or new.sequence != current.sequence + 1):
        raise ConfigError("a configuration update must keep the channel and add 1 to sequence")
    if new.channel_id != proposal.channel:
        raise ConfigError("configuration for another channel")
    try:
        creator = identities.resolve(governing, proposal.creator, at)
        creator.verify(tx.signature, proposal.signed_bytes())
    except Exception as exc:
        raise ConfigError(f"configuration creator: {exc}") from None
    signers: dict[bytes, tuple[str, str]] = {}
    signed = tx.results.signed_bytes()
    for endorsement in tx.endorsements:
        try:
            identity = identities.resolve(governing, endorsement.endorser, at)
            identity.verify(endorsement.signature, signed)
        except Exception:  # noqa: S112 - an invalid signature counts for nothing
            continue
        signers[sm3(endorsement.endorser)] = (identity.msp_id, identity.role)
    if not evaluate(governing.admin_policy, list(signers.values())):
        raise ConfigError("the channel admin policy is not satisfied")
    return new


class Channel:
    """One channel: its contracts, the peers that endorse, the orderer, the witnesses."""

    def __init__(self, store: SqlLedgerStore, channel_id: str, *,
                 contracts: Sequence[Contract], peers: Sequence[Peer],
                 orderer: SigningIdentity, witnesses: Sequence[SigningIdentity] = (),
                 workers: int | None = None, owns_store: bool = False) -> None:
        self.store = store
        self._owns_store = owns_store  # close() closes it too
        self.channel_id = channel_id
        self.contracts = {c.name: c for c in contracts}
        self.peers = {p.msp_id: p for p in peers}
        self.orderer = orderer
        self.witnesses = list(witnesses)
        self.identities = IdentityCache()
        # Endorsers' signatures and the signature checks run on these threads; SM2 in
        # libcrypto releases the GIL, so one thread per core (the default) keeps every
        # core signing.
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers or os.cpu_count() or 1),
                                        thread_name_prefix="ledger")
        self._frontier: tuple[int, Frontier] | None = None
        # The header of the last block this object committed (set only once the commit
        # succeeded, so it is the stored header at that height for good).
        self._last_header: BlockHeader | None = None
        self._lock = threading.Lock()
        self._config_cache: tuple[bytes, ChannelConfig] | None = None
        self._endorser_cache: tuple[ChannelConfig, dict[str, list[Peer]]] | None = None
        # Transactions submitted through this object and not yet committed, with the
        # envelope each was queued as (by tx id): the cutter uses the transaction itself
        # for a queued envelope that is exactly those bytes instead of parsing them again.
        self._encoded: dict[str, Encoded] = {}

    # -- creation ---------------------------------------------------------------------
    @classmethod
    def create(cls, store: SqlLedgerStore, config: ChannelConfig,
               admins: Sequence[SigningIdentity], orderer: SigningIdentity) -> None:
        """Write the genesis block holding ``config`` (its admin policy must be met)."""
        if config.sequence != 0:
            raise ConfigError("a genesis configuration has sequence 0")
        if store.channel_exists(config.channel_id):
            raise LedgerError(f"channel {config.channel_id} exists already")
        now = dt.datetime.now(dt.UTC)
        tx = _config_transaction(config, admins[0], admins, "genesis")
        check_config_transaction(tx, None, IdentityCache(), now)
        envelope = tx.encode()
        header = BlockHeader(config.channel_id, 0, GENESIS_PREVIOUS, data_hash([envelope]),
                             ("VALID",), 0, empty_root(), now, 0)
        _check_orderer(config, orderer, now, IdentityCache())
        block = Block(header, (envelope,), orderer.sign(header.encode()),
                      orderer.identity.id_bytes)
        store.create_channel(config.channel_id, config.encode(), block, tx.tx_id, now)

    # -- reading ----------------------------------------------------------------------
    def config(self) -> ChannelConfig:
        with self.store.reads(self.channel_id) as reads:
            row = reads.channel_row()
        if row is None:
            raise LedgerError(f"no channel {self.channel_id}")
        return self._decoded_config(bytes(row[0]))

    def _decoded_config(self, raw: bytes) -> ChannelConfig:
        """Decoding validates every MSP's certificates (SM2 verifications), so the last
        decoded configuration is kept and reused while the stored bytes are the same."""
        cached = self._config_cache
        if cached is None or cached[0] != raw:
            cached = (raw, ChannelConfig.decode(raw))
            self._config_cache = cached
        return cached[1]

    def status(self) -> dict[str, Any]:
        with self.store.reads(self.channel_id) as reads:
            row = reads.channel_row()
            if row is None:
                raise LedgerError(f"no channel {self.channel_id}")
            header = reads.header(row[1] - 1)
        pending, _ = self.store.pending_summary(self.channel_id)
        assert header is not None
        return {"channel": self.channel_id, "height": row[1], "tree_size": row[2],
                "tree_root": header.tree_root.hex(), "last_block_hash": header.hash.hex(),
                "config_sequence": self.config().sequence, "pending": pending}

    def tree_size(self) -> int:
        with self.store.reads(self.channel_id) as reads:
            return self._tree_size(reads)

    def _tree_size(self, reads: _CommittedReads) -> int:
        row = reads.channel_row()
        if row is None:
            raise LedgerError(f"no channel {self.channel_id}")
        return int(row[2])

    def root(self, size: int) -> bytes:
        if size == 0:
            return empty_root()
        with self.store.reads(self.channel_id) as reads:
            return stored_root(size, reads)

    # Proofs read the tree size and the nodes through one connection: a checkout costs
    # about as much as the proof's query.
    def inclusion_proof(self, index: int, size: int) -> InclusionProof:
        with self.store.reads(self.channel_id) as reads:
            if size > self._tree_size(reads):
                raise TreeRangeError(f"size {size} is beyond the tree")
            return InclusionProof(index, size, tuple(inclusion_proof(index, size, reads)))

    def consistency_proof(self, first: int, second: int) -> ConsistencyProof:
        with self.store.reads(self.channel_id) as reads:
            if second > self._tree_size(reads):
                raise TreeRangeError(f"size {second} is beyond the tree")
            return ConsistencyProof(first, second,
                                    tuple(consistency_proof(first, second, reads)))

    def leaf(self, index: int) -> bytes:
        leaf = self.store.leaf(self.channel_id, index)
        if leaf is None:
            raise TreeRangeError(f"no leaf {index}")
        return leaf

    def block(self, number: int) -> Block:
        block = self.store.block(self.channel_id, number)
        if block is None:
            raise TreeRangeError(f"no block {number}")
        return block

    def state(self, contract: str, key: str) -> bytes | None:
        entry = self.store.get_state(self.channel_id, contract, key)
        return entry.value if entry else None

    def history(self, contract: str, key: str) -> list[KeyModification]:
        return self.store.history(self.channel_id, contract, key)

    # -- execute ----------------------------------------------------------------------
    def _contract(self, name: str) -> Contract:
        contract = self.contracts.get(name)
        if contract is None:
            raise ContractError(f"no contract {name} on channel {self.channel_id}")
        return contract

    def _simulate(self, proposal: Proposal, creator: Identity, *, read_only: bool,
                  reads: _CommittedReads | None = None) -> tuple[Response, SimulationStub]:
        """Run the contract against committed state, through ``reads`` if given (a
        connection the caller holds), else through a connection of its own."""
        contract = self._contract(proposal.contract)
        kind, method = contract.function(proposal.function)
        if read_only != (kind == "query"):
            raise ContractError(f"{proposal.function} is a {kind}; "
                                f"{'evaluate' if kind == 'query' else 'submit'} it")
        if reads is None:
            with self.store.reads(self.channel_id) as own:
                return self._run_contract(proposal, creator, method, own, read_only)
        return self._run_contract(proposal, creator, method, reads, read_only)

    @staticmethod
    def _run_contract(proposal: Proposal, creator: Identity, method: Any,
                      reads: _CommittedReads, read_only: bool
                      ) -> tuple[Response, SimulationStub]:
        stub = SimulationStub(_StateView(reads, proposal.contract), proposal.tx_id,
                              Creator(creator.msp_id, creator.role, creator.id_bytes),
                              proposal.timestamp, read_only=read_only)
        try:
            result = method(Context(stub), *proposal.args)
        except ContractError as exc:
            return Response(400, str(exc)), stub
        except TypeError as exc:  # wrong number of arguments
            return Response(400, f"bad arguments: {exc}"), stub
        payload = result.encode() if isinstance(result, str) else (result or b"")
        return Response(200, "", payload), stub

    def evaluate(self, client: SigningIdentity, contract: str, function: str,
                 *args: str) -> bytes:
        """Run a query on committed state; nothing is ordered."""
        proposal = Proposal.create(self.channel_id, contract, function, args,
                                   client.identity.id_bytes)
        response, _ = self._simulate(proposal, client.identity, read_only=True)
        if response.status != 200:
            raise ContractError(response.message)
        return response.payload

    def _endorsers(self, config: ChannelConfig, contract: str) -> list[Peer]:
        """Peers of the organisations the policy names, fewest first that satisfy it
        (remembered per contract while the configuration stays the same)."""
        cached = self._endorser_cache
        if cached is None or cached[0] is not config:
            cached = (config, {})
            self._endorser_cache = cached
        chosen = cached[1].get(contract)
        if chosen is None:
            chosen = self._choose_endorsers(config, contract)
            cached[1][contract] = chosen
        return chosen

    def _choose_endorsers(self, config: ChannelConfig, contract: str) -> list[Peer]:
        policy = config.policy_for(contract)
        named = {p.msp_id for p in policy_principals(policy)}
        chosen: list[Peer] = []
        for msp_id in sorted(named):
            peer = self.peers.get(msp_id)
            if peer is None:
                continue
            chosen.append(peer)
            if evaluate(policy, [(p.msp_id, p.identity.identity.role) for p in chosen]):
                return chosen
        raise LedgerError(f"the peers here cannot satisfy the endorsement policy of {contract}")

    def endorse(self, client: SigningIdentity, contract: str, function: str,
                *args: str) -> Transaction:
        """Build, sign and endorse a proposal. ``ContractError`` if the contract refuses."""
        # The configuration is read on the connection the endorsers then simulate
        # through, one after the other in this thread.
        with self.store.reads(self.channel_id) as reads:
            row = reads.channel_row()
            if row is None:
                raise LedgerError(f"no channel {self.channel_id}")
            config = self._decoded_config(bytes(row[0]))
            return self._endorse(config, reads, client, contract, function, args)

    def _endorse(self, config: ChannelConfig, reads: _CommittedReads,
                 client: SigningIdentity, contract: str, function: str,
                 args: tuple[str, ...]) -> Transaction:
        try:  # as Fabric's endorsers do: refuse a creator the channel would not accept
            self.identities.resolve(config, client.id_bytes, dt.datetime.now(dt.UTC))
        except LedgerError as exc:
            raise ContractError(f"the client is not a valid identity of this channel: "
                                f"{exc}") from None
        proposal = Proposal.create(self.channel_id, contract, function, args,
                                   client.id_bytes)
        proposal_bytes = proposal.signed_bytes()
        signature = client.sign(proposal_bytes)
        proposal_hash = proposal.signed_hash()
        endorsers = self._endorsers(config, contract)
        # Each endorser simulates the proposal itself, one after the other in this
        # thread, reading committed state through the same connection (each read sees
        # what is committed when it runs, as on separate connections; a block committed
        # in between makes the results differ, or MVCC invalidates the transaction):
        # the simulations are Python work under the GIL, and two of them at once on two
        # threads took more CPU than one after the other, for no gain in time; a
        # connection per endorser cost about a tenth of a one-entry transaction's
        # endorsement. Their
        # SM2 signatures (libcrypto releases the GIL) run on the pool while the next
        # endorser simulates. Endorsers that simulated equal results sign one results
        # object, so its signed bytes are encoded once (and reused for the envelope).

        def simulate() -> ProposalResults:
            response, stub = self._simulate(proposal, client, read_only=False,
                                            reads=reads)
            results = ProposalResults(proposal_hash, stub.rwset(), response, stub.event)
            if response.status != 200:
                raise ContractError(response.message)
            return results

        def sign(peer: Peer, results: ProposalResults) -> Endorsement:
            return Endorsement(peer.identity.id_bytes,
                               peer.identity.sign(results.signed_bytes()))

        first = simulate()
        first.signed_bytes()  # encoded here, before any thread signs it
        signing: list[Future[Endorsement]] = []
        try:
            for index, peer in enumerate(endorsers):
                if index and simulate() != first:
                    raise LedgerError("endorsers returned different results (non-"
                                      "deterministic contract or concurrent commit); retry")
                if index < len(endorsers) - 1:
                    signing.append(self._pool.submit(sign, peer, first))
            last = sign(endorsers[-1], first)
        finally:
            # Wait for the signatures even if a simulation failed: nothing may outlive
            # the call.
            done = [f.exception() for f in signing]
        for error in done:
            if error is not None:
                raise error
        return Transaction(proposal, signature, first,
                           (*(f.result() for f in signing), last))

    # -- order and commit -------------------------------------------------------------
    def submit(self, client: SigningIdentity, contract: str, function: str, *args: str,
               timeout: float = 60.0) -> Receipt:
        """Endorse, order and wait for the commit; ``TransactionRejected`` if the block
        marked the transaction invalid."""
        tx = self.endorse(client, contract, function, *args)
        receipt = self._order([tx], timeout)[tx.tx_id]
        if receipt.code != ValidationCode.VALID.value:
            raise TransactionRejected(receipt)
        return receipt

    def submit_endorsed(self, transactions: Sequence[Transaction],
                        timeout: float = 120.0) -> dict[str, Receipt]:
        """Order already endorsed transactions together and wait for all commits."""
        if any(t.proposal.contract == CONFIG_NAMESPACE for t in transactions):
            # The audit recognises configuration blocks by their envelope; one ordered
            # as a normal transaction would be validated differently on replay.
            raise ConfigError("configuration transactions go through update_config")
        return self._order(transactions, timeout)

    def _order(self, transactions: Sequence[Transaction], timeout: float
               ) -> dict[str, Receipt]:
        """Order ``transactions`` and wait until every one is committed: those that fill
        blocks on their own are committed directly, the rest go through the queue."""
        items = [(t.tx_id, t.encode()) for t in transactions]
        for t, (_, envelope) in zip(transactions, items, strict=True):
            self._remember_encoded(t, envelope)
        try:
            receipts, rest = self._commit_own(items)
            if rest:
                self.store.enqueue_many(self.channel_id, rest)
                receipts.update(self.wait([tx_id for tx_id, _ in rest], timeout))
            return receipts
        finally:
            for t in transactions:
                self._encoded.pop(t.tx_id, None)

    def _commit_own(self, items: list[tuple[str, bytes]]
                    ) -> tuple[dict[str, Receipt], list[tuple[str, bytes]]]:
        """Commit, block by block, those of ``items`` (tx id, envelope) that fill a block
        by themselves, while nothing is queued: an orderer would cut that block at once,
        and queueing the envelopes durably first only to read them back and delete them
        cost a database commit per block. Returns the receipts and the items left over:
        too few for a block of their own, or all that remain once something is queued
        (they join the queue behind it, first in, first out, and wait for the batch's
        count, bytes or timeout)."""
        receipts: dict[str, Receipt] = {}
        rest = list(items)
        prepared: tuple[ChannelConfig, list[_BatchItem], list[SignatureCheck],
                        dt.datetime] | None = None
        while rest:
            if prepared is None:
                # The block's signatures are checked before the cutting lock, while
                # another thread may be committing; under the lock they are checked
                # again if the configuration changed meanwhile, or if the block's time
                # cannot be the time they were checked at (see ``_commit``).
                # Nothing is checked for a batch that would only join the queue.
                config, queued = self._config_and_queued()
                own = None if queued else _fill_block(rest, config.batch.max_count,
                                                      config.batch.max_bytes)
                if own is None:
                    break
                at = dt.datetime.now(dt.UTC)
                batch: list[_BatchItem] = [(None, tx_id, envelope, False, at)
                                           for tx_id, envelope in own]
                prepared = (config, batch, self._check(batch, config, at), at)
            config, batch, checks, at = prepared
            with self._lock:
                current, queued = self._config_and_queued()
                if queued:
                    break  # the rest join the queue behind what is there
                if current.sequence != config.sequence:  # check again under the new one
                    prepared = None
                    continue
                committed = self._commit_checked(batch, checks, config, at)
            prepared = None
            del rest[:len(batch)]
            assert committed is not None  # nothing of its own can vanish from the batch
            duplicates = [r.tx_id for r in committed[1] if r.code == _DUPLICATE]
            receipts.update((r.tx_id, r) for r in committed[1])
            if duplicates:
                # As through the queue: a transaction committed before answers with the
                # receipt of its first commit.
                with self.store.reads(self.channel_id) as reads:
                    receipts.update(reads.receipts(duplicates))
        return receipts, rest

    def _config_and_queued(self) -> tuple[ChannelConfig, int]:
        """The channel's configuration and how many transactions are queued."""
        with self.store.reads(self.channel_id) as reads:
            row = reads.channel_row()
            queued, _ = reads.pending_summary()
        if row is None:
            raise LedgerError(f"no channel {self.channel_id}")
        return self._decoded_config(bytes(row[0])), queued

    def _remember_encoded(self, tx: Transaction, envelope: bytes) -> None:
        """Keep ``tx`` and the envelope it was queued as until it is committed (see
        ``validation._decoded`` for when the cutter uses it)."""
        self._encoded[tx.tx_id] = (envelope, tx)

    def _known(self, tx_ids: Sequence[str]) -> list[Encoded | None]:
        encoded = self._encoded
        return [encoded.get(tx_id) for tx_id in tx_ids]

    def update_config(self, new: ChannelConfig, admins: Sequence[SigningIdentity],
                      timeout: float = 60.0) -> Receipt:
        tx = _config_transaction(new, admins[0], admins, "update")
        self.store.enqueue(self.channel_id, tx.tx_id, tx.encode(), config_tx=True)
        receipt = self.wait([tx.tx_id], timeout)[tx.tx_id]
        if receipt.code != ValidationCode.VALID.value:
            raise TransactionRejected(receipt)
        return receipt

    def wait(self, tx_ids: list[str], timeout: float) -> dict[str, Receipt]:
        """Wait until every transaction is in a committed block, cutting blocks when the
        batch is full or its timeout has passed."""
        deadline = time.monotonic() + timeout
        found: dict[str, Receipt] = {}
        pause = 0.0005
        retried = False
        while True:
            # Receipts, the configuration and the queue through one connection.
            missing = [t for t in tx_ids if t not in found]
            try:
                with self.store.reads(self.channel_id) as reads:
                    if missing:
                        found.update(reads.receipts(missing))
                    if len(found) == len(tx_ids):
                        return found
                    row = reads.channel_row()
                    count, oldest = reads.pending_summary()
            except Exception as exc:
                # The transactions are queued and may commit: a read that failed on a
                # connection the server dropped is tried once more on a fresh one.
                if retried or not self.store.is_database_error(exc):
                    raise
                retried = True
                continue
            retried = False
            if row is None:
                raise LedgerError(f"no channel {self.channel_id}")
            config = self._decoded_config(bytes(row[0]))
            batch = config.batch
            now = dt.datetime.now(dt.UTC)
            if count and (count >= batch.max_count or oldest is None or
                          (now - oldest).total_seconds() * 1000 >= batch.timeout_ms):
                self.cut_block(config=config)
                pause = 0.0005
                continue
            if time.monotonic() > deadline:
                raise CommitTimeout(f"{len(tx_ids) - len(found)} transactions not committed "
                                    f"within {timeout} s")
            time.sleep(pause)
            pause = min(pause * 2, 0.01)

    def cut_block(self, *, config: ChannelConfig | None = None) -> int | None:
        """Cut, validate and commit one block from the pending queue; its number, or
        None if nothing was pending (another process may have cut it). ``config``: the
        configuration just read, if the caller has it (it is checked again under the
        cutting lock)."""
        # One cutter per channel object at a time: a second thread would otherwise check
        # the signatures of the very batch the first is committing, then find it gone.
        # Other processes still cut concurrently; the database lock orders them.
        with self._lock:
            if config is None:
                config = self.config()
            return self._cut_locked(config)

    def _cut_locked(self, config: ChannelConfig) -> int | None:
        batch = self.store.peek_pending(self.channel_id, config.batch.max_count,
                                        config.batch.max_bytes)
        if not batch:
            return None
        at = dt.datetime.now(dt.UTC)
        checks = None if batch[0][3] else self._check(batch, config, at)
        committed = self._commit_checked(batch, checks, config, at)
        return committed[0].number if committed is not None else None

    def _check(self, batch: Sequence[_BatchItem], config: ChannelConfig, at: dt.datetime
               ) -> list[SignatureCheck]:
        """The state-independent checks of a batch of normal transactions, at ``at``
        (outside the database lock: the committer runs them again if the configuration
        changed or the block cannot have the time they were checked at)."""
        return check_signatures_parallel([b[2] for b in batch], config, self.contracts,
                                         self.identities, at, self._pool,
                                         self._known([b[1] for b in batch]))

    def _commit_checked(self, batch: Sequence[_BatchItem],
                        checks: list[SignatureCheck] | None, config: ChannelConfig,
                        at: dt.datetime) -> tuple[BlockHeader, list[Receipt]] | None:
        """Commit the checked batch as the next block; the header and a receipt per
        transaction, or None if every queued transaction of the batch was cut meanwhile
        by another process. (``checks`` None: a configuration transaction.)"""
        with self.store.block_writer(self.channel_id) as writer:
            committed = self._commit(writer, batch, checks, config, at)
        if committed is None:
            return None
        # Committed: only now may the caches move on to the new block.
        header, frontier, receipts = committed
        self._frontier = (frontier.size, frontier)
        self._last_header = header
        return header, receipts

    def _commit(self, writer: BlockWriter, batch: Sequence[_BatchItem],
                checks: list[SignatureCheck] | None, config: ChannelConfig,
                at: dt.datetime) -> tuple[BlockHeader, Frontier, list[Receipt]] | None:
        # Queued entries (with a seq) may have been cut by another process meanwhile;
        # the submitter's own (seq None) cannot.
        present = writer.pending_still_there([(b[0], b[1]) for b in batch
                                              if b[0] is not None])
        row = writer.channel_row()
        current = self._decoded_config(bytes(row[0]))
        height, tree_size = int(row[1]), int(row[2])
        previous = self._last_header
        if previous is None or previous.number != height - 1:
            previous = writer.header(height - 1)
        assert previous is not None
        # The block's time is when its checks ran, unless that is before the previous
        # block's: then the checks run again at the block's time, which the audit replays
        # them at (a certificate may have expired, or become valid, in between).
        checked_at, at = at, max(at, previous.timestamp)
        if current.sequence != config.sequence or checked_at != at or (
                checks is not None and any(b[0] is not None and b[0] not in present
                                           for b in batch)):
            config = current
            checks = None
        kept = [(b, i) for i, b in enumerate(batch) if b[0] is None or b[0] in present]
        if not kept:
            return None
        envelopes = [b[2] for b, _ in kept]
        tx_ids = [b[1] for b, _ in kept]
        if not batch[0][3] and checks is None:
            checks = check_signatures_parallel(envelopes, config, self.contracts,
                                               self.identities, at, self._pool,
                                               self._known(tx_ids))
        elif checks is not None:
            checks = [checks[i] for _, i in kept]
        number = height
        frontier = self._load_frontier(writer, tree_size)
        state = BlockState(writer.versions, writer.range_versions)
        if checks is not None:
            state.preload(checks)
        codes: list[str] = []
        leaves: list[list[bytes]] = []
        writes: list[TransactionWrites] = []
        block_leaves: list[bytes] = []
        receipts: list[Receipt] = []
        new_config: bytes | None = None
        already = writer.committed_tx_ids(tx_ids)
        seen: set[str] = set()
        for num, envelope in enumerate(envelopes):
            tx_id = tx_ids[num]
            tx_leaves: list[bytes] = []
            if tx_id in already or tx_id in seen:
                code = ValidationCode.DUPLICATE_TXID
            elif checks is None:  # a configuration block
                try:
                    tx = Transaction.decode(envelope)
                    installed = check_config_transaction(tx, config, self.identities, at)
                    code = ValidationCode.VALID
                    new_config = installed.encode()
                except LedgerError:
                    code = ValidationCode.BAD_PAYLOAD
            else:
                check = checks[num]
                code = check.code
                if code is ValidationCode.VALID and check.tx is not None:
                    if check.tx.tx_id != tx_id:
                        code = ValidationCode.BAD_PAYLOAD
                    else:
                        code = check_mvcc(check.tx, state)
                if code is ValidationCode.VALID and check.tx is not None:
                    version = Version(number, num)
                    apply_writes(check.tx, state, version)
                    writes.append((check.tx.proposal.contract, check.tx.results.rwset.writes,
                                   version, tx_id))
                    try:
                        tx_leaves = leaves_from_event(self.channel_id, tx_id,
                                                      check.tx.results.event)
                    except LedgerError:
                        tx_leaves = []
                    block_leaves.extend(tx_leaves)
            seen.add(tx_id)
            codes.append(code.value)
            leaves.append(tx_leaves)
            receipts.append(Receipt(tx_id, number, num, code.value,
                                    tree_size + len(block_leaves) - len(tx_leaves)
                                    if tx_leaves else None, len(tx_leaves)))
        # The block's Merkle nodes in one pass (the same as appending leaf by leaf).
        new_nodes = frontier.extend(hash_leaves(block_leaves))
        header = BlockHeader(self.channel_id, number, previous.hash, data_hash(envelopes),
                             tuple(codes), frontier.size, frontier.root(), at, config.sequence)
        _check_orderer(config, self.orderer, at, self.identities)
        block = Block(header, tuple(envelopes), self.orderer.sign(header.encode()),
                      self.orderer.identity.id_bytes)
        writer.write_block(block, codes, tx_ids, leaves, tree_size, writes, new_nodes, at,
                           [b[0] for b, _ in kept if b[0] is not None], new_config)
        return header, frontier, receipts

    def _load_frontier(self, writer: BlockWriter, size: int) -> Frontier:
        cached = self._frontier
        if cached is not None and cached[0] == size:
            # Copy: if this block's transaction rolls back, the cache must not have moved.
            return Frontier.from_cover(size, cached[1].hashes())
        return Frontier.load(size, writer)

    # -- checkpoints ------------------------------------------------------------------
    def log_signer(self) -> NoteSigner:
        return NoteSigner(self.config().origin, self.orderer.signer, SignatureKind.NOTE)

    def witness_signers(self) -> list[NoteSigner]:
        return [NoteSigner(f"{w.identity.msp_id}.witness", w.signer, SignatureKind.COSIGNATURE)
                for w in self.witnesses]

    def checkpoint(self) -> bytes:
        """The latest signed, cosigned checkpoint; a new one if the tree has grown."""
        size = self.tree_size()
        latest = self.store.latest_checkpoint(self.channel_id)
        if latest is not None and latest[0] >= size:
            return latest[1]
        checkpoint = Checkpoint(self.config().origin, size, self.root(size))
        log = self.log_signer()
        note = sign_checkpoint(checkpoint, log)
        cosignatures, states = [], {}
        for signer in self.witness_signers():
            stored = self.store.witness_state(self.channel_id, signer.name)
            prior: dict[str, tuple[int, bytes]] = {}
            if stored:
                doc = json.loads(stored)
                prior = {checkpoint.origin: (int(doc["size"]), bytes.fromhex(doc["root"]))}
            witness = Witness(signer, [log.verifier()], state=prior)
            old = witness.latest(checkpoint.origin)
            proof: Sequence[bytes] = ()
            if old is not None and 0 < old[0] < size:
                proof = self.consistency_proof(old[0], size).hashes
            cosignatures.append(witness.cosign(note, proof))
            states[signer.name] = json.dumps({"size": size, "root": checkpoint.root_hash.hex()})
        if cosignatures:
            note = add_cosignatures(note, cosignatures)
        self.store.store_checkpoint(self.channel_id, size, note, states)
        stored_latest = self.store.latest_checkpoint(self.channel_id)
        return stored_latest[1] if stored_latest else note

    def verifiers(self) -> list[NoteVerifier]:
        return [self.log_signer().verifier(), *(w.verifier() for w in self.witness_signers())]

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        if self._owns_store:
            self.store.close()


def _check_orderer(config: ChannelConfig, orderer: SigningIdentity, at: dt.datetime,
                   identities: IdentityCache) -> None:
    identity = identities.resolve(config, orderer.identity.id_bytes, at)
    if identity.msp_id != config.orderer_msp or identity.role != "orderer":
        raise ConfigError("the orderer must be an orderer identity of the orderer MSP")
