"""The OpenAPI 3.1 description of everything under ``/api/v1``, built from the routes the
app actually serves (so the two cannot drift apart), and a readable, server-rendered
docs page generated from it (Chinese and English; no scripts, no CDN).

Views describe themselves with ``records.web.api.described`` (an ``Operation``), or with
a dict holding an OpenAPI operation object in ``view.__openapi__``; a route that does
neither (another package's) is still listed, described from its docstring.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template_string

from records.schema import RECORD_TYPES, SCHEMA_FOLDER, content_schema
from records.web.access import ORG_HEADER, REVIEW, SUBMIT, VERIFY
from records.web.api import PREFIX, Operation
from records.web.schemas import REQUESTS, RESPONSES

OPENAPI_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"
_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
_STATUS_TEXT = {200: "OK", 201: "Created", 400: "Bad request", 401: "Unauthorized",
                403: "Forbidden", 404: "Not found", 409: "Conflict",
                413: "Payload too large", 415: "Unsupported media type",
                422: "Unprocessable content", 503: "Service unavailable"}
SCOPE_TEXT = {
    SUBMIT: "Register, submit, amend and withdraw records for the caller's organisation",
    REVIEW: "Review records for the caller's organisation",
    VERIFY: "Read verification reports and verify records and bundles",
}
Translate = Callable[..., str]


def _schema_name(record_type: str) -> str:
    return "".join(part.capitalize() for part in record_type.split("_"))


def _embedded(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A published schema placed at ``#/components/schemas/<name>``: its internal
    references are rewritten to that location and its ``$id`` is kept as
    ``x-schema-id`` (OpenAPI tools resolve ``#/...`` against the whole document)."""
    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: rewrite(v) for k, v in node.items() if k not in ("$id", "$schema")}
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                out["$ref"] = f"#/components/schemas/{name}/" + ref[2:]
            return out
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    embedded: dict[str, Any] = rewrite(schema)
    embedded["x-schema-id"] = schema["$id"]
    return embedded


@cache
def _record_schemas() -> dict[str, Any]:
    """The envelope and the newest content schema of each type, as published in
    records/schemas."""
    schemas = {"Envelope": _embedded("Envelope", json.loads(
        (SCHEMA_FOLDER / "envelope-1.json").read_text(encoding="utf-8")))}
    for record_type in RECORD_TYPES:
        name = _schema_name(record_type)
        schemas[name] = _embedded(name, content_schema(record_type).document)
    return schemas


def _components(token_url: str, authorize_url: str, scopes: dict[str, str]) -> dict[str, Any]:
    schemas: dict[str, Any] = {**copy.deepcopy(_record_schemas()), **copy.deepcopy(REQUESTS),
                               **copy.deepcopy(RESPONSES)}
    schemas["RecordCreate"]["properties"]["content"] = {
        "description": "Content of the record's type",
        "anyOf": [{"$ref": f"#/components/schemas/{_schema_name(t)}"} for t in RECORD_TYPES]}
    schemas["Bundle"] = {
        "type": "object", "required": ["format", "record"],
        "description": "Offline bundle (docs/records.md section 9)",
        "properties": {"format": {"const": "edutrust-record-bundle/v1"},
                       "record": {"$ref": "#/components/schemas/Envelope"}}}
    schemas["Credential"] = {
        "type": "object", "required": ["@context", "type", "proof"],
        "description": "W3C Verifiable Credential 2.0 with a DataIntegrityProof "
                       "(cryptosuite sm2-jcs-2025, docs/records.md section 10)"}
    problem = {"application/problem+json": {"schema": {
        "$ref": "#/components/schemas/Problem"}}}
    responses = {str(code): {"description": text, "content": problem}
                 for code, text in _STATUS_TEXT.items() if code >= 400}
    responses["401"]["headers"] = {"WWW-Authenticate": {
        "description": "RFC 6750 challenge: Bearer, with error=\"invalid_token\" when a "
                       "token was sent", "schema": {"type": "string"}}}
    responses["403"]["headers"] = {"WWW-Authenticate": {
        "description": "RFC 6750 error=\"insufficient_scope\" when the token lacks the "
                       "scope", "schema": {"type": "string"}}}
    return {
        "schemas": schemas,
        "responses": responses,
        "parameters": {"ActingOrganisation": {
            "name": ORG_HEADER, "in": "header", "required": False,
            "description": "Directory code of the organisation to act for, when the "
                           "caller may act for several",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"}}},
        "securitySchemes": {"oauth2": {
            "type": "oauth2",
            "description": "Access tokens of the EduTrust identity provider (aud = the "
                           f"issuer or the issuer + {PREFIX}). Scopes select the kind of "
                           "action; directory roles decide for which organisation.",
            "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": scopes},
                      "authorizationCode": {"authorizationUrl": authorize_url,
                                            "tokenUrl": token_url, "scopes": scopes}}}},
    }


