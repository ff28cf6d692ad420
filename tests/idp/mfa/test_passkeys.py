"""Passkey ceremonies against a software authenticator: registration and sign-in, and
every way a response can be wrong (origin, RP ID, challenge, user verification, signature
counter, removed credential, attestation)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from edutrust.platform import Platform, initialise
from edutrust.settings import Settings
from idp.directory.service import Directory
from idp.mfa.acr import ACR_PHR, combine_amr, satisfies
from idp.shortlived import InProcessStore, RedisStore
from idp.webauthn import (
    CeremonyExpired,
    CounterRegression,
    PasskeyError,
    UnknownCredential,
    VerificationFailed,
)
from idp.webauthn.ceremonies import PasskeyAssertion, Passkeys, RelyingParty
from idp.webauthn.challenges import DatabaseChallenges, challenge_store
from idp.webauthn.factor import passkey_methods
from idp.webauthn.models import PasskeyCredential
from tests.conftest import REDIS_URL, cli_env, run_cli, scratch_database
from tests.idp.mfa.passkey_authenticator import (
    AttestationCA,
    SoftAuthenticator,
    b64url,
    unb64url,
)

ORIGIN = "http://localhost:8000"
SCHOOL = "4101990002"
BUREAU = "410100"


@dataclass
class World:
    platform: Platform
    passkeys: Passkeys
    directory: Directory
    alice: str          # person ids, fresh for every test
    bob: str
    alice_name: str
    events: list[tuple[str, str | None, dict[str, Any]]]


@pytest.fixture(scope="module")
def shared_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """One database for the module (a fresh PostgreSQL schema when configured); each
    test makes its own people, so tests stay independent."""
    tmp = tmp_path_factory.mktemp("passkeys")
    with scratch_database(tmp) as url:
        yield from _shared_platform(tmp, url)


def _shared_platform(tmp: Path, url: str) -> Iterator[Platform]:
    settings = Settings(home=tmp / "home", database_url=url, redis_url=None,
                        issuer=ORIGIN, master_key_b64=None, lang="en", log_level="WARNING")
    platform = initialise(settings, lambda key, **values: None)
    directory = Directory(platform.sessions, platform.fields)
    directory.create_organisation("410000", "河南省", "province")
    directory.create_organisation(BUREAU, "郑州市", "city", parent_code="410000")
    directory.create_organisation(SCHOOL, "测试中学", "school", parent_code=BUREAU)
    try:
        yield platform
    finally:
        platform.engine.dispose()


@pytest.fixture
def world(shared_platform: Platform) -> Iterator[World]:
    platform = shared_platform
    directory = Directory(platform.sessions, platform.fields)
    tag = uuid.uuid4().hex[:8]
    alice = directory.create_person(f"alice{tag}", "Alice Zhang", password="Correct-Horse-42")
    bob = directory.create_person(f"bob{tag}", "Bob Li", password="Correct-Horse-42")
    directory.add_membership(alice.id, SCHOOL, "teacher")
    events: list[tuple[str, str | None, dict[str, Any]]] = []
    # What the server uses: Redis when configured, else the database.
    store = challenge_store(RedisStore.from_url(REDIS_URL) if REDIS_URL else InProcessStore(),
                            platform.sessions)
    def decoy(username: str) -> str:
        return platform.fields.blind_index(username, "passkey-decoy")

    passkeys = Passkeys(platform.sessions, store, RelyingParty.for_issuer(ORIGIN), decoy,
                        lambda event, person, details: events.append((event, person, details)))
    yield World(platform, passkeys, directory, alice.id, bob.id, alice.username, events)
    bureau = directory.find_organisation(BUREAU)
    assert bureau is not None
    passkeys.set_org_attestation(bureau.id, "none")


def register(world: World, authenticator: SoftAuthenticator, person: str | None = None,
             session: str = "s1", name: str = "My phone", **create: Any) -> str:
    person = person or world.alice
    options = json.loads(world.passkeys.registration_options(person, session))
    info = world.passkeys.register(person, session, authenticator.create(options, **create),
                                   name)
    return info.id


def sign_in(world: World, authenticator: SoftAuthenticator, session: str = "s2", *,
            username: str | None = None, **get: Any) -> PasskeyAssertion:
    options = json.loads(world.passkeys.authentication_options(session, username=username))
    return world.passkeys.authenticate(session, authenticator.get(options, **get))


# -- registration ----------------------------------------------------------------------

def test_registration_options_ask_for_a_discoverable_verified_credential(world: World) -> None:
    options = json.loads(world.passkeys.registration_options(world.alice, "s1"))
    assert options["rp"] == {"id": "localhost", "name": "EduTrust"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert len(unb64url(options["challenge"])) == 32
    # The user handle is random, not the person id.
    assert unb64url(options["user"]["id"]) != world.alice.encode()
    assert options["user"]["name"] == world.alice_name


def test_a_registered_passkey_signs_its_owner_in(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    passkey_id = register(world, phone)
    [info] = world.passkeys.passkeys_of(world.alice)
    assert (info.id, info.name, info.attestation_format) == (passkey_id, "My phone", "none")
    assert info.transports == ("internal",)
    assert info.last_used_at is None
    assert world.events[-1][:2] == ("factor.added", world.alice)

    assertion = sign_in(world, phone, username=world.alice_name)
    assert (assertion.person_id, assertion.passkey_id) == (world.alice, passkey_id)
    assert assertion.user_verified and not assertion.backup_eligible
    assert world.passkeys.passkeys_of(world.alice)[0].last_used_at is not None


def test_username_less_sign_in_finds_the_person_from_the_credential(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    register(world, phone)
    options = json.loads(world.passkeys.authentication_options("s2"))
    assert options.get("allowCredentials", []) == []
    assert options["userVerification"] == "required"
    assertion = world.passkeys.authenticate("s2", phone.get(options))
    assert assertion.person_id == world.alice


def test_several_passkeys_per_person_with_names_and_one_user_handle(world: World) -> None:
    phone, key = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    register(world, phone, name="Phone")
    options = json.loads(world.passkeys.registration_options(world.alice, "s1"))
    # The second registration excludes the first credential and keeps the user handle.
    assert len(options["excludeCredentials"]) == 1
    world.passkeys.register(world.alice, "s1", key.create(options), "  Security\nkey  ")
    names = [p.name for p in world.passkeys.passkeys_of(world.alice)]
    assert names == ["Phone", "Securitykey"]
    with world.platform.sessions() as session:
        handles = set(session.scalars(select(PasskeyCredential.user_handle).where(
            PasskeyCredential.person_id == world.alice)))
    assert len(handles) == 1


def test_registration_from_another_origin_is_refused(world: World) -> None:
    with pytest.raises(VerificationFailed):
        register(world, SoftAuthenticator("https://edutrust.example.net"))
    assert world.passkeys.passkeys_of(world.alice) == []


def test_registration_for_another_rp_id_is_refused(world: World) -> None:
    with pytest.raises(VerificationFailed):
        register(world, SoftAuthenticator(ORIGIN), rp_id="evil.example")


def test_registration_without_user_verification_is_refused(world: World) -> None:
    with pytest.raises(VerificationFailed):
        register(world, SoftAuthenticator(ORIGIN), user_verified=False)


def test_registration_challenge_works_once_and_only_in_its_browser_session(
        world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    options = json.loads(world.passkeys.registration_options(world.alice, "s1"))
    answer = phone.create(options)
    with pytest.raises(CeremonyExpired):
        world.passkeys.register(world.alice, "another-session", answer, "x")
    # A failed attempt used the challenge up too? No: it was looked up under the other
    # session and never found, so the right session still has it exactly once.
    world.passkeys.register(world.alice, "s1", answer, "x")
    with pytest.raises(CeremonyExpired):
        world.passkeys.register(world.alice, "s1", phone.create(options), "again")


def test_registration_answer_cannot_be_used_for_someone_else(world: World) -> None:
    options = json.loads(world.passkeys.registration_options(world.alice, "s1"))
    with pytest.raises(CeremonyExpired):
        world.passkeys.register(world.bob, "s1", SoftAuthenticator(ORIGIN).create(options), "x")


def test_made_up_challenge_is_refused(world: World) -> None:
    options = json.loads(world.passkeys.registration_options(world.alice, "s1"))
    with pytest.raises(CeremonyExpired):
        world.passkeys.register(world.alice, "s1", SoftAuthenticator(ORIGIN).create(
            options, challenge="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "x")


def test_garbage_responses_are_refused_cleanly(world: World) -> None:
    world.passkeys.registration_options(world.alice, "s1")
    for garbage in ({}, {"response": "x"}, {"response": {"clientDataJSON": "%%%"}},
                    {"response": {"clientDataJSON": "e30"}}):
        with pytest.raises(PasskeyError):
            world.passkeys.register(world.alice, "s1", garbage, "x")
        with pytest.raises(PasskeyError):
            world.passkeys.authenticate("s1", garbage)


# -- authentication --------------------------------------------------------------------

def test_assertion_from_another_origin_is_refused(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    register(world, phone)
    with pytest.raises(VerificationFailed):
        sign_in(world, phone, origin="https://login.edutrust.example.net")


def test_assertion_with_a_wrong_rp_id_hash_is_refused(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    register(world, phone)
    with pytest.raises(VerificationFailed):
        sign_in(world, phone, rp_id="evil.example")


def test_assertion_without_user_verification_is_refused(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    register(world, phone)
    with pytest.raises(VerificationFailed):
        sign_in(world, phone, user_verified=False)


def test_replayed_assertion_is_refused(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    register(world, phone)
    options = json.loads(world.passkeys.authentication_options("s2"))
    answer = phone.get(options)
    world.passkeys.authenticate("s2", answer)
    with pytest.raises(CeremonyExpired):
        world.passkeys.authenticate("s2", answer)


def test_challenge_of_another_browser_session_is_refused(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    register(world, phone)
    options = json.loads(world.passkeys.authentication_options("victim"))
    with pytest.raises(CeremonyExpired):
        world.passkeys.authenticate("attacker", phone.get(options))


def test_expired_challenge_is_refused(world: World) -> None:
    clock = [0.0]
    passkeys = Passkeys(world.platform.sessions, InProcessStore(clock=lambda: clock[0]),
                        RelyingParty.for_issuer(ORIGIN), lambda name: name)
    phone = SoftAuthenticator(ORIGIN)
    options = json.loads(passkeys.registration_options(world.alice, "s1"))
    clock[0] += passkeys.rp.challenge_ttl + 1
    with pytest.raises(CeremonyExpired):
        passkeys.register(world.alice, "s1", phone.create(options), "x")


def test_counter_regression_refuses_and_flags_the_credential(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    passkey_id = register(world, phone)
    sign_in(world, phone, counter=5)
    with pytest.raises(CounterRegression) as caught:
        sign_in(world, phone, counter=3)
    assert caught.value.detected and caught.value.person_id == world.alice
    [info] = world.passkeys.passkeys_of(world.alice)
    assert info.possibly_cloned
    assert world.events[-1][0] == "passkey.counter_regression"
    assert world.events[-1][2] == {"passkey": passkey_id, "stored": 5, "received": 3}
    # From then on the credential is refused, even with a higher counter ...
    with pytest.raises(CounterRegression) as caught:
        sign_in(world, phone, counter=50)
    assert not caught.value.detected
    # ... and no longer offered for a username.
    options = json.loads(world.passkeys.authentication_options("s3", username=world.alice_name))
    assert unb64url(options["allowCredentials"][0]["id"]) not in phone.credentials


def test_equal_nonzero_counter_counts_as_regression(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    register(world, phone)
    sign_in(world, phone, counter=7)
    with pytest.raises(CounterRegression):
        sign_in(world, phone, counter=7)


def test_authenticators_without_a_counter_keep_working(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN, backup_eligible=True)
    register(world, phone)
    for _ in range(2):
        assert sign_in(world, phone, counter=0).backup_eligible


def test_a_forged_signature_does_not_flag_the_credential(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    register(world, phone)
    sign_in(world, phone, counter=5)
    options = json.loads(world.passkeys.authentication_options("s2"))
    answer = phone.get(options, counter=1)
    answer["response"]["signature"] = answer["response"]["signature"][:-4] + "AAAA"
    with pytest.raises(VerificationFailed):
        world.passkeys.authenticate("s2", answer)
    assert not world.passkeys.passkeys_of(world.alice)[0].possibly_cloned


def test_a_removed_passkey_is_refused(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    passkey_id = register(world, phone)
    assert not world.passkeys.remove(world.bob, passkey_id)   # not Bob's to remove
    assert world.passkeys.remove(world.alice, passkey_id)
    assert world.events[-1][:2] == ("factor.removed", world.alice)
    options = json.loads(world.passkeys.authentication_options("s2"))
    with pytest.raises(UnknownCredential):
        world.passkeys.authenticate("s2", phone.get(options))


def test_passkey_of_an_inactive_person_is_refused(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    register(world, phone)
    world.directory.update_person(world.alice, active=False)
    with pytest.raises(UnknownCredential):
        sign_in(world, phone)


def test_someone_elses_passkey_does_not_answer_for_a_username(world: World) -> None:
    alice_phone, bob_phone = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    register(world, alice_phone)
    register(world, bob_phone, person=world.bob)
    options = json.loads(world.passkeys.authentication_options("s2", username=world.alice_name))
    bob_cred = next(iter(bob_phone.credentials))
    with pytest.raises(UnknownCredential):
        world.passkeys.authenticate("s2", bob_phone.get(options, credential_id=bob_cred))


def test_user_handle_must_match_the_credential(world: World) -> None:
    alice_phone, bob_phone = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    register(world, alice_phone)
    register(world, bob_phone, person=world.bob)
    bob_handle = next(iter(bob_phone.credentials.values())).user_handle
    options = json.loads(world.passkeys.authentication_options("s2"))
    with pytest.raises(UnknownCredential):
        world.passkeys.authenticate("s2", alice_phone.get(options, user_handle=bob_handle))


def test_username_less_assertion_without_user_handle_is_refused(world: World) -> None:
    phone = SoftAuthenticator(ORIGIN)
    register(world, phone)
    options = json.loads(world.passkeys.authentication_options("s2"))
    with pytest.raises(VerificationFailed):
        world.passkeys.authenticate("s2", phone.get(options, with_user_handle=False))


def test_unknown_username_gets_a_stable_decoy_like_a_real_one(world: World) -> None:
    register(world, SoftAuthenticator(ORIGIN))

    def allowed(username: str) -> list[dict[str, Any]]:
        options = json.loads(world.passkeys.authentication_options("s", username=username))
        return list(options["allowCredentials"])

    assert len(allowed("nobody")) == len(allowed("bob")) == len(allowed(world.alice_name)) == 1
    # Same shape: an id and a type, no transports that could tell them apart.
    assert {tuple(sorted(allowed(name)[0])) for name in ("nobody", world.alice_name)} == {
        ("id", "type")}
    assert allowed("nobody") == allowed("nobody")
    assert allowed("nobody") != allowed("somebody")


def test_amr_of_passkey_logins(world: World) -> None:
    bound = PasskeyAssertion("p", "k", user_verified=True, backup_eligible=False)
    synced = PasskeyAssertion("p", "k", user_verified=True, backup_eligible=True)
    assert passkey_methods(bound) == ["hwk", "user"]
    assert passkey_methods(synced) == ["swk", "user"]
    assert combine_amr([], passkey_methods(bound)) == ["hwk", "user", "mfa"]
    assert combine_amr(["pwd"], passkey_methods(synced)) == ["pwd", "swk", "user", "mfa"]
    assert satisfies(combine_amr([], passkey_methods(bound)), ACR_PHR)


# -- attestation -----------------------------------------------------------------------

def require_direct(world: World, roots: str | None = None, org: str = BUREAU) -> None:
    found = world.directory.find_organisation(org)
    assert found is not None
    world.passkeys.set_org_attestation(found.id, "direct", roots)


def test_direct_attestation_is_asked_for_people_of_organisations_requiring_it(
        world: World) -> None:
    require_direct(world)   # the bureau's rule covers the school below it
    options = json.loads(world.passkeys.registration_options(world.alice, "s1"))
    assert options["attestation"] == "direct"
    assert json.loads(world.passkeys.registration_options(world.bob, "s1"))[
        "attestation"] == "none"


def test_direct_attestation_refuses_a_none_statement(world: World) -> None:
    require_direct(world)
    with pytest.raises(VerificationFailed) as caught:
        register(world, SoftAuthenticator(ORIGIN))
    assert caught.value.key == "passkey.attestation_required"


def test_direct_attestation_accepts_a_packed_self_attestation_and_stores_aaguid(
        world: World) -> None:
    require_direct(world)
    key = SoftAuthenticator(ORIGIN, aaguid=bytes.fromhex("ee882879721c491397753dfcce97072a"))
    register(world, key, attestation="packed-self")
    [info] = world.passkeys.passkeys_of(world.alice)
    assert info.attestation_format == "packed"
    assert info.aaguid == "ee882879-721c-4913-9775-3dfcce97072a"


def test_direct_attestation_with_trusted_roots_needs_a_chain_to_them(world: World) -> None:
    vendor, rogue = AttestationCA.create(), AttestationCA.create("Rogue Root")
    require_direct(world, vendor.pem())
    register(world, SoftAuthenticator(ORIGIN), attestation="packed", ca=vendor)
    with pytest.raises(VerificationFailed):
        register(world, SoftAuthenticator(ORIGIN), attestation="packed", ca=rogue)
    with pytest.raises(VerificationFailed) as caught:
        register(world, SoftAuthenticator(ORIGIN), attestation="packed-self")
    assert caught.value.key == "passkey.attestation_untrusted"
    assert len(world.passkeys.passkeys_of(world.alice)) == 1


def test_a_forged_packed_signature_is_refused(world: World) -> None:
    require_direct(world)
    options = json.loads(world.passkeys.registration_options(world.alice, "s1"))
    answer = SoftAuthenticator(ORIGIN).create(options, attestation="packed-self")
    # Re-sign the client data for another challenge: the statement no longer matches.
    import cbor2

    obj = cbor2.loads(unb64url(answer["response"]["attestationObject"]))
    obj["attStmt"]["sig"] = obj["attStmt"]["sig"][:-2] + b"\x00\x00"
    answer["response"]["attestationObject"] = b64url(cbor2.dumps(obj))
    with pytest.raises(VerificationFailed):
        world.passkeys.register(world.alice, "s1", answer, "x")


def test_bad_attestation_settings_are_refused(world: World) -> None:
    with pytest.raises(PasskeyError):
        world.passkeys.set_org_attestation("x", "enterprise")
    with pytest.raises(PasskeyError):
        world.passkeys.set_org_attestation("x", "direct", "not a certificate")


def test_operators_set_direct_attestation_from_the_command_line(
        platform: Platform, settings: Settings, tmp_path: Path) -> None:
    directory = Directory(platform.sessions, platform.fields)
    directory.create_organisation(SCHOOL, "测试中学", "school")
    person = directory.create_person("carol", "Carol", password="Correct-Horse-42")
    directory.add_membership(person.id, SCHOOL, "teacher")
    roots = tmp_path / "roots.pem"
    roots.write_text(AttestationCA.create().pem())
    done = run_cli("passkeys", "attestation", SCHOOL, "direct", "--roots", str(roots),
                   env=cli_env(settings))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"organisation": SCHOOL, "attestation": "direct",
                                       "root_certificates": 1}
    passkeys = Passkeys(platform.sessions, InProcessStore(), RelyingParty.for_issuer(ORIGIN),
                        lambda name: name)
    attestation, trusted = passkeys.attestation_for(person.id)
    assert attestation == "direct" and len(trusted) == 1
    unknown = run_cli("passkeys", "attestation", "4101999999", "direct", env=cli_env(settings))
    assert unknown.returncode == 2 and unknown.stderr.strip()


BROKEN = (None, 7, [], "", "A", "!!!!", "AAAA" * 50, b64url(os.urandom(37)))


def _broken(answer: dict[str, Any], where: str, name: str, value: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(answer))
    (copy["response"] if where == "response" else copy)[name] = value
    return copy


def _breakages(answer: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return ([("response", name, value) for name in answer["response"] for value in BROKEN]
            + [("top", name, value) for name in ("id", "rawId", "type")
               for value in (None, 7, "", "AAAA")])


def test_broken_responses_are_refused_with_a_passkey_error_only(world: World) -> None:
    """Every member of a fresh answer broken in turn: refused as a PasskeyError (or,
    for harmless members such as transports, accepted), never another exception."""
    phone = SoftAuthenticator(ORIGIN)
    template = phone.create(json.loads(world.passkeys.registration_options(world.alice,
                                                                           "s0")))
    for where, name, value in _breakages(template):
        if (where, name) == ("response", "clientDataJSON"):
            continue   # breaking it loses the challenge: covered by the expiry tests
        answer = phone.create(json.loads(world.passkeys.registration_options(world.bob,
                                                                             "s1")))
        try:
            world.passkeys.register(world.bob, "s1", _broken(answer, where, name, value), "x")
        except PasskeyError:
            continue
        assert (where, name) == ("response", "transports"), (where, name, value)
    register(world, phone)
    template = phone.get(json.loads(world.passkeys.authentication_options("s2")))
    for where, name, value in _breakages(template):
        answer = phone.get(json.loads(world.passkeys.authentication_options("s2")))
        with pytest.raises(PasskeyError):
            world.passkeys.authenticate("s2", _broken(answer, where, name, value))


def test_database_challenges_are_taken_once_and_expire(world: World) -> None:
    store = DatabaseChallenges(world.platform.sessions)
    store.put("webauthn:t1", "state", 60)
    store.put("webauthn:t1", "newer", 60)
    assert store.take("webauthn:t1") == "newer"
    assert store.take("webauthn:t1") is None
    store.put("webauthn:t2", "state", 1)
    with world.platform.engine.begin() as conn:
        conn.execute(text("UPDATE webauthn_ceremonies SET expires_at = :past "
                          "WHERE key = 'webauthn:t2'"),
                     {"past": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)})
    assert store.take("webauthn:t2") is None
    with pytest.raises(ValueError):
        store.put("webauthn:t3", "state", 0)


def test_of_concurrent_takers_of_a_database_challenge_exactly_one_wins(world: World) -> None:
    store = DatabaseChallenges(world.platform.sessions)
    store.put("webauthn:race", "state", 60)
    results: list[str | None] = []

    def take() -> None:
        for _ in range(50):
            try:
                results.append(store.take("webauthn:race"))
                return
            except OperationalError:   # SQLite: database is locked; try again
                time.sleep(0.01)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("state") == 1 and len(results) == 8


def test_challenges_wait_in_redis_when_configured_else_in_the_database(
        world: World) -> None:
    assert isinstance(challenge_store(InProcessStore(), world.platform.sessions),
                      DatabaseChallenges)
    redis_store = RedisStore(client=None)
    assert challenge_store(redis_store, world.platform.sessions) is redis_store
