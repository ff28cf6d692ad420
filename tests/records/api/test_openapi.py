"""The OpenAPI 3.1 description at /api/openapi.json: a valid document that names every
/api/v1 route the app serves (and nothing it does not), references the record schemas,
and renders as a readable docs page in Chinese and English."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import validate

from edutrust.app import create_app
from edutrust.platform import Platform


@pytest.fixture(scope="module")
def app(shared_platform: Platform) -> Flask:
    return create_app(shared_platform)


@pytest.fixture(scope="module")
def document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def served_operations(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[a-z_]+:)?([A-Za-z_][A-Za-z0-9_]*)>", r"{\1}", rule.rule)
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                found.add((method.lower(), path))
    return found


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_route_is_described_and_nothing_else(app: Flask,
                                                       document: dict[str, Any]) -> None:
    described = {(method, path) for path, methods in document["paths"].items()
                 for method in methods}
    served = served_operations(app)
    assert ("get", "/api/v1/records/{record_id}/verification") in served
    assert ("post", "/api/v1/verify") in served
    assert described == served


def test_record_schemas_security_and_problems_are_referenced(document: dict[str, Any]
                                                             ) -> None:
    schemas = document["components"]["schemas"]
    for name in ("Envelope", "ArchiveEntry", "CopyrightRegistration", "AppFiling",
                 "CreditRecord"):
        assert schemas[name]["x-schema-id"].startswith("urn:edutrust:schema:")
    create = document["paths"]["/api/v1/records"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"] == \
        "#/components/schemas/RecordCreate"
    assert create["security"] == [{"oauth2": ["records:submit"]}]
    assert create["responses"]["422"] == {"$ref": "#/components/responses/422"}
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"].endswith("/oauth2/token")
    assert {"records:submit", "records:review", "records:verify"} <= set(
        flows["clientCredentials"]["scopes"])
    assert "application/problem+json" in document["components"]["responses"]["404"]["content"]
    search = document["paths"]["/api/v1/app-filings"]["get"]
    assert search["security"] == []


def test_the_docs_page_is_generated_in_both_languages(app: Flask) -> None:
    client = app.test_client()
    zh = client.get("/api/docs", headers={"Accept-Language": "zh-CN"})
    en = client.get("/api/docs?ui_locales=en")
    assert zh.status_code == en.status_code == 200
    assert "接口文档" in zh.get_data(as_text=True)
    page = en.get_data(as_text=True)
    assert "API reference" in page
    assert "/api/v1/records/{record_id}/verification" in page
    assert "<script" not in page and "http" not in page.split("<body>")[1].split(
        "token endpoint")[0]
