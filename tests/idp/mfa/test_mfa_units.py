"""The MFA building blocks without a server: TOTP (pyotp as the authenticator app, a
controlled clock), recovery codes, policy, throttle, acr/amr and RFC 9470 challenges."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import text

from edutrust.platform import Platform, initialise
from edutrust.settings import Settings
from idp.directory.service import Directory
from idp.mfa import MfaError
from idp.mfa.acr import combine_amr, level_of, satisfies, stronger
from idp.mfa.notices import Notices
from idp.mfa.policy import PolicyStore
from idp.mfa.recovery import RecoveryCodes
from idp.mfa.throttle import LoginThrottle, ThrottleConfig, account_key
from idp.mfa.totp import TotpAuthenticators, normalise_code
from idp.oauth2.rfc9470 import challenge, insufficient
from idp.oidc.acr import ACR_MFA, ACR_PHR, ACR_PWD, AcrRequest, session_acr
from idp.shortlived import InProcessStore, RedisStore, ShortLivedStore
from tests.conftest import REDIS_URL, scratch_database

SCHOOL = "4101990004"
T0 = 1_800_000_000.0  # a fixed "now", on a 30-second step boundary


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp("mfa-units")
    with scratch_database(tmp) as url:
        yield from _platform(tmp, url)


def _platform(tmp: Path, url: str) -> Iterator[Platform]:
    settings = Settings(home=tmp / "home", database_url=url, redis_url=None,
                        issuer="http://127.0.0.1:8000", master_key_b64=None, lang="en",
                        log_level="WARNING")
    plat = initialise(settings, lambda key, **values: None)
    Directory(plat.sessions, plat.fields).create_organisation(SCHOOL, "测试中学", "school")
    try:
        yield plat
    finally:
        plat.engine.dispose()


def new_person(platform: Platform, *roles: str) -> str:
    directory = Directory(platform.sessions, platform.fields)
    person = directory.create_person("p-" + uuid.uuid4().hex[:12], "Test Person")
    for role in roles:
        directory.add_membership(person.id, SCHOOL, role)
    return person.id


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def enrolled(platform: Platform, clock: Clock) -> tuple[TotpAuthenticators, str, pyotp.TOTP]:
    totp = TotpAuthenticators(platform.sessions, platform.fields, clock=clock)
    person = new_person(platform)
    app = pyotp.TOTP(totp.begin_enrollment(person))
    assert not totp.enrolled(person)  # pending until confirmed
    assert totp.confirm(person, app.at(clock.now - 30))
    assert totp.enrolled(person)
    return totp, person, app


# -- TOTP ---------------------------------------------------------------------------------

def test_a_totp_code_is_accepted_once_and_refused_on_replay(platform: Platform) -> None:
    clock = Clock(T0)
    totp, person, app = enrolled(platform, clock)
    code = app.at(clock.now)
    assert totp.verify(person, code)
    assert not totp.verify(person, code)
    clock.now += 15  # same step, later in it
    assert not totp.verify(person, code)


def test_totp_tolerates_one_step_of_clock_skew_and_not_two(platform: Platform) -> None:
    clock = Clock(T0)
    totp, person, app = enrolled(platform, clock)
    assert not totp.verify(person, app.at(clock.now + 60))   # two steps ahead
    assert totp.verify(person, app.at(clock.now + 30))       # one step ahead
    clock.now += 300
    assert not totp.verify(person, app.at(clock.now - 60))   # two steps behind
    assert totp.verify(person, app.at(clock.now - 30))       # one step behind


def test_an_older_totp_code_is_refused_after_a_newer_one(platform: Platform) -> None:
    clock = Clock(T0)
    totp, person, app = enrolled(platform, clock)
    older, newer = app.at(clock.now), app.at(clock.now + 30)
    assert totp.verify(person, newer)
    assert not totp.verify(person, older)


def test_the_enrollment_code_cannot_log_in_and_a_wrong_one_does_not_confirm(
        platform: Platform) -> None:
    clock = Clock(T0)
    totp = TotpAuthenticators(platform.sessions, platform.fields, clock=clock)
    person = new_person(platform)
    app = pyotp.TOTP(totp.begin_enrollment(person))
    wrong = "000000" if app.at(clock.now) != "000000" else "111111"
    assert not totp.confirm(person, wrong) and not totp.enrolled(person)
    code = app.at(clock.now)
    assert totp.confirm(person, code)
    assert not totp.verify(person, code)


def test_totp_codes_are_read_as_people_type_them() -> None:
    assert normalise_code(" 123 456 ") == "123456"
    assert normalise_code("１２３４５６") == "123456"  # full-width digits from an IME
    assert normalise_code("12-34-56²") == "123456"


def test_the_totp_secret_is_sealed_and_bound_to_its_person(platform: Platform) -> None:
    clock = Clock(T0)
    totp, person, app = enrolled(platform, clock)
    with platform.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM mfa_totp WHERE person_id = :p"),
                           {"p": person}).one()
    assert app.secret not in str(row) and str(row.secret_sealed).startswith("sm4gcm.")
    # Copied onto another person's row, the sealed secret does not open.
    other = new_person(platform)
    with platform.engine.begin() as conn:
        conn.execute(text("INSERT INTO mfa_totp (person_id, secret_sealed) VALUES (:p, :s)"),
                     {"p": other, "s": row.secret_sealed})
    assert not totp.verify(other, app.at(clock.now))


# -- recovery codes -----------------------------------------------------------------------

def test_recovery_codes_work_once_and_regenerating_voids_the_old_ones(
        platform: Platform) -> None:
    codes = RecoveryCodes(platform.sessions)
    person = new_person(platform)
    first = codes.regenerate(person)
    assert len(first) == 10 and len(set(first)) == 10 and codes.remaining(person) == 10
    assert codes.use(person, first[0].upper().replace("-", " "))
    assert not codes.use(person, first[0])
    assert codes.remaining(person) == 9
    assert not codes.use(new_person(platform), first[1])  # another person's code
    second = codes.regenerate(person)
    assert not codes.use(person, first[1]) and codes.use(person, second[1])
    with platform.engine.connect() as conn:
        stored = " ".join(str(row) for row in conn.execute(text(
            "SELECT code_hash FROM mfa_recovery_codes")))
    assert not any(code.replace("-", "") in stored for code in first + second)


# -- policy -------------------------------------------------------------------------------

def test_policy_defaults_by_role_and_the_strongest_membership_wins(platform: Platform) -> None:
    policy = PolicyStore(platform.sessions)
    assert policy.required_acr(new_person(platform, "student")) is None
    assert policy.required_acr(new_person(platform, "teacher")) == ACR_MFA
    assert policy.required_acr(new_person(platform, "student", "staff")) == ACR_MFA
    assert policy.required_acr(new_person(platform, "teacher", "operator")) == ACR_PHR


def test_an_organisation_sets_its_own_policy_per_role(platform: Platform) -> None:
    policy = PolicyStore(platform.sessions)
    org = Directory(platform.sessions, platform.fields).find_organisation(SCHOOL)
    assert org is not None
    teacher = new_person(platform, "teacher")
    student = new_person(platform, "student")
    policy.set(org.id, "teacher", "phr")
    policy.set(org.id, "student", "mfa")
    try:
        assert policy.required_acr(teacher) == ACR_PHR
        assert policy.required_acr(student) == ACR_MFA
        assert policy.requirement_of(org.id, "guardian") == "none"
    finally:
        policy.set(org.id, "teacher", "mfa")
        policy.set(org.id, "student", "none")
    with pytest.raises(MfaError):
        policy.set(org.id, "teacher", "sometimes")
    with pytest.raises(MfaError):
        policy.set(org.id, "janitor", "mfa")


# -- notices ------------------------------------------------------------------------------

def test_notices_of_the_current_login_wait_for_the_next(platform: Platform) -> None:
    notices = Notices(platform.sessions)
    person = new_person(platform)
    started = dt.datetime.now(dt.UTC)
    notices.add(person, "recovery_code_used", left="9")
    assert notices.recent(person, unseen_only=True, before=started) == []
    shown = notices.recent(person, unseen_only=True)
    assert [n.kind for n in shown] == ["recovery_code_used"]
    notices.mark_seen(person, [n.id for n in shown])
    assert notices.recent(person, unseen_only=True) == []
    assert len(notices.recent(person)) == 1


# -- throttle -----------------------------------------------------------------------------

def stores() -> list[str]:
    return ["memory", "redis"] if REDIS_URL else ["memory"]


@pytest.fixture(params=stores())
def store_and_clock(request: pytest.FixtureRequest) -> tuple[ShortLivedStore, Clock | None]:
    if request.param == "redis":
        return RedisStore.from_url(REDIS_URL or ""), None
    clock = Clock(1000.0)
    return InProcessStore(clock=clock), clock


def test_delays_grow_then_the_account_locks_and_unlocks(
        store_and_clock: tuple[ShortLivedStore, Clock | None]) -> None:
    store, clock = store_and_clock
    throttle = LoginThrottle(store, ThrottleConfig(free_failures=2, max_failures=5,
                                                   lockout=dt.timedelta(seconds=90)))
    account = account_key("Lock-" + uuid.uuid4().hex)
    assert throttle.failed(account, None).allowed
    verdict = throttle.failed(account, None)
    assert not verdict.allowed and not verdict.locked and verdict.retry_after == 1
    assert throttle.check(account, None).retry_after == 1
    if clock is None:
        return  # Redis expiry runs on the server's clock; the rest needs a fake one
    waits = []
    for _ in range(2):
        clock.now += 61
        assert throttle.check(account, None).allowed
        waits.append(throttle.failed(account, None).retry_after)
    assert waits == [2, 4]
    clock.now += 61
    locked = throttle.failed(account, None)
    assert locked.locked and locked.retry_after == 90
    assert throttle.check(account, None).locked
    clock.now += 91
    assert throttle.check(account, None).allowed


def test_a_success_clears_the_failures_and_unknown_names_count_alike(
        store_and_clock: tuple[ShortLivedStore, Clock | None]) -> None:
    store, _clock = store_and_clock
    throttle = LoginThrottle(store, ThrottleConfig(free_failures=3, max_failures=3))
    known = account_key("Known-" + uuid.uuid4().hex)
    throttle.failed(known, None)
    throttle.failed(known, None)
    throttle.succeeded(known)
    assert throttle.failed(known, None).allowed
    assert throttle.failed(known, None).allowed
    assert throttle.failed(known, None).locked
    assert account_key(" Alice ") == account_key("alice")


def test_an_address_with_too_many_failures_is_locked_for_every_account(
        store_and_clock: tuple[ShortLivedStore, Clock | None]) -> None:
    store, _clock = store_and_clock
    throttle = LoginThrottle(store, ThrottleConfig(address_max_failures=3))
    address = f"192.0.2.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"
    for _ in range(3):
        throttle.failed(account_key(uuid.uuid4().hex), address)
    assert throttle.check(account_key(uuid.uuid4().hex), address).locked
    assert throttle.check(account_key(uuid.uuid4().hex), "198.51.100.7").allowed


# -- acr / amr ----------------------------------------------------------------------------

def test_amr_of_two_kinds_of_factor_is_multi_factor() -> None:
    assert combine_amr(["pwd"], ["otp"]) == ["pwd", "otp", "mfa"]
    assert combine_amr(["pwd", "otp", "mfa"], ["otp"]) == ["pwd", "otp", "mfa"]
    assert combine_amr(["pwd"], ["pwd"]) == ["pwd"]
    assert session_acr(["pwd"]) == ACR_PWD
    assert session_acr(combine_amr(["pwd"], ["otp"])) == ACR_MFA
    assert satisfies(["pwd", "otp", "mfa"], ACR_MFA) and not satisfies(["pwd"], ACR_MFA)
    assert not satisfies(["pwd", "otp", "mfa"], ACR_PHR)
    assert stronger(ACR_MFA, None) == ACR_MFA and stronger(ACR_MFA, ACR_PHR) == ACR_PHR


def test_the_step_up_level_is_the_weakest_known_value_requested() -> None:
    assert level_of(AcrRequest((ACR_PHR, ACR_MFA), False)) == ACR_MFA
    assert level_of(AcrRequest(("urn:other:gold",), True)) is None
    assert level_of(None) is None


# -- RFC 9470 -----------------------------------------------------------------------------

def test_rfc9470_challenge_names_the_error_acr_values_and_max_age() -> None:
    header = challenge(acr_values=[ACR_MFA], max_age=300, description='need "more"')
    assert header.startswith("Bearer ")
    assert 'error="insufficient_user_authentication"' in header
    assert f'acr_values="{ACR_MFA}"' in header and "max_age=300" in header
    assert 'error_description="need \\"more\\""' in header


def test_rfc9470_accepts_strong_enough_recent_tokens_only() -> None:
    now = 2_000_000_000
    strong = {"acr": ACR_MFA, "auth_time": now - 10}
    assert insufficient(strong, acr_values=[ACR_MFA], max_age=60, now=now) is None
    assert insufficient({"acr": ACR_PHR}, acr_values=[ACR_MFA]) is None
    assert insufficient({"acr": ACR_PWD}, acr_values=[ACR_MFA]) is not None
    assert insufficient({}, acr_values=[ACR_MFA]) is not None
    stale = insufficient({"acr": ACR_MFA, "auth_time": now - 600}, max_age=60, now=now)
    assert stale is not None and "max_age=60" in stale
    assert insufficient({"acr": ACR_MFA}, max_age=60, now=now) is not None


def test_every_notice_kind_has_a_message() -> None:
    from edutrust.i18n import CATALOG
    from idp.mfa.notices import KINDS

    assert all(f"idp.notice.{kind}" in CATALOG for kind in KINDS)
    assert all(f"idp.account.required.{level}" in CATALOG for level in ("mfa", "phr"))


def test_operators_set_an_organisations_policy_on_the_command_line(platform: Platform) -> None:
    import json

    from tests.conftest import cli_env, run_cli

    env = cli_env(platform.settings)
    result = run_cli("mfa", "policy", SCHOOL, "guardian", "mfa", env=env)
    assert result.returncode == 0, result.stderr.decode()
    document = json.loads(result.stdout)
    assert document["policy"]["guardian"] == "mfa" and document["policy"]["teacher"] == "mfa"
    assert document["policy"]["operator"] == "phr" and document["policy"]["student"] == "none"
    assert PolicyStore(platform.sessions).required_acr(new_person(platform, "guardian")) \
        == ACR_MFA
    org = Directory(platform.sessions, platform.fields).find_organisation(SCHOOL)
    assert org is not None
    PolicyStore(platform.sessions).set(org.id, "guardian", "none")
