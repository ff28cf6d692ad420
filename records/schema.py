"""The JSON Schemas (Draft 2020-12) of record content and of the envelope, loaded from
``records/schemas/<type>-<version>.json``, and the checks a schema cannot express
(unified social credit code check digits, date order).

Each content schema names its person-linked members in ``x-edutrust-person-linked``:
JSON Pointers relative to the content, where ``*`` stands for every array element or
object member. Those values are salted before hashing (records.digest).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from records.compiled_schema import Test, Unsupported, compile_schema
from records.errors import MalformedRecord, SchemaViolation, UnknownSchema

SCHEMA_FOLDER = Path(__file__).parent / "schemas"
RECORD_TYPES = ("archive_entry", "copyright_registration", "app_filing", "credit_record")
PERSON_LINKED = "x-edutrust-person-linked"
ENVELOPE = "envelope"

# GB 32100-2015: the unified social credit code alphabet (no I, O, Z, S, V) and weights.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@dataclass(frozen=True)
class ContentSchema:
    """One schema file: its ``$id``, the type and version it describes, the pointers
    of person-linked values and its validators (``is_valid``: records.compiled_schema's
    fast test, when the schema compiles)."""

    record_type: str
    version: int
    schema_id: str
    person_linked: tuple[str, ...]
    document: dict[str, Any]
    validator: Draft202012Validator
    is_valid: Test | None = None


def _load(path: Path) -> ContentSchema:
    name, _, version = path.stem.rpartition("-")
    document = json.loads(path.read_text(encoding="utf-8"))
    # The files are checked against the Draft 2020-12 metaschema by the test suite
    # (check_schema costs about 0.3 s per file, too much for every process start).
    pointers = tuple(document.get(PERSON_LINKED, ()))
    return ContentSchema(name, int(version), document["$id"], pointers, document,
                         Draft202012Validator(document), _fast_test(document))


def _fast_test(document: dict[str, Any]) -> Test | None:
    try:
        return compile_schema(document)
    except (Unsupported, re.error):
        return None


@functools.cache
def _catalog() -> dict[tuple[str, int], ContentSchema]:
    schemas = (_load(p) for p in sorted(SCHEMA_FOLDER.glob("*-*.json"))
               if p.stem.rpartition("-")[0] in RECORD_TYPES)
    return {(s.record_type, s.version): s for s in schemas}


def content_schema(record_type: str, version: int | None = None) -> ContentSchema:
    """The schema of ``record_type`` at ``version`` (the newest when None)."""
    catalog = _catalog()
    if version is None:
        versions = [v for (t, v) in catalog if t == record_type]
        if not versions or record_type not in RECORD_TYPES:
            raise UnknownSchema(f"no schema for record type {record_type!r}")
        version = max(versions)
    found = catalog.get((record_type, version))
    if found is None or record_type not in RECORD_TYPES:
        raise UnknownSchema(f"no schema {record_type!r} version {version}")
    return found


def schema_by_id(schema_id: str, version: int) -> ContentSchema:
    for schema in _catalog().values():
        if schema.schema_id == schema_id and schema.version == version:
            return schema
    raise UnknownSchema(f"no schema {schema_id!r} version {version}")


def _pointer(path: Iterator[Any] | Any) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else ""


def _problems(validator: Draft202012Validator, instance: Any,
              is_valid: Test | None = None) -> list[tuple[str, str]]:
    # Valid documents are the common case: the compiled test decides them alone; only
    # a document it rejects goes through jsonschema, for its messages.
    if is_valid is not None and is_valid(instance):
        return []
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [(_pointer(e.absolute_path), e.message) for e in errors]


def credit_code_is_valid(code: str) -> bool:
    """True if ``code`` is an 18-character unified social credit code whose last
    character is the GB 32100-2015 check character of the first 17."""
    if len(code) != 18 or any(c not in _USCC_ALPHABET for c in code):
        return False
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(code[:17], _USCC_WEIGHTS,
                                                              strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def with_check_character(first17: str) -> str:
    """The full code for 17 characters (what test data and demo data need)."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS,
                                                              strict=True))
    return first17 + _USCC_ALPHABET[(31 - total % 31) % 31]


def _semantic_problems(record_type: str, content: dict[str, Any]) -> list[tuple[str, str]]:
    """What a schema cannot say: check characters and the order of dates."""
    problems: list[tuple[str, str]] = []

    def credit(pointer: str, code: object) -> None:
        if isinstance(code, str) and not credit_code_is_valid(code):
            problems.append((pointer, f"{code!r} is not a valid unified social credit code "
                                      f"(check character)"))

    def ordered(pointer: str, first: object, second: object) -> None:
        if isinstance(first, str) and isinstance(second, str) and second < first:
            problems.append((pointer, f"{second} is earlier than {first}"))

    if record_type == "archive_entry":
        ordered("/activityEndDate", content.get("activityStartDate"),
                content.get("activityEndDate"))
    elif record_type == "copyright_registration":
        ordered("/first_published_on", content.get("created_on"),
                content.get("first_published_on"))
        for i, holder in enumerate(content.get("rights_holders", [])):
            credit(f"/rights_holders/{i}/credit_code", holder.get("credit_code"))
    elif record_type == "app_filing":
        credit("/provider/credit_code", content.get("provider", {}).get("credit_code"))
    elif record_type == "credit_record":
        credit("/credit_code", content.get("credit_code"))
        period = content.get("period", {})
        ordered("/period/until", period.get("from"), period.get("until"))
    return problems


def validate_content(record_type: str, version: int, content: Any) -> ContentSchema:
    """Raise ``SchemaViolation`` (listing every problem) unless ``content`` satisfies the
    schema of ``record_type`` at ``version``; returns that schema."""
    schema = content_schema(record_type, version)
    problems = _problems(schema.validator, content, schema.is_valid)
    if not problems and isinstance(content, dict):
        problems = _semantic_problems(record_type, content)
    if problems:
        summary = "; ".join(f"{p or '/'}: {m}" for p, m in problems[:5])
        raise SchemaViolation(f"{record_type} content does not match schema "
                              f"{schema.schema_id}: {summary}", problems)
    return schema


@functools.cache
def _envelope_validator() -> tuple[Draft202012Validator, Test | None]:
    path = SCHEMA_FOLDER / f"{ENVELOPE}-1.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    return Draft202012Validator(document), _fast_test(document)


def validate_envelope(document: Any) -> None:
    """Raise ``MalformedRecord`` unless ``document`` has the envelope's shape."""
    validator, is_valid = _envelope_validator()
    problems = _problems(validator, document, is_valid)
    if problems:
        summary = "; ".join(f"{p or '/'}: {m}" for p, m in problems[:5])
        raise MalformedRecord(f"not a record envelope: {summary}")
