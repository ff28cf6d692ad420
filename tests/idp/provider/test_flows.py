"""End-to-end OAuth 2.0 / OpenID Connect flows against the live server, driven by
Authlib's OAuth2Session as a relying party and a scripted browser for login and consent."""

from __future__ import annotations

import json
import secrets

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from crypto.jose import JWKSet, decode_jwt
from idp.oauth2.clients import RegisteredClient
from idp.oauth2.signing import half_hash
from tests.conftest import cli_env, run_cli
from tests.idp.provider.conftest import Browser, LiveIdp, query_of

REDIRECT = "https://rp.example/cb"


def metadata(idp: LiveIdp) -> dict[str, object]:
    response = requests.get(idp.url("/.well-known/openid-configuration"), timeout=10)
    assert response.status_code == 200
    document: dict[str, object] = response.json()
    return document


def jwks(idp: LiveIdp) -> JWKSet:
    return JWKSet.from_dict(requests.get(idp.url("/oauth2/jwks"), timeout=10).json())


def rp_session(idp: LiveIdp, client: RegisteredClient, secret: str | None,
               scope: str = "openid profile email") -> OAuth2Session:
    return OAuth2Session(client.client_id, secret, scope=scope, redirect_uri=REDIRECT,
                         code_challenge_method="S256",
                         token_endpoint_auth_method="client_secret_basic" if secret
                         else "none")


def log_in(idp: LiveIdp, client: RegisteredClient, secret: str | None, *,
           scope: str = "openid profile email", browser: Browser | None = None,
           username: str = "alice") -> tuple[OAuth2Session, dict[str, str], str]:
    """Run the code flow with PKCE; returns the RP session, its tokens and the nonce."""
    rp = rp_session(idp, client, secret, scope)
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(12)
    url, _state = rp.create_authorization_url(idp.url("/oauth2/authorize"),
                                              code_verifier=verifier, nonce=nonce)
    callback = (browser or Browser(idp.base)).authorize(url, REDIRECT, username=username)
    assert query_of(callback)["iss"] == idp.base  # RFC 9207
    token = rp.fetch_token(idp.url("/oauth2/token"), authorization_response=callback,
                           code_verifier=verifier)
    return rp, dict(token), nonce


def test_discovery_documents_name_the_implemented_endpoints(live_idp: LiveIdp) -> None:
    oidc = metadata(live_idp)
    assert oidc["issuer"] == live_idp.base
    for name, path in (("authorization_endpoint", "/oauth2/authorize"),
                       ("token_endpoint", "/oauth2/token"),
                       ("userinfo_endpoint", "/oauth2/userinfo"),
                       ("jwks_uri", "/oauth2/jwks"),
                       ("introspection_endpoint", "/oauth2/introspect"),
                       ("revocation_endpoint", "/oauth2/revoke")):
        assert oidc[name] == live_idp.base + path
    assert oidc["code_challenge_methods_supported"] == ["S256"]
    assert oidc["response_types_supported"] == ["code"]
    assert set(oidc["id_token_signing_alg_values_supported"]) == {  # type: ignore[arg-type]
        "SM2", "ES256", "RS256"}
    assert oidc["request_uri_parameter_supported"] is False
    assert oidc["authorization_response_iss_parameter_supported"] is True
    oauth = requests.get(live_idp.url("/.well-known/oauth-authorization-server"),
                         timeout=10).json()
    assert oauth["issuer"] == live_idp.base and "userinfo_endpoint" not in oauth
    kids = {key.kid for key in jwks(live_idp)}
    assert {"platform-signing.v1", "oidc-es256.v1", "oidc-rs256.v1"} <= kids


