"""Brute force and enumeration against the live server (4 failures lock an account for
2 seconds here): unknown and known usernames look the same at every attempt, the lock
holds even for the right password, lifts after the period, and wrong second-factor
codes count against the same account."""

from __future__ import annotations

import re
import time
import uuid

import requests

from tests.idp.mfa.conftest import LOCKOUT_SECONDS, MAX_FAILURES, PASSWORD, MfaBrowser, MfaIdp


def attempt(idp: MfaIdp, username: str, password: str) -> requests.Response:
    browser = MfaBrowser(idp.base)
    browser.http.headers["Accept-Language"] = "en"
    return browser.login(browser.get("/login"), username, password)


def comparable(response: requests.Response, username: str) -> tuple[int, str]:
    body = re.sub(r'name="csrf_token" value="[^"]*"', "", response.text)
    return response.status_code, body.replace(username, "USER")


def test_unknown_and_known_accounts_fail_and_lock_alike_then_unlock(mfa_idp: MfaIdp) -> None:
    known, _person = mfa_idp.person("student")
    unknown = "ghost-" + uuid.uuid4().hex[:10]
    for number in range(1, MAX_FAILURES + 1):
        wrong = attempt(mfa_idp, known, "Wrong-Password-1")
        missing = attempt(mfa_idp, unknown, "Wrong-Password-1")
        assert comparable(wrong, known) == comparable(missing, unknown), number
        if number < MAX_FAILURES:
            assert wrong.status_code == 200 and 'role="alert"' in wrong.text
    assert wrong.status_code == 429 and "Too many" in wrong.text
    assert wrong.headers["Retry-After"] == missing.headers["Retry-After"]
    # Locked: even the right password is not checked, and the page is the same.
    locked = attempt(mfa_idp, known, PASSWORD)
    assert comparable(locked, known) == comparable(attempt(mfa_idp, unknown, PASSWORD),
                                                   unknown)
    assert locked.status_code == 429 and "Set-Cookie" not in locked.headers
    time.sleep(LOCKOUT_SECONDS + 0.5)
    assert attempt(mfa_idp, known, PASSWORD).status_code == 303


def test_wrong_totp_codes_lock_the_account_too(mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("student")
    app = mfa_idp.with_totp(person)
    browser = MfaBrowser(mfa_idp.base)
    page = browser.then(browser.login(browser.get("/login?ui_locales=en"), username,
                                      PASSWORD))
    assert isinstance(page, requests.Response) and 'name="code"' in page.text
    bad = "000000" if app.now() != "000000" else "111111"
    for _ in range(MAX_FAILURES):
        response = browser.submit(page, "/login/mfa/totp", code=bad)
    assert response.status_code == 429
    # The half-finished login is gone, and a right password does not get past the lock.
    assert browser.get("/login/mfa/totp").status_code == 400
    assert attempt(mfa_idp, username, PASSWORD).status_code == 429
    time.sleep(LOCKOUT_SECONDS + 0.5)
    page = browser.then(browser.login(browser.get("/login"), username, PASSWORD))
    assert isinstance(page, requests.Response)
    assert browser.then(browser.submit(page, "/login/mfa/totp", code=app.now())) is not None
