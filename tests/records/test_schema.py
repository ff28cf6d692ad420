"""The JSON Schemas of record content and the checks beyond them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from records.errors import SchemaViolation, UnknownSchema
from records.schema import (
    RECORD_TYPES,
    SCHEMA_FOLDER,
    content_schema,
    credit_code_is_valid,
    validate_content,
    validate_envelope,
    with_check_character,
)
from tests.records.conftest import (
    PROVIDER_CODE,
    app_content,
    archive_content,
    copyright_content,
    credit_content,
)

SAMPLES = {"archive_entry": archive_content, "copyright_registration": copyright_content,
           "app_filing": app_content, "credit_record": credit_content}


@pytest.mark.parametrize("path", sorted(SCHEMA_FOLDER.glob("*.json")), ids=lambda p: p.name)
def test_every_schema_file_is_a_valid_draft_2020_12_schema(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"].startswith("urn:edutrust:schema:")


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_each_type_accepts_its_sample_content(record_type: str) -> None:
    schema = validate_content(record_type, 1, SAMPLES[record_type]())
    assert schema.schema_id == f"urn:edutrust:schema:{record_type}:1"
    assert content_schema(record_type).version == 1


def problems(record_type: str, content: dict[str, Any]) -> list[str]:
    with pytest.raises(SchemaViolation) as caught:
        validate_content(record_type, 1, content)
    return [pointer for pointer, _ in caught.value.errors]


def test_problems_are_reported_with_their_json_pointer() -> None:
    content = archive_content()
    del content["achievement"]["name"]
    content["evidence"][0]["sm3"] = "not-a-digest"
    assert problems("archive_entry", content) == ["/achievement", "/evidence/0/sm3"]


def test_unknown_members_are_refused() -> None:
    assert problems("copyright_registration", {**copyright_content(), "isbn": "x"}) == [""]


def test_an_app_filing_needs_a_valid_unified_social_credit_code() -> None:
    content = app_content()
    content["provider"]["credit_code"] = PROVIDER_CODE[:-1] + (
        "0" if PROVIDER_CODE[-1] != "0" else "1")
    assert problems("app_filing", content) == ["/provider/credit_code"]


def test_unified_social_credit_codes_are_checked_per_gb_32100() -> None:
    assert credit_code_is_valid("91350100M000100Y43")  # a published example
    assert not credit_code_is_valid("91350100M000100Y44")
    assert credit_code_is_valid(with_check_character("12100000400000624"))
    assert not credit_code_is_valid("91350100M000100Y4")


def test_dates_must_be_in_order() -> None:
    content = credit_content()
    content["period"] = {"from": "2026-05-01", "until": "2026-04-30"}
    assert problems("credit_record", content) == ["/period/until"]


def test_an_unknown_type_or_version_has_no_schema() -> None:
    with pytest.raises(UnknownSchema):
        content_schema("diploma")
    with pytest.raises(UnknownSchema):
        content_schema("archive_entry", 99)
    with pytest.raises(UnknownSchema):
        content_schema("envelope")


def test_an_envelope_without_its_members_is_malformed() -> None:
    from records.errors import MalformedRecord

    with pytest.raises(MalformedRecord):
        validate_envelope({"id": "x"})
