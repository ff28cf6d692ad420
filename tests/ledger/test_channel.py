"""Execute → order → validate on the three-organisation test channel: endorsement policies,
identities (expired, revoked, unknown CA), MVCC, duplicate ids and configuration
transactions. Invalid transactions stay in their block with a validation code, as on
Fabric, and never touch world state."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from crypto.sm2 import SM2PrivateKey
from crypto.sm3 import sm3
from ledger.audit import audit_channel
from ledger.canonical import canonical_json, parse_canonical
from ledger.channel import TransactionRejected
from ledger.config import CONFIG_KEY, CONFIG_NAMESPACE, BatchParameters, ChannelConfig
from ledger.embedded import EmbeddedOrganisation
from ledger.errors import LedgerError
from ledger.msp import Identity, MSPDefinition, OrganisationCA, SigningIdentity
from ledger.policy import parse_policy
from ledger.storage.sql import Receipt
from ledger.tx import (
    Endorsement,
    Proposal,
    ProposalResults,
    ReadWriteSet,
    Response,
    Transaction,
)
from tests.ledger.network import (
    Network,
    build_network,
)

CHANNEL = "archives"


# --------------------------------------------------------------------------- helpers


def digest(label: str) -> str:
    return sm3(label.encode()).hex()


def anchor_args(*entries: dict[str, Any]) -> str:
    return canonical_json(list(entries)).decode()


def entry(key: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "digest": digest(label), **extra}


def role(net: Network, msp_id: str, name: str) -> SigningIdentity:
    return net.orgs[msp_id].role(name)


def endorse_anchor(net: Network, key: str, label: str, **extra: Any) -> Transaction:
    return net.channel.endorse(role(net, "School", "client"), "anchoring", "anchor",
                               anchor_args(entry(key, label, **extra)))


def endorsement_by(identity: SigningIdentity, results: ProposalResults) -> Endorsement:
    return Endorsement(identity.identity.id_bytes, identity.sign(results.signed_bytes()))


def endorsed_by(tx: Transaction, *identities: SigningIdentity) -> Transaction:
    """The same proposal and results with exactly these endorsements."""
    return dataclasses.replace(
        tx, endorsements=tuple(endorsement_by(i, tx.results) for i in identities))


def endorser_msps(net: Network, tx: Transaction) -> set[str]:
    peers = {role(net, m, "peer").identity.id_bytes: m for m in net.orgs}
    return {peers[e.endorser] for e in tx.endorsements}


def flip_last_bit(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def order(net: Network, *transactions: Transaction) -> list[Receipt]:
    receipts = net.channel.submit_endorsed(list(transactions))
    return [receipts[t.tx_id] for t in transactions]


def assert_kept_in_block(net: Network, receipt: Receipt, tx: Transaction, code: str) -> None:
    assert receipt.code == code
    block = net.channel.block(receipt.block)
    assert block.envelopes[receipt.tx_num] == tx.encode()
    assert block.header.codes[receipt.tx_num] == code


def anchored(net: Network, key: str) -> dict[str, Any] | None:
    raw = net.channel.state("anchoring", key)
    return parse_canonical(raw) if raw is not None else None


def new_identity(ca: OrganisationCA, role_name: str, **validity: Any) -> SigningIdentity:
    key = SM2PrivateKey.generate()
    cert = ca.issue(role_name, f"{ca.msp_id} extra {role_name}", key.public_key(), **validity)
    return SigningIdentity.of(Identity(ca.msp_id, role_name, cert), key)


def add_backdated_root(net: Network, msp_id: str, days_ago: int = 60) -> OrganisationCA:
    """A second root CA of ``msp_id``, valid since ``days_ago`` days and added to the
    channel configuration, to issue certificates that have already expired."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    ca = OrganisationCA.create(msp_id, f"{msp_id} archive CA", SM2PrivateKey.generate(),
                               not_before=start, days=3650)
    config = net.channel.config()
    current = config.msp(msp_id)
    assert current is not None
    old = current.definition
    definition = MSPDefinition(msp_id, old.display_name,
                               (*old.root_certificates, ca.certificate),
                               old.intermediate_certificates, old.crls)
    net.channel.update_config(
        config.next(organisations=tuple(definition if o.msp_id == msp_id else o
                                        for o in config.organisations)),
        [role(net, "Ministry", "admin"), role(net, "Province", "admin")])
    return ca