def _path_of(rule: str) -> tuple[str, list[str]]:
    names = _CONVERTER.findall(rule)
    return _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", rule), names


def _operation(op: Operation, method: str, endpoint: str, params: list[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {"operationId": endpoint.rpartition(".")[2],
                           "summary": op.summary, "x-summary-zh": op.summary_zh,
                           "tags": list(op.tags)}
    parameters: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True,
         "schema": {"type": "integer", "minimum": 1} if p == "version"
         else {"type": "string"}} for p in params]
    parameters += [{"name": name, "in": "query", "required": False,
                    "description": text, "schema": {"type": kind}}
                   for name, kind, text in op.query]
    if op.scopes and (SUBMIT in op.scopes or REVIEW in op.scopes):
        parameters.append({"$ref": "#/components/parameters/ActingOrganisation"})
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        doc["requestBody"] = {"required": op.body in ("RecordCreate", "Amendment",
                                                      "RequiredComment", "VerifyRequest"),
                              "content": {"application/json": {"schema": {
                                  "$ref": f"#/components/schemas/{op.body}"}}}}
    success: dict[str, Any] = {"description": _STATUS_TEXT.get(op.status, "OK")}
    if op.response is not None:
        success["content"] = {op.media_type: {"schema": {
            "$ref": f"#/components/schemas/{op.response}"}}}
    responses: dict[str, Any] = {str(op.status): success}
    errors = set(op.errors)
    if op.scopes:
        errors |= {401, 403}
        doc["security"] = [{"oauth2": list(op.scopes)}]
        doc["description"] = "Needs one of the scopes: " + ", ".join(op.scopes) + "."
    else:
        doc["security"] = []
    for code in sorted(errors):
        responses[str(code)] = {"$ref": f"#/components/responses/{code}"}
    doc["responses"] = responses
    doc.update(op.extra)
    return doc


def _generic(view: Any, method: str, endpoint: str, params: list[str],
             scopes: tuple[str, ...]) -> dict[str, Any]:
    """A route that does not describe itself: its docstring's first paragraph, else its
    endpoint name ("admin_api.list_clients" -> "List clients"); ``scopes`` as the
    composition root says for its path."""
    text = (view.__doc__ or "").strip()
    name = endpoint.rpartition(".")[2].replace("_", " ").strip().capitalize()
    first = text.split("\n\n")[0].replace("\n", " ").strip() or name or endpoint
    parameters = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                  for p in params]
    doc: dict[str, Any] = {"operationId": endpoint.replace(".", "_") + "_" + method.lower(),
                           "summary": first[:120], "description": first,
                           "tags": [endpoint.partition(".")[0] or "api"],
                           "security": [{"oauth2": list(scopes)}],
                           "responses": {"200": {"description": "OK", "content": {
                               "application/json": {"schema": {"type": "object"}}}},
                               "401": {"$ref": "#/components/responses/401"},
                               "403": {"$ref": "#/components/responses/403"}}}
    if parameters:
        doc["parameters"] = parameters
    if method in ("POST", "PUT", "PATCH"):
        doc["responses"]["400"] = {"$ref": "#/components/responses/400"}
        doc["responses"]["422"] = {"$ref": "#/components/responses/422"}
    return doc


