"""The token endpoint's lean client_credentials path (idp.oauth2.client_credentials_endpoint):
every request of a matrix gets the same answer from the app with the lean path as from
the app without it (Flask and Authlib only); the lean path answers the requests it
understands and hands every other one over; nothing gets a token past a check; and a
client's deletion, new secret or lost grant counts on the very next request in every
app instance (worker) sharing the database."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import requests
from flask import Flask
from werkzeug.test import TestResponse

from edutrust.app import create_app
from edutrust.platform import Platform, initialise
from edutrust.settings import Settings
from idp.oauth2.clients import ClientRegistration, RegisteredClient
from idp.oauth2.server import EduTrustAuthorizationServer, Provider
from tests.conftest import REDIS_URL, scratch_database
from tests.idp.provider.conftest import LiveIdp

ISSUER = "http://127.0.0.1:8000"
TOKEN = "/oauth2/token"
FORM = "application/x-www-form-urlencoded"
RECORDS_API = ISSUER + "/api/v1"
OTHER_API = "https://api.example/grades"
# Compared between the two paths (X-Request-ID is new per request, checked apart).
HEADERS = ("Content-Type", "Cache-Control", "Pragma", "WWW-Authenticate",
           "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Content-Language")


@dataclass
class Clients:
    basic: tuple[RegisteredClient, str]      # ES256, client_secret_basic
    post: tuple[RegisteredClient, str]       # SM2, client_secret_post, an explicit scope
    defaults: tuple[RegisteredClient, str]   # registered without a scope list
    opaque: tuple[RegisteredClient, str]     # opaque (stored) access tokens
    code_only: tuple[RegisteredClient, str]  # confidential, no client_credentials
    public: RegisteredClient


@dataclass
class Apps:
    platform: Platform
    lean: Flask
    full: Flask
    clients: Clients
    full_path_calls: list[int] = field(default_factory=lambda: [0])

    @property
    def provider(self) -> Provider:
        provider: Provider = self.lean.extensions["edutrust.idp"]()
        return provider


def _register(provider: Provider, **fields: Any) -> tuple[RegisteredClient, str]:
    client, secret = provider.clients.register(ClientRegistration(
        name="Lean " + fields.get("access_token_alg", "default"),
        **{"grant_types": ("client_credentials",), **fields}))
    assert secret is not None
    return client, secret


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    tmp = tmp_path_factory.mktemp("lean")
    with scratch_database(tmp) as url:
        settings = Settings(home=tmp / "home", database_url=url, redis_url=REDIS_URL,
                            issuer=ISSUER, master_key_b64=None, lang="en",
                            log_level="WARNING")
        platform = initialise(settings, lambda key, **values: None)
        try:
            lean, full = create_app(platform), create_app(platform, lean_token_endpoint=False)
            provider: Provider = lean.extensions["edutrust.idp"]()
            provider.resource_servers.register(OTHER_API, "Grades")
            public, _ = provider.clients.register(ClientRegistration(
                name="Public", grant_types=("authorization_code",), public=True,
                redirect_uris=("https://rp.example/cb",)))
            clients = Clients(
                basic=_register(provider, scopes=("records:verify", "openid"),
                                access_token_alg="ES256"),
                post=_register(provider, scopes=("records:verify", "records:submit"),
                               token_endpoint_auth_method="client_secret_post"),
                defaults=_register(provider, access_token_alg="ES256"),
                opaque=_register(provider, scopes=("records:verify",),
                                 access_token_format="opaque"),
                code_only=_register(provider, grant_types=("authorization_code",),
                                    redirect_uris=("https://rp.example/cb",)),
                public=public)
            yield Apps(platform, lean, full, clients)
        finally:
            platform.engine.dispose()


@pytest.fixture(autouse=True)
def count_full_path(apps: Apps, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts the token requests that reach Authlib (the full path)."""
    original = EduTrustAuthorizationServer.create_token_response

    def counted(self: EduTrustAuthorizationServer, *args: Any, **kwargs: Any) -> Any:
        apps.full_path_calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(EduTrustAuthorizationServer, "create_token_response", counted)


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _form(*pairs: tuple[str, str]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def _send(app: Flask, request: dict[str, Any]) -> TestResponse:
    http = app.test_client()
    return http.open(TOKEN, method=request.get("method", "POST"),
                     data=request.get("data", ""), headers=request.get("headers", {}),
                     content_type=request.get("content_type", FORM),
                     query_string=request.get("query"))


def _segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return value


def _comparable(response: TestResponse) -> tuple[Any, ...]:
    """Status, headers and body, with a JWT access token as its header and its claims
    minus what differs per issue (jti, iat, exp, nbf)."""
    body: Any = response.get_json(silent=True)
    if body is None:
        body = response.get_data(as_text=True)
    elif "request_id" in body:  # a problem document names its request (new every time)
        body = {k: v for k, v in body.items() if k != "request_id"}
    elif isinstance(body, dict) and isinstance(body.get("access_token"), str):
        token = body["access_token"]
        if token.count(".") == 2:
            claims = _segment(token, 1)
            assert claims["exp"] - claims["iat"] == body["expires_in"]
            body = {**body, "access_token": (_segment(token, 0), {
                k: v for k, v in claims.items() if k not in ("jti", "iat", "exp", "nbf")})}
        else:
            body = {**body, "access_token": "opaque"}
    headers = {name: response.headers.get(name) for name in HEADERS}
    return response.status_code, headers, body


def _matrix(c: Clients) -> dict[str, dict[str, Any]]:
    basic_id, basic_secret = c.basic[0].client_id, c.basic[1]
    post_id, post_secret = c.post[0].client_id, c.post[1]
    cc = ("grant_type", "client_credentials")

    def basic(*pairs: tuple[str, str], **extra: Any) -> dict[str, Any]:
        return {"data": _form(cc, *pairs), "headers": _basic(basic_id, basic_secret), **extra}

    def post(*pairs: tuple[str, str], **extra: Any) -> dict[str, Any]:
        return {"data": _form(cc, ("client_id", post_id), ("client_secret", post_secret),
                              *pairs), **extra}

    return {
        # answered by the lean path
        "valid basic": basic(("scope", "records:verify")),
        "valid basic, no scope": basic(),
        "valid basic, a scope it lacks": basic(("scope", "records:verify profile")),
        "valid post": post(("scope", "records:verify records:submit")),
        "valid, default client asks an explicit scope": {
            "data": _form(cc, ("scope", "records:submit records:verify")),
            "headers": _basic(c.defaults[0].client_id, c.defaults[1])},
        "valid resource": basic(("resource", RECORDS_API)),
        "valid two resources": basic(("resource", RECORDS_API), ("resource", OTHER_API)),
        "valid, charset in content type": basic(
            content_type="application/x-www-form-urlencoded; charset=UTF-8"),
        "valid, content type in capitals": basic(
            content_type="APPLICATION/X-WWW-FORM-URLENCODED"),
        "valid, percent-encoded names": {
            "data": "grant%5Ftype=client%5Fcredentials&scope=records%3Averify",
            "headers": _basic(basic_id, basic_secret)},
        # handed to the full path, which answers as before
        "wrong secret basic": {"data": _form(cc), "headers": _basic(basic_id, "wrong")},
        "wrong secret post": {"data": _form(cc, ("client_id", post_id),
                                            ("client_secret", "wrong"))},
        "another client's secret": {"data": _form(cc),
                                    "headers": _basic(basic_id, post_secret)},
        "unknown client basic": {"data": _form(cc), "headers": _basic("nobody", "x")},
        "unknown client post": {"data": _form(cc, ("client_id", "nobody"),
                                              ("client_secret", "x"))},
        "public client": {"data": _form(cc, ("client_id", c.public.client_id))},
        "public client, empty basic secret": {
            "data": _form(cc), "headers": _basic(c.public.client_id, "")},
        "client without the grant": {"data": _form(cc),
                                     "headers": _basic(c.code_only[0].client_id,
                                                       c.code_only[1])},
        "basic for a post client": {"data": _form(cc), "headers": _basic(post_id, post_secret)},
        "post for a basic client": {"data": _form(cc, ("client_id", basic_id),
                                                  ("client_secret", basic_secret))},
        "unknown scope": basic(("scope", "records:verify nope")),
        "resource not registered": basic(("resource", "https://unknown.example/api")),
        "resource with fragment": basic(("resource", RECORDS_API + "#x")),
        "relative resource": basic(("resource", "/api/v1")),
        "missing grant_type": {"data": _form(("scope", "records:verify")),
                               "headers": _basic(basic_id, basic_secret)},
        "other grant": {"data": _form(("grant_type", "authorization_code"), ("code", "x"),
                                      ("redirect_uri", "https://rp.example/cb")),
                        "headers": _basic(basic_id, basic_secret)},
        "basic and post credentials": basic(("client_id", basic_id),
                                            ("client_secret", basic_secret)),
        "duplicated scope": basic(("scope", "records:verify"), ("scope", "openid")),
        "duplicated grant_type": basic(cc),
        "blank scope": basic(("scope", "")),
        "unknown parameter": basic(("audience", "x")),
        "client assertion": basic(("client_assertion_type", "urn:ietf:params:oauth:"
                                   "client-assertion-type:jwt-bearer"),
                                  ("client_assertion", "a.b.c")),
        "opaque token client": {"data": _form(cc, ("scope", "records:verify")),
                                "headers": _basic(c.opaque[0].client_id, c.opaque[1])},
        "JSON body": {"data": json.dumps({"grant_type": "client_credentials"}),
                      "headers": _basic(basic_id, basic_secret),
                      "content_type": "application/json"},
        "GET": {"method": "GET", "headers": _basic(basic_id, basic_secret),
                "data": None, "query": {"grant_type": "client_credentials"}},
        "query string": basic(query={"scope": "openid"}),
        "oversized body": basic(("scope", "records:verify " + "x" * 5000)),
        "not UTF-8": {"data": b"grant_type=client_credentials&scope=%FF%FE",
                      "headers": _basic(basic_id, basic_secret)},
        "bearer header with post credentials": post(
            headers={"Authorization": "Bearer abc"}),
        "another charset": basic(
            content_type="application/x-www-form-urlencoded; charset=latin-1"),
        "multipart body": {"data": {"grant_type": "client_credentials"},
                           "headers": _basic(basic_id, basic_secret),
                           "content_type": "multipart/form-data"},
    }


LEAN = {"valid basic", "valid basic, no scope", "valid basic, a scope it lacks",
        "valid post", "valid, default client asks an explicit scope", "valid resource",
        "valid two resources", "valid, charset in content type",
        "valid, content type in capitals", "valid, percent-encoded names"}
# What no client gets a token for (the other requests are handed to the full path,
# which grants some of them, e.g. both Basic and body credentials of the same client).
REFUSED = ("wrong secret basic", "wrong secret post", "another client's secret",
           "unknown client basic", "unknown client post", "public client",
           "public client, empty basic secret", "client without the grant",
           "basic for a post client", "post for a basic client", "unknown scope",
           "resource not registered", "resource with fragment", "relative resource",
           "missing grant_type", "other grant", "JSON body", "GET", "oversized body",
           "not UTF-8")


def test_every_request_gets_the_same_answer_with_and_without_the_lean_path(
        apps: Apps) -> None:
    for name, request in _matrix(apps.clients).items():
        before = apps.full_path_calls[0]
        lean = _send(apps.lean, request)
        reached_full_path = apps.full_path_calls[0] > before
        full = _send(apps.full, request)
        assert _comparable(lean) == _comparable(full), name
        assert lean.headers["X-Request-ID"], name
        if name in LEAN:
            assert lean.status_code == 200 and not reached_full_path, name
        else:
            assert reached_full_path or request.get("method") == "GET", name


def test_tokens_carry_the_registered_algorithm_type_and_scopes_only(apps: Apps) -> None:
    (basic, secret), (post, post_secret) = apps.clients.basic, apps.clients.post
    response = _send(apps.lean, {"data": _form(("grant_type", "client_credentials"),
                                               ("scope", "records:verify profile"),
                                               ("resource", OTHER_API)),
                                 "headers": _basic(basic.client_id, secret)})
    token = response.get_json()
    header, claims = _segment(token["access_token"], 0), _segment(token["access_token"], 1)
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt" and header["kid"]
    assert (claims["sub"], claims["client_id"]) == (basic.client_id, basic.client_id)
    assert (claims["aud"], claims["scope"], token["scope"]) == (OTHER_API, "records:verify",
                                                               "records:verify")
    assert claims["exp"] - claims["iat"] == token["expires_in"] == 900
    sm2 = _send(apps.lean, {"data": _form(("grant_type", "client_credentials"),
                                          ("client_id", post.client_id),
                                          ("client_secret", post_secret))}).get_json()
    assert _segment(sm2["access_token"], 0)["alg"] == "SM2"
    assert _segment(sm2["access_token"], 1)["aud"] == ISSUER


def test_no_token_past_any_check(apps: Apps) -> None:
    """Each request differs from a valid one in one way; none gets a token, and an
    explicit scope a client is not registered for never appears in its token."""
    c = apps.clients
    matrix = _matrix(c)
    for name in REFUSED:
        response = _send(apps.lean, matrix[name])
        assert response.status_code in (400, 401, 405), name
        assert "access_token" not in response.get_data(as_text=True), name
    unknown = _send(apps.lean, _matrix(c)["unknown client basic"])
    assert unknown.status_code == 401 and unknown.headers["WWW-Authenticate"]
    assert unknown.get_json()["error"] == "invalid_client"
    assert _send(apps.lean, _matrix(c)["client without the grant"]).get_json()["error"] == (
        "unauthorized_client")
    assert _send(apps.lean, _matrix(c)["resource not registered"]).get_json()["error"] == (
        "invalid_target")
    granted = _send(apps.lean, _matrix(c)["valid, default client asks an explicit scope"])
    assert granted.get_json()["scope"] == "records:verify"


def test_the_lean_path_logs_the_request_without_credentials(
        apps: Apps, caplog: pytest.LogCaptureFixture) -> None:
    client, secret = apps.clients.basic
    with caplog.at_level(logging.INFO, logger="edutrust"):
        response = _send(apps.lean, {"data": _form(("grant_type", "client_credentials")),
                                     "headers": {**_basic(client.client_id, secret),
                                                 "X-Request-ID": "lean-test-0001"}})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "lean-test-0001"
    lines = [r for r in caplog.records if r.name == "edutrust.http"]
    assert [getattr(r, "fields", {}).get("status") for r in lines] == [200]
    assert lines[0].fields["path"] == TOKEN  # type: ignore[attr-defined]
    text = " ".join(str(r.__dict__) for r in caplog.records)
    assert secret not in text and response.get_json()["access_token"] not in text


def test_client_changes_count_at_once_in_every_app_sharing_the_database(
        apps: Apps) -> None:
    """Two app instances (two workers) keep their own built clients; a change made
    through a third party takes effect on the very next request in both."""
    other = create_app(apps.platform)
    registry = apps.provider.clients
    client, secret = _register(apps.provider, scopes=("records:verify", "openid"))

    def status(app: Flask, secret: str) -> int:
        return _send(app, {"data": _form(("grant_type", "client_credentials")),
                           "headers": _basic(client.client_id, secret)}).status_code

    assert [status(app, secret) for app in (apps.lean, other)] == [200, 200]
    new_secret = registry.new_secret(client.client_id)
    assert [status(app, secret) for app in (apps.lean, other)] == [401, 401]
    assert [status(app, new_secret) for app in (apps.lean, other)] == [200, 200]
    registry.update(client.client_id, ClientRegistration(
        name="Lean narrowed", grant_types=("authorization_code",),
        redirect_uris=("https://rp.example/cb",)))
    assert [status(app, new_secret) for app in (apps.lean, other)] == [400, 400]
    registry.update(client.client_id, ClientRegistration(
        name="Lean again", grant_types=("client_credentials",), scopes=("openid",)))
    assert [status(app, new_secret) for app in (apps.lean, other)] == [200, 200]
    registry.remove(client.client_id)
    assert [status(app, new_secret) for app in (apps.lean, other)] == [401, 401]


def test_client_changes_count_at_once_in_every_gunicorn_worker(live_idp: LiveIdp) -> None:
    """The live server runs two workers and each request opens a new connection, which
    the kernel hands to either worker: whichever served (and kept the client built)
    before a change must refuse after it. The test above proves the same with two app
    instances deterministically."""
    client, secret = live_idp.register(grant_types=("client_credentials",),
                                       redirect_uris=(), scopes=("records:verify",))
    assert secret is not None

    def statuses(secret: str) -> list[int]:
        return [requests.post(live_idp.url(TOKEN), auth=(client.client_id, secret),
                              data={"grant_type": "client_credentials"},
                              timeout=30).status_code for _ in range(8)]

    assert statuses(secret) == [200] * 8
    new_secret = live_idp.provider.clients.new_secret(client.client_id)
    assert statuses(secret) == [401] * 8
    assert statuses(new_secret) == [200] * 8
    live_idp.provider.clients.remove(client.client_id)
    assert statuses(new_secret) == [401] * 8
