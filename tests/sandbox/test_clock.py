"""The sandbox clock: what waits on it wakes when it moves; a manual one stands still until then."""

from __future__ import annotations

import threading
import time

import pytest

from stripe_sandbox.clock import Clock, ManualClock

from .conftest import wait_for


def test_a_manual_clock_stands_still_until_advanced() -> None:
    clock = ManualClock(start=1_000.0)
    assert clock.now() == 1_000.0
    assert clock.advance(30) == 1_030.0
    assert (clock.now(), clock.offset) == (1_030.0, 30)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)


def test_a_due_time_is_reached_by_advancing_exactly_the_delay() -> None:
    clock = ManualClock(start=1_777_000_000.0)
    for delay in (0.05, 0.1, 0.2, 0.4):
        due = clock.now() + delay
        clock.advance(delay)
        assert due <= clock.now()


def test_the_host_clock_runs_on_and_is_moved_forward_by_the_offset() -> None:
    clock = Clock()
    assert abs(clock.now() - time.time()) < 1
    clock.advance(3600)
    assert abs(clock.now() - time.time() - 3600) < 1
    assert clock.offset == 3600


def test_advancing_wakes_who_waits_for_a_later_moment() -> None:
    clock = ManualClock()
    condition = threading.Condition()
    clock.watch(condition)
    due = clock.now() + 60
    woke: list[float] = []

    def waiter() -> None:
        with condition:
            while clock.now() < due:
                clock.wait(condition, due)
        woke.append(clock.now())

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    clock.advance(59)
    clock.advance(1)
    wait_for(lambda: woke)
    assert woke == [due]
    thread.join(timeout=5)
    clock.unwatch(condition)
