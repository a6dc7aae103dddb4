"""The sandbox's time, which everything that waits in the sandbox waits on.

:class:`Clock` follows the host (it runs on from the host's time at start, monotonically) and can
be moved forward; :class:`ManualClock` stands still until it is moved, so a test decides when a
retry, an expiry or a settlement falls due instead of sleeping for it. Whoever waits for a moment
on the clock (webhook lanes, the timer loop) registers its :class:`threading.Condition` with
:meth:`Clock.watch` and waits with :meth:`Clock.wait`: moving the clock wakes it to look again.
"""

from __future__ import annotations

import threading
import time


class Clock:
    """Unix seconds, running with the host's clock, plus whatever :meth:`advance` added."""

    def __init__(self) -> None:
        self._origin = time.time() - time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()
        self._watchers: list[threading.Condition] = []

    def now(self) -> float:
        return self._origin + time.monotonic() + self._offset

    @property
    def offset(self) -> float:
        """How far the clock was moved forward."""
        return self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward and wake whoever waits on it; returns the new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._moved(seconds)
            watchers = list(self._watchers)
        for condition in watchers:
            with condition:
                condition.notify_all()
        return self.now()

    def watch(self, condition: threading.Condition) -> None:
        """Have :meth:`advance` notify ``condition``."""
        with self._lock:
            self._watchers.append(condition)

    def unwatch(self, condition: threading.Condition) -> None:
        with self._lock:
            if condition in self._watchers:
                self._watchers.remove(condition)

    def wait(self, condition: threading.Condition, until: float | None) -> None:
        """Wait on ``condition`` (held by the caller) until it is notified or the clock reads ``until``.

        ``None`` waits for a notification only. It may return early, as ``Condition.wait`` does:
        callers check what they wait for in a loop.
        """
        if until is None:
            condition.wait()
            return
        remaining = until - self.now()
        if remaining > 0:
            condition.wait(self._host_seconds(remaining))

    def _moved(self, seconds: float) -> None:
        self._offset += seconds

    def _host_seconds(self, clock_seconds: float) -> float | None:
        """How long the host waits for the clock to move on by ``clock_seconds`` (None: until moved)."""
        return clock_seconds


class ManualClock(Clock):
    """A clock that stands still (at ``start``, by default the host's time now) until advanced."""

    def __init__(self, start: float | None = None) -> None:
        super().__init__()
        self._now = time.time() if start is None else start

    def now(self) -> float:
        return self._now

    def _moved(self, seconds: float) -> None:
        # The time itself is what moves, so that "due = now + delay" is reached by advance(delay) exactly.
        self._offset += seconds
        self._now += seconds

    def _host_seconds(self, clock_seconds: float) -> float | None:
        return None
