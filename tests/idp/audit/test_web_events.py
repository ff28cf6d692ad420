"""Authentication events reach the audit log from the live server: failed and successful
logins and logout, naming people by internal id only and never carrying what was typed."""

from __future__ import annotations

import json
import uuid

from edutrust.platform import SIGNING_KEY
from idp.audit import AuditLog
from tests.idp.provider.conftest import PASSWORD, SCHOOL, Browser, LiveIdp, form_fields


def test_logins_and_logout_are_audited_without_secrets(live_idp: LiveIdp) -> None:
    directory = live_idp.provider.directory
    username = "audited" + uuid.uuid4().hex[:6]
    person = directory.create_person(username, "Audited Student", password=PASSWORD)
    directory.add_membership(person.id, SCHOOL, "student")
    audit = AuditLog(live_idp.platform.sessions, live_idp.platform.keys, SIGNING_KEY)
    start = audit.head()[0]

    browser = Browser(live_idp.base)
    wrong = "Wrong-Password-" + uuid.uuid4().hex[:8]
    ghost = "ghost" + uuid.uuid4().hex[:8]
    assert browser.login(browser.get("/login"), username, wrong).status_code == 200
    assert browser.login(browser.get("/login"), ghost, wrong).status_code == 200
    assert browser.login(browser.get("/login"), username, PASSWORD).status_code == 303
    page = browser.get("/oauth2/logout")
    assert page.status_code == 200
    ended = browser.post("/oauth2/logout/confirm", {**form_fields(page.text),
                                                   "decision": "logout"})
    assert ended.status_code == 200

    entries = list(audit.entries(since=start))
    mine = [e for e in entries if e["person_id"] == person.id]
    kinds = [e["event"] for e in mine]
    assert kinds[0] == "login.failed" and "login.succeeded" in kinds and "logout" in kinds
    assert any(e["event"] == "login.failed" and e["person_id"] is None for e in entries)
    text = json.dumps(entries, ensure_ascii=False)
    for secret in (wrong, ghost, username, PASSWORD):
        assert secret not in text
    assert all(e["ip"] == "127.0.0.0/24" for e in mine)
    assert audit.verify().intact
