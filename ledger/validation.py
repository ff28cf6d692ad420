"""The committer's checks, shared by block cutting and by ``ledger audit``.

A transaction is valid when its envelope parses, its creator is a valid identity of a
channel organisation that signed the proposal, its endorsements (valid peer identities,
valid signatures over the same results) satisfy the contract's endorsement policy, the
contract answered 200, and every key it read still has the version it read (MVCC,
including range reads and earlier transactions of the same block). Invalid transactions
stay in their block with a code, as on Fabric.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from crypto.errors import CryptoError, InvalidSignature
from crypto.x509 import Certificate
from ledger.config import CONFIG_NAMESPACE, ChannelConfig
from ledger.errors import IdentityError, LedgerError
from ledger.msp import Identity
from ledger.policy import Policy, evaluate
from ledger.tx import MalformedTransaction, Transaction, Version, decodes_to_itself


class ValidationCode(enum.Enum):
    VALID = "VALID"
    BAD_PAYLOAD = "BAD_PAYLOAD"
    WRONG_CHANNEL = "WRONG_CHANNEL"
    DUPLICATE_TXID = "DUPLICATE_TXID"
    BAD_CREATOR = "BAD_CREATOR"
    BAD_CREATOR_SIGNATURE = "BAD_CREATOR_SIGNATURE"
    UNKNOWN_CONTRACT = "UNKNOWN_CONTRACT"
    BAD_RESPONSE = "BAD_RESPONSE"
    ENDORSEMENT_POLICY_FAILURE = "ENDORSEMENT_POLICY_FAILURE"
    ILLEGAL_WRITESET = "ILLEGAL_WRITESET"
    MVCC_READ_CONFLICT = "MVCC_READ_CONFLICT"
    PHANTOM_READ_CONFLICT = "PHANTOM_READ_CONFLICT"


class IdentityCache:
    """Certificate → validated identity, per configuration sequence. Chain validation
    costs SM2 verifications; a certificate's validity period is still checked against
    every transaction's time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Keyed by the certificate bytes themselves: hashing them for a dict costs far
        # less than an SM3 of them, and bytes compare exactly. A valid identity is kept
        # with its certificate's validity period (reading that from the certificate
        # parses ASN.1 every time).
        self._cache: dict[tuple[int, bytes],
                          tuple[Identity, dt.datetime, dt.datetime] | LedgerError] = {}

    def resolve(self, config: ChannelConfig, der: bytes, at: dt.datetime) -> Identity:
        key = (config.sequence, bytes(der))
        cached = self._cache.get(key)  # a dict read is atomic; writes take the lock
        if cached is None:
            validated = self._validate(config, der, at)
            if isinstance(validated, Identity):
                cert = validated.certificate
                cached = (validated, cert.not_before, cert.not_after)
            else:
                cached = validated
            # A certificate (or CA) not yet valid at ``at`` becomes valid later: caching
            # that refusal would keep it out until the next configuration change, and a
            # fresh process (or the audit) would then disagree with this one.
            not_yet_valid = isinstance(cached, IdentityError) and \
                cached.reason == "not_yet_valid"
            if isinstance(cached, tuple) or (len(self._cache) < 100_000
                                             and not not_yet_valid):
                with self._lock:
                    self._cache[key] = cached
        if isinstance(cached, LedgerError):
            raise _detached(cached)
        identity, not_before, not_after = cached
        if not not_before <= at <= not_after:
            raise LedgerError("certificate not valid at the transaction's time")
        return identity

    @staticmethod
    def _validate(config: ChannelConfig, der: bytes, at: dt.datetime) -> Identity | LedgerError:
        try:
            cert = Certificate.from_der(der)
        except CryptoError as exc:
            return LedgerError(f"unreadable certificate: {exc}")
        last: LedgerError = LedgerError("certificate of no channel organisation")
        for msp in config.msps().values():
            try:
                return msp.validate(cert, at)
            except IdentityError as exc:
                # Keep the time-dependent refusal rather than another MSP's "untrusted".
                if not (isinstance(last, IdentityError) and last.reason == "not_yet_valid"):
                    last = _detached(exc)
            except LedgerError as exc:
                last = _detached(exc)
        return last


