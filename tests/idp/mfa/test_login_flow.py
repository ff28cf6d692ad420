"""The login's second step against the live server: TOTP with pyotp as the app, guided
enrollment forced by the organisation's policy, recovery codes, step-up with
``acr_values`` and ``claims``, and the account page's re-authentication."""

from __future__ import annotations

import json
import time

import pyotp
import requests
from sqlalchemy import text

from crypto.jose import decode_jwt
from idp.oidc.acr import ACR_MFA, ACR_PWD
from tests.idp.mfa.conftest import (
    PASSWORD,
    MfaBrowser,
    MfaIdp,
    codes_on_page,
    continue_link,
    secret_on_page,
)


def password_step(browser: MfaBrowser, idp: MfaIdp, username: str,
                  **extra: str) -> tuple[requests.Response | str, str]:
    url, verifier = idp.authorization_url(**extra)
    page = browser.follow(url)
    assert isinstance(page, requests.Response) and 'name="password"' in page.text
    return browser.then(browser.login(page, username, PASSWORD)), verifier


def totp_enrollment(browser: MfaBrowser, page: requests.Response | str) -> requests.Response:
    """From guided enrollment (a choice of factors, or TOTP directly) to the TOTP page."""
    assert isinstance(page, requests.Response), page
    if "<svg" not in page.text:
        assert "/login/mfa/totp/enroll" in page.text, page.text[:800]
        page = browser.get("/login/mfa/totp/enroll")
    assert page.status_code == 200 and "<svg" in page.text, page.text[:800]
    return page


def access_claims(idp: MfaIdp, token: dict[str, str]) -> dict[str, object]:
    claims: dict[str, object] = decode_jwt(token["access_token"], idp.jwks(),
                                           algorithms=["SM2", "ES256", "RS256"],
                                           audience=idp.base)
    return claims


