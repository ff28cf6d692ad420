"""One live EduTrust server for the records API tests (module scope): a directory with a
province (the Beijing education department, which reviews), the national ministry
(credit records), the Shanghai department (another region), two schools and an app
provider, each registered as a records organisation; OAuth clients acting for them
(client_credentials, registered with ``--org``); a student in each school."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from edutrust.platform import Platform, initialise
from edutrust.records_setup import open_issuers
from edutrust.settings import Settings
from idp.oauth2.clients import ClientRegistration
from idp.oauth2.server import open_provider
from records.schema import with_check_character
from tests.conftest import PG_URL, REDIS_URL, cli_env, free_port, serving

PROVINCE = "110000"          # 北京市教育委员会 (reviews, region 11)
OTHER_PROVINCE = "310000"    # 上海市教育委员会 (reviews app filings of region 31)
MINISTRY = "100000"          # 教育部 (issues credit records)
SCHOOL = "1101010001"
OTHER_SCHOOL = "1101010002"
PROVIDER = with_check_character("91110108MA01ABCDE")
PASSWORD = "Correct-Horse-42"
ALL = "records:submit records:review records:verify"


@dataclass
class Api:
    """The live server and a token per acting organisation."""

    base: str
    settings: Settings
    platform: Platform
    people: dict[str, str]
    clients: dict[str, tuple[str, str]]           # name -> (client id, secret)
    tokens: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base + path

    def token(self, name: str, scope: str = ALL, resource: str | None = None) -> str:
        key = f"{name}|{scope}|{resource}"
        if key not in self.tokens:
            client_id, secret = self.clients[name]
            data = {"grant_type": "client_credentials", "scope": scope}
            if resource:
                data["resource"] = resource
            response = requests.post(self.url("/oauth2/token"), data=data,
                                     auth=(client_id, secret), timeout=30)
            assert response.status_code == 200, response.text
            self.tokens[key] = response.json()["access_token"]
        return self.tokens[key]

    def call(self, method: str, path: str, who: str | None = None, *,
             scope: str = ALL, body: Any = None, lang: str = "en",
             headers: dict[str, str] | None = None) -> requests.Response:
        sent = {"Accept-Language": lang, **(headers or {})}
        if who is not None:
            sent["Authorization"] = f"Bearer {self.token(who, scope)}"
        return requests.request(method, self.url("/api/v1" + path), headers=sent,
                                json=body, timeout=60)


def _database(tmp: Any) -> tuple[str, str | None]:
    if not PG_URL:
        return f"sqlite:///{tmp / 'edutrust.db'}", None
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}", schema


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("records-api")
    url, schema = _database(tmp)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(home=tmp / "home", database_url=url, redis_url=REDIS_URL, issuer=base,
                        master_key_b64=None, lang="en", log_level="WARNING")
    platform = initialise(settings, lambda key, **values: None)
    provider = open_provider(base, platform.sessions, platform.keys, platform.fields)
    directory = provider.directory
    directory.create_organisation(MINISTRY, "教育部", "national")
    directory.create_organisation(PROVINCE, "北京市", "province", parent_code=MINISTRY)
    directory.create_organisation(OTHER_PROVINCE, "上海市", "province", parent_code=MINISTRY)
    directory.create_organisation(SCHOOL, "北京市第一中学", "school", parent_code=PROVINCE)
    directory.create_organisation(OTHER_SCHOOL, "北京市第二中学", "school",
                                  parent_code=PROVINCE)
    directory.create_organisation(PROVIDER, "某某教育科技有限公司", "enterprise",
                                  parent_code=PROVINCE)
    # The staff member logs in with a password only here (MFA has its own tests).
    from idp.mfa.policy import NONE, PolicyStore

    school = directory.find_organisation(SCHOOL)
    assert school is not None
    PolicyStore(platform.sessions).set(school.id, "staff", NONE)
    people = {}
    for username, name, org, role in (("alice", "Alice Zhang", SCHOOL, "student"),
                                      ("bob", "Bob Li", OTHER_SCHOOL, "student"),
                                      ("carol", "Carol Wang", SCHOOL, "staff")):
        person = directory.create_person(username, name, password=PASSWORD)
        directory.add_membership(person.id, org, role)
        people[username] = person.id

    issuers = open_issuers(platform)
    issuers.register(SCHOOL, "北京市第一中学", "school", issues=["archive_entry"])
    issuers.register(OTHER_SCHOOL, "北京市第二中学", "school", issues=["archive_entry"])
    issuers.register(PROVIDER, "某某教育科技有限公司", "app_provider",
                     issues=["app_filing", "copyright_registration"])
    issuers.register(PROVINCE, "北京市教育委员会", "education_department",
                     reviews=["archive_entry", "copyright_registration", "app_filing",
                              "credit_record"], region="11")
    issuers.register(OTHER_PROVINCE, "上海市教育委员会", "education_department",
                     reviews=["app_filing"], region="31")
    issuers.register(MINISTRY, "教育部", "regulator", issues=["credit_record"])

    env = cli_env(settings, EDUTRUST_ISSUER=base, EDUTRUST_LOG_LEVEL="WARNING")
    clients: dict[str, tuple[str, str]] = {}
    # Registered as `edutrust clients create --grant client_credentials --org CODE` does
    # (tests/edutrust/test_cli_client_org.py runs that command).
    for name, code in (("school", SCHOOL), ("other_school", OTHER_SCHOOL),
                       ("provider", PROVIDER),
                       ("province", PROVINCE), ("other_province", OTHER_PROVINCE),
                       ("ministry", MINISTRY), ("nobody", None)):
        org = directory.find_organisation(code) if code else None
        client, secret = provider.clients.register(ClientRegistration(
            name=f"{name} system", grant_types=("client_credentials",),
            scopes=tuple(ALL.split()), org_id=org.id if org else None))
        assert secret is not None
        clients[name] = (client.client_id, secret)
    try:
        with serving(env, port):
            yield Api(base, settings, platform, people, clients)
    finally:
        platform.engine.dispose()
        if schema is not None:
            admin = create_engine(PG_URL or "", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