@pytest.mark.parametrize("alg", ["SM2", "ES256", "RS256"])
def test_code_flow_with_pkce_gives_an_id_token_that_verifies(live_idp: LiveIdp,
                                                             alg: str) -> None:
    client, secret = live_idp.register(id_token_alg=alg)
    _rp, token, nonce = log_in(live_idp, client, secret)
    claims = decode_jwt(token["id_token"], jwks(live_idp), algorithms=[alg],
                        audience=client.client_id, issuer=live_idp.base,
                        required=("exp", "iat", "sub", "auth_time"))
    assert claims["nonce"] == nonce
    assert claims["at_hash"] == half_hash(token["access_token"], alg)
    assert claims["amr"] == ["pwd"] and claims["sid"]
    assert claims["name"] == "Alice Zhang" and claims["email"] == "alice@school.example"
    assert claims["sub"] != live_idp.people["alice"]  # pairwise, not the directory id
    access = decode_jwt(token["access_token"], jwks(live_idp), algorithms=["SM2"],
                        audience=live_idp.base, issuer=live_idp.base, typ="at+jwt")
    assert access["client_id"] == client.client_id
    assert access["sub"] == claims["sub"] and access["scope"] == "openid profile email"
    assert {"jti", "iat", "exp"} <= access.keys()


