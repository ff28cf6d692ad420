"""Endorsement policies as Hyperledger Fabric writes them: ``AND(...)``, ``OR(...)`` and
``OutOf(n, ...)`` over principals ``'<MSP id>.<role>'``, parsed into a small AST and
evaluated against the (MSP id, role) of the identities whose signatures verified.

Syntax (Fabric's ``common/policydsl`` language, stricter where Fabric is lax):

- a policy is a gate; a gate is ``AND(p, ...)``, ``OR(p, ...)`` or ``OutOf(n, p, ...)``
  and each ``p`` is a gate or a quoted principal (single or double quotes);
- the gate keywords are case-sensitive and accepted in exactly the spellings Fabric's
  parser registers: ``AND`` / ``And`` / ``and``, ``OR`` / ``Or`` / ``or``, ``OutOf`` /
  ``OUTOF`` / ``outof``; anything else (``aNd``, ``OUTof``) is a syntax error;
  ``format_policy`` writes ``AND``, ``OR`` and ``OutOf``;
- a principal is ``MSPID.role``: the MSP id is everything before the last dot (1 to 64
  ASCII letters, digits, ``.``, ``-``, ``_``) and the role one of ``ROLES``;
- ``n`` is a decimal integer with 1 <= n <= the number of sub-policies; gates are never
  empty; whitespace may appear between any two tokens but not inside a quoted principal;
- limits: 4096 characters, 16 nested gates. A bare principal is not a policy (Fabric
  refuses it too): write ``OR('Org1MSP.member')``.

Every violation raises ``PolicySyntaxError`` carrying the 0-based character position.

Evaluation follows Fabric's rule that one signature satisfies at most one principal in the
whole policy, so ``AND('A.member', 'A.member')`` needs two different ``A`` signers. Unlike
Fabric's own evaluator (``cauthdsl``), which consumes signatures greedily in the order they
arrive and can therefore reject a signature set that does satisfy the policy, ``evaluate``
is exact: it answers whether *some* assignment of distinct signers to principals satisfies
the policy. Everything Fabric accepts is accepted here, and the result never depends on the
order of the signatures.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from ledger.errors import PolicyError, PolicySyntaxError

__all__ = [
    "IDENTITY_ROLES",
    "MAX_EVALUATION_STATES",
    "MAX_POLICY_DEPTH",
    "MAX_POLICY_LENGTH",
    "MSP_ID_PATTERN",
    "ROLES",
    "AllOf",
    "AnyOf",
    "OutOf",
    "Policy",
    "Principal",
    "SignedBy",
    "evaluate",
    "format_policy",
    "parse_policy",
    "policy_principals",
]

ROLES: Final[tuple[str, ...]] = ("member", "admin", "peer", "client", "orderer")
# The roles an identity can have (its certificate's NodeOU); "member" is only a principal.
IDENTITY_ROLES: Final[tuple[str, ...]] = ("client", "peer", "admin", "orderer")
MSP_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)
MAX_POLICY_LENGTH: Final = 4096
MAX_POLICY_DEPTH: Final = 16
# Upper bound on the partial solutions one gate may keep during evaluation; far above any
# real policy, it turns a pathological policy into a PolicyError instead of a stall.
MAX_EVALUATION_STATES: Final = 50_000

_AND_SPELLINGS: Final = frozenset({"AND", "And", "and"})
_OR_SPELLINGS: Final = frozenset({"OR", "Or", "or"})
_OUT_OF_SPELLINGS: Final = frozenset({"OutOf", "OUTOF", "outof"})
_WHITESPACE: Final = frozenset(" \t\r\n")
_MAX_N_DIGITS: Final = 6  # n can never exceed the number of sub-policies in 4096 chars


# --------------------------------------------------------------------------- the AST


@dataclass(frozen=True)
class Principal:
    """A role in an organisation: ``Principal("Org1MSP", "peer")`` is ``'Org1MSP.peer'``.

    ``member`` is satisfied by an identity of any role in that MSP; every other role only
    by an identity with exactly that role.
    """

    msp_id: str
    role: str

    def __post_init__(self) -> None:
        if not isinstance(self.msp_id, str) or not MSP_ID_PATTERN.fullmatch(self.msp_id):
            raise PolicyError(f"invalid MSP id {self.msp_id!r}: 1 to 64 ASCII letters, "
                              "digits, '.', '-' or '_'")
        if self.role not in ROLES:
            raise PolicyError(f"unknown role {self.role!r}; roles are {', '.join(ROLES)}")

    @classmethod
    def from_string(cls, text: str) -> Principal:
        """Parse ``"Org1MSP.peer"`` (no quotes); the MSP id ends at the last dot."""
        msp_id, dot, role = text.rpartition(".")
        if not dot:
            raise PolicyError(f"principal {text!r} is not of the form 'MSPID.role'")
        return cls(msp_id, role)

    def matches(self, msp_id: str, role: str) -> bool:
        """Whether an identity of ``msp_id`` with ``role`` satisfies this principal."""
        return msp_id == self.msp_id and (self.role == "member" or role == self.role)

    def __str__(self) -> str:
        return f"{self.msp_id}.{self.role}"


@dataclass(frozen=True)
class SignedBy:
    """A signature by an identity that satisfies ``principal``."""

    principal: Principal

    def __post_init__(self) -> None:
        if not isinstance(self.principal, Principal):
            raise PolicyError("SignedBy needs a Principal")


def _sub_policies(gate: str, policies: Iterable[Policy]) -> tuple[Policy, ...]:
    if isinstance(policies, str | bytes):
        raise PolicyError(f"{gate} takes a sequence of policies, not a string")
    items = tuple(policies)
    if not items:
        raise PolicyError(f"{gate} needs at least one sub-policy")
    for item in items:
        if not isinstance(item, SignedBy | AllOf | AnyOf | OutOf):
            raise PolicyError(f"{gate}: {item!r} is not a policy")
    return items


@dataclass(frozen=True)
class AllOf:
    """``AND(...)``: every sub-policy, each with its own signatures."""

    policies: tuple[Policy, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "policies", _sub_policies("AND", self.policies))


@dataclass(frozen=True)
class AnyOf:
    """``OR(...)``: at least one sub-policy."""

    policies: tuple[Policy, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "policies", _sub_policies("OR", self.policies))


@dataclass(frozen=True)
class OutOf:
    """``OutOf(n, ...)``: at least ``n`` of the sub-policies, with distinct signatures."""

    n: int
    policies: tuple[Policy, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "policies", _sub_policies("OutOf", self.policies))
        if isinstance(self.n, bool) or not isinstance(self.n, int):
            raise PolicyError("OutOf: n must be an integer")
        if not 1 <= self.n <= len(self.policies):
            raise PolicyError(f"OutOf: n must be between 1 and {len(self.policies)}, "
                              f"the number of sub-policies; got {self.n}")


Policy: TypeAlias = SignedBy | AllOf | AnyOf | OutOf


def _threshold(policy: AllOf | AnyOf | OutOf) -> int:
    if isinstance(policy, AllOf):
        return len(policy.policies)
    if isinstance(policy, AnyOf):
        return 1
    return policy.n


# --------------------------------------------------------------------------- text form


class _Parser:
    """Recursive descent over the policy text, keeping the position for every error."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, detail: str, position: int | None = None) -> PolicySyntaxError:
        return PolicySyntaxError(detail, self.pos if position is None else position)

    def skip_whitespace(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str, context: str) -> None:
        self.skip_whitespace()
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "the end of the policy"
            raise self.fail(f"expected {char!r} {context}, found {found}")
        self.pos += 1

    def policy(self) -> Policy:
        self.skip_whitespace()
        if self.peek() in ("'", '"'):
            raise self.fail("a policy must be a gate (AND, OR or OutOf), not a bare "
                            "principal; write OR('MSPID.role')")
        result = self.gate(1)
        self.skip_whitespace()
        if self.pos != len(self.text):
            raise self.fail(f"unexpected {self.peek()!r} after the end of the policy")
        return result

    def gate(self, depth: int) -> Policy:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos].isascii() and (
                self.text[self.pos].isalpha()):
            self.pos += 1
        keyword = self.text[start:self.pos]
        if not keyword:
            found = repr(self.peek()) if self.peek() else "the end of the policy"
            raise self.fail(f"expected AND, OR, OutOf or a quoted principal, found {found}")
        if keyword not in _AND_SPELLINGS | _OR_SPELLINGS | _OUT_OF_SPELLINGS:
            raise self.fail(f"unknown gate {keyword!r}: expected AND, OR or OutOf "
                            "(case-sensitive)", start)
        if depth > MAX_POLICY_DEPTH:
            raise self.fail(f"gates nested deeper than {MAX_POLICY_DEPTH}", start)
        self.expect("(", f"after {keyword}")
        n, n_position = 0, 0
        if keyword in _OUT_OF_SPELLINGS:
            self.skip_whitespace()
            n_position = self.pos
            n = self.count()
            self.expect(",", "after the count of OutOf")
        policies = [self.argument(depth, keyword)]
        while True:
            self.skip_whitespace()
            if self.peek() == ")":
                self.pos += 1
                break
            if self.peek() != ",":
                found = repr(self.peek()) if self.peek() else "the end of the policy"
                raise self.fail(f"expected ',' or ')' in {keyword}(...), found {found}")
            self.pos += 1
            policies.append(self.argument(depth, keyword))
        if keyword in _AND_SPELLINGS:
            return AllOf(tuple(policies))
        if keyword in _OR_SPELLINGS:
            return AnyOf(tuple(policies))
        if n > len(policies):
            raise self.fail(f"OutOf({n}, ...) has only {len(policies)} sub-policies",
                            n_position)
        return OutOf(n, tuple(policies))

    def count(self) -> int:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in "0123456789":
            self.pos += 1
        digits = self.text[start:self.pos]
        if not digits:
            raise self.fail("OutOf needs a count n as its first argument")
        if len(digits) > _MAX_N_DIGITS or int(digits) < 1:
            raise self.fail(f"the count of OutOf must be at least 1 and at most the number "
                            f"of sub-policies; got {digits}", start)
        return int(digits)

    def argument(self, depth: int, keyword: str) -> Policy:
        self.skip_whitespace()
        char = self.peek()
        if char in ("'", '"'):
            return SignedBy(self.principal())
        if char == ")" or char == ",":
            raise self.fail(f"expected a principal or a gate in {keyword}(...), found "
                            f"{char!r}" + (" (gates are never empty)" if char == ")" else ""))
        return self.gate(depth + 1)

    def principal(self) -> Principal:
        quote, start = self.peek(), self.pos
        end = self.text.find(quote, start + 1)
        if end < 0:
            raise self.fail("unterminated quoted principal", start)
        body = self.text[start + 1:end]
        msp_id, dot, role = body.rpartition(".")
        if not dot:
            raise self.fail(f"principal {body!r} is not of the form 'MSPID.role'", start + 1)
        if role not in ROLES:
            raise self.fail(f"unknown role {role!r} in principal {body!r}; roles are "
                            f"{', '.join(ROLES)}", start + 1 + len(msp_id) + 1)
        if not MSP_ID_PATTERN.fullmatch(msp_id):
            raise self.fail(f"invalid MSP id {msp_id!r}: 1 to 64 ASCII letters, digits, "
                            "'.', '-' or '_'", start + 1)
        self.pos = end + 1
        return Principal(msp_id, role)


