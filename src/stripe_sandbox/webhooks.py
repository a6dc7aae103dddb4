"""Webhook delivery: signed as Stripe signs, at least once, retried with backoff.

Each endpoint has its own lane (a thread and a queue ordered by due time), so a slow or
failing endpoint never holds up another, and API requests never wait for any of them. Due times
are read on the sandbox's :class:`~stripe_sandbox.clock.Clock`: moving it forward wakes the lanes.
"""

from __future__ import annotations

import collections
import dataclasses
import heapq
import hmac
import itertools
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from hashlib import sha256
from typing import Any

from stripe_sandbox import event_types
from stripe_sandbox.clock import Clock
from stripe_sandbox.faults import Faults
from stripe_sandbox.objects import to_json

DEFAULT_RETRY_SCHEDULE = (1.0, 2.0, 4.0, 8.0)  # seconds between attempts: 5 attempts
REORDER_WINDOW_SECONDS = 0.5
DELIVERY_TIMEOUT_SECONDS = 10.0
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>``."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_matches(enabled_events: list[str], event_type: str) -> bool:
    """Whether an endpoint listening to ``enabled_events`` (types, ``*``, ``charge.*``) gets the event."""
    return event_types.matches(enabled_events, event_type)


@dataclasses.dataclass(order=True)
class Delivery:
    due: float
    order: int
    event_id: str = dataclasses.field(compare=False)
    event_type: str = dataclasses.field(compare=False)
    endpoint_id: str = dataclasses.field(compare=False)
    url: str = dataclasses.field(compare=False)
    secret: str = dataclasses.field(compare=False)
    payload: bytes = dataclasses.field(compare=False)
    attempt: int = dataclasses.field(default=1, compare=False)
    # Duplicates (a fault) do not count towards the event's pending_webhooks.
    counted: bool = dataclasses.field(default=True, compare=False)


Settled = Callable[[str, str, bool], None]


class WebhookDispatcher:
    def __init__(
        self,
        *,
        faults: Faults,
        clock: Clock,
        retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE,
        timeout: float = DELIVERY_TIMEOUT_SECONDS,
        on_settled: Settled | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.faults = faults
        self.clock = clock
        self.retry_schedule = tuple(retry_schedule)
        self.timeout = timeout
        self.on_settled = on_settled
        self.rng = rng or random.Random()  # noqa: S311 - fault injection, not crypto
        self.log: collections.deque[dict[str, Any]] = collections.deque(maxlen=2000)
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()
        self._order = itertools.count()
        self._stopped = False

    def enqueue(self, event: dict[str, Any], payload: bytes, endpoints: list[dict[str, Any]]) -> None:
        now = self.clock.now()
        for endpoint in endpoints:
            delivery = Delivery(
                due=now,
                order=next(self._order),
                event_id=event["id"],
                event_type=event["type"],
                endpoint_id=endpoint["id"],
                url=endpoint["url"],
                secret=endpoint["_secret"],
                payload=payload,
            )
            faults = self.faults
            if self.rng.random() < faults.webhook_drop_rate:
                self._record(delivery, status=None, error="dropped (fault)")
                self._settle(delivery, delivered=False)
                continue
            copies = [delivery]
            if self.rng.random() < faults.webhook_duplicate_rate:
                duplicate = dataclasses.replace(delivery, order=next(self._order), counted=False)
                copies.append(duplicate)
            for copy in copies:
                if faults.webhook_reorder:
                    copy.due = now + self.rng.uniform(0, REORDER_WINDOW_SECONDS)
                self._lane(endpoint["id"]).push(copy)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.stop()

    def pending(self) -> int:
        """Deliveries queued or being attempted; none means nothing more will be sent until an event."""
        with self._lock:
            lanes = list(self._lanes.values())
        return sum(lane.pending() for lane in lanes)

    def deliver(self, delivery: Delivery) -> None:
        """One attempt; on failure, schedule the next one or give up."""
        status: int | None = None
        error: str | None = None
        # The receiver checks the signature's age against its own clock: the host's, not the sandbox's.
        timestamp = int(time.time())
        request = urllib.request.Request(  # noqa: S310 - endpoint URLs are http(s), validated on create
            delivery.url,
            data=delivery.payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign(delivery.payload, delivery.secret, timestamp),
                "User-Agent": USER_AGENT,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
                response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            error = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        if ok:
            self._settle(delivery, delivered=True)
        elif delivery.attempt <= len(self.retry_schedule) and not self._stopped:
            delay = self.retry_schedule[delivery.attempt - 1]
            retry = dataclasses.replace(
                delivery,
                due=self.clock.now() + delay,
                order=next(self._order),
                attempt=delivery.attempt + 1,
            )
            self._lane(delivery.endpoint_id).push(retry)
        else:
            self._settle(delivery, delivered=False)
        # Logged last: once an attempt shows in the log, its outcome (a retry queued) is in place.
        self._record(delivery, status=status, error=None if ok else error)

    def _settle(self, delivery: Delivery, *, delivered: bool) -> None:
        if delivery.counted and self.on_settled is not None:
            self.on_settled(delivery.event_id, delivery.endpoint_id, delivered)

    def _record(self, delivery: Delivery, *, status: int | None, error: str | None) -> None:
        self.log.append(
            {
                "event": delivery.event_id,
                "type": delivery.event_type,
                "endpoint": delivery.endpoint_id,
                "url": delivery.url,
                "attempt": delivery.attempt,
                "status": status,
                "error": error,
                "at": self.clock.now(),
            }
        )

    def _lane(self, endpoint_id: str) -> _Lane:
        with self._lock:
            lane = self._lanes.get(endpoint_id)
            if lane is None:
                lane = _Lane(self, endpoint_id)
                self._lanes[endpoint_id] = lane
                if not self._stopped:
                    lane.start()
            return lane


class _Lane:
    """One endpoint's deliveries, sent one at a time in due order."""

    def __init__(self, dispatcher: WebhookDispatcher, endpoint_id: str) -> None:
        self.dispatcher = dispatcher
        self.clock = dispatcher.clock
        self.queue: list[Delivery] = []
        self.condition = threading.Condition()
        self.busy = False  # a delivery taken from the queue is being attempted
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name=f"stripe-sandbox-webhooks-{endpoint_id}", daemon=True)

    def start(self) -> None:
        self.clock.watch(self.condition)
        self.thread.start()

    def pending(self) -> int:
        with self.condition:
            return len(self.queue) + self.busy

    def push(self, delivery: Delivery) -> None:
        with self.condition:
            heapq.heappush(self.queue, delivery)
            self.condition.notify()

    def stop(self) -> None:
        self.clock.unwatch(self.condition)
        with self.condition:
            self.stopped = True
            self.condition.notify()
        if self.thread.is_alive():
            self.thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self.condition:
                self.busy = False
                while not self.stopped and not (self.queue and self.queue[0].due <= self.clock.now()):
                    self.clock.wait(self.condition, self.queue[0].due if self.queue else None)
                if self.stopped:
                    return
                delivery = heapq.heappop(self.queue)
                self.busy = True
            self.dispatcher.deliver(delivery)


def payload_for(event: dict[str, Any]) -> bytes:
    return to_json(event)
