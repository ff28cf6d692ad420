"""A three-organisation test network on a fresh database (not a test module)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from crypto.sm2 import SM2PrivateKey
from edutrust.database import make_engine, migrate
from ledger.channel import Channel, Peer
from ledger.config import BatchParameters, ChannelConfig
from ledger.contracts.anchoring import AnchoringContract
from ledger.embedded import EmbeddedOrganisation, channel_config, create_organisation
from ledger.storage.sql import SqlLedgerStore

ORIGIN = "edutrust.test/ledger/archives"


def new_key(_name: str) -> SM2PrivateKey:
    return SM2PrivateKey.generate()


@dataclass
class Network:
    engine: Engine
    store: SqlLedgerStore
    orgs: dict[str, EmbeddedOrganisation]
    config: ChannelConfig
    channel: Channel

    def open_channel(self) -> Channel:
        """Another handle on the same channel, as a second process would have."""
        return open_channel(self.store, self.orgs)


def open_channel(store: SqlLedgerStore, orgs: dict[str, EmbeddedOrganisation]) -> Channel:
    return Channel(store, "archives", contracts=[AnchoringContract()],
                   peers=[Peer(o.role("peer")) for o in orgs.values()],
                   orderer=orgs["Ministry"].role("orderer"),
                   witnesses=[orgs["Province"].role("peer"), orgs["School"].role("peer")])


def create_organisations() -> dict[str, EmbeddedOrganisation]:
    """The three organisations of the test channel (Ministry also orders)."""
    return {
        "Ministry": create_organisation("Ministry", "教育部", new_key,
                                        ("peer", "admin", "client", "orderer")),
        "Province": create_organisation("Province", "某省教育厅", new_key),
        "School": create_organisation("School", "某某中学", new_key),
    }


def build_network(database_url: str, batch: BatchParameters | None = None,
                  endorsement: str | None = None,
                  orgs: dict[str, EmbeddedOrganisation] | None = None) -> Network:
    """A channel on a fresh migrated database; ``orgs`` lets a module issue the
    organisations once and reuse them."""
    engine = make_engine(database_url)
    migrate(engine)
    orgs = orgs or create_organisations()
    config = channel_config("archives", ORIGIN, list(orgs.values()), "Ministry",
                            endorsement=endorsement,
                            batch=batch or BatchParameters(max_count=50, timeout_ms=5))
    store = SqlLedgerStore(engine)
    Channel.create(store, config, [orgs["Ministry"].role("admin"),
                                   orgs["Province"].role("admin")],
                   orgs["Ministry"].role("orderer"))
    return Network(engine, store, orgs, config, open_channel(store, orgs))
