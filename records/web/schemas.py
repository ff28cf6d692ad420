"""JSON Schemas (Draft 2020-12) of the records API's request and response bodies. The
same documents validate requests and appear in the OpenAPI description, so the two
cannot drift apart; record content is validated by the records core against
records/schemas."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

_TIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
         "description": "UTC time, YYYY-MM-DDTHH:MM:SSZ"}
_COMMENT = {"type": "string", "minLength": 1, "maxLength": 2000}
_ORG = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"}

REQUESTS: dict[str, dict[str, Any]] = {
    "RecordCreate": {
        "type": "object", "additionalProperties": False, "required": ["type", "content"],
        "description": "A new record (draft). Archive entries name the person they are "
                       "about (a directory person id) and that person's organisation "
                       "(default: the organisation acting).",
        "properties": {
            "type": {"enum": ["archive_entry", "copyright_registration", "app_filing",
                              "credit_record"]},
            "content": {"type": "object",
                        "description": "The type's content (see the content schemas)"},
            "subject": {"type": "object", "additionalProperties": False, "required": ["ref"],
                        "properties": {"ref": {"type": "string", "minLength": 1,
                                               "maxLength": 200},
                                       "org": _ORG}},
            "schema_version": {"type": "integer", "minimum": 1},
            "valid_from": _TIME,
            "valid_until": _TIME,
        },
    },
    "Amendment": {
        "type": "object", "additionalProperties": False, "required": ["content"],
        "description": "New content for a returned, active or suspended record: a new "
                       "version (draft) linked to the current one.",
        "properties": {"content": {"type": "object"}, "valid_until": _TIME,
                       "comment": _COMMENT},
    },
    "Comment": {
        "type": "object", "additionalProperties": False,
        "properties": {"comment": _COMMENT},
    },
    "RequiredComment": {
        "type": "object", "additionalProperties": False, "required": ["comment"],
        "properties": {"comment": _COMMENT},
    },
    "Approval": {
        "type": "object", "additionalProperties": False,
        "properties": {"comment": _COMMENT,
                       "anchor": {"type": "boolean", "default": True,
                                  "description": "anchor on the ledger at once (default)"}},
    },
    "ShareCodeCreate": {
        "type": "object", "additionalProperties": False, "required": ["expires_at"],
        "description": "A share code for the record's newest anchored version (or "
                       "``version``), showing the content members in ``fields`` (default: "
                       "all) until ``expires_at`` (5 minutes to one year ahead).",
        "properties": {"expires_at": _TIME,
                       "fields": {"type": "array", "maxItems": 50,
                                  "items": {"type": "string", "minLength": 1,
                                            "maxLength": 100}},
                       "version": {"type": "integer", "minimum": 1},
                       "note": {"type": "string", "maxLength": 200}},
    },
    "VerifyRequest": {
        "description": "An offline bundle (format edutrust-record-bundle/v1), or "
                       "{\"bundle\": …}, or {\"record\": <envelope>} to verify against "
                       "the live ledger.",
        "type": "object",
        "oneOf": [
            {"required": ["format"], "properties": {
                "format": {"const": "edutrust-record-bundle/v1"}}},
            {"required": ["bundle"], "additionalProperties": False,
             "properties": {"bundle": {"type": "object"}}},
            {"required": ["record"], "additionalProperties": False,
             "properties": {"record": {"type": "object"}}},
        ],
    },
}

RESPONSES: dict[str, dict[str, Any]] = {
    "RecordSummary": {
        "type": "object",
        "required": ["id", "type", "version", "state", "issuer", "digest"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "type": {"type": "string"}, "version": {"type": "integer"},
            "state": {"type": "string"}, "issuer": {"type": "string"},
            "digest": {"type": "string"},
            "subject": {"type": "object"},
            "filing_number": {"type": ["string", "null"]},
            "anchored": {"type": "boolean"},
        },
    },
    "RecordList": {
        "type": "object", "required": ["items", "total"],
        "properties": {"items": {"type": "array",
                                 "items": {"$ref": "#/components/schemas/RecordSummary"}},
                       "total": {"type": "integer"}, "limit": {"type": "integer"},
                       "offset": {"type": "integer"}},
    },
    "History": {
        "type": "object", "required": ["id", "versions"],
        "properties": {
            "id": {"type": "string"},
            "versions": {"type": "array", "items": {
                "type": "object",
                "properties": {"version": {"type": "integer"}, "state": {"type": "string"},
                               "digest": {"type": "string"},
                               "superseded": {"type": "boolean"},
                               "anchor": {"type": ["object", "null"]},
                               "lifecycle": {"type": "array",
                                             "items": {"type": "object"}}}}},
        },
    },
    "VerificationReport": {
        "type": "object", "required": ["overall", "checks", "history"],
        "properties": {
            "overall": {"enum": ["valid", "invalid", "indeterminate"]},
            "checked_at": {"type": "string"},
            "record": {"type": "object"},
            "checks": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["outcome", "code", "detail"],
                "properties": {"outcome": {"enum": ["pass", "fail", "indeterminate"]},
                               "code": {"type": "string"},
                               "detail": {"type": "string"}}}},
            "history": {"type": "array", "items": {"type": "object"}},
        },
    },
    "PublicAppFiling": {
        "type": "object", "description": "The public part of an anchored app filing.",
        "properties": {
            "id": {"type": "string"}, "version": {"type": "integer"},
            "filing_number": {"type": ["string", "null"]}, "state": {"type": "string"},
            "provider": {"type": "object"}, "app": {"type": "object"},
            "icp_filing_number": {"type": "string"},
            "security_protection_level": {"type": "integer"},
            "reviewed_by": {"type": ["string", "null"]},
            "approved_at": {"type": ["string", "null"]},
        },
    },
    "AppFilingList": {
        "type": "object", "required": ["items", "total"],
        "properties": {"items": {"type": "array",
                                 "items": {"$ref": "#/components/schemas/PublicAppFiling"}},
                       "total": {"type": "integer"}},
    },
    "ReviewNotes": {
        "type": "object", "properties": {"notes": {"type": "array",
                                                   "items": {"type": "string"}}},
    },
    "StatusList": {
        "type": "object", "required": ["snapshot", "anchor"],
        "properties": {"snapshot": {"type": "object"}, "anchor": {"type": "object"}},
    },
    "TrustAnchors": {
        "type": "object", "required": ["format", "root_certificates", "log_keys"],
        "properties": {"format": {"const": "edutrust-trust-anchors/v1"},
                       "root_certificates": {"type": "array", "items": {"type": "string"}},
                       "log_keys": {"type": "array", "items": {"type": "string"}}},
    },
    "ShareCode": {
        "type": "object", "required": ["id", "hint", "record", "expires_at", "state"],
        "description": "A share code as its holder sees it; ``code`` only in the answer "
                       "that created it (open it at /verify/{code}).",
        "properties": {"code": {"type": "string"}, "url": {"type": "string"},
                       "id": {"type": "string"},
                       "hint": {"type": "string"}, "record": {"type": "string"},
                       "version": {"type": ["integer", "null"]},
                       "fields": {"type": "array", "items": {"type": "string"}},
                       "expires_at": {"type": "string"},
                       "revoked_at": {"type": ["string", "null"]},
                       "views": {"type": "integer"},
                       "state": {"enum": ["active", "expired", "revoked"]}},
    },
    "ShareCodeList": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array",
                                 "items": {"$ref": "#/components/schemas/ShareCode"}}},
    },
    "ImportReport": {
        "type": "object", "required": ["rows", "created", "unchanged", "errors"],
        "properties": {"rows": {"type": "integer"}, "created": {"type": "integer"},
                       "unchanged": {"type": "integer"}, "anchored": {"type": "integer"},
                       "awaiting_review": {"type": "integer"},
                       "dry_run": {"type": "boolean"},
                       "errors": {"type": "array", "items": {
                           "type": "object", "properties": {
                               "line": {"type": "integer"}, "reason": {"type": "string"},
                               "detail": {"type": "string"},
                               "message": {"type": "string"}}}},
                       "records": {"type": "array", "items": {"type": "object"}}},
    },
    "Problem": {
        "type": "object", "description": "RFC 9457 problem details",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "description": "urn:edutrust:problem:<slug>"},
            "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "request_id": {"type": "string"},
            "errors": {"type": "array", "items": {
                "type": "object", "properties": {"pointer": {"type": "string"},
                                                 "message": {"type": "string"}}}},
            "reason": {"type": "string"},
        },
    },
}

_VALIDATORS = {name: Draft202012Validator(schema) for name, schema in REQUESTS.items()}


def _pointer(path: Any) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else ""


def request_problems(name: str, body: Any) -> list[dict[str, str]]:
    """Each way ``body`` breaks request schema ``name``: ``{pointer, message}``."""
    errors = sorted(_VALIDATORS[name].iter_errors(body), key=lambda e: list(e.absolute_path))
    return [{"pointer": _pointer(e.absolute_path), "message": e.message} for e in errors]