def expired_identity(net: Network, msp_id: str, role_name: str) -> SigningIdentity:
    now = dt.datetime.now(dt.UTC)
    return new_identity(add_backdated_root(net, msp_id), role_name,
                        not_before=now - dt.timedelta(days=30),
                        not_after=now - dt.timedelta(days=1))


def hand_built(net: Network, creator: SigningIdentity, key: str, *,
               endorsers: Sequence[SigningIdentity], channel: str = CHANNEL,
               contract: str = "anchoring") -> Transaction:
    """A transaction assembled without ``Channel.endorse``: the given peers sign a write
    of ``key``."""
    proposal = Proposal.create(channel, contract, "anchor", (key,), creator.identity.id_bytes)
    results = ProposalResults(sm3(proposal.signed_bytes()),
                              ReadWriteSet(reads=((key, None),), writes=((key, b"{}"),)),
                              Response(200), None)
    return Transaction(proposal, creator.sign(proposal.signed_bytes()), results,
                       tuple(endorsement_by(p, results) for p in endorsers))


def config_transaction(config: ChannelConfig, admins: Sequence[SigningIdentity]) -> Transaction:
    """A configuration update as ``Channel.update_config`` builds it."""
    encoded = config.encode()
    proposal = Proposal.create(config.channel_id, CONFIG_NAMESPACE, "update",
                               (encoded.decode(),), admins[0].identity.id_bytes)
    results = ProposalResults(sm3(proposal.signed_bytes()),
                              ReadWriteSet(writes=((CONFIG_KEY, encoded),)), Response(200), None)
    return Transaction(proposal, admins[0].sign(proposal.signed_bytes()), results,
                       tuple(endorsement_by(a, results) for a in admins))


# --------------------------------------------------------------------------- endorsement


def test_transaction_endorsed_by_two_of_three_peers_commits_valid(net: Network) -> None:
    tx = endorse_anchor(net, "archive/1", "one")
    assert len(tx.endorsements) == 2
    [receipt] = order(net, tx)
    assert_kept_in_block(net, receipt, tx, "VALID")
    record = anchored(net, "archive/1")
    assert record is not None and record["digest"] == digest("one")


def test_any_two_of_the_three_peers_satisfy_the_default_policy(net: Network) -> None:
    tx = endorse_anchor(net, "archive/1", "one")
    tx = endorsed_by(tx, role(net, "Province", "peer"), role(net, "School", "peer"))
    [receipt] = order(net, tx)
    assert receipt.code == "VALID"


def test_one_endorsement_where_two_are_required_fails_the_policy(net: Network) -> None:
    tx = endorse_anchor(net, "archive/1", "one")
    tx = dataclasses.replace(tx, endorsements=tx.endorsements[:1])
    [receipt] = order(net, tx)
    assert_kept_in_block(net, receipt, tx, "ENDORSEMENT_POLICY_FAILURE")
    assert anchored(net, "archive/1") is None


def test_endorsements_without_the_required_organisation_fail_the_policy(
        database_url: str, organisations: dict[str, EmbeddedOrganisation]) -> None:
    net = build_network(database_url, orgs=organisations,
                        endorsement="AND('School.peer', OR('Ministry.peer', 'Province.peer'))")
    try:
        tx = endorse_anchor(net, "archive/1", "one")
        assert endorser_msps(net, tx) == {"Ministry", "Province", "School"}
        without_school = endorsed_by(tx, role(net, "Ministry", "peer"),
                                     role(net, "Province", "peer"))
        with_school = endorsed_by(endorse_anchor(net, "archive/2", "two"),
                                  role(net, "School", "peer"), role(net, "Province", "peer"))
        missing, present = order(net, without_school, with_school)
        assert_kept_in_block(net, missing, without_school, "ENDORSEMENT_POLICY_FAILURE")
        assert_kept_in_block(net, present, with_school, "VALID")
        assert missing.block == present.block
        assert anchored(net, "archive/1") is None
        assert anchored(net, "archive/2") is not None
    finally:
        net.channel.close()
        net.engine.dispose()


