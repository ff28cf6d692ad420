"""The web application shell: health, request ids, problem+json errors in the request's
language, and logs that never carry secrets or personal identifiers."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

import pytest
from flask import Flask

from edutrust.app import create_app
from edutrust.logs import JsonFormatter, redact
from edutrust.platform import Platform
from tests.conftest import LiveServer


@pytest.fixture
def app(platform: Platform) -> Flask:
    return create_app(platform)


def test_healthz_reports_database_ok(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok"}}


def test_healthz_answers_503_problem_when_database_is_gone(platform: Platform) -> None:
    from sqlalchemy import create_engine

    platform.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                                    connect_args={"connect_timeout": 1})
    response = create_app(platform).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.get_json()["type"] == "urn:edutrust:problem:unavailable"


def test_unknown_path_is_a_problem_in_chinese_by_default(app: Flask) -> None:
    response = app.test_client().get("/no/such/page")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["title"] == "未找到" and body["status"] == 404
    assert body["type"] == "urn:edutrust:problem:not-found"


def test_problem_follows_accept_language(app: Flask) -> None:
    response = app.test_client().get("/nope", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.get_json()["title"] == "Not found"
    assert response.headers["Content-Language"] == "en"


def test_wrong_method_is_405_problem(app: Flask) -> None:
    response = app.test_client().post("/healthz")
    assert response.status_code == 405
    assert response.get_json()["type"] == "urn:edutrust:problem:method-not-allowed"


def test_unexpected_error_is_a_500_problem_without_a_traceback(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals password=hunter2")

    response = app.test_client().get("/boom", headers={"X-Request-ID": "req-12345678"})
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "hunter2" not in text and "internals" not in text
    assert response.get_json()["request_id"] == "req-12345678"


def test_request_id_is_echoed_or_generated(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/healthz", headers={"X-Request-ID": "abc-12345678"}) \
        .headers["X-Request-ID"] == "abc-12345678"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert len(generated.headers["X-Request-ID"]) == 36


@pytest.mark.parametrize("secret,marker", [
    ("11010519491231002X", "[id-card]"),
    ("13800138000", "[phone]"),
    ("eyJhbGciOiJTTTIifQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "[jwt]"),
    ("password=hunter2", "password=[redacted]"),
    ("client_secret: abc123", "client_secret: [redacted]"),
])
def test_redaction_removes_secrets_and_identifiers(secret: str, marker: str) -> None:
    out = redact(f"user sent {secret} today")
    assert marker in out
    assert secret not in out


def test_json_log_line_redacts_fields_and_message() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1,
                               "login for 11010519491231002X", None, None)
    record.fields = {"password": "hunter2", "phone": "13800138000", "status": 200}
    line = json.loads(JsonFormatter().format(record))
    assert "hunter2" not in json.dumps(line) and "13800138000" not in json.dumps(line)
    assert line["status"] == 200 and line["password"] == "[redacted]"


def test_live_server_serves_healthz_through_gunicorn(live_server: LiveServer) -> None:
    with urllib.request.urlopen(live_server.base_url + "/healthz", timeout=5) as resp:
        assert json.load(resp)["status"] == "ok"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(live_server.base_url + "/missing", timeout=5)
    assert info.value.code == 404
    assert info.value.headers["Content-Type"] == "application/problem+json"


def test_request_log_keeps_reset_links_and_share_codes_out(
        app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    reset = "Zq8XkM3v_secret-reset-token-0123456789abcdef"
    share = "K7PQ-M2XR-9TAC"
    with caplog.at_level(logging.INFO, logger="edutrust.http"):
        app.test_client().get(f"/password/reset/{reset}")
        app.test_client().get(f"/verify/{share}?lang=en")
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "edutrust.http"]
    assert len(lines) >= 2
    logged = "\n".join(lines)
    assert reset not in logged and share not in logged
    assert "/password/reset/[redacted]" in logged and "/verify/[redacted]" in logged


def _address_seen(platform: Platform, *, forwarded_for: str) -> str | None:
    app = create_app(platform)

    @app.get("/test-address")
    def _address() -> str:
        from flask import request

        return request.remote_addr or ""

    response = app.test_client().get(
        "/test-address", environ_base={"REMOTE_ADDR": "10.0.0.7"},
        headers={"X-Forwarded-For": forwarded_for})
    return response.get_data(as_text=True)


def test_forwarded_for_is_ignored_unless_proxies_are_declared(platform: Platform) -> None:
    # No proxy declared: a client writing X-Forwarded-For cannot pick the address that
    # throttling and the audit log see.
    assert _address_seen(platform, forwarded_for="203.0.113.9") == "10.0.0.7"


def test_declared_proxies_give_the_client_address_and_no_more(platform: Platform) -> None:
    import dataclasses

    platform.settings = dataclasses.replace(platform.settings, trusted_proxies=1)
    # One proxy: only its hop (the last) is believed, not what the client prepended.
    assert _address_seen(platform, forwarded_for="198.51.100.1, 203.0.113.9") == \
        "203.0.113.9"
