"""Clients that act for a directory organisation (``edutrust clients create --org CODE``,
a school's records system): only client_credentials clients, only known organisations.
Unknown organisation codes are refused before anything is stored (CliError)."""

from __future__ import annotations

import json

import pytest

from edutrust.platform import Platform
from edutrust.settings import Settings
from idp.oauth2 import ProviderError
from idp.oauth2.clients import ClientRegistration
from idp.oauth2.server import open_provider
from tests.conftest import cli_env, run_cli

SCHOOL = "3133001234"


def test_only_client_credentials_clients_act_for_a_known_organisation(
        platform: Platform, settings: Settings) -> None:
    provider = open_provider(settings.issuer, platform.sessions, platform.keys,
                             platform.fields)
    provider.directory.create_organisation("330000", "浙江省", "province")
    org = provider.directory.create_organisation(SCHOOL, "西湖区实验小学", "school",
                                                 parent_code="330000")
    client, _ = provider.clients.register(ClientRegistration(
        name="School system", grant_types=("client_credentials",), org_id=org.id))
    stored = provider.clients.find(client.client_id)
    assert stored is not None and stored.org_id == org.id
    assert stored.metadata()["org_id"] == org.id
    with pytest.raises(ProviderError) as refused:
        provider.clients.register(ClientRegistration(
            name="Web app", grant_types=("authorization_code",),
            redirect_uris=("https://rp.example/cb",), org_id=org.id))
    assert refused.value.key == "clients.org_needs_client_credentials"

    result = run_cli("clients", "create", "--name", "School records system", "--grant",
                     "client_credentials", "--scope", "records:submit", "--org", SCHOOL,
                     env=cli_env(settings))
    assert result.returncode == 0, result.stderr.decode()
    document = json.loads(result.stdout)
    assert document["org"] == SCHOOL and document["org_id"] == org.id
    assert document["scope"] == "records:submit" and document["client_secret"]


def test_an_unknown_organisation_code_exits_2_and_registers_nothing(
        platform: Platform, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from edutrust.cli import main

    for name, value in cli_env(settings).items():
        monkeypatch.setenv(name, value)
    code = main(["clients", "create", "--name", "X", "--grant", "client_credentials",
                 "--org", "3133009999"])
    captured = capsys.readouterr()
    assert code == 2 and "3133009999" in captured.err and captured.out == ""