@pytest.mark.parametrize("role_name", ["admin", "client"])
def test_endorsement_by_a_non_peer_identity_does_not_count(net: Network, role_name: str
                                                           ) -> None:
    tx = endorsed_by(endorse_anchor(net, "archive/1", "one"), role(net, "Ministry", "peer"),
                     role(net, "Province", role_name))
    [receipt] = order(net, tx)
    assert_kept_in_block(net, receipt, tx, "ENDORSEMENT_POLICY_FAILURE")
    assert anchored(net, "archive/1") is None


def test_forged_endorsement_signature_does_not_count(net: Network) -> None:
    tx = endorse_anchor(net, "archive/1", "one")
    good, other = tx.endorsements
    forged = Endorsement(other.endorser, flip_last_bit(other.signature))
    tx = dataclasses.replace(tx, endorsements=(good, forged))
    [receipt] = order(net, tx)
    assert_kept_in_block(net, receipt, tx, "ENDORSEMENT_POLICY_FAILURE")


def test_results_altered_after_endorsement_fail_the_policy(net: Network) -> None:
    tx = endorse_anchor(net, "archive/1", "one")
    key, _ = tx.results.rwset.writes[0]
    altered = dataclasses.replace(tx.results.rwset, writes=((key, b'{"forged":true}'),))
    tx = dataclasses.replace(tx, results=dataclasses.replace(tx.results, rwset=altered))
    [receipt] = order(net, tx)
    assert_kept_in_block(net, receipt, tx, "ENDORSEMENT_POLICY_FAILURE")
    assert net.channel.state("anchoring", key) is None


def test_the_same_peer_endorsing_twice_counts_once(net: Network) -> None:
    tx = endorse_anchor(net, "archive/1", "one")
    tx = dataclasses.replace(tx, endorsements=(tx.endorsements[0], tx.endorsements[0]))
    [receipt] = order(net, tx)
    assert receipt.code == "ENDORSEMENT_POLICY_FAILURE"


def test_endorsement_by_another_valid_peer_of_the_organisation_counts(net: Network) -> None:
    second_peer = new_identity(net.orgs["Province"].ca, "peer", days=30)
    tx = endorsed_by(endorse_anchor(net, "archive/1", "one"), role(net, "Ministry", "peer"),
                     second_peer)
    [receipt] = order(net, tx)
    assert receipt.code == "VALID"


def test_endorsement_by_an_expired_certificate_does_not_count(net: Network) -> None:
    expired_peer = expired_identity(net, "Province", "peer")
    tx = endorsed_by(endorse_anchor(net, "archive/1", "one"), role(net, "Ministry", "peer"),
                     expired_peer)
    [receipt] = order(net, tx)
    assert_kept_in_block(net, receipt, tx, "ENDORSEMENT_POLICY_FAILURE")
    assert anchored(net, "archive/1") is None


def test_certificate_refused_before_its_validity_starts_counts_once_it_has(
        net: Network) -> None:
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)
    future_peer = new_identity(net.orgs["Province"].ca, "peer", not_before=start, days=30)
    early = endorsed_by(endorse_anchor(net, "archive/1", "one"),
                        role(net, "Ministry", "peer"), future_peer)
    [receipt] = order(net, early)
    assert receipt.code == "ENDORSEMENT_POLICY_FAILURE"
    # The channel's identity cache must not keep that refusal for later blocks (nor would
    # a fresh process or the audit): once the validity period has begun, it counts.
    identity = net.channel.identities.resolve(net.channel.config(),
                                              future_peer.identity.id_bytes,
                                              start + dt.timedelta(hours=1))
    assert identity.msp_role == ("Province", "peer")


