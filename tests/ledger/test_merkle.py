"""ledger.merkle against a naive implementation written straight from RFC 9162 section 2.1.

The reference below is the RFC's recursive definitions (MTH, PATH, PROOF/SUBPROOF) over
lists, with no shared code with ledger.merkle. Every tree size up to SIZES is checked
exhaustively: every root, every inclusion proof, every consistency proof; larger sizes
(including powers of two and their neighbours) are sampled.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Sequence

import pytest

from crypto.sm3 import sm3
from ledger import merkle
from ledger.errors import InvalidProof, LedgerError, MissingNode, TreeRangeError
from ledger.merkle import (
    ConsistencyProof,
    Frontier,
    InclusionProof,
    MemoryNodeStore,
    NodeAddress,
)

SIZES = 300           # exhaustive inclusion and root checks for sizes 1..SIZES
CONSISTENCY_SIZES = SIZES  # exhaustive consistency pairs 0 <= m <= n <= CONSISTENCY_SIZES
TAMPER_SIZES = 40     # every tampering of every proof up to this size

# --- the naive reference (RFC 9162 2.1.1, 2.1.3.1, 2.1.4.1) -----------------------------------

LEAVES = [f"leaf {i}".encode() for i in range(2100)]


def _h(data: bytes) -> bytes:
    return sm3(data)


def _k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@functools.cache
def naive_mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) over LEAVES, by the RFC's recursion (memoised on the range)."""
    n = hi - lo
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + LEAVES[lo])
    k = _k(n)
    return _h(b"\x01" + naive_mth(lo, lo + k) + naive_mth(lo + k, hi))


def naive_path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi])."""
    n = hi - lo
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*naive_path(m, lo, lo + k), naive_mth(lo + k, hi)]
    return [*naive_path(m - k, lo + k, hi), naive_mth(lo, lo + k)]


def naive_subproof(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b)."""
    n = hi - lo
    if m == n:
        return [] if b else [naive_mth(lo, hi)]
    k = _k(n)
    if m <= k:
        return [*naive_subproof(m, lo, lo + k, b), naive_mth(lo + k, hi)]
    return [*naive_subproof(m - k, lo + k, hi, False), naive_mth(lo, lo + k)]


def naive_consistency(m: int, n: int) -> list[bytes]:
    """PROOF(m, D[n]) for 0 < m < n; nothing to prove otherwise."""
    if m in (0, n):
        return []
    return naive_subproof(m, 0, n, True)


LEAF_HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


@pytest.fixture(scope="module")
def store() -> MemoryNodeStore:
    s = MemoryNodeStore()
    s.extend(LEAF_HASHES)
    return s


