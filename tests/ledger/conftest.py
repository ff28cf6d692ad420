"""Fixtures shared by the ledger tests: organisations issued once per module, and a
fresh channel on a fresh database per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.embedded import EmbeddedOrganisation
from tests.ledger.network import Network, build_network, create_organisations


@pytest.fixture(scope="module")
def organisations() -> dict[str, EmbeddedOrganisation]:
    """The three organisations of ``build_network``, issued once per module (a test that
    revokes a certificate builds its own)."""
    return create_organisations()


@pytest.fixture
def net(database_url: str, organisations: dict[str, EmbeddedOrganisation]
        ) -> Iterator[Network]:
    network = build_network(database_url, orgs=organisations)
    yield network
    network.channel.close()
    network.store.close()
    network.engine.dispose()
