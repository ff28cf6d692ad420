"""OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0 against the live
server: ending the session, refusing bad requests without redirecting, and logout tokens
POSTed to a relying party's receiver (with a retry when it fails)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
import requests

from crypto.jose import b64url_encode, decode_jwt
from idp.oauth2 import ProviderError
from idp.oauth2.clients import RegisteredClient
from idp.oidc.backchannel_logout import LOGOUT_EVENT
from idp.oidc.models import DELIVERED, BackchannelLogoutDelivery
from idp.web.sessions import SessionStore
from tests.conftest import cli_env, run_cli
from tests.idp.provider.conftest import Browser, LiveIdp, form_fields
from tests.idp.provider.test_flows import REDIRECT, jwks, log_in, rp_session

LOGGED_OUT = "https://rp.example/logged-out"


@dataclass
class LogoutReceiver:
    """A relying party's back-channel logout endpoint on a free loopback port: records
    every POST and answers with the queued statuses (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)


@pytest.fixture
def receiver() -> Iterator[LogoutReceiver]:
    state = LogoutReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append({"path": self.path, "body": body.decode(),
                                   "content_type": self.headers.get("Content-Type", "")})
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/backchannel-logout"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _logged_in(idp: LiveIdp, **registration: Any) -> tuple[RegisteredClient, Browser,
                                                           dict[str, str]]:
    client, secret = idp.register(post_logout_redirect_uris=(LOGGED_OUT,), **registration)
    browser = Browser(idp.base)
    _rp, token, _nonce = log_in(idp, client, secret, browser=browser)
    return client, browser, token


def _authorize_again(idp: LiveIdp, client: RegisteredClient, browser: Browser) -> str:
    rp = rp_session(idp, client, "unused")
    url, _ = rp.create_authorization_url(idp.url("/oauth2/authorize"),
                                         code_verifier=secrets.token_urlsafe(48))
    response = browser.get(url)
    assert response.status_code == 302
    location: str = response.headers["Location"]
    return location


def _logout_url(**params: str) -> str:
    return "/oauth2/logout?" + urlencode(params)


def test_discovery_names_the_end_session_endpoint_and_logout_support(
        live_idp: LiveIdp) -> None:
    document = requests.get(live_idp.url("/.well-known/openid-configuration"),
                            timeout=10).json()
    assert document["end_session_endpoint"] == live_idp.url("/oauth2/logout")
    assert document["frontchannel_logout_supported"] is False
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True


def test_logout_with_id_token_hint_redirects_with_state_and_ends_the_session(
        live_idp: LiveIdp) -> None:
    client, browser, token = _logged_in(live_idp)
    assert _authorize_again(live_idp, client, browser).startswith(REDIRECT)
    old_cookies = browser.http.cookies.copy()
    response = browser.get(_logout_url(id_token_hint=token["id_token"],
                                       post_logout_redirect_uri=LOGGED_OUT, state="s-42"))
    assert response.status_code == 303
    assert response.headers["Location"] == LOGGED_OUT + "?state=s-42"
    assert "edutrust_session=;" in response.headers["Set-Cookie"]
    # Neither this browser nor anyone replaying the old cookie is logged in any more.
    assert _authorize_again(live_idp, client, browser).startswith("/login")
    replay = Browser(live_idp.base)
    replay.http.cookies.update(old_cookies)
    assert _authorize_again(live_idp, client, replay).startswith("/login")


def test_expired_id_token_hint_is_still_accepted(live_idp: LiveIdp) -> None:
    client, browser, _token = _logged_in(live_idp, id_token_alg="SM2")
    person = live_idp.people["alice"]
    sid = browser_sid(live_idp, person)
    now = dt.datetime.now(dt.UTC)
    expired = live_idp.provider.signing.sign({
        "iss": live_idp.base, "aud": client.client_id, "iat": int(now.timestamp()) - 7200,
        "exp": int(now.timestamp()) - 3600, "sid": sid,
        "sub": live_idp.provider.subjects.subject(client, person)}, alg="SM2")
    response = browser.get(_logout_url(id_token_hint=expired,
                                       post_logout_redirect_uri=LOGGED_OUT))
    assert response.status_code == 303 and response.headers["Location"] == LOGGED_OUT


def browser_sid(idp: LiveIdp, person_id: str) -> str:
    """The sid of the newest login session of a person."""
    from sqlalchemy import select

    from idp.web.sessions import LoginSession

    with idp.platform.sessions() as session:
        sid: str = session.scalars(select(LoginSession.sid)
                                   .where(LoginSession.person_id == person_id)
                                   .order_by(LoginSession.created_at.desc())).first() or ""
    return sid


