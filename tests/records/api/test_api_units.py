"""The records API in process over the records desk (tests/records/conftest.py), with
callers handed in directly: what happens when the ledger cannot anchor."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from edutrust.app import problem
from records.errors import AnchoringFailed
from records.web import Caller, Membership, records_api_blueprint
from tests.records.conftest import Desk, archive_content, student

SCOPES = frozenset({"records:submit", "records:review", "records:verify"})
CALLERS = {
    "school": Caller("client:school", "client", "school", SCOPES, (Membership("S001",
                                                                             "client"),)),
    "reviewer": Caller("client:edu", "client", "edu", SCOPES, (Membership("EDU11",
                                                                         "client"),)),
}


class People:
    def memberships_of(self, person_ref: str) -> list[Membership] | None:
        return [Membership("S001", "student")]


@pytest.fixture
def client(desk: Desk) -> Any:
    app = Flask("records-api-test")
    app.register_blueprint(records_api_blueprint(lambda: desk.registry, CALLERS.get,
                                                 People(), problem,
                                                 public_url="http://127.0.0.1:8000"))
    return app.test_client()


def call(client: Any, method: str, path: str, who: str, body: Any = None) -> Any:
    return client.open("/api/v1" + path, method=method, json=body,
                       headers={"Authorization": f"Bearer {who}", "Accept-Language": "en"})


def test_an_approval_the_ledger_cannot_anchor_stays_approved_until_anchored(
        desk: Desk, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    created = call(client, "POST", "/records", "school", {
        "type": "archive_entry", "content": archive_content(),
        "subject": {"ref": student().ref}})
    assert created.status_code == 201, created.get_json()
    rid = created.get_json()["id"]
    assert call(client, "POST", f"/records/{rid}/submit", "school").status_code == 200
    assert call(client, "POST", f"/records/{rid}/start-review", "reviewer").status_code == 200

    def unreachable(requests: Any) -> Any:
        raise AnchoringFailed("the ledger did not anchor the batch: unreachable")

    monkeypatch.setattr(desk.registry.anchoring, "anchor", unreachable)
    approved = call(client, "POST", f"/records/{rid}/approve", "reviewer")
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved"
    retry = call(client, "POST", f"/records/{rid}/anchor", "school")
    assert retry.status_code == 503
    assert retry.get_json()["type"] == "urn:edutrust:problem:records-anchoring-failed"
    assert desk.registry.get(rid).state.value == "approved"

    monkeypatch.undo()
    anchored = call(client, "POST", f"/records/{rid}/anchor", "school")
    assert anchored.status_code == 200 and anchored.get_json()["state"] == "active"
    again = call(client, "POST", f"/records/{rid}/anchor", "school")
    assert again.status_code == 409
