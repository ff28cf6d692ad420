"""Tests for crypto.x509: SM2 certificates, CSRs, CRLs and chain validation, cross-checked
against the ``openssl`` command line (3.0) in both directions."""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import crl as asn1_crl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto import x509
from crypto.errors import CertificateError, CryptoError
from crypto.sm2 import (
    DEFAULT_SIGNER_ID,
    Encoding,
    SignatureEncoding,
    SM2PrivateKey,
    SM2PublicKey,
)
from crypto.sm3 import sm3
from crypto.x509 import (
    Certificate,
    CertificateAuthority,
    CertificateProfile,
    ChainValidationError,
    ExtendedKeyUsage,
    KeyUsage,
    RevocationReason,
    RevokedCertificate,
    ValidationFailure,
)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)


class HandleSigner:
    """Signs the way a key-provider handle does: callers never hold the private key."""

    def __init__(self) -> None:
        self.__key = SM2PrivateKey.generate()

    def sign(self, data: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID,
             encoding: SignatureEncoding = SignatureEncoding.DER) -> bytes:
        return self.__key.sign(data, signer_id=signer_id, encoding=encoding)

    def public_key(self) -> SM2PublicKey:
        return self.__key.public_key()


def openssl(*args: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True,
                            text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed:\n{result.stdout}\n"
                             f"{result.stderr}")
    return result


@dataclass
class PKI:
    root_signer: HandleSigner
    inter_signer: HandleSigner
    leaf_key: SM2PrivateKey
    root: Certificate
    inter: Certificate
    leaf: Certificate
    root_ca: CertificateAuthority
    inter_ca: CertificateAuthority


@pytest.fixture(scope="module")
def pki() -> PKI:
    root_signer, inter_signer, leaf_key = HandleSigner(), HandleSigner(), SM2PrivateKey.generate()
    start = NOW - DAY
    root = x509.create_root_ca(root_signer, "/C=CN/O=教育部/CN=EduTrust Test Root CA",
                               not_before=NOW - 10 * DAY, days=3650, path_length=1)
    root_ca = CertificateAuthority(root, root_signer)
    inter = x509.create_intermediate_ca(root_ca, "/C=CN/ST=北京/O=某大学/CN=School CA",
                                        inter_signer.public_key(), not_before=start,
                                        days=1825, path_length=0)
    inter_ca = CertificateAuthority(inter, inter_signer)
    leaf = x509.issue_end_entity(inter_ca, "/C=CN/O=某大学/CN=张三/emailAddress=zs@example.cn",
                                 leaf_key.public_key(), not_before=start, days=365,
                                 tls_server=True, tls_client=True,
                                 dns_names=["school.example.cn"],
                                 uris=["https://school.example.cn/people/1"],
                                 emails=["zs@example.cn"])
    return PKI(root_signer, inter_signer, leaf_key, root, inter, leaf, root_ca, inter_ca)


def write(directory: Path, **files: bytes) -> None:
    for name, content in files.items():
        (directory / name.replace("_", ".", 1)).write_bytes(content)


def forged_crl(genuine: x509.CertificateRevocationList,
               signer: SM2PrivateKey) -> x509.CertificateRevocationList:
    """The genuine CRL's content (issuer, AKI, entries) signed by another key."""
    asn1 = asn1_crl.CertificateList.load(genuine.der())
    tbs = asn1["tbs_cert_list"].dump()
    forged = asn1_crl.CertificateList({"tbs_cert_list": asn1_crl.TbsCertList.load(tbs),
                                       "signature_algorithm": asn1["signature_algorithm"],
                                       "signature": signer.sign(tbs, signer_id=b"")})
    return x509.load_crl(forged.dump())


# --------------------------------------------------------------------------- names


def test_name_parses_openssl_style_string_in_order() -> None:
    name = x509.parse_name("/C=CN/ST=Beijing/L=Haidian/O=Some Org/OU=Dept/OU=Team/CN=Name"
                           "/serialNumber=110101/emailAddress=a@example.cn")
    assert name.attributes() == [
        ("C", "CN"), ("ST", "Beijing"), ("L", "Haidian"), ("O", "Some Org"), ("OU", "Dept"),
        ("OU", "Team"), ("CN", "Name"), ("serialNumber", "110101"),
        ("emailAddress", "a@example.cn")]
    assert name.common_name == "Name"


def test_name_with_chinese_values_round_trips_through_der_and_string() -> None:
    text = "/C=CN/O=北京大学/OU=信息科学技术学院/CN=张三"
    name = x509.parse_name(text)
    assert str(name) == text
    assert x509.Name.from_der(name.der()) == name
    assert "北京大学".encode() in name.der()  # stored as UTF8String


def test_escaped_slash_and_backslash_stay_inside_the_value() -> None:
    name = x509.parse_name(r"/O=A\/B Org/CN=back\\slash")
    assert name.attributes() == [("O", "A/B Org"), ("CN", "back\\slash")]
    assert x509.parse_name(str(name)) == name


def test_attribute_names_match_case_insensitively_and_names_compare_per_rfc5280() -> None:
    assert x509.parse_name("/cn=Alice/o=Org") == x509.parse_name("/CN=alice/O=ORG")
    assert x509.parse_name("/CN=Alice") != x509.parse_name("/CN=Bob")


