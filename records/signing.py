"""SM2 proofs over record versions: the issuer's and the reviewer's.

A proof is a small statement — ``{"type": "edutrust-record-proof/v1", "purpose",
"record", "version", "digest", "org", "kid", "created"[, "review"]}`` — whose RFC 8785
canonical bytes the organisation signs with SM2 (SM3, signer ID ``1234567812345678``,
DER ``SEQUENCE{r, s}``). The digest binds the whole record core, so the statement stays
small and names nothing personal. Signing goes through ``SM2Signer`` handles only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from crypto.errors import CryptoError
from crypto.keys.provider import SM2Signer
from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding, SM2PublicKey
from records import batch as batches
from records.canonical import canonical_json
from records.envelope import Proof, Record, Review

ISSUE = "issue"
REVIEW = "review"


def sign_proof(record: Record, purpose: str, *, org: str, kid: str, signer: SM2Signer,
               created: dt.datetime, review: Review | None = None) -> Proof:
    """``org``'s proof over ``record``'s version and digest (with its review decision when
    ``purpose`` is ``review``)."""
    unsigned = unsigned_proof(record, purpose, org=org, kid=kid, created=created,
                              review=review)
    signature = signer.sign(signed_bytes(unsigned), signer_id=DEFAULT_SIGNER_ID,
                            encoding=SignatureEncoding.DER)
    return replace(unsigned, signature=signature)


def unsigned_proof(record: Record, purpose: str, *, org: str, kid: str,
                   created: dt.datetime, review: Review | None = None) -> Proof:
    """``sign_proof``'s proof with an empty signature (for a batch signature)."""
    if (purpose == REVIEW) != (review is not None):
        raise ValueError("a review proof carries the review decision, an issue proof none")
    return Proof(purpose, record.id, record.version, record.digest, org, kid,
                 created.replace(microsecond=0), review, b"")


def signed_bytes(proof: Proof) -> bytes:
    """What the proof's signature covers: alone, or as a leaf of its batch."""
    return canonical_json(proof.statement())


def signature_is_valid(proof: Proof, public_key: SM2PublicKey) -> bool:
    """Whether ``public_key`` signed the proof, alone or in the batch its ``batch``
    member places it in (an impossible path is not valid either)."""
    try:
        batches.verify(proof.signature, signed_bytes(proof), proof.batch, org=proof.org,
                       kid=proof.kid, public_key=public_key)
    except CryptoError:
        return False
    return True


def statement_problems(proof: Proof, record: Record, digest: str) -> list[str]:
    """How the proof's statement disagrees with the record it is attached to."""
    problems = []
    if proof.record != record.id or proof.version != record.version:
        problems.append(f"the {proof.purpose} proof names record {proof.record} version "
                        f"{proof.version}")
    if proof.digest != digest:
        problems.append(f"the {proof.purpose} proof covers another digest")
    return problems
