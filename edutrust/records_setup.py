"""The records core wired to a platform: its store (envelopes sealed at rest with the
platform's field cipher), the organisations' keys and the platform root CA, and the
ledger channel it anchors through (as the ledger operator's client identity); and the
pinned trust anchors (platform root certificate, ledger checkpoint keys)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crypto.x509 import Certificate, CertificateAuthority
from edutrust.ledger_setup import ORDERER_MSP, load_organisations
from edutrust.platform import CA_KEY, ROOT_CA, Platform, PlatformError
from edutrust.settings import Settings
from ledger.channel import Channel
from ledger.checkpoint import SignatureKind, WitnessPolicy
from records.anchoring import RecordAnchoring
from records.issuers import IssuerRegistry
from records.registry import RecordRegistry
from records.store import RecordStore
from records.verification import TrustAnchors


def open_issuers(platform: Platform) -> IssuerRegistry:
    """The organisations that issue and review records (no ledger needed)."""
    root_pem = platform.certificate_pem(ROOT_CA)
    if root_pem is None:
        raise PlatformError("init.ca_missing")
    root = CertificateAuthority(Certificate.from_pem(root_pem.encode()),
                                platform.keys.sm2(CA_KEY))
    return IssuerRegistry(RecordStore(platform.sessions, sealer=platform.fields),
                          platform.keys, root)


def open_registry(platform: Platform, channel: Channel, **options: Any) -> RecordRegistry:
    """The records registry over ``channel``; ``options`` go to ``RecordRegistry``."""
    issuers = open_issuers(platform)
    client = load_organisations(platform)[ORDERER_MSP].role("client")
    return RecordRegistry(issuers.store, issuers, RecordAnchoring(channel, client), **options)


# -- pinned trust anchors ------------------------------------------------------------------
# `edutrust init` writes them to $EDUTRUST_HOME/trust-anchors.json; `edutrust records
# verify` reads that file when no --trust-anchors is given; `edutrust records
# trust-anchors` prints a fresh copy.
TRUST_ANCHORS_FILE = "trust-anchors.json"


def trust_anchors_path(settings: Settings) -> Path:
    """Where ``edutrust init`` pins the trust anchors of this installation."""
    return settings.home / TRUST_ANCHORS_FILE


def trust_anchors(platform: Platform, channel: Channel) -> TrustAnchors:
    """The platform root certificate and the ledger's checkpoint keys (the log key and
    every witness, all of which must cosign): what a verifier pins."""
    root_pem = platform.certificate_pem(ROOT_CA)
    if root_pem is None:
        raise PlatformError("init.ca_missing")
    verifiers = channel.verifiers()
    log = tuple(v for v in verifiers if v.kind is SignatureKind.NOTE)
    witnesses = tuple(v for v in verifiers if v.kind is SignatureKind.COSIGNATURE)
    policy = WitnessPolicy(witnesses, len(witnesses)) if witnesses else None
    return TrustAnchors((Certificate.from_pem(root_pem.encode()),), log, policy)


def trust_anchors_json(anchors: TrustAnchors) -> bytes:
    return (json.dumps(anchors.to_json(), ensure_ascii=False, indent=2) + "\n").encode()


def pin_trust_anchors(platform: Platform, say: Callable[..., None]) -> None:
    """Write ``$EDUTRUST_HOME/trust-anchors.json`` unless it exists (``edutrust init``
    changes nothing that exists)."""
    from edutrust.ledger_setup import open_channel

    path = trust_anchors_path(platform.settings)
    if path.exists():
        say("records.trust_anchors_exist", path=path)
        return
    channel = open_channel(platform)
    try:
        data = trust_anchors_json(trust_anchors(platform, channel))
    finally:
        channel.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    say("records.trust_anchors_pinned", path=path)