_E = TypeVar("_E", bound=BaseException)


def _detached(error: _E) -> _E:
    """A copy of ``error`` (same type, message and attributes) without its traceback,
    cause or context. A refusal kept beyond its ``except`` block (the cache above keeps
    them, and raises them again) must not hold the frames it was raised through: they
    hold their callers' locals (a bulk import's whole file, when it anchors), which would
    then live until the cyclic collector runs, or as long as the cache entry."""
    copy = type(error).__new__(type(error), *error.args)
    copy.__dict__.update(error.__dict__)
    copy.args = error.args
    return copy


@dataclass
class SignatureCheck:
    """The state-independent part of validation (signatures, identities, policy),
    which can run in parallel before the sequential MVCC pass."""

    code: ValidationCode
    tx: Transaction | None
    creator: Identity | None = None


@functools.lru_cache(maxsize=4096)
def _policy_met(policy: Policy, signers: tuple[tuple[str, str], ...]) -> bool:
    """``evaluate``, remembered: a block's transactions mostly carry the same endorsers,
    and the answer depends on nothing but the policy and the signers."""
    return evaluate(policy, signers)


# A transaction this process encoded, with the exact bytes ``encode`` gave.
Encoded = tuple[bytes, Transaction]


def _decoded(envelope: bytes, known: Encoded | None) -> Transaction:
    """``Transaction.decode(envelope)``; or ``known``'s transaction when ``envelope`` is
    byte for byte the encoding it gave and it is exactly what decoding gives back
    (``decodes_to_itself``): the submitter's own transaction, not parsed again. Its
    signed bytes are then the very parts of ``envelope`` that decoding would verify."""
    if known is not None and known[0] == envelope and decodes_to_itself(known[1]):
        return known[1]
    return Transaction.decode(envelope)


def check_signatures(envelope: bytes, config: ChannelConfig, contracts: Iterable[str],
                     identities: IdentityCache, at: dt.datetime,
                     pool: ThreadPoolExecutor | None = None,
                     known: Encoded | None = None) -> SignatureCheck:
    """The signature checks of one envelope. With ``pool``, its SM2 verifications (the
    creator's and every endorsement's) run at once on the pool's threads (libcrypto
    releases the GIL); the answer is the same as one after the other. ``known``: the
    transaction this process encoded for this envelope, if any (see ``_decoded``)."""
    try:
        tx = _decoded(envelope, known)
    except (MalformedTransaction, LedgerError, CryptoError):
        return SignatureCheck(ValidationCode.BAD_PAYLOAD, None)
    proposal = tx.proposal
    if proposal.channel != config.channel_id:
        return SignatureCheck(ValidationCode.WRONG_CHANNEL, tx)
    try:
        creator = identities.resolve(config, proposal.creator, at)
    except LedgerError:
        return SignatureCheck(ValidationCode.BAD_CREATOR, tx)
    proposal_bytes = proposal.signed_bytes()
    if pool is not None and tx.endorsements:
        return _check_concurrently(tx, creator, config, contracts, identities, at, pool)
    try:
        creator.verify(tx.signature, proposal_bytes)
    except InvalidSignature:
        return SignatureCheck(ValidationCode.BAD_CREATOR_SIGNATURE, tx, creator)
    if proposal.contract == CONFIG_NAMESPACE or proposal.contract not in set(contracts):
        return SignatureCheck(ValidationCode.UNKNOWN_CONTRACT, tx, creator)
    results = tx.results
    if results.proposal_hash != proposal.signed_hash():
        return SignatureCheck(ValidationCode.BAD_RESPONSE, tx, creator)
    if results.response.status != 200:
        return SignatureCheck(ValidationCode.BAD_RESPONSE, tx, creator)
    signed = results.signed_bytes()
    endorsers: dict[bytes, tuple[str, str]] = {}
    for endorsement in tx.endorsements:
        try:
            identity = identities.resolve(config, endorsement.endorser, at)
            identity.verify(endorsement.signature, signed)
        except (LedgerError, InvalidSignature):
            continue  # an invalid endorsement counts for nothing, as on Fabric
        endorsers[endorsement.endorser] = (identity.msp_id, identity.role)
    if not _policy_met(config.policy_for(proposal.contract), tuple(endorsers.values())):
        return SignatureCheck(ValidationCode.ENDORSEMENT_POLICY_FAILURE, tx, creator)
    return SignatureCheck(ValidationCode.VALID, tx, creator)