def parse_policy(text: str) -> Policy:
    """Parse Fabric policy text such as ``AND('Org1MSP.member', OR('Org2MSP.peer',
    'Org3MSP.peer'))``; raise ``PolicySyntaxError`` (with the position) if malformed."""
    if not isinstance(text, str):
        raise TypeError("policy text must be a str")
    if len(text) > MAX_POLICY_LENGTH:
        raise PolicySyntaxError(f"a policy is at most {MAX_POLICY_LENGTH} characters",
                                MAX_POLICY_LENGTH)
    return _Parser(text).policy()


def _format(policy: Policy) -> str:
    if isinstance(policy, SignedBy):
        return f"'{policy.principal}'"
    inner = ", ".join(_format(p) for p in policy.policies)
    if isinstance(policy, AllOf):
        return f"AND({inner})"
    if isinstance(policy, AnyOf):
        return f"OR({inner})"
    return f"OutOf({policy.n}, {inner})"


def format_policy(policy: Policy) -> str:
    """The canonical text of ``policy``: ``AND``/``OR``/``OutOf``, single quotes, ``", "``
    between arguments. ``parse_policy(format_policy(p)) == p`` for every gate; a bare
    ``SignedBy`` has no text form (``PolicyError``), as in Fabric."""
    if isinstance(policy, SignedBy):
        raise PolicyError("a bare principal is not a policy; wrap it: "
                          f"AnyOf((SignedBy({policy.principal!r}),))")
    if not isinstance(policy, AllOf | AnyOf | OutOf):
        raise TypeError("format_policy needs a Policy")
    return _format(policy)


