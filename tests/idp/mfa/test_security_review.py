"""Attacks from the security review of the login's second step and the account pages,
against the live server: each test fails without the fix it names."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pyotp
import requests

from tests.idp.mfa.conftest import (
    PASSWORD,
    SCHOOL,
    MfaBrowser,
    MfaIdp,
    codes_on_page,
    secret_on_page,
)
from tests.idp.mfa.passkey_authenticator import SoftAuthenticator
from tests.idp.mfa.test_login_flow import password_step
from tests.idp.mfa.test_passkeys_web import add_passkey, password_login


def test_a_session_older_than_a_stricter_policy_cannot_skip_the_second_step(
        mfa_idp: MfaIdp) -> None:
    # A student (no factor needed) logs in with the password only ...
    username, person = mfa_idp.person("student")
    browser = MfaBrowser(mfa_idp.base)
    callback, _ = password_step(browser, mfa_idp, username)
    assert isinstance(callback, str)
    # ... then becomes a teacher, whose logins need a second factor (policy default).
    mfa_idp.provider.directory.add_membership(person, SCHOOL, "teacher")
    # The old password-only session must not yield a code nor staff pages any more.
    url, _ = mfa_idp.authorization_url()
    page = browser.follow(url)
    assert isinstance(page, requests.Response), "a code was issued to a pwd-only session"
    assert 'name="password"' in page.text
    assert browser.get("/account/security").status_code == 303
    assert browser.get("/password/reset-links").status_code == 302


def test_adding_an_authenticator_next_to_a_passkey_needs_the_password(
        mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("student")
    browser = MfaBrowser(mfa_idp.base)
    password_login(mfa_idp, browser, username)
    assert add_passkey(mfa_idp, browser, SoftAuthenticator(mfa_idp.base)).status_code == 303
    # An intruder in this session plants their own app (and would get recovery codes).
    page = browser.get("/account/security/totp?ui_locales=en")
    assert page.status_code == 200 and 'name="password"' in page.text
    app = pyotp.TOTP(secret_on_page(page.text))
    planted = browser.submit(page, "/account/security/totp", code=app.now())
    assert planted.status_code == 400 and not codes_on_page(planted.text)
    assert not mfa_idp.mfa.totp.enrolled(person)
    # The owner, who knows the password, may.
    page = browser.get("/account/security/totp?ui_locales=en")
    added = browser.submit(page, "/account/security/totp", code=app.now(), password=PASSWORD)
    assert added.status_code == 200 and codes_on_page(added.text)
    assert mfa_idp.mfa.totp.enrolled(person)


def _race(browsers: list[MfaBrowser], pages: list[requests.Response], action: str,
          code: str) -> list[requests.Response | str]:
    """Submit one code from several browsers at the same moment."""
    barrier = threading.Barrier(len(browsers))

    def submit(index: int) -> requests.Response | str:
        barrier.wait()
        return browsers[index].then(browsers[index].submit(pages[index], action, code=code))

    with ThreadPoolExecutor(len(browsers)) as pool:
        return list(pool.map(submit, range(len(browsers))))


def test_one_totp_code_or_recovery_code_sent_concurrently_logs_in_once(
        mfa_idp: MfaIdp) -> None:
    for action in ("/login/mfa/totp", "/login/mfa/recovery"):
        # A person per round: the losers' failures stay below the throttle's limits.
        username, person = mfa_idp.person("student")
        app = mfa_idp.with_totp(person)
        spare = mfa_idp.mfa.recovery.regenerate(person)[0]
        code = spare if action.endswith("recovery") else app.now()
        browsers = [MfaBrowser(mfa_idp.base) for _ in range(3)]
        pages = []
        for browser in browsers:
            page, _ = password_step(browser, mfa_idp, username)
            assert isinstance(page, requests.Response)
            pages.append(browser.get(action) if action.endswith("recovery") else page)
        results = _race(browsers, pages, action, code)
        logged_in = [r for r in results if isinstance(r, str)
                     or (r.status_code == 200 and 'class="notices"' in r.text)]
        assert len(logged_in) == 1, [getattr(r, "status_code", r) for r in results]