def openapi_document(app: Flask, *, issuer: str,
                     token_path: str = "/oauth2/token",  # noqa: S107 - a path
                     authorize_path: str = "/oauth2/authorize",
                     extra_scopes: dict[str, str] | None = None,
                     scopes_by_prefix: dict[str, tuple[str, ...]] | None = None
                     ) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every ``/api/v1`` route ``app`` serves;
    ``scopes_by_prefix`` names the scopes of routes that do not describe themselves."""
    issuer = issuer.rstrip("/")
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path, params = _path_of(rule.rule)
        view = app.view_functions[rule.endpoint]
        described = getattr(view, "__openapi__", None)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if isinstance(described, Operation):
                operation = _operation(described, method, rule.endpoint, params)
            elif isinstance(described, dict):
                operation = copy.deepcopy(described.get(method.lower(), described))
            else:
                needed = next((found for prefix, found in (scopes_by_prefix or {}).items()
                               if rule.rule.startswith(prefix)), ())
                operation = _generic(view, method, rule.endpoint, params, needed)
            paths.setdefault(path, {})[method.lower()] = operation
    scopes = {**SCOPE_TEXT, **(extra_scopes or {})}
    return {
        "openapi": "3.1.0",
        "info": {"title": "EduTrust API", "version": "1",
                 "summary": "Trusted records (存证) of EduTrust: register, review, anchor, "
                            "verify.",
                 "description": "Records are signed with SM2, anchored on the EduTrust "
                                "ledger and verifiable offline; see docs/records.md and "
                                "docs/api.md. Errors are RFC 9457 problem details "
                                "(application/problem+json) in the request's language "
                                "(Accept-Language: zh or en).",
                 "license": {"name": "Proprietary", "identifier": "LicenseRef-EduTrust"}},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": [{"url": issuer}],
        "tags": [{"name": "records", "description": "Records and their lifecycle"},
                 {"name": "sharing", "description": "Share codes for holders"},
                 {"name": "public", "description": "Public, no token needed"}],
        "paths": paths,
        "components": _components(issuer + token_path, issuer + authorize_path, scopes),
    }


_PAGE = Path(__file__).parent / "templates" / "api_docs.html"


def _operations_for_page(document: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    rows = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            security = op.get("security") or []
            scopes = sorted({s for entry in security for s in entry.get("oauth2", [])})
            rows.append({
                "method": method.upper(), "path": path,
                "summary": op.get("x-summary-zh") if lang == "zh" and op.get("x-summary-zh")
                else op.get("summary", ""),
                "public": not security, "scopes": scopes,
                "parameters": [p for p in op.get("parameters", []) if "name" in p],
                "acting_org": any("$ref" in p for p in op.get("parameters", [])),
                "body": op.get("requestBody", {}).get("content", {}).get(
                    "application/json", {}).get("schema", {}).get("$ref", "")
                .rpartition("/")[2],
                "responses": sorted(op.get("responses", {})),
                "anchor": (method + path).replace("/", "-").replace("{", "").replace("}", ""),
            })
    return rows


def openapi_blueprint(issuer: str, language: Callable[[], str],
                      translator: Callable[[str], Translate], *,
                      extra_scopes: dict[str, str] | None = None,
                      scopes_by_prefix: dict[str, tuple[str, ...]] | None = None
                      ) -> Blueprint:
    """``/api/openapi.json`` and ``/api/docs`` (built from the running app's routes).
    ``translator(lang)`` gives the page's messages (``records.docs.*``, and the scope
    descriptions ``idp.scope.<scope>`` where the catalog has them)."""
    bp = Blueprint("records_openapi", __name__)
    built: list[dict[str, Any]] = []

    def document() -> dict[str, Any]:
        if not built:  # routes do not change once the app serves
            built.append(openapi_document(current_app, issuer=issuer,
                                          extra_scopes=extra_scopes,
                                          scopes_by_prefix=scopes_by_prefix))
        return built[0]

    def scope_label(t: Translate, name: str, fallback: str) -> str:
        try:
            return t("idp.scope." + name)
        except KeyError:
            return fallback

    @bp.get(OPENAPI_PATH)
    def openapi_json() -> Response:
        response = jsonify(document())
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    @bp.get(DOCS_PATH)
    def docs_page() -> Response:
        lang = language()
        doc = document()
        t = translator(lang)
        scopes = doc["components"]["securitySchemes"]["oauth2"]["flows"][
            "clientCredentials"]["scopes"]
        html = render_template_string(
            _PAGE.read_text(encoding="utf-8"), t=t, lang=lang,
            doc=doc, operations=_operations_for_page(doc, lang),
            scopes={name: scope_label(t, name, text) for name, text in scopes.items()},
            token_url=doc["components"]["securitySchemes"]["oauth2"]["flows"][
                "clientCredentials"]["tokenUrl"],
            schemas=sorted(doc["components"]["schemas"]), org_header=ORG_HEADER,
            openapi_path=OPENAPI_PATH)
        response = Response(html, content_type="text/html; charset=utf-8")
        response.headers["Content-Language"] = lang
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
        return response

    return bp


__all__ = ["DOCS_PATH", "OPENAPI_PATH", "openapi_blueprint", "openapi_document"]
