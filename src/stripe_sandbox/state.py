"""The sandbox's state, apart from any HTTP: the store, the clock, the event log, faults and webhooks.

Everything that changes the state runs in :meth:`State.transaction` (the lock and one SQLite
transaction); the events it records go to the webhook dispatcher once it commits. The resource
and payment modules work on a :class:`State`; the HTTP handlers above them hand it on.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from stripe_sandbox import objects
from stripe_sandbox.clock import Clock
from stripe_sandbox.faults import Faults
from stripe_sandbox.objects import API_VERSION
from stripe_sandbox.store import Store
from stripe_sandbox.webhooks import (
    DEFAULT_RETRY_SCHEDULE,
    DELIVERY_TIMEOUT_SECONDS,
    WebhookDispatcher,
    event_matches,
    payload_for,
)

DEFAULT_PORT = 12111


@dataclasses.dataclass(frozen=True)
class RequestContext:
    """What an event records in ``request``: the API request that caused it, if any."""

    request_id: str | None = None
    idempotency_key: str | None = None


NO_REQUEST = RequestContext()


class State:
    def __init__(
        self,
        db_path: str | None = None,
        *,
        clock: Clock | None = None,
        faults: Faults | None = None,
        seed: int | None = None,
        webhook_retry_schedule: tuple[float, ...] | list[float] = DEFAULT_RETRY_SCHEDULE,
        webhook_timeout: float = DELIVERY_TIMEOUT_SECONDS,
        api_versions: tuple[str, ...] = (API_VERSION,),
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock or Clock()
        self.store = Store(db_path)
        self.faults = faults or Faults()
        self.rng = random.Random(seed)  # noqa: S311 - fault injection, not crypto
        self.api_versions = api_versions
        self.base_url = f"http://127.0.0.1:{DEFAULT_PORT}"  # where the state is served (the hosted page's links)
        self.dispatcher = WebhookDispatcher(
            faults=self.faults,
            clock=self.clock,
            retry_schedule=tuple(webhook_retry_schedule),
            timeout=webhook_timeout,
            on_settled=self._webhook_settled,
            rng=self.rng,
        )
        self.in_flight: set[str] = set()  # idempotency scopes of requests being served
        # Timers (session expiry, delayed settlement) fall due on the clock: whoever runs them waits
        # on this condition, which moving the clock and setting a timer notify.
        self.timers_changed = threading.Condition()
        self.timers_generation = 0
        self.clock.watch(self.timers_changed)
        self.closing = False
        self._outbox: list[tuple[dict[str, Any], bytes, list[dict[str, Any]]]] = []
        self._depth = 0

    def now(self) -> float:
        return self.clock.now()

    def close(self) -> None:
        """Stop webhook delivery and close the store."""
        self.closing = True
        self.clock.unwatch(self.timers_changed)
        self.dispatcher.stop()
        with self.lock:
            self.store.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and a SQLite transaction; webhooks go out only after commit."""
        with self.lock:
            outer = self._depth == 0
            self._depth += 1
            try:
                with self.store.transaction():
                    yield
            except BaseException:
                if outer:
                    self._outbox.clear()
                raise
            finally:
                self._depth -= 1
            if outer:
                pending, self._outbox = self._outbox, []
                for event, payload, endpoints in pending:
                    self.dispatcher.enqueue(event, payload, endpoints)

    def timer_set(self) -> None:
        """Tell whoever runs the timers that one was set (call after the transaction commits)."""
        with self.timers_changed:
            self.timers_generation += 1
            self.timers_changed.notify_all()

    def render(self, obj: dict[str, Any], *, copy_nested: bool = False) -> dict[str, Any]:
        """An object as the API shows it: no private keys, the live hosted-page URL.

        A new dict, whose nested values are ``obj``'s own unless ``copy_nested``: private keys
        live at the top level only, and what is rendered is encoded before ``obj`` changes.
        """
        shown: dict[str, Any]
        if copy_nested:
            shown = objects.public(obj)
        else:
            shown = {key: value for key, value in obj.items() if not key.startswith("_")}
        if shown.get("object") == "checkout.session":
            open_ = shown["status"] == "open"
            shown["url"] = f"{self.base_url}/c/pay/{shown['id']}" if open_ else None
        return shown

    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        ctx: RequestContext = NO_REQUEST,
        previous_attributes: dict[str, Any] | None = None,
    ) -> None:
        """Record an event about ``obj`` and queue its webhooks (sent after commit).

        The event is encoded here, for the store and for the webhooks: it shows ``obj`` as it is now.
        """
        event = objects.event(
            created=int(self.now()),
            event_type=event_type,
            snapshot=self.render(obj),
            request_id=ctx.request_id,
            idempotency_key=ctx.idempotency_key,
            previous_attributes=previous_attributes,
        )
        endpoints = [
            endpoint
            for endpoint in self.store.all("webhook_endpoint")
            if endpoint["status"] == "enabled" and event_matches(endpoint["enabled_events"], event_type)
        ]
        endpoints.reverse()  # oldest endpoint first
        event["pending_webhooks"] = len(endpoints)
        self.store.put(event)
        if endpoints:
            self._outbox.append((event, payload_for(event), endpoints))

    def _webhook_settled(self, event_id: str, endpoint_id: str, delivered: bool) -> None:
        # pending_webhooks counts deliveries not yet acknowledged with a 2xx, as Stripe's does.
        if not delivered or self.closing:
            return
        with self.transaction():
            event = self.store.get(event_id, "event")
            if event is not None and event["pending_webhooks"] > 0:
                event["pending_webhooks"] -= 1
                self.store.put(event)

    def add_webhook_endpoint(
        self, url: str, secret: str | None = None, enabled_events: list[str] | None = None
    ) -> dict[str, Any]:
        """Register (or re-key) an endpoint, e.g. from ``--webhook``; returns it with ``secret``."""
        with self.transaction():
            for endpoint in self.store.all("webhook_endpoint"):
                if endpoint["url"] == url:
                    if secret:
                        endpoint["_secret"] = secret
                    if enabled_events:
                        endpoint["enabled_events"] = enabled_events
                    endpoint["status"] = "enabled"
                    self.store.put(endpoint)
                    break
            else:
                endpoint = objects.webhook_endpoint(
                    created=int(self.now()),
                    url=url,
                    enabled_events=enabled_events or ["*"],
                    description=None,
                    metadata={},
                    api_version=None,
                    secret=secret or objects.new_webhook_secret(),
                )
                self.store.put(endpoint)
        shown = self.render(endpoint)
        shown["secret"] = endpoint["_secret"]
        return shown