def test_userinfo_answers_get_and_post_with_the_id_token_subject(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(id_token_alg="SM2")
    _rp, token, _nonce = log_in(live_idp, client, secret, scope="openid profile edu")
    sub = decode_jwt(token["id_token"], jwks(live_idp), algorithms=["SM2"],
                     audience=client.client_id)["sub"]
    by_get = requests.get(live_idp.url("/oauth2/userinfo"), timeout=10, headers={
        "Authorization": f"Bearer {token['access_token']}"})
    by_post = requests.post(live_idp.url("/oauth2/userinfo"), timeout=10,
                            data={"access_token": token["access_token"]})
    assert by_get.status_code == by_post.status_code == 200
    assert by_get.json() == by_post.json()
    info = by_get.json()
    assert info["sub"] == sub and info["preferred_username"] == "alice"
    assert "email" not in info  # not granted
    assert info["school"] == {"code": "4101990002", "name": "测试中学"}


def test_pairwise_subjects_differ_between_sectors(live_idp: LiveIdp) -> None:
    first, first_secret = live_idp.register(redirect_uris=(REDIRECT,))
    other, other_secret = live_idp.register(redirect_uris=("https://other.example/cb",))
    browser = Browser(live_idp.base)
    _rp, token, _nonce = log_in(live_idp, first, first_secret, browser=browser)
    sub_first = decode_jwt(token["id_token"], jwks(live_idp), algorithms=["RS256"],
                           audience=first.client_id)["sub"]
    other_subject = live_idp.provider.subjects.subject(other, live_idp.people["alice"])
    same_sector = live_idp.provider.subjects.subject(first, live_idp.people["alice"])
    assert sub_first == same_sector and sub_first != other_subject
    assert other_secret and first_secret


def test_refresh_rotates_the_refresh_token(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    rp, token, _nonce = log_in(live_idp, client, secret)
    renewed = rp.refresh_token(live_idp.url("/oauth2/token"),
                               refresh_token=token["refresh_token"])
    assert renewed["refresh_token"] != token["refresh_token"]
    assert renewed["access_token"] != token["access_token"]
    info = requests.get(live_idp.url("/oauth2/userinfo"), timeout=10, headers={
        "Authorization": f"Bearer {renewed['access_token']}"})
    assert info.status_code == 200


def test_client_credentials_token_names_the_client_as_subject(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(grant_types=("client_credentials",), redirect_uris=(),
                                       scopes=("profile",))
    rp = OAuth2Session(client.client_id, secret, scope="profile")
    token = rp.fetch_token(live_idp.url("/oauth2/token"), grant_type="client_credentials")
    assert "refresh_token" not in token
    claims = decode_jwt(token["access_token"], jwks(live_idp), algorithms=["SM2"],
                        audience=live_idp.base, typ="at+jwt")
    assert claims["sub"] == client.client_id == claims["client_id"]
    assert claims["scope"] == "profile"


def test_introspection_and_revocation(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    rp, token, _nonce = log_in(live_idp, client, secret)
    active = rp.introspect_token(live_idp.url("/oauth2/introspect"),
                                 token=token["access_token"]).json()
    assert active["active"] is True and active["client_id"] == client.client_id
    assert active["scope"] == "openid profile email" and active["iss"] == live_idp.base
    refresh = rp.introspect_token(live_idp.url("/oauth2/introspect"),
                                  token=token["refresh_token"],
                                  token_type_hint="refresh_token").json()
    assert refresh["active"] is True
    revoked = rp.revoke_token(live_idp.url("/oauth2/revoke"), token=token["refresh_token"],
                              token_type_hint="refresh_token")
    assert revoked.status_code == 200
    for value in (token["access_token"], token["refresh_token"]):
        assert rp.introspect_token(live_idp.url("/oauth2/introspect"),
                                   token=value).json() == {"active": False}
    info = requests.get(live_idp.url("/oauth2/userinfo"), timeout=10, headers={
        "Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 401 and "invalid_token" in info.headers["WWW-Authenticate"]


def test_another_client_cannot_introspect_or_revoke_a_token(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    other, other_secret = live_idp.register()
    _rp, token, _nonce = log_in(live_idp, client, secret)
    stranger = OAuth2Session(other.client_id, other_secret)
    assert stranger.introspect_token(live_idp.url("/oauth2/introspect"),
                                     token=token["access_token"]).json() == {"active": False}
    assert stranger.revoke_token(live_idp.url("/oauth2/revoke"),
                                 token=token["access_token"]).status_code == 200
    info = requests.get(live_idp.url("/oauth2/userinfo"), timeout=10, headers={
        "Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 200


def test_public_client_with_pkce_and_opaque_tokens(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(public=True, access_token_format="opaque",
                                       grant_types=("authorization_code", "refresh_token"))
    assert secret is None
    rp, token, _nonce = log_in(live_idp, client, None)
    assert token["access_token"].count(".") == 0
    info = requests.get(live_idp.url("/oauth2/userinfo"), timeout=10, headers={
        "Authorization": f"Bearer {token['access_token']}"})
    assert info.status_code == 200 and info.json()["name"] == "Alice Zhang"
    renewed = rp.refresh_token(live_idp.url("/oauth2/token"),
                               refresh_token=token["refresh_token"])
    assert renewed["refresh_token"] != token["refresh_token"]


def test_consent_is_remembered_and_first_party_clients_skip_it(live_idp: LiveIdp) -> None:
    browser = Browser(live_idp.base)
    client, secret = live_idp.register()
    log_in(live_idp, client, secret, browser=browser)
    # Logged in and consented: the second authorization goes straight back.
    rp = rp_session(live_idp, client, secret)
    url, _ = rp.create_authorization_url(live_idp.url("/oauth2/authorize"),
                                         code_verifier=secrets.token_urlsafe(48))
    response = browser.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith(REDIRECT)
    first_party, fp_secret = live_idp.register(first_party=True)
    fp = rp_session(live_idp, first_party, fp_secret)
    url, _ = fp.create_authorization_url(live_idp.url("/oauth2/authorize"),
                                         code_verifier=secrets.token_urlsafe(48))
    response = browser.get(url)
    assert response.status_code == 302 and "code=" in response.headers["Location"]


def test_denied_consent_returns_access_denied(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    rp = rp_session(live_idp, client, secret)
    url, state = rp.create_authorization_url(live_idp.url("/oauth2/authorize"),
                                             code_verifier=secrets.token_urlsafe(48))
    callback = Browser(live_idp.base).authorize(url, REDIRECT, decision="deny")
    params = query_of(callback)
    assert params["error"] == "access_denied" and params["state"] == state
    assert params["iss"] == live_idp.base and "code" not in params


def test_prompt_none_login_and_max_age(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(first_party=True)
    rp = rp_session(live_idp, client, secret)
    browser = Browser(live_idp.base)
    url, state = rp.create_authorization_url(live_idp.url("/oauth2/authorize"),
                                             code_verifier=secrets.token_urlsafe(48),
                                             prompt="none")
    response = browser.get(url)
    params = query_of(response.headers["Location"])
    assert params["error"] == "login_required" and params["state"] == state
    assert params["iss"] == live_idp.base
    log_in(live_idp, client, secret, browser=browser)
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        url, _ = rp.create_authorization_url(live_idp.url("/oauth2/authorize"),
                                             code_verifier=secrets.token_urlsafe(48), **extra)
        response = browser.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login"), extra
    url, _ = rp.create_authorization_url(live_idp.url("/oauth2/authorize"),
                                         code_verifier=secrets.token_urlsafe(48),
                                         prompt="none")
    response = browser.get(url)
    assert "code=" in response.headers["Location"]


def test_login_page_is_chinese_by_default_english_on_request_with_login_hint(
        live_idp: LiveIdp) -> None:
    client, secret = live_idp.register()
    rp = rp_session(live_idp, client, secret)
    url, _ = rp.create_authorization_url(live_idp.url("/oauth2/authorize"),
                                         code_verifier=secrets.token_urlsafe(48),
                                         login_hint="bob")
    browser = Browser(live_idp.base)
    page = browser.get(browser.get(url).headers["Location"])
    assert page.status_code == 200 and "登录" in page.text
    assert 'lang="zh-CN"' in page.text and 'value="bob"' in page.text
    assert 'autocomplete="username"' in page.text
    assert 'autocomplete="current-password"' in page.text
    english = Browser(live_idp.base)
    url, _ = rp.create_authorization_url(live_idp.url("/oauth2/authorize"),
                                         code_verifier=secrets.token_urlsafe(48),
                                         ui_locales="en")
    page = english.get(english.get(url).headers["Location"])
    assert "Sign in" in page.text and 'lang="en"' in page.text


def test_session_cookie_is_httponly_and_samesite_lax(live_idp: LiveIdp) -> None:
    page = requests.get(live_idp.url("/login"), timeout=10)
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # the test issuer is http on loopback


def test_cli_creates_a_client_and_prints_one_json_object(live_idp: LiveIdp) -> None:
    result = run_cli("clients", "create", "--name", "CLI RP", "--grant", "authorization_code",
                     "--grant", "refresh_token", "--redirect-uri", REDIRECT,
                     "--id-token-alg", "ES256", env=cli_env(live_idp.settings,
                                                            EDUTRUST_ISSUER=live_idp.base))
    assert result.returncode == 0, result.stderr.decode()
    document = json.loads(result.stdout)
    assert document["client_secret"] and document["id_token_signed_response_alg"] == "ES256"
    client = live_idp.provider.clients.find(document["client_id"])
    assert client is not None and client.check_client_secret(document["client_secret"])
    assert client.secret_hash and document["client_secret"] not in client.secret_hash
    _rp, token, _nonce = log_in(live_idp, client, document["client_secret"])
    decode_jwt(token["id_token"], jwks(live_idp), algorithms=["ES256"],
               audience=client.client_id)


def test_cli_refuses_a_bad_registration_with_exit_code_two(live_idp: LiveIdp) -> None:
    result = run_cli("clients", "create", "--name", "Bad", "--grant", "authorization_code",
                     "--redirect-uri", "http://evil.example/cb",
                     env=cli_env(live_idp.settings, EDUTRUST_ISSUER=live_idp.base))
    assert result.returncode == 2 and result.stdout == b""
    assert b"redirect URI" in result.stderr


def test_demo_relying_party_logs_in_and_shows_verified_claims(live_idp: LiveIdp) -> None:
    from edutrust.demo import create_demo

    credentials = create_demo(live_idp.platform, lambda key, **values: None)
    assert credentials is not None
    browser = Browser(live_idp.base)
    start = browser.get("/demo/login")
    assert start.status_code == 302
    callback = browser.authorize(start.headers["Location"], live_idp.url("/demo/callback"),
                                 username=credentials["student"]["username"],
                                 password=credentials["student"]["password"])
    page = browser.get(callback)
    assert page.status_code == 200, page.text
    assert "李同学" in page.text and "demo.student" in page.text and "SM2" in page.text
    assert create_demo(live_idp.platform, lambda key, **values: None) is None
    from edutrust.demo import SCHOOL_CODE
    from edutrust.records_setup import open_issuers

    school = open_issuers(live_idp.platform).require(SCHOOL_CODE, issues="archive_entry")
    assert school.kind == "school" and not school.reviews