@pytest.mark.parametrize("text", [
    "", "CN=x", "/", "/CN=x/", "//CN=x", "/CN", "/=x", "/CN=", "/XX=1", "/CN=x\\",
    "/C=CHN", "/C=1N", "/CN=" + "x" * 65, "/CN=a\nb", "/serialNumber=张", "/emailAddress=x",
])
def test_malformed_name_is_rejected_with_a_clear_error(text: str) -> None:
    with pytest.raises(x509.InvalidName) as info:
        x509.parse_name(text)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, CertificateError)
    assert str(info.value)


_value_chars = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1,
                       max_size=40)


@settings(max_examples=60, deadline=None)
@given(org=_value_chars, cn=_value_chars)
def test_any_printable_value_round_trips_through_the_string_form(org: str, cn: str) -> None:
    name = x509.Name.parse("/C=CN/O=" + org.replace("\\", "\\\\").replace("/", "\\/")
                           + "/CN=" + cn.replace("\\", "\\\\").replace("/", "\\/"))
    assert name.attributes() == [("C", "CN"), ("O", org), ("CN", cn)]
    assert x509.parse_name(str(name)).attributes() == name.attributes()


# --------------------------------------------------------------------------- certificates


def test_root_ca_has_critical_ca_constraints_and_key_identifiers(pki: PKI) -> None:
    root = pki.root
    assert root.version == 3
    assert root.is_ca and root.path_length == 1
    assert root.key_usage == x509.CA_KEY_USAGE
    assert {"basic_constraints", "key_usage"} <= root.critical_extensions
    assert root.subject == root.issuer and root.is_self_issued
    assert root.subject_key_identifier == x509.subject_key_identifier(root.public_key())
    assert root.authority_key_identifier == root.subject_key_identifier
    root.verify_signature(root)


def test_chain_links_by_key_identifiers_and_names(pki: PKI) -> None:
    assert pki.inter.issuer == pki.root.subject
    assert pki.inter.authority_key_identifier == pki.root.subject_key_identifier
    assert pki.inter.path_length == 0
    assert pki.leaf.issuer == pki.inter.subject
    assert pki.leaf.authority_key_identifier == pki.inter.subject_key_identifier


def test_end_entity_is_for_signing_with_requested_eku_and_san(pki: PKI) -> None:
    leaf = pki.leaf
    assert not leaf.is_ca and leaf.path_length is None
    assert leaf.key_usage == x509.SIGNING_KEY_USAGE
    assert leaf.extended_key_usage == frozenset({ExtendedKeyUsage.SERVER_AUTH.value,
                                                 ExtendedKeyUsage.CLIENT_AUTH.value})
    sans = leaf.subject_alternative_names
    assert sans.dns_names == ("school.example.cn",)
    assert sans.uris == ("https://school.example.cn/people/1",)
    assert sans.emails == ("zs@example.cn",)
    assert leaf.public_key() == pki.leaf_key.public_key()
    assert str(leaf.subject) == "/C=CN/O=某大学/CN=张三/emailAddress=zs@example.cn"


def test_serial_numbers_are_random_positive_159_bit_integers(pki: PKI) -> None:
    serials = {c.serial_number for c in (pki.root, pki.inter, pki.leaf)}
    assert len(serials) == 3
    assert all(s.bit_length() == 159 for s in serials)


def test_validity_is_utc_whole_seconds(pki: PKI) -> None:
    assert pki.leaf.not_before == NOW - DAY
    assert pki.leaf.not_after == NOW - DAY + 365 * DAY
    assert pki.leaf.not_before.tzinfo == dt.UTC


def test_dates_from_2050_use_generalized_time(pki: PKI) -> None:
    late = x509.create_root_ca(SM2PrivateKey.generate(), "/CN=Late",
                               not_before=dt.datetime(2049, 6, 1, tzinfo=dt.UTC),
                               not_after=dt.datetime(2051, 1, 1, tzinfo=dt.UTC))
    validity = late.asn1["tbs_certificate"]["validity"]
    assert validity["not_before"].name == "utc_time"
    assert validity["not_after"].name == "general_time"
    assert late.not_after == dt.datetime(2051, 1, 1, tzinfo=dt.UTC)


def test_certificate_round_trips_through_pem_and_der(pki: PKI) -> None:
    leaf = pki.leaf
    assert x509.load_certificate(leaf.pem()) == leaf
    assert x509.load_certificate(leaf.der()) == leaf
    assert Certificate.from_pem(leaf.public_bytes(Encoding.PEM)).der() == leaf.der()
    bundle = pki.root.pem() + pki.inter.pem()
    assert x509.load_certificates(bundle) == [pki.root, pki.inter]


def test_fingerprint_is_sm3_of_der(pki: PKI) -> None:
    assert pki.leaf.fingerprint() == sm3(pki.leaf.der())
    assert len(pki.leaf.fingerprint()) == 32


def test_signing_with_gmt_0009_id_verifies_too() -> None:
    signer = SM2PrivateKey.generate()
    root = x509.create_root_ca(signer, "/CN=GM Root", days=10,
                               signer_id=x509.GMT_0009_SIGNER_ID)
    ca = CertificateAuthority(root, signer, signer_id=x509.GMT_0009_SIGNER_ID)
    leaf = x509.issue_end_entity(ca, "/CN=GM Leaf", SM2PrivateKey.generate().public_key(),
                                 days=5)
    assert x509.validate(leaf, [], [root]) == [leaf, root]
    leaf.verify_signature(root, signer_ids=[x509.GMT_0009_SIGNER_ID])
    with pytest.raises(CertificateError):
        leaf.verify_signature(root, signer_ids=[x509.OPENSSL_SIGNER_ID])


