"""Attacks on the provider, each against the live server: replayed and misdirected
codes, open redirects, PKCE downgrades, forged and confused access tokens, refresh-token
theft, CSRF on the login form, session fixation and user enumeration."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets

import requests
from authlib.integrations.requests_client import OAuth2Session

from crypto.jose import b64url_encode
from idp.oauth2.clients import RegisteredClient
from tests.idp.provider.conftest import PASSWORD, Browser, LiveIdp, form_fields, pkce_pair, query_of

REDIRECT = "https://rp.example/cb"


def authorization_url(idp: LiveIdp, client: RegisteredClient, **params: str) -> str:
    query = {"response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT,
             "scope": "openid profile", "state": "st-" + secrets.token_hex(4)}
    query.update(params)
    return idp.url("/oauth2/authorize") + "?" + requests.compat.urlencode(query)


def code_for(idp: LiveIdp, client: RegisteredClient, challenge: str | None = None,
             browser: Browser | None = None) -> str:
    params = {"code_challenge": challenge, "code_challenge_method": "S256"} if challenge else {}
    callback = (browser or Browser(idp.base)).authorize(authorization_url(idp, client, **params),
                                                        REDIRECT)
    return query_of(callback)["code"]


def redeem(idp: LiveIdp, client: RegisteredClient, secret: str | None, code: str,
           **extra: str) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}
    if secret is None:
        data["client_id"] = client.client_id
        return requests.post(idp.url("/oauth2/token"), data=data, timeout=10)
    return requests.post(idp.url("/oauth2/token"), data=data, timeout=10,
                         auth=(client.client_id, secret))


def userinfo(idp: LiveIdp, access_token: str) -> requests.Response:
    return requests.get(idp.url("/oauth2/userinfo"), timeout=10,
                        headers={"Authorization": f"Bearer {access_token}"})


def introspect(idp: LiveIdp, client: RegisteredClient, secret: str,
               token: str) -> dict[str, object]:
    response = requests.post(idp.url("/oauth2/introspect"), data={"token": token}, timeout=10,
                             auth=(client.client_id, secret))
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def tokens_for(idp: LiveIdp) -> tuple[RegisteredClient, str, dict[str, str]]:
    client, secret = idp.register(first_party=True)
    assert secret is not None
    response = redeem(idp, client, secret, code_for(idp, client))
    assert response.status_code == 200, response.text
    return client, secret, response.json()


# --------------------------------------------------------------------------- codes

def test_replayed_code_fails_and_revokes_what_the_first_use_issued(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(first_party=True)
    code = code_for(live_idp, client)
    first = redeem(live_idp, client, secret, code)
    assert first.status_code == 200
    tokens = first.json()
    assert userinfo(live_idp, tokens["access_token"]).status_code == 200
    second = redeem(live_idp, client, secret, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert userinfo(live_idp, tokens["access_token"]).status_code == 401
    assert introspect(live_idp, client, secret or "", tokens["access_token"]) == {
        "active": False}
    refreshed = requests.post(live_idp.url("/oauth2/token"), timeout=10,
                              auth=(client.client_id, secret or ""),
                              data={"grant_type": "refresh_token",
                                    "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_code_issued_to_another_client_is_refused(live_idp: LiveIdp) -> None:
    victim, _victim_secret = live_idp.register(first_party=True)
    thief, thief_secret = live_idp.register(first_party=True)
    code = code_for(live_idp, victim)
    response = redeem(live_idp, thief, thief_secret, code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_redirect_uri_differing_at_the_token_endpoint_is_refused(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(first_party=True,
                                       redirect_uris=(REDIRECT, "https://rp.example/other"))
    code = code_for(live_idp, client)
    response = requests.post(live_idp.url("/oauth2/token"), timeout=10,
                             auth=(client.client_id, secret or ""),
                             data={"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": "https://rp.example/other"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_unregistered_redirect_uris_get_an_error_page_never_a_redirect(
        live_idp: LiveIdp) -> None:
    client, _secret = live_idp.register()
    for uri in ("https://evil.example/cb", REDIRECT + "/../evil", REDIRECT + "?x=1",
                "https://rp.example/cb/", "https://rp.example:444/cb", "HTTPS://rp.example/cb",
                "https://rp.example/CB", REDIRECT + "#frag"):
        response = requests.get(authorization_url(live_idp, client, redirect_uri=uri),
                                allow_redirects=False, timeout=10)
        assert response.status_code == 400, uri
        assert "Location" not in response.headers, uri
        assert "text/html" in response.headers["Content-Type"]
    missing = requests.get(authorization_url(live_idp, client, redirect_uri=""),
                           allow_redirects=False, timeout=10)
    assert missing.status_code == 400 and "Location" not in missing.headers


def test_unknown_client_gets_an_error_page(live_idp: LiveIdp) -> None:
    response = requests.get(live_idp.url("/oauth2/authorize"), allow_redirects=False,
                            timeout=10, params={"response_type": "code", "client_id": "nobody",
                                                "redirect_uri": REDIRECT})
    assert response.status_code == 400 and "Location" not in response.headers


def test_errors_after_the_redirect_uri_is_known_go_back_with_state_and_iss(
        live_idp: LiveIdp) -> None:
    client, _secret = live_idp.register()
    response = requests.get(authorization_url(live_idp, client, response_type="token",
                                              state="abc"), allow_redirects=False, timeout=10)
    assert response.status_code == 302
    params = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(REDIRECT)
    assert params["error"] == "unsupported_response_type"
    assert params["state"] == "abc" and params["iss"] == live_idp.base


# --------------------------------------------------------------------------- PKCE

def test_public_client_without_pkce_is_refused(live_idp: LiveIdp) -> None:
    client, _ = live_idp.register(public=True)
    response = requests.get(authorization_url(live_idp, client), allow_redirects=False,
                            timeout=10)
    assert response.status_code == 302
    params = query_of(response.headers["Location"])
    assert params["error"] == "invalid_request" and "PKCE" in params["error_description"]


def test_plain_pkce_is_refused(live_idp: LiveIdp) -> None:
    client, _ = live_idp.register(public=True)
    verifier, _challenge = pkce_pair()
    for method in ({"code_challenge_method": "plain"}, {}):
        response = requests.get(authorization_url(live_idp, client, code_challenge=verifier,
                                                  **method), allow_redirects=False, timeout=10)
        params = query_of(response.headers["Location"])
        assert params["error"] == "invalid_request", method


def test_wrong_or_missing_code_verifier_fails(live_idp: LiveIdp) -> None:
    client, _ = live_idp.register(public=True, first_party=True)
    _verifier, challenge = pkce_pair()
    wrong = redeem(live_idp, client, None, code_for(live_idp, client, challenge),
                   code_verifier=pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    missing = redeem(live_idp, client, None, code_for(live_idp, client, challenge))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_verifier_without_a_challenge_is_refused(live_idp: LiveIdp) -> None:
    client, secret = live_idp.register(first_party=True)
    response = redeem(live_idp, client, secret, code_for(live_idp, client),
                      code_verifier=pkce_pair()[0])
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


# --------------------------------------------------------------------------- access tokens

def _segments(token: str) -> tuple[dict[str, object], dict[str, object]]:
    header, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


def _compact(header: dict[str, object], claims: dict[str, object], signature: bytes) -> str:
    return ".".join([b64url_encode(json.dumps(header).encode()),
                     b64url_encode(json.dumps(claims).encode()), b64url_encode(signature)])


def test_alg_none_access_token_is_refused(live_idp: LiveIdp) -> None:
    client, secret, tokens = tokens_for(live_idp)
    header, claims = _segments(tokens["access_token"])
    for alg in ("none", "None", "NONE"):
        forged = _compact({**header, "alg": alg}, claims, b"")
        assert userinfo(live_idp, forged).status_code == 401
        assert introspect(live_idp, client, secret, forged) == {"active": False}


def test_hs256_keyed_with_the_public_key_is_refused(live_idp: LiveIdp) -> None:
    client, secret, tokens = tokens_for(live_idp)
    header, claims = _segments(tokens["access_token"])
    published = requests.get(live_idp.url("/oauth2/jwks"), timeout=10).json()["keys"]
    sm2_jwk = next(k for k in published if k["alg"] == "SM2")
    for secret_material in (json.dumps(sm2_jwk).encode(), sm2_jwk["x"].encode()):
        forged_header = {**header, "alg": "HS256"}
        signing_input = (b64url_encode(json.dumps(forged_header).encode()) + "."
                         + b64url_encode(json.dumps(claims).encode()))
        tag = hmac.new(secret_material, signing_input.encode(), hashlib.sha256).digest()
        forged = signing_input + "." + b64url_encode(tag)
        assert userinfo(live_idp, forged).status_code == 401
        assert introspect(live_idp, client, secret, forged) == {"active": False}


def test_altered_claims_break_the_signature(live_idp: LiveIdp) -> None:
    client, secret, tokens = tokens_for(live_idp)
    header, claims = _segments(tokens["access_token"])
    signature = tokens["access_token"].split(".")[2]
    forged = ".".join([b64url_encode(json.dumps(header).encode()),
                       b64url_encode(json.dumps({**claims, "scope": "openid profile email"})
                                     .encode()), signature])
    assert userinfo(live_idp, forged).status_code == 401
    assert introspect(live_idp, client, secret, forged) == {"active": False}
    truncated = tokens["access_token"][:-4]
    assert userinfo(live_idp, truncated).status_code == 401


def test_expired_access_token_is_refused_even_with_a_valid_signature(
        live_idp: LiveIdp) -> None:
    client, secret, tokens = tokens_for(live_idp)
    _header, claims = _segments(tokens["access_token"])
    past = int((dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).timestamp())
    expired = live_idp.provider.signing.sign({**claims, "exp": past, "iat": past - 60},
                                             alg="SM2", typ="at+jwt")
    assert userinfo(live_idp, expired).status_code == 401
    assert introspect(live_idp, client, secret, expired) == {"active": False}


def test_validly_signed_token_that_was_never_issued_is_refused(live_idp: LiveIdp) -> None:
    client, secret, tokens = tokens_for(live_idp)
    _header, claims = _segments(tokens["access_token"])
    minted = live_idp.provider.signing.sign({**claims, "jti": "not-issued"}, alg="SM2",
                                            typ="at+jwt")
    assert userinfo(live_idp, minted).status_code == 401
    id_token_as_access = tokens["id_token"]
    assert userinfo(live_idp, id_token_as_access).status_code == 401
    assert introspect(live_idp, client, secret, minted) == {"active": False}


def test_userinfo_without_token_is_401_with_bearer_challenge(live_idp: LiveIdp) -> None:
    response = requests.get(live_idp.url("/oauth2/userinfo"), timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --------------------------------------------------------------------------- refresh

def test_reused_refresh_token_revokes_the_whole_family(live_idp: LiveIdp) -> None:
    client, secret, tokens = tokens_for(live_idp)
    rp = OAuth2Session(client.client_id, secret)
    renewed = rp.refresh_token(live_idp.url("/oauth2/token"),
                               refresh_token=tokens["refresh_token"])
    reuse = requests.post(live_idp.url("/oauth2/token"), auth=(client.client_id, secret),
                          timeout=10, data={"grant_type": "refresh_token",
                                            "refresh_token": tokens["refresh_token"]})
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert userinfo(live_idp, renewed["access_token"]).status_code == 401
    again = requests.post(live_idp.url("/oauth2/token"), auth=(client.client_id, secret),
                          timeout=10, data={"grant_type": "refresh_token",
                                            "refresh_token": renewed["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_refresh_token_of_another_client_is_refused(live_idp: LiveIdp) -> None:
    _client, _secret, tokens = tokens_for(live_idp)
    other, other_secret = live_idp.register()
    response = requests.post(live_idp.url("/oauth2/token"), timeout=10,
                             auth=(other.client_id, other_secret or ""),
                             data={"grant_type": "refresh_token",
                                   "refresh_token": tokens["refresh_token"]})
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


# --------------------------------------------------------------------------- clients

def test_wrong_client_secret_is_invalid_client(live_idp: LiveIdp) -> None:
    client, _secret = live_idp.register(grant_types=("client_credentials",), redirect_uris=())
    response = requests.post(live_idp.url("/oauth2/token"), timeout=10,
                             auth=(client.client_id, "not-the-secret"),
                             data={"grant_type": "client_credentials"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_public_client_cannot_use_client_credentials_or_introspect(live_idp: LiveIdp) -> None:
    client, _ = live_idp.register(public=True)
    cc = requests.post(live_idp.url("/oauth2/token"), timeout=10,
                       data={"grant_type": "client_credentials", "client_id": client.client_id})
    assert cc.status_code in (400, 401) and cc.json()["error"] == "invalid_client"
    intro = requests.post(live_idp.url("/oauth2/introspect"), timeout=10,
                          data={"token": "x", "client_id": client.client_id})
    assert intro.status_code in (400, 401) and intro.json()["error"] == "invalid_client"


def test_malformed_token_requests_get_json_errors_not_500(live_idp: LiveIdp) -> None:
    cases = [
        {"headers": {"Authorization": "Basic !!!notbase64"}, "data": {"grant_type": "x"}},
        {"headers": {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()},
         "data": {"grant_type": "client_credentials"}},
        {"data": {}},
        {"data": {"grant_type": "password", "username": "alice", "password": PASSWORD}},
        {"data": {"grant_type": "authorization_code", "code": "x" * 10_000,
                  "client_id": "nobody"}},
        {"data": b"\xff\xfe not form data",
         "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ]
    for case in cases:
        response = requests.post(live_idp.url("/oauth2/token"), timeout=10, **case)  # type: ignore[arg-type]
        assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
        assert "error" in response.json(), case


# --------------------------------------------------------------------------- login page

def test_login_form_refuses_missing_or_wrong_csrf_token(live_idp: LiveIdp) -> None:
    browser = Browser(live_idp.base)
    page = browser.get("/login")
    fields = form_fields(page.text)
    for token in ("", "wrong-" + fields["csrf_token"][6:], None):
        data = {"username": "alice", "password": PASSWORD, "interaction": ""}
        if token is not None:
            data["csrf_token"] = token
        response = browser.post("/login", data)
        assert response.status_code == 403, token
        assert "Set-Cookie" not in response.headers
    # A forged cross-site post without the victim's session cookie fails as well.
    response = requests.post(live_idp.url("/login"), timeout=10, allow_redirects=False,
                             data={**fields, "username": "alice", "password": PASSWORD})
    assert response.status_code == 403


def test_session_id_changes_at_login_so_a_planted_cookie_is_useless(live_idp: LiveIdp) -> None:
    attacker = Browser(live_idp.base)
    attacker.get("/login")
    planted = [cookie.value for cookie in attacker.http.cookies]
    assert len(planted) == 1
    victim = Browser(live_idp.base)
    for cookie in attacker.http.cookies:
        victim.http.cookies.set_cookie(cookie)
    page = victim.get("/login")
    assert "Set-Cookie" not in page.headers  # the planted session is accepted as is ...
    done = victim.login(page, "alice", PASSWORD)
    assert done.status_code == 303
    after = [cookie.value for cookie in victim.http.cookies]
    assert len(after) == 1 and after != planted  # ... and replaced at login
    # The attacker's copy of the pre-login cookie does not carry the victim's login.
    client, _ = live_idp.register(first_party=True)
    response = attacker.get(authorization_url(live_idp, client, prompt="none"))
    assert query_of(response.headers["Location"])["error"] == "login_required"
    assert victim.get("/login/done").status_code == 200


def test_login_errors_do_not_tell_unknown_users_from_wrong_passwords(
        live_idp: LiveIdp) -> None:
    def attempt(username: str, password: str) -> tuple[int, str]:
        browser = Browser(live_idp.base)
        response = browser.login(browser.get("/login"), username, password)
        body = re.sub(r'name="csrf_token" value="[^"]*"', "", response.text)
        return response.status_code, body.replace(username, "USER")

    unknown = attempt("nobody-here", "Wrong-Password-1")
    wrong = attempt("alice", "Wrong-Password-1")
    assert unknown == wrong
    assert unknown[0] == 200 and 'role="alert"' in unknown[1]


def test_tokens_of_a_deactivated_person_stop_working(live_idp: LiveIdp) -> None:
    username = "carol-" + secrets.token_hex(3)
    person = live_idp.provider.directory.create_person(username, "Carol", password=PASSWORD)
    client, secret = live_idp.register(first_party=True)
    callback = Browser(live_idp.base).authorize(authorization_url(live_idp, client), REDIRECT,
                                                username=username)
    tokens = redeem(live_idp, client, secret, query_of(callback)["code"]).json()
    assert userinfo(live_idp, tokens["access_token"]).status_code == 200
    live_idp.provider.directory.update_person(person.id, active=False)
    assert userinfo(live_idp, tokens["access_token"]).status_code == 401
    refreshed = requests.post(live_idp.url("/oauth2/token"), timeout=10,
                              auth=(client.client_id, secret or ""),
                              data={"grant_type": "refresh_token",
                                    "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
