"""Resource indicators (RFC 8707) against the live server: per-API audiences at the
authorization, PAR and token endpoints (authorization_code, refresh_token,
client_credentials), operator-registered resource servers, and every way an
unregistered or malformed resource must be refused with ``invalid_target``."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from crypto.jose import JWKSet, decode_jwt
from idp.oauth2 import ProviderError
from idp.oauth2.clients import RegisteredClient
from idp.oauth2.rfc8707 import resource_indicator_problem
from tests.conftest import cli_env, run_cli
from tests.idp.provider.conftest import Browser, LiveIdp, pkce_pair, query_of
from tests.idp.provider.test_par import authorization_params, push

REDIRECT = "https://rp.example/cb"


def jwks(idp: LiveIdp) -> JWKSet:
    return JWKSet.from_dict(requests.get(idp.url("/oauth2/jwks"), timeout=10).json())


def records_api(idp: LiveIdp) -> str:
    return idp.base + "/api/v1"


def access_claims(idp: LiveIdp, token: str, audience: str) -> dict[str, Any]:
    return decode_jwt(token, jwks(idp), algorithms=["SM2"], audience=audience,
                      issuer=idp.base, typ="at+jwt")


def code_url(idp: LiveIdp, client: RegisteredClient, secret: str | None,
             resources: list[str]) -> tuple[OAuth2Session, str, str, str]:
    rp = OAuth2Session(client.client_id, secret, scope="openid profile",
                       redirect_uri=REDIRECT, code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(idp.url("/oauth2/authorize"),
                                             code_verifier=verifier)
    for resource in resources:
        url += "&resource=" + requests.utils.quote(resource, safe="")
    return rp, url, verifier, state


def token_request(idp: LiveIdp, client: RegisteredClient, secret: str,
                  data: dict[str, Any]) -> requests.Response:
    return requests.post(idp.url("/oauth2/token"), data=data, timeout=10,
                         auth=(client.client_id, secret))


def register_resource(idp: LiveIdp, identifier: str) -> None:
    result = run_cli("clients", "resource-create", "--identifier", identifier,
                     "--name", "Timetable API", "--scope", "timetable:read",
                     env=cli_env(idp.settings, EDUTRUST_ISSUER=idp.base))
    assert result.returncode == 0, result.stderr.decode()
    document = json.loads(result.stdout)
    assert document == {"identifier": identifier, "name": "Timetable API",
                        "scopes": ["timetable:read"], "built_in": False}


def test_resource_indicator_shapes() -> None:
    assert resource_indicator_problem("https://api.example/v1") is None
    assert resource_indicator_problem("urn:example:api") is None
    for bad in ("", "/relative", "https://api.example/v1#frag", "https://a b", "api"):
        assert resource_indicator_problem(bad) is not None, bad


def test_code_flow_with_resources_gives_audience_bound_access_tokens(live_idp: LiveIdp) -> None:
    timetable = f"https://timetable-{uuid.uuid4().hex[:6]}.example/api"
    register_resource(live_idp, timetable)
    listed = run_cli("clients", "resource-list",
                     env=cli_env(live_idp.settings, EDUTRUST_ISSUER=live_idp.base))
    identifiers = [entry["identifier"] for entry in json.loads(listed.stdout)]
    assert {live_idp.base, records_api(live_idp), timetable} <= set(identifiers)
    client, secret = live_idp.register(first_party=True)
    assert secret is not None
    rp, url, verifier, _state = code_url(live_idp, client, secret,
                                         [records_api(live_idp), timetable])
    callback = Browser(live_idp.base).authorize(url, REDIRECT)
    # Narrowed at the token endpoint to one of the granted resources.
    answer = token_request(live_idp, client, secret, {
        "grant_type": "authorization_code", "code": query_of(callback)["code"],
        "redirect_uri": REDIRECT, "code_verifier": verifier,
        "resource": records_api(live_idp)})
    assert answer.status_code == 200, answer.text
    token = answer.json()
    claims = access_claims(live_idp, token["access_token"], records_api(live_idp))
    assert claims["aud"] == records_api(live_idp)
    introspected = rp.introspect_token(live_idp.url("/oauth2/introspect"),
                                       token=token["access_token"]).json()
    assert introspected["active"] is True and introspected["aud"] == records_api(live_idp)
    # A token for the records API is not a token for UserInfo (the issuer).
    info = requests.get(live_idp.url("/oauth2/userinfo"), timeout=10,
                        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 401
    # Refresh without resource: every granted resource; with one outside the grant: refused.
    both = token_request(live_idp, client, secret, {
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"]}).json()
    assert set(access_claims(live_idp, both["access_token"], timetable)["aud"]) == {
        records_api(live_idp), timetable}
    outside = token_request(live_idp, client, secret, {
        "grant_type": "refresh_token", "refresh_token": both["refresh_token"],
        "resource": live_idp.base})
    assert outside.status_code == 400 and outside.json()["error"] == "invalid_target"


def test_without_resource_the_audience_stays_the_issuer(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(first_party=True)
    assert secret is not None
    _rp, url, verifier, _state = code_url(live_idp, client, secret, [])
    callback = Browser(live_idp.base).authorize(url, REDIRECT)
    token = token_request(live_idp, client, secret, {
        "grant_type": "authorization_code", "code": query_of(callback)["code"],
        "redirect_uri": REDIRECT, "code_verifier": verifier}).json()
    assert access_claims(live_idp, token["access_token"], live_idp.base)["aud"] == \
        live_idp.base


@pytest.mark.parametrize("resource", ["https://unregistered.example/api",
                                      "RECORDS#fragment", "relative/path"])
def test_unregistered_or_malformed_resource_is_invalid_target_everywhere(
        live_idp: LiveIdp, resource: str) -> None:
    resource = resource.replace("RECORDS", records_api(live_idp))
    client, secret = live_idp.register(
        grant_types=("authorization_code", "refresh_token", "client_credentials"))
    assert secret is not None
    _rp, url, _verifier, state = code_url(live_idp, client, secret, [resource])
    response = requests.get(url, allow_redirects=False, timeout=10)
    answer = query_of(response.headers["Location"])
    assert answer["error"] == "invalid_target" and answer["state"] == state
    assert "code" not in answer
    pushed = push(live_idp, authorization_params(client, "x" * 43, resource=resource),
                  auth=(client.client_id, secret))
    assert pushed.status_code == 400 and pushed.json()["error"] == "invalid_target"
    service = token_request(live_idp, client, secret, {
        "grant_type": "client_credentials", "scope": "profile", "resource": resource})
    assert service.status_code == 400 and service.json()["error"] == "invalid_target"


def test_client_credentials_and_par_carry_resources(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(
        first_party=True,
        grant_types=("authorization_code", "refresh_token", "client_credentials"))
    assert secret is not None
    service = token_request(live_idp, client, secret, {
        "grant_type": "client_credentials", "scope": "profile",
        "resource": records_api(live_idp)})
    assert service.status_code == 200, service.text
    claims = access_claims(live_idp, service.json()["access_token"], records_api(live_idp))
    assert claims["aud"] == records_api(live_idp) and claims["sub"] == client.client_id
    # The records API accepts tokens whose aud names it (TokenService.active_access_token).
    assert live_idp.provider.tokens.active_access_token(
        service.json()["access_token"], [live_idp.base, records_api(live_idp)]) is not None
    assert live_idp.provider.tokens.active_access_token(
        service.json()["access_token"]) is None  # not for the issuer's own endpoints

    verifier, challenge = pkce_pair()
    params = authorization_params(client, challenge, resource=records_api(live_idp))
    pushed = push(live_idp, params, auth=(client.client_id, secret))
    assert pushed.status_code == 201, pushed.text
    authorize = live_idp.url("/oauth2/authorize?client_id=" + client.client_id
                             + "&request_uri="
                             + requests.utils.quote(pushed.json()["request_uri"], safe=""))
    callback = Browser(live_idp.base).authorize(authorize, REDIRECT)
    token = token_request(live_idp, client, secret, {
        "grant_type": "authorization_code", "code": query_of(callback)["code"],
        "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert token.status_code == 200, token.text
    assert access_claims(live_idp, token.json()["access_token"],
                         records_api(live_idp))["aud"] == records_api(live_idp)


def test_malformed_or_duplicate_resource_servers_are_refused(live_idp: LiveIdp) -> None:
    servers = live_idp.provider.resource_servers
    for bad in ("https://x.example/#f", "relative", "https://" + "a" * 250 + ".example"):
        with pytest.raises(ProviderError):
            servers.register(bad, "X")
    taken = run_cli("clients", "resource-create", "--identifier", live_idp.base + "/api/v1",
                    "--name", "Again", env=cli_env(live_idp.settings,
                                                   EDUTRUST_ISSUER=live_idp.base))
    assert taken.returncode == 2 and taken.stdout == b""
    assert b"already registered" in taken.stderr


def test_opaque_tokens_keep_their_audience_too(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(grant_types=("client_credentials",), redirect_uris=(),
                                       access_token_format="opaque", scopes=("profile",))
    assert secret is not None
    answer = token_request(live_idp, client, secret, {
        "grant_type": "client_credentials", "resource": records_api(live_idp)})
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    assert token.count(".") == 0
    tokens = live_idp.provider.tokens
    assert tokens.active_access_token(token) is None
    assert tokens.active_access_token(token, [live_idp.base, records_api(live_idp)])
    introspected = requests.post(live_idp.url("/oauth2/introspect"), data={"token": token},
                                 auth=(client.client_id, secret), timeout=10).json()
    assert introspected["active"] is True and introspected["aud"] == records_api(live_idp)


def test_repeated_authorization_parameters_are_refused_but_resource_may_repeat(
        live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(first_party=True)
    _rp, url, _verifier, _state = code_url(live_idp, client, secret, [])
    response = requests.get(url + "&scope=openid+email", allow_redirects=False, timeout=10)
    assert response.status_code == 400 and "Location" not in response.headers
    _rp, url, _verifier, _state = code_url(live_idp, client, secret,
                                           [records_api(live_idp), live_idp.base])
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
