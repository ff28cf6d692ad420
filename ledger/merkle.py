"""The Merkle tree of the verifiable log: RFC 9162 (Certificate Transparency 2.0) section 2.1
with SM3, its inclusion and consistency proofs, and their verification.

Pure functions over bytes; the only dependencies are the hash function (SM3 by default, any
``bytes -> bytes`` function can be passed) and the ledger's error classes, so an independent
verifier can copy this file and replace those two imports. docs/ledger.md states the same
rules in prose.

Stored-node scheme: once the tree has grown past it, a *perfect subtree* (2**level leaves
starting at leaf ``index * 2**level``) never changes. ``NodeAddress(level, index)`` names it;
level 0 is the leaf hash of leaf ``index``. Every RFC 9162 subtree hash (for any tree size)
is a right fold of at most ~log2(size) such nodes, so a store that keeps exactly the perfect
subtrees (about 2n hashes for n leaves, written once, never updated) answers any proof for
any past size in O(log n) reads. ``Frontier.append`` reports the nodes each leaf completes,
which is what a storage backend persists.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from crypto.sm3 import sm3
from ledger.errors import InvalidProof, LedgerError, MissingNode, TreeRangeError

HashFunction = Callable[[bytes], bytes]
_L = TypeVar("_L")   # what a path holds for each proof hash (root_and_labelled_paths)

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
# Tree sizes and indices are uint64 on the wire (RFC 9162, C2SP checkpoints).
MAX_TREE_SIZE = (1 << 64) - 1
# A proof in a tree of at most 2**64 leaves has at most 64 (inclusion) or 128 (consistency)
# hashes; anything longer is refused before any hashing.
MAX_PROOF_HASHES = 128


# --- hashing (RFC 9162 2.1.1) ---------------------------------------------------------------

def _prepared_sm3(prefix: bytes) -> hashlib._Hash | None:
    """An SM3 context that has already absorbed ``prefix`` (None if hashlib lacks SM3).

    Copying it and adding the rest costs about half of hashing from scratch, which is
    most of the time of a proof verification (one 65-byte hash per level). The result is
    SM3(prefix || rest), the same bytes as ``hash_fn(prefix + rest)`` with ``sm3``."""
    try:
        prepared = hashlib.new("sm3", prefix)
    except ValueError:
        return None
    return prepared if hashlib.new("sm3", b"abc").hexdigest().startswith("66c7f0f4") else None


_SM3_LEAF = _prepared_sm3(LEAF_PREFIX)
_SM3_NODE = _prepared_sm3(NODE_PREFIX)


def leaf_hash(leaf: bytes, hash_fn: HashFunction = sm3) -> bytes:
    """HASH(0x00 || leaf): the hash of one log entry."""
    if hash_fn is sm3 and _SM3_LEAF is not None:
        h = _SM3_LEAF.copy()
        h.update(leaf)
        return h.digest()
    return hash_fn(LEAF_PREFIX + leaf)


def node_hash(left: bytes, right: bytes, hash_fn: HashFunction = sm3) -> bytes:
    """HASH(0x01 || left || right): the hash of an interior node."""
    if hash_fn is sm3 and _SM3_NODE is not None:
        h = _SM3_NODE.copy()
        h.update(left)
        h.update(right)
        return h.digest()
    return hash_fn(NODE_PREFIX + left + right)


def empty_root(hash_fn: HashFunction = sm3) -> bytes:
    """MTH({}) = HASH(): the root of the empty tree."""
    return hash_fn(b"")


@functools.lru_cache(maxsize=16)
def _digest_size(hash_fn: HashFunction) -> int:
    return len(hash_fn(b""))


def _fold(hashes: Sequence[bytes], hash_fn: HashFunction) -> bytes:
    """Right fold of the perfect subtrees covering a range, largest first: the range's MTH."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result, hash_fn)
    return result


