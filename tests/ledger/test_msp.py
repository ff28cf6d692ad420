"""MSPs: organisation CAs issue role certificates; an MSP turns a certificate into an
identity at the transaction's time (chain, validity, revocation, key usage, role OU);
identities sign and verify with SM2; definitions travel as strict JSON."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from crypto.errors import InvalidSignature
from crypto.keys.provider import SM2Signer
from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding, SM2PrivateKey, SM2PublicKey
from crypto.x509 import (
    CertificateAuthority,
    KeyUsage,
    RevocationReason,
    create_intermediate_ca,
    issue_end_entity,
    parse_name,
)
from ledger.errors import IdentityError, InvalidMSPDefinition, LedgerError
from ledger.msp import (
    MSP,
    Identity,
    MSPDefinition,
    OrganisationCA,
    SigningIdentity,
    distinct_signers,
)
from ledger.policy import Principal, evaluate, parse_policy

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


class OpaqueSigner:
    """A provider-like signer: signs and shows its public key, cannot export the key."""

    def __init__(self) -> None:
        key = SM2PrivateKey.generate()
        self._sign: Callable[..., bytes] = key.sign
        self._public = key.public_key()

    def sign(self, data: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID,
             encoding: SignatureEncoding = SignatureEncoding.DER) -> bytes:
        return self._sign(data, signer_id=signer_id, encoding=encoding)

    def public_key(self) -> SM2PublicKey:
        return self._public


@dataclass
class Member:
    signer: OpaqueSigner
    certificate: Any


def new_org(msp_id: str, display_name: str) -> OrganisationCA:
    return OrganisationCA.create(msp_id, display_name, OpaqueSigner(),
                                 not_before=NOW - 30 * DAY, days=3650)


def member(ca: OrganisationCA, role: str, name: str, **validity: Any) -> Member:
    signer = OpaqueSigner()
    if not validity:
        validity = {"not_before": NOW - DAY, "days": 365}
    return Member(signer, ca.issue(role, name, signer.public_key(), **validity))


@pytest.fixture(scope="module")
def org1() -> OrganisationCA:
    return new_org("Org1MSP", "北京大学")


@pytest.fixture(scope="module")
def org2() -> OrganisationCA:
    return new_org("Org2MSP", "Tsinghua University")


@pytest.fixture(scope="module")
def msp1(org1: OrganisationCA) -> MSP:
    return MSP(org1.definition())


def reason_of(msp: MSP, certificate: Any, at: dt.datetime = NOW) -> str:
    with pytest.raises(IdentityError) as info:
        msp.validate(certificate, at)
    return info.value.reason


def test_signers_in_these_tests_cannot_export_private_keys() -> None:
    signer = OpaqueSigner()
    assert isinstance(signer, SM2Signer)
    assert not hasattr(signer, "private_bytes") and not hasattr(signer, "scalar")


# --------------------------------------------------------------------------- the CA


def test_root_subject_names_the_organisation_in_chinese(org1: OrganisationCA) -> None:
    subject = org1.certificate.subject
    assert subject.get("O") == "北京大学"
    assert subject.get("OU") == "Org1MSP"
    assert subject.common_name == "Org1MSP CA"
    assert org1.certificate.is_ca


def test_issued_certificate_carries_the_role_ou(org1: OrganisationCA) -> None:
    cert = member(org1, "peer", "peer0.北京大学").certificate
    assert cert.subject.get("OU") == "peer"
    assert cert.subject.get("O") == "北京大学"
    assert cert.subject.common_name == "peer0.北京大学"
    assert not cert.is_ca
    assert KeyUsage.DIGITAL_SIGNATURE in (cert.key_usage or set())


def test_display_name_with_a_slash_is_escaped_not_split() -> None:
    ca = new_org("SlashMSP", "School A/B")
    assert ca.certificate.subject.get("O") == "School A/B"


def test_issuing_an_unknown_role_is_refused(org1: OrganisationCA) -> None:
    with pytest.raises(IdentityError) as info:
        org1.issue("member", "x", OpaqueSigner().public_key())
    assert info.value.reason == "issuance"


def test_issuing_beyond_the_ca_validity_is_refused(org1: OrganisationCA) -> None:
    with pytest.raises(IdentityError) as info:
        org1.issue("client", "x", OpaqueSigner().public_key(), not_before=NOW, days=20 * 365)
    assert info.value.reason == "issuance"


def test_ca_cannot_revoke_another_cas_certificate(org1: OrganisationCA,
                                                  org2: OrganisationCA) -> None:
    with pytest.raises(IdentityError):
        org1.revoke(member(org2, "client", "c").certificate)


def test_invalid_msp_id_is_refused_when_creating_a_ca() -> None:
    with pytest.raises(InvalidMSPDefinition):
        OrganisationCA.create("Org 1", "x", OpaqueSigner())


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("role", ["client", "peer", "admin", "orderer"])
def test_valid_certificate_becomes_an_identity_with_its_role(org1: OrganisationCA, msp1: MSP,
                                                              role: str) -> None:
    cert = member(org1, role, f"{role}-1").certificate
    identity = msp1.validate(cert, NOW)
    assert identity == Identity("Org1MSP", role, cert)
    assert identity.id_bytes == cert.der()
    assert identity.msp_role == ("Org1MSP", role)


def test_other_non_role_ous_are_allowed_beside_the_role(org1: OrganisationCA,
                                                        msp1: MSP) -> None:
    signer = OpaqueSigner()
    cert = org1.issue("client", "teacher", signer.public_key(), not_before=NOW - DAY,
                      days=30, extra_units=["教务处"])
    assert msp1.validate(cert, NOW).role == "client"


def test_expired_certificate_is_rejected(org1: OrganisationCA, msp1: MSP) -> None:
    cert = member(org1, "client", "old", not_before=NOW - 10 * DAY,
                  not_after=NOW - DAY).certificate
    assert reason_of(msp1, cert) == "expired"


def test_certificate_not_yet_valid_at_the_transaction_time_is_rejected(
        org1: OrganisationCA, msp1: MSP) -> None:
    cert = member(org1, "client", "future", not_before=NOW + DAY, days=30).certificate
    assert reason_of(msp1, cert) == "not_yet_valid"
    assert msp1.validate(cert, NOW + 2 * DAY).role == "client"


def test_validity_is_judged_at_the_given_time_not_now(org1: OrganisationCA,
                                                      msp1: MSP) -> None:
    cert = member(org1, "peer", "p", not_before=NOW - DAY, days=10).certificate
    assert msp1.validate(cert, NOW + 5 * DAY).role == "peer"
    assert reason_of(msp1, cert, NOW + 20 * DAY) == "expired"


def test_certificate_of_another_organisation_is_untrusted(org2: OrganisationCA,
                                                          msp1: MSP) -> None:
    cert = member(org2, "peer", "peer0").certificate
    assert reason_of(msp1, cert) == "untrusted"


def test_certificate_without_role_ou_is_rejected(org1: OrganisationCA, msp1: MSP) -> None:
    key = OpaqueSigner().public_key()
    cert = issue_end_entity(org1.authority, parse_name("/C=CN/O=北京大学/OU=教务处/CN=x"), key,
                            not_before=NOW - DAY, days=30)
    assert reason_of(msp1, cert) == "no_role"


def test_certificate_with_two_role_ous_is_rejected(org1: OrganisationCA, msp1: MSP) -> None:
    cert = org1.issue("peer", "both", OpaqueSigner().public_key(), not_before=NOW - DAY,
                      days=30, extra_units=["admin"])
    assert reason_of(msp1, cert) == "ambiguous_role"


def test_role_ou_is_compared_exactly(org1: OrganisationCA, msp1: MSP) -> None:
    key = OpaqueSigner().public_key()
    cert = issue_end_entity(org1.authority, "/C=CN/O=X/OU=Peer/CN=x", key,
                            not_before=NOW - DAY, days=30)
    assert reason_of(msp1, cert) == "no_role"


def test_certificate_without_digital_signature_is_rejected(org1: OrganisationCA,
                                                           msp1: MSP) -> None:
    key = OpaqueSigner().public_key()
    cert = issue_end_entity(org1.authority, "/C=CN/O=X/OU=client/CN=x", key,
                            not_before=NOW - DAY, days=30,
                            key_usage={KeyUsage.KEY_AGREEMENT})
    assert reason_of(msp1, cert) == "key_usage"


def test_ca_certificate_is_not_an_identity(org1: OrganisationCA, msp1: MSP) -> None:
    assert reason_of(msp1, org1.certificate) == "ca_certificate"


def test_forged_certificate_with_one_flipped_bit_in_the_subject_is_rejected(
        org1: OrganisationCA, msp1: MSP) -> None:
    der = member(org1, "admin", "admin-alice").certificate.der()
    at = der.index(b"admin-alice")
    forged = der[:at] + bytes([der[at] ^ 0x20]) + der[at + 1:]  # "Admin-alice"
    with pytest.raises(IdentityError) as info:
        msp1.deserialize(forged, NOW)
    assert info.value.reason == "signature"


def test_every_single_bit_flip_of_a_certificate_is_rejected(org1: OrganisationCA,
                                                            msp1: MSP) -> None:
    der = member(org1, "peer", "peer-x").certificate.der()
    assert msp1.deserialize(der, NOW).role == "peer"
    for index in range(len(der)):
        forged = der[:index] + bytes([der[index] ^ (1 << (index % 8))]) + der[index + 1:]
        with pytest.raises(IdentityError):
            msp1.deserialize(forged, NOW)


def test_garbage_identity_bytes_are_malformed(msp1: MSP) -> None:
    with pytest.raises(IdentityError) as info:
        msp1.deserialize(b"\x30\x03\x02\x01\x01", NOW)
    assert info.value.reason == "malformed"


def test_naive_time_is_refused(org1: OrganisationCA, msp1: MSP) -> None:
    cert = member(org1, "peer", "p").certificate
    with pytest.raises(ValueError):
        msp1.validate(cert, NOW.replace(tzinfo=None))


def test_identity_errors_belong_to_the_ledger_hierarchy() -> None:
    assert issubclass(IdentityError, LedgerError)
    assert issubclass(InvalidMSPDefinition, LedgerError)


# --------------------------------------------------------------------------- revocation


def test_revoked_certificate_is_rejected_and_others_stay_valid() -> None:
    ca = new_org("RevMSP", "Revoking School")
    bad, good = member(ca, "client", "bad"), member(ca, "client", "good")
    ca.revoke(bad.certificate, at=NOW - DAY, reason=RevocationReason.KEY_COMPROMISE)
    crl = ca.crl(this_update=NOW - DAY, days=7)
    definition = ca.definition()
    assert definition.crls == (crl,)
    msp = MSP(definition)
    with pytest.raises(IdentityError) as info:
        msp.validate(bad.certificate, NOW)
    assert info.value.reason == "revoked"
    assert "key_compromise" in str(info.value)
    assert msp.validate(good.certificate, NOW).role == "client"


def test_revocation_is_not_undone_by_a_stale_crl_or_an_earlier_time() -> None:
    ca = new_org("StaleMSP", "Stale School")
    bad, good = member(ca, "peer", "bad"), member(ca, "peer", "good")
    ca.revoke(bad.certificate, at=NOW)
    ca.crl(this_update=NOW, days=1)
    msp = MSP(ca.definition())
    later = NOW + 60 * DAY  # long after nextUpdate
    earlier = NOW - 12 * 60 * 60 * dt.timedelta(seconds=1)  # before thisUpdate
    for at in (later, earlier):
        assert reason_of(msp, bad.certificate, at) == "revoked"
        # a stale or future CRL does not lock the organisation's other members out
        assert msp.validate(good.certificate, at).role == "peer"


def test_revoked_intermediate_revokes_what_it_issued() -> None:
    ca = new_org("InterMSP", "Intermediate School")
    inter_signer = OpaqueSigner()
    inter_cert = create_intermediate_ca(ca.authority, "/C=CN/O=X/CN=Issuing CA",
                                        inter_signer.public_key(), not_before=NOW - 10 * DAY,
                                        days=365)
    inter = CertificateAuthority(inter_cert, inter_signer)
    leaf_signer = OpaqueSigner()
    leaf = issue_end_entity(inter, "/C=CN/O=X/OU=client/CN=leaf", leaf_signer.public_key(),
                            not_before=NOW - DAY, days=30)
    definition = MSPDefinition("InterMSP", "Intermediate School", (ca.certificate,),
                               (inter_cert,))
    assert MSP(definition).validate(leaf, NOW).role == "client"
    ca.revoke(inter_cert, at=NOW - DAY, reason=RevocationReason.CA_COMPROMISE)
    revoked = MSPDefinition("InterMSP", "Intermediate School", (ca.certificate,),
                            (inter_cert,), (ca.crl(this_update=NOW - DAY, days=7),))
    assert reason_of(MSP(revoked), leaf) == "revoked"


def test_revoking_twice_keeps_the_first_entry() -> None:
    ca = new_org("TwiceMSP", "Twice")
    cert = member(ca, "client", "c").certificate
    first = ca.revoke(cert, at=NOW)
    assert ca.revoke(cert.serial_number, at=NOW + DAY) == first
    assert ca.revoked == (first,)
    ca.crl(this_update=NOW)
    ca.crl(this_update=NOW + DAY)
    assert ca.crl_number == 2


# --------------------------------------------------------------------------- signatures


def test_identity_verifies_its_own_signature(org1: OrganisationCA, msp1: MSP) -> None:
    m = member(org1, "client", "alice")
    signing = msp1.signing_identity(m.certificate, m.signer, NOW)
    signature = signing.sign(b"proposal")
    identity = msp1.deserialize(signing.id_bytes, NOW)
    identity.verify(signature, b"proposal")
    assert signing.identity == identity
    # GM/T 0009 default signer ID, DER: the same check without the ledger classes
    m.signer.public_key().verify(signature, b"proposal", signer_id=b"1234567812345678",
                                 encoding=SignatureEncoding.DER)


@pytest.mark.parametrize("tamper", ["data", "signature", "signer_id", "other_key", "garbage"])
def test_identity_rejects_a_bad_signature(org1: OrganisationCA, msp1: MSP,
                                          tamper: str) -> None:
    m = member(org1, "peer", "peer-sig")
    identity = msp1.validate(m.certificate, NOW)
    data, signature = b"proposal response", m.signer.sign(b"proposal response")
    if tamper == "data":
        data = b"proposal responsE"
    elif tamper == "signature":
        signature = signature[:-1] + bytes([signature[-1] ^ 1])
    elif tamper == "signer_id":
        signature = m.signer.sign(data, signer_id=b"")
    elif tamper == "other_key":
        signature = OpaqueSigner().sign(data)
    else:
        signature = b"\x00" * 70
    with pytest.raises(InvalidSignature):
        identity.verify(signature, data)


def test_signing_identity_refuses_a_signer_with_another_key(org1: OrganisationCA,
                                                            msp1: MSP) -> None:
    m = member(org1, "client", "bob")
    with pytest.raises(IdentityError) as info:
        msp1.signing_identity(m.certificate, OpaqueSigner(), NOW)
    assert info.value.reason == "key_mismatch"


def test_signing_identity_refuses_what_is_not_a_signer(org1: OrganisationCA) -> None:
    m = member(org1, "client", "carol")
    with pytest.raises(TypeError):
        SigningIdentity("Org1MSP", "client", m.certificate, object())  # type: ignore


def test_principal_matching_follows_roles(org1: OrganisationCA, msp1: MSP) -> None:
    peer = msp1.validate(member(org1, "peer", "p").certificate, NOW)
    assert peer.principal_matches(Principal("Org1MSP", "member"))
    assert peer.principal_matches(Principal("Org1MSP", "peer"))
    assert not peer.principal_matches(Principal("Org1MSP", "admin"))
    assert not peer.principal_matches(Principal("Org2MSP", "member"))


def test_distinct_signers_counts_each_certificate_once(org1: OrganisationCA,
                                                       msp1: MSP) -> None:
    a = msp1.validate(member(org1, "peer", "a").certificate, NOW)
    b = msp1.validate(member(org1, "peer", "b").certificate, NOW)
    policy = parse_policy("AND('Org1MSP.peer', 'Org1MSP.peer')")
    assert distinct_signers([a, a, a]) == [("Org1MSP", "peer")]
    assert not evaluate(policy, distinct_signers([a, a]))
    assert evaluate(policy, distinct_signers([a, b, a]))


def test_identity_with_an_unknown_role_cannot_be_built(org1: OrganisationCA) -> None:
    cert = member(org1, "peer", "p").certificate
    with pytest.raises(IdentityError):
        Identity("Org1MSP", "member", cert)


# --------------------------------------------------------------------------- definitions


def test_definition_round_trips_through_json(org1: OrganisationCA) -> None:
    ca = new_org("JsonMSP", "华东师范大学")
    ca.revoke(member(ca, "client", "gone").certificate, at=NOW)
    ca.crl(this_update=NOW, days=7)
    definition = ca.definition()
    document = definition.to_json()
    assert list(document) == sorted(document)
    assert MSPDefinition.from_json(document) == definition
    text = definition.to_json_text()
    assert "华东师范大学" in text
    assert MSPDefinition.from_json(text) == definition
    assert MSPDefinition.from_json(text.encode()) == definition
    assert MSPDefinition.from_json(text).to_json_text() == text
    assert hash(MSPDefinition.from_json(text)) == hash(definition)


def test_definition_with_intermediates_round_trips() -> None:
    ca = new_org("ChainMSP", "Chain")
    signer = OpaqueSigner()
    inter = create_intermediate_ca(ca.authority, "/C=CN/O=Chain/CN=Issuing",
                                   signer.public_key(), not_before=NOW - DAY, days=30)
    definition = MSPDefinition("ChainMSP", "Chain", (ca.certificate,), (inter,))
    assert MSPDefinition.from_json(definition.to_json()) == definition
    assert definition != ca.definition()


def _doc(org1: OrganisationCA) -> dict[str, Any]:
    return org1.definition().to_json()


def _mutations(org1: OrganisationCA, org2: OrganisationCA) -> dict[str, Any]:
    cert_pem = org1.certificate.pem().decode()
    other_crl = new_org("OtherMSP", "Other")
    other_crl_pem = other_crl.crl(this_update=NOW).pem().decode()
    leaf_pem = member(org1, "client", "leaf").certificate.pem().decode()
    return {
        "not an object": ["a", "list"],
        "missing key": {k: v for k, v in _doc(org1).items() if k != "revocation_list"},
        "unknown key": {**_doc(org1), "admins": []},
        "bad msp id": {**_doc(org1), "msp_id": "Org 1"},
        "msp id not a string": {**_doc(org1), "msp_id": 7},
        "display name not a string": {**_doc(org1), "display_name": 7},
        "empty display name": {**_doc(org1), "display_name": " "},
        "roots not a list": {**_doc(org1), "root_certs": cert_pem},
        "no roots": {**_doc(org1), "root_certs": []},
        "root not a string": {**_doc(org1), "root_certs": [1]},
        "garbage PEM": {**_doc(org1), "root_certs": ["-----BEGIN CERTIFICATE-----\nAAAA\n"
                                                     "-----END CERTIFICATE-----"]},
        "not PEM": {**_doc(org1), "root_certs": ["MIIB"]},
        "two PEM blocks": {**_doc(org1), "root_certs": [cert_pem + cert_pem]},
        "text around PEM": {**_doc(org1), "root_certs": ["hello\n" + cert_pem]},
        "CRL as root": {**_doc(org1), "root_certs": [other_crl_pem]},
        "end-entity as root": {**_doc(org1), "root_certs": [leaf_pem]},
        "root as intermediate": {**_doc(org1), "intermediate_certs": [cert_pem]},
        "duplicate root": {**_doc(org1), "root_certs": [cert_pem, cert_pem]},
        "CRL of another CA": {**_doc(org1), "revocation_list": [other_crl_pem]},
        "certificate as CRL": {**_doc(org1), "revocation_list": [cert_pem]},
        "foreign intermediate": {**_doc(org1), "intermediate_certs": [
            create_intermediate_ca(org2.authority, "/C=CN/CN=Foreign",
                                   OpaqueSigner().public_key(), not_before=NOW,
                                   days=5).pem().decode()]},
    }


def test_every_malformed_definition_is_rejected(org1: OrganisationCA,
                                                org2: OrganisationCA) -> None:
    for label, document in _mutations(org1, org2).items():
        with pytest.raises(InvalidMSPDefinition):
            MSPDefinition.from_json(document)
            pytest.fail(f"accepted: {label}")
        with pytest.raises(InvalidMSPDefinition):
            MSPDefinition.from_json(json.dumps(document))


@pytest.mark.parametrize("text", ["", "{", "null", "[]", '{"msp_id": "A"}', b"\xff\xfe"])
def test_definition_text_that_is_not_a_definition_is_rejected(text: str | bytes) -> None:
    with pytest.raises(InvalidMSPDefinition):
        MSPDefinition.from_json(text)


def test_definition_objects_are_checked_when_built(org1: OrganisationCA) -> None:
    leaf = member(org1, "peer", "p").certificate
    with pytest.raises(InvalidMSPDefinition):
        MSPDefinition("Org1MSP", "x", ())
    with pytest.raises(InvalidMSPDefinition):
        MSPDefinition("Org1MSP", "x", (leaf,))
    with pytest.raises(InvalidMSPDefinition):
        MSPDefinition("Org1MSP", "x" * 65, (org1.certificate,))
    with pytest.raises(InvalidMSPDefinition):
        MSPDefinition("Org1MSP", "x", ("PEM",))  # type: ignore[arg-type]
    assert MSPDefinition("Org1MSP", "x", [org1.certificate]).root_certificates == (  # type: ignore
        org1.certificate,)
