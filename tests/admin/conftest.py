"""The operator API's end-to-end tests run against the provider tests' live server
(``live_idp``: real gunicorn, its own database) with an operator person and an operator
client added, and obtain real access tokens from its token endpoint."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests

from admin.rbac import OperatorClients
from idp.mfa.policy import PolicyStore
from tests.idp.provider.conftest import PASSWORD, LiveIdp, live_idp

OPS_ORG = "4101990077"

__all__ = ["live_idp"]


@dataclass
class Operators:
    idp: LiveIdp
    operator_client_id: str
    operator_client_secret: str
    person_id: str

    def client_token(self, client_id: str, secret: str, scope: str) -> str:
        response = requests.post(self.idp.url("/oauth2/token"), auth=(client_id, secret),
                                 data={"grant_type": "client_credentials", "scope": scope},
                                 timeout=30)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def admin_token(self, scope: str = "edutrust:admin") -> str:
        return self.client_token(self.operator_client_id, self.operator_client_secret, scope)


@pytest.fixture(scope="session")
def operators(live_idp: LiveIdp) -> Operators:
    client, secret = live_idp.register(
        name="Ops pipeline", grant_types=("client_credentials",), redirect_uris=(),
        scopes=("edutrust:admin", "directory:import"))
    assert secret is not None
    OperatorClients(live_idp.provider.directory.sessions).set(client.client_id, True)
    directory = live_idp.provider.directory
    # Operators of this test organisation log in with a password alone (the default
    # policy asks them for a passkey, which the requests-driven browser has not got).
    org = directory.create_organisation(OPS_ORG, "运维测试学校", "school")
    PolicyStore(directory.sessions).set(org.id, "operator", "none")
    person = directory.create_person("olga.ops", "Olga Ops", password=PASSWORD)
    directory.add_membership(person.id, OPS_ORG, "operator")
    student = directory.create_person("sam.student", "Sam Student", password=PASSWORD)
    directory.add_membership(student.id, OPS_ORG, "student")
    return Operators(live_idp, client.client_id, secret, person.id)