def _split(n: int) -> int:
    """k of RFC 9162: the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- stored nodes ---------------------------------------------------------------------------

@dataclass(frozen=True, order=True, slots=True)
class NodeAddress:
    """A perfect subtree: leaves [index * 2**level, (index + 1) * 2**level).

    Level 0 is a leaf hash. The hash at an address never changes once the tree covers it.
    """

    level: int
    index: int

    @property
    def first_leaf(self) -> int:
        return self.index << self.level

    @property
    def end_leaf(self) -> int:
        """One past the last leaf covered."""
        return (self.index + 1) << self.level


def subtree_cover(start: int, end: int) -> list[NodeAddress]:
    """The perfect subtrees covering leaves [start, end), largest first.

    ``start`` must be aligned as RFC 9162 aligns subtrees (a multiple of the largest power
    of two not below ``end - start``); every range the RFC recursion produces is, and so is
    [0, size). The MTH of the range is the right fold of the cover's hashes.
    """
    cover: list[NodeAddress] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start & ((1 << level) - 1):
            raise TreeRangeError(f"range [{start}, {end}) is not an RFC 9162 subtree")
        cover.append(NodeAddress(level, start >> level))
        start += 1 << level
    return cover


class NodeStore(Protocol):
    """Where proofs read stored perfect-subtree hashes from.

    One batched call per proof, so a database backend answers with one query
    (``WHERE (level, index) IN (...)``) whatever the tree size.
    """

    def node_hashes(self, addresses: Sequence[NodeAddress]) -> Sequence[bytes]:
        """The hash at each address, in the order asked; ``MissingNode`` if one is absent."""
        ...


def _resolve(groups: list[list[NodeAddress]], store: NodeStore,
             hash_fn: HashFunction) -> list[bytes]:
    """Fetch every group's nodes in one call and fold each group into one subtree hash."""
    flat = [address for group in groups for address in group]
    if not flat:
        return []
    hashes = list(store.node_hashes(flat))
    if len(hashes) != len(flat):
        raise MissingNode(f"node store returned {len(hashes)} hashes for {len(flat)} nodes")
    result, pos = [], 0
    for group in groups:
        result.append(_fold(hashes[pos: pos + len(group)], hash_fn))
        pos += len(group)
    return result


def _check_size(size: int, what: str = "tree size") -> None:
    if not 0 <= size <= MAX_TREE_SIZE:
        raise TreeRangeError(f"{what} {size} is outside 0..2**64-1")


# --- proof generation (RFC 9162 2.1.3.1, 2.1.4.1) ---------------------------------------------

