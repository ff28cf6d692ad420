"""The operator API over HTTP against the live server: who may call it, client
management validated as ``edutrust clients create`` is, and the directory import with
the CLI importer's all-or-nothing, idempotent semantics."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from admin.rbac import OperatorClients
from tests.admin.conftest import Operators
from tests.idp.provider.conftest import PASSWORD, Browser, pkce_pair

CLIENTS = "/api/v1/admin/clients"
IMPORTS = "/api/v1/directory/imports"
HEADER = ("org_code,org_name,org_kind,parent_code,username,display_name,role,email,"
          "phone,id_card,student_number,birth_date,guardian_of,password\n")


def call(ops: Operators, method: str, path: str, token: str | None, *,
         lang: str = "en", **kwargs: Any) -> requests.Response:
    headers = {"Accept-Language": lang, **kwargs.pop("headers", {})}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, ops.idp.url(path), headers=headers, timeout=30,
                            **kwargs)


def assert_problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:edutrust:problem:{slug}"
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def person_token(ops: Operators, username: str, scope: str) -> str:
    """An access token for a person, through the real authorization code flow."""
    client, secret = ops.idp.register(scopes=("openid", "edutrust:admin"), first_party=True)
    assert secret is not None
    verifier, challenge = pkce_pair()
    query = urlencode({"response_type": "code", "client_id": client.client_id,
                       "redirect_uri": "https://rp.example/cb", "scope": scope,
                       "state": "s", "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    final = Browser(ops.idp.base).authorize(f"/oauth2/authorize?{query}",
                                            "https://rp.example/cb", username=username,
                                            password=PASSWORD)
    code = parse_qs(urlsplit(final).query)["code"][0]
    response = requests.post(ops.idp.url("/oauth2/token"), auth=(client.client_id, secret),
                             data={"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": "https://rp.example/cb",
                                   "code_verifier": verifier}, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def new_client(ops: Operators, token: str, **members: Any) -> dict[str, Any]:
    body = {"client_name": "API client " + uuid.uuid4().hex[:6],
            "grant_types": ["client_credentials"], "scope": "edu", **members}
    response = call(ops, "POST", CLIENTS, token, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --------------------------------------------------------------------------- who may call

def test_a_request_without_a_token_is_refused_with_a_bearer_challenge(
        operators: Operators) -> None:
    response = call(operators, "GET", CLIENTS, None)
    assert_problem(response, 401, "admin-unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")
    # RFC 6750 2.3 query tokens end up in logs: only the header is read.
    in_query = call(operators, "GET", CLIENTS + "?access_token=" + operators.admin_token(),
                    None)
    assert_problem(in_query, 401, "admin-unauthorized")


def test_a_forged_or_foreign_token_is_refused(operators: Operators) -> None:
    token = operators.admin_token()
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    for bad in (forged, "not-a-token", token + "x"):
        response = call(operators, "GET", CLIENTS, bad)
        assert_problem(response, 401, "admin-invalid-token")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_for_another_resource_server_is_refused(operators: Operators) -> None:
    response = requests.post(operators.idp.url("/oauth2/token"),
                             auth=(operators.operator_client_id,
                                   operators.operator_client_secret),
                             data={"grant_type": "client_credentials",
                                   "scope": "edutrust:admin",
                                   "resource": operators.idp.url("/api/v1")}, timeout=30)
    assert response.status_code == 200, response.text
    elsewhere = response.json()["access_token"]  # aud: the records API, not the platform
    assert_problem(call(operators, "GET", CLIENTS, elsewhere), 401, "admin-invalid-token")


def test_a_token_without_the_admin_scope_is_refused(operators: Operators) -> None:
    token = operators.admin_token(scope="directory:import")
    response = call(operators, "GET", CLIENTS, token)
    body = assert_problem(response, 403, "admin-insufficient-scope")
    assert "edutrust:admin" in body["detail"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_a_client_that_is_not_an_operator_client_is_refused_even_with_the_scope(
        operators: Operators) -> None:
    client, secret = operators.idp.register(
        name="Not ops", grant_types=("client_credentials",), redirect_uris=(),
        scopes=("edutrust:admin",))
    assert secret is not None
    token = operators.client_token(client.client_id, secret, "edutrust:admin")
    assert_problem(call(operators, "GET", CLIENTS, token), 403, "admin-not-operator")


def test_a_person_without_the_operator_role_is_refused(operators: Operators) -> None:
    token = person_token(operators, "sam.student", "openid edutrust:admin")
    assert_problem(call(operators, "GET", CLIENTS, token), 403, "admin-not-operator")


def test_a_person_with_the_operator_role_may_manage_clients(operators: Operators) -> None:
    token = person_token(operators, "olga.ops", "openid edutrust:admin")
    response = call(operators, "GET", CLIENTS + "?limit=1000", token)
    assert response.status_code == 200, response.text
    ids = [c["client_id"] for c in response.json()["clients"]]
    assert operators.operator_client_id in ids


def test_taking_the_operator_flag_away_takes_effect_at_once(operators: Operators) -> None:
    admin = operators.admin_token()
    created = new_client(operators, admin, scope="edutrust:admin", operator=True)
    token = operators.client_token(created["client_id"], created["client_secret"],
                                   "edutrust:admin")
    assert call(operators, "GET", CLIENTS, token).status_code == 200
    changed = call(operators, "PATCH", CLIENTS + "/" + created["client_id"], admin,
                   json={"operator": False})
    assert changed.status_code == 200 and changed.json()["operator"] is False
    assert_problem(call(operators, "GET", CLIENTS, token), 403, "admin-not-operator")


def test_a_scope_counts_only_while_the_client_is_registered_for_it(
        operators: Operators) -> None:
    admin = operators.admin_token()
    created = new_client(operators, admin, scope="edutrust:admin directory:import",
                         operator=True)
    token = operators.client_token(created["client_id"], created["client_secret"],
                                   "edutrust:admin")
    narrowed = call(operators, "PATCH", CLIENTS + "/" + created["client_id"], admin,
                    json={"scope": "directory:import"})
    assert narrowed.status_code == 200, narrowed.text
    assert_problem(call(operators, "GET", CLIENTS, token), 403, "admin-insufficient-scope")


def test_privileged_scopes_are_never_given_by_default_nor_registered_dynamically(
        operators: Operators) -> None:
    client, _secret = operators.idp.register(grant_types=("client_credentials",),
                                             redirect_uris=())
    assert "edutrust:admin" not in client.scopes
    assert "directory:import" not in client.scopes
    initial = operators.idp.provider.registration
    assert initial is not None
    response = requests.post(
        operators.idp.url("/oauth2/register"),
        headers={"Authorization": f"Bearer {initial.issue_initial_token()}"},
        json={"client_name": "Self-served", "grant_types": ["client_credentials"],
              "scope": "edu edutrust:admin"}, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


# --------------------------------------------------------------------------- clients

def test_a_client_created_over_the_api_gets_tokens_and_shows_no_secret_again(
        operators: Operators) -> None:
    admin = operators.admin_token()
    created = new_client(operators, admin)
    assert created["client_secret"] and created["operator"] is False
    token = operators.client_token(created["client_id"], created["client_secret"], "edu")
    assert token.count(".") == 2
    shown = call(operators, "GET", CLIENTS + "/" + created["client_id"], admin)
    assert shown.status_code == 200
    assert "client_secret" not in shown.json()
    assert shown.json()["client_name"] == created["client_name"]
    assert shown.headers["Cache-Control"] == "no-store"


def test_registrations_are_checked_by_the_cli_rules_in_the_request_language(
        operators: Operators) -> None:
    admin = operators.admin_token()
    bad = {"client_name": "Bad", "grant_types": ["authorization_code"],
           "redirect_uris": ["http://evil.example/cb"]}
    english = assert_problem(call(operators, "POST", CLIENTS, admin, json=bad), 400,
                             "admin-invalid-client")
    assert "http://evil.example/cb" in english["detail"]
    chinese = call(operators, "POST", CLIENTS, admin, lang="zh-CN", json=bad)
    assert chinese.headers["Content-Language"] == "zh"
    assert "回调地址无效" in assert_problem(chinese, 400, "admin-invalid-client")["detail"]
    for members, words in (
            ({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"},
             "client_credentials"),
            ({"grant_types": ["password"]}, "password"),
            ({"grant_types": ["client_credentials"], "scope": "openid nonsense"},
             "nonsense"),
            ({"grant_types": ["client_credentials"], "surprise": 1}, "surprise"),
            ({"grant_types": "client_credentials"}, "grant_types"),
            ({"grant_types": ["authorization_code"], "redirect_uris": ["https://a.example/"],
              "operator": True}, "operator"),
            ({"grant_types": ["client_credentials"], "client_secret": "mine"},
             "client_secret")):
        body = {"client_name": "Bad", **members}
        problem = assert_problem(call(operators, "POST", CLIENTS, admin, json=body), 400,
                                 "admin-invalid-client")
        assert words in problem["detail"], (members, problem)


def test_bad_json_and_wrong_media_types_are_problems(operators: Operators) -> None:
    admin = operators.admin_token()
    broken = call(operators, "POST", CLIENTS, admin, data=b'{"client_name": ',
                  headers={"Content-Type": "application/json"})
    assert_problem(broken, 400, "admin-bad-json")
    array = call(operators, "POST", CLIENTS, admin, json=["client_name"])
    assert_problem(array, 400, "admin-bad-json")
    form = call(operators, "POST", CLIENTS, admin, data={"client_name": "x"})
    assert_problem(form, 415, "admin-json-expected")
    assert_problem(call(operators, "GET", CLIENTS + "?limit=0", admin), 400, "admin-bad-page")


def test_a_client_is_changed_by_merge_patch_and_checked_as_a_whole(
        operators: Operators) -> None:
    admin = operators.admin_token()
    created = new_client(operators, admin, access_token_signed_response_alg="ES256")
    path = CLIENTS + "/" + created["client_id"]
    changed = call(operators, "PATCH", path, admin,
                   json={"client_name": "Renamed", "scope": "edu profile",
                         "access_token_signed_response_alg": None},
                   headers={"Content-Type": "application/merge-patch+json"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["client_name"] == "Renamed" and body["scope"] == "edu profile"
    assert body["access_token_signed_response_alg"] == "SM2"  # null: back to the default
    assert body["client_id_issued_at"] == created["client_id_issued_at"]
    refused = call(operators, "PATCH", path, admin,
                   json={"grant_types": ["authorization_code"]})  # needs a redirect URI
    assert_problem(refused, 400, "admin-invalid-client")
    public = call(operators, "PATCH", path, admin, json={"token_endpoint_auth_method": "none"})
    assert_problem(public, 400, "admin-invalid-client")
    assert call(operators, "GET", path, admin).json()["client_name"] == "Renamed"
    # The unchanged secret still works.
    operators.client_token(created["client_id"], created["client_secret"], "edu")


def test_rotating_the_secret_retires_the_old_one_at_once(operators: Operators) -> None:
    admin = operators.admin_token()
    created = new_client(operators, admin)
    rotated = call(operators, "POST", CLIENTS + "/" + created["client_id"] + "/secret", admin)
    assert rotated.status_code == 200, rotated.text
    secret = rotated.json()["client_secret"]
    assert secret != created["client_secret"]
    operators.client_token(created["client_id"], secret, "edu")
    old = requests.post(operators.idp.url("/oauth2/token"),
                        auth=(created["client_id"], created["client_secret"]),
                        data={"grant_type": "client_credentials"}, timeout=30)
    assert old.status_code == 401 and old.json()["error"] == "invalid_client"
    public = new_client(operators, admin, grant_types=["authorization_code"],
                        redirect_uris=["https://app.example/cb"],
                        token_endpoint_auth_method="none")
    assert_problem(call(operators, "POST", CLIENTS + "/" + public["client_id"] + "/secret",
                        admin), 409, "admin-no-secret")


def test_deleting_a_client_ends_its_tokens_and_unknown_ids_are_404(
        operators: Operators) -> None:
    admin = operators.admin_token()
    created = new_client(operators, admin, scope="edutrust:admin", operator=True)
    token = operators.client_token(created["client_id"], created["client_secret"],
                                   "edutrust:admin")
    path = CLIENTS + "/" + created["client_id"]
    deleted = call(operators, "DELETE", path, admin)
    assert deleted.status_code == 204
    assert_problem(call(operators, "GET", path, admin), 404, "admin-client-not-found")
    assert_problem(call(operators, "DELETE", path, admin), 404, "admin-client-not-found")
    assert_problem(call(operators, "PATCH", path, admin, json={"client_name": "x"}), 404,
                   "admin-client-not-found")
    assert_problem(call(operators, "GET", CLIENTS, token), 401, "admin-invalid-token")
    assert not OperatorClients(operators.idp.provider.directory.sessions).is_operator(
        created["client_id"])
    # The audit trail records who did it, and deleting the client did not touch it.
    trail = operators.idp.provider.audit
    assert trail is not None
    entries = [e for e in trail.entries() if e["client_id"] == created["client_id"]]
    assert [e["event"] for e in entries] == ["admin.client.created",
                                             "admin.client.deleted"]
    assert entries[1]["details"]["operator_kind"] == "client"
    assert trail.verify().intact


def test_a_client_acting_for_an_organisation_shows_its_code(operators: Operators) -> None:
    admin = operators.admin_token()
    created = new_client(operators, admin, org="4101990002")
    assert created["org"] == "4101990002" and created["org_id"]
    unknown = call(operators, "POST", CLIENTS, admin,
                   json={"client_name": "x", "grant_types": ["client_credentials"],
                         "org": "4101999999"})
    assert_problem(unknown, 400, "admin-invalid-client")


# --------------------------------------------------------------------------- directory

def school_file(code: str, prefix: str, *, bad_line: bool = False) -> bytes:
    rows = [f"{code},导入测试学校{prefix},school,,,,,,,,,,,",
            f"{code},,,,{prefix}.t1,Teacher One,teacher,t1@school.example,,,,,,",
            f"{code},,,,{prefix}.s1,Student One,student,,,,,,,"]
    if bad_line:
        rows.append(f"{code},,,,{prefix}.x,Wrong Role,janitor,,,,,,,")
        rows.append(f"{code},,,,{prefix}.y,Bad Mail,teacher,not-an-email,,,,,,")
    return (HEADER + "\n".join(rows) + "\n").encode()


def fresh_school_code() -> str:
    return "41019" + str(uuid.uuid4().int % 10**5).zfill(5)


def test_a_directory_import_is_idempotent(operators: Operators) -> None:
    token = operators.admin_token(scope="directory:import")
    code = fresh_school_code()
    data = school_file(code, "imp" + code[-5:])
    first = call(operators, "POST", IMPORTS, token, data=data,
                 headers={"Content-Type": "text/csv; charset=utf-8"})
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 3 and first.json()["errors"] == []
    again = call(operators, "POST", IMPORTS, token, files={"file": ("people.csv", data)})
    assert again.status_code == 200, again.text
    assert again.json() | {"dry_run": False} == {"rows": 3, "created": 0, "updated": 0,
                                                  "unchanged": 3, "dry_run": False,
                                                  "errors": []}
    assert operators.idp.provider.directory.find_organisation(code) is not None


def test_a_bad_row_rejects_the_whole_file_with_every_line_and_reason(
        operators: Operators) -> None:
    token = operators.admin_token()  # edutrust:admin may import too
    code = fresh_school_code()
    response = call(operators, "POST", IMPORTS, token, lang="zh",
                    data=school_file(code, "bad" + code[-5:], bad_line=True),
                    headers={"Content-Type": "text/csv"})
    body = assert_problem(response, 422, "directory-import-rejected")
    assert [(e["line"], e["reason"]) for e in body["errors"]] == [
        (5, "import.row.bad_role"), (6, "code.bad_email")]
    assert all(e["message"] for e in body["errors"])
    assert body["report"]["rows"] == 5
    assert operators.idp.provider.directory.find_organisation(code) is None


def test_unreadable_uploads_and_dry_runs(operators: Operators) -> None:
    token = operators.admin_token(scope="directory:import")
    code = fresh_school_code()
    dry = call(operators, "POST", IMPORTS + "?dry_run=true", token,
               data=school_file(code, "dry" + code[-5:]), headers={"Content-Type": "text/csv"})
    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    assert operators.idp.provider.directory.find_organisation(code) is None
    latin = call(operators, "POST", IMPORTS, token, data=b"org_code\n\xc0\xff\n",
               headers={"Content-Type": "text/csv"})
    assert_problem(latin, 400, "directory-import-unreadable")
    json_body = call(operators, "POST", IMPORTS, token, json={"org_code": code})
    assert_problem(json_body, 415, "directory-import-csv-expected")
    assert_problem(call(operators, "POST", IMPORTS + "?dry_run=maybe", token, data=b"x",
                        headers={"Content-Type": "text/csv"}), 400, "admin-bad-flag")


def test_an_import_needs_an_import_or_admin_scope(operators: Operators) -> None:
    client, secret = operators.idp.register(
        name="Ops without import", grant_types=("client_credentials",), redirect_uris=(),
        scopes=("edu",))
    assert secret is not None
    OperatorClients(operators.idp.provider.directory.sessions).set(client.client_id, True)
    token = operators.client_token(client.client_id, secret, "edu")
    response = call(operators, "POST", IMPORTS, token, data=b"org_code\n",
                    headers={"Content-Type": "text/csv"})
    body = assert_problem(response, 403, "admin-insufficient-scope")
    assert "directory:import" in body["detail"]
