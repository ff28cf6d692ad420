"""Stateless client_credentials access tokens: issuing one writes nothing, and every way
of ending one (revocation, deleting or narrowing its client) or faking one (altered,
expired, signed for a client registered later) is refused by introspection, the records
API and the operator API alike."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from typing import Any

import requests
from sqlalchemy import event, func, select

from admin.rbac import OperatorClients
from crypto.jose import b64url_encode
from edutrust.app import create_app
from edutrust.platform import Platform
from idp.oauth2.clients import ClientRegistration, RegisteredClient
from idp.oauth2.models import IssuedToken, RevokedAccessToken
from tests.idp.provider.conftest import LiveIdp

ADMIN_CLIENTS = "/api/v1/admin/clients"


def _client(idp: LiveIdp, *scopes: str, operator: bool = False,
            alg: str | None = None) -> tuple[RegisteredClient, str]:
    client, secret = idp.register(grant_types=("client_credentials",), redirect_uris=(),
                                  scopes=scopes, access_token_alg=alg)
    assert secret is not None
    if operator:
        OperatorClients(idp.provider.directory.sessions).set(client.client_id, True)
    return client, secret


def _token(idp: LiveIdp, client: RegisteredClient, secret: str, scope: str) -> str:
    response = requests.post(idp.url("/oauth2/token"), auth=(client.client_id, secret),
                             data={"grant_type": "client_credentials", "scope": scope},
                             timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _introspect(idp: LiveIdp, client: RegisteredClient, secret: str,
                token: str) -> dict[str, Any]:
    response = requests.post(idp.url("/oauth2/introspect"), data={"token": token},
                             auth=(client.client_id, secret), timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _revoke(idp: LiveIdp, client: RegisteredClient, secret: str, token: str) -> None:
    response = requests.post(idp.url("/oauth2/revoke"), data={"token": token},
                             auth=(client.client_id, secret), timeout=30)
    assert response.status_code == 200, response.text


def _bearer(idp: LiveIdp, path: str, token: str) -> int:
    return requests.get(idp.url(path), headers={"Authorization": f"Bearer {token}"},
                        timeout=30).status_code


def _segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return value


def _claims(token: str) -> dict[str, Any]:
    return _segment(token, 1)


def test_issuing_a_client_credentials_jwt_stores_nothing(live_idp: LiveIdp) -> None:
    client, secret = _client(live_idp, "records:verify", alg="ES256")
    token = _token(live_idp, client, secret, "records:verify")
    with live_idp.platform.sessions() as session:
        assert session.scalar(select(func.count()).select_from(IssuedToken)
                              .where(IssuedToken.client_id == client.client_id)) == 0
    body = _introspect(live_idp, client, secret, token)
    claims = _claims(token)
    assert body["active"] is True and body["jti"] == claims["jti"]
    assert body["sub"] == body["client_id"] == client.client_id
    assert body["scope"] == "records:verify" and body["aud"] == live_idp.base
    assert (body["iat"], body["exp"]) == (claims["iat"], claims["exp"])


def test_a_revoked_stateless_token_is_refused_everywhere_until_it_expires(
        live_idp: LiveIdp) -> None:
    client, secret = _client(live_idp, "edutrust:admin", "records:verify", operator=True)
    token = _token(live_idp, client, secret, "edutrust:admin records:verify")
    other = _token(live_idp, client, secret, "edutrust:admin records:verify")
    assert _bearer(live_idp, ADMIN_CLIENTS, token) == 200
    assert _bearer(live_idp, "/api/v1/records", token) != 401

    # Another client cannot revoke it (RFC 7009 2.1), and learns nothing from trying.
    stranger, stranger_secret = _client(live_idp, "records:verify")
    _revoke(live_idp, stranger, stranger_secret, token)
    assert _introspect(live_idp, client, secret, token)["active"] is True

    _revoke(live_idp, client, secret, token)
    _revoke(live_idp, client, secret, token)  # again: still a plain 200
    assert _introspect(live_idp, client, secret, token) == {"active": False}
    assert _bearer(live_idp, ADMIN_CLIENTS, token) == 401
    assert _bearer(live_idp, "/api/v1/records", token) == 401
    assert live_idp.provider.tokens.active_access_token(token) is None
    with live_idp.platform.sessions() as session:
        denied = session.get(RevokedAccessToken, _claims(token)["jti"])
        assert denied is not None and denied.client_id == client.client_id
        assert int(denied.expires_at.replace(tzinfo=dt.UTC).timestamp()) == _claims(token)["exp"]
    # Only that token: the client's other token still works.
    assert _bearer(live_idp, ADMIN_CLIENTS, other) == 200


def test_tokens_of_a_deleted_client_stop_working(live_idp: LiveIdp) -> None:
    client, secret = _client(live_idp, "edutrust:admin", "records:verify", operator=True)
    token = _token(live_idp, client, secret, "edutrust:admin records:verify")
    assert _bearer(live_idp, ADMIN_CLIENTS, token) == 200
    assert live_idp.provider.clients.remove(client.client_id)
    assert _bearer(live_idp, ADMIN_CLIENTS, token) == 401
    assert _bearer(live_idp, "/api/v1/records", token) == 401
    assert live_idp.provider.tokens.active_access_token(token) is None


def test_a_client_narrowed_after_issue_keeps_only_its_registered_scopes(
        live_idp: LiveIdp) -> None:
    client, secret = _client(live_idp, "edutrust:admin", "records:verify", operator=True)
    token = _token(live_idp, client, secret, "edutrust:admin records:verify")
    registry = live_idp.provider.clients
    registry.update(client.client_id, ClientRegistration(
        name=client.name, grant_types=("client_credentials",), scopes=("records:verify",)))
    found = live_idp.provider.tokens.active_access_token(token)
    assert found is not None and found[0].row.scope == "records:verify"
    assert _bearer(live_idp, ADMIN_CLIENTS, token) == 403  # the admin scope no longer counts
    assert _introspect(live_idp, client, secret, token)["scope"] == "records:verify"
    # A client that may no longer use client_credentials has no live tokens of its own.
    registry.update(client.client_id, ClientRegistration(
        name=client.name, grant_types=("authorization_code",),
        redirect_uris=("https://rp.example/cb",), scopes=("records:verify",)))
    assert live_idp.provider.tokens.active_access_token(token) is None


def test_forged_expired_and_misdated_stateless_tokens_are_refused(live_idp: LiveIdp) -> None:
    client, secret = _client(live_idp, "edutrust:admin", operator=True)
    token = _token(live_idp, client, secret, "edutrust:admin")
    header, claims = _segment(token, 0), _claims(token)
    signing = live_idp.provider.signing
    signature = token.split(".")[2]
    altered = ".".join([token.split(".")[0],
                        b64url_encode(json.dumps({**claims, "client_id": "someone-else"})
                                      .encode()), signature])
    unsigned = ".".join([b64url_encode(json.dumps({**header, "alg": "none"}).encode()),
                         token.split(".")[1], ""])
    now = int(dt.datetime.now(dt.UTC).timestamp())
    expired = signing.sign({**claims, "iat": now - 3600, "exp": now - 60}, alg="SM2",
                           typ="at+jwt")
    # Validly signed, but dated before its client was registered (an id reused by a
    # client registered later must not inherit tokens).
    before_client = signing.sign({**claims, "iat": now - 86400, "exp": now + 600},
                                 alg="SM2", typ="at+jwt")
    # A person's token is never stateless: without its stored row it is refused.
    as_person = signing.sign({**claims, "auth_time": now - 10}, alg="SM2", typ="at+jwt")
    wrong_type = signing.sign(claims, alg="SM2", typ="JWT")
    foreign = signing.sign({**claims, "iss": "https://elsewhere.example"}, alg="SM2",
                           typ="at+jwt")
    for forged in (altered, unsigned, expired, before_client, as_person, wrong_type, foreign):
        assert _introspect(live_idp, client, secret, forged) == {"active": False}
        assert _bearer(live_idp, ADMIN_CLIENTS, forged) == 401
        assert live_idp.provider.tokens.active_access_token(forged) is None
    # Revoking a forged token writes nothing.
    _revoke(live_idp, client, secret, altered)
    with live_idp.platform.sessions() as session:
        assert session.get(RevokedAccessToken, claims["jti"]) is None
    assert _bearer(live_idp, ADMIN_CLIENTS, token) == 200


def test_the_token_endpoint_writes_nothing_to_the_database(platform: Platform) -> None:
    app = create_app(platform)
    provider = app.extensions["edutrust.idp"]()
    client, secret = provider.clients.register(ClientRegistration(
        name="No writes", grant_types=("client_credentials",), scopes=("records:verify",)))
    assert secret is not None
    http = app.test_client()

    def token() -> int:
        return http.post("/oauth2/token", auth=(client.client_id, secret),
                         data={"grant_type": "client_credentials",
                               "scope": "records:verify"}).status_code

    assert token() == 200  # the first one may start the worker's background purge
    schedule = provider.purge_schedule
    assert schedule is not None
    schedule.wait(30)
    me = threading.get_ident()
    written: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == me and not statement.lstrip().upper().startswith(
                ("SELECT", "PRAGMA")):
            written.append(statement)

    event.listen(platform.engine, "before_cursor_execute", record)
    try:
        assert [token() for _ in range(3)] == [200, 200, 200]
    finally:
        event.remove(platform.engine, "before_cursor_execute", record)
    assert written == []