def test_a_person_with_totp_is_asked_for_a_code_and_tokens_say_so(mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("student")
    app = mfa_idp.with_totp(person)
    browser = MfaBrowser(mfa_idp.base)
    page, verifier = password_step(browser, mfa_idp, username)
    assert isinstance(page, requests.Response) and 'autocomplete="one-time-code"' in page.text
    # Until the code is given, the session is not logged in.
    assert browser.get("/login/done").status_code == 302
    wrong = browser.submit(page, "/login/mfa/totp", code="000000" if app.now() != "000000"
                           else "111111")
    assert wrong.status_code == 400 and 'role="alert"' in wrong.text
    callback = browser.then(browser.submit(wrong, "/login/mfa/totp", code=app.now()))
    assert isinstance(callback, str), callback.text[:500]
    token = mfa_idp.redeem(callback, verifier)
    claims = mfa_idp.id_token(token)
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == ACR_MFA
    at = access_claims(mfa_idp, token)
    assert at["acr"] == ACR_MFA and at["auth_time"] == claims["auth_time"]


def test_a_replayed_totp_code_is_refused_in_another_login(mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("student")
    app = mfa_idp.with_totp(person)
    code = app.now()
    first = MfaBrowser(mfa_idp.base)
    page, _ = password_step(first, mfa_idp, username)
    assert isinstance(page, requests.Response)
    assert isinstance(first.then(first.submit(page, "/login/mfa/totp", code=code)), str)
    second = MfaBrowser(mfa_idp.base)
    page, _ = password_step(second, mfa_idp, username)
    assert isinstance(page, requests.Response)
    replay = second.submit(page, "/login/mfa/totp", code=code)
    assert replay.status_code == 400 and 'role="alert"' in replay.text


def test_policy_forces_a_teacher_through_totp_enrollment_before_login_completes(
        mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("teacher")
    browser = MfaBrowser(mfa_idp.base)
    first, verifier = password_step(browser, mfa_idp, username)
    page = totp_enrollment(browser, first)
    assert browser.get("/login/done").status_code == 302  # not logged in yet
    app = pyotp.TOTP(secret_on_page(page.text))
    shown = browser.submit(page, "/login/mfa/totp/enroll", code=app.now())
    codes = codes_on_page(shown.text)
    assert shown.status_code == 200 and len(codes) == 10 and len(set(codes)) == 10
    callback = browser.follow(continue_link(shown.text))
    assert isinstance(callback, str)
    claims = mfa_idp.id_token(mfa_idp.redeem(callback, verifier))
    assert claims["acr"] == ACR_MFA and "otp" in claims["amr"]
    assert mfa_idp.mfa.totp.enrolled(person) and mfa_idp.mfa.recovery.remaining(person) == 10


def test_a_recovery_code_works_once_and_the_next_login_tells_the_person(
        mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("student")
    app = mfa_idp.with_totp(person)
    code = mfa_idp.mfa.recovery.regenerate(person)[3]
    browser = MfaBrowser(mfa_idp.base)
    page, verifier = password_step(browser, mfa_idp, username)
    assert isinstance(page, requests.Response) and "/login/mfa/recovery" in page.text
    recovery = browser.get("/login/mfa/recovery")
    callback = browser.then(browser.submit(recovery, "/login/mfa/recovery",
                                           code=code.upper()))
    assert isinstance(callback, str)
    assert mfa_idp.id_token(mfa_idp.redeem(callback, verifier))["acr"] == ACR_MFA
    again = MfaBrowser(mfa_idp.base)
    password_step(again, mfa_idp, username)
    page = again.get("/login/mfa/recovery")
    refused = again.submit(page, "/login/mfa/recovery", code=code)
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert mfa_idp.mfa.recovery.remaining(person) == 9
    audit = mfa_idp.provider.audit
    assert audit is not None
    mine = [(e["event"], e["details"]) for e in audit.entries() if e["person_id"] == person]
    assert ("recovery_code.used", {"left": 9}) in mine
    assert ("mfa.failed", {"method": "recovery"}) in mine
    # The next completed login shows what happened, once.
    page = again.get("/login/mfa/totp")
    notice = again.submit(page, "/login/mfa/totp", code=app.now())
    assert notice.status_code == 200 and "recovery code was used" in notice.text
    assert "9 left" in notice.text
    assert isinstance(again.follow(continue_link(notice.text)), str)
    later = MfaBrowser(mfa_idp.base)
    page, _ = password_step(later, mfa_idp, username)
    assert isinstance(page, requests.Response)
    done = later.submit(page, "/login/mfa/totp", code=app.at(time.time() + 30))
    assert done.status_code == 303


def test_acr_values_step_up_asks_only_for_the_second_factor(mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("student")
    browser = MfaBrowser(mfa_idp.base)
    callback, verifier = password_step(browser, mfa_idp, username)
    assert isinstance(callback, str)  # a student without a factor: password only
    first = mfa_idp.id_token(mfa_idp.redeem(callback, verifier))
    assert first["acr"] == ACR_PWD and first["amr"] == ["pwd"]
    app = mfa_idp.with_totp(person)
    url, verifier = mfa_idp.authorization_url(acr_values=ACR_MFA)
    page = browser.follow(url)
    assert isinstance(page, requests.Response)
    assert 'name="password"' not in page.text and 'name="code"' in page.text
    callback = browser.then(browser.submit(page, "/login/mfa/totp", code=app.now()))
    assert isinstance(callback, str)
    stepped = mfa_idp.id_token(mfa_idp.redeem(callback, verifier))
    assert stepped["acr"] == ACR_MFA and stepped["auth_time"] >= first["auth_time"]
    assert stepped["sid"] == first["sid"]  # the same login session, stepped up
    # The stepped-up session now satisfies the same request without asking again.
    url, _ = mfa_idp.authorization_url(acr_values=ACR_MFA)
    assert isinstance(browser.follow(url), str)


def test_an_essential_acr_claim_without_any_factor_leads_to_enrollment(
        mfa_idp: MfaIdp) -> None:
    username, _person = mfa_idp.person("student")
    browser = MfaBrowser(mfa_idp.base)
    claims = json.dumps({"id_token": {"acr": {"essential": True, "values": [ACR_MFA]}}})
    first, verifier = password_step(browser, mfa_idp, username, claims=claims)
    page = totp_enrollment(browser, first)
    app = pyotp.TOTP(secret_on_page(page.text))
    shown = browser.submit(page, "/login/mfa/totp/enroll", code=app.now())
    callback = browser.follow(continue_link(shown.text))
    assert isinstance(callback, str)
    assert mfa_idp.id_token(mfa_idp.redeem(callback, verifier))["acr"] == ACR_MFA


def test_prompt_none_with_an_unmet_acr_answers_interaction_required(mfa_idp: MfaIdp) -> None:
    username, _person = mfa_idp.person("student")
    browser = MfaBrowser(mfa_idp.base)
    password_step(browser, mfa_idp, username)
    url, _ = mfa_idp.authorization_url(acr_values=ACR_MFA, prompt="none")
    callback = browser.follow(url)
    assert isinstance(callback, str) and "error=interaction_required" in callback


def test_removing_totp_needs_the_password_and_a_current_code(mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("student")
    app = mfa_idp.with_totp(person)
    browser = MfaBrowser(mfa_idp.base)
    page, _ = password_step(browser, mfa_idp, username)
    assert isinstance(page, requests.Response)
    assert isinstance(browser.then(browser.submit(page, "/login/mfa/totp", code=app.now())),
                      str)
    account = browser.get("/account/security")
    assert account.status_code == 200
    # A stolen session alone cannot remove the factor.
    refused = browser.submit(account, "/account/security/totp/remove", password="wrong-1",
                             code=app.at(time.time() + 30))
    assert refused.status_code == 400 and mfa_idp.mfa.totp.enrolled(person)
    refused = browser.submit(account, "/account/security/totp/remove", password=PASSWORD,
                             code="123456" if app.at(time.time() + 30) != "123456"
                             else "654321")
    assert refused.status_code == 400 and mfa_idp.mfa.totp.enrolled(person)
    removed = browser.submit(account, "/account/security/totp/remove", password=PASSWORD,
                             code=app.at(time.time() + 30))
    assert removed.status_code == 303 and not mfa_idp.mfa.totp.enrolled(person)
    assert mfa_idp.mfa.recovery.remaining(person) == 0
    page = browser.get("/account/security?ui_locales=en")
    assert "was removed from your account" in page.text


def test_totp_secrets_and_recovery_codes_are_not_stored_in_plaintext(mfa_idp: MfaIdp) -> None:
    username, _person = mfa_idp.person("teacher")
    browser = MfaBrowser(mfa_idp.base)
    first, _ = password_step(browser, mfa_idp, username)
    page = totp_enrollment(browser, first)
    secret = secret_on_page(page.text)
    shown = browser.submit(page, "/login/mfa/totp/enroll", code=pyotp.TOTP(secret).now())
    codes = [code.replace("-", "") for code in codes_on_page(shown.text)]
    with mfa_idp.platform.engine.connect() as conn:
        dump = " ".join(str(row) for table in ("mfa_totp", "mfa_recovery_codes",
                                                "idp_login_sessions", "mfa_notices")
                        for row in conn.execute(text(f"SELECT * FROM {table}")))  # noqa: S608
    assert secret not in dump and secret.lower() not in dump
    assert not any(code in dump for code in codes)
    assert "sm4gcm." in dump


def test_max_age_forces_both_steps_again(mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("student")
    app = mfa_idp.with_totp(person)
    browser = MfaBrowser(mfa_idp.base)
    page, _ = password_step(browser, mfa_idp, username)
    assert isinstance(page, requests.Response)
    assert isinstance(browser.then(browser.submit(page, "/login/mfa/totp", code=app.now())),
                      str)
    time.sleep(1.1)
    page, verifier = password_step(browser, mfa_idp, username, max_age="0")
    assert isinstance(page, requests.Response) and 'name="code"' in page.text
    callback = browser.then(browser.submit(page, "/login/mfa/totp",
                                           code=app.at(time.time() + 30)))
    assert isinstance(callback, str)
    claims = mfa_idp.id_token(mfa_idp.redeem(callback, verifier))
    assert claims["acr"] == ACR_MFA and claims["auth_time"] >= int(time.time()) - 5


def test_the_account_page_adds_totp_and_new_recovery_codes_need_the_password(
        mfa_idp: MfaIdp) -> None:
    username, person = mfa_idp.person("student")
    browser = MfaBrowser(mfa_idp.base)
    callback, _ = password_step(browser, mfa_idp, username)
    assert isinstance(callback, str)
    page = browser.get("/account/security/totp?ui_locales=en")
    assert page.status_code == 200 and 'name="password"' not in page.text  # adding
    app = pyotp.TOTP(secret_on_page(page.text))
    shown = browser.submit(page, "/account/security/totp", code=app.now())
    first = codes_on_page(shown.text)
    assert len(first) == 10 and mfa_idp.mfa.totp.enrolled(person)
    account = browser.get("/account/security")
    refused = browser.submit(account, "/account/security/recovery", password="Wrong-1234")
    assert refused.status_code == 400
    renewed = browser.submit(account, "/account/security/recovery", password=PASSWORD)
    second = codes_on_page(renewed.text)
    assert len(second) == 10 and not set(first) & set(second)
    assert not mfa_idp.mfa.recovery.use(person, first[0])
    assert mfa_idp.mfa.recovery.use(person, second[0])
    # Replacing the app asks for the password again.
    page = browser.get("/account/security/totp")
    assert 'name="password"' in page.text
    other = pyotp.TOTP(secret_on_page(page.text))
    refused = browser.submit(page, "/account/security/totp", code=other.now(),
                             password="Wrong-1234")
    assert refused.status_code == 400
    assert mfa_idp.mfa.totp.verify(person, app.at(time.time() + 30))  # the old app still
