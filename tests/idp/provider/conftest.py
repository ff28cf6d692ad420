"""One live EduTrust server per test process for the provider's end-to-end tests (real
gunicorn on a free loopback port, its own database), people created through the
directory, and a browser that drives the login and consent pages with requests."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from edutrust.platform import Platform, initialise
from edutrust.settings import Settings
from idp.oauth2.clients import ClientRegistration, RegisteredClient
from idp.oauth2.server import Provider, open_provider
from tests.conftest import REDIS_URL, cli_env, free_port, scratch_database, serving

PASSWORD = "Correct-Horse-42"
SCHOOL = "4101990002"


@dataclass
class LiveIdp:
    base: str
    settings: Settings
    platform: Platform
    provider: Provider
    people: dict[str, str]  # username -> person id

    def register(self, **overrides: Any) -> tuple[RegisteredClient, str | None]:
        fields: dict[str, Any] = {
            "name": "Test RP " + uuid.uuid4().hex[:6],
            "grant_types": ("authorization_code", "refresh_token"),
            "redirect_uris": ("https://rp.example/cb",),
        }
        fields.update(overrides)
        return self.provider.clients.register(ClientRegistration(**fields))

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="session")
def live_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIdp]:
    tmp = tmp_path_factory.mktemp("idp")
    with scratch_database(tmp) as url:
        yield from _serve_idp(tmp, url)


def _serve_idp(tmp: Path, url: str) -> Iterator[LiveIdp]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(home=tmp / "home", database_url=url, redis_url=REDIS_URL, issuer=base,
                        master_key_b64=None, lang="en", log_level="WARNING")
    platform = initialise(settings, lambda key, **values: None)
    provider = open_provider(base, platform.sessions, platform.keys, platform.fields)
    directory = provider.directory
    directory.create_organisation(SCHOOL, "测试中学", "school")
    people = {}
    for username, name, role in (("alice", "Alice Zhang", "student"),
                                 ("bob", "Bob Li", "teacher")):
        person = directory.create_person(username, name, password=PASSWORD,
                                         email=f"{username}@school.example")
        directory.add_membership(person.id, SCHOOL, role)
        people[username] = person.id
    env = cli_env(settings, EDUTRUST_ISSUER=base, EDUTRUST_LOG_LEVEL="WARNING")
    try:
        with serving(env, port):
            yield LiveIdp(base, settings, platform, provider, people)
    finally:
        platform.engine.dispose()


# --------------------------------------------------------------------------- browser

def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


class Browser:
    """A person's browser: a cookie jar that follows our pages by hand."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.http.get(urljoin(self.base, url), allow_redirects=False, timeout=30,
                             **kwargs)

    def post(self, url: str, data: dict[str, str], **kwargs: Any) -> requests.Response:
        return self.http.post(urljoin(self.base, url), data=data, allow_redirects=False,
                              timeout=30, **kwargs)

    def login(self, page: requests.Response, username: str, password: str) -> requests.Response:
        assert 'autocomplete="current-password"' in page.text, page.text
        return self.post("/login", {**form_fields(page.text), "username": username,
                                    "password": password})

    def authorize(self, url: str, redirect_uri: str, *, username: str = "alice",
                  password: str = PASSWORD, decision: str = "allow") -> str:
        """Follow an authorization URL through login and consent to the client's
        redirect; returns that final URL."""
        for _ in range(12):
            if url.startswith(redirect_uri):
                return url
            response = self.get(url)
            if response.status_code in (302, 303):
                url = urljoin(response.url, response.headers["Location"])
                continue
            assert response.status_code == 200, (response.status_code, response.text[:500])
            if 'name="password"' in response.text:
                response = self.login(response, username, password)
            elif 'name="decision"' in response.text:
                response = self.post("/oauth2/consent", {**form_fields(response.text),
                                                         "decision": decision})
            else:
                raise AssertionError(f"unexpected page: {response.text[:500]}")
            assert response.status_code in (302, 303), (response.status_code,
                                                        response.text[:500])
            url = urljoin(response.url, response.headers["Location"])
        raise AssertionError("too many redirects")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