def inclusion_plan(index: int, size: int) -> list[list[NodeAddress]]:
    """The nodes whose folds form the inclusion proof of leaf ``index`` in a tree of ``size``.

    One group per proof hash, bottom-up; this is PATH(m, D[n]) computed iteratively.
    """
    _check_size(size)
    if size == 0:
        raise TreeRangeError("the empty tree has no leaves to prove")
    if not 0 <= index < size:
        raise TreeRangeError(f"leaf index {index} is not below tree size {size}")
    groups: list[list[NodeAddress]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            groups.append(subtree_cover(lo + k, hi))
            hi = lo + k
        else:
            groups.append(subtree_cover(lo, lo + k))
            lo += k
    groups.reverse()
    return groups


def consistency_plan(first: int, second: int) -> list[list[NodeAddress]]:
    """The nodes whose folds form the consistency proof from size ``first`` to ``second``.

    This is PROOF(m, D[n]) = SUBPROOF(m, D[n], true) computed iteratively; empty when
    ``first`` is 0 or equal to ``second`` (nothing to prove).
    """
    _check_size(first, "first tree size")
    _check_size(second, "second tree size")
    if first > second:
        raise TreeRangeError(f"first tree size {first} exceeds second tree size {second}")
    if first in (0, second):
        return []
    groups: list[list[NodeAddress]] = []
    lo, hi, m = 0, second, first  # m is relative to lo, as in the recursion
    whole = True  # the RFC's b: the old tree is still the whole left part
    while True:
        if m == hi - lo:
            if not whole:
                groups.append(subtree_cover(lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            groups.append(subtree_cover(lo + k, hi))
            hi = lo + k
        else:
            groups.append(subtree_cover(lo, lo + k))
            lo += k
            m -= k
            whole = False
    groups.reverse()
    return groups


def inclusion_proof(index: int, size: int, store: NodeStore,
                    hash_fn: HashFunction = sm3) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (O(log n) reads)."""
    return _resolve(inclusion_plan(index, size), store, hash_fn)


def consistency_proof(first: int, second: int, store: NodeStore,
                      hash_fn: HashFunction = sm3) -> list[bytes]:
    """The proof that the tree of ``second`` leaves extends the tree of ``first`` leaves."""
    return _resolve(consistency_plan(first, second), store, hash_fn)


def stored_root(size: int, store: NodeStore, hash_fn: HashFunction = sm3) -> bytes:
    """The root of the tree's first ``size`` leaves, from stored nodes (O(log n) reads)."""
    _check_size(size)
    if size == 0:
        return empty_root(hash_fn)
    return _resolve([subtree_cover(0, size)], store, hash_fn)[0]


# --- proof verification (RFC 9162 2.1.3.2, 2.1.4.2) -------------------------------------------

def _check_lengths(named: Iterable[tuple[str, bytes]], proof: Sequence[bytes],
                   hash_fn: HashFunction) -> None:
    size = _digest_size(hash_fn)
    for name, value in named:
        if not isinstance(value, bytes) or len(value) != size:
            raise InvalidProof(f"{name} must be {size} bytes")
    if len(proof) > MAX_PROOF_HASHES:
        raise InvalidProof(f"a proof has at most {MAX_PROOF_HASHES} hashes")
    for value in proof:
        if not isinstance(value, bytes) or len(value) != size:
            raise InvalidProof(f"every proof hash must be {size} bytes")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes,
                     hash_fn: HashFunction = sm3) -> None:
    """Raise ``InvalidProof`` unless ``proof`` shows the leaf hash ``leaf`` at ``index`` in
    the tree of ``size`` leaves whose root is ``root`` (RFC 9162 2.1.3.2, step by step)."""
    _check_lengths((("root", root),), (), hash_fn)
    if inclusion_root(leaf, index, size, proof, hash_fn) != root:
        raise InvalidProof("inclusion proof does not lead to the root")


def inclusion_root(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                   hash_fn: HashFunction = sm3) -> bytes:
    """The root that ``proof`` leads to from the leaf hash ``leaf`` at ``index`` in a tree
    of ``size`` leaves (RFC 9162 2.1.3.2 up to the final comparison); ``InvalidProof`` if
    the proof cannot be an audit path of that index and size."""
    _check_lengths((("leaf hash", leaf),), proof, hash_fn)
    # 1. leaf_index must be below tree_size.
    if not 0 <= index < size <= MAX_TREE_SIZE:
        raise InvalidProof(f"leaf index {index} is not below tree size {size}")
    # 2.-3.
    fn, sn = index, size - 1
    r = leaf
    # The same steps with SM3 inlined (a prepared context per hash), when it is SM3.
    node = _SM3_NODE.copy if hash_fn is sm3 and _SM3_NODE is not None else None
    # 4.
    for p in proof:
        if sn == 0:  # a.
            raise InvalidProof("inclusion proof has too many hashes")
        if fn & 1 or fn == sn:  # b.
            if node is not None:
                h = node()
                h.update(p)
                h.update(r)
                r = h.digest()
            else:
                r = node_hash(p, r, hash_fn)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        elif node is not None:
            h = node()
            h.update(r)
            h.update(p)
            r = h.digest()
        else:
            r = node_hash(r, p, hash_fn)
        fn >>= 1  # c.
        sn >>= 1
    # 5.
    if sn != 0:
        raise InvalidProof("inclusion proof has too few hashes")
    return r


def verify_consistency(first: int, second: int, proof: Sequence[bytes], first_root: bytes,
                       second_root: bytes, hash_fn: HashFunction = sm3) -> None:
    """Raise ``InvalidProof`` unless ``proof`` shows the tree (``second``, ``second_root``)
    extends the tree (``first``, ``first_root``) (RFC 9162 2.1.4.2, step by step).

    The trivial cases RFC 9162 leaves to the caller: equal sizes need an empty proof and equal
    roots; from size 0 the proof is empty and ``first_root`` must be the empty tree's root.
    """
    _check_lengths((("first root", first_root), ("second root", second_root)), proof, hash_fn)
    if not 0 <= first <= second <= MAX_TREE_SIZE:
        raise InvalidProof(f"first tree size {first} is not within 0..{second}")
    if first == 0 and first_root != empty_root(hash_fn):
        raise InvalidProof("the root of a tree of size 0 must be the empty-tree hash")
    if first == second:
        if proof:
            raise InvalidProof("a proof between equal tree sizes must be empty")
        if first_root != second_root:
            raise InvalidProof("equal tree sizes with different roots")
        return
    if first == 0:
        if proof:
            raise InvalidProof("a proof from the empty tree must be empty")
        return
    # 1.
    if not proof:
        raise InvalidProof("consistency proof is empty")
    # 2.
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # 3.
    fn, sn = first - 1, second - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:  # a.
            raise InvalidProof("consistency proof has too many hashes")
        if fn & 1 or fn == sn:  # b.
            fr = node_hash(c, fr, hash_fn)
            sr = node_hash(c, sr, hash_fn)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c, hash_fn)
        fn >>= 1  # c.
        sn >>= 1
    # 7.
    if sn != 0:
        raise InvalidProof("consistency proof has too few hashes")
    if fr != first_root:
        raise InvalidProof("consistency proof does not lead to the first root")
    if sr != second_root:
        raise InvalidProof("consistency proof does not lead to the second root")


# --- incremental tree -------------------------------------------------------------------------

class Frontier:
    """The perfect subtrees covering leaves [0, size), largest first (a compact range).

    Appending a leaf costs O(1) amortised hashing and O(log n) memory; the root is a fold
    of at most log2(n) + 1 hashes. ``append`` returns every node the new leaf completes,
    which is exactly what a node store must persist.
    """

    __slots__ = ("_hash_fn", "_nodes", "_root", "_size")

    def __init__(self, hash_fn: HashFunction = sm3) -> None:
        self._hash_fn = hash_fn
        self._nodes: list[bytes] = []
        self._size = 0
        self._root: bytes | None = None

    @classmethod
    def from_cover(cls, size: int, hashes: Sequence[bytes],
                   hash_fn: HashFunction = sm3) -> Frontier:
        """Resume from the hashes at ``subtree_cover(0, size)`` (e.g. read back from a store)."""
        _check_size(size)
        if len(hashes) != size.bit_count():
            raise LedgerError(f"a tree of {size} leaves has {size.bit_count()} frontier nodes")
        digest = _digest_size(hash_fn)
        if any(len(h) != digest for h in hashes):
            raise LedgerError(f"frontier hashes must be {digest} bytes")
        frontier = cls(hash_fn)
        frontier._nodes = list(hashes)
        frontier._size = size
        return frontier

    @classmethod
    def load(cls, size: int, store: NodeStore, hash_fn: HashFunction = sm3) -> Frontier:
        """Resume from a node store holding at least ``size`` leaves (O(log n) reads)."""
        _check_size(size)
        addresses = subtree_cover(0, size)
        hashes = list(store.node_hashes(addresses)) if addresses else []
        if len(hashes) != len(addresses):
            raise MissingNode("node store returned the wrong number of frontier hashes")
        return cls.from_cover(size, hashes, hash_fn)

    @property
    def size(self) -> int:
        return self._size

    def addresses(self) -> list[NodeAddress]:
        return subtree_cover(0, self._size)

    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._nodes)

    def append(self, leaf: bytes) -> list[tuple[NodeAddress, bytes]]:
        """Add a leaf hash; return the nodes completed by it, lowest level first."""
        if not isinstance(leaf, bytes) or len(leaf) != _digest_size(self._hash_fn):
            raise LedgerError(f"a leaf hash is {_digest_size(self._hash_fn)} bytes")
        if self._size >= MAX_TREE_SIZE:
            raise TreeRangeError("the tree is full")
        index = self._size
        completed = [(NodeAddress(0, index), leaf)]
        current, level = leaf, 0
        # Each set low bit of ``index`` is a same-sized subtree waiting for a right sibling.
        while (index >> level) & 1:
            current = node_hash(self._nodes.pop(), current, self._hash_fn)
            level += 1
            completed.append((NodeAddress(level, index >> level), current))
        self._nodes.append(current)
        self._size += 1
        self._root = None
        return completed

    def extend(self, leaves: Sequence[bytes]) -> list[tuple[int, int, bytes]]:
        """``append`` each leaf hash in turn; return every node they complete as
        ``(level, index, hash)``, in the order successive ``append`` calls report them.

        One pass for a block's leaves: no ``NodeAddress`` per node, and with SM3 each
        node is hashed from a prepared context (``_SM3_NODE``), as proofs are verified."""
        digest = _digest_size(self._hash_fn)
        if any(not isinstance(leaf, bytes) or len(leaf) != digest for leaf in leaves):
            raise LedgerError(f"a leaf hash is {digest} bytes")
        if self._size + len(leaves) > MAX_TREE_SIZE:
            raise TreeRangeError("the tree is full")
        hash_fn = self._hash_fn
        prepared = _SM3_NODE.copy if hash_fn is sm3 and _SM3_NODE is not None else None
        pop, push = self._nodes.pop, self._nodes.append
        completed: list[tuple[int, int, bytes]] = []
        record = completed.append
        index = self._size
        for current in leaves:
            record((0, index, current))
            level = 0
            # Each set low bit of ``index`` is a same-sized subtree waiting for a right
            # sibling.
            while (index >> level) & 1:
                if prepared is not None:
                    h = prepared()
                    h.update(pop())
                    h.update(current)
                    current = h.digest()
                else:
                    current = node_hash(pop(), current, hash_fn)
                level += 1
                record((level, index >> level, current))
            push(current)
            index += 1
        if leaves:
            self._size = index
            self._root = None
        return completed

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        if self._root is None:
            self._root = _fold(self._nodes, self._hash_fn) if self._nodes \
                else empty_root(self._hash_fn)
        return self._root


