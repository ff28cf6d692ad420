"""``private_key_jwt`` client authentication (RFC 7523, OIDC Core 9) against the live
server: SM2 and ES256 client keys, at the token, introspection and revocation endpoints,
and every assertion an attacker might try instead."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from authlib.common.urls import add_params_to_qs
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749 import InvalidClientError
from cryptography.hazmat.primitives.asymmetric import ec

from crypto.jose import JWK, HMACSecret, b64url_encode, encode_jwt, private_jwk
from crypto.sm2 import SM2PrivateKey
from idp.oauth2 import ProviderError
from idp.oauth2.clients import RegisteredClient
from idp.oauth2.rfc7523 import ASSERTION_TYPE, ClientAssertionAuthentication
from idp.shortlived import InProcessStore
from tests.conftest import REDIS_URL, cli_env, run_cli
from tests.idp.provider.conftest import Browser, LiveIdp, query_of

REDIRECT = "https://rp.example/cb"


@dataclass
class ClientKey:
    """A relying party's signing key and the assertions it makes with it."""

    private: Any
    alg: str
    kid: str

    @classmethod
    def generate(cls, alg: str) -> ClientKey:
        private = (SM2PrivateKey.generate() if alg == "SM2"
                   else ec.generate_private_key(ec.SECP256R1()))
        return cls(private, alg, "rp-" + uuid.uuid4().hex[:8])

    def jwks(self) -> dict[str, Any]:
        return {"keys": [JWK.from_key(self.private, kid=self.kid).to_dict()]}

    def assertion(self, client_id: str, audience: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": client_id, "sub": client_id, "aud": audience,
                  "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + 60}
        claims.update(overrides)
        return encode_jwt({k: v for k, v in claims.items() if v is not None}, self.private,
                          alg=self.alg, kid=self.kid)

    def form(self, client_id: str, audience: str, **overrides: Any) -> dict[str, str]:
        return {"client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.assertion(client_id, audience, **overrides)}

    def session_auth(self, client_id: str, audience: str) -> Any:
        """An Authlib client-auth function that adds a fresh assertion to the body."""
        def sign(_auth: Any, method: str, uri: str, headers: dict[str, str],
                 body: str) -> tuple[str, dict[str, str], str]:
            return uri, headers, add_params_to_qs(body or "",
                                                  list(self.form(client_id, audience).items()))
        return sign


def register_with_key(idp: LiveIdp, key: ClientKey, **overrides: Any) -> RegisteredClient:
    client, secret = idp.register(token_endpoint_auth_method="private_key_jwt",
                                  jwks=key.jwks(), id_token_alg="SM2",
                                  grant_types=("authorization_code", "refresh_token",
                                               "client_credentials"), **overrides)
    assert secret is None  # a key instead of a secret
    return client


def rp_session(idp: LiveIdp, client: RegisteredClient, key: ClientKey) -> OAuth2Session:
    rp = OAuth2Session(client.client_id, None, scope="openid profile", redirect_uri=REDIRECT,
                       code_challenge_method="S256",
                       token_endpoint_auth_method="private_key_jwt")
    rp.register_client_auth_method(("private_key_jwt",
                                    key.session_auth(client.client_id,
                                                     idp.url("/oauth2/token"))))
    return rp


def token_request(idp: LiveIdp, form: dict[str, str]) -> requests.Response:
    return requests.post(idp.url("/oauth2/token"), timeout=10,
                         data={"grant_type": "client_credentials", "scope": "openid", **form})


@pytest.fixture(scope="module")
def sm2_client(live_idp: LiveIdp) -> tuple[RegisteredClient, ClientKey]:
    key = ClientKey.generate("SM2")
    return register_with_key(live_idp, key), key


@pytest.mark.parametrize("alg", ["SM2", "ES256"])
def test_code_flow_authenticates_with_a_signed_assertion(live_idp: LiveIdp, alg: str) -> None:
    key = ClientKey.generate(alg)
    client = register_with_key(live_idp, key)
    rp = rp_session(live_idp, client, key)
    verifier = secrets.token_urlsafe(48)
    url, _state = rp.create_authorization_url(live_idp.url("/oauth2/authorize"),
                                              code_verifier=verifier)
    callback = Browser(live_idp.base).authorize(url, REDIRECT)
    assert "code" in query_of(callback)
    token = rp.fetch_token(live_idp.url("/oauth2/token"), authorization_response=callback,
                           code_verifier=verifier)
    assert token["access_token"] and token["id_token"]
    renewed = rp.refresh_token(live_idp.url("/oauth2/token"),
                               refresh_token=token["refresh_token"])
    assert renewed["access_token"] != token["access_token"]


def test_introspection_and_revocation_accept_assertions(
        live_idp: LiveIdp, sm2_client: tuple[RegisteredClient, ClientKey]) -> None:
    client, key = sm2_client
    issued = token_request(live_idp, key.form(client.client_id, live_idp.url("/oauth2/token")))
    assert issued.status_code == 200, issued.text
    access = issued.json()["access_token"]
    # The issuer identifier is an accepted audience too (RFC 9126 2).
    seen = requests.post(live_idp.url("/oauth2/introspect"), timeout=10, data={
        "token": access, **key.form(client.client_id, live_idp.base)})
    assert seen.status_code == 200 and seen.json()["active"] is True
    revoked = requests.post(live_idp.url("/oauth2/revoke"), timeout=10, data={
        "token": access, **key.form(client.client_id, live_idp.base)})
    assert revoked.status_code == 200
    after = requests.post(live_idp.url("/oauth2/introspect"), timeout=10, data={
        "token": access, **key.form(client.client_id, live_idp.base)})
    assert after.json() == {"active": False}


def test_discovery_advertises_private_key_jwt(live_idp: LiveIdp) -> None:
    document = requests.get(live_idp.url("/.well-known/openid-configuration"),
                            timeout=10).json()
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert set(document["token_endpoint_auth_signing_alg_values_supported"]) == {
        "SM2", "ES256", "RS256"}


@pytest.mark.skipif(not REDIS_URL, reason="the per-process replay cache is not shared by "
                    "the live server's two workers; the unit test below covers it")
def test_replayed_assertion_is_refused_by_the_live_server(
        live_idp: LiveIdp, sm2_client: tuple[RegisteredClient, ClientKey]) -> None:
    client, key = sm2_client
    form = key.form(client.client_id, live_idp.url("/oauth2/token"))
    assert token_request(live_idp, form).status_code == 200
    replay = token_request(live_idp, form)
    assert replay.status_code in (400, 401) and replay.json()["error"] == "invalid_client"


def test_replayed_assertion_jti_is_refused() -> None:
    key = ClientKey.generate("SM2")
    audience = "https://idp.example/oauth2/token"
    check = ClientAssertionAuthentication([audience], InProcessStore())
    assertion = key.assertion("rp-1", audience)
    check.verify(assertion, "rp-1", key.jwks())
    with pytest.raises(InvalidClientError):
        check.verify(assertion, "rp-1", key.jwks())
    # A new jti from the same client is fine.
    check.verify(key.assertion("rp-1", audience), "rp-1", key.jwks())


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    return ".".join(b64url_encode(json.dumps(part).encode()) for part in (header, claims)) + "."


def _refused(idp: LiveIdp, form: dict[str, str]) -> None:
    response = token_request(idp, form)
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] == "invalid_client"


def test_assertion_with_alg_none_is_refused(
        live_idp: LiveIdp, sm2_client: tuple[RegisteredClient, ClientKey]) -> None:
    client, _key = sm2_client
    now = int(time.time())
    token = _unsigned({"iss": client.client_id, "sub": client.client_id,
                       "aud": live_idp.url("/oauth2/token"), "jti": uuid.uuid4().hex,
                       "exp": now + 60}, {"alg": "none"})
    _refused(live_idp, {"client_assertion_type": ASSERTION_TYPE, "client_assertion": token})


def test_assertion_hmac_signed_with_the_public_key_is_refused(live_idp: LiveIdp) -> None:
    key = ClientKey.generate("ES256")
    client = register_with_key(live_idp, key)
    public_jwk = key.jwks()["keys"][0]
    # The classic confusion attack: HS256 keyed with the public key everybody knows.
    secret = HMACSecret((public_jwk["x"] + public_jwk["y"]).encode())
    now = int(time.time())
    token = encode_jwt({"iss": client.client_id, "sub": client.client_id,
                        "aud": live_idp.url("/oauth2/token"), "jti": uuid.uuid4().hex,
                        "exp": now + 60}, secret, alg="HS256", kid=key.kid)
    _refused(live_idp, {"client_assertion_type": ASSERTION_TYPE, "client_assertion": token})


def test_assertion_for_another_audience_is_refused(
        live_idp: LiveIdp, sm2_client: tuple[RegisteredClient, ClientKey]) -> None:
    client, key = sm2_client
    _refused(live_idp, key.form(client.client_id, "https://other-idp.example/token"))


def test_expired_assertion_is_refused(
        live_idp: LiveIdp, sm2_client: tuple[RegisteredClient, ClientKey]) -> None:
    client, key = sm2_client
    now = int(time.time())
    _refused(live_idp, key.form(client.client_id, live_idp.url("/oauth2/token"),
                                iat=now - 600, exp=now - 300))


def test_assertion_living_longer_than_five_minutes_is_refused(
        live_idp: LiveIdp, sm2_client: tuple[RegisteredClient, ClientKey]) -> None:
    client, key = sm2_client
    _refused(live_idp, key.form(client.client_id, live_idp.url("/oauth2/token"),
                                exp=int(time.time()) + 3600))


def test_assertion_without_jti_is_refused(
        live_idp: LiveIdp, sm2_client: tuple[RegisteredClient, ClientKey]) -> None:
    client, key = sm2_client
    _refused(live_idp, key.form(client.client_id, live_idp.url("/oauth2/token"), jti=None))


def test_assertion_signed_by_an_unregistered_key_is_refused(
        live_idp: LiveIdp, sm2_client: tuple[RegisteredClient, ClientKey]) -> None:
    client, key = sm2_client
    stranger = ClientKey(SM2PrivateKey.generate(), "SM2", key.kid)  # same kid, other key
    _refused(live_idp, stranger.form(client.client_id, live_idp.url("/oauth2/token")))


def test_assertion_whose_subject_is_another_client_is_refused(
        live_idp: LiveIdp, sm2_client: tuple[RegisteredClient, ClientKey]) -> None:
    client, key = sm2_client
    _refused(live_idp, key.form(client.client_id, live_idp.url("/oauth2/token"),
                                sub="someone-else"))


def test_secret_client_cannot_use_an_assertion_and_key_client_cannot_use_a_secret(
        live_idp: LiveIdp, sm2_client: tuple[RegisteredClient, ClientKey]) -> None:
    key_client, _key = sm2_client
    secret_client, secret = live_idp.register(
        grant_types=("client_credentials",), redirect_uris=())
    attacker_key = ClientKey.generate("SM2")
    _refused(live_idp, attacker_key.form(secret_client.client_id,
                                         live_idp.url("/oauth2/token")))
    by_secret = token_request(live_idp, {"client_id": key_client.client_id,
                                         "client_secret": "guess"})
    assert by_secret.status_code in (400, 401) and secret


def test_registration_needs_a_valid_public_jwk_set(live_idp: LiveIdp) -> None:
    with pytest.raises(ProviderError) as missing:
        live_idp.register(token_endpoint_auth_method="private_key_jwt")
    assert missing.value.key == "clients.bad_jwks"
    private = ClientKey.generate("ES256")
    with pytest.raises(ProviderError):
        live_idp.register(token_endpoint_auth_method="private_key_jwt",
                          jwks={"keys": [private_jwk(private.private)]})


def test_cli_registers_a_key_client_that_requires_par(live_idp: LiveIdp, tmp_path: Any) -> None:
    key = ClientKey.generate("SM2")
    jwks_file = tmp_path / "rp-keys.json"
    jwks_file.write_text(json.dumps(key.jwks()), encoding="utf-8")
    env = cli_env(live_idp.settings, EDUTRUST_ISSUER=live_idp.base)
    result = run_cli("clients", "create", "--name", "Key RP", "--grant",
                     "authorization_code", "--redirect-uri", REDIRECT, "--auth-method",
                     "private_key_jwt", "--jwks", str(jwks_file), "--require-par", env=env)
    assert result.returncode == 0, result.stderr.decode()
    document = json.loads(result.stdout)
    assert "client_secret" not in document
    assert document["token_endpoint_auth_method"] == "private_key_jwt"
    assert document["require_pushed_authorization_requests"] is True
    client = live_idp.provider.clients.find(document["client_id"])
    assert client is not None and client.require_par and client.jwks == key.jwks()
    missing = run_cli("clients", "create", "--name", "No keys", "--grant",
                      "client_credentials", "--auth-method", "private_key_jwt", env=env)
    assert missing.returncode == 2 and missing.stdout == b""
