"""The Flask application factory: wires each package's web layer onto one app, adds the
request id, JSON access logs, security headers and RFC 9457 problem responses."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from edutrust import i18n
from edutrust.logs import request_id_var
from edutrust.platform import Platform

if TYPE_CHECKING:
    from ledger.channel import Channel

log = logging.getLogger("edutrust.http")

PROBLEM_TYPE = "urn:edutrust:problem:"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_PROBLEMS = {
    400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
    500: "internal", 503: "unavailable",
}


def request_language() -> str:
    """The language of the current request: ``ui_locales``, then Accept-Language."""
    return i18n.negotiate(request.args.get("ui_locales"),
                          list(request.accept_languages) if request else [])


def problem(status: int, slug: str, *, lang: str | None = None, **values: object) -> Response:
    """An ``application/problem+json`` response (RFC 9457) in the request's language."""
    lang = lang or request_language()
    body = {
        "type": PROBLEM_TYPE + slug.replace("_", "-"),
        "title": i18n.translate(f"problem.{slug}.title", lang),
        "status": status,
        "detail": i18n.translate(f"problem.{slug}.detail", lang, **values),
    }
    if getattr(g, "request_id", None):
        body["request_id"] = g.request_id
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    response.headers["Content-Language"] = lang
    return response


def create_app(platform: Platform) -> Flask:
    app = Flask("edutrust")
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    app.extensions["edutrust.platform"] = platform

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else str(uuid.uuid4())
        g.request_started = time.perf_counter()
        request_id_var.set(g.request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        started = g.get("request_started")
        log.info("request", extra={"fields": {
            "method": request.method, "path": request.path, "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
        }})
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        slug = _PROBLEMS.get(status)
        if slug is None:
            slug = "bad_request" if status < 500 else "internal"
        if slug == "internal":
            return problem(status, slug, request_id=g.get("request_id", ""))
        return problem(status, slug)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unhandled error")
        return problem(500, "internal", request_id=g.get("request_id", ""))

    @app.get("/healthz")
    def healthz() -> Any:
        if not platform.database_ok():
            return problem(503, "unavailable")
        return jsonify({"status": "ok", "checks": {"database": "ok"}})

    _register_ledger(app, platform)
    _register_identity_provider(app, platform)
    return app


def _register_ledger(app: Flask, platform: Platform) -> None:
    """The public ledger API; its channel is opened on first use, once per worker (after
    gunicorn forks), and an opening that fails is retried on the next request."""
    from edutrust.ledger_setup import open_channel
    from ledger.web import ledger_blueprint

    opened: list[Channel] = []
    lock = threading.Lock()

    def channel() -> Channel:
        if not opened:
            with lock:
                if not opened:
                    opened.append(open_channel(platform))
        return opened[0]

    app.extensions["edutrust.ledger_channel"] = channel
    app.register_blueprint(ledger_blueprint(channel, problem))


def _register_identity_provider(app: Flask, platform: Platform) -> None:
    """The OAuth 2.0 / OpenID Connect provider: login and consent pages and protocol
    endpoints. The provider (keys, directory) is assembled on first use in each worker,
    and an assembly that fails is retried on the next request."""
    from idp.oauth2.config import ProviderConfig
    from idp.oauth2.rfc8414 import EndpointPaths
    from idp.oauth2.server import Provider, open_provider
    from idp.shortlived import open_short_lived_store
    from idp.web import PageLanguage, create_blueprint
    from idp.web.sessions import SessionStore

    built: list[Provider] = []
    lock = threading.Lock()

    def provider() -> Provider:
        if not built:
            with lock:
                if not built:
                    built.append(open_provider(platform.settings.issuer, platform.sessions,
                                               platform.keys, platform.fields,
                                               open_short_lived_store(
                                                   platform.settings.redis_url)))
        return built[0]

    config = ProviderConfig(issuer=platform.settings.issuer)
    language = PageLanguage(
        negotiate=lambda ui_locales: i18n.negotiate(ui_locales, list(request.accept_languages)),
        translator=i18n.translator)
    store = SessionStore(platform.sessions, config.session_idle_ttl, config.session_max_ttl)
    app.extensions["edutrust.idp"] = provider
    app.register_blueprint(create_blueprint(provider, store, language, EndpointPaths()))

    from edutrust.demo import demo_blueprint

    app.register_blueprint(demo_blueprint(platform))
