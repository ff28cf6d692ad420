"""Dynamic client registration (RFC 7591) and management (RFC 7592) against the live
server: initial access tokens from the CLI, registration, metadata errors, and
read/replace/delete with the registration access token."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import cli_env, run_cli
from tests.idp.provider.conftest import Browser, LiveIdp, query_of

REDIRECT = "https://dyn.example/cb"


def initial_token(idp: LiveIdp) -> str:
    registration = idp.provider.registration
    assert registration is not None
    return registration.issue_initial_token(600)


def register(idp: LiveIdp, token: str | None, metadata: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(idp.url("/oauth2/register"), json=metadata, headers=headers,
                         timeout=10)


def test_cli_initial_token_registers_a_client_that_can_log_in(live_idp: LiveIdp) -> None:
    minted = run_cli("clients", "initial-token", "--ttl", "300",
                     env=cli_env(live_idp.settings, EDUTRUST_ISSUER=live_idp.base))
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.decode().strip()
    response = register(live_idp, token, {
        "client_name": "Dynamic RP", "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "id_token_signed_response_alg": "ES256"})
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["client_secret"] and body["registration_access_token"]
    assert body["registration_client_uri"] == live_idp.url(
        f"/oauth2/register/{body['client_id']}")
    assert body["redirect_uris"] == [REDIRECT]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["id_token_signed_response_alg"] == "ES256"
    client = live_idp.provider.clients.find(body["client_id"])
    assert client is not None and client.check_client_secret(body["client_secret"])
    callback = Browser(live_idp.base).authorize(
        live_idp.url("/oauth2/authorize?response_type=code&scope=openid"
                     f"&client_id={body['client_id']}&redirect_uri={REDIRECT}"
                     "&state=s1&code_challenge_method=S256"
                     "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        REDIRECT)
    assert "code" in query_of(callback)
    again = register(live_idp, token, {"redirect_uris": [REDIRECT]})
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"


def test_registration_without_a_valid_initial_token_is_refused(live_idp: LiveIdp) -> None:
    for token in (None, "not-a-token"):
        response = register(live_idp, token, {"redirect_uris": [REDIRECT]})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_bad_metadata_gets_rfc7591_errors_and_keeps_the_token(live_idp: LiveIdp) -> None:
    token = initial_token(live_idp)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"redirect_uris": ["http://dyn.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://dyn.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": "https://dyn.example/cb"}, "invalid_redirect_uri"),
        ({}, "invalid_redirect_uri"),
        ({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "tls_client_auth"},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT], "grant_types": ["implicit"]},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT], "response_types": ["token"]},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT], "id_token_signed_response_alg": "HS256"},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt",
          "jwks": {"keys": []}}, "invalid_client_metadata"),
    ]
    for metadata, error in cases:
        response = register(live_idp, token, metadata)
        assert response.status_code == 400, (metadata, response.text)
        assert response.json()["error"] == error, (metadata, response.text)
    # Refused metadata does not spend the one-time token.
    assert register(live_idp, token, {"redirect_uris": [REDIRECT]}).status_code == 201


def test_registration_access_token_reads_replaces_and_deletes(live_idp: LiveIdp) -> None:
    created = register(live_idp, initial_token(live_idp), {
        "client_name": "Managed RP", "redirect_uris": [REDIRECT]}).json()
    uri = created["registration_client_uri"]
    auth = {"Authorization": f"Bearer {created['registration_access_token']}"}
    read = requests.get(uri, headers=auth, timeout=10)
    assert read.status_code == 200 and read.json()["client_name"] == "Managed RP"
    assert "client_secret" not in read.json()
    assert requests.get(uri, headers={"Authorization": "Bearer wrong"},
                        timeout=10).status_code == 401
    other = register(live_idp, initial_token(live_idp), {"redirect_uris": [REDIRECT]}).json()
    assert requests.get(other["registration_client_uri"], headers=auth,
                        timeout=10).status_code == 401

    replaced = requests.put(uri, headers=auth, timeout=10, json={
        "client_id": created["client_id"], "client_name": "Renamed RP",
        "redirect_uris": ["https://dyn.example/other"],
        "id_token_signed_response_alg": "SM2"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["client_name"] == "Renamed RP"
    assert replaced.json()["redirect_uris"] == ["https://dyn.example/other"]
    client = live_idp.provider.clients.find(created["client_id"])
    assert client is not None and client.id_token_signed_response_alg == "SM2"
    assert client.check_client_secret(created["client_secret"])
    bad = requests.put(uri, headers=auth, timeout=10, json={
        "client_id": created["client_id"], "redirect_uris": ["ftp://dyn.example/x"]})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_redirect_uri"
    wrong_id = requests.put(uri, headers=auth, timeout=10, json={
        "client_id": other["client_id"], "redirect_uris": [REDIRECT]})
    assert wrong_id.status_code == 400

    assert requests.delete(uri, headers=auth, timeout=10).status_code == 204
    assert live_idp.provider.clients.find(created["client_id"]) is None
    assert requests.get(uri, headers=auth, timeout=10).status_code == 401


def test_discovery_advertises_the_registration_endpoint(live_idp: LiveIdp) -> None:
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        document = requests.get(live_idp.url(path), timeout=10).json()
        assert document["registration_endpoint"] == live_idp.url("/oauth2/register")


def test_a_client_cannot_grant_itself_records_or_operator_scopes(live_idp: LiveIdp) -> None:
    for scope in ("openid records:submit", "records:review", "openid edutrust:admin"):
        refused = register(live_idp, initial_token(live_idp), {
            "client_name": "Greedy RP", "redirect_uris": [REDIRECT], "scope": scope})
        assert refused.status_code == 400, scope
        assert refused.json()["error"] == "invalid_client_metadata"

    created = register(live_idp, initial_token(live_idp), {
        "client_name": "Modest RP", "redirect_uris": [REDIRECT],
        "scope": "openid records:verify"}).json()
    uri = created["registration_client_uri"]
    auth = {"Authorization": f"Bearer {created['registration_access_token']}"}
    widened = requests.put(uri, headers=auth, timeout=10, json={
        "client_id": created["client_id"], "redirect_uris": [REDIRECT],
        "scope": "openid records:verify records:submit"})
    assert widened.status_code == 400
    assert widened.json()["error"] == "invalid_client_metadata"
    client = live_idp.provider.clients.find(created["client_id"])
    assert client is not None and "records:submit" not in client.scopes
    kept = requests.put(uri, headers=auth, timeout=10, json={
        "client_id": created["client_id"], "redirect_uris": [REDIRECT],
        "scope": "openid records:verify"})
    assert kept.status_code == 200, kept.text