# --------------------------------------------------------------------------- evaluation


def policy_principals(policy: Policy) -> set[Principal]:
    """Every principal the policy names (to choose whom to ask for endorsements)."""
    if isinstance(policy, SignedBy):
        return {policy.principal}
    found: set[Principal] = set()
    for sub in policy.policies:
        found |= policy_principals(sub)
    return found


def _leaves(policy: Policy) -> list[Principal]:
    if isinstance(policy, SignedBy):
        return [policy.principal]
    return [leaf for sub in policy.policies for leaf in _leaves(sub)]


_Usage: TypeAlias = tuple[int, ...]  # signatures used, per signer class


def _minimal(usages: Iterable[_Usage]) -> frozenset[_Usage]:
    """Drop every usage that uses at least as much of every class as another one: if the
    smaller one satisfies a sub-policy, the larger one is never needed."""
    kept: list[_Usage] = []
    for usage in sorted(set(usages), key=sum):
        if not any(all(k <= u for k, u in zip(small, usage, strict=True)) for small in kept):
            kept.append(usage)
            if len(kept) > MAX_EVALUATION_STATES:
                raise PolicyError("the policy is too complex to evaluate")
    return frozenset(kept)


class _Evaluation:
    """Exact evaluation over signer *classes* (distinct (MSP id, role) pairs).

    Identities with the same MSP id and role are interchangeable, so a partial solution is
    the number of signatures it uses from each class. For every sub-policy we compute the
    minimal usages that satisfy it within the available counts; the policy holds iff the
    root has one. This is exact (no greedy choice) and independent of signature order.
    """

    def __init__(self, classes: Sequence[tuple[str, str]], available: _Usage) -> None:
        self.classes = classes
        self.available = available
        self.zero: _Usage = (0,) * len(classes)
        self.cache: dict[Policy, frozenset[_Usage]] = {}

    def add(self, a: _Usage, b: _Usage) -> _Usage | None:
        total = tuple(x + y for x, y in zip(a, b, strict=True))
        return total if all(t <= c for t, c in zip(total, self.available, strict=True)) \
            else None

    def solve(self, policy: Policy) -> frozenset[_Usage]:
        cached = self.cache.get(policy)
        if cached is not None:
            return cached
        if isinstance(policy, SignedBy):
            result = frozenset(
                tuple(int(i == j) for j in range(len(self.classes)))
                for i, (msp_id, role) in enumerate(self.classes)
                if policy.principal.matches(msp_id, role))
        else:
            need = _threshold(policy)
            # best[k]: minimal usages satisfying k of the sub-policies seen so far
            best: list[frozenset[_Usage]] = [frozenset({self.zero})] + [frozenset()] * need
            for sub in policy.policies:
                options = self.solve(sub)
                if not options:
                    continue
                for k in range(need, 0, -1):
                    if not best[k - 1]:
                        continue
                    grown = [total for a in best[k - 1] for b in options
                             if (total := self.add(a, b)) is not None]
                    if grown:
                        best[k] = _minimal([*best[k], *grown])
            result = best[need]
        self.cache[policy] = result
        return result


