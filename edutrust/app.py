"""The Flask application factory: wires each package's web layer onto one app, adds the
request id, JSON access logs, security headers and RFC 9457 problem responses."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from edutrust import i18n
from edutrust.logs import request_id_var
from edutrust.platform import Platform
from idp.oauth2.client_credentials_endpoint import (
    TOKEN_RESPONSE_HEADERS,
    ClientCredentialsEndpoint,
)
from idp.oauth2.rfc8414 import EndpointPaths

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ledger.channel import Channel

log = logging.getLogger("edutrust.http")

PROBLEM_TYPE = "urn:edutrust:problem:"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_PROBLEMS = {
    400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
    500: "internal", 503: "unavailable",
}


# Headers every response carries (the lean token path adds them too).
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                    ("X-Frame-Options", "DENY"))
# Where the lean token path leaves the request id for Flask when it hands a request over.
_REQUEST_ID_KEY = "edutrust.request_id"


def _request_id(incoming: str) -> str:
    """The client's X-Request-ID when well formed, else a new one."""
    return incoming if _REQUEST_ID.match(incoming) else str(uuid.uuid4())


def _log_request(method: str, path: str, status: int, started: float | None) -> None:
    """The access log line of one request (not built when the level drops it)."""
    if log.isEnabledFor(logging.INFO):
        log.info("request", extra={"fields": {
            "method": method, "path": path, "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
        }})


class LeanTokenPath:
    """WSGI layer in front of the Flask app: the token endpoint's client_credentials
    requests that ``ClientCredentialsEndpoint`` fully understands and grants are
    answered here, with the headers and access log line Flask would add; every other
    request goes to ``app`` unchanged."""

    def __init__(self, app: WSGIApplication, endpoint: ClientCredentialsEndpoint,
                 path: str) -> None:
        self._app = app
        self._endpoint = endpoint
        self._path = path

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self._path or environ.get("REQUEST_METHOD") != "POST":
            return self._app(environ, start_response)
        started = time.perf_counter()
        request_id = _request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        request_id_var.set(request_id)
        body = self._endpoint.answer(environ)
        if body is None:
            environ[_REQUEST_ID_KEY] = request_id
            return self._app(environ, start_response)
        start_response("200 OK", [*TOKEN_RESPONSE_HEADERS, ("Content-Length", str(len(body))),
                                  ("X-Request-ID", request_id), *SECURITY_HEADERS])
        _log_request("POST", self._path, 200, started)
        return [body]


def request_language() -> str:
    """The language of the current request: ``ui_locales``, then Accept-Language."""
    return i18n.negotiate(request.args.get("ui_locales"),
                          list(request.accept_languages) if request else [])


