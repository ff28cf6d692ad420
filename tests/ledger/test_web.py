"""The public ledger API (/ledger/v1): what a verifier fetches over HTTP verifies with
nothing but ledger.merkle and ledger.checkpoint, and bad requests get problem documents."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from crypto.sm3 import sm3
from crypto.x509 import Certificate
from edutrust.app import create_app
from edutrust.ledger_setup import load_organisations, open_channel
from edutrust.platform import Platform
from ledger.canonical import canonical_json
from ledger.channel import Channel
from ledger.checkpoint import (
    NoteVerifier,
    SignatureKind,
    VerifiedCheckpoint,
    WitnessPolicy,
    verify_checkpoint,
)
from ledger.errors import LedgerError
from ledger.merkle import ConsistencyProof, InclusionProof, leaf_hash
from ledger.msp import IDENTITY_SIGNER_ID
from ledger.web import IMMUTABLE, ledger_blueprint
from tests.conftest import LiveServer

PROBLEM = "application/problem+json"


def anchor(platform: Platform, channel: Channel, *keys: str) -> None:
    client = load_organisations(platform)["Province"].role("client")
    for key in keys:
        entry = {"key": key, "digest": sm3(key.encode()).hex()}
        channel.submit(client, "anchoring", "anchor", canonical_json([entry]).decode())


@pytest.fixture
def channel(platform: Platform) -> Iterator[Channel]:
    opened = open_channel(platform)
    anchor(platform, opened, "record:1", "record:2", "record:3")
    yield opened
    opened.close()


@pytest.fixture
def client(platform: Platform, channel: Channel) -> FlaskClient:
    return create_app(platform).test_client()


def pinned_keys(text: str) -> tuple[NoteVerifier, WitnessPolicy]:
    verifiers = [NoteVerifier.from_vkey(line) for line in text.splitlines()]
    logs = [v for v in verifiers if v.kind is SignatureKind.NOTE]
    witnesses = tuple(v for v in verifiers if v.kind is SignatureKind.COSIGNATURE)
    assert len(logs) == 1
    return logs[0], WitnessPolicy(witnesses, len(witnesses))


def fetch_verified_checkpoint(client: FlaskClient) -> VerifiedCheckpoint:
    log_key, policy = pinned_keys(client.get("/ledger/v1/keys").get_data(as_text=True))
    return verify_checkpoint(client.get("/ledger/v1/checkpoint").data, log_key, policy=policy)


def assert_problem(response: TestResponse, status: int, slug: str, *,
                   cache: str | None = "no-store") -> dict[str, object]:
    assert response.status_code == status, response.request.url
    assert response.content_type == PROBLEM
    assert response.headers.get("Cache-Control") == cache
    body = response.get_json(force=True)
    assert body["type"] == "urn:edutrust:problem:" + slug
    assert body["status"] == status
    assert "Traceback" not in response.get_data(as_text=True)
    return dict(body)


def test_checkpoint_is_a_fresh_signed_note_that_verifies_with_the_served_keys(
        client: FlaskClient) -> None:
    response = client.get("/ledger/v1/checkpoint")
    assert response.status_code == 200
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    keys = client.get("/ledger/v1/keys")
    assert keys.content_type == "text/plain; charset=utf-8"
    log_key, policy = pinned_keys(keys.get_data(as_text=True))
    verified = verify_checkpoint(response.data, log_key, policy=policy)
    assert verified.checkpoint.size == 3
    assert set(verified.cosigners) == {"Regulator.witness", "Province.witness"}


def test_an_empty_log_has_a_signed_checkpoint_and_no_leaves(platform: Platform) -> None:
    client = create_app(platform).test_client()
    checkpoint = fetch_verified_checkpoint(client).checkpoint
    assert checkpoint.size == 0
    assert checkpoint.root_hash == sm3(b"")
    assert_problem(client.get("/ledger/v1/leaves/0"), 404, "ledger-beyond-log")
    assert_problem(client.get("/ledger/v1/proof/inclusion?index=0"), 400, "ledger-range")
    assert client.get("/ledger/v1/proof/consistency?from=0").get_json() == {
        "from": 0, "to": 0, "hashes": []}


def test_leaf_and_inclusion_proof_fetched_over_http_verify_against_the_checkpoint(
        client: FlaskClient) -> None:
    checkpoint = fetch_verified_checkpoint(client).checkpoint
    for index in range(checkpoint.size):
        leaf_response = client.get(f"/ledger/v1/leaves/{index}")
        assert leaf_response.headers["Cache-Control"] == IMMUTABLE
        doc = leaf_response.get_json()
        leaf = base64.b64decode(doc["leaf"], validate=True)
        assert doc["index"] == index
        assert base64.b64decode(doc["leaf_hash"]) == leaf_hash(leaf)
        assert json.loads(leaf)["key"] == f"record:{index + 1}"
        proof_response = client.get(
            f"/ledger/v1/proof/inclusion?index={index}&size={checkpoint.size}")
        assert proof_response.headers["Cache-Control"] == IMMUTABLE
        proof = InclusionProof.from_json(proof_response.get_json())
        proof.verify(leaf_hash(leaf), checkpoint.root_hash)


def test_inclusion_proof_size_defaults_to_the_current_tree_and_is_not_cached(
        client: FlaskClient) -> None:
    response = client.get("/ledger/v1/proof/inclusion?index=1")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.get_json()["size"] == 3


def test_consistency_proof_links_an_older_checkpoint_to_a_newer_one(
        platform: Platform, channel: Channel, client: FlaskClient) -> None:
    older = fetch_verified_checkpoint(client).checkpoint
    anchor(platform, channel, "record:4", "record:5")
    newer = fetch_verified_checkpoint(client).checkpoint
    assert (older.size, newer.size) == (3, 5)
    response = client.get(f"/ledger/v1/proof/consistency?from={older.size}&to={newer.size}")
    assert response.headers["Cache-Control"] == IMMUTABLE
    proof = ConsistencyProof.from_json(response.get_json())
    proof.verify(older.root_hash, newer.root_hash)
    defaulted = client.get(f"/ledger/v1/proof/consistency?from={older.size}")
    assert defaulted.headers["Cache-Control"] == "no-cache"
    assert defaulted.get_json() == response.get_json()


def test_block_document_carries_the_orderer_signed_header_and_envelopes(
        client: FlaskClient) -> None:
    response = client.get("/ledger/v1/blocks/1")
    assert response.headers["Cache-Control"] == IMMUTABLE
    doc = response.get_json()
    header = canonical_json(doc["header"])
    assert doc["header"]["number"] == 1
    assert base64.b64decode(doc["hash"]) == sm3(header)
    assert len(doc["envelopes"]) == len(doc["header"]["codes"]) == 1
    orderer = Certificate.from_der(base64.b64decode(doc["signer"]))
    orderer.public_key().verify(base64.b64decode(doc["signature"]), header,
                                signer_id=IDENTITY_SIGNER_ID)


def test_status_reports_height_and_tree_size(client: FlaskClient) -> None:
    response = client.get("/ledger/v1/status")
    assert response.headers["Cache-Control"] == "no-cache"
    doc = response.get_json()
    assert (doc["channel"], doc["height"], doc["tree_size"]) == ("edutrust", 4, 3)


BEYOND_THE_LOG = [
    "/ledger/v1/leaves/3", "/ledger/v1/leaves/9223372036854775808",
    "/ledger/v1/leaves/18446744073709551615", "/ledger/v1/blocks/4",
    "/ledger/v1/blocks/9223372036854775807", "/ledger/v1/proof/inclusion?index=1&size=4",
    "/ledger/v1/proof/consistency?from=1&to=18446744073709551615",
]
MALFORMED_NUMBERS = [
    "/ledger/v1/leaves/-1", "/ledger/v1/leaves/abc", "/ledger/v1/leaves/1.5",
    "/ledger/v1/leaves/%2B1", "/ledger/v1/leaves/%201", "/ledger/v1/leaves/%D9%A1",
    "/ledger/v1/leaves/18446744073709551616", "/ledger/v1/blocks/x",
    "/ledger/v1/proof/inclusion", "/ledger/v1/proof/inclusion?index=",
    "/ledger/v1/proof/inclusion?index=one&size=3", "/ledger/v1/proof/inclusion?index=0&size=-3",
    "/ledger/v1/proof/inclusion?index=0&size=3_0", "/ledger/v1/proof/consistency?to=3",
    "/ledger/v1/proof/consistency?from=1e3&to=3",
]
CONTRADICTORY_RANGES = [
    "/ledger/v1/proof/inclusion?index=3&size=3", "/ledger/v1/proof/inclusion?index=0&size=0",
    "/ledger/v1/proof/inclusion?index=5", "/ledger/v1/proof/consistency?from=3&to=2",
]


def test_anything_beyond_the_log_is_a_404_problem(client: FlaskClient) -> None:
    for path in BEYOND_THE_LOG:
        body = assert_problem(client.get(path, headers={"Accept-Language": "en"}), 404,
                              "ledger-beyond-log")
        assert "3 leaves in 4 blocks" in str(body["detail"]), path


def test_malformed_numbers_are_400_problems(client: FlaskClient) -> None:
    for path in MALFORMED_NUMBERS:
        assert_problem(client.get(path), 400, "ledger-parameter")


def test_self_contradictory_ranges_are_400_problems(client: FlaskClient) -> None:
    for path in CONTRADICTORY_RANGES:
        assert_problem(client.get(path), 400, "ledger-range")


def test_problems_speak_the_request_language(client: FlaskClient) -> None:
    zh = client.get("/ledger/v1/leaves/7", headers={"Accept-Language": "zh-CN"}).get_json()
    en = client.get("/ledger/v1/leaves/7?ui_locales=en").get_json()
    assert (zh["title"], en["title"]) == ("超出账本范围", "Beyond the log")


def test_the_api_is_read_only(client: FlaskClient) -> None:
    assert_problem(client.post("/ledger/v1/checkpoint"), 405, "method-not-allowed",
                   cache=None)


def test_blueprint_answers_503_while_the_ledger_cannot_be_opened() -> None:
    def unopened() -> Channel:
        raise LedgerError("the ledger is not initialised")

    def problem(status: int, slug: str, **values: object) -> Response:
        response = Response(json.dumps({"status": status, "slug": slug}), status=status,
                            content_type=PROBLEM)
        return response

    app = Flask("ledger-only")
    app.register_blueprint(ledger_blueprint(unopened, problem))
    response = app.test_client().get("/ledger/v1/checkpoint")
    assert response.status_code == 503
    assert response.get_json(force=True)["slug"] == "ledger_unavailable"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_verifier_checks_checkpoint_leaf_and_proof_from_the_running_server(
        platform: Platform, live_server: LiveServer) -> None:
    channel = open_channel(platform)
    try:
        anchor(platform, channel, "archive:A", "archive:B")
    finally:
        channel.close()

    def get(path: str) -> bytes:
        with urllib.request.urlopen(live_server.base_url + path, timeout=10) as response:
            return bytes(response.read())

    log_key, policy = pinned_keys(get("/ledger/v1/keys").decode())
    checkpoint = verify_checkpoint(get("/ledger/v1/checkpoint"), log_key,
                                   policy=policy).checkpoint
    assert checkpoint.size == 2
    leaf = base64.b64decode(json.loads(get("/ledger/v1/leaves/1"))["leaf"])
    assert json.loads(leaf)["key"] == "archive:B"
    proof = InclusionProof.from_json(json.loads(
        get(f"/ledger/v1/proof/inclusion?index=1&size={checkpoint.size}")))
    proof.verify(leaf_hash(leaf), checkpoint.root_hash)
