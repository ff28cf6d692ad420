"""The records API end to end over HTTP, with access tokens from the identity provider:
each record type submitted, reviewed, approved, anchored, verified, amended, suspended,
reinstated and revoked; who may do what; problems for every kind of bad request; and
verification answers for tampered and forged records."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
import requests

from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding
from edutrust.records_setup import open_issuers
from records.canonical import canonical_json
from tests.records.api.conftest import (
    OTHER_SCHOOL,
    PROVIDER,
    SCHOOL,
    Api,
)
from tests.records.conftest import app_content, archive_content, copyright_content, credit_content

# record type -> (content, issuing client, reviewing client)
CASES: dict[str, tuple[Any, str, str]] = {
    "archive_entry": (archive_content, "school", "province"),
    "copyright_registration": (copyright_content, "provider", "province"),
    "app_filing": (app_content, "provider", "province"),
    "credit_record": (credit_content, "ministry", "province"),
}


def ok(response: requests.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:800])
    body: dict[str, Any] = response.json()
    return body


def problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:800])
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == "urn:edutrust:problem:" + slug.replace("_", "-")
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def create(api: Api, record_type: str, content: dict[str, Any] | None = None,
           who: str | None = None, **extra: Any) -> dict[str, Any]:
    make, issuer, _ = CASES[record_type]
    body = {"type": record_type, "content": content if content is not None else make(),
            **extra}
    if record_type == "archive_entry" and "subject" not in extra:
        body["subject"] = {"ref": api.people["alice"]}
    response = api.call("POST", "/records", who or issuer, body=body)
    record = ok(response, 201)
    assert response.headers["Location"] == f"/api/v1/records/{record['id']}"
    return record


def anchored(api: Api, record_type: str, content: dict[str, Any] | None = None,
             **extra: Any) -> dict[str, Any]:
    """create -> submit -> start review -> approve (anchoring at once) -> active."""
    _, issuer, reviewer = CASES[record_type]
    record = create(api, record_type, content, **extra)
    ok(api.call("POST", f"/records/{record['id']}/submit", issuer))
    ok(api.call("POST", f"/records/{record['id']}/start-review", reviewer))
    active = ok(api.call("POST", f"/records/{record['id']}/approve", reviewer,
                         body={"comment": "材料齐全"}))
    assert active["state"] == "active"
    return active


def verification(api: Api, record_id: str, version: int | None = None) -> dict[str, Any]:
    query = f"?version={version}" if version else ""
    report = ok(api.call("GET", f"/records/{record_id}/verification{query}", "province",
                         scope="records:verify"))
    assert set(report) >= {"overall", "checks", "history"}
    return report


def failed(report: dict[str, Any]) -> dict[str, str]:
    return {name: check["code"] for name, check in report["checks"].items()
            if check["outcome"] != "pass"}


@pytest.mark.parametrize("record_type", list(CASES))
def test_each_record_type_through_its_whole_lifecycle(api: Api, record_type: str) -> None:
    make, issuer, reviewer = CASES[record_type]
    record = create(api, record_type)
    rid = record["id"]
    assert record["state"] == "draft" and record["version"] == 1
    submitted = ok(api.call("POST", f"/records/{rid}/submit", issuer,
                            body={"comment": "请审核"}))
    assert submitted["state"] == "submitted" and submitted["proofs"][0]["purpose"] == "issue"
    ok(api.call("POST", f"/records/{rid}/start-review", reviewer))
    approved = ok(api.call("POST", f"/records/{rid}/approve", reviewer,
                           body={"comment": "同意", "anchor": False}))
    assert approved["state"] == "approved" and approved["anchor"] is None
    active = ok(api.call("POST", f"/records/{rid}/anchor", issuer))
    assert active["state"] == "active" and active["anchor"]["key"] == f"record:{rid}"
    if record_type == "app_filing":
        assert active["review"]["assigned"]["filing_number"].startswith("教APP备11")
    report = verification(api, rid)
    assert report["overall"] == "valid", failed(report)

    # An amendment is a new version, reviewed and anchored again; v1 is then superseded.
    content = make()
    if record_type == "archive_entry":
        content["result"][0]["value"] = "A+"
    elif record_type == "credit_record":
        content["basis"]["description"] = "逾期未整改"
    else:
        content[{"copyright_registration": "title", "app_filing": "icp_filing_number"}[
            record_type]] = "修订" if record_type == "copyright_registration" \
            else "京ICP备12345678号-2"
    amended = ok(api.call("POST", f"/records/{rid}/versions", issuer,
                          body={"content": content, "comment": "更正"}), 201)
    assert amended["version"] == 2 and amended["previous"]["digest"] == active["digest"]
    ok(api.call("POST", f"/records/{rid}/submit", issuer))
    ok(api.call("POST", f"/records/{rid}/start-review", reviewer))
    assert ok(api.call("POST", f"/records/{rid}/approve", reviewer))["state"] == "active"
    old = verification(api, rid, 1)
    assert old["overall"] == "invalid" and failed(old)["history"] == "superseded"
    assert verification(api, rid)["overall"] == "valid"

    ok(api.call("POST", f"/records/{rid}/suspend", reviewer, body={"comment": "核查中"}))
    report = verification(api, rid)
    assert report["overall"] == "invalid" and failed(report) == {"status": "suspended"}
    ok(api.call("POST", f"/records/{rid}/reinstate", reviewer))
    assert verification(api, rid)["overall"] == "valid"
    revoked = ok(api.call("POST", f"/records/{rid}/revoke", issuer, body={"comment": "撤销"}))
    assert revoked["state"] == "revoked"
    report = verification(api, rid)
    assert report["overall"] == "invalid" and failed(report)["status"] == "revoked"

    history = ok(api.call("GET", f"/records/{rid}/history", issuer))
    assert [v["superseded"] for v in history["versions"]] == [True, False]
    assert [e["to"] for e in history["versions"][1]["lifecycle"]][-3:] == [
        "suspended", "active", "revoked"]


def test_a_bundle_and_a_credential_verify_and_tampering_is_invalid(api: Api) -> None:
    record = anchored(api, "archive_entry")
    rid = record["id"]
    response = api.call("GET", f"/records/{rid}/bundle", "school")
    bundle = ok(response)
    assert "attachment" in response.headers["Content-Disposition"]
    verify = "/verify"
    report = ok(api.call("POST", verify, "province", scope="records:verify", body=bundle))
    assert report["overall"] == "valid", failed(report)
    report = ok(api.call("POST", verify, "province", scope="records:verify",
                         body={"record": bundle["record"]}))
    assert report["overall"] == "valid", failed(report)

    # One changed byte.
    text = json.dumps(bundle, ensure_ascii=False, separators=(",", ":"))
    assert text.count('"value":"A"') == 1
    tampered = json.loads(text.replace('"value":"A"', '"value":"B"'))
    report = ok(api.call("POST", verify, "province", scope="records:verify", body=tampered))
    assert report["overall"] == "invalid" and failed(report)["integrity"] == "digest_mismatch"
    report = ok(api.call("POST", verify, "province", scope="records:verify",
                         body={"record": tampered["record"]}))
    assert report["overall"] == "invalid" and failed(report)["integrity"] == "digest_mismatch"

    # The issuer's proof signed by another school's key.
    forged = copy.deepcopy(bundle)
    proof = forged["record"]["proofs"][0]
    _, other_school = open_issuers(api.platform).signer(OTHER_SCHOOL)
    statement = {k: v for k, v in proof.items() if k != "signature"}
    proof["signature"] = base64.b64encode(other_school.sign(
        canonical_json(statement), signer_id=DEFAULT_SIGNER_ID,
        encoding=SignatureEncoding.DER)).decode()
    report = ok(api.call("POST", verify, "province", scope="records:verify",
                         body={"bundle": forged}))
    assert report["overall"] == "invalid" and failed(report)["signature"] == "bad_signature"

    credential = api.call("GET", f"/records/{rid}/credential", "school")
    document = ok(credential)
    assert credential.headers["Content-Type"].startswith("application/vc")
    assert "OpenBadgeCredential" in document["type"]
    assert document["proof"]["cryptosuite"] == "sm2-jcs-2025"
    status_url = document["credentialStatus"][0]["statusListCredential"]
    assert status_url.startswith(api.base + "/api/v1/status-lists/")
    snapshot = ok(requests.get(status_url, timeout=30))  # public, no token
    assert snapshot["snapshot"]["type"] == "edutrust-status-list/v1"
    anchors = ok(requests.get(api.url("/api/v1/trust-anchors"), timeout=30))
    assert anchors["format"] == "edutrust-trust-anchors/v1"


def test_a_school_cannot_register_for_another_schools_student(api: Api) -> None:
    body = {"type": "archive_entry", "content": archive_content()}
    # Claiming the other school as the subject's organisation ...
    problem(api.call("POST", "/records", "school", body={
        **body, "subject": {"ref": api.people["bob"], "org": OTHER_SCHOOL}}),
        403, "records_not_authorised")
    # ... or claiming its own school for a student the directory places elsewhere.
    problem(api.call("POST", "/records", "school", body={
        **body, "subject": {"ref": api.people["bob"]}}), 403, "records_not_authorised")
    problem(api.call("POST", "/records", "school", body={
        **body, "subject": {"ref": "no-such-person"}}), 422, "records_unknown_person")
    # A client acting for no organisation registers nothing.
    problem(api.call("POST", "/records", "nobody", body={
        **body, "subject": {"ref": api.people["alice"]}}), 403, "records_no_role")


def test_reviewers_are_the_providers_province_and_never_the_issuer(api: Api) -> None:
    record = create(api, "app_filing")
    ok(api.call("POST", f"/records/{record['id']}/submit", "provider"))
    problem(api.call("POST", f"/records/{record['id']}/start-review", "other_province"),
            403, "records_not_authorised")
    problem(api.call("POST", f"/records/{record['id']}/start-review", "provider"),
            403, "records_not_authorised")
    problem(api.call("POST", f"/records/{record['id']}/start-review", "school"),
            403, "records_not_authorised")


def test_tokens_and_scopes_are_enforced_as_rfc_6750_says(api: Api) -> None:
    missing = api.call("GET", "/records")
    problem(missing, 401, "records_unauthenticated")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error=" not in missing.headers["WWW-Authenticate"]
    invalid = api.call("GET", "/records", headers={"Authorization": "Bearer not-a-token"})
    problem(invalid, 401, "records_unauthenticated")
    assert 'error="invalid_token"' in invalid.headers["WWW-Authenticate"]
    narrow = api.call("POST", "/records", "school", scope="records:verify",
                      body={"type": "archive_entry", "content": archive_content()})
    problem(narrow, 403, "records_insufficient_scope")
    assert 'error="insufficient_scope"' in narrow.headers["WWW-Authenticate"]
    assert 'scope="records:submit"' in narrow.headers["WWW-Authenticate"]
    problem(api.call("GET", "/records/00000000-0000-0000-0000-000000000000/verification",
                     "school", scope="records:submit"), 403, "records_insufficient_scope")


def test_tokens_for_the_records_api_are_accepted_and_for_other_apis_refused(
        api: Api) -> None:
    from idp.oauth2.rfc8707 import ResourceServers
    from idp.oauth2.server import open_provider

    token = api.token("school", "records:verify", resource=api.url("/api/v1"))
    response = requests.get(api.url("/api/v1/records"), timeout=30,
                            headers={"Authorization": f"Bearer {token}"})
    assert ok(response)["total"] >= 0
    provider = open_provider(api.base, api.platform.sessions, api.platform.keys,
                             api.platform.fields)
    ResourceServers(api.platform.sessions, provider.config).register(
        "https://grades.example/api", "Another platform's API")
    elsewhere = api.token("school", "records:verify", resource="https://grades.example/api")
    refused = requests.get(api.url("/api/v1/records"), timeout=30,
                           headers={"Authorization": f"Bearer {elsewhere}"})
    problem(refused, 401, "records_unauthenticated")
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_bad_requests_are_problems_in_the_requests_language(api: Api) -> None:
    headers = {"Content-Type": "application/json"}
    bad_json = requests.post(api.url("/api/v1/records"), data=b"{not json", timeout=30,
                             headers={**headers, "Accept-Language": "zh-CN",
                                      "Authorization": f"Bearer {api.token('school')}"})
    body = problem(bad_json, 400, "records_bad_json")
    assert body["detail"] == "请求体不是有效的 JSON。"
    shape = problem(api.call("POST", "/records", "school",
                             body={"type": "diploma", "content": [], "extra": 1}),
                    422, "records_request_schema")
    assert {e["pointer"] for e in shape["errors"]} >= {"/type", "/content", ""}
    content = archive_content()
    del content["awardedDate"]
    content["creditsEarned"] = -1
    violation = problem(api.call("POST", "/records", "school", body={
        "type": "archive_entry", "content": content, "subject": {"ref": api.people["alice"]}}),
        422, "records_schema_violation")
    assert {e["pointer"] for e in violation["errors"]} == {"/content", "/content/creditsEarned"}
    problem(api.call("GET", "/records/not-a-uuid", "school"), 404, "records_not_found")
    problem(api.call("GET", "/records/7d2f0a53-5f42-4a4e-9f3b-0c8a4b0d1e21", "school"),
            404, "records_not_found")
    draft = create(api, "archive_entry")
    illegal = problem(api.call("POST", f"/records/{draft['id']}/approve", "province"),
                      409, "records_illegal_transition")
    assert illegal["current"] == "draft" and illegal["allowed"] == ["submitted"]
    zh = problem(api.call("POST", f"/records/{draft['id']}/revoke", "school", lang="zh"),
                 409, "records_illegal_transition")
    assert "draft" in zh["detail"] and "不能" in zh["detail"]
    problem(api.call("POST", f"/records/{draft['id']}/return", "province", body={}),
            422, "records_request_schema")
    problem(api.call("GET", "/records?limit=0", "school"), 400, "records_bad_parameter")
    problem(api.call("POST", "/verify", "province", scope="records:verify",
                     body={"format": "edutrust-record-bundle/v1"}),
            422, "records_malformed_bundle")
    problem(api.call("POST", "/verify", "province", scope="records:verify",
                     body={"record": {"id": "x"}}), 422, "records_malformed_record")


def test_reading_is_limited_to_issuer_reviewer_and_public_filings(api: Api) -> None:
    entry = anchored(api, "archive_entry")
    assert ok(api.call("GET", f"/records/{entry['id']}", "school"))["id"] == entry["id"]
    assert ok(api.call("GET", f"/records/{entry['id']}", "province"))["id"] == entry["id"]
    problem(api.call("GET", f"/records/{entry['id']}", "other_school"), 404,
            "records_not_found")
    problem(api.call("GET", f"/records/{entry['id']}/bundle", "provider"), 404,
            "records_not_found")
    listed = ok(api.call("GET", "/records?type=archive_entry", "other_school"))
    assert entry["id"] not in {item["id"] for item in listed["items"]}
    mine = ok(api.call("GET", "/records?type=archive_entry&state=active", "school"))
    assert entry["id"] in {item["id"] for item in mine["items"]}

    filing = anchored(api, "app_filing")
    number = filing["review"]["assigned"]["filing_number"]
    found = ok(requests.get(api.url("/api/v1/app-filings"), params={"q": number},
                            timeout=30))
    assert [item["id"] for item in found["items"]] == [filing["id"]]
    assert found["items"][0]["provider"]["credit_code"] == PROVIDER
    assert "data_security_contact" not in json.dumps(found)
    assert "王五" not in json.dumps(found, ensure_ascii=False)
    drafts = create(api, "app_filing")
    everything = ok(requests.get(api.url("/api/v1/app-filings"), timeout=30))
    assert drafts["id"] not in {item["id"] for item in everything["items"]}


def test_the_openapi_document_and_docs_page_are_served(api: Api) -> None:
    document = ok(requests.get(api.url("/api/openapi.json"), timeout=30))
    assert "/api/v1/records/{record_id}/verification" in document["paths"]
    page = requests.get(api.url("/api/docs"), headers={"Accept-Language": "en"}, timeout=30)
    assert page.status_code == 200 and "EduTrust API reference" in page.text
    assert SCHOOL not in page.text


def person_token(api: Api, username: str, scope: str) -> str:
    """A person's access token through the authorization code flow with PKCE."""
    import secrets

    from authlib.integrations.requests_client import OAuth2Session

    from idp.oauth2.clients import ClientRegistration
    from idp.oauth2.server import open_provider
    from tests.idp.provider.conftest import PASSWORD, Browser

    provider = open_provider(api.base, api.platform.sessions, api.platform.keys,
                             api.platform.fields)
    redirect = "https://rp.example/cb"
    client, secret = provider.clients.register(ClientRegistration(
        name="Archive viewer", grant_types=("authorization_code",), redirect_uris=(redirect,),
        scopes=("openid", *scope.split()), first_party=True))
    rp = OAuth2Session(client.client_id, secret, scope="openid " + scope,
                       redirect_uri=redirect, code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    url, _ = rp.create_authorization_url(api.url("/oauth2/authorize"), code_verifier=verifier)
    callback = Browser(api.base).authorize(url, redirect, username=username,
                                           password=PASSWORD)
    token = rp.fetch_token(api.url("/oauth2/token"), authorization_response=callback,
                           code_verifier=verifier)
    return str(token["access_token"])


def test_people_act_through_their_directory_memberships(api: Api) -> None:
    def as_person(token: str, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, api.url("/api/v1" + path), json=body, timeout=30,
                                headers={"Authorization": f"Bearer {token}"})

    staff = person_token(api, "carol", "records:submit")
    draft = ok(as_person(staff, "POST", "/records", {
        "type": "archive_entry", "content": archive_content(),
        "subject": {"ref": api.people["alice"]}}), 201)
    assert draft["issuer"]["org"] == SCHOOL
    assert draft["lifecycle"][0]["actor"] == api.people["carol"]
    assert draft["lifecycle"][0]["role"] == "staff"
    problem(requests.post(api.url(f"/api/v1/records/{draft['id']}/submit"), timeout=30,
                          headers={"Authorization": f"Bearer {staff}",
                                   "EduTrust-Org": OTHER_SCHOOL}),
            403, "records_not_member")
    ok(as_person(staff, "POST", f"/records/{draft['id']}/submit"))

    # A student may read her own record, but registers nothing and reads nobody else's.
    student = person_token(api, "alice", "records:submit records:verify")
    assert ok(as_person(student, "GET", f"/records/{draft['id']}"))["id"] == draft["id"]
    problem(as_person(student, "POST", "/records", {
        "type": "archive_entry", "content": archive_content(),
        "subject": {"ref": api.people["alice"]}}), 403, "records_no_role")
    other = person_token(api, "bob", "records:verify")
    problem(as_person(other, "GET", f"/records/{draft['id']}"), 404, "records_not_found")


def test_holders_create_list_and_revoke_share_codes(api: Api) -> None:
    import datetime as dt

    from records.timestamps import format_timestamp, utc_now

    entry = anchored(api, "archive_entry")
    path = f"/records/{entry['id']}/share-codes"
    tomorrow = format_timestamp(utc_now() + dt.timedelta(days=1))
    issued = ok(api.call("POST", path, "school", body={
        "expires_at": tomorrow, "fields": ["achievement", "awardedDate"], "note": "升学"}), 201)
    assert len(issued["code"].replace("-", "")) == 16 and issued["state"] == "active"
    assert issued["url"] == api.url(f"/verify/{issued['code']}")
    listed = ok(api.call("GET", f"/share-codes?record={entry['id']}", "school"))
    assert [s["id"] for s in listed["items"]] == [issued["id"]]
    assert "code" not in listed["items"][0]
    problem(api.call("POST", path, "provider", body={"expires_at": tomorrow}), 403,
            "records_not_authorised")
    far = format_timestamp(utc_now() + dt.timedelta(days=800))
    problem(api.call("POST", path, "school", body={"expires_at": far}), 422,
            "records_share_invalid")
    problem(api.call("DELETE", f"/share-codes/{issued['id']}", "other_school"), 404,
            "records_share_not_found")
    revoked = ok(api.call("DELETE", f"/share-codes/{issued['id']}", "school"))
    assert revoked["state"] == "revoked"


def test_schools_upload_imports_of_their_own_people(api: Api) -> None:
    header = "person,achievement_type,achievement_name,criteria,awarded_date,term"
    good = (f"{header}\n{api.people['alice']},Course,高中物理,通过考试,2026-01-25,2025秋\n")
    token = api.token("school")

    def upload(data: str, query: str = "") -> requests.Response:
        return requests.post(api.url("/api/v1/records/imports" + query),
                             data=data.encode(), timeout=60,
                             headers={"Authorization": f"Bearer {token}",
                                      "Content-Type": "text/csv", "Accept-Language": "en"})

    checked = ok(upload(good, "?dry_run=true"))
    assert checked["dry_run"] is True and not checked["errors"]
    report = ok(upload(good))
    assert report["created"] == 1 and not report["errors"]
    [created] = report["records"]
    record = ok(api.call("GET", f"/records/{created['id']}", "school"))
    assert record["state"] == "submitted" and record["subject"]["ref"] == api.people["alice"]
    assert ok(upload(good))["unchanged"] == 1  # idempotent
    foreign = f"{header}\n{api.people['bob']},Course,高中化学,通过考试,2026-01-25,2025秋\n"
    rejected = problem(upload(foreign), 422, "records_import_rows")
    assert rejected["errors"] == [{"line": 2, "reason": "not_member", "detail": "person",
                                   "message": rejected["errors"][0]["message"]}]
    unreadable = problem(upload("just,some\ncells"), 422, "records_import_unreadable")
    assert "column" in unreadable["reason"]


def test_no_malformed_request_gets_a_server_error(api: Api) -> None:
    """Every operation of the OpenAPI document, fed junk, answers a problem below 500."""
    document = ok(requests.get(api.url("/api/openapi.json"), timeout=30))
    draft = create(api, "app_filing")
    junk: list[Any] = [[], "x", 7, None, {"content": 5, "type": {}}, {"comment": ["x"]},
                       {"expires_at": "2026-02-30T00:00:00Z"}, {"record": {"id": 1}},
                       {"bundle": {"format": "edutrust-record-bundle/v1", "record": []}}]
    token = api.token("province")
    for path, methods in document["paths"].items():
        if not path.startswith("/api/v1/") or "/admin" in path or "/directory" in path:
            continue
        concrete = (path.replace("{record_id}", draft["id"]).replace("{version}", "1")
                    .replace("{share_id}", "nope").replace("{list_id}", "x")
                    .replace("{purpose}", "revocation"))
        for method in methods:
            for body in (junk if method in ("post", "put", "patch") else [None]):
                response = requests.request(
                    method.upper(), api.url(concrete), json=body, timeout=60,
                    headers={"Authorization": f"Bearer {token}",
                             "Accept-Language": "en"})
                assert response.status_code < 500, (method, path, body, response.text[:300])
    deep = requests.post(api.url("/api/v1/records"), data=b"[" * 100_000, timeout=30,
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json"})
    assert deep.status_code == 400


def test_an_entry_smuggled_in_for_another_schools_student_verifies_invalid(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Had the platform's checks been bypassed (here: in process, on the same database
    and ledger), the verification the API answers still says invalid."""
    from edutrust.ledger_setup import open_channel
    from edutrust.records_setup import open_registry
    from records.envelope import Subject, SubjectKind
    from records.lifecycle import Actor
    from tests.records.api.conftest import PROVINCE

    channel = open_channel(api.platform)
    try:
        registry = open_registry(api.platform, channel)
        monkeypatch.setattr(registry, "_check_subject", lambda *args: None)
        school, reviewer = Actor("staff-1", "staff", SCHOOL), Actor("r-1", "regulator",
                                                                      PROVINCE)
        record = registry.create("archive_entry", archive_content(), actor=school,
                                 subject=Subject(SubjectKind.PERSON, api.people["bob"],
                                                 OTHER_SCHOOL))
        registry.submit(record.id, actor=school)
        registry.start_review(record.id, actor=reviewer)
        registry.approve(record.id, actor=reviewer)
        registry.anchor([record.id])
    finally:
        channel.close()
    report = verification(api, record.id)
    assert report["overall"] == "invalid"
    assert failed(report)["issuer_authority"] == "foreign_subject"


def test_an_imported_batch_signed_record_verifies_through_the_api(api: Api) -> None:
    """An import signs its entries' draft and submitted steps and issue proofs in one
    batch; the review and approval made one record at a time are signed alone."""
    header = "person,achievement_type,achievement_name,criteria,awarded_date,term"
    rows = "".join(f"{api.people['alice']},Course,批量课程{i},通过考试,2026-01-25,2025秋\n"
                   for i in range(2))
    response = requests.post(api.url("/api/v1/records/imports"),
                             data=f"{header}\n{rows}".encode(), timeout=60,
                             headers={"Authorization": f"Bearer {api.token('school')}",
                                      "Content-Type": "text/csv", "Accept-Language": "en"})
    created = ok(response)["records"]
    assert len(created) == 2
    rid = created[1]["id"]
    ok(api.call("POST", f"/records/{rid}/start-review", "province"))
    ok(api.call("POST", f"/records/{rid}/approve", "province", body={"comment": "齐全"}))
    bundle = ok(api.call("GET", f"/records/{rid}/bundle", "school"))
    lifecycle = bundle["record"]["lifecycle"]
    assert [("batch" in e) for e in lifecycle] == [True, True, False, False, False]
    assert bundle["record"]["proofs"][0]["batch"]["index"] == 1
    assert verification(api, rid)["overall"] == "valid"
    report = ok(api.call("POST", "/verify", "province", scope="records:verify", body=bundle))
    assert report["overall"] == "valid", failed(report)

    forged = copy.deepcopy(bundle)
    forged["record"]["proofs"][0]["batch"]["index"] = 0
    report = ok(api.call("POST", "/verify", "province", scope="records:verify", body=forged))
    assert report["overall"] == "invalid" and failed(report)["signature"] == "bad_signature"