def test_authority_refuses_a_signer_whose_key_is_not_the_certificate_key(pki: PKI) -> None:
    with pytest.raises(CertificateError, match="not the CA certificate's key"):
        CertificateAuthority(pki.root, HandleSigner())


def test_end_entity_certificate_cannot_be_an_authority(pki: PKI) -> None:
    with pytest.raises(CertificateError, match="not a CA"):
        CertificateAuthority(pki.leaf, pki.leaf_key)


def test_issuer_refuses_a_ca_beyond_its_path_length(pki: PKI) -> None:
    with pytest.raises(CertificateError, match="pathLen 0"):
        x509.create_intermediate_ca(pki.inter_ca, "/CN=Too Deep",
                                    SM2PrivateKey.generate().public_key(), days=1)


def test_issuer_refuses_validity_beyond_its_own(pki: PKI) -> None:
    with pytest.raises(CertificateError, match="outside the issuer"):
        x509.issue_end_entity(pki.inter_ca, "/CN=Long", SM2PrivateKey.generate().public_key(),
                              days=365 * 20)


def test_profiles_reject_inconsistent_choices() -> None:
    with pytest.raises(ValueError, match="keyCertSign"):
        CertificateProfile(is_ca=True, key_usage=frozenset({KeyUsage.DIGITAL_SIGNATURE}))
    with pytest.raises(ValueError, match="only for CA"):
        CertificateProfile.end_entity(key_usage={KeyUsage.KEY_CERT_SIGN})
    with pytest.raises(ValueError, match="DNS"):
        CertificateProfile.end_entity(dns_names=["bad name"])


def test_naive_datetimes_and_ambiguous_validity_are_rejected() -> None:
    signer = SM2PrivateKey.generate()
    with pytest.raises(ValueError, match="timezone"):
        x509.create_root_ca(signer, "/CN=x", not_before=dt.datetime(2030, 1, 1), days=1)
    with pytest.raises(ValueError, match="exactly one"):
        x509.create_root_ca(signer, "/CN=x")


# --------------------------------------------------------------------------- validation


def test_valid_chain_returns_path_to_anchor(pki: PKI) -> None:
    path = x509.validate(pki.leaf, [pki.inter], [pki.root], at=NOW)
    assert path == [pki.leaf, pki.inter, pki.root]
    assert x509.validate(pki.inter, [], [pki.root]) == [pki.inter, pki.root]
    assert x509.validate(pki.root, [], [pki.root]) == [pki.root]


def test_purpose_is_checked_against_extended_key_usage(pki: PKI) -> None:
    x509.validate(pki.leaf, [pki.inter], [pki.root], purpose=ExtendedKeyUsage.SERVER_AUTH)
    with pytest.raises(ChainValidationError) as info:
        x509.validate(pki.leaf, [pki.inter], [pki.root],
                      purpose=ExtendedKeyUsage.CODE_SIGNING)
    assert info.value.reason is ValidationFailure.EXTENDED_KEY_USAGE


def _expect(reason: ValidationFailure, *args: object, **kwargs: object) -> str:
    with pytest.raises(ChainValidationError) as info:
        x509.validate(*args, **kwargs)  # type: ignore[arg-type]
    assert info.value.reason is reason, str(info.value)
    assert isinstance(info.value, CryptoError)
    return str(info.value)


def test_expired_certificate_is_rejected(pki: PKI) -> None:
    message = _expect(ValidationFailure.EXPIRED, pki.leaf, [pki.inter], [pki.root],
                      at=pki.leaf.not_after + dt.timedelta(seconds=1))
    assert "expired" in message and "张三" in message


def test_not_yet_valid_certificate_is_rejected(pki: PKI) -> None:
    message = _expect(ValidationFailure.NOT_YET_VALID, pki.leaf, [pki.inter], [pki.root],
                      at=pki.leaf.not_before - dt.timedelta(seconds=1))
    assert "not valid before" in message


def test_expired_intermediate_is_rejected(pki: PKI) -> None:
    # An earlier, already expired certificate for the same intermediate name and key.
    old_inter = x509.create_intermediate_ca(pki.root_ca, pki.inter.subject,
                                            pki.inter_signer.public_key(),
                                            not_before=NOW - 3 * DAY, days=1, path_length=0)
    with pytest.raises(ChainValidationError) as info:
        x509.validate(pki.leaf, [old_inter], [pki.root])
    assert info.value.reason is ValidationFailure.EXPIRED
    assert info.value.certificate == old_inter
    assert x509.validate(pki.leaf, [old_inter, pki.inter], [pki.root])[1] == pki.inter


def test_leaf_used_as_issuer_is_rejected(pki: PKI) -> None:
    # The leaf's holder makes itself a CA certificate (same name and key) to sign a child;
    # the chain must still run through the real leaf, which has no CA flag.
    forged_ca = x509.create_root_ca(pki.leaf_key, pki.leaf.subject, not_before=NOW - DAY,
                                    days=30)
    child = x509.issue_end_entity(CertificateAuthority(forged_ca, pki.leaf_key), "/CN=Victim",
                                  SM2PrivateKey.generate().public_key(),
                                  not_before=NOW - DAY, days=10)
    message = _expect(ValidationFailure.NOT_A_CA, child, [pki.leaf, pki.inter], [pki.root])
    assert "is not a CA" in message


