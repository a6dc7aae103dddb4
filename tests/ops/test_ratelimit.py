"""The fixed-window rate limit holds across cache clients (processes) on the database cache and on Redis."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import caches
from django.db import connections
from django.test import RequestFactory, override_settings

from bookdesk.errors import RateLimited
from bookdesk.ops.ratelimit import parse_rate, rate_limit, rate_limited, rate_limits, request_identity

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
DB_CACHE = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "bookdesk_cache"}
REDIS_CACHE = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": REDIS_TEST_URL,
    "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 2},
}


def _redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).ping()
    except Exception:
        return False
    return True


def _two_clients(backend: dict[str, object]) -> dict[str, dict[str, object]]:
    """Two aliases for the same store: each gets its own client (its own connection pool for Redis)."""
    return {"default": backend, "client_a": dict(backend), "client_b": dict(backend)}


@pytest.fixture(params=["database", "redis"])
def shared_cache(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[str]:
    if request.param == "redis":
        if not _redis_available():
            pytest.skip(f"Redis is not reachable at {REDIS_TEST_URL}")
        config = _two_clients(REDIS_CACHE)
    else:
        config = _two_clients(DB_CACHE)
    with override_settings(CACHES=config):
        yield request.param
        for alias in ("client_a", "client_b"):
            caches[alias].close()


def test_parse_rate() -> None:
    assert parse_rate("20/60") == (20, 60)
    with pytest.raises(ValueError, match="invalid rate"):
        parse_rate("0/60")


def test_two_clients_share_one_counter(shared_cache: str) -> None:
    key = f"test:{uuid.uuid4().hex}"
    assert caches["client_a"] is not caches["client_b"]
    for alias in ("client_a", "client_b", "client_a"):
        rate_limit(key, limit=3, window_seconds=60, cache_alias=alias)
    with pytest.raises(RateLimited) as refused:
        rate_limit(key, limit=3, window_seconds=60, cache_alias="client_b")
    assert 1 <= refused.value.retry_after <= 60
    assert refused.value.code == "rate_limited"
    # Another key is counted apart.
    rate_limit(f"test:{uuid.uuid4().hex}", limit=3, window_seconds=60, cache_alias="client_b")


def test_concurrent_hits_from_two_clients_admit_exactly_the_limit(shared_cache: str) -> None:
    # Without the row lock, Django's database cache (get-then-set incr) admitted 35 of 40 here for a limit of 10.
    import time

    key = f"race:{uuid.uuid4().hex}"
    limit, hits = 10, 40
    if 60 - time.time() % 60 < 10:  # all hits in one minute's window (a loaded machine once saw two: 15 of 10)
        time.sleep(60 - time.time() % 60 + 0.05)
    admitted = 0
    lock = threading.Lock()

    def hit(index: int) -> None:
        nonlocal admitted
        try:
            rate_limit(key, limit=limit, window_seconds=60, cache_alias="client_a" if index % 2 else "client_b")
        except RateLimited:
            return
        finally:
            connections.close_all()
        with lock:
            admitted += 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(hit, range(hits)))
    assert admitted == limit


def test_the_counter_starts_over_in_the_next_window(shared_cache: str) -> None:
    import time

    key = f"window:{uuid.uuid4().hex}"
    time.sleep(1 - time.time() % 1 + 0.01)  # both hits well inside one 1-second window
    rate_limit(key, limit=1, window_seconds=1, cache_alias="client_a")
    with pytest.raises(RateLimited):
        rate_limit(key, limit=1, window_seconds=1, cache_alias="client_b")
    time.sleep(1.05)
    rate_limit(key, limit=1, window_seconds=1, cache_alias="client_b")


def test_every_limit_of_a_request_is_counted_and_the_exceeded_one_named(shared_cache: str) -> None:
    user, address = f"user:{uuid.uuid4().hex}", f"ip:{uuid.uuid4().hex}"
    hits = [(f"checkout:{user}", 3, 60), (f"checkout_ip:{address}", 2, 60)]
    for _ in range(2):
        rate_limits(hits, cache_alias="client_a")
    with pytest.raises(RateLimited):  # the address's limit of 2
        rate_limits(hits, cache_alias="client_b")
    # That third request was counted for the user too: their limit of 3 is reached.
    with pytest.raises(RateLimited):
        rate_limit(f"checkout:{user}", limit=3, window_seconds=60, cache_alias="client_a")
    rate_limit(f"checkout_ip:ip:{uuid.uuid4().hex}", limit=2, window_seconds=60, cache_alias="client_a")


@pytest.mark.django_db(transaction=True)
def test_a_redis_counter_always_expires() -> None:
    if not _redis_available():
        pytest.fail(f"Redis is not reachable at {REDIS_TEST_URL} (the suite needs it for the shared-cache tests)")
    import hashlib
    import time

    import redis

    key = f"expiry:{uuid.uuid4().hex}"
    with override_settings(CACHES=_two_clients(REDIS_CACHE)):
        if 60 - time.time() % 60 < 1:
            time.sleep(1.1)  # the three hits in one minute's window
        for _ in range(3):
            rate_limit(key, limit=10, window_seconds=60, cache_alias="client_a")
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        stored = caches["client_a"].client.make_key(f"ratelimit:{digest}:60:{int(time.time() // 60)}")
        caches["client_a"].close()
    store = redis.Redis.from_url(REDIS_TEST_URL)
    assert store.get(stored) == b"3"
    assert 0 < store.ttl(stored) <= 61


@pytest.mark.django_db
def test_decorator_limits_a_view_per_client_ip(settings, client) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "test": "2/60"}
    calls = []

    @rate_limited("test")
    def view(request):  # type: ignore[no-untyped-def]
        calls.append(request)
        return "ok"

    factory = RequestFactory()
    address = f"10.{uuid.uuid4().int % 250}.0.{uuid.uuid4().int % 250}"
    for _ in range(2):
        assert view(factory.get("/", REMOTE_ADDR=address)) == "ok"
    with pytest.raises(RateLimited):
        view(factory.get("/", REMOTE_ADDR=address))
    assert view(factory.get("/", REMOTE_ADDR="192.0.2.77")) == "ok"
    assert len(calls) == 3


@pytest.mark.django_db
def test_identity_is_the_user_when_signed_in(django_user_model) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1")
    request.user = django_user_model.objects.create_user(email="eve@example.com", password="a-long-password-1")
    assert request_identity(request) == f"user:{request.user.pk}"
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert request_identity(request) == "ip:192.0.2.1"
