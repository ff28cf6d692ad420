"""Channel configuration: the organisations (MSPs), the policies and the block-cutting
parameters. It lives in the genesis block and changes only through config transactions
that satisfy the channel's admin policy."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ledger.canonical import CanonicalJSONError, canonical_json, parse_canonical
from ledger.errors import LedgerError
from ledger.msp import MSP, MSPDefinition
from ledger.policy import Policy, format_policy, parse_policy

CONFIG_NAMESPACE = "_config"
CONFIG_KEY = "channel"
_CHANNEL = re.compile(r"[a-z][a-z0-9.-]{0,48}")


class ConfigError(LedgerError):
    """A channel configuration is malformed or inconsistent."""


@dataclass(frozen=True)
class BatchParameters:
    """When the orderer cuts a block: ``max_count`` transactions, ``max_bytes`` of
    envelopes, or ``timeout_ms`` after the oldest pending transaction arrived."""

    max_count: int = 100
    max_bytes: int = 8 * 1024 * 1024
    timeout_ms: int = 20

    def __post_init__(self) -> None:
        if not 1 <= self.max_count <= 10_000:
            raise ConfigError("max_count: 1 to 10000")
        if not 1024 <= self.max_bytes <= 256 * 1024 * 1024:
            raise ConfigError("max_bytes: 1 KiB to 256 MiB")
        if not 0 <= self.timeout_ms <= 60_000:
            raise ConfigError("timeout_ms: 0 to 60000")


@dataclass(frozen=True)
class ChannelConfig:
    channel_id: str
    origin: str                       # the checkpoint origin line, e.g. "edutrust.cn/ledger/main"
    sequence: int                     # 0 in genesis, +1 for every config transaction
    organisations: tuple[MSPDefinition, ...]
    orderer_msp: str
    admin_policy: Policy              # who may change this configuration
    endorsement_policy: Policy        # default for every contract
    contract_policies: tuple[tuple[str, Policy], ...] = ()
    batch: BatchParameters = field(default_factory=BatchParameters)

    def __post_init__(self) -> None:
        if not _CHANNEL.fullmatch(self.channel_id):
            raise ConfigError("channel ids are lowercase letters, digits, '.', '-'")
        if not self.origin or "\n" in self.origin or len(self.origin) > 255:
            raise ConfigError("origin: one line of at most 255 characters")
        ids = [o.msp_id for o in self.organisations]
        if len(set(ids)) != len(ids) or not ids:
            raise ConfigError("organisations: at least one, MSP ids unique")
        if self.orderer_msp not in ids:
            raise ConfigError("the orderer's MSP must be one of the organisations")

    def msp(self, msp_id: str) -> MSP | None:
        for definition in self.organisations:
            if definition.msp_id == msp_id:
                return MSP(definition)
        return None

    def msps(self) -> dict[str, MSP]:
        return {d.msp_id: MSP(d) for d in self.organisations}

    def policy_for(self, contract: str) -> Policy:
        for name, policy in self.contract_policies:
            if name == contract:
                return policy
        return self.endorsement_policy

    def next(self, **changes: Any) -> ChannelConfig:
        """A successor configuration (sequence + 1) with ``changes`` applied."""
        return replace(self, sequence=self.sequence + 1, **changes)

    def to_doc(self) -> dict[str, Any]:
        return {
            "channel_id": self.channel_id, "origin": self.origin, "sequence": self.sequence,
            "organisations": [o.to_json() for o in self.organisations],
            "orderer_msp": self.orderer_msp,
            "policies": {"admins": format_policy(self.admin_policy),
                         "endorsement": format_policy(self.endorsement_policy),
                         "contracts": {n: format_policy(p) for n, p in self.contract_policies}},
            "batch": {"max_count": self.batch.max_count, "max_bytes": self.batch.max_bytes,
                      "timeout_ms": self.batch.timeout_ms},
        }

    def encode(self) -> bytes:
        return canonical_json(self.to_doc())

    @classmethod
    def decode(cls, data: bytes) -> ChannelConfig:
        try:
            doc = parse_canonical(data)
            policies, batch = doc["policies"], doc["batch"]
            return cls(
                channel_id=doc["channel_id"], origin=doc["origin"], sequence=doc["sequence"],
                organisations=tuple(MSPDefinition.from_json(o) for o in doc["organisations"]),
                orderer_msp=doc["orderer_msp"],
                admin_policy=parse_policy(policies["admins"]),
                endorsement_policy=parse_policy(policies["endorsement"]),
                contract_policies=tuple((n, parse_policy(p)) for n, p
                                        in sorted(policies["contracts"].items())),
                batch=BatchParameters(**batch),
            )
        except (CanonicalJSONError, KeyError, TypeError) as exc:
            raise ConfigError(f"malformed channel configuration: {exc}") from None
