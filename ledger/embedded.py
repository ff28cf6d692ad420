"""The embedded network: the organisations of one channel, each with its CA, an endorsing
peer, an admin and a client identity, one of them also running the orderer.

In the embedded deployment the platform holds every organisation's keys in its key
provider; on Hyperledger Fabric each organisation would run its own peer. The shape is the
same, so contracts and policies carry over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crypto.keys.provider import SM2Signer
from crypto.x509 import Certificate
from ledger.config import BatchParameters, ChannelConfig
from ledger.msp import Identity, OrganisationCA, SigningIdentity
from ledger.policy import parse_policy

ROLES = ("peer", "admin", "client", "orderer")


@dataclass
class EmbeddedOrganisation:
    ca: OrganisationCA
    identities: dict[str, SigningIdentity]  # role -> identity

    @property
    def msp_id(self) -> str:
        return self.ca.msp_id

    def role(self, role: str) -> SigningIdentity:
        return self.identities[role]


SignerFactory = Callable[[str], SM2Signer]


def create_organisation(msp_id: str, display_name: str, new_signer: SignerFactory,
                        roles: Sequence[str] = ("peer", "admin", "client"),
                        days: int = 3650) -> EmbeddedOrganisation:
    """A CA and one identity per role; ``new_signer(name)`` makes each key (a fresh
    ``SM2PrivateKey`` in tests, a provider key in the platform)."""
    ca = OrganisationCA.create(msp_id, display_name, new_signer(f"{msp_id}-ca"), days=days)
    identities = {}
    for role in roles:
        signer = new_signer(f"{msp_id}-{role}")
        cert = ca.issue(role, f"{msp_id} {role}", signer.public_key(), days=days - 1)
        identities[role] = SigningIdentity.of(Identity(msp_id, role, cert), signer)
    return EmbeddedOrganisation(ca, identities)


def restore_identity(msp_id: str, role: str, certificate: Certificate,
                     signer: SM2Signer) -> SigningIdentity:
    return SigningIdentity.of(Identity(msp_id, role, certificate), signer)


def channel_config(channel_id: str, origin: str, organisations: Sequence[EmbeddedOrganisation],
                   orderer_msp: str, *, endorsement: str | None = None,
                   admins: str | None = None,
                   batch: BatchParameters | None = None) -> ChannelConfig:
    """A genesis configuration; by default endorsement needs the peers of a majority of
    the organisations and configuration changes a majority of their admins."""
    ids = [o.msp_id for o in organisations]
    majority = len(ids) // 2 + 1
    default_endorsement = f"OutOf({majority}, " + ", ".join(f"'{m}.peer'" for m in ids) + ")"
    default_admins = f"OutOf({majority}, " + ", ".join(f"'{m}.admin'" for m in ids) + ")"
    return ChannelConfig(
        channel_id=channel_id, origin=origin, sequence=0,
        organisations=tuple(o.ca.definition() for o in organisations),
        orderer_msp=orderer_msp,
        admin_policy=parse_policy(admins or default_admins),
        endorsement_policy=parse_policy(endorsement or default_endorsement),
        batch=batch or BatchParameters())