def test_endorsement_by_a_revoked_certificate_fails_once_the_crl_is_configured(
        database_url: str) -> None:
    net = build_network(database_url)  # its own organisations: this test revokes
    try:
        _revoke_and_endorse(net)
    finally:
        net.channel.close()
        net.engine.dispose()


def _revoke_and_endorse(net: Network) -> None:
    province = net.orgs["Province"]
    peer = province.role("peer")
    client = role(net, "School", "client")
    before = net.channel.submit(client, "anchoring", "anchor",
                                anchor_args(entry("archive/1", "one")))
    assert before.code == "VALID"

    province.ca.revoke(peer.certificate)
    crl = province.ca.crl()
    config = net.channel.config()
    new = config.next(organisations=tuple(
        province.ca.definition() if o.msp_id == "Province" else o
        for o in config.organisations))
    assert new.msp("Province") is not None
    assert new.msp("Province").definition.crls == (crl,)  # type: ignore[union-attr]
    net.channel.update_config(new, [role(net, "Ministry", "admin"),
                                    role(net, "School", "admin")])

    tx = endorse_anchor(net, "archive/2", "two")
    assert endorser_msps(net, tx) == {"Ministry", "Province"}
    [receipt] = order(net, tx)
    assert_kept_in_block(net, receipt, tx, "ENDORSEMENT_POLICY_FAILURE")
    assert anchored(net, "archive/2") is None

    replacement = endorsed_by(endorse_anchor(net, "archive/3", "three"),
                              role(net, "Ministry", "peer"), role(net, "School", "peer"))
    [receipt] = order(net, replacement)
    assert receipt.code == "VALID"


# --------------------------------------------------------------------------- creators


def test_forged_creator_signature_is_bad_creator_signature(net: Network) -> None:
    tx = endorse_anchor(net, "archive/1", "one")
    tx = dataclasses.replace(tx, signature=flip_last_bit(tx.signature))
    [receipt] = order(net, tx)
    assert_kept_in_block(net, receipt, tx, "BAD_CREATOR_SIGNATURE")
    assert anchored(net, "archive/1") is None


@pytest.mark.parametrize("msp_id", ["Rogue", "School"], ids=["unknown MSP", "impostor CA"])
def test_creator_from_an_unknown_ca_is_bad_creator(net: Network, msp_id: str) -> None:
    rogue_ca = OrganisationCA.create(msp_id, "Rogue school", SM2PrivateKey.generate())
    rogue = new_identity(rogue_ca, "client", days=30)
    tx = hand_built(net, rogue, "archive/1",
                    endorsers=[role(net, "Ministry", "peer"), role(net, "Province", "peer")])
    [receipt] = order(net, tx)
    assert_kept_in_block(net, receipt, tx, "BAD_CREATOR")
    assert anchored(net, "archive/1") is None


def test_hand_built_transaction_from_a_member_commits_valid(net: Network) -> None:
    tx = hand_built(net, role(net, "School", "client"), "archive/1",
                    endorsers=[role(net, "Ministry", "peer"), role(net, "Province", "peer")])
    [receipt] = order(net, tx)
    assert receipt.code == "VALID"
    assert net.channel.state("anchoring", "archive/1") == b"{}"


def test_creator_with_an_expired_certificate_is_bad_creator(net: Network) -> None:
    expired = expired_identity(net, "School", "client")
    tx = hand_built(net, expired, "archive/1",
                    endorsers=[role(net, "Ministry", "peer"), role(net, "Province", "peer")])
    [receipt] = order(net, tx)
    assert receipt.code == "BAD_CREATOR"


def test_transaction_for_another_channel_is_wrong_channel(net: Network) -> None:
    tx = hand_built(net, role(net, "School", "client"), "archive/1", channel="elsewhere",
                    endorsers=[role(net, "Ministry", "peer"), role(net, "Province", "peer")])
    [receipt] = order(net, tx)
    assert_kept_in_block(net, receipt, tx, "WRONG_CHANNEL")


