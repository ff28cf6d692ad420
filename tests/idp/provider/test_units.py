"""The provider's parts without a server: key publication and rotation, client
registration rules, secret storage, pairwise subjects and login-session expiry."""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from crypto.jose import decode_jwt
from crypto.keys.software import FileKeyStore, SoftwareKeyProvider
from edutrust.database import make_engine, session_factory
from idp.db import IdpBase
from idp.oauth2 import ProviderError
from idp.oauth2.clients import ClientRegistration, ClientRegistry
from idp.oauth2.config import ProviderConfig
from idp.oauth2.models import OAuthClient
from idp.oauth2.platform_secrets import PlatformSecrets
from idp.oauth2.signing import SigningKeys
from idp.oidc.pairwise import PairwiseSubjects
from idp.web.sessions import SessionStore

CONFIG = ProviderConfig(issuer="https://id.example.edu.cn")


@pytest.fixture
def keys(tmp_path: Path) -> SoftwareKeyProvider:
    provider = SoftwareKeyProvider(FileKeyStore(tmp_path / "keys.json"), os.urandom(16))
    provider.ensure(CONFIG.sm2_key_id, "SM2")
    SigningKeys(provider, CONFIG).ensure()
    return provider


@pytest.fixture
def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'idp.db'}")
    IdpBase.metadata.create_all(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def registry(sessions, keys: SoftwareKeyProvider) -> ClientRegistry:  # type: ignore[no-untyped-def]
    return ClientRegistry(sessions, CONFIG, PlatformSecrets(keys, CONFIG.secrets_key_id))


def test_jwks_publishes_current_and_recently_retired_key_versions(
        keys: SoftwareKeyProvider) -> None:
    now = [100.0]
    signing = SigningKeys(keys, CONFIG, clock=lambda: now[0])
    before = signing.sign({"sub": "x", "exp": 4_000_000_000}, alg="SM2")
    keys.rotate(CONFIG.sm2_key_id)
    kids = {key.kid for key in signing.jwks()}
    assert {"platform-signing.v1", "platform-signing.v2", "oidc-es256.v1",
            "oidc-rs256.v1"} == kids
    decode_jwt(before, signing.jwks(), algorithms=["SM2"])  # old tokens still verify
    # A worker keeps its signing key handle for signing_key_recheck, then follows.
    kept = signing.sign({"sub": "x", "exp": 4_000_000_000}, alg="SM2")
    assert '"platform-signing.v1"' in base64.urlsafe_b64decode(
        kept.split(".")[0] + "==").decode()
    now[0] += CONFIG.signing_key_recheck.total_seconds()
    after = signing.sign({"sub": "x", "exp": 4_000_000_000}, alg="SM2")
    header = base64.urlsafe_b64decode(after.split(".")[0] + "==").decode()
    assert '"platform-signing.v2"' in header
    later = dt.datetime.now(dt.UTC) + CONFIG.retired_key_publication + dt.timedelta(minutes=1)
    assert "platform-signing.v1" not in {key.kid for key in signing.jwks(later)}


def test_verification_keys_are_cached_but_reread_for_an_unknown_kid(
        keys: SoftwareKeyProvider) -> None:
    now = [100.0]
    signing = SigningKeys(keys, CONFIG, clock=lambda: now[0])
    assert "oidc-es256.v2" not in {key.kid for key in signing.verification_keys()}
    keys.rotate(CONFIG.es256_key_id)
    assert "oidc-es256.v2" not in {key.kid for key in signing.verification_keys()}
    # A token under the new version makes the worker look again at once.
    assert "oidc-es256.v2" in {key.kid for key in signing.verification_keys("oidc-es256.v2")}
    now[0] += CONFIG.signing_key_recheck.total_seconds()
    assert "oidc-es256.v2" in {key.kid for key in signing.verification_keys()}


@pytest.mark.parametrize("alg", ["SM2", "ES256", "RS256"])
def test_signed_tokens_verify_against_the_published_set(keys: SoftwareKeyProvider,
                                                        alg: str) -> None:
    signing = SigningKeys(keys, CONFIG)
    token = signing.sign({"sub": "s", "exp": 4_000_000_000}, alg=alg, typ="at+jwt")
    assert decode_jwt(token, signing.jwks(), algorithms=[alg], typ="at+jwt")["sub"] == "s"


@pytest.mark.parametrize(("registration", "key"), [
    (ClientRegistration("x", ("client_credentials",), public=True),
     "clients.public_client_credentials"),
    (ClientRegistration("x", ("refresh_token",)), "clients.refresh_needs_code"),
    (ClientRegistration("x", ("authorization_code",)), "clients.redirect_required"),
    (ClientRegistration("x", ("authorization_code",), ("http://rp.example/cb",)),
     "clients.bad_redirect_uri"),
    (ClientRegistration("x", ("authorization_code",), ("https://rp.example/cb#f",)),
     "clients.bad_redirect_uri"),
    (ClientRegistration("x", ("authorization_code",), ("com.example.app:/cb",)),
     "clients.bad_redirect_uri"),
    (ClientRegistration("x", ("authorization_code",), ("javascript:alert(1)",), public=True),
     "clients.bad_redirect_uri"),
    (ClientRegistration("x", ("authorization_code",), ("https://rp.example/cb",),
                        scopes=("openid", "admin")), "clients.bad_scope"),
    (ClientRegistration("x", ("authorization_code",), ("https://rp.example/cb",),
                        id_token_alg="HS256"), "clients.bad_alg"),
    (ClientRegistration("x", ("implicit",), ("https://rp.example/cb",)), "clients.bad_grant"),
    (ClientRegistration(" ", ("client_credentials",)), "clients.bad_name"),
])
def test_registration_rules(registry: ClientRegistry, registration: ClientRegistration,
                            key: str) -> None:
    with pytest.raises(ProviderError) as caught:
        registry.register(registration)
    assert caught.value.key == key


def test_loopback_http_and_native_schemes_are_allowed_where_rfc_8252_says(
        registry: ClientRegistry) -> None:
    registry.register(ClientRegistration("cli", ("authorization_code",),
                                         ("http://127.0.0.1:8400/cb", "http://localhost/cb")))
    native, secret = registry.register(ClientRegistration(
        "app", ("authorization_code",), ("com.example.app:/cb",), public=True))
    assert secret is None and native.require_pkce and native.is_public


def test_client_secret_is_stored_only_as_an_hmac_tag(registry: ClientRegistry,
                                                     sessions) -> None:  # type: ignore[no-untyped-def]
    client, secret = registry.register(ClientRegistration(
        "rp", ("client_credentials",)))
    assert secret is not None and len(secret) >= 40
    with sessions() as session:
        row = session.scalar(select(OAuthClient).where(OAuthClient.client_id == client.client_id))
    assert row is not None and row.secret_hash is not None
    assert secret not in row.secret_hash and row.secret_hash.startswith("hmac-sm3$")
    found = registry.find(client.client_id)
    assert found is not None and found.check_client_secret(secret)
    assert not found.check_client_secret(secret[:-1] + ("A" if secret[-1] != "A" else "B"))


def test_sector_is_the_shared_redirect_host_else_the_client_id(
        registry: ClientRegistry) -> None:
    one, _ = registry.register(ClientRegistration(
        "a", ("authorization_code",), ("https://rp.example/cb", "https://rp.example/cb2")))
    two, _ = registry.register(ClientRegistration(
        "b", ("authorization_code",), ("https://a.example/cb", "https://b.example/cb")))
    assert one.sector_identifier == "rp.example"
    assert two.sector_identifier == two.client_id


def test_pairwise_subject_is_stable_per_sector_and_public_subject_is_the_id(
        registry: ClientRegistry, keys: SoftwareKeyProvider) -> None:
    subjects = PairwiseSubjects(PlatformSecrets(keys, CONFIG.secrets_key_id))
    a1, _ = registry.register(ClientRegistration("a1", ("authorization_code",),
                                                 ("https://a.example/1",)))
    a2, _ = registry.register(ClientRegistration("a2", ("authorization_code",),
                                                 ("https://a.example/2",)))
    b, _ = registry.register(ClientRegistration("b", ("authorization_code",),
                                                ("https://b.example/1",)))
    public, _ = registry.register(ClientRegistration("p", ("authorization_code",),
                                                     ("https://c.example/1",),
                                                     subject_type="public"))
    person = "0190c3a0-0000-7000-8000-000000000001"
    assert subjects.subject(a1, person) == subjects.subject(a2, person)
    assert subjects.subject(a1, person) != subjects.subject(b, person)
    assert person not in subjects.subject(a1, person)
    assert subjects.subject(public, person) == person


def test_login_session_expires_when_idle_and_login_replaces_it(sessions) -> None:  # type: ignore[no-untyped-def]
    store = SessionStore(sessions, dt.timedelta(seconds=0), dt.timedelta(hours=1))
    browser = store.start()
    assert browser.cookie_value and store.load(browser.cookie_value) is None  # idle at once
    lasting = SessionStore(sessions, dt.timedelta(hours=1), dt.timedelta(hours=1))
    anonymous = lasting.start()
    interaction = anonymous.add_pending({"client_id": "c"})
    lasting.save(anonymous)
    logged_in = lasting.login(lasting.load(anonymous.cookie_value), "person-1", ["pwd"])
    assert lasting.load(anonymous.cookie_value) is None
    loaded = lasting.load(logged_in.cookie_value)
    assert loaded is not None and loaded.person_id == "person-1"
    assert interaction in loaded.pending() and loaded.csrf_token != anonymous.csrf_token
