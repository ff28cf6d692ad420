"""The OIDC ``claims`` request parameter (OIDC Core 5.5), ``acr`` in ID tokens and its
single decision function, and the ID token a refresh returns (12.2): unit checks of the
parsing and decisions, then end-to-end against the live server."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from crypto.jose import JWKSet, decode_jwt
from idp.oauth2.clients import RegisteredClient
from idp.oidc.acr import (
    ACR_MFA,
    ACR_PHR,
    ACR_PWD,
    AcrRequest,
    request_satisfied,
    requested_acr,
    session_acr,
)
from idp.oidc.claims_parameter import (
    ClaimsRequest,
    InvalidClaimsRequest,
    parse_claims_request,
    released_claims,
)
from tests.idp.provider.conftest import Browser, LiveIdp, pkce_pair, query_of
from tests.idp.provider.test_par import authorization_params, push

REDIRECT = "https://rp.example/cb"


# --------------------------------------------------------------------------- units

@pytest.mark.parametrize("value", [
    "not json", "[]", '"text"', '{"userinfo": []}', '{"id_token": {"acr": 5}}',
    '{"id_token": {"acr": {"essential": "yes"}}}', '{"userinfo": {"email": {"values": 1}}}',
    '{"id_token": {"acr": {"value": "a", "values": ["b"]}}}',
])
def test_malformed_claims_requests_are_refused(value: str) -> None:
    with pytest.raises(InvalidClaimsRequest):
        parse_claims_request(value)


def test_claims_request_keeps_known_members_and_ignores_others() -> None:
    parsed = parse_claims_request(json.dumps({
        "userinfo": {"email": None, "school": {"essential": True}},
        "id_token": {"acr": {"essential": True, "values": [ACR_MFA]}},
        "unknown_member": {"x": None}}))
    assert parsed.names("userinfo") == ["email", "school"]
    assert parsed.acr() == {"essential": True, "values": [ACR_MFA]}
    assert ClaimsRequest.from_stored(parsed.to_stored()) == parsed
    assert parsed.scope_groups(["openid", "email"]) == ["email"]  # edu not registered


def test_individual_claims_are_released_only_for_the_clients_scope_groups() -> None:
    directory = {"profile": {"name": "N"}, "email": {"email": "e@x"},
                 "edu": {"school": {"code": "1"}, "roles": []}}

    def claims_of(_person: str, scopes: list[str]) -> dict[str, Any]:
        return {k: v for s in scopes for k, v in directory.get(s, {}).items()}

    got = released_claims(claims_of, "p", ["openid"], ["email", "school", "student_number"],
                          ["openid", "email"])
    assert got == {"email": "e@x"}  # school: edu not registered; student_number: never


def test_acr_decision_orders_the_levels() -> None:
    assert session_acr(["pwd"]) == ACR_PWD
    assert session_acr(["pwd", "otp"]) == ACR_MFA
    assert session_acr(["hwk"]) == ACR_PHR
    assert request_satisfied(ACR_PWD, None).acr == ACR_PWD
    assert not request_satisfied(ACR_PWD, AcrRequest((ACR_MFA,), True)).satisfied
    assert not request_satisfied(ACR_PHR, AcrRequest(("urn:other",), True)).satisfied
    stronger = request_satisfied(ACR_MFA, AcrRequest((ACR_PWD, ACR_MFA, ACR_PHR), True))
    assert stronger.satisfied and stronger.acr == ACR_MFA
    essential = requested_acr(ACR_PWD, {"essential": True, "value": ACR_MFA})
    assert essential == AcrRequest((ACR_MFA,), True)
    assert requested_acr(f"{ACR_MFA} {ACR_PWD}", None) == AcrRequest((ACR_MFA, ACR_PWD),
                                                                      False)


# --------------------------------------------------------------------------- live server

def jwks(idp: LiveIdp) -> JWKSet:
    return JWKSet.from_dict(requests.get(idp.url("/oauth2/jwks"), timeout=10).json())


def authorize(idp: LiveIdp, client: RegisteredClient, secret: str | None, *,
              scope: str, browser: Browser | None = None,
              **extra: str) -> tuple[OAuth2Session, dict[str, Any] | str]:
    """Run the code flow; returns the RP session and its tokens, or the callback URL
    when the provider answered with an error."""
    rp = OAuth2Session(client.client_id, secret, scope=scope, redirect_uri=REDIRECT,
                       code_challenge_method="S256",
                       token_endpoint_auth_method="client_secret_basic")
    verifier = secrets.token_urlsafe(48)
    url, _state = rp.create_authorization_url(idp.url("/oauth2/authorize"),
                                              code_verifier=verifier,
                                              nonce=secrets.token_urlsafe(8), **extra)
    callback = (browser or Browser(idp.base)).authorize(url, REDIRECT)
    if "error" in query_of(callback):
        return rp, callback
    token = rp.fetch_token(idp.url("/oauth2/token"), authorization_response=callback,
                           code_verifier=verifier)
    return rp, dict(token)


def test_claims_parameter_releases_individual_claims_to_id_token_and_userinfo(
        live_idp: LiveIdp) -> None:
    discovery = requests.get(live_idp.url("/.well-known/openid-configuration"),
                             timeout=10).json()
    assert discovery["claims_parameter_supported"] is True
    assert {"acr", "email", "school"} <= set(discovery["claims_supported"])
    assert discovery["acr_values_supported"] == [ACR_PWD, ACR_MFA, ACR_PHR]
    client, secret = live_idp.register(id_token_alg="ES256")
    claims = {"userinfo": {"email": None, "school": {"essential": True}},
              "id_token": {"name": {"essential": True},
                           "acr": {"essential": True, "values": [ACR_PWD]}}}
    _rp, token = authorize(live_idp, client, secret, scope="openid",
                           claims=json.dumps(claims))
    assert isinstance(token, dict)
    id_token = decode_jwt(token["id_token"], jwks(live_idp), algorithms=["ES256"],
                          audience=client.client_id)
    assert id_token["name"] == "Alice Zhang" and id_token["acr"] == ACR_PWD
    assert "email" not in id_token and "school" not in id_token
    info = requests.get(live_idp.url("/oauth2/userinfo"), timeout=10, headers={
        "Authorization": f"Bearer {token['access_token']}"}).json()
    assert info["email"] == "alice@school.example"
    assert info["school"] == {"code": "4101990002", "name": "测试中学"}
    assert "name" not in info and "roles" not in info and info["sub"] == id_token["sub"]


def test_claims_parameter_cannot_reach_beyond_the_clients_registered_scopes(
        live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(scopes=("openid", "profile"), first_party=True)
    claims = {"userinfo": {"email": {"essential": True}, "roles": None, "name": None}}
    _rp, token = authorize(live_idp, client, secret, scope="openid",
                           claims=json.dumps(claims))
    assert isinstance(token, dict)
    info = requests.get(live_idp.url("/oauth2/userinfo"), timeout=10, headers={
        "Authorization": f"Bearer {token['access_token']}"}).json()
    assert info["name"] == "Alice Zhang"
    assert "email" not in info and "roles" not in info


def test_claims_parameter_needs_consent_for_the_groups_it_asks_for(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    browser = Browser(live_idp.base)
    email = json.dumps({"userinfo": {"email": None}})
    _rp, token = authorize(live_idp, client, secret, scope="openid", claims=email,
                           browser=browser)
    assert isinstance(token, dict)
    # The same request again is covered by the consent just given ...
    _rp, again = authorize(live_idp, client, secret, scope="openid", claims=email,
                           browser=browser, prompt="none")
    assert isinstance(again, dict)
    # ... but asking for the phone number individually is not.
    phone = json.dumps({"userinfo": {"phone_number": None}})
    _rp, refused = authorize(live_idp, client, secret, scope="openid", claims=phone,
                             browser=browser, prompt="none")
    assert isinstance(refused, str) and query_of(refused)["error"] == "consent_required"


def test_invalid_claims_parameter_is_invalid_request_at_authorize_and_par(
        live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    assert secret is not None
    rp = OAuth2Session(client.client_id, secret, scope="openid", redirect_uri=REDIRECT,
                       code_challenge_method="S256")
    url, state = rp.create_authorization_url(live_idp.url("/oauth2/authorize"),
                                             code_verifier=secrets.token_urlsafe(48),
                                             claims='{"userinfo": ')
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    answer = query_of(response.headers["Location"])
    assert answer["error"] == "invalid_request" and answer["state"] == state
    pushed = push(live_idp, authorization_params(client, "x" * 43,
                                                 claims='{"id_token": []}'),
                  auth=(client.client_id, secret))
    assert pushed.status_code == 400 and pushed.json()["error"] == "invalid_request"


def test_claims_request_travels_through_par(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(first_party=True)
    assert secret is not None
    verifier, challenge = pkce_pair()
    rp = OAuth2Session(client.client_id, secret, redirect_uri=REDIRECT)
    params = authorization_params(client, challenge, scope="openid",
                                  claims=json.dumps({"id_token": {"email": None}}))
    pushed = push(live_idp, params, auth=(client.client_id, secret))
    assert pushed.status_code == 201, pushed.text
    url = live_idp.url("/oauth2/authorize?client_id=" + client.client_id + "&request_uri="
                       + requests.utils.quote(pushed.json()["request_uri"], safe=""))
    callback = Browser(live_idp.base).authorize(url, REDIRECT)
    token = rp.fetch_token(live_idp.url("/oauth2/token"), authorization_response=callback,
                           code_verifier=verifier)
    claims = decode_jwt(token["id_token"], jwks(live_idp), algorithms=["RS256"],
                        audience=client.client_id)
    assert claims["email"] == "alice@school.example" and "name" not in claims


def test_essential_acr_no_login_can_meet_is_refused_and_voluntary_is_not(
        live_idp: LiveIdp) -> None:
    # Known stronger levels start a step-up (idp.mfa); an acr nobody offers cannot be met.
    client, secret = live_idp.register(first_party=True)
    browser = Browser(live_idp.base)
    essential = json.dumps({"id_token": {"acr": {"essential": True,
                                                 "values": ["urn:other:acr:gold"]}}})
    _rp, refused = authorize(live_idp, client, secret, scope="openid", claims=essential,
                             browser=browser)
    assert isinstance(refused, str)
    assert query_of(refused)["error"] == "unmet_authentication_requirements"
    _rp, token = authorize(live_idp, client, secret, scope="openid", browser=browser,
                           acr_values="urn:other:acr:gold")
    assert isinstance(token, dict)
    claims = decode_jwt(token["id_token"], jwks(live_idp), algorithms=["RS256"],
                        audience=client.client_id)
    assert claims["acr"] == ACR_PWD and claims["amr"] == ["pwd"]


@pytest.mark.parametrize("alg", ["SM2", "ES256"])
def test_refresh_returns_a_new_id_token_for_the_same_login(live_idp: LiveIdp,
                                                            alg: str) -> None:
    client, secret = live_idp.register(id_token_alg=alg)
    rp, token = authorize(live_idp, client, secret, scope="openid profile")
    assert isinstance(token, dict)
    keys = jwks(live_idp)
    first = decode_jwt(token["id_token"], keys, algorithms=[alg], audience=client.client_id)
    renewed = rp.refresh_token(live_idp.url("/oauth2/token"),
                               refresh_token=token["refresh_token"])
    second = decode_jwt(renewed["id_token"], keys, algorithms=[alg],
                        audience=client.client_id, issuer=live_idp.base)
    for claim in ("sub", "aud", "auth_time", "acr", "amr", "sid", "name"):
        assert second[claim] == first[claim], claim
    assert second["iat"] >= first["iat"] and second["exp"] - second["iat"] == 15 * 60
    assert second["at_hash"] != first["at_hash"]
    assert "nonce" in first and "nonce" not in second
    # Without openid in the grant there is no ID token on refresh.
    plain, plain_secret = live_idp.register(first_party=True)
    rp, token = authorize(live_idp, plain, plain_secret, scope="profile")
    assert isinstance(token, dict) and "id_token" not in token
    assert "id_token" not in rp.refresh_token(live_idp.url("/oauth2/token"),
                                              refresh_token=token["refresh_token"])
