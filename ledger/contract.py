"""Contracts and the stub they call, in the shape of Fabric's chaincode API.

A contract is a class whose public methods marked ``@transaction`` (they write) or
``@query`` (read-only) receive a ``Context`` and string arguments. They must be
deterministic: no clock (use ``ctx.stub.timestamp``), no randomness, no I/O. Endorsers
run them against committed state through a ``SimulationStub``, which records the
read/write set that the committer later validates (MVCC).

As on Fabric, a read after a write in the same transaction sees the committed value, not
the pending write, and history reads are not validated at commit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ledger.errors import LedgerError
from ledger.tx import Event, RangeRead, ReadWriteSet, Version

MAX_KEY_LENGTH = 256
MAX_VALUE_BYTES = 4 * 1024 * 1024


class ContractError(LedgerError):
    """A contract refused the request (bad arguments, business rule). Becomes a 400
    response; endorsers do not endorse it and nothing is ordered."""


@dataclass(frozen=True)
class StateEntry:
    value: bytes
    version: Version


@dataclass(frozen=True)
class KeyModification:
    """One change of a key, as ``get_history_for_key`` returns it."""

    tx_id: str
    version: Version
    value: bytes | None  # None: the key was deleted
    timestamp: dt.datetime


class StateReader(Protocol):
    """Committed world state of one contract namespace on one channel.

    A reader may also offer ``get_many(keys) -> dict[str, StateEntry]`` (absent keys
    left out), which ``SimulationStub.get_multiple_states`` then uses for one read of
    many keys."""

    def get(self, key: str) -> StateEntry | None: ...

    def range(self, start: str, end: str) -> list[tuple[str, StateEntry]]: ...

    def history(self, key: str) -> list[KeyModification]: ...


@dataclass(frozen=True)
class Creator:
    """Who submitted the transaction (an identity the MSP validated)."""

    msp_id: str
    role: str
    certificate_der: bytes


_CONTROL = re.compile(r"[\x00-\x1f]")


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ContractError(f"keys are 1-{MAX_KEY_LENGTH} characters")
    # A printable string holds no control character; only the others need the search.
    if not key.isprintable() and _CONTROL.search(key):
        raise ContractError("keys may not contain control characters")
    return key


class SimulationStub:
    """The stub handed to contracts while endorsing: reads committed state, records the
    read/write set and the event."""

    def __init__(self, state: StateReader, tx_id: str, creator: Creator,
                 timestamp: dt.datetime, *, read_only: bool = False) -> None:
        self._state = state
        self.tx_id = tx_id
        self.creator = creator
        self.timestamp = timestamp
        self._read_only = read_only
        self._reads: dict[str, Version | None] = {}
        self._ranges: list[RangeRead] = []
        self._writes: dict[str, bytes | None] = {}
        self._event: Event | None = None

    def get_state(self, key: str) -> bytes | None:
        entry = self._state.get(check_key(key))
        self._reads.setdefault(key, entry.version if entry else None)
        return entry.value if entry else None

    def get_multiple_states(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of several keys (None where absent), as ``get_state`` gives them
        one by one and recorded in the read set the same way, in one read of committed
        state where the reader allows it (Fabric's ``GetMultipleStates``)."""
        checked = [check_key(k) for k in keys]
        get_many = getattr(self._state, "get_many", None)
        found: dict[str, StateEntry] = {}
        if get_many is not None:
            found = get_many(checked)
        else:
            for key in checked:
                entry = self._state.get(key)
                if entry is not None:
                    found[key] = entry
        values: list[bytes | None] = []
        reads = self._reads
        for key in checked:
            entry = found.get(key)
            if entry is None:
                reads.setdefault(key, None)
                values.append(None)
            else:
                reads.setdefault(key, entry.version)
                values.append(entry.value)
        return values

    def put_state(self, key: str, value: bytes) -> None:
        if self._read_only:
            raise ContractError("a query cannot write")
        if not isinstance(value, bytes) or len(value) > MAX_VALUE_BYTES:
            raise ContractError("values are bytes, at most 4 MiB")
        self._writes[check_key(key)] = value

    def del_state(self, key: str) -> None:
        if self._read_only:
            raise ContractError("a query cannot write")
        self._writes[check_key(key)] = None

    def get_state_by_range(self, start: str, end: str) -> list[tuple[str, bytes]]:
        """Keys in [start, end) in order; an empty ``end`` means no upper bound."""
        rows = self._state.range(start, end)
        self._ranges.append(RangeRead(start, end, tuple((k, e.version) for k, e in rows)))
        return [(k, e.value) for k, e in rows]

    def get_history_for_key(self, key: str) -> list[KeyModification]:
        return self._state.history(check_key(key))

    def set_event(self, name: str, payload: bytes) -> None:
        """One event per transaction, as on Fabric: a second call replaces the first."""
        if self._read_only:
            raise ContractError("a query cannot emit events")
        self._event = Event(name, payload)

    def rwset(self) -> ReadWriteSet:
        return ReadWriteSet(reads=tuple(sorted(self._reads.items())),
                            range_reads=tuple(self._ranges),
                            writes=tuple(sorted(self._writes.items())))

    @property
    def event(self) -> Event | None:
        return self._event


@dataclass(frozen=True)
class Context:
    stub: SimulationStub

    @property
    def creator(self) -> Creator:
        return self.stub.creator


ContractFunction = Callable[..., bytes | str | None]
F = TypeVar("F", bound=ContractFunction)


def transaction(fn: F) -> F:
    """Mark a contract method as a submitted (writing) transaction."""
    fn.__ledger_kind__ = "transaction"  # type: ignore[attr-defined]
    return fn


def query(fn: F) -> F:
    """Mark a contract method as read-only (evaluated, never ordered)."""
    fn.__ledger_kind__ = "query"  # type: ignore[attr-defined]
    return fn


class Contract:
    """Base of every contract; ``name`` is its namespace on the channel."""

    name: str = ""

    def function(self, name: str) -> tuple[str, Callable[..., Any]]:
        """(kind, bound method) of a marked public method, or ``ContractError``."""
        if name.startswith("_"):
            raise ContractError(f"no function {name}")
        method = getattr(self, name, None)
        kind = getattr(method, "__ledger_kind__", None)
        if method is None or kind is None:
            raise ContractError(f"contract {self.name} has no function {name}")
        return kind, method
