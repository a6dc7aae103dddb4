"""What falls due on the sandbox clock: sessions past ``expires_at`` expire, delayed payments settle,
refunds of the refund-failure test card fail, idempotency keys older than a day are forgotten.

:func:`run_due_timers` does it once; :class:`TimerLoop` does it in a thread whenever the next timer
falls due, the clock is moved or a timer is set (and at least every ``interval`` of clock time).
"""

from __future__ import annotations

import threading
import traceback

from stripe_sandbox import payments, refunds, sessions
from stripe_sandbox.state import NO_REQUEST, State

SWEEP_INTERVAL_SECONDS = 0.25
IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600


def run_due_timers(state: State) -> None:
    """Expire sessions past ``expires_at`` and settle delayed payments that are due."""
    with state.transaction():
        for timer_id, action in state.store.due_timers(state.now()):
            if action == "expire":
                sessions.expire_session(state, timer_id, NO_REQUEST, automatic=True)
            elif action.startswith("settle:"):
                payments.settle(state, timer_id, action.removeprefix("settle:"))
            elif action == "refund_fail":
                refunds.fail_refund(state, timer_id)
            state.store.clear_timer(timer_id)
        state.store.forget_idempotency_before(state.now() - IDEMPOTENCY_KEY_TTL_SECONDS)


def advance(state: State, seconds: float) -> float:
    """Move the clock forward and run what fell due before returning; the new time."""
    now = state.clock.advance(seconds)
    run_due_timers(state)
    return now


class TimerLoop:
    """Runs the state's timers in a thread as they fall due on its clock."""

    def __init__(self, state: State, interval: float = SWEEP_INTERVAL_SECONDS) -> None:
        self.state = state
        self.interval = interval
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="stripe-sandbox-timers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        changed = self.state.timers_changed
        with changed:
            self._stopped = True
            changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        state, changed = self.state, self.state.timers_changed
        while True:
            with changed:
                if self._stopped:
                    return
                generation = state.timers_generation
            try:
                run_due_timers(state)
                with state.lock:
                    next_due = state.store.next_timer_due()
            except Exception:
                traceback.print_exc()
                next_due = None
            wake_at = state.now() + self.interval
            if next_due is not None:
                wake_at = min(wake_at, next_due)
            with changed:
                # Moving the clock notifies too: each wake looks at the time again.
                while not self._stopped and state.timers_generation == generation and state.now() < wake_at:
                    state.clock.wait(changed, wake_at)
