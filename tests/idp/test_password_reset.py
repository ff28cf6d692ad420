"""Password reset through the school administrator: who may issue a link, the link is
one-time, hashed at rest and expiring, the new password follows the policy, and every
session and token of the person dies; the page is CSRF-bound and bilingual."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
import requests
from sqlalchemy import select, update

from edutrust.platform import SIGNING_KEY, Platform
from edutrust.settings import Settings
from idp import passwords
from idp.audit import AuditLog
from idp.directory import WeakPassword
from idp.directory.service import Directory
from idp.password_reset import PasswordResets, ResetError, ResetLink
from tests.conftest import cli_env, run_cli
from tests.idp.provider.conftest import (
    PASSWORD,
    SCHOOL,
    Browser,
    LiveIdp,
    form_fields,
)

OTHER_SCHOOL = "4101990003"
NEW_PASSWORD = "Brand-New-Secret-77"


def _people(directory: Directory, school: str = SCHOOL) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    made = {}
    for name, role in (("admin", "staff"), ("pupil", "student"), ("colleague", "staff"),
                       ("operator", "operator")):
        person = directory.create_person(f"{name}{tag}", name.title(), password=PASSWORD)
        directory.add_membership(person.id, school, role)
        made[name] = person.id
        made[name + "_username"] = person.username
    return made


@pytest.fixture(scope="module")
def directory(live_idp: LiveIdp) -> Directory:
    directory = live_idp.provider.directory
    if directory.find_organisation(OTHER_SCHOOL) is None:
        directory.create_organisation(OTHER_SCHOOL, "另一中学", "school")
    return directory


@pytest.fixture
def platform(live_idp: LiveIdp) -> Platform:
    return live_idp.platform


@pytest.fixture
def settings(live_idp: LiveIdp) -> Settings:
    return live_idp.settings


def test_only_an_administrator_of_the_persons_school_may_issue(platform: Platform,
                                                               directory: Directory) -> None:
    people = _people(directory)
    tag = uuid.uuid4().hex[:6]
    outsider = directory.create_person(f"outsider{tag}", "Outsider", password=PASSWORD)
    directory.add_membership(outsider.id, OTHER_SCHOOL, "staff")
    teacher = directory.create_person(f"teacher{tag}", "Teacher", password=PASSWORD)
    directory.add_membership(teacher.id, SCHOOL, "teacher")
    resets = PasswordResets(platform.sessions)
    assert resets.issue(people["admin"], people["pupil"]).token
    assert resets.issue(people["operator"], people["colleague"]).token   # operators: anyone
    for admin, target in ((outsider.id, people["pupil"]),        # another school's staff
                          (teacher.id, people["pupil"]),         # a teacher is no admin
                          (people["admin"], people["colleague"]),  # staff cannot reset staff
                          (people["admin"], people["admin"]),      # nor themselves
                          (people["pupil"], people["admin"])):
        with pytest.raises(ResetError):
            resets.issue(admin, target)


def test_link_is_hashed_single_use_and_voids_older_links(platform: Platform,
                                                         directory: Directory) -> None:
    people = _people(directory)
    resets = PasswordResets(platform.sessions)
    old = resets.issue(people["admin"], people["pupil"])
    link = resets.issue(people["admin"], people["pupil"])
    with platform.sessions() as session:
        stored = list(session.scalars(select(ResetLink.token_hash)))
    assert link.token not in stored and old.token not in stored
    assert resets.person_for(old.token) is None
    with pytest.raises(WeakPassword):
        resets.complete(link.token, "short")
    with pytest.raises(WeakPassword) as weak:
        resets.complete(link.token, people["pupil_username"] + "-Xyz-12")
    assert "password.contains_username" in weak.value.problems
    assert resets.complete(link.token, NEW_PASSWORD) == (people["pupil"], people["admin"])
    with pytest.raises(ResetError):
        resets.complete(link.token, NEW_PASSWORD + "x")
    person = directory.person(people["pupil"])
    assert person is not None and passwords.verify_password(NEW_PASSWORD,
                                                            person.password_hash)


def test_expired_link_is_refused(platform: Platform, directory: Directory) -> None:
    people = _people(directory)
    resets = PasswordResets(platform.sessions)
    link = resets.issue(people["admin"], people["pupil"])
    with platform.sessions.begin() as session:
        session.execute(update(ResetLink).where(ResetLink.person_id == people["pupil"])
                        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    with pytest.raises(ResetError):
        resets.complete(link.token, NEW_PASSWORD)
    assert resets.purge_expired() >= 1


def test_cli_issues_a_link_and_refuses_non_administrators(platform: Platform,
                                                          settings: Settings,
                                                          directory: Directory) -> None:
    people = _people(directory)
    env = cli_env(settings, EDUTRUST_ISSUER=settings.issuer)
    done = run_cli("directory", "reset-link", people["pupil_username"], "--by",
                   people["admin_username"], env=env)
    assert done.returncode == 0, done.stderr
    issued = json.loads(done.stdout)
    assert issued["person_id"] == people["pupil"]
    assert re.fullmatch(re.escape(settings.issuer) + r"/password/reset/[A-Za-z0-9_-]{43}",
                        issued["url"])
    token = issued["url"].rsplit("/", 1)[1]
    assert token.encode() not in done.stderr
    refused = run_cli("directory", "reset-link", people["colleague_username"], "--by",
                      people["admin_username"], env=env)
    assert refused.returncode == 2 and refused.stderr[-1:] == b"\n"
    audit = AuditLog(platform.sessions, platform.keys, SIGNING_KEY)
    entries = [e for e in audit.entries() if e["person_id"] == people["pupil"]]
    assert entries[-1]["event"] == "password_reset.issued"
    assert entries[-1]["details"] == {"by": people["admin"]}
    assert token not in json.dumps(entries)


def test_reset_page_end_to_end_revokes_sessions_and_tokens(live_idp: LiveIdp) -> None:
    directory = live_idp.provider.directory
    people = _people(directory)
    # The pupil is signed in and a platform holds a token for them.
    pupil = Browser(live_idp.base)
    assert pupil.login(pupil.get("/login"), people["pupil_username"],
                       PASSWORD).status_code == 303
    assert pupil.get("/login/done").status_code == 200
    client, secret = live_idp.register(scopes=("openid", "profile"), first_party=True)
    from tests.idp.provider.test_flows import log_in

    _rp, token, _nonce = log_in(live_idp, client, secret, scope="openid profile",
                                username=people["pupil_username"])
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(live_idp.url("/oauth2/userinfo"), headers=bearer,
                        timeout=10).status_code == 200

    link = PasswordResets(live_idp.platform.sessions).issue(people["admin"], people["pupil"])
    path = f"/password/reset/{link.token}"
    visitor = Browser(live_idp.base)
    page = visitor.get(path)
    assert page.status_code == 200 and "重置密码" in page.text
    assert 'autocomplete="new-password"' in page.text
    english = visitor.get(path + "?ui_locales=en")
    assert "Reset your password" in english.text
    csrf = form_fields(page.text)["csrf_token"]
    # No CSRF token, then a mismatch, then a weak password: the link survives all three.
    assert visitor.post(path, {"password": NEW_PASSWORD,
                               "password_again": NEW_PASSWORD}).status_code == 403
    mismatch = visitor.post(path + "?ui_locales=en", {
        "csrf_token": csrf, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "!"})
    assert mismatch.status_code == 400 and "differ" in mismatch.text
    weak = visitor.post(path, {"csrf_token": csrf, "password": "aaaaaaaaaaaa",
                               "password_again": "aaaaaaaaaaaa"})
    assert weak.status_code == 400
    done = visitor.post(path, {"csrf_token": csrf, "password": NEW_PASSWORD,
                               "password_again": NEW_PASSWORD})
    assert done.status_code == 200 and "密码已更新" in done.text
    # Single use: the same link now shows the invalid page, in both methods.
    assert visitor.get(path).status_code == 404
    assert visitor.post(path, {"csrf_token": csrf, "password": NEW_PASSWORD,
                               "password_again": NEW_PASSWORD}).status_code == 404
    assert visitor.get("/password/reset/" + "x" * 43).status_code == 404
    # Sessions and tokens of the person are gone; the new password works.
    assert pupil.get("/login/done").status_code == 302
    assert requests.get(live_idp.url("/oauth2/userinfo"), headers=bearer,
                        timeout=10).status_code == 401
    again = Browser(live_idp.base)
    assert again.login(again.get("/login"), people["pupil_username"],
                       PASSWORD).status_code == 200      # old password: form again
    assert again.login(again.get("/login"), people["pupil_username"],
                       NEW_PASSWORD).status_code == 303
    audit = AuditLog(live_idp.platform.sessions, live_idp.platform.keys, SIGNING_KEY)
    completed = [e for e in audit.entries() if e["event"] == "password_reset.completed"
                 and e["person_id"] == people["pupil"]]
    assert completed and completed[0]["details"]["sessions_ended"] >= 1
    assert audit.verify().intact


def _staff_login(idp: LiveIdp, username: str, person_id: str) -> Browser:
    """Sign a staff member in: password, then (their policy needs a second factor) a TOTP
    code from an authenticator enrolled directly through the MFA core."""
    import time

    import pyotp

    from idp.mfa.totp import TotpAuthenticators

    totp = TotpAuthenticators(idp.platform.sessions, idp.platform.fields)
    secret = totp.begin_enrollment(person_id)
    assert totp.confirm(person_id, pyotp.TOTP(secret).at(time.time() - 30))
    browser = Browser(idp.base)
    response = browser.login(browser.get("/login"), username, PASSWORD)
    for _ in range(5):
        if response.status_code in (302, 303):
            location = response.headers["Location"]
            if location.endswith("/login/done"):
                return browser
            response = browser.get(location)
            continue
        assert 'name="code"' in response.text, response.text[:500]
        action = re.search(r'<form method="post" action="([^"]+)"', response.text)
        assert action is not None
        response = browser.post(action.group(1), {**form_fields(response.text),
                                                  "code": pyotp.TOTP(secret).now()})
    raise AssertionError("staff login did not finish")


def test_school_administrator_issues_a_link_on_the_web_page(live_idp: LiveIdp,
                                                            directory: Directory) -> None:
    people = _people(directory)
    elsewhere = _people(directory, OTHER_SCHOOL)
    admin = _staff_login(live_idp, people["admin_username"], people["admin"])
    page = admin.get("/password/reset-links?ui_locales=en")
    assert page.status_code == 200 and "Issue a password reset link" in page.text
    csrf = form_fields(page.text)["csrf_token"]
    assert admin.post("/password/reset-links", {
        "username": people["pupil_username"]}).status_code == 403
    for refused in (elsewhere["pupil_username"], people["colleague_username"], "nobody-x"):
        answer = admin.post("/password/reset-links?ui_locales=en",
                            {"csrf_token": csrf, "username": refused})
        assert answer.status_code == 400 and "No link can be issued" in answer.text
    issued = admin.post("/password/reset-links", {"csrf_token": csrf,
                                                  "username": people["pupil_username"]})
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    found = re.search(r'<code id="reset-url">([^<]+)</code>', issued.text)
    assert found is not None and found.group(1).startswith(live_idp.base + "/password/reset/")
    link = found.group(1)[len(live_idp.base):]
    assert Browser(live_idp.base).get(link).status_code == 200
    assert Browser(live_idp.base).get("/password/reset-links").status_code == 302
