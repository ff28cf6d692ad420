"""The demo: ``edutrust init --demo`` creates a demo school (registered to issue archive
entries) with a teacher and a student (passwords printed once) and a confidential demo
client; ``/demo/`` is a tiny relying
party that logs in through the real authorization code flow (PKCE, state, nonce), calls
the token endpoint over HTTP like any other platform would, verifies the SM2-signed ID
token against the published JWKS and shows its claims.

The demo client's secret is kept in ``$EDUTRUST_HOME/demo-client.json`` (mode 0600) so
the demo pages can use it; nothing else reads that file.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, redirect, render_template_string, request

from crypto.errors import CryptoError
from crypto.jose import ALG_SM2, JWKSet, decode_jwt
from crypto.sm3 import hmac_sm3, sm3
from edutrust import i18n
from edutrust.platform import Platform
from idp.directory import DirectoryError
from idp.oauth2.clients import ClientRegistration
from idp.oauth2.server import open_provider
from idp.oauth2.signing import half_hash

DEMO_CLIENT_NAME = "EduTrust 演示应用 (demo)"
SCHOOL_CODE = "4101990001"
SCHOOL_NAME = "EduTrust 演示中学"
TEACHER = ("demo.teacher", "王老师", "teacher")
STUDENT = ("demo.student", "李同学", "student")
SCOPE = "openid profile email edu"
_COOKIE = "edutrust_demo_rp"
_TIMEOUT = 10


def demo_file(platform: Platform) -> Path:
    return platform.settings.home / "demo-client.json"


def _password() -> str:
    # Two classes at least (letters/digits from token_urlsafe, plus "-"), 16+ characters.
    return f"{secrets.token_urlsafe(12)}-{secrets.randbelow(90) + 10}"


def create_demo(platform: Platform, say: Callable[..., None]) -> dict[str, Any] | None:
    """Create the demo school, people and client unless they exist; returns the
    credentials (shown once) or ``None`` when the demo was there already."""
    provider = open_provider(platform.settings.issuer, platform.sessions, platform.keys,
                             platform.fields)
    if provider.clients.find_by_name(DEMO_CLIENT_NAME) is not None and demo_file(platform).exists():
        say("demo.exists")
        return None
    directory = provider.directory
    if directory.find_organisation(SCHOOL_CODE) is None:
        directory.create_organisation(SCHOOL_CODE, SCHOOL_NAME, "school")
    # The school may also issue archive entries (its key and certificate), so that its
    # teacher can try the records API (docs/api.md).
    from edutrust.records_setup import open_issuers

    open_issuers(platform).register(SCHOOL_CODE, SCHOOL_NAME, "school",
                                    issues=["archive_entry"])
    people: dict[str, dict[str, str]] = {}
    for username, display_name, role in (TEACHER, STUDENT):
        password = _password()
        existing = directory.find_by_username(username)
        if existing is None:
            person = directory.create_person(username, display_name, password=password,
                                             email=f"{username}@demo.edutrust.invalid")
        else:
            directory.set_password(existing.id, password)
            person = existing
        with contextlib.suppress(DirectoryError):  # already a member
            directory.add_membership(person.id, SCHOOL_CODE, role)
        people[role] = {"username": username, "password": password}
    redirect_uri = platform.settings.issuer.rstrip("/") + "/demo/callback"
    client, secret = provider.clients.register(ClientRegistration(
        name=DEMO_CLIENT_NAME, grant_types=("authorization_code", "refresh_token"),
        redirect_uris=(redirect_uri,), id_token_alg=ALG_SM2))
    assert secret is not None
    path = demo_file(platform)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"client_id": client.client_id, "client_secret": secret,
                   "redirect_uri": redirect_uri}, fh)
    say("demo.created")
    url = platform.settings.issuer.rstrip("/") + "/demo/"
    say("demo.login", url=url, teacher=TEACHER[0], teacher_password=people["teacher"]["password"],
        student=STUDENT[0], student_password=people["student"]["password"])
    return {"url": url, "teacher": people["teacher"], "student": people["student"],
            "client": {"client_id": client.client_id, "redirect_uri": redirect_uri}}


# --------------------------------------------------------------------------- the RP

_PAGE = """<!doctype html>
<html lang="{{ 'zh-CN' if lang == 'zh' else lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t("demo.page.title") }}</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:44rem;
margin:2rem auto;padding:0 1rem;line-height:1.5}pre{background:#f5f6f8;padding:1rem;
overflow:auto;border:1px solid #d0d7de}a.button{display:inline-block;padding:.6rem 1.2rem;
background:#1f6feb;color:#fff;border-radius:4px;text-decoration:none}</style></head>
<body><h1>{{ t("demo.page.title") }}</h1>
{% if error %}<p role="alert">{{ t("demo.page.failed", reason=error) }}</p>{% endif %}
{% if claims %}<h2>{{ t("demo.page.claims", alg=alg) }}</h2><pre>{{ claims }}</pre>
<h2>UserInfo</h2><pre>{{ userinfo }}</pre>{% endif %}
{% if configured %}<p><a class="button" href="login">{{ t("demo.page.login") }}</a></p>
{% else %}<p>{{ t("demo.page.not_configured") }}</p>{% endif %}
</body></html>"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class DemoRelyingParty:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.issuer = platform.settings.issuer.rstrip("/")

    def _client(self) -> dict[str, str] | None:
        try:
            data: dict[str, str] = json.loads(demo_file(self.platform).read_text())
        except (OSError, ValueError):
            return None
        return data

    def _page(self, status: int = 200, **context: Any) -> Response:
        lang = i18n.negotiate(request.args.get("ui_locales"), list(request.accept_languages))
        body = render_template_string(_PAGE, t=i18n.translator(lang), lang=lang,
                                      configured=self._client() is not None, **context)
        return Response(body, status=status, content_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store"})

    # Transaction state (state, nonce, PKCE verifier) rides in an HMAC-SM3-sealed cookie,
    # so any worker can finish the login.
    @staticmethod
    def _seal(client: dict[str, str], state: dict[str, str]) -> str:
        body = _b64(json.dumps(state).encode())
        key = sm3(client["client_secret"].encode())
        return body + "." + _b64(hmac_sm3(key, body.encode()))

    @staticmethod
    def _open(client: dict[str, str], value: str) -> dict[str, str] | None:
        body, _, tag = value.partition(".")
        key = sm3(client["client_secret"].encode())
        try:
            if not hmac.compare_digest(_unb64(tag), hmac_sm3(key, body.encode())):
                return None
            state: dict[str, str] = json.loads(_unb64(body))
        except (binascii.Error, ValueError):
            return None
        return state

    @staticmethod
    def _get_json(url: str, headers: dict[str, str] | None = None,
                  data: bytes | None = None) -> Any:
        """GET (or POST ``data``) one of the provider's own http(s) endpoints."""
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {url}")
        req = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
        with urllib.request.urlopen(req, timeout=_TIMEOUT) as resp:  # noqa: S310
            return json.loads(resp.read())

    def index(self) -> Response:
        return self._page()

    def login(self) -> Response:
        client = self._client()
        if client is None:
            return self._page(404)
        state = {"state": secrets.token_urlsafe(16), "nonce": secrets.token_urlsafe(16),
                 "verifier": secrets.token_urlsafe(48)}
        challenge = _b64(hashlib.sha256(state["verifier"].encode()).digest())
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": client["client_id"],
            "redirect_uri": client["redirect_uri"], "scope": SCOPE, "state": state["state"],
            "nonce": state["nonce"], "code_challenge": challenge,
            "code_challenge_method": "S256"})
        response = redirect(f"{self.issuer}/oauth2/authorize?{query}")
        response.set_cookie(_COOKIE, self._seal(client, state), path="/demo/", httponly=True,
                            samesite="Lax", secure=self.issuer.startswith("https://"))
        return response  # type: ignore[return-value]

    def callback(self) -> Response:
        client = self._client()
        sealed = request.cookies.get(_COOKIE, "")
        state = self._open(client, sealed) if client and sealed else None
        if client is None or state is None:
            return self._page(400, error="no login in progress")
        if not hmac.compare_digest(request.args.get("state", ""), state["state"]):
            return self._page(400, error="state mismatch")
        if request.args.get("iss") != self.issuer:
            return self._page(400, error="iss mismatch (RFC 9207)")
        if "error" in request.args:
            return self._page(400, error=request.args.get("error", ""))
        try:
            return self._finish(client, state, request.args.get("code", ""))
        except (urllib.error.URLError, CryptoError, ValueError, KeyError) as exc:
            return self._page(400, error=f"{type(exc).__name__}: {exc}")

    def _finish(self, client: dict[str, str], state: dict[str, str], code: str) -> Response:
        metadata = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
        form = urllib.parse.urlencode({
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": client["redirect_uri"], "code_verifier": state["verifier"]})
        basic = base64.b64encode(
            f"{urllib.parse.quote(client['client_id'])}:"
            f"{urllib.parse.quote(client['client_secret'])}".encode()).decode()
        tokens = self._get_json(metadata["token_endpoint"], data=form.encode(), headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded"})
        keys = JWKSet.from_dict(self._get_json(metadata["jwks_uri"]))
        claims = decode_jwt(tokens["id_token"], keys, algorithms=[ALG_SM2],
                            audience=client["client_id"], issuer=self.issuer,
                            required=("exp", "iat", "sub", "aud", "iss", "nonce"))
        if not hmac.compare_digest(str(claims["nonce"]), state["nonce"]):
            raise ValueError("nonce mismatch")
        if claims.get("at_hash") != half_hash(tokens["access_token"], ALG_SM2):
            raise ValueError("at_hash mismatch")
        userinfo = self._get_json(metadata["userinfo_endpoint"],
                                  {"Authorization": f"Bearer {tokens['access_token']}"})
        response = self._page(claims=json.dumps(claims, ensure_ascii=False, indent=2),
                              userinfo=json.dumps(userinfo, ensure_ascii=False, indent=2),
                              alg=ALG_SM2)
        response.delete_cookie(_COOKIE, path="/demo/")
        return response


def demo_blueprint(platform: Platform) -> Blueprint:
    blueprint = Blueprint("demo", __name__, url_prefix="/demo")
    rp = DemoRelyingParty(platform)
    blueprint.add_url_rule("/", "index", rp.index)
    blueprint.add_url_rule("/login", "login", rp.login)
    blueprint.add_url_rule("/callback", "callback", rp.callback)
    return blueprint
