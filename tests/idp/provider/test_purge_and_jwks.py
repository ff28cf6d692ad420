"""Housekeeping of the provider: the purge of expired codes, tokens, pushed requests and
login sessions (core, ``edutrust idp purge``, the per-worker schedule), and the cached
JWKS with its ETag and Cache-Control, which must follow ``edutrust keys rotate``."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import requests
from sqlalchemy import select

from edutrust.platform import Platform
from idp.oauth2.clients import ClientRegistration
from idp.oauth2.config import ProviderConfig
from idp.oauth2.models import AuthorizationCode, IssuedToken, RevokedAccessToken
from idp.oauth2.purge import PurgeSchedule, purge_expired
from idp.oauth2.rfc9126 import PushedAuthorizationRequest
from idp.oauth2.server import open_provider
from idp.web.sessions import LoginSession
from tests.conftest import cli_env, run_cli
from tests.idp.provider.conftest import LiveIdp


def _code(client_id: str, person_id: str, expires: dt.datetime) -> AuthorizationCode:
    return AuthorizationCode(
        id=str(uuid.uuid4()), code_hash=uuid.uuid4().hex * 2, client_id=client_id,
        person_id=person_id, redirect_uri="https://rp.example/cb", scope="openid",
        nonce=None, code_challenge=None, code_challenge_method=None, auth_time=expires,
        acr=None, amr=["pwd"], sid=None, created_at=expires, expires_at=expires)


def _token(client_id: str, access: dt.datetime, refresh: dt.datetime | None) -> IssuedToken:
    row_id = str(uuid.uuid4())
    return IssuedToken(
        id=row_id, client_id=client_id, person_id=None, scope="", token_format="jwt",
        access_token_hash=uuid.uuid4().hex * 2,
        refresh_token_hash=uuid.uuid4().hex * 2 if refresh else None, family_id=row_id,
        issued_at=access, access_expires_at=access, refresh_expires_at=refresh)


def _denied(client_id: str, expires: dt.datetime) -> RevokedAccessToken:
    return RevokedAccessToken(jti=str(uuid.uuid4()), client_id=client_id, expires_at=expires,
                              revoked_at=expires)


def _session(expires: dt.datetime, last_seen: dt.datetime) -> LoginSession:
    return LoginSession(id_hash=uuid.uuid4().hex * 2, sid=str(uuid.uuid4()), person_id=None,
                        auth_time=None, amr=[], csrf_token="x", data={},
                        created_at=last_seen, last_seen_at=last_seen, expires_at=expires)


def test_purge_deletes_only_state_past_expiry_and_grace(live_idp: LiveIdp) -> None:
    client, _secret = live_idp.register()
    person = live_idp.people["alice"]
    now = dt.datetime.now(dt.UTC)
    long_ago, recently, later = now - dt.timedelta(days=3), now - dt.timedelta(hours=1), \
        now + dt.timedelta(days=3)
    rows: dict[str, Any] = {
        "old_code": _code(client.client_id, person, long_ago),
        "recent_code": _code(client.client_id, person, recently),  # within the grace
        "old_token": _token(client.client_id, long_ago, long_ago),
        "live_family": _token(client.client_id, long_ago, later),  # refresh still alive
        "old_session": _session(long_ago, long_ago),
        "idle_session": _session(later, long_ago),
        "live_session": _session(later, now),
        "old_push": PushedAuthorizationRequest(
            id_hash=uuid.uuid4().hex * 2, client_id=client.client_id, params={},
            created_at=long_ago, expires_at=long_ago, used_at=None),
    }
    with live_idp.platform.sessions.begin() as session:
        session.add_all(rows.values())
    keys = {name: getattr(row, "id", None) or row.id_hash for name, row in rows.items()}

    result = run_cli("idp", "purge", env=cli_env(live_idp.settings,
                                                 EDUTRUST_ISSUER=live_idp.base))
    assert result.returncode == 0, result.stderr.decode()
    counts = json.loads(result.stdout)
    assert set(counts) == {"authorization_codes", "tokens", "revoked_access_tokens",
                           "pushed_requests", "initial_access_tokens", "login_sessions"}
    # (exact counts: the test below; here the server's own schedule may purge too)
    assert all(isinstance(n, int) and n >= 0 for n in counts.values())

    with live_idp.platform.sessions() as session:
        def exists(model: Any, key: str) -> bool:
            return session.get(model, key) is not None

        assert not exists(AuthorizationCode, keys["old_code"])
        assert exists(AuthorizationCode, keys["recent_code"])
        assert not exists(IssuedToken, keys["old_token"])
        assert exists(IssuedToken, keys["live_family"])
        assert not exists(LoginSession, keys["old_session"])
        assert not exists(LoginSession, keys["idle_session"])
        assert exists(LoginSession, keys["live_session"])
        assert not exists(PushedAuthorizationRequest, keys["old_push"])
    again = purge_expired(live_idp.platform.sessions, ProviderConfig(issuer=live_idp.base))
    assert set(again.values()) == {0}  # nothing left to delete: purging is idempotent


def test_purge_counts_exactly_what_it_deleted(platform: Platform) -> None:
    provider = open_provider("http://127.0.0.1:8000", platform.sessions, platform.keys,
                             platform.fields)
    client, _secret = provider.clients.register(ClientRegistration(
        name="Purge RP", grant_types=("authorization_code",),
        redirect_uris=("https://rp.example/cb",)))
    now = dt.datetime.now(dt.UTC)
    old, later = now - dt.timedelta(days=2), now + dt.timedelta(hours=1)
    with platform.sessions.begin() as session:
        session.add_all([_code(client.client_id, "p1", old), _code(client.client_id, "p2", old),
                         _code(client.client_id, "p3", later), _token(client.client_id, old, None),
                         _token(client.client_id, old, later), _session(old, old),
                         _session(later, now), _denied(client.client_id, old),
                         _denied(client.client_id, now)])  # expired, but within the grace
    counts = purge_expired(platform.sessions, provider.config)
    assert counts == {"authorization_codes": 2, "tokens": 1, "revoked_access_tokens": 1,
                      "pushed_requests": 0, "initial_access_tokens": 0, "login_sessions": 1}
    assert set(purge_expired(platform.sessions, provider.config).values()) == {0}


def test_purge_schedule_runs_at_most_once_per_interval(live_idp: LiveIdp) -> None:
    now = [1000.0]
    config = ProviderConfig(issuer=live_idp.base, purge_interval=dt.timedelta(minutes=10))
    schedule = PurgeSchedule(live_idp.platform.sessions, config, clock=lambda: now[0])
    client, _secret = live_idp.register()
    expired = _code(client.client_id, live_idp.people["bob"],
                    dt.datetime.now(dt.UTC) - dt.timedelta(days=5))
    with live_idp.platform.sessions.begin() as session:
        session.add(expired)
    assert schedule.maybe_run() is True
    schedule.wait(30)
    assert schedule.last_counts is not None
    now[0] += 60
    assert schedule.maybe_run() is False  # not due yet
    now[0] += 600
    assert schedule.maybe_run() is True
    schedule.wait(30)
    with live_idp.platform.sessions() as session:
        assert session.scalar(select(AuthorizationCode.id)
                              .where(AuthorizationCode.id == expired.id)) is None


def test_jwks_is_cacheable_with_an_etag_and_follows_key_rotation(live_idp: LiveIdp) -> None:
    url = live_idp.url("/oauth2/jwks")
    first = requests.get(url, timeout=10)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=300"
    etag = first.headers["ETag"]
    assert etag.startswith('"') and first.headers["Content-Type"] == "application/json"
    unchanged = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == etag
    assert unchanged.content == b""
    config = ProviderConfig(issuer=live_idp.base)
    assert config.jwks_max_age < config.retired_key_publication

    before = {key["kid"] for key in first.json()["keys"]}
    rotated = run_cli("keys", "rotate", "oidc-es256",
                      env=cli_env(live_idp.settings, EDUTRUST_ISSUER=live_idp.base))
    assert rotated.returncode == 0, rotated.stderr.decode()
    new_kid = json.loads(rotated.stdout)["kid"]
    assert new_kid not in before
    for _ in range(4):  # every gunicorn worker notices, not only the one that served first
        after = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
        assert after.status_code == 200 and after.headers["ETag"] != etag
        kids = {key["kid"] for key in after.json()["keys"]}
        assert new_kid in kids and before <= kids  # the old version stays published
