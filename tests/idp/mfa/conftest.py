"""A live EduTrust server for the MFA tests (gunicorn on a free port, its own database)
with login throttling tuned down (4 failures lock an account for 2 seconds), and a
browser that walks the login, second-step and consent pages with requests."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import pyotp
import pytest
import requests

from crypto.jose import JWKSet, decode_jwt
from edutrust.platform import Platform, initialise
from edutrust.settings import Settings
from idp.mfa.service import MultiFactor
from idp.mfa.throttle import ThrottleConfig
from idp.oauth2.clients import ClientRegistration, RegisteredClient
from idp.oauth2.server import Provider, open_provider
from tests.conftest import REDIS_URL, cli_env, free_port, scratch_database, serving
from tests.idp.provider.conftest import Browser, form_fields, pkce_pair, query_of

PASSWORD = "Correct-Horse-42"
SCHOOL = "4101990003"
REDIRECT = "https://rp.example/cb"
MAX_FAILURES = 4
LOCKOUT_SECONDS = 2


@dataclass
class MfaIdp:
    base: str
    settings: Settings
    platform: Platform
    provider: Provider
    mfa: MultiFactor
    client: RegisteredClient
    secret: str

    def url(self, path: str) -> str:
        return self.base + path

    def person(self, role: str = "student") -> tuple[str, str]:
        """A new person with ``role`` at the school: (username, person id). Usernames
        are unique per test run, so throttle counters in a shared Redis never collide."""
        username = f"{role[:3]}-{uuid.uuid4().hex[:10]}"
        person = self.provider.directory.create_person(username, f"Test {role}",
                                                       password=PASSWORD)
        self.provider.directory.add_membership(person.id, SCHOOL, role)
        return username, person.id

    def with_totp(self, person_id: str) -> pyotp.TOTP:
        """Give the person a confirmed authenticator; returns it as an app would hold it."""
        secret = self.mfa.totp.begin_enrollment(person_id)
        app = pyotp.TOTP(secret)
        # Confirmed with the previous step's code, so the current one still logs in.
        assert self.mfa.totp.confirm(person_id, app.at(time.time() - 30))
        return app

    def authorization_url(self, **extra: str) -> tuple[str, str]:
        verifier, challenge = pkce_pair()
        query = {"response_type": "code", "client_id": self.client.client_id,
                 "redirect_uri": REDIRECT, "scope": "openid profile",
                 "state": secrets.token_urlsafe(8), "code_challenge": challenge,
                 "code_challenge_method": "S256", "ui_locales": "en", **extra}
        return "/oauth2/authorize?" + urlencode(query), verifier

    def redeem(self, callback: str, verifier: str) -> dict[str, Any]:
        params = query_of(callback)
        assert "code" in params, params
        response = requests.post(self.url("/oauth2/token"), timeout=30,
                                 auth=(self.client.client_id, self.secret),
                                 data={"grant_type": "authorization_code",
                                       "code": params["code"], "redirect_uri": REDIRECT,
                                       "code_verifier": verifier})
        assert response.status_code == 200, response.text
        token: dict[str, Any] = response.json()
        return token

    def jwks(self) -> JWKSet:
        return JWKSet.from_dict(requests.get(self.url("/oauth2/jwks"), timeout=10).json())

    def id_token(self, token: dict[str, Any]) -> dict[str, Any]:
        claims: dict[str, Any] = decode_jwt(token["id_token"], self.jwks(),
                                            algorithms=["RS256"],
                                            audience=self.client.client_id)
        return claims


@pytest.fixture(scope="session")
def mfa_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MfaIdp]:
    tmp = tmp_path_factory.mktemp("mfa")
    with scratch_database(tmp) as url:
        yield from _mfa_idp(tmp, url)


def _mfa_idp(tmp: Path, url: str) -> Iterator[MfaIdp]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(home=tmp / "home", database_url=url, redis_url=REDIS_URL, issuer=base,
                        master_key_b64=None, lang="en", log_level="WARNING")
    platform = initialise(settings, lambda key, **values: None)
    provider = open_provider(base, platform.sessions, platform.keys, platform.fields)
    provider.directory.create_organisation(SCHOOL, "测试中学", "school")
    client, secret = provider.clients.register(ClientRegistration(
        name="MFA RP", grant_types=("authorization_code", "refresh_token"),
        redirect_uris=(REDIRECT,), first_party=True))
    assert secret is not None
    mfa = MultiFactor.open(platform.sessions, platform.fields, provider.short_lived,
                           ThrottleConfig())
    env = cli_env(settings, EDUTRUST_ISSUER=base, EDUTRUST_LOG_LEVEL="WARNING",
                  EDUTRUST_LOGIN_FREE_FAILURES=str(MAX_FAILURES),
                  EDUTRUST_LOGIN_MAX_FAILURES=str(MAX_FAILURES),
                  EDUTRUST_LOGIN_LOCKOUT_SECONDS=str(LOCKOUT_SECONDS),
                  EDUTRUST_LOGIN_ADDRESS_MAX_FAILURES="1000000")
    try:
        # One worker: without Redis the throttle's counters live in the worker process.
        with serving(env, port, workers=1 if not REDIS_URL else 2):
            yield MfaIdp(base, settings, platform, provider, mfa, client, secret)
    finally:
        platform.engine.dispose()


class MfaBrowser(Browser):
    """A browser that also knows the second-step pages."""

    def follow(self, url: str, stop: str = REDIRECT) -> requests.Response | str:
        """Follow redirects from ``url``; the client's callback URL (a str) or the first
        page that needs input (a response)."""
        for _ in range(12):
            if url.startswith(stop):
                return url
            response = self.get(url)
            if response.status_code in (302, 303):
                url = urljoin(response.url, response.headers["Location"])
                continue
            return response
        raise AssertionError("too many redirects")

    def submit(self, page: requests.Response, action: str, **fields: str) -> requests.Response:
        return self.post(action, {**form_fields(page.text), **fields})

    def then(self, response: requests.Response) -> requests.Response | str:
        """After a POST: follow its redirect, if any."""
        if response.status_code in (302, 303):
            return self.follow(urljoin(response.url, response.headers["Location"]))
        return response


def secret_on_page(html: str) -> str:
    found = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', html)
    assert found, html[:800]
    return found.group(1).replace(" ", "")


def codes_on_page(html: str) -> list[str]:
    return re.findall(r"<li><code>([0-9a-z]{5}-[0-9a-z]{5})</code></li>", html)


def continue_link(html: str) -> str:
    found = re.search(r'<a href="([^"]+)">', html.split("</h1>", 1)[1])
    assert found, html[:800]
    return found.group(1).replace("&amp;", "&")