def problem(status: int, slug: str, *, lang: str | None = None,
            extensions: dict[str, Any] | None = None, **values: object) -> Response:
    """An ``application/problem+json`` response (RFC 9457) in the request's language;
    ``extensions`` adds members of the problem type (e.g. the bad rows of an import)."""
    lang = lang or request_language()
    body: dict[str, Any] = {
        **(extensions or {}),
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


def create_app(platform: Platform, *, lean_token_endpoint: bool = True) -> Flask:
    """The platform's app; ``lean_token_endpoint=False`` leaves every token request to
    Flask and Authlib (tests compare the two paths)."""
    app = Flask("edutrust")
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    hops = platform.settings.trusted_proxies
    if hops:
        # Only the hops the operator declared: a forwarded address beyond them could be
        # anything the client wrote.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.extensions["edutrust.platform"] = platform

    @app.before_request
    def _start() -> None:
        g.request_id = request.environ.get(_REQUEST_ID_KEY) or _request_id(
            request.headers.get("X-Request-ID", ""))
        g.request_started = time.perf_counter()
        request_id_var.set(g.request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name, value)
        _log_request(request.method, request.path, response.status_code,
                     g.get("request_started"))
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
    _register_admin(app)
    _register_records(app, platform)
    _register_public_verification(app, platform)
    if lean_token_endpoint:
        app.wsgi_app = LeanTokenPath(  # type: ignore[method-assign]
            app.wsgi_app, ClientCredentialsEndpoint(app.extensions["edutrust.idp"]),
            EndpointPaths().token)
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
    from idp.mfa.throttle import ThrottleConfig
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
    settings = platform.settings
    throttle = ThrottleConfig(free_failures=settings.login_free_failures,
                              max_failures=settings.login_max_failures,
                              lockout=dt.timedelta(seconds=settings.login_lockout_seconds),
                              address_max_failures=settings.login_address_max_failures)
    app.register_blueprint(create_blueprint(provider, store, language, EndpointPaths(),
                                            throttle))

    from edutrust.demo import demo_blueprint

    app.register_blueprint(demo_blueprint(platform))


def _register_admin(app: Flask) -> None:
    """The operator API (clients, directory import) over this worker's provider."""
    from admin.web import admin_blueprint

    def translate(key: str, /, **values: object) -> str:
        return i18n.translate(key, request_language(), **values)

    app.register_blueprint(admin_blueprint(app.extensions["edutrust.idp"], problem, translate))


def _register_records(app: Flask, platform: Platform) -> None:
    """The records API (/api/v1) and its OpenAPI description. The registry is opened on
    first use in each worker over that worker's ledger channel; callers are
    authenticated with the identity provider's access tokens."""
    from edutrust.records_setup import open_registry
    from records.registry import RecordRegistry
    from records.web import (
        CLIENT_ROLE,
        Caller,
        Membership,
        openapi_blueprint,
        records_api_blueprint,
    )

    opened: list[RecordRegistry] = []
    lock = threading.Lock()
    channel = app.extensions["edutrust.ledger_channel"]
    provider = app.extensions["edutrust.idp"]
    issuer = platform.settings.issuer.rstrip("/")
    # RFC 8707: a token minted for the records API names it as its audience.
    audiences = [issuer, issuer + "/api/v1"]

    def registry() -> RecordRegistry:
        if not opened:
            with lock:
                if not opened:
                    opened.append(open_registry(platform, channel()))
        return opened[0]

    def authenticate(token: str) -> Caller | None:
        idp = provider()
        found = idp.tokens.active_access_token(token, audiences)
        if found is None:
            return None
        row = found[0].row
        scopes = frozenset(row.scope.split())
        if row.person_id is not None:
            if not idp.person_active(row.person_id):
                return None
            return Caller(row.person_id, "person", row.client_id, scopes, tuple(
                Membership(code, role)
                for code, _name, role in idp.directory.roles_of(row.person_id)))
        client = idp.clients.find(row.client_id)
        if client is None:
            return None
        org = idp.directory.organisation(client.org_id) if client.org_id else None
        return Caller(f"client:{client.client_id}", "client", client.client_id, scopes,
                      (Membership(org.code, CLIENT_ROLE),) if org is not None else ())

    class People:
        def memberships_of(self, person_ref: str) -> list[Membership] | None:
            directory = provider().directory
            if len(person_ref) > 36 or directory.person(person_ref) is None:
                return None
            return [Membership(code, role)
                    for code, _name, role in directory.roles_of(person_ref)]

    def translate(key: str, /, **values: object) -> str:
        return i18n.translate(key, request_language(), **values)

    app.extensions["edutrust.records"] = registry
    app.register_blueprint(records_api_blueprint(registry, authenticate, People(), problem,
                                                 public_url=issuer, translate=translate))
    app.register_blueprint(openapi_blueprint(
        issuer, request_language, i18n.translator,
        extra_scopes={"edutrust:admin": "Operate the platform (admin API)",
                      "directory:import": "Bulk-import the directory"},
        scopes_by_prefix={"/api/v1/admin/": ("edutrust:admin",),
                          "/api/v1/directory/": ("directory:import",)}))


def _register_public_verification(app: Flask, platform: Platform) -> None:
    """The public page ``/verify/{code}`` a holder's share code opens (records.sharing)
    over this worker's records registry."""
    from records.sharing import ShareCodes
    from records.web.public import public_blueprint

    registry = app.extensions["edutrust.records"]
    built: list[ShareCodes] = []
    lock = threading.Lock()

    def shares() -> ShareCodes:
        if not built:
            with lock:
                if not built:
                    built.append(ShareCodes(platform.sessions, registry()))
        return built[0]

    app.extensions["edutrust.share_codes"] = shares
    app.register_blueprint(public_blueprint(
        shares,
        negotiate=lambda chosen: i18n.negotiate(chosen, list(request.accept_languages)),
        translator=i18n.translator, public_url=platform.settings.issuer))