def test_path_length_exceeded_is_rejected(pki: PKI) -> None:
    # A second root with the same name and key but pathLen 0: the intermediate below it
    # is fine, a further CA below that is one too many.
    strict_root = x509.create_root_ca(pki.root_signer, pki.root.subject, not_before=NOW - DAY,
                                      days=3650, path_length=0)
    tolerant = CertificateAuthority(pki.root, pki.root_signer)
    inter1_signer = SM2PrivateKey.generate()
    inter1 = x509.create_intermediate_ca(tolerant, "/CN=Inter 1", inter1_signer.public_key(),
                                         not_before=NOW - DAY, days=30, path_length=0)
    leaf = x509.issue_end_entity(CertificateAuthority(inter1, inter1_signer), "/CN=Deep",
                                 SM2PrivateKey.generate().public_key(),
                                 not_before=NOW - DAY, days=10)
    assert x509.validate(leaf, [inter1], [pki.root]) == [leaf, inter1, pki.root]
    x509.validate(leaf, [], [inter1])  # an anchor itself may sit at the pathLen limit
    message = _expect(ValidationFailure.PATH_LENGTH_EXCEEDED, leaf, [inter1], [strict_root])
    assert "allows 0" in message


def test_wrong_issuer_key_is_rejected(pki: PKI) -> None:
    impostor_key = SM2PrivateKey.generate()
    impostor = x509.create_intermediate_ca(pki.root_ca, pki.inter.subject,
                                           impostor_key.public_key(), not_before=NOW - DAY,
                                           days=30, path_length=0)
    leaf = x509.issue_end_entity(CertificateAuthority(impostor, impostor_key), "/CN=Forged",
                                 SM2PrivateKey.generate().public_key(),
                                 not_before=NOW - DAY, days=10)
    with pytest.raises(CertificateError, match="does not verify"):
        leaf.verify_signature(pki.inter)
    _expect(ValidationFailure.KEY_IDENTIFIER_MISMATCH, leaf, [pki.inter], [pki.root])


def test_chain_not_ending_at_a_trust_anchor_is_rejected(pki: PKI) -> None:
    other_root = x509.create_root_ca(SM2PrivateKey.generate(), "/CN=Other Root", days=10)
    message = _expect(ValidationFailure.UNTRUSTED, pki.leaf, [pki.inter], [other_root])
    assert "does not end at a trust anchor" in message
    _expect(ValidationFailure.UNTRUSTED, pki.leaf, [], [pki.root])
    _expect(ValidationFailure.UNTRUSTED, pki.leaf, [pki.inter], [])


def test_same_name_root_with_another_key_is_not_an_anchor_for_our_chain(pki: PKI) -> None:
    lookalike = x509.create_root_ca(SM2PrivateKey.generate(), pki.root.subject, days=10)
    with pytest.raises(ChainValidationError) as info:
        x509.validate(pki.leaf, [pki.inter], [lookalike])
    assert info.value.reason in {ValidationFailure.KEY_IDENTIFIER_MISMATCH,
                                 ValidationFailure.SIGNATURE}


def _flip(der: bytes, position: int, bit: int) -> bytes:
    mutated = bytearray(der)
    mutated[position] ^= 1 << bit
    return bytes(mutated)


def _signed_regions(cert: Certificate) -> list[int]:
    der = cert.der()
    tbs_start = der.index(cert.tbs_bytes)
    sig_start = der.rindex(cert.signature)
    return [*range(tbs_start, tbs_start + len(cert.tbs_bytes)),
            *range(sig_start, sig_start + len(cert.signature))]


def _assert_rejected(der: bytes, pki: PKI) -> None:
    with pytest.raises(CertificateError):
        cert = x509.load_certificate(der)
        cert.verify_signature(pki.inter)
        x509.validate(cert, [pki.inter], [pki.root])


@pytest.mark.parametrize("where", ["tbs_start", "serial", "subject", "spki", "extensions",
                                   "tbs_end", "sig_r", "sig_s", "sig_end"])
def test_flipped_bit_in_tbs_or_signature_is_rejected(pki: PKI, where: str) -> None:
    der = pki.leaf.der()
    tbs_start = der.index(pki.leaf.tbs_bytes)
    tbs_end = tbs_start + len(pki.leaf.tbs_bytes)
    sig_start = der.rindex(pki.leaf.signature)
    positions = {
        "tbs_start": tbs_start, "serial": tbs_start + 12,
        "subject": der.index("张三".encode()),
        "spki": der.index(pki.leaf_key.public_key().point()) + 20,
        "extensions": der.index(b"school.example.cn"), "tbs_end": tbs_end - 1,
        "sig_r": sig_start + 10, "sig_s": sig_start + len(pki.leaf.signature) - 20,
        "sig_end": len(der) - 1,
    }
    for bit in (0, 7):
        _assert_rejected(_flip(der, positions[where], bit), pki)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_flipped_bit_in_signed_part_or_signature_is_rejected(pki: PKI,
                                                                  data: st.DataObject) -> None:
    positions = _signed_regions(pki.leaf)
    position = data.draw(st.sampled_from(positions), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    _assert_rejected(_flip(pki.leaf.der(), position, bit), pki)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_flipped_bit_anywhere_in_a_crl_or_csr_is_rejected(
        pki: PKI, revoked_pki: tuple[Certificate, x509.CertificateRevocationList],
        data: st.DataObject) -> None:
    _, crl = revoked_pki
    csr = _module_csr(pki)
    kind = data.draw(st.sampled_from(["crl", "csr"]), label="kind")
    der = crl.der() if kind == "crl" else csr.der()
    position = data.draw(st.integers(0, len(der) - 1), label="byte")
    mutated = _flip(der, position, data.draw(st.integers(0, 7), label="bit"))
    with pytest.raises(CertificateError):
        if kind == "crl":
            x509.load_crl(mutated).verify_signature(pki.inter)
        else:
            x509.load_csr(mutated).verify()


def test_signature_bit_string_with_unused_bits_is_rejected(pki: PKI) -> None:
    der = pki.leaf.der()
    unused_bits_octet = der.rindex(pki.leaf.signature) - 1
    assert der[unused_bits_octet] == 0
    with pytest.raises(CertificateError, match="unused bits"):
        x509.load_certificate(_flip(der, unused_bits_octet, 0)).verify_signature(pki.inter)


_CSR_CACHE: dict[str, x509.CertificateSigningRequest] = {}


def _module_csr(pki: PKI) -> x509.CertificateSigningRequest:
    if "csr" not in _CSR_CACHE:
        _CSR_CACHE["csr"] = x509.create_csr(pki.leaf_key, "/C=CN/CN=申请人",
                                            dns_names=["req.example.cn"])
    return _CSR_CACHE["csr"]


def test_non_sm2_certificate_gets_a_clear_error(tmp_path: Path) -> None:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", "p256.key", "-subj", "/CN=P-256", "-days", "1",
            "-out", "p256.pem", cwd=tmp_path)
    pem = (tmp_path / "p256.pem").read_bytes()
    with pytest.raises(CertificateError, match=r"not SM2-with-SM3 \(1\.2\.156\.10197\.1\.501\)"):
        x509.load_certificate(pem)
    openssl("req", "-new", "-key", "p256.key", "-subj", "/CN=P-256", "-out", "p256.csr",
            cwd=tmp_path)
    with pytest.raises(CertificateError, match="not SM2-with-SM3"):
        x509.load_csr((tmp_path / "p256.csr").read_bytes())


