"""RFC 9470 end to end: a resource server that needs a multi-factor login rejects a
password-only access token with an ``insufficient_user_authentication`` challenge; the
client sends the person back with the challenge's ``acr_values``, the person steps up
with their authenticator app, and the new token gets through."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from crypto.errors import InvalidToken
from idp.oauth2.rfc9068 import verify_access_token
from idp.oauth2.rfc9470 import insufficient
from idp.oidc.acr import ACR_MFA, ACR_PWD
from tests.conftest import free_port
from tests.idp.mfa.conftest import PASSWORD, MfaBrowser, MfaIdp


@pytest.fixture
def grades_api(mfa_idp: MfaIdp) -> Iterator[str]:
    """A resource server: GET /grades needs an access token of a multi-factor login."""
    keys = mfa_idp.jwks()

    @Request.application  # type: ignore[misc]
    def app(request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            claims = verify_access_token(header[7:], keys, issuer=mfa_idp.base,
                                         audience=mfa_idp.base)
        except InvalidToken:
            return Response(status=401,
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        challenge = insufficient(claims, acr_values=[ACR_MFA])
        if challenge is not None:
            return Response(status=401, headers={"WWW-Authenticate": challenge})
        return Response('{"grades": []}', content_type="application/json")

    port = free_port()
    server = make_server("127.0.0.1", port, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/grades"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_step_up_challenge_round_trip(mfa_idp: MfaIdp, grades_api: str) -> None:
    username, person = mfa_idp.person("student")
    browser = MfaBrowser(mfa_idp.base)
    url, verifier = mfa_idp.authorization_url()
    callback = browser.then(browser.login(browser.follow(url), username, PASSWORD))  # type: ignore[arg-type]
    assert isinstance(callback, str)
    token = mfa_idp.redeem(callback, verifier)
    assert mfa_idp.id_token(token)["acr"] == ACR_PWD
    app = mfa_idp.with_totp(person)  # set up later, e.g. on the account page

    refused = requests.get(grades_api, timeout=10,
                           headers={"Authorization": f"Bearer {token['access_token']}"})
    assert refused.status_code == 401
    header = refused.headers["WWW-Authenticate"]
    assert header.startswith("Bearer ")
    assert 'error="insufficient_user_authentication"' in header
    found = re.search(r'acr_values="([^"]+)"', header)
    assert found and found.group(1) == ACR_MFA

    # The client re-authorises with the challenge's acr_values: step-up, second factor only.
    url, verifier = mfa_idp.authorization_url(acr_values=found.group(1))
    page = browser.follow(url)
    assert isinstance(page, requests.Response) and 'name="password"' not in page.text
    callback = browser.then(browser.submit(page, "/login/mfa/totp", code=app.now()))
    assert isinstance(callback, str)
    stepped = mfa_idp.redeem(callback, verifier)
    allowed = requests.get(grades_api, timeout=10,
                           headers={"Authorization": f"Bearer {stepped['access_token']}"})
    assert allowed.status_code == 200 and allowed.json() == {"grades": []}