def test_unregistered_post_logout_redirect_uri_shows_an_error_page(
        live_idp: LiveIdp) -> None:
    client, browser, token = _logged_in(live_idp)
    for uri in ("https://evil.example/", LOGGED_OUT + "/", REDIRECT):
        response = browser.get(_logout_url(id_token_hint=token["id_token"],
                                           post_logout_redirect_uri=uri, state="x"))
        assert response.status_code == 400 and "Location" not in response.headers
        assert "evil.example" not in response.text
    # Without a client to check it against, a redirect URI is refused too.
    response = browser.get(_logout_url(post_logout_redirect_uri=LOGGED_OUT))
    assert response.status_code == 400 and "Location" not in response.headers
    assert _authorize_again(live_idp, client, browser).startswith(REDIRECT)


def test_forged_id_token_hint_is_refused(live_idp: LiveIdp) -> None:
    client, browser, token = _logged_in(live_idp)
    header, payload, signature = token["id_token"].split(".")
    claims = json.loads(decode_segment(payload))
    claims["sub"] = "someone-else"
    forged = ".".join((header, b64url_encode(json.dumps(claims).encode()), signature))
    unsigned = ".".join((b64url_encode(b'{"alg":"none","typ":"JWT"}'), payload, ""))
    for hint in (forged, unsigned, "not-a-jwt", token["access_token"]):
        response = browser.get(_logout_url(id_token_hint=hint,
                                           post_logout_redirect_uri=LOGGED_OUT))
        assert response.status_code == 400 and "Location" not in response.headers
    other, _secret = live_idp.register(post_logout_redirect_uris=(LOGGED_OUT,))
    mismatched = browser.get(_logout_url(id_token_hint=token["id_token"],
                                         client_id=other.client_id))
    assert mismatched.status_code == 400
    assert _authorize_again(live_idp, client, browser).startswith(REDIRECT)


