"""End-to-end flows against the live server with the certified relying-party library
openid-client (npm, v6), run by Node through openid_client_rp.mjs; a scripted browser
plays the person at the login and consent pages.

openid-client verifies ID tokens with WebCrypto, which has no SM2, so it checks the
ES256 and RS256 clients; SM2 ID tokens are checked in test_flows.py. Besides the code
flow with every endpoint, openid-client pushes an authorization request (PAR), checks
the ID token a refresh returns, and builds an RP-Initiated Logout request. `make test`
installs the pinned npm packages (package.json, package-lock.json) before the suite
runs; without `node` on the machine these tests skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.idp.provider.conftest import Browser, LiveIdp, query_of

NODE = shutil.which("node")
SCRIPT = Path(__file__).with_name("openid_client_rp.mjs")
REDIRECT = "https://rp.example/cb"
SCOPE = "openid profile email"

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: the "
                                "openid-client interop tests need Node.js 20 or later")


def run_rp(step: str, **args: Any) -> dict[str, Any]:
    assert (ROOT / "node_modules" / "openid-client").is_dir(), (
        "node_modules is missing: run `make test` (it runs `npm ci`) or `npm ci`")
    done = subprocess.run([NODE or "node", str(SCRIPT), json.dumps({"step": step, **args})],
                          cwd=ROOT, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, f"openid-client {step} failed: {done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_openid_client_completes_the_code_flow_and_every_endpoint(live_idp: LiveIdp,
                                                                   alg: str) -> None:
    client, secret = live_idp.register(
        id_token_alg=alg, redirect_uris=(REDIRECT,),
        grant_types=("authorization_code", "refresh_token", "client_credentials"))
    assert secret is not None
    common = {"issuer": live_idp.base, "client_id": client.client_id,
              "client_secret": secret, "redirect_uri": REDIRECT, "id_token_alg": alg,
              "scope": SCOPE}
    request = run_rp("authorize", **common)
    callback = Browser(live_idp.base).authorize(request["authorization_url"], REDIRECT)
    seen = run_rp("complete", callback_url=callback, code_verifier=request["code_verifier"],
                  state=request["state"], nonce=request["nonce"], **common)

    assert seen["wrong_state"]["code"] == "OAUTH_INVALID_RESPONSE"
    assert seen["id_token_header"]["alg"] == alg
    claims = seen["id_token_claims"]
    assert claims["iss"] == live_idp.base and claims["aud"] == client.client_id
    assert claims["nonce"] == request["nonce"]
    assert claims["name"] == "Alice Zhang" and claims["sub"] != live_idp.people["alice"]
    assert seen["token_type"] == "bearer"
    assert seen["code_replay"]["error"] == "invalid_grant"

    assert seen["refresh_rotated"] and seen["access_renewed"]
    assert seen["userinfo"]["sub"] == claims["sub"]
    assert seen["userinfo"]["email"] == "alice@school.example"
    introspection = seen["introspection"]
    assert introspection["active"] is True and introspection["client_id"] == client.client_id
    assert introspection["scope"] == SCOPE and introspection["iss"] == live_idp.base

    assert seen["old_refresh_token"]["error"] == "invalid_grant"
    assert seen["access_after_reuse"] == {"active": False}
    assert seen["refresh_after_reuse"] == {"active": False}

    service = seen["client_credentials"]
    assert service["token_type"] == "bearer" and not service["has_refresh_token"]
    assert service["introspection"]["active"] is True
    assert service["introspection"]["sub"] == client.client_id
    assert service["introspection"]["scope"] == "profile"
    assert service["introspection_after_revocation"] == {"active": False}


def test_openid_client_pushes_the_request_refreshes_and_logs_out(live_idp: LiveIdp) -> None:
    logged_out = "https://rp.example/logged-out"
    client, secret = live_idp.register(id_token_alg="ES256", redirect_uris=(REDIRECT,),
                                       post_logout_redirect_uris=(logged_out,))
    common = {"issuer": live_idp.base, "client_id": client.client_id,
              "client_secret": secret, "redirect_uri": REDIRECT, "id_token_alg": "ES256",
              "scope": SCOPE}
    request = run_rp("par_authorize", **common)
    pushed = query_of(request["authorization_url"])
    assert set(pushed) == {"client_id", "request_uri"}  # everything else was pushed
    browser = Browser(live_idp.base)
    callback = browser.authorize(request["authorization_url"], REDIRECT)
    seen = run_rp("par_complete", callback_url=callback,
                  code_verifier=request["code_verifier"], state=request["state"],
                  nonce=request["nonce"], post_logout_redirect_uri=logged_out, **common)

    first, renewed = seen["id_token_claims"], seen["refresh_id_token_claims"]
    assert first["nonce"] == request["nonce"] and renewed is not None
    for claim in ("iss", "sub", "aud", "auth_time", "acr", "amr", "sid"):
        assert renewed[claim] == first[claim], claim
    assert "nonce" not in renewed

    # RP-initiated logout with the refreshed ID token as hint ends the session at once.
    response = browser.get(seen["end_session_url"])
    assert response.status_code in (302, 303), response.text[:300]
    back = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(logged_out)
    assert back["state"] == seen["logout_state"]
    again = run_rp("par_authorize", **common)
    page = browser.get(again["authorization_url"])
    assert page.status_code in (302, 303) and "/login" in page.headers["Location"]
