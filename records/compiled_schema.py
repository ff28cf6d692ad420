"""A fast validity test compiled from the JSON Schema (Draft 2020-12) keywords the record
schemas use, so that checking a valid document costs a few closure calls instead of
``jsonschema``'s general machinery (which builds an error iterator, evolves a validator
and resolves ``$ref`` through a registry at every level).

It only answers *valid or not*; when it says not, the caller asks ``jsonschema`` for the
errors, so messages and pointers stay ``jsonschema``'s. It never accepts what
``jsonschema`` rejects: a schema using any keyword outside the supported set does not
compile (``Unsupported``) and the caller keeps using ``jsonschema`` for everything. The
semantics follow ``jsonschema`` without a format checker (``format`` is an annotation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Test = Callable[[Any], bool]

# Keywords that only annotate and never affect validity.
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description",
                          "examples", "default", "format", "deprecated", "readOnly",
                          "writeOnly"})
_SUPPORTED = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties",
                             "items", "enum", "const", "pattern", "minLength", "maxLength",
                             "minimum", "maximum", "minItems", "maxItems", "uniqueItems",
                             "minProperties", "maxProperties", "oneOf", "anyOf", "allOf",
                             "$ref"}


class Unsupported(Exception):
    """The schema uses something this compiler does not implement."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: dict[str, Test] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "number": _is_number,
    # Like jsonschema: 1.0 is an integer, True is not.
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality as JSON Schema defines it: ``true`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return a is None and b is None


def compile_schema(document: dict[str, Any]) -> Test:
    """The validity test of ``document`` (a whole schema with local ``#/$defs/...``
    references); ``Unsupported`` if it uses anything else."""
    compiled: dict[str, Test] = {}
    building: set[str] = set()

    def resolve(ref: str) -> Test:
        if not ref.startswith("#/$defs/") or "/" in ref[len("#/$defs/"):]:
            raise Unsupported(f"reference {ref!r}")
        name = ref[len("#/$defs/"):]
        if name in building:  # a recursive reference: looked up when it runs
            return lambda v: compiled[name](v)
        if name not in compiled:
            target = document.get("$defs", {}).get(name)
            if not isinstance(target, (dict, bool)):
                raise Unsupported(f"reference {ref!r} has no target")
            building.add(name)
            try:
                compiled[name] = build(target)
            finally:
                building.discard(name)
        return compiled[name]

    def build(schema: Any) -> Test:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise Unsupported("a schema is an object or a boolean")
        unknown = [k for k in schema if k not in _SUPPORTED and not k.startswith("x-")]
        if unknown:
            raise Unsupported(f"keywords {unknown}")
        fused = _fused(schema, build)
        if fused is not None:
            return fused
        tests: list[Test] = []
        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if any(n not in _TYPES for n in names):
                raise Unsupported(f"type {schema['type']!r}")
            checks = tuple(_TYPES[n] for n in names)
            tests.append(checks[0] if len(checks) == 1 else lambda v: any(c(v) for c in checks))
        if "enum" in schema:
            tests.append(_enum(list(schema["enum"])))
        if "const" in schema:
            tests.append(_enum([schema["const"]]))
        tests.extend(_string_tests(schema))
        tests.extend(_number_tests(schema))
        tests.extend(_array_tests(schema, build))
        tests.extend(_object_tests(schema, build))
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword in schema:
                branches = tuple(build(s) for s in schema[keyword])
                tests.append(_null_or(keyword, schema[keyword], branches, rejects_null)
                             or _combined(keyword, branches))
        if "$ref" in schema:
            tests.append(resolve(schema["$ref"]))
        if not tests:
            return lambda v: True
        if len(tests) == 1:
            return _exact_int(schema, tests[0])
        return _exact_int(schema, _every(tuple(tests)))

    def rejects_null(schema: Any, seen: frozenset[str] = frozenset()) -> bool:
        """True if ``schema`` certainly rejects null: one of its own keywords does (a
        ``type`` without "null", an ``enum`` or ``const`` without null, ``false``), or
        the local definition it refers to does. False when not sure."""
        if schema is False:
            return True
        if not isinstance(schema, dict):
            return False
        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if "null" not in names:
                return True
        if "enum" in schema and isinstance(schema["enum"], list) and all(
                o is not None for o in schema["enum"]):
            return True
        if "const" in schema and schema["const"] is not None:
            return True
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and ref not in seen:
            target = document.get("$defs", {}).get(ref[len("#/$defs/"):])
            return rejects_null(target, seen | {ref})
        return False

    return build(document)


def _is_null_type(schema: Any) -> bool:
    """True for ``{"type": "null"}`` (annotations aside): it accepts null alone."""
    if not isinstance(schema, dict) or schema.get("type") not in ("null", ["null"]):
        return False
    return all(k == "type" or k in _ANNOTATIONS or k.startswith("x-") for k in schema)


def _null_or(keyword: str, schemas: Any, branches: tuple[Test, ...],
             rejects_null: Callable[[Any], bool]) -> Test | None:
    """``anyOf``/``oneOf`` of ``{"type": "null"}`` and one other schema, the shape of
    every nullable member: ``v is None or other(v)`` (for ``oneOf`` only when the other
    schema certainly rejects null, so that null matches exactly one branch). None when
    the shape does not fit."""
    if keyword not in ("anyOf", "oneOf") or not isinstance(schemas, list) or len(schemas) != 2:
        return None
    for null, other in ((0, 1), (1, 0)):
        if _is_null_type(schemas[null]) and (keyword == "anyOf"
                                             or rejects_null(schemas[other])):
            test = branches[other]
            return lambda v: v is None or test(v)
    return None


_BOUND_WORDS = frozenset({"type", "minimum", "maximum"})


def _exact_int(schema: dict[str, Any], general: Test) -> Test:
    """For ``{"type": "integer" | "number"[, "minimum"][, "maximum"]}``: an exact ``int``
    (the usual case) decided by its bounds alone, anything else by ``general``."""
    words = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
    if schema.get("type") not in ("integer", "number") or not words <= _BOUND_WORDS:
        return general
    low, high = schema.get("minimum"), schema.get("maximum")
    if not all(b is None or _is_number(b) for b in (low, high)):
        return general

    def exact_int(v: Any) -> bool:
        if type(v) is int:
            return (low is None or v >= low) and (high is None or v <= high)
        return general(v)

    return exact_int


def _every(tests: tuple[Test, ...]) -> Test:
    def every(v: Any) -> bool:
        for test in tests:  # noqa: SIM110 - a loop is faster than all() over a generator
            if not test(v):
                return False
        return True

    return every


def _enum(options: list[Any]) -> Test:
    """``enum`` (and ``const``, one option). When every option is a string, JSON
    equality is string equality, so a set lookup gives the same answer."""
    if all(isinstance(o, str) for o in options):
        strings = frozenset(options)
        return lambda v: isinstance(v, str) and v in strings
    return lambda v: any(json_equal(v, o) for o in options)


def _combined(keyword: str, branches: tuple[Test, ...]) -> Test:
    if keyword == "allOf":
        return _every(branches)
    if keyword == "anyOf":
        return lambda v: any(t(v) for t in branches)

    def exactly_one(v: Any) -> bool:
        matched = 0
        for test in branches:
            if test(v):
                matched += 1
        return matched == 1

    return exactly_one


_STRING_WORDS = frozenset({"type", "pattern", "minLength", "maxLength"})
_MATCHED_MAX = 65_536   # strings remembered per pattern
_OBJECT_WORDS = frozenset({"type", "properties", "required", "additionalProperties"})


def _fused(schema: dict[str, Any], build: Callable[[Any], Test]) -> Test | None:
    """One closure for the two shapes that dominate the record schemas: a plain string
    (type, pattern, lengths) and a plain object (type, properties, required,
    additionalProperties); None for anything else."""
    words = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
    if schema.get("type") == "string" and words <= _STRING_WORDS:
        search = re.compile(schema["pattern"]).search if "pattern" in schema else None
        low, high = schema.get("minLength", 0), schema.get("maxLength")

        if search is not None and not low and high is None:
            # Strings that matched, by exact text: the same texts recur (a batch's path
            # hashes in every member's entries, an issuer's key ids, digests), and a
            # set lookup costs far less than the search. Bounded; a miss searches.
            matched: set[str] = set()

            def pattern_only(v: Any) -> bool:
                if type(v) is str and v in matched:
                    return True
                if not isinstance(v, str) or search(v) is None:
                    return False
                if type(v) is str:
                    if len(matched) >= _MATCHED_MAX:
                        matched.clear()
                    matched.add(v)
                return True

            return pattern_only

        def string(v: Any) -> bool:
            if not isinstance(v, str) or len(v) < low or (high is not None and len(v) > high):
                return False
            return search is None or search(v) is not None

        return string
    if schema.get("type") == "object" and words <= _OBJECT_WORDS:
        properties = {name: build(sub) for name, sub in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        other = (build(schema["additionalProperties"]) if "additionalProperties" in schema
                 else None)

        def plain_object(v: Any) -> bool:
            if not isinstance(v, dict):
                return False
            for name in required:
                if name not in v:
                    return False
            for name, value in v.items():
                test = properties.get(name)
                if test is None:
                    if other is not None and not other(value):
                        return False
                elif not test(value):
                    return False
            return True

        return plain_object
    return None


def _string_tests(schema: dict[str, Any]) -> list[Test]:
    tests: list[Test] = []
    if "pattern" in schema:
        search = re.compile(schema["pattern"]).search
        tests.append(lambda v: not isinstance(v, str) or search(v) is not None)
    if "minLength" in schema:
        low = schema["minLength"]
        tests.append(lambda v: not isinstance(v, str) or len(v) >= low)
    if "maxLength" in schema:
        high = schema["maxLength"]
        tests.append(lambda v: not isinstance(v, str) or len(v) <= high)
    return tests


def _number_tests(schema: dict[str, Any]) -> list[Test]:
    tests: list[Test] = []
    if "minimum" in schema:
        low = schema["minimum"]
        tests.append(lambda v: not _is_number(v) or v >= low)
    if "maximum" in schema:
        high = schema["maximum"]
        tests.append(lambda v: not _is_number(v) or v <= high)
    return tests


def _array_tests(schema: dict[str, Any], build: Callable[[Any], Test]) -> list[Test]:
    tests: list[Test] = []
    if "items" in schema:
        if isinstance(schema["items"], list):
            raise Unsupported("items as an array (prefixItems in 2020-12)")
        item = build(schema["items"])

        def items(v: Any) -> bool:
            if isinstance(v, list):
                for x in v:
                    if not item(x):
                        return False
            return True

        tests.append(items)
    if "minItems" in schema:
        low = schema["minItems"]
        tests.append(lambda v: not isinstance(v, list) or len(v) >= low)
    if "maxItems" in schema:
        high = schema["maxItems"]
        tests.append(lambda v: not isinstance(v, list) or len(v) <= high)
    if schema.get("uniqueItems") is True:
        tests.append(lambda v: not isinstance(v, list) or all(
            not json_equal(v[i], v[j]) for i in range(len(v)) for j in range(i + 1, len(v))))
    return tests


def _object_tests(schema: dict[str, Any], build: Callable[[Any], Test]) -> list[Test]:
    tests: list[Test] = []
    properties = {name: build(sub) for name, sub in schema.get("properties", {}).items()}
    if properties:
        items = tuple(properties.items())
        tests.append(lambda v: not isinstance(v, dict) or all(
            test(v[name]) for name, test in items if name in v))
    if "required" in schema:
        required = tuple(schema["required"])
        tests.append(lambda v: not isinstance(v, dict) or all(n in v for n in required))
    if "additionalProperties" in schema:
        other = build(schema["additionalProperties"])
        known = frozenset(properties)
        tests.append(lambda v: not isinstance(v, dict) or all(
            other(value) for name, value in v.items() if name not in known))
    if "minProperties" in schema:
        low = schema["minProperties"]
        tests.append(lambda v: not isinstance(v, dict) or len(v) >= low)
    if "maxProperties" in schema:
        high = schema["maxProperties"]
        tests.append(lambda v: not isinstance(v, dict) or len(v) <= high)
    return tests