def test_sm2_signed_certificate_for_a_p256_key_is_rejected(tmp_path: Path) -> None:
    openssl("genpkey", "-algorithm", "SM2", "-out", "ca.key", cwd=tmp_path)
    openssl("req", "-x509", "-sm3", "-key", "ca.key", "-subj", "/CN=SM2 CA", "-days", "1",
            "-out", "ca.pem", cwd=tmp_path)
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "p256.key", "-subj", "/CN=P-256 leaf", "-out", "p256.csr", cwd=tmp_path)
    openssl("x509", "-req", "-sm3", "-in", "p256.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-days", "1", "-out", "leaf.pem", cwd=tmp_path)
    with pytest.raises(CertificateError, match="not an SM2 key"):
        x509.load_certificate((tmp_path / "leaf.pem").read_bytes())


def test_unhandled_critical_extension_is_rejected(tmp_path: Path) -> None:
    openssl("genpkey", "-algorithm", "SM2", "-out", "ca.key", cwd=tmp_path)
    openssl("req", "-x509", "-sm3", "-key", "ca.key", "-subj", "/CN=Constrained", "-days", "1",
            "-addext", "nameConstraints=critical,permitted;DNS:example.cn",
            "-out", "ca.pem", cwd=tmp_path)
    cert = x509.load_certificate((tmp_path / "ca.pem").read_bytes())
    _expect(ValidationFailure.UNHANDLED_CRITICAL_EXTENSION, cert, [], [cert])


# --------------------------------------------------------------------------- CRLs


@pytest.fixture(scope="module")
def revoked_pki(pki: PKI) -> tuple[Certificate, x509.CertificateRevocationList]:
    victim = x509.issue_end_entity(pki.inter_ca, "/CN=Revoked Student",
                                   SM2PrivateKey.generate().public_key(),
                                   not_before=NOW - DAY, days=30)
    crl = x509.create_crl(pki.inter_ca, [
        RevokedCertificate(victim.serial_number, NOW - dt.timedelta(hours=1),
                           RevocationReason.KEY_COMPROMISE),
        RevokedCertificate(12345, NOW - dt.timedelta(hours=2)),
    ], crl_number=7, this_update=NOW - dt.timedelta(minutes=30), days=7)
    return victim, crl


def test_crl_carries_number_aki_dates_and_reasons(
        pki: PKI, revoked_pki: tuple[Certificate, x509.CertificateRevocationList]) -> None:
    victim, crl = revoked_pki
    again = x509.load_crl(crl.pem())
    assert again.der() == x509.load_crl(crl.der()).der() == crl.der()
    assert again.issuer == pki.inter.subject
    assert again.crl_number == 7
    assert again.authority_key_identifier == pki.inter.subject_key_identifier
    assert again.this_update == NOW - dt.timedelta(minutes=30)
    assert again.next_update == again.this_update + 7 * DAY
    entry = again.get_revoked(victim.serial_number)
    assert entry == RevokedCertificate(victim.serial_number, NOW - dt.timedelta(hours=1),
                                       RevocationReason.KEY_COMPROMISE)
    assert again.get_revoked(12345) == RevokedCertificate(12345, NOW - dt.timedelta(hours=2))
    assert again.get_revoked(pki.leaf.serial_number) is None
    assert again.asn1["tbs_cert_list"]["version"].native == "v2"
    again.verify_signature(pki.inter)
    with pytest.raises(CertificateError, match="does not verify"):
        again.verify_signature(pki.root)


def test_revoked_serial_is_rejected(
        pki: PKI, revoked_pki: tuple[Certificate, x509.CertificateRevocationList]) -> None:
    victim, crl = revoked_pki
    message = _expect(ValidationFailure.REVOKED, victim, [pki.inter], [pki.root], crls=[crl])
    assert "key_compromise" in message
    assert x509.validate(pki.leaf, [pki.inter], [pki.root], crls=[crl], at=NOW)[0] == pki.leaf