def _verifies(identity: Identity, signature: bytes, data: bytes) -> bool:
    try:
        identity.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _check_concurrently(tx: Transaction, creator: Identity, config: ChannelConfig,
                        contracts: Iterable[str], identities: IdentityCache,
                        at: dt.datetime, pool: ThreadPoolExecutor) -> SignatureCheck:
    """``check_signatures`` after the creator is resolved, every verification at once:
    the same checks in the same order of precedence, so the same code."""
    proposal, results = tx.proposal, tx.results
    proposal_bytes = proposal.signed_bytes()
    signed = results.signed_bytes()
    jobs: list[tuple[Identity, bytes, bytes]] = [(creator, tx.signature, proposal_bytes)]
    endorsing: list[tuple[bytes, Identity]] = []
    for endorsement in tx.endorsements:
        try:
            identity = identities.resolve(config, endorsement.endorser, at)
        except LedgerError:
            continue
        endorsing.append((endorsement.endorser, identity))
        jobs.append((identity, endorsement.signature, signed))
    futures = [pool.submit(_verifies, *job) for job in jobs[1:]]
    creator_ok = _verifies(*jobs[0])
    verified = [f.result() for f in futures]
    if not creator_ok:
        return SignatureCheck(ValidationCode.BAD_CREATOR_SIGNATURE, tx, creator)
    if proposal.contract == CONFIG_NAMESPACE or proposal.contract not in set(contracts):
        return SignatureCheck(ValidationCode.UNKNOWN_CONTRACT, tx, creator)
    if results.proposal_hash != proposal.signed_hash():
        return SignatureCheck(ValidationCode.BAD_RESPONSE, tx, creator)
    if results.response.status != 200:
        return SignatureCheck(ValidationCode.BAD_RESPONSE, tx, creator)
    endorsers: dict[bytes, tuple[str, str]] = {}
    for (der, identity), ok in zip(endorsing, verified, strict=True):
        if ok:
            endorsers[der] = (identity.msp_id, identity.role)
    if not _policy_met(config.policy_for(proposal.contract), tuple(endorsers.values())):
        return SignatureCheck(ValidationCode.ENDORSEMENT_POLICY_FAILURE, tx, creator)
    return SignatureCheck(ValidationCode.VALID, tx, creator)


def check_signatures_parallel(envelopes: list[bytes], config: ChannelConfig,
                              contracts: Iterable[str], identities: IdentityCache,
                              at: dt.datetime, pool: ThreadPoolExecutor | None,
                              known: Sequence[Encoded | None] | None = None
                              ) -> list[SignatureCheck]:
    """Every envelope's ``check_signatures``: envelopes spread over the pool, or, for a
    block of a few transactions, each one's verifications spread over it. ``known``:
    for each envelope, the transaction this process encoded for it, if any."""
    names = list(contracts)
    candidates = list(known) if known is not None else [None] * len(envelopes)

    def one(envelope: bytes, candidate: Encoded | None) -> SignatureCheck:
        return check_signatures(envelope, config, names, identities, at, known=candidate)

    if pool is None:
        return [one(e, k) for e, k in zip(envelopes, candidates, strict=True)]
    if len(envelopes) < 4:
        return [check_signatures(e, config, names, identities, at, pool, k)
                for e, k in zip(envelopes, candidates, strict=True)]
    return list(pool.map(one, envelopes, candidates))


