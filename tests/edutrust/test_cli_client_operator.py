"""``edutrust clients create --operator``: registers an operator client, whose own
client_credentials tokens may use the operator API (admin/rbac.py); only confidential
client_credentials clients can be one."""

from __future__ import annotations

import json

from admin.rbac import OperatorClients
from edutrust.platform import Platform
from edutrust.settings import Settings
from tests.conftest import cli_env, run_cli


def test_the_cli_registers_operator_clients_and_refuses_ones_that_cannot_get_tokens(
        platform: Platform, settings: Settings) -> None:
    env = cli_env(settings)
    done = run_cli("clients", "create", "--name", "Ops pipeline", "--grant",
                   "client_credentials", "--scope", "edutrust:admin", "--operator", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["operator"] is True and document["scope"] == "edutrust:admin"
    operators = OperatorClients(platform.sessions)
    assert operators.is_operator(document["client_id"])

    plain = json.loads(run_cli("clients", "create", "--name", "Plain", "--grant",
                               "client_credentials", env=env).stdout)
    assert plain["operator"] is False and not operators.is_operator(plain["client_id"])
    assert "edutrust:admin" not in plain["scope"].split()  # never by default

    refused = run_cli("clients", "create", "--name", "Web", "--grant", "authorization_code",
                      "--redirect-uri", "https://rp.example/cb", "--operator", env=env)
    assert refused.returncode == 2 and b"client_credentials" in refused.stderr
    assert refused.stdout == b""