def test_revoked_intermediate_is_rejected(pki: PKI) -> None:
    root_crl = x509.create_crl(pki.root_ca, [RevokedCertificate(
        pki.inter.serial_number, NOW - DAY, RevocationReason.CA_COMPROMISE)], crl_number=1,
        this_update=NOW - DAY, days=30)
    _expect(ValidationFailure.REVOKED, pki.leaf, [pki.inter], [pki.root], crls=[root_crl])


def test_require_crl_fails_without_a_crl_from_the_issuer(
        pki: PKI, revoked_pki: tuple[Certificate, x509.CertificateRevocationList]) -> None:
    _, inter_crl = revoked_pki
    message = _expect(ValidationFailure.CRL_MISSING, pki.leaf, [pki.inter], [pki.root],
                      crls=[inter_crl], require_crl=True)
    assert "EduTrust Test Root CA" in message  # the inter's own CRL (from the root) is missing
    root_crl = x509.create_crl(pki.root_ca, [], crl_number=1, this_update=NOW - DAY, days=30)
    path = x509.validate(pki.leaf, [pki.inter], [pki.root], crls=[inter_crl, root_crl],
                         require_crl=True)
    assert path[-1] == pki.root


def test_stale_crl_is_rejected(
        pki: PKI, revoked_pki: tuple[Certificate, x509.CertificateRevocationList]) -> None:
    _, crl = revoked_pki
    assert crl.next_update is not None
    later = crl.next_update + dt.timedelta(seconds=1)
    message = _expect(ValidationFailure.CRL_STALE, pki.leaf, [pki.inter], [pki.root],
                      crls=[crl], at=later)
    assert "stale" in message
    assert not crl.is_fresh_at(later) and crl.is_fresh_at(NOW)
    _expect(ValidationFailure.CRL_NOT_YET_VALID, pki.leaf, [pki.inter], [pki.root],
            crls=[crl], at=crl.this_update - dt.timedelta(seconds=1))


def test_newer_crl_is_used_when_an_older_one_is_stale(pki: PKI) -> None:
    old = x509.create_crl(pki.inter_ca, [], crl_number=1, this_update=NOW - 3 * DAY, days=1)
    new = x509.create_crl(pki.inter_ca, [], crl_number=2, this_update=NOW - DAY, days=7)
    assert x509.validate(pki.leaf, [pki.inter], [pki.root], crls=[old, new])[0] == pki.leaf


def test_crl_signed_by_wrong_key_is_rejected(
        pki: PKI, revoked_pki: tuple[Certificate, x509.CertificateRevocationList]) -> None:
    _, crl = revoked_pki
    forged = forged_crl(crl, SM2PrivateKey.generate())
    with pytest.raises(CertificateError, match="does not verify"):
        forged.verify_signature(pki.inter)
    _expect(ValidationFailure.CRL_SIGNATURE, pki.leaf, [pki.inter], [pki.root],
            crls=[forged])


def test_crl_needs_a_ca_with_crl_sign(pki: PKI) -> None:
    signer = SM2PrivateKey.generate()
    profile = CertificateProfile(is_ca=True, key_usage=frozenset({KeyUsage.KEY_CERT_SIGN}),
                                 path_length=0)
    no_crl_sign = x509.issue_certificate(pki.root_ca, "/CN=Issuing Only", signer.public_key(),
                                         profile, not_before=NOW - DAY, days=10)
    with pytest.raises(CertificateError, match="lacks cRLSign"):
        x509.create_crl(CertificateAuthority(no_crl_sign, signer), [], crl_number=1, days=1)


def test_crl_number_must_be_a_non_negative_integer(pki: PKI) -> None:
    with pytest.raises(ValueError, match="crl_number"):
        x509.create_crl(pki.inter_ca, [], crl_number=-1, days=1)


# --------------------------------------------------------------------------- CSRs


def test_our_csr_verifies_and_the_ca_decides_the_extensions(pki: PKI) -> None:
    key = SM2PrivateKey.generate()
    csr = x509.create_csr(key, "/C=CN/O=某大学/CN=Ledger Peer 1", dns_names=["peer1.example.cn"])
    loaded = x509.load_csr(csr.pem())
    loaded.verify()
    assert x509.load_csr(csr.der()).subject == loaded.subject
    assert loaded.requested_subject_alternative_names.dns_names == ("peer1.example.cn",)
    assert loaded.public_key() == key.public_key()
    cert = x509.issue_from_csr(pki.inter_ca, loaded,
                               CertificateProfile.end_entity(tls_client=True),
                               not_before=NOW - DAY, days=30)
    assert cert.subject == loaded.subject
    assert cert.public_key() == key.public_key()
    assert cert.subject_alternative_names.dns_names == ()  # requested, but not granted
    assert cert.extended_key_usage == frozenset({ExtendedKeyUsage.CLIENT_AUTH.value})
    x509.validate(cert, [pki.inter], [pki.root])


def test_csr_with_a_bad_signature_is_not_issued(pki: PKI) -> None:
    csr = x509.create_csr(SM2PrivateKey.generate(), "/CN=Tampered")
    der = csr.der()
    tampered = der.replace(b"Tampered", b"Tamperex")
    bad = x509.load_csr(tampered)
    with pytest.raises(CertificateError, match="does not verify"):
        bad.verify()
    with pytest.raises(CertificateError, match="does not verify"):
        x509.issue_from_csr(pki.inter_ca, bad, CertificateProfile.end_entity(), days=1)


