"""The platform's embedded ledger: its organisations, keys and certificates, and the
``Channel`` every entry point opens.

Three organisations share the default channel ``edutrust``: the platform operator (which
also orders), the national regulator and a provincial education department; every
contract needs the peers of two of the three (OutOf(2, ...)) and configuration changes two
admins. Their keys live in the platform's key provider (``ledger-<msp>-<role>``) and their
certificates in ``platform_certificates`` (``ledger:<msp>:<role>``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import urlsplit

from sqlalchemy import select

from crypto.keys.provider import SM2Signer
from crypto.x509 import Certificate
from edutrust.keystore import PlatformCertificate
from edutrust.platform import Platform
from ledger.channel import Channel, Peer
from ledger.config import BatchParameters
from ledger.contracts.anchoring import AnchoringContract
from ledger.embedded import (
    EmbeddedOrganisation,
    channel_config,
    create_organisation,
    restore_identity,
)
from ledger.storage.sql import SqlLedgerStore

CHANNEL = "edutrust"
ORGANISATIONS = (
    ("Operator", "EduTrust 平台运营方", ("peer", "admin", "client", "orderer")),
    ("Regulator", "教育部教育管理信息中心", ("peer", "admin", "client")),
    ("Province", "省级教育行政部门", ("peer", "admin", "client")),
)
ORDERER_MSP = "Operator"


def contracts() -> list[AnchoringContract]:
    return [AnchoringContract()]


def _key_id(msp_id: str, role: str) -> str:
    return f"ledger-{msp_id}-{role}".lower()


def _cert_name(msp_id: str, role: str) -> str:
    return f"ledger:{msp_id}:{role}"


def origin_for(issuer: str) -> str:
    host = urlsplit(issuer).netloc or "edutrust.local"
    return f"{host}/ledger/{CHANNEL}"


def initialise_ledger(platform: Platform, say: Callable[..., None]) -> bool:
    """Create the embedded network and the genesis block if there is none; True if it
    was created now."""
    store = SqlLedgerStore(platform.engine)
    if store.channel_exists(CHANNEL):
        say("ledger.exists", channel=CHANNEL)
        return False

    def new_signer(name: str) -> SM2Signer:
        msp_id, _, role = name.partition("-")
        key_id = _key_id(msp_id, role)
        platform.keys.ensure(key_id, "SM2")
        return platform.keys.sm2(key_id)

    organisations = [create_organisation(m, d, new_signer, roles) for m, d, roles in
                     ORGANISATIONS]
    now = dt.datetime.now(dt.UTC)
    with platform.sessions.begin() as session:
        for org in organisations:
            rows = [(_cert_name(org.msp_id, "ca"), org.ca.certificate)]
            rows += [(_cert_name(org.msp_id, r), i.certificate)
                     for r, i in org.identities.items()]
            for name, cert in rows:
                if session.get(PlatformCertificate, name) is None:
                    session.add(PlatformCertificate(name=name, pem=cert.pem().decode(),
                                                    created_at=now))
    by_id = {o.msp_id: o for o in organisations}
    config = channel_config(CHANNEL, origin_for(platform.settings.issuer), organisations,
                            ORDERER_MSP, batch=BatchParameters(max_count=500, timeout_ms=10))
    admins = [by_id["Operator"].role("admin"), by_id["Regulator"].role("admin")]
    Channel.create(store, config, admins, by_id[ORDERER_MSP].role("orderer"))
    say("ledger.created", channel=CHANNEL, origin=config.origin)
    return True


def load_organisations(platform: Platform) -> dict[str, EmbeddedOrganisation]:
    """The organisations' signing identities, rebuilt from stored certificates and the
    key provider's handles."""
    from crypto.x509 import CertificateAuthority
    from ledger.msp import OrganisationCA

    with platform.sessions() as session:
        certs = {row.name: Certificate.from_pem(row.pem.encode()) for row in session.scalars(
            select(PlatformCertificate).where(PlatformCertificate.name.like("ledger:%")))}
    organisations = {}
    for msp_id, display, roles in ORGANISATIONS:
        ca_cert = certs.get(_cert_name(msp_id, "ca"))
        if ca_cert is None:
            continue
        ca = OrganisationCA(msp_id, display, CertificateAuthority(
            ca_cert, platform.keys.sm2(_key_id(msp_id, "ca"))))
        identities = {role: restore_identity(msp_id, role, certs[_cert_name(msp_id, role)],
                                             platform.keys.sm2(_key_id(msp_id, role)))
                      for role in roles}
        organisations[msp_id] = EmbeddedOrganisation(ca, identities)
    return organisations


def open_channel(platform: Platform) -> Channel:
    organisations = load_organisations(platform)
    if ORDERER_MSP not in organisations:
        from ledger.errors import LedgerError

        raise LedgerError("the ledger is not initialised: run edutrust ledger init")
    witnesses = [o.role("peer") for m, o in organisations.items() if m != ORDERER_MSP]
    return Channel(SqlLedgerStore(platform.engine), CHANNEL, contracts=contracts(),
                   peers=[Peer(o.role("peer")) for o in organisations.values()],
                   orderer=organisations[ORDERER_MSP].role("orderer"), witnesses=witnesses,
                   owns_store=True)
