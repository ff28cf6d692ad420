"""Passkeys through the live server's pages and endpoints, with the software
authenticator as the browser's authenticator: registration on the account page, sign-in
username-less and as a second factor, guided enrollment, the tokens' acr/amr, CSRF,
removal, cloned credentials."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import requests
from sqlalchemy import text

from idp.oidc.acr import ACR_PHR
from tests.idp.mfa.conftest import PASSWORD, MfaBrowser, MfaIdp, continue_link
from tests.idp.mfa.passkey_authenticator import SoftAuthenticator
from tests.idp.provider.conftest import form_fields


def past_notices(browser: MfaBrowser,
                 result: requests.Response | str) -> requests.Response | str:
    """Security notices (a passkey was added, ...) are shown once after the next login;
    continue past them."""
    if isinstance(result, requests.Response) and 'class="notices"' in result.text:
        return browser.follow(continue_link(result.text))
    return result


def csrf_of(page: requests.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def options(browser: MfaBrowser, path: str, csrf: str, **body: str) -> dict[str, Any]:
    response = browser.http.post(browser.base + path, json=body, timeout=30,
                                 headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    found: dict[str, Any] = response.json()
    return found


def password_login(idp: MfaIdp, browser: MfaBrowser, username: str) -> None:
    page = browser.get("/login")
    done = browser.then(browser.login(page, username, PASSWORD))
    assert isinstance(done, requests.Response) and done.status_code == 200, done


def add_passkey(idp: MfaIdp, browser: MfaBrowser, authenticator: SoftAuthenticator,
                name: str = "Phone") -> requests.Response:
    page = browser.get("/account/passkeys")
    assert page.status_code == 200
    csrf = csrf_of(page)
    created = authenticator.create(options(browser, "/passkeys/registration/options", csrf,
                                           step="account"))
    return browser.post("/account/passkeys", {"csrf_token": csrf, "name": name,
                                              "credential": json.dumps(created)})


def passkey_sign_in(idp: MfaIdp, browser: MfaBrowser, authenticator: SoftAuthenticator,
                    url: str, username: str = "", **get: Any) -> requests.Response | str:
    """Start at ``url`` (an authorization request), take the passkey link from the
    login page and sign in with the authenticator."""
    login = browser.follow(url)
    assert isinstance(login, requests.Response) and 'name="password"' in login.text
    link = re.search(r'href="(/login/passkey[^"]*)"', login.text)
    assert link, login.text[:800]
    page = browser.get(link.group(1).replace("&amp;", "&"))
    assert page.status_code == 200
    fields = form_fields(page.text)
    request_options = options(browser, "/passkeys/authentication/options",
                              fields["csrf_token"], step="sign_in", username=username)
    assertion = authenticator.get(request_options, **get)
    return past_notices(browser, browser.then(browser.post("/login/passkey", {
        **fields, "username": username, "credential": json.dumps(assertion)})))


def test_passkey_added_on_the_account_page_signs_in_username_less_as_phishing_resistant(
        mfa_idp: MfaIdp) -> None:
    username, _person = mfa_idp.person("student")
    phone = SoftAuthenticator(mfa_idp.base)
    browser = MfaBrowser(mfa_idp.base)
    password_login(mfa_idp, browser, username)
    added = add_passkey(mfa_idp, browser, phone, name="我的手机")
    assert added.status_code == 303, added.text[:500]
    listing = browser.get("/account/passkeys")
    assert "我的手机" in listing.text and "<h1>通行密钥</h1>" in listing.text
    assert "<h1>Passkeys</h1>" in browser.get("/account/passkeys?ui_locales=en").text
    assert "script-src 'self'" in listing.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in listing.headers["Content-Security-Policy"].split(
        "script-src")[1].split(";")[0]

    url, verifier = mfa_idp.authorization_url()
    callback = passkey_sign_in(mfa_idp, MfaBrowser(mfa_idp.base), phone, url)
    assert isinstance(callback, str), callback.text[:500]
    claims = mfa_idp.id_token(mfa_idp.redeem(callback, verifier))
    assert claims["amr"] == ["hwk", "user", "mfa"]
    assert claims["acr"] == ACR_PHR


def test_synced_passkey_after_a_username_reports_swk(mfa_idp: MfaIdp) -> None:
    username, _person = mfa_idp.person("student")
    phone = SoftAuthenticator(mfa_idp.base, backup_eligible=True)
    browser = MfaBrowser(mfa_idp.base)
    password_login(mfa_idp, browser, username)
    assert add_passkey(mfa_idp, browser, phone).status_code == 303
    url, verifier = mfa_idp.authorization_url()
    callback = passkey_sign_in(mfa_idp, MfaBrowser(mfa_idp.base), phone, url,
                               username=username)
    assert isinstance(callback, str), callback.text[:500]
    claims = mfa_idp.id_token(mfa_idp.redeem(callback, verifier))
    assert claims["amr"] == ["swk", "user", "mfa"]


def test_teacher_enrolls_a_passkey_at_login_and_then_uses_it_after_the_password(
        mfa_idp: MfaIdp) -> None:
    username, _person = mfa_idp.person("teacher")
    key = SoftAuthenticator(mfa_idp.base)
    browser = MfaBrowser(mfa_idp.base)
    url, verifier = mfa_idp.authorization_url()
    page = browser.follow(url)
    assert isinstance(page, requests.Response)
    choice = browser.then(browser.login(page, username, PASSWORD))
    assert isinstance(choice, requests.Response)
    assert "/login/mfa/passkey/enroll" in choice.text, choice.text[:800]
    page = browser.get("/login/mfa/passkey/enroll")
    assert page.status_code == 200 and 'data-passkey="create"' in page.text
    csrf = csrf_of(page)
    created = key.create(options(browser, "/passkeys/registration/options", csrf,
                                 step="enroll"))
    done = past_notices(browser, browser.then(browser.post("/login/mfa/passkey/enroll", {
        "csrf_token": csrf, "name": "Key", "credential": json.dumps(created)})))
    assert isinstance(done, str), done.text[:800]
    claims = mfa_idp.id_token(mfa_idp.redeem(done, verifier))
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"]

    # Next time the password leads straight to the passkey step.
    browser = MfaBrowser(mfa_idp.base)
    url, verifier = mfa_idp.authorization_url()
    page = browser.follow(url)
    assert isinstance(page, requests.Response)
    step = browser.then(browser.login(page, username, PASSWORD))
    assert isinstance(step, requests.Response) and 'data-step="second"' in step.text
    # Until the passkey answers, nobody is logged in.
    assert browser.get("/login/done").status_code == 302
    csrf = csrf_of(step)
    # Another person's passkey does not answer for this login.
    stranger = SoftAuthenticator(mfa_idp.base)
    other_name, _ = mfa_idp.person("student")
    other = MfaBrowser(mfa_idp.base)
    password_login(mfa_idp, other, other_name)
    assert add_passkey(mfa_idp, other, stranger).status_code == 303
    second = options(browser, "/passkeys/authentication/options", csrf, step="second")
    assert len(second["allowCredentials"]) == 1
    wrong = browser.post("/login/mfa/passkey", {"csrf_token": csrf, "credential": json.dumps(
        stranger.get({**second, "allowCredentials": []}))})
    assert wrong.status_code == 400 and 'role="alert"' in wrong.text
    second = options(browser, "/passkeys/authentication/options", csrf, step="second")
    done = past_notices(browser, browser.then(browser.post("/login/mfa/passkey", {
        "csrf_token": csrf, "credential": json.dumps(key.get(second))})))
    assert isinstance(done, str), done.text[:800]
    claims = mfa_idp.id_token(mfa_idp.redeem(done, verifier))
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"] and claims["acr"] == ACR_PHR


def test_options_need_the_csrf_header_and_registration_needs_a_login(
        mfa_idp: MfaIdp) -> None:
    browser = MfaBrowser(mfa_idp.base)
    page = browser.get("/login/passkey")
    csrf = csrf_of(page)
    for path in ("/passkeys/authentication/options", "/passkeys/registration/options"):
        refused = browser.http.post(mfa_idp.url(path), json={}, timeout=10)
        assert refused.status_code == 403
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["type"].startswith("urn:edutrust:problem:")
    anonymous = browser.http.post(mfa_idp.url("/passkeys/registration/options"),
                                  json={"step": "account"}, headers={"X-CSRF-Token": csrf},
                                  timeout=10)
    assert anonymous.status_code == 401
    assert browser.http.post(mfa_idp.url("/passkeys/authentication/options"),
                             json={"step": "second"}, headers={"X-CSRF-Token": csrf},
                             timeout=10).status_code == 401
    # A body that is not a JSON object counts as empty (discoverable sign-in).
    odd = browser.http.post(mfa_idp.url("/passkeys/authentication/options"), json=[1, 2],
                            headers={"X-CSRF-Token": csrf}, timeout=10)
    assert odd.status_code == 200 and odd.json()["userVerification"] == "required"


def test_garbage_credential_gets_the_page_again_not_an_error(mfa_idp: MfaIdp) -> None:
    browser = MfaBrowser(mfa_idp.base)
    page = browser.get("/login/passkey")
    fields = form_fields(page.text)
    for credential in ("", "not json", "[]", json.dumps({"response": {}}), "x" * 70000):
        answer = browser.post("/login/passkey", {**fields, "credential": credential})
        assert answer.status_code == 400 and 'role="alert"' in answer.text
    assert browser.post("/login/passkey", {**fields, "csrf_token": "forged"}).status_code == 403


def test_removing_a_passkey_needs_a_recent_login_and_then_it_is_refused(
        mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("student")
    phone = SoftAuthenticator(mfa_idp.base)
    browser = MfaBrowser(mfa_idp.base)
    password_login(mfa_idp, browser, username)
    assert add_passkey(mfa_idp, browser, phone).status_code == 303
    page = browser.get("/account/passkeys")
    passkey_id = re.search(r'data-passkey-id="([^"]+)"', page.text)
    assert passkey_id
    remove = f"/account/passkeys/{passkey_id.group(1)}/remove"
    # A login older than ten minutes may not remove it.
    with mfa_idp.platform.engine.begin() as conn:
        conn.execute(text("UPDATE idp_login_sessions SET auth_time = :old "
                          "WHERE person_id = :p"),
                     {"old": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30),
                      "p": person})
    stale = browser.post(remove, {"csrf_token": csrf_of(page)})
    assert stale.status_code == 403 and 'role="alert"' in stale.text
    assert passkey_id.group(1) in browser.get("/account/passkeys").text
    # Nor add one: an intruder in an old session cannot plant their own passkey.
    refused = browser.http.post(mfa_idp.url("/passkeys/registration/options"),
                                json={"step": "account"},
                                headers={"X-CSRF-Token": csrf_of(page)}, timeout=10)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    planted = browser.post("/account/passkeys", {"csrf_token": csrf_of(page), "name": "x",
                                                 "credential": "{}"})
    assert planted.status_code == 403
    # After signing in again (with the passkey, now that there is one) it may.
    again = passkey_sign_in(mfa_idp, browser, phone, "/login")
    assert isinstance(again, requests.Response) and again.url.endswith("/login/done")
    page = browser.get("/account/passkeys")
    assert browser.post(remove, {"csrf_token": csrf_of(page)}).status_code == 303
    assert passkey_id.group(1) not in browser.get("/account/passkeys").text
    url, _ = mfa_idp.authorization_url()
    refused = passkey_sign_in(mfa_idp, MfaBrowser(mfa_idp.base), phone, url)
    assert isinstance(refused, requests.Response) and refused.status_code == 400


def audited(idp: MfaIdp, person: str) -> list[tuple[str, dict[str, Any]]]:
    with idp.platform.engine.connect() as conn:
        rows = conn.execute(text("SELECT event, details FROM audit_entries "
                                 "WHERE person_id = :p ORDER BY seq"), {"p": person})
        return [(event, json.loads(details)) for event, details in rows]


def test_a_cloned_passkey_is_refused_flagged_and_audited(mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("student")
    phone = SoftAuthenticator(mfa_idp.base)
    browser = MfaBrowser(mfa_idp.base)
    password_login(mfa_idp, browser, username)
    assert add_passkey(mfa_idp, browser, phone).status_code == 303
    url, _ = mfa_idp.authorization_url()
    assert isinstance(passkey_sign_in(mfa_idp, MfaBrowser(mfa_idp.base), phone, url,
                                      counter=10), str)
    clone = passkey_sign_in(mfa_idp, MfaBrowser(mfa_idp.base), phone, url, counter=4)
    assert isinstance(clone, requests.Response) and clone.status_code == 400
    assert 'id="passkey-error"' in clone.text
    assert 'class="error"' in browser.get("/account/passkeys").text
    # The owner is told (the account page lists security notices), and it is audited.
    assert "可能已被复制" in browser.get("/account/security").text
    trail = audited(mfa_idp, person)
    added = [d for e, d in trail if e == "factor.added"]
    assert added and added[0]["factor"] == "passkey" and added[0]["format"] == "none"
    assert ("login.succeeded", {"method": "hwk"}) in trail
    regression = [d for e, d in trail if e == "passkey.counter_regression"]
    assert regression and regression[0]["stored"] == 10 and regression[0]["received"] == 4


def test_login_page_links_to_passkeys_and_the_script_is_served_from_our_origin(
        mfa_idp: MfaIdp) -> None:
    browser = MfaBrowser(mfa_idp.base)
    assert 'href="/login/passkey' in browser.get("/login").text
    page = browser.get("/login/passkey")
    assert 'autocomplete="username webauthn"' in page.text
    assert '<script src="/idp/static/passkeys.js"' in page.text
    script = browser.get("/idp/static/passkeys.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["Content-Type"]
    assert "navigator.credentials.get" in script.text


def test_a_person_with_totp_cannot_replace_it_by_enrolling_a_passkey_at_login(
        mfa_idp: MfaIdp) -> None:
    """Knowing the password is not enough to pass the second step by registering a new
    passkey in place of the existing factor."""
    username, person = mfa_idp.person("teacher")
    mfa_idp.with_totp(person)
    browser = MfaBrowser(mfa_idp.base)
    url, _ = mfa_idp.authorization_url()
    page = browser.follow(url)
    assert isinstance(page, requests.Response)
    step = browser.then(browser.login(page, username, PASSWORD))
    assert isinstance(step, requests.Response) and 'autocomplete="one-time-code"' in step.text
    csrf = csrf_of(step)
    refused = browser.http.post(mfa_idp.url("/passkeys/registration/options"),
                                json={"step": "enroll"}, headers={"X-CSRF-Token": csrf},
                                timeout=10)
    assert refused.status_code == 401
    enroll = browser.get("/login/mfa/passkey/enroll")
    assert enroll.status_code == 303 and "passkey" not in enroll.headers["Location"]
    attacker = SoftAuthenticator(mfa_idp.base)
    fake_options = {"rp": {"id": "127.0.0.1", "name": "EduTrust"},
                    "user": {"id": "AAAA", "name": username}, "challenge": "AAAA"}
    posted = browser.post("/login/mfa/passkey/enroll", {
        "csrf_token": csrf, "name": "mine", "credential": json.dumps(
            attacker.create(fake_options))})
    assert posted.status_code == 303 and "passkey" not in posted.headers["Location"]
    assert browser.get("/login/done").status_code == 302   # still not logged in
    with mfa_idp.platform.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM webauthn_credentials "
                                "WHERE person_id = :p"), {"p": person}) == 0