# --------------------------------------------------------------------------- openssl


def test_openssl_verify_accepts_our_chain(pki: PKI, tmp_path: Path) -> None:
    write(tmp_path, root_pem=pki.root.pem(), inter_pem=pki.inter.pem(), leaf_pem=pki.leaf.pem())
    result = openssl("verify", "-CAfile", "root.pem", "-untrusted", "inter.pem", "leaf.pem",
                     cwd=tmp_path)
    assert result.stdout.strip() == "leaf.pem: OK"
    # Checking the root's self-signature too, and with the TLS purposes we granted.
    openssl("verify", "-check_ss_sig", "-x509_strict", "-purpose", "sslserver",
            "-CAfile", "root.pem", "-untrusted", "inter.pem", "leaf.pem", cwd=tmp_path)


def test_openssl_rejects_our_chain_when_we_break_it(pki: PKI, tmp_path: Path) -> None:
    other = x509.create_root_ca(SM2PrivateKey.generate(), pki.root.subject, days=10)
    write(tmp_path, other_pem=other.pem(), inter_pem=pki.inter.pem(), leaf_pem=pki.leaf.pem())
    result = openssl("verify", "-CAfile", "other.pem", "-untrusted", "inter.pem", "leaf.pem",
                     cwd=tmp_path, check=False)
    assert result.returncode != 0


def test_openssl_x509_text_shows_our_extensions(pki: PKI, tmp_path: Path) -> None:
    write(tmp_path, root_pem=pki.root.pem(), inter_pem=pki.inter.pem(), leaf_pem=pki.leaf.pem())
    texts = {name: openssl("x509", "-in", f"{name}.pem", "-text", "-noout", "-nameopt", "utf8",
                           cwd=tmp_path).stdout for name in ("root", "inter", "leaf")}
    for text in texts.values():
        assert "Signature Algorithm: SM2-with-SM3" in text
        assert "ASN1 OID: SM2" in text
        assert "X509v3 Basic Constraints: critical" in text
        assert "X509v3 Key Usage: critical" in text
        assert "X509v3 Subject Key Identifier" in text
        assert "X509v3 Authority Key Identifier" in text
    assert "CA:TRUE, pathlen:1" in texts["root"]
    assert "CA:TRUE, pathlen:0" in texts["inter"]
    assert "Certificate Sign, CRL Sign" in texts["inter"]
    leaf = texts["leaf"]
    assert "CA:FALSE" in leaf
    assert "Digital Signature, Non Repudiation" in leaf
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in leaf
    assert ("DNS:school.example.cn, URI:https://school.example.cn/people/1, "
            "email:zs@example.cn") in leaf
    assert "Subject: C=CN, O=某大学, CN=张三, emailAddress=zs@example.cn" in leaf
    assert "Issuer: C=CN, ST=北京, O=某大学, CN=School CA" in leaf
    serial = openssl("x509", "-in", "leaf.pem", "-noout", "-serial", cwd=tmp_path).stdout
    assert int(serial.strip().split("=")[1], 16) == pki.leaf.serial_number
    ski = pki.leaf.subject_key_identifier
    assert ski is not None
    assert ":".join(f"{b:02X}" for b in ski) in leaf


def test_openssl_crl_verify_accepts_our_crl(
        pki: PKI, revoked_pki: tuple[Certificate, x509.CertificateRevocationList],
        tmp_path: Path) -> None:
    victim, crl = revoked_pki
    write(tmp_path, crl_pem=crl.pem(), inter_pem=pki.inter.pem(), root_pem=pki.root.pem())
    result = openssl("crl", "-in", "crl.pem", "-noout", "-text", "-verify", "-CAfile",
                     "inter.pem", cwd=tmp_path)
    assert "verify OK" in result.stderr + result.stdout
    assert "X509v3 CRL Number" in result.stdout and "Key Compromise" in result.stdout
    assert f"{victim.serial_number:X}" in result.stdout
    wrong = openssl("crl", "-in", "crl.pem", "-noout", "-verify", "-CAfile", "root.pem",
                    cwd=tmp_path, check=False)
    assert "verify OK" not in wrong.stderr + wrong.stdout


def test_openssl_crl_check_rejects_our_revoked_leaf(
        pki: PKI, revoked_pki: tuple[Certificate, x509.CertificateRevocationList],
        tmp_path: Path) -> None:
    victim, crl = revoked_pki
    write(tmp_path, crl_pem=crl.pem(), inter_pem=pki.inter.pem(), root_pem=pki.root.pem(),
          victim_pem=victim.pem(), leaf_pem=pki.leaf.pem())
    common = ["verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "root.pem",
              "-untrusted", "inter.pem"]
    rejected = openssl(*common, "victim.pem", cwd=tmp_path, check=False)
    assert rejected.returncode != 0
    assert "certificate revoked" in rejected.stderr
    accepted = openssl(*common, "leaf.pem", cwd=tmp_path)
    assert accepted.stdout.strip() == "leaf.pem: OK"


def test_openssl_verifies_our_csr(tmp_path: Path) -> None:
    key = SM2PrivateKey.generate()
    write(tmp_path,
          plain_csr=x509.create_csr(key, "/C=CN/O=某大学/CN=No Extensions").pem(),
          san_csr=x509.create_csr(key, "/CN=With SAN", dns_names=["a.example.cn"],
                                  emails=["a@example.cn"]).pem())
    for name in ("plain.csr", "san.csr"):
        result = openssl("req", "-in", name, "-verify", "-noout", "-text", cwd=tmp_path)
        assert "verify OK" in result.stderr + result.stdout
    text = openssl("req", "-in", "san.csr", "-noout", "-text", cwd=tmp_path).stdout
    assert "DNS:a.example.cn, email:a@example.cn" in text