def _flip(value: bytes, bit: int = 0) -> bytes:
    return value[: bit // 8] + bytes([value[bit // 8] ^ (1 << bit % 8)]) + value[bit // 8 + 1:]


def _interesting_sizes() -> list[int]:
    rng = random.Random(9162)
    sizes = {2**j + d for j in range(8, 12) for d in (-1, 0, 1)}
    sizes |= {rng.randrange(SIZES, len(LEAVES)) for _ in range(6)}
    return sorted(s for s in sizes if s <= len(LEAVES))


# --- hashing ----------------------------------------------------------------------------------

def test_leaf_and_node_hashes_use_rfc9162_prefixes_with_sm3() -> None:
    assert merkle.leaf_hash(b"abc") == sm3(b"\x00abc")
    assert merkle.node_hash(b"L" * 32, b"R" * 32) == sm3(b"\x01" + b"L" * 32 + b"R" * 32)
    assert merkle.root([]) == sm3(b"") == merkle.empty_root()


def test_sm3_default_matches_an_independent_sm3() -> None:
    # hashlib's SM3 comes from the system OpenSSL, a different path from crypto.sm3.
    if "sm3" not in hashlib.algorithms_available:
        pytest.skip("hashlib has no SM3 here")
    assert merkle.leaf_hash(b"x") == hashlib.new("sm3", b"\x00x").digest()


def test_hash_function_is_a_parameter() -> None:
    def sha256(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    leaves = [merkle.leaf_hash(b, sha256) for b in (b"a", b"b", b"c")]
    expected = sha256(b"\x01" + sha256(b"\x01" + leaves[0] + leaves[1]) + leaves[2])
    assert merkle.root(leaves, sha256) == expected
    s = MemoryNodeStore(sha256)
    s.extend(leaves)
    proof = merkle.inclusion_proof(2, 3, s, sha256)
    merkle.verify_inclusion(leaves[2], 2, 3, proof, expected, sha256)
    with pytest.raises(InvalidProof):
        merkle.verify_inclusion(leaves[2], 2, 3, proof, expected)  # SM3 lengths match, maths not


# --- roots ------------------------------------------------------------------------------------

def test_frontier_root_equals_naive_root_after_every_append() -> None:
    frontier = Frontier()
    assert frontier.root() == naive_mth(0, 0)
    for n in range(1, len(LEAVES) + 1):
        frontier.append(LEAF_HASHES[n - 1])
        assert frontier.size == n
        assert frontier.root() == naive_mth(0, n), n


def test_root_of_leaf_list_equals_naive_root() -> None:
    for n in [*range(SIZES + 1), *_interesting_sizes()]:
        assert merkle.root(LEAF_HASHES[:n]) == naive_mth(0, n), n


def test_stored_root_of_every_past_size_equals_naive_root(store: MemoryNodeStore) -> None:
    for n in [*range(SIZES + 1), *_interesting_sizes()]:
        assert merkle.stored_root(n, store) == naive_mth(0, n), n


def test_frontier_append_reports_exactly_the_perfect_subtrees_it_completes() -> None:
    frontier = Frontier()
    seen: dict[NodeAddress, bytes] = {}
    for n in range(1, 65):
        for address, value in frontier.append(LEAF_HASHES[n - 1]):
            assert address not in seen
            assert address.end_leaf == n  # completed by this very leaf
            assert value == naive_mth(address.first_leaf, address.end_leaf)
            seen[address] = value
    # 64 leaves: 64 + 32 + ... + 1 perfect subtrees, nothing else.
    assert len(seen) == 127


def test_frontier_resumes_from_stored_cover(store: MemoryNodeStore) -> None:
    for n in (0, 1, 5, 64, 299):
        frontier = Frontier.load(n, store)
        assert frontier.root() == naive_mth(0, n)
        frontier.append(LEAF_HASHES[n])
        assert frontier.root() == naive_mth(0, n + 1)


def test_frontier_cover_of_wrong_length_is_refused() -> None:
    with pytest.raises(LedgerError):
        Frontier.from_cover(3, [LEAF_HASHES[0]])
    with pytest.raises(LedgerError):
        Frontier().append(b"short")


# --- a block's leaves at once ------------------------------------------------------------------

def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@pytest.mark.parametrize("hash_fn", [sm3, _sha256], ids=["sm3", "sha256"])
def test_frontier_extend_reports_what_appending_leaf_by_leaf_reports(hash_fn: merkle.HashFunction
                                                                     ) -> None:
    hashes = merkle.hash_leaves(LEAVES, hash_fn)
    rng = random.Random(6962)
    for _ in range(40):
        start = rng.choice([0, 1, 255, 256, 1023, rng.randrange(2, 1000)])
        count = rng.choice([0, 1, 2, rng.randrange(3, 1000)])
        one_by_one = Frontier(hash_fn)
        for leaf in hashes[:start]:
            one_by_one.append(leaf)
        batched = Frontier.from_cover(start, one_by_one.hashes(), hash_fn)
        expected = [(address.level, address.index, value)
                    for leaf in hashes[start: start + count]
                    for address, value in one_by_one.append(leaf)]
        assert batched.extend(hashes[start: start + count]) == expected, (start, count)
        assert batched.size == one_by_one.size == start + count
        assert batched.hashes() == one_by_one.hashes()
        assert batched.root() == one_by_one.root()


def test_leaves_hashed_at_once_equal_leaf_hash_of_each() -> None:
    assert merkle.hash_leaves(LEAVES[:50]) == LEAF_HASHES[:50]
    assert merkle.hash_leaves(LEAVES[:5], _sha256) == [merkle.leaf_hash(leaf, _sha256)
                                                       for leaf in LEAVES[:5]]
    assert merkle.hash_leaves([]) == []


def test_store_filled_in_random_batches_gives_the_rfc_roots_and_proofs() -> None:
    rng = random.Random(1962)
    batched = MemoryNodeStore()
    while batched.size < 900:
        batched.extend(LEAF_HASHES[batched.size: batched.size + rng.choice(
            [0, 1, 2, 3, 31, 64, rng.randrange(1, 200)])])
        assert batched.root() == naive_mth(0, batched.size)
    size = batched.size
    for index in [0, size - 1, *rng.sample(range(size), 30)]:
        proof = merkle.inclusion_proof(index, size, batched)
        assert proof == naive_path(index, 0, size)
        merkle.verify_inclusion(LEAF_HASHES[index], index, size, proof, naive_mth(0, size))
    for first in [1, 2, 255, 256, *rng.sample(range(1, size), 10)]:
        assert merkle.consistency_proof(first, size, batched) == naive_consistency(first, size)


def test_frontier_extend_refuses_a_wrong_leaf_hash_and_stays_as_it_was() -> None:
    frontier = Frontier()
    frontier.extend(LEAF_HASHES[:5])
    before = (frontier.size, frontier.hashes(), frontier.root())
    with pytest.raises(LedgerError):
        frontier.extend([LEAF_HASHES[5], b"short", LEAF_HASHES[6]])
    assert (frontier.size, frontier.hashes(), frontier.root()) == before


# --- inclusion --------------------------------------------------------------------------------

def test_inclusion_proofs_match_rfc_for_every_index_of_every_size(store: MemoryNodeStore) -> None:
    for n in range(1, SIZES + 1):
        r = naive_mth(0, n)
        for i in range(n):
            proof = merkle.inclusion_proof(i, n, store)
            assert proof == naive_path(i, 0, n), (i, n)
            merkle.verify_inclusion(LEAF_HASHES[i], i, n, proof, r)


def test_inclusion_proofs_match_rfc_at_larger_sizes(store: MemoryNodeStore) -> None:
    rng = random.Random(1)
    for n in _interesting_sizes():
        indices = {0, 1, n // 2, n - 2, n - 1} | {rng.randrange(n) for _ in range(20)}
        for i in sorted(indices):
            proof = merkle.inclusion_proof(i, n, store)
            assert proof == naive_path(i, 0, n), (i, n)
            merkle.verify_inclusion(LEAF_HASHES[i], i, n, proof, naive_mth(0, n))


def test_every_tampered_inclusion_proof_is_rejected(store: MemoryNodeStore) -> None:
    for n in range(1, TAMPER_SIZES + 1):
        r = naive_mth(0, n)
        for i in range(n):
            proof = merkle.inclusion_proof(i, n, store)
            leaf = LEAF_HASHES[i]
            rejected = []
            for pos in range(len(proof)):
                for bit in (0, 255):
                    bad = [*proof]
                    bad[pos] = _flip(bad[pos], bit)
                    rejected.append((leaf, i, n, bad, r))
                rejected.append((leaf, i, n, proof[:pos] + proof[pos + 1:], r))  # missing
                rejected.append((leaf, i, n, [*proof[:pos], r, *proof[pos:]], r))  # extra
            rejected.append((leaf, i, n, [*proof, r], r))                   # extra at the end
            rejected.append((_flip(leaf), i, n, proof, r))                   # other leaf
            rejected.append((leaf, i, n, proof, _flip(r, 7)))               # other root
            for j in range(n):
                if j != i:
                    rejected.append((leaf, j, n, proof, r))                 # wrong index
                    rejected.append((LEAF_HASHES[j], j, n, proof, r))       # proof of another
            for m in range(i + 1, TAMPER_SIZES + 1):
                if m != n:
                    rejected.append((leaf, i, m, proof, naive_mth(0, m)))   # wrong size
            rejected.append((leaf, i, i, proof, r))                          # index == size
            for case in rejected:
                with pytest.raises(InvalidProof):
                    merkle.verify_inclusion(*case)


def test_proofs_whose_shape_does_not_fit_the_tree_size_are_rejected() -> None:
    # Forgeries that hash to the claimed root but use more or fewer levels than the tree
    # size allows; only RFC 9162's "sn" bookkeeping catches them.
    h0, h1 = LEAF_HASHES[0], LEAF_HASHES[1]
    pair = merkle.node_hash(h0, h1)
    with pytest.raises(InvalidProof, match="too many"):
        merkle.verify_inclusion(h1, 0, 1, [h0], pair)       # climbs above a 1-leaf tree
    with pytest.raises(InvalidProof, match="too few"):
        merkle.verify_inclusion(h0, 0, 4, [h1], pair)       # stops below a 4-leaf root
    with pytest.raises(InvalidProof, match="too few"):
        merkle.verify_consistency(1, 4, [h1], h0, pair)     # size-2 root passed off as size 4


def test_inclusion_verification_refuses_malformed_input() -> None:
    leaf, r = LEAF_HASHES[0], naive_mth(0, 2)
    good = [LEAF_HASHES[1]]
    merkle.verify_inclusion(leaf, 0, 2, good, r)
    for args in [
        (leaf, -1, 2, good, r),
        (leaf, 2, 2, good, r),
        (leaf, 0, 0, [], merkle.empty_root()),
        (leaf[:31], 0, 2, good, r),
        (leaf, 0, 2, [good[0] + b"\x00"], r),
        (leaf, 0, 2, good, r[:16]),
        (leaf, 0, 2, good * 200, r),
    ]:
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(*args)


def test_inclusion_proof_of_impossible_leaf_raises_tree_range_error(
        store: MemoryNodeStore) -> None:
    for index, size in [(0, 0), (5, 5), (6, 5), (-1, 5), (0, -1), (0, 2**64)]:
        with pytest.raises(TreeRangeError):
            merkle.inclusion_proof(index, size, store)


def test_proof_beyond_stored_tree_raises_missing_node(store: MemoryNodeStore) -> None:
    with pytest.raises(MissingNode):
        merkle.inclusion_proof(0, store.size + 1, store)
    with pytest.raises(MissingNode):
        merkle.consistency_proof(3, store.size + 5, store)


# --- consistency ------------------------------------------------------------------------------

def test_consistency_proofs_match_rfc_for_every_pair_of_sizes(store: MemoryNodeStore) -> None:
    for n in range(CONSISTENCY_SIZES + 1):
        rn = naive_mth(0, n)
        for m in range(n + 1):
            proof = merkle.consistency_proof(m, n, store)
            assert proof == naive_consistency(m, n), (m, n)
            merkle.verify_consistency(m, n, proof, naive_mth(0, m), rn)


def test_consistency_proofs_match_rfc_up_to_exhaustive_limit_sampled(
        store: MemoryNodeStore) -> None:
    rng = random.Random(2)
    pairs = [(rng.randrange(1, SIZES), 0) for _ in range(1500)]
    pairs = [(rng.randrange(1, n + 1), n) for n, _ in pairs]
    for n in _interesting_sizes():
        pairs += [(m, n) for m in (1, 2, 3, n // 2, n - 1, n)]
        pairs += [(2**j, n) for j in range(12) if 2**j <= n]
        pairs += [(rng.randrange(1, n), n) for _ in range(10)]
    for m, n in pairs:
        proof = merkle.consistency_proof(m, n, store)
        assert proof == naive_consistency(m, n), (m, n)
        merkle.verify_consistency(m, n, proof, naive_mth(0, m), naive_mth(0, n))


def test_every_tampered_consistency_proof_is_rejected(store: MemoryNodeStore) -> None:
    for n in range(1, TAMPER_SIZES + 1):
        rn = naive_mth(0, n)
        for m in range(1, n):
            rm = naive_mth(0, m)
            proof = merkle.consistency_proof(m, n, store)
            rejected = []
            for pos in range(len(proof)):
                for bit in (0, 255):
                    bad = [*proof]
                    bad[pos] = _flip(bad[pos], bit)
                    rejected.append((m, n, bad, rm, rn))
                rejected.append((m, n, proof[:pos] + proof[pos + 1:], rm, rn))   # missing
                rejected.append((m, n, [*proof[:pos], rm, *proof[pos:]], rm, rn))  # extra
            rejected.append((m, n, [*proof, rn], rm, rn))
            rejected.append((m, n, proof, _flip(rm), rn))
            rejected.append((m, n, proof, rm, _flip(rn)))
            rejected.append((m, n, proof, rn, rm))
            for other in range(1, TAMPER_SIZES + 1):
                if other != m and other <= n:
                    rejected.append((other, n, proof, naive_mth(0, other), rn))  # wrong from
                if other != n and other >= m:
                    rejected.append((m, other, proof, rm, naive_mth(0, other)))  # wrong to
            for case in rejected:
                with pytest.raises(InvalidProof):
                    merkle.verify_consistency(*case)


def test_trivial_consistency_cases_need_empty_proofs_and_matching_roots() -> None:
    empty, r3, r5 = merkle.empty_root(), naive_mth(0, 3), naive_mth(0, 5)
    merkle.verify_consistency(0, 0, [], empty, empty)
    merkle.verify_consistency(0, 5, [], empty, r5)
    merkle.verify_consistency(3, 3, [], r3, r3)
    for args in [
        (0, 5, [r3], empty, r5),          # from empty: proof must be empty
        (0, 5, [], r3, r5),               # size 0 with a non-empty root
        (3, 3, [], r3, r5),               # same size, different roots
        (3, 3, [r3], r3, r3),             # same size, non-empty proof
        (5, 3, [], r5, r3),               # shrinking
        (-1, 3, [], empty, r3),
        (3, 5, [], r3, r5),               # RFC step 1: empty path
    ]:
        with pytest.raises(InvalidProof):
            merkle.verify_consistency(*args)


def test_consistency_proof_request_with_first_above_second_raises_tree_range_error(
        store: MemoryNodeStore) -> None:
    for m, n in [(5, 4), (-1, 4), (1, 2**64)]:
        with pytest.raises(TreeRangeError):
            merkle.consistency_proof(m, n, store)


# --- storage scheme ---------------------------------------------------------------------------

class CountingStore:
    """Counts reads, to prove proofs cost O(log n) stored nodes and one call."""

    def __init__(self, inner: MemoryNodeStore) -> None:
        self.inner, self.calls, self.nodes = inner, 0, 0

    def node_hashes(self, addresses: Sequence[NodeAddress]) -> list[bytes]:
        self.calls += 1
        self.nodes += len(addresses)
        return self.inner.node_hashes(addresses)


def test_proofs_read_logarithmically_many_stored_nodes_in_one_call() -> None:
    # Plans are pure arithmetic, so the bound is checked at sizes far beyond memory here.
    rng = random.Random(3)
    for size in (2**20 + 12345, 10**6, 2**40 + 1, 2**63 - 5):
        for _ in range(50):
            plan = merkle.inclusion_plan(rng.randrange(size), size)
            assert sum(len(g) for g in plan) <= 2 * size.bit_length()
            plan = merkle.consistency_plan(rng.randrange(1, size), size)
            assert sum(len(g) for g in plan) <= 3 * size.bit_length()
    counting = CountingStore(MemoryNodeStore())
    counting.inner.extend(LEAF_HASHES[:1000])
    merkle.inclusion_proof(777, 1000, counting)
    merkle.consistency_proof(333, 1000, counting)
    merkle.stored_root(999, counting)
    assert counting.calls == 3
    assert counting.nodes <= 3 * 2 * (1000).bit_length()


def test_every_planned_node_is_a_complete_perfect_subtree() -> None:
    for n in range(1, 130):
        for i in range(n):
            for group in merkle.inclusion_plan(i, n):
                assert all(a.end_leaf <= n for a in group)
        for m in range(1, n):
            for group in merkle.consistency_plan(m, n):
                assert all(a.end_leaf <= n for a in group)


# --- wire shapes ------------------------------------------------------------------------------

def test_inclusion_proof_json_round_trips_and_verifies(store: MemoryNodeStore) -> None:
    hashes = tuple(merkle.inclusion_proof(5, 11, store))
    doc = InclusionProof(5, 11, hashes).to_json()
    assert set(doc) == {"index", "size", "hashes"}
    parsed = InclusionProof.from_json(doc)
    assert parsed == InclusionProof(5, 11, hashes)
    parsed.verify(LEAF_HASHES[5], naive_mth(0, 11))


def test_consistency_proof_json_round_trips_and_verifies(store: MemoryNodeStore) -> None:
    hashes = tuple(merkle.consistency_proof(6, 11, store))
    doc = ConsistencyProof(6, 11, hashes).to_json()
    assert set(doc) == {"from", "to", "hashes"}
    parsed = ConsistencyProof.from_json(doc)
    parsed.verify(naive_mth(0, 6), naive_mth(0, 11))


@pytest.mark.parametrize("doc", [
    [],
    {"index": 1, "size": 2},
    {"index": True, "size": 2, "hashes": []},
    {"index": "1", "size": 2, "hashes": []},
    {"index": -1, "size": 2, "hashes": []},
    {"index": 1, "size": 2**64, "hashes": []},
    {"index": 1, "size": 2, "hashes": "AAAA"},
    {"index": 1, "size": 2, "hashes": [1]},
    {"index": 1, "size": 2, "hashes": ["not base64!"]},
    {"index": 1, "size": 2, "hashes": ["AAAA"]},                       # 3 bytes
    {"index": 1, "size": 2, "hashes": ["A" * 42 + "B="]},               # non-canonical bits
    {"index": 1, "size": 2, "hashes": ["A" * 43]},                      # missing padding
])
def test_malformed_inclusion_proof_json_is_rejected(doc: object) -> None:
    with pytest.raises(InvalidProof):
        InclusionProof.from_json(doc)


# --- every path of a tree at once (batch signatures) -------------------------------------------

def test_labelled_paths_with_bytes_equal_the_naive_root_and_every_naive_path() -> None:
    for n in [*range(1, SIZES + 1), *(s for s in _interesting_sizes() if 0 < s <= 1100)]:
        root, paths = merkle.root_and_labelled_paths(LEAF_HASHES[:n], bytes)
        assert root == naive_mth(0, n), n
        assert paths == [naive_path(m, 0, n) for m in range(n)], n


def test_labelled_paths_refuse_the_empty_tree() -> None:
    with pytest.raises(TreeRangeError):
        merkle.root_and_labelled_paths([], bytes)


def test_labelled_paths_label_each_node_once_and_equal_the_labelled_naive_paths() -> None:
    calls: list[bytes] = []

    def label(node: bytes) -> str:
        calls.append(node)
        return node.hex()

    for n in (1, 2, 3, 5, 8, 200, 257):
        calls.clear()
        root, paths = merkle.root_and_labelled_paths(LEAF_HASHES[:n], label)
        assert root == naive_mth(0, n)
        assert paths == [[h.hex() for h in naive_path(m, 0, n)] for m in range(n)]
        assert len(calls) == 2 * n - 2, n   # every node but the root, once