def decode_segment(segment: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def test_logout_without_hint_asks_first_and_needs_the_csrf_token(live_idp: LiveIdp) -> None:
    client, browser, _token = _logged_in(live_idp)
    page = browser.get(_logout_url(client_id=client.client_id,
                                   post_logout_redirect_uri=LOGGED_OUT, state="abc",
                                   ui_locales="en"))
    assert page.status_code == 200 and "Sign out" in page.text and client.name in page.text
    fields = form_fields(page.text)
    forged = browser.post("/oauth2/logout/confirm", {**fields, "csrf_token": "x",
                                                     "decision": "logout"})
    assert forged.status_code == 403
    assert _authorize_again(live_idp, client, browser).startswith(REDIRECT)
    chinese = browser.get(_logout_url(client_id=client.client_id))
    assert "退出登录" in chinese.text
    done = browser.post("/oauth2/logout/confirm", {**fields, "decision": "logout"})
    assert done.status_code == 303 and done.headers["Location"] == LOGGED_OUT + "?state=abc"
    assert _authorize_again(live_idp, client, browser).startswith("/login")


def test_staying_signed_in_keeps_the_session(live_idp: LiveIdp) -> None:
    client, browser, _token = _logged_in(live_idp)
    page = browser.get(_logout_url(ui_locales="en"))
    assert page.status_code == 200
    stay = browser.post("/oauth2/logout/confirm", {**form_fields(page.text),
                                                   "decision": "stay"})
    assert stay.status_code == 200 and "still signed in" in stay.text
    assert _authorize_again(live_idp, client, browser).startswith(REDIRECT)


def _logout_token_claims(idp: LiveIdp, client: RegisteredClient, delivery: dict[str, Any],
                         alg: str) -> dict[str, Any]:
    assert delivery["content_type"].startswith("application/x-www-form-urlencoded")
    form = parse_qs(delivery["body"])
    assert list(form) == ["logout_token"]
    return decode_jwt(form["logout_token"][0], jwks(idp), algorithms=[alg],
                      audience=client.client_id, issuer=idp.base, typ="logout+jwt",
                      required=("iat", "exp", "jti", "sid", "sub", "events"))


def test_back_channel_logout_posts_a_verifiable_logout_token(
        live_idp: LiveIdp, receiver: LogoutReceiver) -> None:
    client, browser, token = _logged_in(live_idp, id_token_alg="SM2",
                                        backchannel_logout_uri=receiver.url)
    id_claims = decode_jwt(token["id_token"], jwks(live_idp), algorithms=["SM2"],
                           audience=client.client_id)
    response = browser.get(_logout_url(id_token_hint=token["id_token"]))
    assert response.status_code == 200 and "退出登录" in response.text
    received = receiver.wait_for(1)
    assert len(received) == 1 and received[0]["path"] == "/backchannel-logout"
    claims = _logout_token_claims(live_idp, client, received[0], "SM2")
    assert claims["sid"] == id_claims["sid"] and claims["sub"] == id_claims["sub"]
    assert claims["sub"] != live_idp.people["alice"]  # pairwise, as in the ID token
    assert claims["events"] == {LOGOUT_EVENT: {}} and "nonce" not in claims
    assert 0 < claims["exp"] - claims["iat"] <= 300
    time.sleep(0.3)
    assert len(receiver.received) == 1


def test_back_channel_logout_is_retried_after_a_failure_and_recorded(
        live_idp: LiveIdp, receiver: LogoutReceiver) -> None:
    receiver.statuses.append(500)
    client, browser, token = _logged_in(live_idp, backchannel_logout_uri=receiver.url)
    sid = decode_jwt(token["id_token"], jwks(live_idp), algorithms=["RS256"],
                     audience=client.client_id)["sid"]
    browser.get(_logout_url(id_token_hint=token["id_token"],
                            post_logout_redirect_uri=LOGGED_OUT))
    received = receiver.wait_for(2)
    assert len(received) == 2
    first = _logout_token_claims(live_idp, client, received[0], "RS256")
    second = _logout_token_claims(live_idp, client, received[1], "RS256")
    assert first["sid"] == second["sid"] == sid and first["jti"] != second["jti"]
    deliveries = _deliveries_when_settled(live_idp, sid)
    assert len(deliveries) == 1
    assert deliveries[0].status == DELIVERED and deliveries[0].attempts == 2
    assert deliveries[0].last_status == 200 and deliveries[0].client_id == client.client_id


def _deliveries_when_settled(idp: LiveIdp, sid: str) -> list[BackchannelLogoutDelivery]:
    backchannel = idp.provider.backchannel_logout
    assert backchannel is not None
    deadline = time.monotonic() + 10
    while True:
        rows = backchannel.deliveries(sid)
        if all(row.status != "pending" for row in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_clients_without_tokens_in_the_session_are_not_notified(
        live_idp: LiveIdp, receiver: LogoutReceiver) -> None:
    live_idp.register(backchannel_logout_uri=receiver.url)  # never logged in to
    client, browser, token = _logged_in(live_idp)
    browser.get(_logout_url(id_token_hint=token["id_token"]))
    backchannel = live_idp.provider.backchannel_logout
    assert backchannel is not None
    assert backchannel.deliveries(token_sid(live_idp, client, token)) == []
    assert receiver.wait_for(1, timeout=0.5) == []


def token_sid(idp: LiveIdp, client: RegisteredClient, token: dict[str, str]) -> str:
    sid: str = decode_jwt(token["id_token"], jwks(idp), algorithms=["RS256"],
                          audience=client.client_id)["sid"]
    return sid


def test_revoking_a_persons_sessions_reports_each_ended_session(live_idp: LiveIdp) -> None:
    store = SessionStore(live_idp.platform.sessions, dt.timedelta(hours=1),
                         dt.timedelta(hours=2))
    ended: list[tuple[str, str]] = []
    store.on_end(lambda sid, person_id: ended.append((sid, person_id)))
    person = live_idp.people["bob"]
    first = store.login(None, person, ["pwd"])
    second = store.login(store.start(), person, ["pwd"])
    assert store.end_sessions_of(person) >= 2
    assert {(first.sid, person), (second.sid, person)} <= set(ended)
    assert store.load(first.cookie_value) is None and store.load(second.cookie_value) is None


def test_registration_checks_logout_uris(live_idp: LiveIdp) -> None:
    for bad in ({"backchannel_logout_uri": "http://rp.example/logout"},
                {"backchannel_logout_uri": "ftp://rp.example/logout"},
                {"backchannel_logout_uri": "https://rp.example/logout#frag"},
                {"post_logout_redirect_uris": ("http://rp.example/bye",)},
                {"grant_types": ("client_credentials",), "redirect_uris": (),
                 "backchannel_logout_uri": "https://rp.example/logout"}):
        with pytest.raises(ProviderError):
            live_idp.register(**bad)
    client, _secret = live_idp.register(backchannel_logout_uri="http://127.0.0.1:9/logout",
                                        post_logout_redirect_uris=(LOGGED_OUT,))
    found = live_idp.provider.clients.find(client.client_id)
    assert found is not None and found.backchannel_logout_uri == "http://127.0.0.1:9/logout"
    assert found.post_logout_redirect_uris == [LOGGED_OUT]


def test_cli_registers_logout_uris(live_idp: LiveIdp) -> None:
    result = run_cli("clients", "create", "--name", "Logout RP", "--grant",
                     "authorization_code", "--redirect-uri", REDIRECT,
                     "--post-logout-redirect-uri", LOGGED_OUT,
                     "--backchannel-logout-uri", "https://rp.example/bc",
                     env=cli_env(live_idp.settings, EDUTRUST_ISSUER=live_idp.base))
    assert result.returncode == 0, result.stderr.decode()
    document = json.loads(result.stdout)
    assert document["post_logout_redirect_uris"] == [LOGGED_OUT]
    assert document["backchannel_logout_uri"] == "https://rp.example/bc"
