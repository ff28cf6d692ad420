"""The lifecycle state machine and its signed, hash-chained history."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from crypto.sm2 import SM2PrivateKey, SM2PublicKey
from records.errors import IllegalTransition
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