def _openssl_root(tmp_path: Path) -> Certificate:
    openssl("genpkey", "-algorithm", "SM2", "-out", "ca.key", cwd=tmp_path)
    openssl("req", "-x509", "-sm3", "-key", "ca.key", "-subj", "/C=CN/O=OpenSSL Org/CN=OpenSSL CA",
            "-days", "30", "-out", "ca.pem", cwd=tmp_path)
    return x509.load_certificate((tmp_path / "ca.pem").read_bytes())


def test_we_accept_openssl_self_signed_sm2_certificate(tmp_path: Path) -> None:
    root = _openssl_root(tmp_path)
    root.verify_signature(root)
    assert root.is_ca
    assert root.subject == x509.parse_name("/C=CN/O=OpenSSL Org/CN=OpenSSL CA")
    # openssl's subjectKeyIdentifier=hash is RFC 5280 method 1, which is what we compute.
    assert root.subject_key_identifier == x509.subject_key_identifier(root.public_key())
    assert x509.validate(root, [], [root]) == [root]


def test_we_validate_what_openssl_issues_from_an_openssl_csr(tmp_path: Path) -> None:
    root = _openssl_root(tmp_path)
    openssl("genpkey", "-algorithm", "SM2", "-out", "leaf.key", cwd=tmp_path)
    openssl("req", "-new", "-sm3", "-key", "leaf.key", "-subj", "/C=CN/CN=OpenSSL Leaf",
            "-out", "leaf.csr", cwd=tmp_path)
    (tmp_path / "ext.cnf").write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    openssl("x509", "-req", "-sm3", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-days", "10", "-extfile", "ext.cnf", "-out", "leaf.pem", cwd=tmp_path)
    openssl("x509", "-req", "-sm3", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-days", "10", "-out", "v1.pem", cwd=tmp_path)
    for name in ("leaf.pem", "v1.pem"):
        leaf = x509.load_certificate((tmp_path / name).read_bytes())
        assert x509.validate(leaf, [], [root]) == [leaf, root]
    leaf = x509.load_certificate((tmp_path / "leaf.pem").read_bytes())
    assert leaf.authority_key_identifier == root.subject_key_identifier
    assert leaf.key_usage == frozenset({KeyUsage.DIGITAL_SIGNATURE})


def test_we_verify_an_openssl_csr_and_issue_a_certificate_openssl_accepts(
        pki: PKI, tmp_path: Path) -> None:
    openssl("genpkey", "-algorithm", "SM2", "-out", "peer.key", cwd=tmp_path)
    # Without -utf8, openssl reads -subj bytes as Latin-1 and garbles Chinese names.
    openssl("req", "-new", "-sm3", "-utf8", "-key", "peer.key",
            "-subj", "/C=CN/O=某大学/CN=节点一",
            "-addext", "subjectAltName=DNS:peer.example.cn", "-out", "peer.csr", cwd=tmp_path)
    csr = x509.load_csr((tmp_path / "peer.csr").read_bytes())
    csr.verify()
    assert csr.requested_subject_alternative_names.dns_names == ("peer.example.cn",)
    profile = CertificateProfile.end_entity(
        tls_server=True, dns_names=csr.requested_subject_alternative_names.dns_names)
    cert = x509.issue_from_csr(pki.inter_ca, csr, profile, not_before=NOW - DAY, days=30)
    assert str(cert.subject) == "/C=CN/O=某大学/CN=节点一"
    write(tmp_path, root_pem=pki.root.pem(), inter_pem=pki.inter.pem(), peer_pem=cert.pem())
    result = openssl("verify", "-CAfile", "root.pem", "-untrusted", "inter.pem",
                     "-purpose", "sslserver", "peer.pem", cwd=tmp_path)
    assert result.stdout.strip() == "peer.pem: OK"
    # And the certificate belongs to the key openssl generated.
    pub = openssl("pkey", "-in", "peer.key", "-pubout", cwd=tmp_path).stdout.encode()
    assert cert.public_key().public_bytes(Encoding.PEM) == pub


def test_openssl_needs_vfyopt_for_gmt_0009_signed_certificates(tmp_path: Path) -> None:
    # Documents OpenSSL 3.0's behaviour: it verifies with an empty SM2 ID unless the
    # certificate being checked is given one with -vfyopt distid:... .
    signer = SM2PrivateKey.generate()
    root = x509.create_root_ca(signer, "/CN=GM Root", days=10,
                               signer_id=x509.GMT_0009_SIGNER_ID)
    leaf = x509.issue_end_entity(
        CertificateAuthority(root, signer, signer_id=x509.GMT_0009_SIGNER_ID), "/CN=GM Leaf",
        SM2PrivateKey.generate().public_key(), days=5)
    write(tmp_path, root_pem=root.pem(), leaf_pem=leaf.pem())
    plain = openssl("verify", "-CAfile", "root.pem", "leaf.pem", cwd=tmp_path, check=False)
    assert plain.returncode != 0
    with_id = openssl("verify", "-vfyopt", "distid:1234567812345678", "-CAfile", "root.pem",
                      "leaf.pem", cwd=tmp_path)
    assert with_id.stdout.strip() == "leaf.pem: OK"
