"""Fixed-window rate limits shared through the cache, so they hold across processes and machines.

Redis (django-redis) increments atomically, and every counter of one request is counted in one round trip.
Django's database cache does not (its `incr` is a get then a set), so for it the increment runs in a
transaction that locks the counter's row first.

The windows are cut from `clock()` (seconds since the epoch, `time.time` unless replaced): tests set
`bookdesk.ops.ratelimit.clock` to a clock of their own to move between windows without waiting.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.http import HttpRequest
from django_redis.cache import RedisCache

from bookdesk.errors import RateLimited
from bookdesk.ops.metrics import RATE_LIMITED

F = TypeVar("F", bound=Callable[..., Any])

#: What the fixed windows are read from: seconds since the epoch. Replaceable, so tests can move time.
clock: Callable[[], float] = time.time


def parse_rate(rate: str) -> tuple[int, int]:
    """`"20/60"` → `(20, 60)`: at most 20 hits per 60-second window."""
    count, _, seconds = rate.partition("/")
    limit, window = int(count), int(seconds or 60)
    if limit < 1 or window < 1:
        raise ValueError(f"invalid rate {rate!r}")
    return limit, window


def _incr_db(cache: DatabaseCache, key: str, timeout: int) -> int:
    db = router.db_for_write(cache.cache_model_class)
    conn = connections[db]
    with transaction.atomic(using=db):
        if cache.add(key, 1, timeout=timeout):
            return 1
        # The row exists (add waited for its inserter to commit): lock it, then read-modify-write.
        # SQLite needs no lock: its transactions take the write lock up front (IMMEDIATE).
        if conn.features.has_select_for_update:
            with conn.cursor() as cursor:
                table = conn.ops.quote_name(cache._table)  # type: ignore[attr-defined]
                cursor.execute(f"SELECT cache_key FROM {table} WHERE cache_key = %s FOR UPDATE", [cache.make_key(key)])  # noqa: S608
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and the lock
            cache.set(key, 1, timeout=timeout)
            return 1


def _incr(cache: BaseCache, key: str, timeout: int) -> int:
    if isinstance(cache, DatabaseCache):
        return _incr_db(cache, key, timeout)
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # the key expired between add and incr: this hit opens a new window
        cache.add(key, 1, timeout=timeout)
        return 1


def _incr_redis(cache: RedisCache, keys: Sequence[tuple[str, int]]) -> list[int]:
    """Each counter created at 0 with its expiry unless it exists, then incremented: one round trip for all.

    MULTI/EXEC, so a counter cannot expire between its SET and its INCR (and live on without an expiry).
    """
    pipe = cache.client.get_client(write=True).pipeline(transaction=True)
    for key, timeout in keys:
        full_key = cache.client.make_key(key)
        pipe.set(full_key, 0, ex=timeout, nx=True)
        pipe.incr(full_key)
    return [int(count) for count in pipe.execute()[1::2]]


def rate_limit(key: str, *, limit: int, window_seconds: int, cache_alias: str = "default") -> None:
    """Count one hit for `key`; raise `RateLimited(retry_after=…)` once it exceeds `limit` in this window."""
    rate_limits([(key, limit, window_seconds)], cache_alias=cache_alias)


def rate_limits(hits: Sequence[tuple[str, int, int]], *, cache_alias: str = "default") -> None:
    """Count one hit for each `(key, limit, window_seconds)`; raise `RateLimited` for the first one exceeded."""
    now = clock()
    counters = []
    for key, _, window_seconds in hits:
        window = int(now // window_seconds)
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # bounded, cache-safe, hides emails/IPs
        counters.append((f"ratelimit:{digest}:{window_seconds}:{window}", window_seconds + 1))
    cache = caches[cache_alias]
    if isinstance(cache, RedisCache):
        counts = _incr_redis(cache, counters)
    else:
        counts = [_incr(cache, counter, timeout=timeout) for counter, timeout in counters]
    for (key, limit, window_seconds), count in zip(hits, counts, strict=True):
        if count > limit:
            retry_after = max(1, int((int(now // window_seconds) + 1) * window_seconds - now + 0.999))
            RATE_LIMITED.labels(limit=key.split(":", 1)[0]).inc()
            raise RateLimited(f"Too many requests; try again in {retry_after} seconds.", retry_after=retry_after)


def client_ip(request: HttpRequest) -> str:
    """The client's address; behind a trusted proxy (BEHIND_PROXY=1) the first X-Forwarded-For hop."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def request_identity(request: HttpRequest) -> str:
    """`user:<id>` for a signed-in user (session or API token), else `ip:<address>`."""
    for user in (getattr(request, "auth", None), getattr(request, "user", None)):
        if getattr(user, "is_authenticated", False) and getattr(user, "pk", None) is not None:
            return f"user:{user.pk}"  # type: ignore[union-attr]
    return f"ip:{client_ip(request)}"


def rate_limit_request(request: HttpRequest, name: str, *, per_ip: str | None = None) -> None:
    """Apply `settings.RATE_LIMITS[name]` to the caller of this request (per user, else per IP).

    `per_ip` names a second limit counted at the same time for the client's address, whoever is signed in.
    """
    limit, window = parse_rate(settings.RATE_LIMITS[name])
    hits = [(f"{name}:{request_identity(request)}", limit, window)]
    if per_ip is not None:
        limit, window = parse_rate(settings.RATE_LIMITS[per_ip])
        hits.append((f"{per_ip}:{client_ip(request)}", limit, window))
    rate_limits(hits)


def rate_limited(name: str) -> Callable[[F], F]:
    """Decorate a view or a ninja operation (first argument: the request) with the named limit.

    Raises `RateLimited`; the API renders it as problem+json 429 with Retry-After, and plain views
    can let `bookdesk.web` render it (see `bookdesk.web.views`).
    """

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            rate_limit_request(request, name)
            return func(request, *args, **kwargs)

        return cast(F, wrapper)

    return decorator
