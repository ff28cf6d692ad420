"""The record digest: person-linked values salted with HMAC-SM3 before SM3 over JCS."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.sm3 import hmac_sm3, sm3
from records.canonical import canonical_json
from records.digest import core_digest, expand, new_salt, pointer, salt_core, salted_value

CORE: dict[str, Any] = {
    "id": "0f8e0a53-5f42-4a4e-9f3b-0c8a4b0d1e21",
    "subject": {"kind": "person", "ref": "person-0001", "org": "S001"},
    "content": {"recipient": {"name": "张三"}, "authors": [{"name": "李四"}, {"name": "王五"}],
                "title": "公开的标题"},
}
PATTERNS = ["/subject/ref", "/content/recipient", "/content/authors/*/name"]


def test_person_linked_values_are_replaced_by_their_hmac() -> None:
    salt = bytes(range(32))
    salted = salt_core(CORE, PATTERNS, salt)
    text = canonical_json(salted).decode()
    for personal in ("person-0001", "张三", "李四", "王五"):
        assert personal not in text
    assert "公开的标题" in text and "S001" in text
    expected = hmac_sm3(salt, b"/content/authors/1/name\x00" + canonical_json("王五")).hex()
    assert salted["content"]["authors"][1]["name"] == "hmac-sm3:" + expected
    assert salted["content"]["recipient"] == salted_value(salt, "/content/recipient",
                                                          {"name": "张三"})
    assert CORE["content"]["recipient"] == {"name": "张三"}  # the input is not modified


def test_the_digest_is_sm3_of_the_canonical_salted_core() -> None:
    salt = new_salt()
    assert core_digest(CORE, PATTERNS, salt) == sm3(canonical_json(
        salt_core(CORE, PATTERNS, salt))).hex()


def test_without_the_salt_equal_people_give_unrelated_digests() -> None:
    """Two records about the same person cannot be linked through the ledger."""
    assert core_digest(CORE, PATTERNS, new_salt()) != core_digest(CORE, PATTERNS, new_salt())


def test_the_digest_changes_with_any_member() -> None:
    salt = new_salt()
    changed = copy.deepcopy(CORE)
    changed["content"]["title"] = "公开的标题!"
    assert core_digest(CORE, PATTERNS, salt) != core_digest(changed, PATTERNS, salt)


def test_wildcards_expand_over_arrays_and_members() -> None:
    assert expand("/content/authors/*/name", CORE) == [
        ("content", "authors", 0, "name"), ("content", "authors", 1, "name")]
    assert expand("/content/*", {"content": {"b": 1, "a": 2}}) == [
        ("content", "a"), ("content", "b")]
    assert expand("/content/missing/name", CORE) == []


def test_worked_example_of_the_docs() -> None:
    """docs/records.md "Digest", worked example (also reproducible with openssl)."""
    salt = bytes(range(32))
    core = {"id": "0f8e0a53-5f42-4a4e-9f3b-0c8a4b0d1e21",
            "subject": {"kind": "person", "ref": "person-0001", "org": "S001"}}
    assert salted_value(salt, "/subject/ref", "person-0001") == (
        "hmac-sm3:0f4d3efffaa8c32b1dd82a2cd8658d48e515f537bc715c8d293a48214195b825")
    assert core_digest(core, ["/subject/ref"], salt) == (
        "ec0913a4c45e64d6af116c882c3d2dc7052bcbad9e147d321cb5afb9c078fdb8")


def _salted_by_copying_everything(core: dict[str, Any], patterns: list[str],
                                  salt: bytes) -> dict[str, Any]:
    """The construction as specified: salt a deep copy, shorter patterns first."""
    salted = copy.deepcopy(core)
    for pattern in sorted(patterns, key=lambda p: (p.count("/"), p)):
        for path in expand(pattern, salted):
            parent: Any = salted
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = salted_value(salt, pointer(path), parent[path[-1]])
    return salted


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.sampled_from(["a", "张三", ""]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "name", "*"]), inner, max_size=3),
    max_leaves=12)
_PATTERNS = st.lists(st.sampled_from(
    ["/subject/ref", "/content", "/content/a", "/content/*", "/content/*/name",
     "/content/a/*", "/content/a/0", "/content/b/*/name", "/content/~1", "/content/*/*"]),
    max_size=4)


@settings(max_examples=300, deadline=None)
@given(_JSON, _PATTERNS)
def test_salting_copies_only_what_it_changes_and_gives_the_specified_core(
        content: Any, patterns: list[str]) -> None:
    core = {"subject": {"kind": "person", "ref": "p-1", "org": "S001"}, "content": content}
    before = copy.deepcopy(core)
    salt = bytes(range(32))
    salted = salt_core(core, patterns, salt)
    assert canonical_json(salted) == canonical_json(
        _salted_by_copying_everything(core, patterns, salt))
    assert core == before   # the input is not modified


def test_a_container_shared_by_two_members_is_salted_at_one_place_only() -> None:
    shared = {"name": "张三"}
    core = {"content": {"recipient": shared, "author": shared, "list": [shared, shared]}}
    salted = salt_core(core, ["/content/recipient/name", "/content/list/1/name"],
                       bytes(range(32)))
    assert salted["content"]["author"] == {"name": "张三"}
    assert salted["content"]["list"][0] == {"name": "张三"}
    assert salted["content"]["recipient"]["name"].startswith("hmac-sm3:")
    assert salted["content"]["list"][1]["name"].startswith("hmac-sm3:")
    assert shared == {"name": "张三"}