VersionLookup = Callable[[str, list[str]], dict[str, Version]]
RangeLookup = Callable[[str, str, str], list[tuple[str, Version]]]


class BlockState:
    """Committed versions plus the writes of earlier valid transactions in this block."""

    def __init__(self, versions: VersionLookup, ranges: RangeLookup) -> None:
        self._versions = versions
        self._ranges = ranges
        # The writes of earlier valid transactions of this block: value (None: deleted)
        # and version per key, in two maps rather than a (value, version) pair per key,
        # which the garbage collector would track (a version is an object) and, for a
        # block of thousands of writes, promote until it runs a full collection.
        self.overlay: dict[tuple[str, str], bytes | None] = {}
        self.overlay_versions: dict[tuple[str, str], Version] = {}
        # Committed versions read ahead for the whole block (None: no such key).
        # Committed state cannot change while the block is validated.
        self._committed: dict[tuple[str, str], Version | None] = {}

    def preload(self, checks: list[SignatureCheck]) -> None:
        """Read the committed versions of every key the block's valid transactions read,
        a few queries for the whole block instead of one per transaction."""
        wanted: dict[str, set[str]] = {}
        for check in checks:
            if check.code is ValidationCode.VALID and check.tx is not None:
                wanted.setdefault(check.tx.proposal.contract, set()).update(
                    k for k, _ in check.tx.results.rwset.reads)
        for namespace, keys in wanted.items():
            ordered = sorted(keys)
            found = self._versions(namespace, ordered)
            for key in ordered:
                self._committed[(namespace, key)] = found.get(key)

    def prefetch(self, namespace: str, keys: list[str]) -> dict[str, Version | None]:
        missing = [k for k in keys if (namespace, k) not in self.overlay
                   and (namespace, k) not in self._committed]
        committed = self._versions(namespace, missing) if missing else {}
        result: dict[str, Version | None] = {}
        for k in keys:
            slot = (namespace, k)
            if slot in self.overlay:
                result[k] = self.overlay_versions[slot] if self.overlay[slot] is not None \
                    else None
            elif slot in self._committed:
                result[k] = self._committed[slot]
            else:
                result[k] = committed.get(k)
        return result

    def range_versions(self, namespace: str, start: str, end: str) -> list[tuple[str, Version]]:
        rows = dict(self._ranges(namespace, start, end))
        for (ns, key), value in self.overlay.items():
            if ns != namespace or key < start or (end and key >= end):
                continue
            if value is None:
                rows.pop(key, None)
            else:
                rows[key] = self.overlay_versions[(ns, key)]
        return sorted(rows.items())


def check_mvcc(tx: Transaction, state: BlockState) -> ValidationCode:
    namespace = tx.proposal.contract
    rwset = tx.results.rwset
    if any(not k or k.startswith("\x00") for k, _ in rwset.writes):
        return ValidationCode.ILLEGAL_WRITESET
    if rwset.reads:
        current = state.prefetch(namespace, [k for k, _ in rwset.reads])
        for key, version in rwset.reads:
            if current.get(key) != version:
                return ValidationCode.MVCC_READ_CONFLICT
    for rng in rwset.range_reads:
        if tuple(state.range_versions(namespace, rng.start, rng.end)) != rng.results:
            return ValidationCode.PHANTOM_READ_CONFLICT
    return ValidationCode.VALID


def apply_writes(tx: Transaction, state: BlockState, version: Version) -> None:
    namespace = tx.proposal.contract
    values, versions = state.overlay, state.overlay_versions
    for key, value in tx.results.rwset.writes:
        slot = (namespace, key)
        values[slot] = value
        versions[slot] = version