def hash_leaves(leaves: Iterable[bytes], hash_fn: HashFunction = sm3) -> list[bytes]:
    """``leaf_hash`` of each leaf (with SM3, from the prepared context in one loop)."""
    if hash_fn is sm3 and _SM3_LEAF is not None:
        prepared = _SM3_LEAF.copy
        result = []
        for leaf in leaves:
            h = prepared()
            h.update(leaf)
            result.append(h.digest())
        return result
    return [leaf_hash(leaf, hash_fn) for leaf in leaves]


def root(leaf_hashes: Iterable[bytes], hash_fn: HashFunction = sm3) -> bytes:
    """MTH of a whole list of leaf hashes (already ``leaf_hash``-ed)."""
    frontier = Frontier(hash_fn)
    for leaf in leaf_hashes:
        frontier.append(leaf)
    return frontier.root()


def root_and_labelled_paths(leaf_hashes: Sequence[bytes], label: Callable[[bytes], _L],
                            hash_fn: HashFunction = sm3) -> tuple[bytes, list[list[_L]]]:
    """MTH of a non-empty list of leaf hashes and the inclusion proof of every leaf, in
    one pass: each interior node is hashed once (n - 1 hashes) and appended to the
    paths of the leaves on its sibling's side, as PATH(m, D[n]) of RFC 9162 2.1.3.1
    recurses. Each proof hash is given as ``label(hash)`` (``bytes`` for the hashes
    themselves), computed once per node however many paths hold it: a batch signer
    needs every member's path as base64 text, and ``inclusion_proof`` per leaf would
    fold the same nodes again for every one."""
    if not leaf_hashes:
        raise TreeRangeError("the empty tree has no leaves to prove")
    paths: list[list[_L]] = [[] for _ in leaf_hashes]

    def subtree(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaf_hashes[lo]
        k = lo + _split(hi - lo)
        left, right = subtree(lo, k), subtree(k, hi)
        right_label = label(right)
        for i in range(lo, k):
            paths[i].append(right_label)
        left_label = label(left)
        for i in range(k, hi):
            paths[i].append(left_label)
        return node_hash(left, right, hash_fn)

    return subtree(0, len(leaf_hashes)), paths


class MemoryNodeStore:
    """Every perfect-subtree hash, one list per level: the in-memory node store, and the
    model the database backend follows (one row per ``(level, index, hash)``)."""

    __slots__ = ("_frontier", "_levels")

    def __init__(self, hash_fn: HashFunction = sm3) -> None:
        self._frontier = Frontier(hash_fn)
        self._levels: list[list[bytes]] = []

    @property
    def size(self) -> int:
        return self._frontier.size

    def append(self, leaf: bytes) -> None:
        for address, value in self._frontier.append(leaf):
            if address.level == len(self._levels):
                self._levels.append([])
            self._levels[address.level].append(value)

    def extend(self, leaves: Iterable[bytes]) -> None:
        levels = self._levels
        for level, _index, value in self._frontier.extend(list(leaves)):
            if level == len(levels):
                levels.append([])
            levels[level].append(value)

    def root(self) -> bytes:
        return self._frontier.root()

    def node_hashes(self, addresses: Sequence[NodeAddress]) -> list[bytes]:
        result = []
        for address in addresses:
            level, index = address.level, address.index
            if not (0 <= level < len(self._levels) and 0 <= index < len(self._levels[level])):
                raise MissingNode(f"no complete subtree at level {level}, index {index}")
            result.append(self._levels[level][index])
        return result


# --- wire shapes (docs/ledger.md "Proofs") ----------------------------------------------------

def _json_size(doc: dict[str, object], key: str) -> int:
    value = doc.get(key)
    if type(value) is not int or not 0 <= value <= MAX_TREE_SIZE:
        raise InvalidProof(f'"{key}" must be an integer in 0..2**64-1')
    return value


def _json_hashes(doc: dict[str, object], digest_size: int) -> tuple[bytes, ...]:
    values = doc.get("hashes")
    if not isinstance(values, list) or len(values) > MAX_PROOF_HASHES:
        raise InvalidProof(f'"hashes" must be a list of at most {MAX_PROOF_HASHES} strings')
    result = []
    for value in values:
        if not isinstance(value, str):
            raise InvalidProof('"hashes" must hold base64 strings')
        try:
            raw = base64.b64decode(value.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error):
            raise InvalidProof("proof hash is not standard base64") from None
        if len(raw) != digest_size or base64.b64encode(raw).decode("ascii") != value:
            raise InvalidProof(f"proof hash is not the canonical base64 of {digest_size} bytes")
        result.append(raw)
    return tuple(result)


def _b64(values: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(v).decode("ascii") for v in values]


@dataclass(frozen=True)
class InclusionProof:
    """``{"index": I, "size": N, "hashes": [base64, ...]}``: leaf I is in the tree of N."""

    index: int
    size: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, object]:
        return {"index": self.index, "size": self.size, "hashes": _b64(self.hashes)}

    @classmethod
    def from_json(cls, doc: object, digest_size: int = 32) -> InclusionProof:
        if not isinstance(doc, dict):
            raise InvalidProof("an inclusion proof is a JSON object")
        return cls(_json_size(doc, "index"), _json_size(doc, "size"),
                   _json_hashes(doc, digest_size))

    def verify(self, leaf: bytes, root: bytes, hash_fn: HashFunction = sm3) -> None:
        verify_inclusion(leaf, self.index, self.size, self.hashes, root, hash_fn)


@dataclass(frozen=True)
class ConsistencyProof:
    """``{"from": M, "to": N, "hashes": [base64, ...]}``: tree N extends tree M."""

    first: int
    second: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, object]:
        return {"from": self.first, "to": self.second, "hashes": _b64(self.hashes)}

    @classmethod
    def from_json(cls, doc: object, digest_size: int = 32) -> ConsistencyProof:
        if not isinstance(doc, dict):
            raise InvalidProof("a consistency proof is a JSON object")
        return cls(_json_size(doc, "from"), _json_size(doc, "to"),
                   _json_hashes(doc, digest_size))

    def verify(self, first_root: bytes, second_root: bytes,
               hash_fn: HashFunction = sm3) -> None:
        verify_consistency(self.first, self.second, self.hashes, first_root, second_root,
                           hash_fn)
