"""The short-lived store behind replay caches: in-process always, Redis when
EDUTRUST_TEST_REDIS_URL names one."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from idp.shortlived import InProcessStore, RedisStore, ShortLivedStore, open_short_lived_store
from tests.conftest import REDIS_URL


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["in-process", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[ShortLivedStore]:
    if request.param == "in-process":
        yield InProcessStore()
        return
    if not REDIS_URL:
        pytest.skip("EDUTRUST_TEST_REDIS_URL is not set")
    # A prefix of its own per test, so runs in parallel never see each other's keys.
    yield RedisStore.from_url(REDIS_URL, prefix=f"edutrust-test:{uuid.uuid4().hex}:")


def test_a_key_is_added_only_once(store: ShortLivedStore) -> None:
    assert store.add_if_absent("jti:a", 60) is True
    assert store.add_if_absent("jti:a", 60) is False
    assert store.add_if_absent("jti:b", 60) is True


def test_counter_counts_up_from_one(store: ShortLivedStore) -> None:
    assert [store.incr("login:alice", 60) for _ in range(3)] == [1, 2, 3]
    assert store.incr("login:bob", 60) == 1


def test_of_many_concurrent_adders_exactly_one_wins(store: ShortLivedStore) -> None:
    results: list[bool] = []
    lock = threading.Lock()

    def add() -> None:
        won = store.add_if_absent("jti:race", 60)
        with lock:
            results.append(won)

    threads = [threading.Thread(target=add) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1 and len(results) == 16


def test_a_stored_value_is_taken_once(store: ShortLivedStore) -> None:
    store.put("webauthn:c1", '{"person": "p"}', 60)
    store.put("webauthn:c2", "other", 60)
    assert store.take("webauthn:c1") == '{"person": "p"}'
    assert store.take("webauthn:c1") is None
    assert store.take("webauthn:never") is None
    assert store.take("webauthn:c2") == "other"


def test_of_many_concurrent_takers_exactly_one_gets_the_value(store: ShortLivedStore) -> None:
    store.put("webauthn:race", "challenge", 60)
    results: list[str | None] = []
    lock = threading.Lock()

    def take() -> None:
        got = store.take("webauthn:race")
        with lock:
            results.append(got)

    threads = [threading.Thread(target=take) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("challenge") == 1 and results.count(None) == 15


def test_a_stored_value_expires() -> None:
    clock = FakeClock()
    store = InProcessStore(clock=clock)
    store.put("webauthn:c", "v", 300)
    clock.now += 301
    assert store.take("webauthn:c") is None


@pytest.mark.parametrize("ttl", [0, -5])
def test_non_positive_ttl_is_refused(store: ShortLivedStore, ttl: int) -> None:
    with pytest.raises(ValueError):
        store.add_if_absent("k", ttl)
    with pytest.raises(ValueError):
        store.incr("k", ttl)
    with pytest.raises(ValueError):
        store.put("k", "v", ttl)


def test_in_process_key_can_be_added_again_after_it_expires() -> None:
    clock = FakeClock()
    store = InProcessStore(clock=clock)
    assert store.add_if_absent("jti", 30)
    clock.now += 29.5
    assert not store.add_if_absent("jti", 30)
    clock.now += 1
    assert store.add_if_absent("jti", 30)


def test_in_process_counter_restarts_after_its_window() -> None:
    clock = FakeClock()
    store = InProcessStore(clock=clock)
    assert store.incr("n", 10) == 1
    clock.now += 5
    assert store.incr("n", 10) == 2  # the window is not extended by later increments
    clock.now += 6
    assert store.incr("n", 10) == 1


@pytest.mark.skipif(not REDIS_URL, reason="EDUTRUST_TEST_REDIS_URL is not set")
def test_redis_entries_carry_an_expiry() -> None:
    import redis

    prefix = f"edutrust-test:{uuid.uuid4().hex}:"
    store = RedisStore.from_url(REDIS_URL or "", prefix=prefix)
    store.add_if_absent("jti", 40)
    store.incr("count", 50)
    client = redis.Redis.from_url(REDIS_URL or "")
    assert 0 < client.ttl(prefix + "jti") <= 40
    assert 0 < client.ttl(prefix + "count") <= 50
    client.delete(prefix + "jti", prefix + "count")


def test_store_is_chosen_by_the_redis_setting() -> None:
    assert isinstance(open_short_lived_store(None), InProcessStore)
    assert isinstance(open_short_lived_store("redis://127.0.0.1:1/0"), RedisStore)
