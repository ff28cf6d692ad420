"""Pushed Authorization Requests (RFC 9126) against the live server: full logins through
PAR with a client secret and with private_key_jwt (SM2 and ES256 keys), and the ways a
request_uri must not work."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from sqlalchemy import update

from idp.oauth2.clients import RegisteredClient
from idp.oauth2.rfc9126 import REQUEST_URI_PREFIX, PushedAuthorizationRequest
from tests.idp.provider.conftest import Browser, LiveIdp, pkce_pair, query_of
from tests.idp.provider.test_private_key_jwt import ClientKey, register_with_key, rp_session

REDIRECT = "https://rp.example/cb"


def authorization_params(client: RegisteredClient, challenge: str,
                         **extra: str) -> dict[str, str]:
    return {"response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT,
            "scope": "openid profile", "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
            "code_challenge_method": "S256", **extra}


def push(idp: LiveIdp, params: dict[str, str], auth: Any = None,
         extra_form: dict[str, str] | None = None) -> requests.Response:
    return requests.post(idp.url("/oauth2/par"), data={**params, **(extra_form or {})},
                         auth=auth, timeout=10)


def authorize_url(idp: LiveIdp, client: RegisteredClient, request_uri: str) -> str:
    return idp.url("/oauth2/authorize?" + urlencode({"client_id": client.client_id,
                                                     "request_uri": request_uri}))


def pushed_uri(idp: LiveIdp, client: RegisteredClient, secret: str) -> str:
    _verifier, challenge = pkce_pair()
    response = push(idp, authorization_params(client, challenge),
                    auth=(client.client_id, secret))
    assert response.status_code == 201, response.text
    request_uri: str = response.json()["request_uri"]
    return request_uri


def test_login_through_par_with_a_client_secret(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    assert secret is not None
    verifier, challenge = pkce_pair()
    params = authorization_params(client, challenge)
    response = push(live_idp, params, auth=(client.client_id, secret))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["request_uri"].startswith(REQUEST_URI_PREFIX) and body["expires_in"] == 60
    assert response.headers["Cache-Control"] == "no-store"
    callback = Browser(live_idp.base).authorize(
        authorize_url(live_idp, client, body["request_uri"]), REDIRECT)
    answer = query_of(callback)
    assert answer["state"] == params["state"] and answer["iss"] == live_idp.base
    rp = OAuth2Session(client.client_id, secret, redirect_uri=REDIRECT,
                       token_endpoint_auth_method="client_secret_basic")
    token = rp.fetch_token(live_idp.url("/oauth2/token"), authorization_response=callback,
                           code_verifier=verifier)
    assert token["access_token"] and token["id_token"]


@pytest.mark.parametrize("alg", ["SM2", "ES256"])
def test_login_through_par_with_private_key_jwt(live_idp: LiveIdp, alg: str) -> None:
    key = ClientKey.generate(alg)
    client = register_with_key(live_idp, key)
    verifier, challenge = pkce_pair()
    # RFC 9126 2: the PAR endpoint URL is an accepted audience too.
    response = push(live_idp, authorization_params(client, challenge),
                    extra_form=key.form(client.client_id, live_idp.url("/oauth2/par")))
    assert response.status_code == 201, response.text
    callback = Browser(live_idp.base).authorize(
        authorize_url(live_idp, client, response.json()["request_uri"]), REDIRECT)
    rp = rp_session(live_idp, client, key)
    token = rp.fetch_token(live_idp.url("/oauth2/token"), authorization_response=callback,
                           code_verifier=verifier)
    assert token["access_token"] and token["id_token"]


def test_par_requires_client_authentication(live_idp: LiveIdp) -> None:
    client, _secret = live_idp.register()
    _verifier, challenge = pkce_pair()
    wrong = push(live_idp, authorization_params(client, challenge),
                 auth=(client.client_id, "not-the-secret"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    anonymous = push(live_idp, authorization_params(client, challenge))
    assert anonymous.status_code in (400, 401)
    assert anonymous.json()["error"] == "invalid_client"


@pytest.mark.parametrize(("change", "error"), [
    ({"redirect_uri": "https://rp.example/cb/evil"}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "openid root"}, "invalid_scope"),
    ({"request_uri": REQUEST_URI_PREFIX + "nested"}, "invalid_request"),
])
def test_par_validates_like_the_authorization_endpoint(live_idp: LiveIdp,
                                                        change: dict[str, str],
                                                        error: str) -> None:
    client, secret = live_idp.register()
    _verifier, challenge = pkce_pair()
    response = push(live_idp, {**authorization_params(client, challenge), **change},
                    auth=(client.client_id, secret))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert "Location" not in response.headers


def test_par_refuses_a_client_id_that_is_not_the_authenticated_client(
        live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    other, _ = live_idp.register()
    _verifier, challenge = pkce_pair()
    params = {**authorization_params(client, challenge), "client_id": other.client_id}
    response = push(live_idp, params, auth=(client.client_id, secret))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_request_uri_works_only_once(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    assert secret is not None
    request_uri = pushed_uri(live_idp, client, secret)
    browser = Browser(live_idp.base)
    first = browser.get(authorize_url(live_idp, client, request_uri))
    assert first.status_code in (302, 303)  # on to the login page
    again = browser.get(authorize_url(live_idp, client, request_uri))
    assert again.status_code == 400 and "invalid_request_uri" in again.text


def test_expired_request_uri_is_refused(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    assert secret is not None
    request_uri = pushed_uri(live_idp, client, secret)
    # Age every pushed request of this client past its lifetime.
    with live_idp.platform.sessions.begin() as session:
        session.execute(update(PushedAuthorizationRequest)
                        .where(PushedAuthorizationRequest.client_id == client.client_id)
                        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    response = Browser(live_idp.base).get(authorize_url(live_idp, client, request_uri))
    assert response.status_code == 400 and "invalid_request_uri" in response.text


def test_request_uri_of_another_client_is_refused(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    thief, _ = live_idp.register()
    assert secret is not None
    request_uri = pushed_uri(live_idp, client, secret)
    stolen = Browser(live_idp.base).get(authorize_url(live_idp, thief, request_uri))
    assert stolen.status_code == 400 and "invalid_request_uri" in stolen.text
    # The failed attempt did not consume it: the rightful client still can use it.
    own = Browser(live_idp.base).get(authorize_url(live_idp, client, request_uri))
    assert own.status_code in (302, 303)


def test_parameters_beside_request_uri_are_ignored(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(redirect_uris=(REDIRECT, "https://rp.example/other"))
    assert secret is not None
    request_uri = pushed_uri(live_idp, client, secret)
    url = authorize_url(live_idp, client, request_uri) + "&" + urlencode(
        {"redirect_uri": "https://rp.example/other", "scope": "openid email"})
    callback = Browser(live_idp.base).authorize(url, "https://rp.example/")
    assert callback.startswith(REDIRECT + "?")


def test_client_that_requires_par_is_refused_a_plain_request(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(require_par=True)
    assert secret is not None and client.require_par
    _verifier, challenge = pkce_pair()
    plain = Browser(live_idp.base).get(
        live_idp.url("/oauth2/authorize?" + urlencode(authorization_params(client, challenge))))
    assert plain.status_code == 302
    answer = query_of(plain.headers["Location"])
    assert answer["error"] == "invalid_request"
    # Through PAR the same client gets in.
    callback = Browser(live_idp.base).authorize(
        authorize_url(live_idp, client, pushed_uri(live_idp, client, secret)), REDIRECT)
    assert "code" in query_of(callback)


def test_discovery_names_the_par_endpoint(live_idp: LiveIdp) -> None:
    document = requests.get(live_idp.url("/.well-known/openid-configuration"),
                            timeout=10).json()
    assert document["pushed_authorization_request_endpoint"] == live_idp.url("/oauth2/par")
    assert document["require_pushed_authorization_requests"] is False