def evaluate(policy: Policy, signers: Sequence[tuple[str, str]]) -> bool:
    """Whether the signatures of ``signers`` satisfy ``policy``.

    Each signer is the ``(msp_id, role)`` of one identity whose signature verified, with
    ``role`` one of ``IDENTITY_ROLES``. Each signer satisfies at most one principal in the
    whole policy (Fabric's rule). The caller must remove duplicate *identities* first, as
    Fabric does before evaluating: the same certificate signing twice is one signer, and
    passing it twice would let it count twice (``ledger.msp.distinct_signers`` does this).
    Two different identities with the same MSP id and role are two signers.
    """
    if not isinstance(policy, SignedBy | AllOf | AnyOf | OutOf):
        raise TypeError("evaluate needs a Policy")
    leaves = _leaves(policy)
    counts: Counter[tuple[str, str]] = Counter()
    for signer in signers:
        if not (isinstance(signer, tuple) and len(signer) == 2
                and all(isinstance(part, str) for part in signer)):
            raise PolicyError(f"a signer is an (msp_id, role) pair of strings, not {signer!r}")
        msp_id, role = signer
        if role not in IDENTITY_ROLES:
            raise PolicyError(f"signer role {role!r} is not one of {', '.join(IDENTITY_ROLES)}")
        if any(leaf.matches(msp_id, role) for leaf in leaves):
            counts[(msp_id, role)] += 1
    classes = sorted(counts)
    # More signatures of a class than principals it can satisfy can never be used.
    available = tuple(min(counts[c], sum(1 for leaf in leaves if leaf.matches(*c)))
                      for c in classes)
    return bool(_Evaluation(classes, available).solve(policy))
