"""The lifecycle state machine and its signed, hash-chained history."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.sm2 import SM2PrivateKey, SM2PublicKey
from crypto.sm3 import sm3
from records.batch import BatchRef
from records.canonical import canonical_json
from records.errors import CanonicalFormError, IllegalTransition
from records.lifecycle import ALLOWED, Actor, State, Transition, chain_problems, sign_transition

EXPECTED = {
    "draft": {"submitted"},
    "submitted": {"under_review"},
    "under_review": {"approved", "returned", "rejected"},
    "approved": {"active"},
    "active": {"suspended", "revoked", "expired", "withdrawn"},
    "suspended": {"active", "revoked", "expired", "withdrawn"},
    "returned": set(), "rejected": set(), "revoked": set(), "expired": set(),
    "withdrawn": set(),
}
KEY = SM2PrivateKey.generate()
ACTOR = Actor("staff-1", "school_staff", "S001")
AT = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def test_the_state_machine_is_exactly_the_specified_one() -> None:
    assert {s.value: {t.value for t in nxt} for s, nxt in ALLOWED.items()} == EXPECTED


def walk(*targets: State) -> list[Transition]:
    history: list[Transition] = []
    for i, target in enumerate(targets):
        history.append(sign_transition(history, target, record="r1", version=1,
                                       digest="ab" * 32, actor=ACTOR, kid="k.v1",
                                       signer=KEY, at=AT + dt.timedelta(minutes=i),
                                       comment=None))
    return history


def keys(org: str, kid: str) -> SM2PublicKey:
    return KEY.public_key()


@pytest.mark.parametrize(("path", "target"), [
    ((State.DRAFT,), State.APPROVED),
    ((State.DRAFT, State.SUBMITTED, State.UNDER_REVIEW, State.REJECTED), State.SUBMITTED),
    ((State.DRAFT, State.SUBMITTED, State.UNDER_REVIEW, State.APPROVED), State.SUSPENDED),
    ((), State.ACTIVE),
])
def test_illegal_transitions_raise_a_clear_error(path: tuple[State, ...],
                                                 target: State) -> None:
    with pytest.raises(IllegalTransition, match="cannot become"):
        walk(*path, target)


def test_a_signed_history_verifies_and_links_each_entry_to_the_one_before() -> None:
    history = walk(State.DRAFT, State.SUBMITTED, State.UNDER_REVIEW, State.APPROVED,
                   State.ACTIVE, State.SUSPENDED, State.ACTIVE)
    assert [h.previous for h in history[1:]] == [h.hash() for h in history[:-1]]
    assert chain_problems(history, record="r1", version=1, digest="ab" * 32,
                          key_for=keys) == ([], [])


def test_a_changed_removed_or_foreign_entry_is_detected() -> None:
    history = walk(State.DRAFT, State.SUBMITTED, State.UNDER_REVIEW, State.APPROVED)
    edited = [*history]
    edited[2] = dataclasses.replace(history[2], comment="changed afterwards")
    problems, _ = chain_problems(edited, record="r1", version=1, digest="ab" * 32,
                                 key_for=keys)
    assert any("signature" in p for p in problems)
    assert any("does not link" in p for p in problems)
    problems, _ = chain_problems([history[0], *history[2:]], record="r1", version=1,
                                 digest="ab" * 32, key_for=keys)
    assert problems
    problems, _ = chain_problems(history, record="r2", version=1, digest="ab" * 32,
                                 key_for=keys)
    assert problems


def test_entries_by_unknown_keys_are_reported_as_unverifiable() -> None:
    history = walk(State.DRAFT)
    assert chain_problems(history, record="r1", version=1, digest="ab" * 32,
                          key_for=lambda org, kid: None) == (
        [], ["lifecycle entry 0: no certificate for k.v1"])


# --- the assembled canonical text of an entry equals the general encoder's ---------------------

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12) | \
    st.sampled_from(['"', "\\", "\x00\x1f\x7f", "é中文\u2028", "𝄞"])
_INT = st.integers(min_value=-2**53 - 2, max_value=2**53 + 2) | st.sampled_from([0, 1, 7])


@st.composite
def _entries(draw: st.DrawFn) -> Transition:
    batch = draw(st.none() | st.builds(BatchRef, _INT, _INT,
                                       st.lists(_TEXT, max_size=4).map(tuple)))
    return Transition(
        draw(_INT), draw(st.none() | st.sampled_from(State)), draw(st.sampled_from(State)),
        draw(_TEXT), draw(_INT), draw(_TEXT), draw(_TEXT), draw(_TEXT), draw(_TEXT),
        draw(_TEXT), AT + dt.timedelta(seconds=draw(st.integers(0, 10**8))),
        draw(st.none() | _TEXT), draw(st.none() | _TEXT), draw(st.binary(max_size=80)),
        batch)


def _general(doc: dict[str, object]) -> bytes | type[Exception]:
    try:
        return canonical_json(doc)
    except Exception as exc:   # its type is what the fast path must raise too
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(_entries())
def test_an_entrys_signed_bytes_and_hash_are_the_general_encoders(entry: Transition) -> None:
    statement, whole = _general(entry.statement()), _general(entry.to_json())
    if isinstance(statement, bytes):
        assert entry.signed_bytes() == statement
    else:
        with pytest.raises(statement):
            entry.signed_bytes()
    if isinstance(whole, bytes):
        assert entry.hash() == sm3(whole).hex()
    else:
        with pytest.raises(whole):
            entry.hash()


@settings(max_examples=200, deadline=None)
@given(_entries())
def test_an_entrys_hash_does_not_depend_on_its_signed_bytes_being_known(
        entry: Transition) -> None:
    """``signed_bytes`` keeps the statement's pieces for ``hash``: either order gives
    the general encoder's answers."""
    whole = _general(entry.to_json())
    for first_signed in (False, True):
        fresh = dataclasses.replace(entry)
        if first_signed:
            with contextlib.suppress(UnicodeEncodeError, CanonicalFormError):
                fresh.signed_bytes()
        if isinstance(whole, bytes):
            assert fresh.hash() == sm3(whole).hex()
        else:
            with pytest.raises(whole):
                fresh.hash()


def test_an_entry_with_a_lone_surrogate_or_an_odd_member_type_is_encoded_as_before() -> None:
    [entry] = walk(State.DRAFT)
    with pytest.raises(UnicodeEncodeError):
        dataclasses.replace(entry, comment="\ud800").hash()
    odd = dataclasses.replace(entry, seq=True, version=2**60)
    with pytest.raises(CanonicalFormError):
        odd.hash()
    assert dataclasses.replace(entry, seq=True).signed_bytes() == canonical_json(
        dataclasses.replace(entry, seq=True).statement())
