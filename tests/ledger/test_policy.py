"""Endorsement policies: Fabric's text syntax (round trips, every malformed case with its
position) and exact evaluation under the one-signature-one-principal rule."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError, PolicyError, PolicySyntaxError
from ledger.policy import (
    IDENTITY_ROLES,
    MAX_POLICY_DEPTH,
    MAX_POLICY_LENGTH,
    ROLES,
    AllOf,
    AnyOf,
    OutOf,
    Policy,
    Principal,
    SignedBy,
    evaluate,
    format_policy,
    parse_policy,
    policy_principals,
)


def signed(text: str) -> SignedBy:
    return SignedBy(Principal.from_string(text))


# --------------------------------------------------------------------------- parsing


def test_and_of_principals_parses_into_all_of() -> None:
    assert parse_policy("AND('Org1MSP.member', 'Org2MSP.peer')") == AllOf(
        (signed("Org1MSP.member"), signed("Org2MSP.peer")))


def test_nested_gates_parse_into_the_matching_tree() -> None:
    text = "OR(AND('A.admin', 'B.admin'), OutOf(2, 'A.peer', 'B.peer', 'C.peer'))"
    assert parse_policy(text) == AnyOf((
        AllOf((signed("A.admin"), signed("B.admin"))),
        OutOf(2, (signed("A.peer"), signed("B.peer"), signed("C.peer"))),
    ))


def test_msp_id_is_everything_before_the_last_dot() -> None:
    policy = parse_policy("OR('org1.example.com.peer', 'a-b_c.d.client')")
    assert policy_principals(policy) == {Principal("org1.example.com", "peer"),
                                         Principal("a-b_c.d", "client")}


def test_double_quotes_and_whitespace_anywhere_are_accepted() -> None:
    text = ' \n\tOutOf \t( 2 ,\n"A.peer" , \'B.peer\'\r\n,OR ( "C.peer" ) ) \n'
    assert parse_policy(text) == OutOf(2, (signed("A.peer"), signed("B.peer"),
                                           AnyOf((signed("C.peer"),))))


@pytest.mark.parametrize("keyword", ["AND", "And", "and"])
def test_every_fabric_spelling_of_and_is_accepted(keyword: str) -> None:
    assert parse_policy(f"{keyword}('A.peer')") == AllOf((signed("A.peer"),))


@pytest.mark.parametrize("keyword", ["OR", "Or", "or"])
def test_every_fabric_spelling_of_or_is_accepted(keyword: str) -> None:
    assert parse_policy(f"{keyword}('A.peer')") == AnyOf((signed("A.peer"),))


@pytest.mark.parametrize("keyword", ["OutOf", "OUTOF", "outof"])
def test_every_fabric_spelling_of_out_of_is_accepted(keyword: str) -> None:
    assert parse_policy(f"{keyword}(1, 'A.peer')") == OutOf(1, (signed("A.peer"),))


@pytest.mark.parametrize("keyword", ["aNd", "AnD", "oR", "OUTof", "Outof", "outOf", "NOutOf"])
def test_other_spellings_of_keywords_are_rejected(keyword: str) -> None:
    with pytest.raises(PolicySyntaxError) as info:
        parse_policy(f"{keyword}(1, 'A.peer')")
    assert info.value.position == 0


@pytest.mark.parametrize("text", [
    "AND('Org1MSP.member', 'Org2MSP.peer')",
    "OR('A.admin')",
    "OutOf(1, 'A.client')",
    "OutOf(3, 'A.peer', 'B.peer', 'C.peer')",
    "AND('A.member', OR('B.peer', AND('C.orderer', 'D.admin')), OutOf(1, 'E.client'))",
    "AND('A.member', 'A.member')",
])
def test_canonical_text_formats_back_to_itself(text: str) -> None:
    assert format_policy(parse_policy(text)) == text


@pytest.mark.parametrize("text", [
    'and ( "A.peer" ,"B.peer" )',
    "Or('x.y.z.admin',outof(1,'Q-1_.orderer'))",
    "OUTOF(2,'A.peer','B.peer',OR('C.peer','D.peer'))",
])
def test_formatted_policy_parses_back_to_an_equal_policy(text: str) -> None:
    policy = parse_policy(text)
    assert parse_policy(format_policy(policy)) == policy


def test_format_writes_canonical_keywords_quotes_and_separators() -> None:
    policy = parse_policy('and("A.peer",or("B.peer"),outof(1,"C.peer"))')
    assert format_policy(policy) == "AND('A.peer', OR('B.peer'), OutOf(1, 'C.peer'))"


def test_a_bare_principal_has_no_text_form() -> None:
    with pytest.raises(PolicyError):
        format_policy(signed("A.peer"))


def nested(depth: int) -> str:
    return "OR(" * depth + "'A.peer'" + ")" * depth


def test_sixteen_nested_gates_are_accepted() -> None:
    policy = parse_policy(nested(MAX_POLICY_DEPTH))
    assert parse_policy(format_policy(policy)) == policy


def test_seventeen_nested_gates_are_rejected_at_the_deepest_gate() -> None:
    with pytest.raises(PolicySyntaxError) as info:
        parse_policy(nested(MAX_POLICY_DEPTH + 1))
    assert info.value.position == 3 * MAX_POLICY_DEPTH
    assert "deeper than 16" in str(info.value)


def test_policy_of_exactly_the_maximum_length_is_accepted() -> None:
    head = "OR('A.peer'"
    text = head + " " * (MAX_POLICY_LENGTH - len(head) - 1) + ")"
    assert len(text) == MAX_POLICY_LENGTH
    assert parse_policy(text) == AnyOf((signed("A.peer"),))


def test_policy_longer_than_the_maximum_is_rejected() -> None:
    text = "OR('A.peer'" + " " * MAX_POLICY_LENGTH + ")"
    with pytest.raises(PolicySyntaxError) as info:
        parse_policy(text)
    assert info.value.position == MAX_POLICY_LENGTH


LONG_MSP = "M" * 65


@pytest.mark.parametrize(("text", "position", "fragment"), [
    ("", 0, "expected AND, OR, OutOf"),
    ("   ", 3, "expected AND, OR, OutOf"),
    ("'A.member'", 0, "bare principal"),
    ("XOR('A.peer')", 0, "unknown gate 'XOR'"),
    ("AND 'A.member'", 4, "expected '('"),
    ("AND()", 4, "never empty"),
    ("OR( )", 4, "never empty"),
    ("AND('A.member',)", 15, "expected a principal or a gate"),
    ("AND(,'A.member')", 4, "expected a principal or a gate"),
    ("AND('A.member'", 14, "expected ',' or ')'"),
    ("AND('A.member' 'B.member')", 15, "expected ',' or ')'"),
    ("AND('A.member'))", 15, "after the end of the policy"),
    ("AND('A.member') OR('B.peer')", 16, "after the end of the policy"),
    ("AND('A.boss')", 7, "unknown role 'boss'"),
    ("AND('A.Member')", 7, "unknown role 'Member'"),
    ("AND('A.member ')", 7, "unknown role"),
    ("AND('Amember')", 5, "not of the form"),
    ("AND('.member')", 5, "invalid MSP id"),
    ("AND(' A.member')", 5, "invalid MSP id"),
    ("AND('A B.member')", 5, "invalid MSP id"),
    ("AND('组织.member')", 5, "invalid MSP id"),
    (f"AND('{LONG_MSP}.member')", 5, "invalid MSP id"),
    ("AND('A.member\")", 4, "unterminated"),
    ("AND(\"A.member')", 4, "unterminated"),
    ("AND(A.member)", 4, "unknown gate 'A'"),
    ("AND(('A.member'))", 4, "expected AND, OR, OutOf"),
    ("AND(OR)", 6, "expected '(' after OR"),
    ("ＡＮＤ('A.member')", 0, "expected AND, OR, OutOf"),
    ("OutOf('A.peer')", 6, "needs a count"),
    ("OutOf(1)", 7, "expected ','"),
    ("OutOf(1,)", 8, "expected a principal or a gate"),
    ("OutOf(0, 'A.peer')", 6, "at least 1"),
    ("OutOf(-1, 'A.peer')", 6, "needs a count"),
    ("OutOf(1.0, 'A.peer')", 7, "expected ','"),
    ("OutOf(3, 'A.peer', 'B.peer')", 6, "only 2 sub-policies"),
    ("OutOf(99999999999999999999, 'A.peer')", 6, "at most the number"),
    ("OutOf( 2 , 'A.peer')", 7, "only 1 sub-policies"),
])
def test_malformed_policy_is_rejected_with_its_position(text: str, position: int,
                                                        fragment: str) -> None:
    with pytest.raises(PolicySyntaxError) as info:
        parse_policy(text)
    assert info.value.position == position, str(info.value)
    assert fragment in str(info.value)
    assert f"position {position}" in str(info.value)


def test_policy_errors_belong_to_the_ledger_hierarchy() -> None:
    with pytest.raises(LedgerError):
        parse_policy("AND(")
    assert issubclass(PolicySyntaxError, PolicyError)


def test_parse_policy_refuses_bytes() -> None:
    with pytest.raises(TypeError):
        parse_policy(b"OR('A.peer')")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the AST


@pytest.mark.parametrize(("msp_id", "role"), [
    ("A", "boss"), ("A", "Member"), ("", "peer"), ("A B", "peer"), (LONG_MSP, "peer"),
    ("组织", "peer"),
])
def test_invalid_principal_is_rejected(msp_id: str, role: str) -> None:
    with pytest.raises(PolicyError):
        Principal(msp_id, role)


def test_principal_from_string_splits_at_the_last_dot() -> None:
    assert Principal.from_string("a.b.c.admin") == Principal("a.b.c", "admin")
    assert str(Principal("a.b.c", "admin")) == "a.b.c.admin"
    with pytest.raises(PolicyError):
        Principal.from_string("nodot")


def test_gates_are_never_empty_and_out_of_counts_are_in_range() -> None:
    peer = signed("A.peer")
    for build in (lambda: AllOf(()), lambda: AnyOf(()), lambda: OutOf(1, ()),
                  lambda: OutOf(0, (peer,)), lambda: OutOf(2, (peer,)),
                  lambda: OutOf(True, (peer,)), lambda: AllOf(("A.peer",))):  # type: ignore
        with pytest.raises(PolicyError):
            build()


def test_gates_accept_lists_and_stay_hashable() -> None:
    policy = AllOf([signed("A.peer"), signed("B.peer")])  # type: ignore[arg-type]
    assert policy.policies == (signed("A.peer"), signed("B.peer"))
    assert hash(policy) == hash(AllOf((signed("A.peer"), signed("B.peer"))))


def test_policy_principals_lists_every_named_principal_once() -> None:
    policy = parse_policy("AND('A.peer', OR('A.peer', 'B.admin'), OutOf(1, 'C.member'))")
    assert policy_principals(policy) == {Principal("A", "peer"), Principal("B", "admin"),
                                         Principal("C", "member")}


# --------------------------------------------------------------------------- evaluation


def holds(text: str, *signers: str) -> bool:
    return evaluate(parse_policy(text), [tuple(s.split(".")) for s in signers])  # type: ignore


def test_and_is_satisfied_by_a_signer_of_each_organisation() -> None:
    assert holds("AND('A.peer', 'B.peer')", "A.peer", "B.peer")


def test_and_fails_when_an_organisation_is_missing() -> None:
    assert not holds("AND('A.peer', 'B.peer')", "A.peer")
    assert not holds("AND('A.peer', 'B.peer')", "A.peer", "C.peer")
    assert not holds("AND('A.peer', 'B.peer')")


def test_peer_does_not_satisfy_admin() -> None:
    assert not holds("OR('A.admin')", "A.peer", "A.client", "A.orderer")
    assert holds("OR('A.admin')", "A.admin")


@pytest.mark.parametrize("role", IDENTITY_ROLES)
def test_member_is_satisfied_by_any_role_of_that_organisation(role: str) -> None:
    assert holds("OR('A.member')", f"A.{role}")
    assert not holds("OR('A.member')", f"B.{role}")


@pytest.mark.parametrize("role", ["peer", "client", "orderer", "admin"])
def test_specific_roles_need_exactly_that_role(role: str) -> None:
    others = [f"A.{r}" for r in IDENTITY_ROLES if r != role]
    assert not holds(f"OR('A.{role}')", *others)
    assert holds(f"OR('A.{role}')", f"A.{role}")


def test_one_signature_cannot_satisfy_two_principals() -> None:
    assert not holds("AND('A.member', 'A.member')", "A.peer")
    assert holds("AND('A.member', 'A.member')", "A.peer", "A.client")
    assert not holds("AND('A.member', 'A.peer')", "A.peer")


@pytest.mark.parametrize("signers", [("A.peer", "A.admin"), ("A.admin", "A.peer")])
def test_evaluation_is_not_greedy(signers: tuple[str, str]) -> None:
    # A greedy evaluator may give A.peer to 'A.member' and then find no peer left.
    assert holds("AND('A.member', 'A.peer')", *signers)


def test_nested_greedy_trap_is_solved() -> None:
    policy = "AND(OR('A.member', 'B.member'), OR('A.peer', 'C.peer'))"
    assert holds(policy, "A.peer", "B.client")
    assert holds(policy, "B.client", "A.peer")
    assert not holds(policy, "A.peer")


def test_shared_principals_across_gates_need_distinct_signatures() -> None:
    policy = "OutOf(2, AND('A.member', 'B.member'), AND('A.member', 'C.member'), 'D.peer')"
    assert not holds(policy, "A.peer", "B.peer", "C.peer")
    assert holds(policy, "A.peer", "A.client", "B.peer", "C.peer")
    assert holds(policy, "A.peer", "B.peer", "D.peer")


@pytest.mark.parametrize(("signers", "expected"), [
    ((), False),
    (("A.peer",), False),
    (("C.peer",), False),
    (("A.peer", "B.peer"), True),
    (("A.peer", "C.peer"), True),
    (("B.peer", "C.peer"), True),
    (("A.peer", "B.peer", "C.peer"), True),
    (("A.peer", "A.peer"), False),  # two A peers are still one organisation's principal
    (("A.client", "B.admin", "C.orderer"), False),
])
def test_two_out_of_three(signers: tuple[str, ...], expected: bool) -> None:
    assert holds("OutOf(2, 'A.peer', 'B.peer', 'C.peer')", *signers) is expected


def test_each_listed_signer_counts_so_callers_must_remove_duplicate_identities() -> None:
    # The same identity listed twice would count twice: deduplication is the caller's job.
    assert holds("AND('A.member', 'A.member')", "A.peer", "A.peer")


def test_irrelevant_signers_change_nothing() -> None:
    noise = [f"Z{i}.peer" for i in range(50)]
    assert holds("AND('A.peer', 'B.peer')", *noise, "A.peer", "B.peer")
    assert not holds("AND('A.peer', 'B.peer')", *noise, "A.peer")


def test_many_signers_of_one_class_evaluate_quickly() -> None:
    policy = "AND(" + ", ".join(["'A.member'"] * 30) + ")"
    assert holds(policy, *["A.peer"] * 30)
    assert not holds(policy, *["A.peer"] * 29)


@pytest.mark.parametrize("signer", [("A", "member"), ("A", "boss"), ("A",), ["A", "peer"],
                                    ("A", 1), "A.peer"])
def test_malformed_signers_are_refused(signer: object) -> None:
    with pytest.raises(PolicyError):
        evaluate(parse_policy("OR('A.member')"), [signer])  # type: ignore[list-item]


def test_a_bare_signed_by_evaluates() -> None:
    assert evaluate(signed("A.peer"), [("A", "peer")])
    assert not evaluate(signed("A.peer"), [("A", "client")])


# --------------------------------------------------------------------------- the oracle


def _leaf_list(policy: Policy) -> list[Principal]:
    if isinstance(policy, SignedBy):
        return [policy.principal]
    return [leaf for sub in policy.policies for leaf in _leaf_list(sub)]


def _holds_with(policy: Policy, granted: list[bool], index: list[int]) -> bool:
    if isinstance(policy, SignedBy):
        ok = granted[index[0]]
        index[0] += 1
        return ok
    results = [_holds_with(sub, granted, index) for sub in policy.policies]
    need = {AllOf: len(results), AnyOf: 1}.get(type(policy))
    return sum(results) >= (need if need is not None else policy.n)  # type: ignore[union-attr]


def brute_force(policy: Policy, signers: list[tuple[str, str]]) -> bool:
    """Try every assignment of signers to leaves (each signer to at most one leaf)."""
    leaves = _leaf_list(policy)
    for assignment in itertools.product(range(-1, len(leaves)), repeat=len(signers)):
        used = [a for a in assignment if a >= 0]
        if len(used) != len(set(used)):
            continue
        if not all(leaves[a].matches(*signers[i]) for i, a in enumerate(assignment) if a >= 0):
            continue
        granted = [False] * len(leaves)
        for a in used:
            granted[a] = True
        if _holds_with(policy, granted, [0]):
            return True
    return False


_principals = st.builds(Principal, st.sampled_from(["A", "B"]),
                        st.sampled_from(["member", "peer", "admin"]))


def _gate(children: st.SearchStrategy[Policy]) -> st.SearchStrategy[Policy]:
    lists = st.lists(children, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        lists.map(AllOf), lists.map(AnyOf),
        lists.flatmap(lambda subs: st.integers(1, len(subs)).map(lambda n: OutOf(n, subs))),
    )


_policies = st.recursive(_principals.map(SignedBy), _gate, max_leaves=5)
_signers = st.lists(st.tuples(st.sampled_from(["A", "B"]),
                              st.sampled_from(["peer", "admin", "client"])), max_size=4)


@settings(max_examples=300, deadline=None)
@given(_policies, _signers)
def test_evaluation_agrees_with_brute_force_in_every_order(policy: Policy,
                                                           signers: list[tuple[str, str]]
                                                           ) -> None:
    expected = brute_force(policy, signers)
    assert evaluate(policy, signers) is expected
    assert evaluate(policy, list(reversed(signers))) is expected


def test_roles_constant_matches_fabric() -> None:
    assert set(ROLES) == {"member", "admin", "peer", "client", "orderer"}
    assert set(IDENTITY_ROLES) == set(ROLES) - {"member"}


def test_a_kept_refusal_holds_no_frames_and_is_raised_afresh_each_time() -> None:
    import gc
    import sys

    from ledger.errors import IdentityError
    from ledger.validation import _detached

    def refuse() -> IdentityError:
        try:
            try:
                raise ValueError("inner")
            except ValueError as inner:
                raise IdentityError("no certificate", reason="untrusted") from inner
        except IdentityError as exc:
            return _detached(exc)

    kept = refuse()
    assert (type(kept), str(kept), kept.reason) == (IdentityError, "no certificate", "untrusted")
    assert kept.__traceback__ is None and kept.__cause__ is None and kept.__context__ is None
    assert not any(isinstance(r, type(sys._getframe())) for r in gc.get_referents(kept))
    raised = []
    for _ in range(2):
        try:
            raise _detached(kept)
        except IdentityError as exc:
            raised.append(exc)
    assert raised[0] is not raised[1] and kept.__traceback__ is None
