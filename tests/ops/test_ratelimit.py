"""The fixed-window rate limit holds across cache clients (processes) on the database cache and on Redis.

Time stands still in these tests unless a test moves it: the limiter reads `ratelimit.clock`, which the
autouse `clock` fixture replaces. So every hit of a test falls in the window it means, and the next
window is one `clock.advance()` away, with no waiting.
"""

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
from bookdesk.ops import ratelimit
from bookdesk.ops.ratelimit import parse_rate, rate_limit, rate_limited, rate_limits, request_identity

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
DB_CACHE = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "bookdesk_cache"}
REDIS_CACHE = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": REDIS_TEST_URL,
    "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 2},
}


# 15 s into a minute (1,800,000,000 is a whole number of hours): 45 s left in a 60-second window.
START = 1_800_000_015.0


class Clock:
    """Seconds since the epoch, standing still until `advance` moves them."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The limiter's clock, stopped at START for the test."""
    stopped = Clock(START)
    monkeypatch.setattr(ratelimit, "clock", stopped)
    return stopped


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
    assert refused.value.retry_after == 45  # the rest of the window
    assert refused.value.code == "rate_limited"
    # Another key is counted apart.
    rate_limit(f"test:{uuid.uuid4().hex}", limit=3, window_seconds=60, cache_alias="client_b")


def test_concurrent_hits_from_two_clients_admit_exactly_the_limit(shared_cache: str) -> None:
    # Without the row lock, Django's database cache (get-then-set incr) admitted 35 of 40 here for a limit of 10.
    # The clock stands still, so all 40 hits fall in one window however long the threads take.
    key = f"race:{uuid.uuid4().hex}"
    limit, hits = 10, 40
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


def test_the_counter_starts_over_in_the_next_window(shared_cache: str, clock: Clock) -> None:
    key = f"window:{uuid.uuid4().hex}"
    rate_limit(key, limit=1, window_seconds=60, cache_alias="client_a")
    with pytest.raises(RateLimited):
        rate_limit(key, limit=1, window_seconds=60, cache_alias="client_b")
    clock.advance(44.9)  # the last moment of the same window: still counted there
    with pytest.raises(RateLimited) as refused:
        rate_limit(key, limit=1, window_seconds=60, cache_alias="client_a")
    assert refused.value.retry_after == 1
    clock.advance(0.1)  # the next window: a fresh count, for both clients
    rate_limit(key, limit=1, window_seconds=60, cache_alias="client_b")
    with pytest.raises(RateLimited) as refused:
        rate_limit(key, limit=1, window_seconds=60, cache_alias="client_a")
    assert refused.value.retry_after == 60


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


def test_a_user_and_an_address_are_admitted_again_in_their_next_windows(shared_cache: str, clock: Clock) -> None:
    # START is 15 s into a minute and into five minutes: the user's window ends 45 s on, the address's 285 s on.
    user, address = f"user:{uuid.uuid4().hex}", f"ip:{uuid.uuid4().hex}"
    hits = [(f"checkout:{user}", 1, 60), (f"checkout_ip:{address}", 5, 300)]
    rate_limits(hits, cache_alias="client_a")
    with pytest.raises(RateLimited) as refused:  # the user's limit of 1 a minute (the address counts 2 of 5)
        rate_limits(hits, cache_alias="client_b")
    assert refused.value.retry_after == 45
    for step, alias in ((45, "client_b"), (60, "client_a"), (60, "client_b")):
        clock.advance(step)  # the user's next minute: the address counts 3, then 4, then 5 of 5
        rate_limits(hits, cache_alias=alias)
    clock.advance(60)  # 240 s into the address's five minutes; a new minute for the user
    with pytest.raises(RateLimited) as refused:
        rate_limits(hits, cache_alias="client_b")
    assert refused.value.retry_after == 60  # the address's window is the one exceeded
    clock.advance(60)
    rate_limits(hits, cache_alias="client_a")


@pytest.mark.django_db(transaction=True)
def test_a_redis_counter_always_expires() -> None:
    if not _redis_available():
        pytest.fail(f"Redis is not reachable at {REDIS_TEST_URL} (the suite needs it for the shared-cache tests)")
    import hashlib

    import redis

    key = f"expiry:{uuid.uuid4().hex}"
    with override_settings(CACHES=_two_clients(REDIS_CACHE)):
        for _ in range(3):
            rate_limit(key, limit=10, window_seconds=60, cache_alias="client_a")
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        stored = caches["client_a"].client.make_key(f"ratelimit:{digest}:60:{int(START // 60)}")
        caches["client_a"].close()
    store = redis.Redis.from_url(REDIS_TEST_URL)
    assert store.get(stored) == b"3"
    assert 0 < store.ttl(stored) <= 61


@pytest.mark.django_db
def test_decorator_limits_a_view_per_client_ip(settings, client, clock: Clock) -> None:
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
    clock.advance(45)  # the next minute
    assert view(factory.get("/", REMOTE_ADDR=address)) == "ok"
    assert len(calls) == 4


@pytest.mark.django_db
def test_identity_is_the_user_when_signed_in(django_user_model) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1")
    request.user = django_user_model.objects.create_user(email="eve@example.com", password="a-long-password-1")
    assert request_identity(request) == f"user:{request.user.pk}"
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert request_identity(request) == "ip:192.0.2.1"