def test_transaction_for_a_contract_not_on_the_channel_is_unknown_contract(
        net: Network) -> None:
    tx = hand_built(net, role(net, "School", "client"), "archive/1", contract="payroll",
                    endorsers=[role(net, "Ministry", "peer"), role(net, "Province", "peer")])
    [receipt] = order(net, tx)
    assert_kept_in_block(net, receipt, tx, "UNKNOWN_CONTRACT")


def test_resubmitted_transaction_is_duplicate_txid(net: Network) -> None:
    tx = endorse_anchor(net, "archive/1", "one")
    [first] = order(net, tx)
    assert first.code == "VALID"
    net.store.enqueue(CHANNEL, tx.tx_id, tx.encode())
    number = net.channel.cut_block()
    assert number == first.block + 1
    block = net.channel.block(number)
    assert block.envelopes == (tx.encode(),)
    assert block.header.codes == ("DUPLICATE_TXID",)
    assert net.channel.store.receipt(CHANNEL, tx.tx_id).block == first.block  # type: ignore[union-attr]
    assert len(net.channel.history("anchoring", "archive/1")) == 1


# --------------------------------------------------------------------------- MVCC


def _first_anchorings(net: Network) -> tuple[Transaction, Transaction]:
    return endorse_anchor(net, "archive/1", "one"), endorse_anchor(net, "archive/1", "two")


def _new_versions(net: Network) -> tuple[Transaction, Transaction]:
    net.channel.submit(role(net, "School", "client"), "anchoring", "anchor",
                       anchor_args(entry("archive/1", "zero")))
    previous = digest("zero")
    return (endorse_anchor(net, "archive/1", "one", previous=previous),
            endorse_anchor(net, "archive/1", "two", previous=previous))


@pytest.mark.parametrize("endorse_both", [_first_anchorings, _new_versions],
                         ids=["first anchorings", "new versions"])
def test_later_conflicting_write_in_the_same_block_is_mvcc_conflict(
        net: Network, endorse_both: Any) -> None:
    first, second = endorse_both(net)
    versions_before = len(net.channel.history("anchoring", "archive/1"))
    r1, r2 = order(net, first, second)
    assert r1.block == r2.block and (r1.tx_num, r2.tx_num) == (0, 1)
    block = net.channel.block(r1.block)
    assert block.envelopes == (first.encode(), second.encode())
    assert block.header.codes == ("VALID", "MVCC_READ_CONFLICT")
    record = anchored(net, "archive/1")
    assert record is not None and record["digest"] == digest("one")
    assert len(net.channel.history("anchoring", "archive/1")) == versions_before + 1
    assert (r1.leaf_count, r2.leaf_count) == (1, 0)


def test_conflicting_write_in_a_later_block_is_mvcc_conflict(net: Network) -> None:
    first, second = _first_anchorings(net)
    [r1] = order(net, first)
    [r2] = order(net, second)
    assert r2.block == r1.block + 1
    assert_kept_in_block(net, r1, first, "VALID")
    assert_kept_in_block(net, r2, second, "MVCC_READ_CONFLICT")
    record = anchored(net, "archive/1")
    assert record is not None and record["digest"] == digest("one")
    assert record["tx_id"] == first.tx_id


def test_non_conflicting_transactions_in_one_block_are_all_valid(net: Network) -> None:
    transactions = [endorse_anchor(net, f"archive/{i}", str(i)) for i in range(5)]
    receipts = order(net, *transactions)
    assert {r.block for r in receipts} == {receipts[0].block}
    assert [r.code for r in receipts] == ["VALID"] * 5
    assert [r.leaf_start for r in receipts] == [0, 1, 2, 3, 4]


# --------------------------------------------------------------------------- configuration


