"""The compiled schema test never disagrees with jsonschema, and schemas it cannot
compile fall back to jsonschema."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import pytest

from records.compiled_schema import Unsupported, compile_schema, json_equal
from records.envelope import Record
from records.schema import _envelope_validator, content_schema, validate_envelope
from tests.records.conftest import SCHOOL, Desk, archive_content, student
from tests.records.test_schema import SAMPLES

ODD_VALUES: list[Any] = [None, True, False, 0, 1, -1, 1.0, 2.5, "", "x", "2026-01-01",
                         "a" * 300, [], [1], {}, {"a": 1}, 10**12]


def _paths(doc: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*at, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _paths(value, (*at, i))


def _mutated(doc: Any, rng: random.Random) -> Any:
    """``doc`` with one value replaced, removed, duplicated or one member added."""
    doc = copy.deepcopy(doc)
    path = rng.choice([p for p in _paths(doc) if p])
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    roll = rng.random()
    if roll < 0.6:
        parent[path[-1]] = rng.choice(ODD_VALUES)
    elif roll < 0.8:
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.append(copy.deepcopy(parent[path[-1]]))
    elif isinstance(parent, dict):
        parent["unexpected"] = rng.choice(ODD_VALUES)
    else:
        parent.insert(0, rng.choice(ODD_VALUES))
    return doc


def _agree(validator: Any, test: Any, document: Any, rounds: int, seed: int) -> int:
    rng = random.Random(seed)
    assert validator.is_valid(document) and test(document)
    rejected = 0
    for _ in range(rounds):
        candidate = _mutated(document, rng)
        if rng.random() < 0.3:
            candidate = _mutated(candidate, rng)
        expected = validator.is_valid(candidate)
        assert test(candidate) is expected, candidate
        rejected += not expected
    return rejected


@pytest.mark.parametrize("record_type", sorted(SAMPLES))
def test_compiled_content_schema_agrees_with_jsonschema(record_type: str) -> None:
    schema = content_schema(record_type, 1)
    assert schema.is_valid is not None
    rejected = _agree(schema.validator, schema.is_valid, SAMPLES[record_type](), 300, 7)
    assert rejected > 100  # the mutations did reach invalid documents


def test_compiled_envelope_schema_agrees_with_jsonschema(desk: Desk) -> None:
    record = desk.registry.create("archive_entry", archive_content(), actor=SCHOOL,
                                  subject=student())
    validator, test = _envelope_validator()
    assert test is not None
    rejected = _agree(validator, test, record.to_json(), 400, 11)
    assert rejected > 100


def test_an_invalid_envelope_still_gets_jsonschemas_messages(desk: Desk) -> None:
    record = desk.registry.create("archive_entry", archive_content(), actor=SCHOOL,
                                  subject=student())
    document = record.to_json()
    document["version"] = "one"
    with pytest.raises(Exception, match="/version: 'one' is not of type 'integer'"):
        validate_envelope(document)
    assert Record.from_json(record.to_json()) == record


def test_a_schema_with_an_unsupported_keyword_does_not_compile() -> None:
    with pytest.raises(Unsupported):
        compile_schema({"type": "object", "properties": {"a": {"multipleOf": 2}}})
    with pytest.raises(Unsupported):
        compile_schema({"$ref": "https://example.org/other.json"})
    with pytest.raises(Unsupported):
        compile_schema({"items": [{"type": "string"}]})


def test_json_equality_follows_json_schema_not_python() -> None:
    assert not json_equal(True, 1) and not json_equal(0, False)
    assert json_equal(1, 1.0) and json_equal({"a": [1]}, {"a": [1.0]})
    assert not json_equal("1", 1) and not json_equal(None, False)
    test = compile_schema({"enum": [1, "a"], "type": ["integer", "string"]})
    assert test(1) and test(1.0) and test("a")
    assert not test(True) and not test("b")


def test_a_recursive_reference_still_validates_at_every_depth() -> None:
    tree = {"$defs": {"node": {"type": "object", "required": ["name"],
                               "properties": {"name": {"type": "string"},
                                              "children": {"type": "array",
                                                           "items": {"$ref": "#/$defs/node"}}},
                               "additionalProperties": False}},
            "$ref": "#/$defs/node"}
    test = compile_schema(tree)
    deep = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}
    assert test(deep)
    deep["children"][0]["children"][0]["name"] = 3
    assert not test(deep)


def test_a_string_enum_or_const_accepts_only_those_strings() -> None:
    test = compile_schema({"enum": ["1", "true", "null"]})
    assert test("1") and test("null")
    assert not any(test(v) for v in (1, 1.0, True, None, ["1"], "2"))
    const = compile_schema({"const": "a"})
    assert const("a") and not const(["a"]) and not const("b")
    one_of = compile_schema({"oneOf": [{"type": "null"}, {"enum": ["x", None]}]})
    assert one_of("x") and not one_of(None)  # None matches both branches


def test_a_remembered_pattern_match_never_lets_a_non_matching_value_through() -> None:
    import re

    import records.compiled_schema as compiled

    schema = {"type": "string", "pattern": "^[A-Za-z0-9+/]{43}=$"}
    test = compile_schema(schema)
    good, bad = "A" * 43 + "=", "A" * 42 + "=="

    class Text(str):
        pass

    for _ in range(3):   # after the first pass the good text is remembered
        assert test(good) and not test(bad)
        assert not test(good + " ") and not test(good[:-1]) and not test(None)
        assert not test(Text(bad)) and test(Text(good))
    rng = random.Random(7)
    pattern = re.compile(schema["pattern"])
    alphabet = "AZaz09+/=="
    for _ in range(2_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.choice([43, 44, 45])))
        assert test(text) == (pattern.search(text) is not None), text
    # Past its bound the memory starts again; answers stay the same.
    compiled_max, compiled._MATCHED_MAX = compiled._MATCHED_MAX, 3
    try:
        small = compile_schema(schema)
        texts = [f"{i:043d}=" for i in range(10)]
        for text in texts * 2:
            assert small(text)
        assert not small(bad)
    finally:
        compiled._MATCHED_MAX = compiled_max
