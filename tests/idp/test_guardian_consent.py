"""Guardian consent for children under 14 (PIPL art. 31), end to end on the live server:
the child's authorization stops until a linked guardian approves on their page, a
withdrawal revokes the platform's tokens, first-party platforms are exempt, and every
decision lands in the audit log."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from edutrust.platform import SIGNING_KEY
from idp.audit import AuditLog
from idp.minors import GuardianConsents
from tests.idp.provider.conftest import (
    PASSWORD,
    SCHOOL,
    Browser,
    LiveIdp,
    form_fields,
    query_of,
)

REDIRECT = "https://rp.example/cb"


@pytest.fixture(scope="module")
def family(live_idp: LiveIdp) -> dict[str, str]:
    directory = live_idp.provider.directory
    today = dt.date.today()
    tag = uuid.uuid4().hex[:6]
    child = directory.create_person(f"child{tag}", "小明", password=PASSWORD,
                                    birth_date=today.replace(year=today.year - 10))
    teen = directory.create_person(f"teen{tag}", "小红", password=PASSWORD,
                                   birth_date=today.replace(year=today.year - 15))
    mother = directory.create_person(f"mother{tag}", "王芳", password=PASSWORD)
    stranger = directory.create_person(f"stranger{tag}", "李四", password=PASSWORD)
    for person, role in ((child, "student"), (teen, "student"), (mother, "guardian"),
                         (stranger, "guardian")):
        directory.add_membership(person.id, SCHOOL, role)
    directory.link_guardian(mother.id, child.id, "mother")
    return {"child": child.username, "child_id": child.id, "teen": teen.username,
            "mother": mother.username, "mother_id": mother.id,
            "stranger": stranger.username}


def _start(idp: LiveIdp, client_id: str, secret: str | None, **extra: str) -> tuple[
        OAuth2Session, str, str]:
    rp = OAuth2Session(client_id, secret, scope="openid profile", redirect_uri=REDIRECT,
                       code_challenge_method="S256",
                       token_endpoint_auth_method="client_secret_basic")
    verifier = secrets.token_urlsafe(48)
    url, _state = rp.create_authorization_url(idp.url("/oauth2/authorize"),
                                              code_verifier=verifier, **extra)
    return rp, url, verifier


def _until_stop(browser: Browser, url: str, username: str) -> requests.Response:
    """Follow the flow through login; returns the first page that is not a redirect
    and not the login form."""
    for _ in range(10):
        response = browser.get(url)
        if response.status_code in (302, 303):
            url = response.headers["Location"]
            if url.startswith(REDIRECT):
                return response
            continue
        if 'name="password"' in response.text:
            response = browser.login(response, username, PASSWORD)
            assert response.status_code == 303, (response.status_code, response.text[:800])
            url = response.headers["Location"]
            continue
        return response
    raise AssertionError("too many redirects")


def _guardian_page(idp: LiveIdp, username: str) -> tuple[Browser, requests.Response]:
    browser = Browser(idp.base)
    page = browser.get("/login?ui_locales=en")
    done = browser.login(page, username, PASSWORD)
    assert done.status_code == 303
    return browser, browser.get("/guardians/consents?ui_locales=en")


def _decide(browser: Browser, page: requests.Response, minor_id: str, client_id: str,
            decision: str) -> requests.Response:
    fields = form_fields(page.text)
    return browser.post("/guardians/consents?ui_locales=en", {
        "csrf_token": fields["csrf_token"], "minor_id": minor_id, "client_id": client_id,
        "decision": decision})


def test_child_needs_guardian_approval_and_withdrawal_revokes_tokens(
        live_idp: LiveIdp, family: dict[str, str]) -> None:
    client, secret = live_idp.register(scopes=("openid", "profile"))
    # 1. The child's authorization stops with the guardian page.
    child = Browser(live_idp.base)
    _rp, url, _v = _start(live_idp, client.client_id, secret, ui_locales="en")
    stop = _until_stop(child, url, family["child"])
    assert stop.status_code == 403
    assert "guardian must approve" in stop.text and client.name in stop.text
    # prompt=none gets consent_required back at the client instead of the page.
    _rp, url, _v = _start(live_idp, client.client_id, secret, prompt="none")
    answer = child.get(url)
    assert answer.status_code == 302
    assert query_of(answer.headers["Location"])["error"] == "consent_required"

    # 2. A guardian who is not linked to the child cannot approve.
    stranger, page = _guardian_page(live_idp, family["stranger"])
    assert client.name not in page.text
    # (no request is listed for them: take their session's CSRF token from a form)
    refused = _decide(stranger, stranger.get("/login"), family["child_id"],
                      client.client_id, "approve")
    assert refused.status_code == 400

    # 3. The mother sees the pending request; without the CSRF token nothing happens.
    mother, page = _guardian_page(live_idp, family["mother"])
    assert page.status_code == 200 and client.name in page.text
    assert "Waiting for you" in page.text
    forged = mother.post("/guardians/consents", {
        "minor_id": family["child_id"], "client_id": client.client_id,
        "decision": "approve"})
    assert forged.status_code == 403
    approved = _decide(mother, page, family["child_id"], client.client_id, "approve")
    assert approved.status_code == 200 and "Approved." in approved.text

    # 4. The child now gets the normal consent screen, then tokens.
    rp, url, verifier = _start(live_idp, client.client_id, secret)
    callback = child.authorize(url, REDIRECT, username=family["child"])
    token = rp.fetch_token(live_idp.url("/oauth2/token"), authorization_response=callback,
                           code_verifier=verifier)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(live_idp.url("/oauth2/userinfo"), headers=bearer,
                        timeout=10).status_code == 200

    # 5. The mother withdraws: the tokens die, and the next authorization stops again.
    page = mother.get("/guardians/consents?ui_locales=en")
    withdrawn = _decide(mother, page, family["child_id"], client.client_id, "withdraw")
    assert withdrawn.status_code == 200 and "revoked" in withdrawn.text
    assert requests.get(live_idp.url("/oauth2/userinfo"), headers=bearer,
                        timeout=10).status_code == 401
    refreshed = requests.post(live_idp.url("/oauth2/token"), auth=(client.client_id, secret),
                              data={"grant_type": "refresh_token",
                                    "refresh_token": token["refresh_token"]}, timeout=10)
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    _rp, url, _v = _start(live_idp, client.client_id, secret, ui_locales="en")
    assert _until_stop(child, url, family["child"]).status_code == 403
    page = mother.get("/guardians/consents?ui_locales=en")
    assert "Waiting for you" in page.text

    # 6. Every step is in an intact audit log, naming people by internal id only.
    audit = AuditLog(live_idp.platform.sessions, live_idp.platform.keys, SIGNING_KEY)
    assert audit.verify().intact
    mine = [e for e in audit.entries() if e["client_id"] == client.client_id]
    kinds = [e["event"] for e in mine]
    for expected in ("guardian_consent.requested", "guardian_consent.given",
                     "consent.given", "guardian_consent.withdrawn"):
        assert expected in kinds
    given = next(e for e in mine if e["event"] == "guardian_consent.given")
    assert given["person_id"] == family["child_id"]
    assert given["details"] == {"guardian": family["mother_id"]}
    assert all(e["ip"] in (None, "127.0.0.0/24") for e in mine)


def test_first_party_clients_and_older_children_need_no_guardian(
        live_idp: LiveIdp, family: dict[str, str]) -> None:
    first_party, secret = live_idp.register(scopes=("openid", "profile"), first_party=True)
    _rp, url, _verifier = _start(live_idp, first_party.client_id, secret)
    callback = Browser(live_idp.base).authorize(url, REDIRECT, username=family["child"])
    assert "code" in query_of(callback)
    third_party, secret = live_idp.register(scopes=("openid", "profile"))
    _rp, url, _verifier = _start(live_idp, third_party.client_id, secret)
    callback = Browser(live_idp.base).authorize(url, REDIRECT, username=family["teen"])
    assert "code" in query_of(callback)


def test_guardian_page_requires_login_and_is_chinese_by_default(
        live_idp: LiveIdp, family: dict[str, str]) -> None:
    anonymous = Browser(live_idp.base)
    assert anonymous.get("/guardians/consents").status_code == 302
    mother, _page = _guardian_page(live_idp, family["mother"])
    page = mother.get("/guardians/consents")
    assert page.status_code == 200 and "监护人同意管理" in page.text


def test_age_is_computed_from_the_directory_birth_date(
        live_idp: LiveIdp, family: dict[str, str]) -> None:
    directory = live_idp.provider.directory
    consents = GuardianConsents(directory.sessions, directory)
    child_id = family["child_id"]
    assert consents.needs_guardian(child_id)
    born = directory.person(child_id).birth_date  # type: ignore[union-attr]
    assert born is not None
    assert not consents.needs_guardian(child_id, born.replace(year=born.year + 14))
    assert consents.needs_guardian(child_id, born.replace(year=born.year + 14)
                                   - dt.timedelta(days=1))


def test_a_person_withdraws_their_own_consent_and_the_tokens_die(
        live_idp: LiveIdp, family: dict[str, str]) -> None:
    client, secret = live_idp.register(scopes=("openid", "profile"))
    person = Browser(live_idp.base)
    rp, url, verifier = _start(live_idp, client.client_id, secret)
    callback = person.authorize(url, REDIRECT, username=family["teen"])
    token = rp.fetch_token(live_idp.url("/oauth2/token"), authorization_response=callback,
                           code_verifier=verifier)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(live_idp.url("/oauth2/userinfo"), headers=bearer,
                        timeout=10).status_code == 200
    page = person.get("/account/consents?ui_locales=en")
    assert page.status_code == 200 and client.name in page.text
    csrf = form_fields(page.text)["csrf_token"]
    assert person.post("/account/consents", {"client_id": client.client_id}).status_code == 403
    assert person.post("/account/consents", {"csrf_token": csrf,
                                             "client_id": "not-mine"}).status_code == 400
    done = person.post("/account/consents?ui_locales=en",
                       {"csrf_token": csrf, "client_id": client.client_id})
    assert done.status_code == 200 and "Withdrawn" in done.text
    assert client.name not in done.text.split("Withdrawn")[1]
    assert requests.get(live_idp.url("/oauth2/userinfo"), headers=bearer,
                        timeout=10).status_code == 401
    # The next authorization asks for consent again.
    _rp, url, _v = _start(live_idp, client.client_id, secret)
    again = person.get(url)
    assert again.status_code == 200 and 'name="decision"' in again.text
    audit = AuditLog(live_idp.platform.sessions, live_idp.platform.keys, SIGNING_KEY)
    withdrawn = [e for e in audit.entries() if e["event"] == "consent.withdrawn"
                 and e["client_id"] == client.client_id]
    assert len(withdrawn) == 1
    assert Browser(live_idp.base).get("/account/consents").status_code == 302


def test_an_approval_covers_only_the_scopes_the_guardian_was_shown(
        live_idp: LiveIdp, family: dict[str, str]) -> None:
    client, secret = live_idp.register(scopes=("openid", "profile", "email"))
    child = Browser(live_idp.base)
    _rp, url, _v = _start(live_idp, client.client_id, secret, ui_locales="en")
    assert _until_stop(child, url, family["child"]).status_code == 403
    mother, page = _guardian_page(live_idp, family["mother"])
    form = page.text[page.text.index(client.name):]
    shown = form.split('name="scopes" value="', 1)[1].split('"', 1)[0]
    assert shown.split() == ["openid", "profile"]
    # While the page is open, the platform widens its pending request ...
    directory = live_idp.provider.directory
    consents = GuardianConsents(directory.sessions, directory)
    consents.request(family["child_id"], client.client_id, ["openid", "profile", "email"])
    # ... so approving what was shown must not approve "email" unseen.
    approve = {"csrf_token": form_fields(page.text)["csrf_token"],
               "minor_id": family["child_id"], "client_id": client.client_id,
               "scopes": shown, "decision": "approve"}
    assert mother.post("/guardians/consents?ui_locales=en", approve).status_code == 400
    assert not consents.covers(family["child_id"], client.client_id, ["email"])
    page = mother.get("/guardians/consents?ui_locales=en")
    assert "email" in page.text.split(client.name, 1)[1].split("</form>", 1)[0]
    approved = mother.post("/guardians/consents?ui_locales=en",
                           {**approve, "scopes": "openid profile email"})
    assert approved.status_code == 200
    assert consents.covers(family["child_id"], client.client_id, ["openid", "email"])