def test_config_update_signed_by_two_admins_is_applied(net: Network) -> None:
    config = net.channel.config()
    new = config.next(endorsement_policy=parse_policy("OR('School.peer')"))
    receipt = net.channel.update_config(new, [role(net, "Ministry", "admin"),
                                              role(net, "Province", "admin")])
    assert receipt.code == "VALID"
    assert net.channel.config().sequence == 1
    assert net.channel.config().encode() == new.encode()
    block = net.channel.block(receipt.block)
    assert len(block.envelopes) == 1
    assert Transaction.decode(block.envelopes[0]).proposal.contract == CONFIG_NAMESPACE
    # The new endorsement policy governs from the next block on.
    tx = endorse_anchor(net, "archive/1", "one")
    assert endorser_msps(net, tx) == {"School"}
    [after] = order(net, tx)
    assert after.code == "VALID"
    assert net.channel.block(after.block).header.config_sequence == 1


@pytest.mark.parametrize("signers", [
    [("Ministry", "admin")],
    [("Ministry", "admin"), ("Ministry", "admin")],
    [("Ministry", "peer"), ("Province", "peer")],
    [("Ministry", "admin"), ("Province", "client")],
], ids=["one admin", "the same admin twice", "two peers", "admin and client"])
def test_config_update_without_two_admins_is_rejected(
        net: Network, signers: list[tuple[str, str]]) -> None:
    before = net.channel.config()
    new = before.next(batch=BatchParameters(max_count=7))
    with pytest.raises(TransactionRejected) as rejected:
        net.channel.update_config(new, [role(net, m, r) for m, r in signers])
    receipt = rejected.value.receipt
    assert receipt.code != "VALID"
    block = net.channel.block(receipt.block)
    assert len(block.envelopes) == 1 and block.header.codes == (receipt.code,)
    assert net.channel.config().encode() == before.encode()
    # The rejected update used no sequence number: a properly signed one still applies.
    net.channel.update_config(new, [role(net, "Ministry", "admin"),
                                    role(net, "School", "admin")])
    assert net.channel.config().batch.max_count == 7


def test_config_update_that_skips_a_sequence_number_is_rejected(net: Network) -> None:
    config = net.channel.config()
    skipping = dataclasses.replace(config, sequence=2)
    with pytest.raises(TransactionRejected):
        net.channel.update_config(skipping, [role(net, "Ministry", "admin"),
                                             role(net, "Province", "admin")])
    assert net.channel.config().sequence == 0


def test_config_transaction_is_alone_in_its_block(net: Network) -> None:
    before = endorse_anchor(net, "archive/1", "one")
    after = endorse_anchor(net, "archive/2", "two")
    new = net.channel.config().next(batch=BatchParameters(max_count=40, timeout_ms=5))
    update = config_transaction(new, [role(net, "Ministry", "admin"),
                                      role(net, "School", "admin")])
    net.store.enqueue(CHANNEL, before.tx_id, before.encode())
    net.store.enqueue(CHANNEL, update.tx_id, update.encode(), config_tx=True)
    net.store.enqueue(CHANNEL, after.tx_id, after.encode())
    receipts = net.channel.wait([before.tx_id, update.tx_id, after.tx_id], timeout=60)
    r_before, r_update, r_after = (receipts[t.tx_id] for t in (before, update, after))
    assert [r.code for r in (r_before, r_update, r_after)] == ["VALID"] * 3
    assert r_before.block < r_update.block < r_after.block
    assert net.channel.block(r_update.block).envelopes == (update.encode(),)
    assert net.channel.config().sequence == 1


def test_config_transaction_cannot_be_ordered_as_a_normal_transaction(net: Network) -> None:
    height = net.channel.status()["height"]
    new = net.channel.config().next(batch=BatchParameters(max_count=7))
    update = config_transaction(new, [role(net, "Ministry", "admin"),
                                      role(net, "Province", "admin")])
    with pytest.raises(LedgerError):
        net.channel.submit_endorsed([update])
    status = net.channel.status()
    assert (status["height"], status["pending"], status["config_sequence"]) == (height, 0, 0)
    assert audit_channel(net.store, CHANNEL, ["anchoring"]).ok
