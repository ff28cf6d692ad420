"""Export of records as W3C Verifiable Credentials 2.0 — Open Badges 3.0
``AchievementCredential`` (type ``OpenBadgeCredential``) for archive entries — secured
with a Data Integrity proof of the cryptosuite ``sm2-jcs-2025`` this project defines.

``sm2-jcs-2025`` follows the shape of the W3C ``ecdsa-jcs-2019`` suite with SM2 and SM3
(docs/records.md "Verifiable Credentials" is the normative text):

1. proof options: ``{"type": "DataIntegrityProof", "cryptosuite": "sm2-jcs-2025",
   "created", "verificationMethod", "proofPurpose": "assertionMethod"}``;
2. proof configuration = the options plus the credential's ``@context``; both it and the
   credential without ``proof`` are canonicalised with RFC 8785 (JCS);
3. hash data = SM3(canonical proof configuration) || SM3(canonical credential), 64 bytes;
4. the signature is SM2 over the hash data (SM3 with Z, signer ID ``1234567812345678``),
   encoded raw ``r || s`` (64 bytes), and ``proofValue`` = ``z`` + base58btc(signature).

The verification method ``urn:edutrust:org:<code>#<kid>`` names the organisation key whose
certificate (issued by the platform root CA) holds the public key.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import uuid
from typing import Any

from crypto.errors import CryptoError
from crypto.keys.provider import SM2Signer
from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding, SM2PublicKey
from crypto.sm3 import sm3
from records.canonical import canonical_json
from records.envelope import Record, RecordType
from records.errors import CredentialError
from records.issuers import ORG_URN
from records.timestamps import format_timestamp

CRYPTOSUITE = "sm2-jcs-2025"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# multicodec code of sm3-256 in a multihash, as a varint
_SM3_MULTIHASH = bytes([0xB4, 0x0A, 0x20])  # 0x534, 32 bytes
_TYPE_NAMES = {RecordType.COPYRIGHT_REGISTRATION: "EduTrustCopyrightRegistration",
               RecordType.APP_FILING: "EduTrustAppFiling",
               RecordType.CREDIT_RECORD: "EduTrustCreditRecord"}


def base58btc(raw: bytes) -> str:
    number = int.from_bytes(raw, "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = _BASE58[digit] + out
    zeros = len(raw) - len(raw.lstrip(b"\0"))
    return "1" * zeros + out


def from_base58btc(text: str) -> bytes:
    number = 0
    for ch in text:
        index = _BASE58.find(ch)
        if index < 0:
            raise CredentialError("proofValue is not base58btc")
        number = number * 58 + index
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def digest_multibase(hex_digest: str) -> str:
    """A VC ``digestMultibase``: base58btc multibase of the sm3-256 multihash."""
    return "z" + base58btc(_SM3_MULTIHASH + bytes.fromhex(hex_digest))


def record_uri(record: Record) -> str:
    return f"urn:edutrust:record:{record.id}:v{record.version}"


def _status_entries(record: Record, base_url: str | None) -> list[dict[str, Any]]:
    entries = []
    for purpose in ("revocation", "suspension"):
        if base_url:
            list_url = f"{base_url.rstrip('/')}/api/v1/status-lists/{record.status.list}/{purpose}"
        else:
            list_url = f"urn:edutrust:status-list:{record.status.list}:{purpose}"
        entries.append({"id": f"{list_url}#{record.status.index}",
                        "type": "BitstringStatusListEntry", "statusPurpose": purpose,
                        "statusListIndex": str(record.status.index),
                        "statusListCredential": list_url})
    return entries


def _achievement_subject(record: Record) -> dict[str, Any]:
    content = record.content
    achievement = content["achievement"]
    achievement_id = achievement.get("id") or uuid.uuid5(
        uuid.NAMESPACE_URL, f"{ORG_URN}{record.issuer.org}|{achievement['achievementType']}"
                            f"|{achievement['name']}").urn
    described = {"id": achievement_id, "type": ["Achievement"],
                 **{k: v for k, v in achievement.items() if k != "id"}}
    subject: dict[str, Any] = {"type": ["AchievementSubject"], "achievement": described}
    salt = os.urandom(16).hex()
    identifiers = [{"type": "IdentityObject", "identityType": "identifier", "hashed": True,
                    "identityHash": "sm3$" + sm3((record.subject.ref + salt).encode()).hex(),
                    "salt": salt}]
    recipient = content.get("recipient")
    if recipient:
        identifiers.append({"type": "IdentityObject", "identityType": "name",
                            "hashed": False, "identityHash": recipient["name"]})
    subject["identifier"] = identifiers
    if "result" in content:
        # Our result labels become OB 3.0 ResultDescriptions of the achievement, and each
        # Result points at its description by id.
        descriptions, results = [], []
        for i, result in enumerate(content["result"]):
            entry = {"type": ["Result"], **{k: v for k, v in result.items()
                                            if k != "resultDescription"}}
            if "resultDescription" in result:
                ref = f"{achievement_id}#result-{i}"
                descriptions.append({"id": ref, "type": ["ResultDescription"],
                                     "name": result["resultDescription"],
                                     "resultType": "Result"})
                entry["resultDescription"] = ref
            results.append(entry)
        if descriptions:
            described["resultDescription"] = descriptions
        subject["result"] = results
    for name in ("creditsEarned", "term", "narrative"):
        if name in content:
            subject[name] = content[name]
    for name in ("activityStartDate", "activityEndDate"):
        if name in content:
            subject[name] = content[name] + "T00:00:00Z"
    return subject


def credential_document(record: Record, issuer_name: str, *,
                        base_url: str | None = None) -> dict[str, Any]:
    """The unsigned credential for an anchored record version."""
    content = record.content
    doc: dict[str, Any] = {"@context": [VC_CONTEXT], "id": record_uri(record)}
    if record.type is RecordType.ARCHIVE_ENTRY:
        doc["@context"].append(OB_CONTEXT)
        doc["type"] = ["VerifiableCredential", "OpenBadgeCredential"]
        doc["name"] = content["achievement"]["name"]
        doc["credentialSubject"] = _achievement_subject(record)
        doc["awardedDate"] = content["awardedDate"] + "T00:00:00Z"
        if content.get("evidence"):
            doc["evidence"] = [{"id": f"urn:sm3:{e['sm3']}", "type": ["Evidence"],
                                "name": e["name"], "digestMultibase": digest_multibase(e["sm3"]),
                                **({"description": e["description"]}
                                   if "description" in e else {})}
                               for e in content["evidence"]]
    else:
        doc["type"] = ["VerifiableCredential", _TYPE_NAMES[record.type]]
        subject = {"id": f"urn:edutrust:{record.subject.kind.value}:{record.subject.ref}",
                   **copy.deepcopy(content)}
        if record.review and record.review.assigned:
            subject.update(copy.deepcopy(record.review.assigned))
        doc["credentialSubject"] = subject
    doc["issuer"] = {"id": ORG_URN + record.issuer.org, "type": ["Profile"],
                     "name": issuer_name}
    doc["validFrom"] = format_timestamp(record.validity.valid_from)
    if record.validity.valid_until:
        doc["validUntil"] = format_timestamp(record.validity.valid_until)
    doc["credentialStatus"] = _status_entries(record, base_url)
    doc["credentialSchema"] = [{"id": record.schema.id, "type": "JsonSchema"}]
    doc["relatedResource"] = [{"id": f"urn:edutrust:ledger:{record.key}",
                               "digestMultibase": digest_multibase(record.digest)}]
    return doc


def _hash_data(credential: dict[str, Any], options: dict[str, Any]) -> bytes:
    config = {**options, "@context": credential["@context"]}
    return sm3(canonical_json(config)) + sm3(canonical_json(credential))


def add_proof(credential: dict[str, Any], *, signer: SM2Signer, verification_method: str,
              created: dt.datetime) -> dict[str, Any]:
    """The credential with an ``sm2-jcs-2025`` Data Integrity proof."""
    if "proof" in credential:
        raise CredentialError("the credential already carries a proof")
    options = {"type": "DataIntegrityProof", "cryptosuite": CRYPTOSUITE,
               "created": format_timestamp(created), "verificationMethod": verification_method,
               "proofPurpose": "assertionMethod"}
    signature = signer.sign(_hash_data(credential, options), signer_id=DEFAULT_SIGNER_ID,
                            encoding=SignatureEncoding.RAW)
    return {**credential, "proof": {**options, "proofValue": "z" + base58btc(signature)}}


def verify_proof(credential: dict[str, Any], public_key: SM2PublicKey) -> dict[str, Any]:
    """Check the ``sm2-jcs-2025`` proof; returns the proof options. ``CredentialError``
    on any problem."""
    proof = credential.get("proof")
    if not isinstance(proof, dict):
        raise CredentialError("the credential has no proof")
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != CRYPTOSUITE:
        raise CredentialError(f"not a DataIntegrityProof of {CRYPTOSUITE}")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise CredentialError("proofValue must be base58btc multibase ('z')")
    signature = from_base58btc(value[1:])
    if len(signature) != 64:
        raise CredentialError("an sm2-jcs-2025 signature is 64 bytes (r || s)")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in credential.items() if k != "proof"}
    try:
        public_key.verify(signature, _hash_data(unsecured, options),
                          signer_id=DEFAULT_SIGNER_ID, encoding=SignatureEncoding.RAW)
    except CryptoError:
        raise CredentialError("the SM2 proof does not verify") from None
    return options
