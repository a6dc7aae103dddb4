"""Worker heartbeats: each `bookdesk worker` says it is alive every few seconds; one that stops is stale.

A worker writes its row (`heartbeat_beat`) every `WORKER_HEARTBEAT_SECONDS` and deletes it when it stops
cleanly (`heartbeat_forget`). A row not written for `WORKER_STALE_SECONDS` is a worker that died or hangs:
the console's health page and `/readyz` flag it. No row at all means no worker runs (the demo and tests run
the web alone sometimes): reported as such, not as a failure.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bookdesk.ops.models import WorkerHeartbeat


def heartbeat_seconds() -> float:
    return float(getattr(settings, "WORKER_HEARTBEAT_SECONDS", 5))


def stale_after() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "WORKER_STALE_SECONDS", 60)))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_beat(
    *, name: str | None = None, now: datetime | None = None, reconciled: bool = False
) -> WorkerHeartbeat:
    """Record that this worker process is alive (and, with `reconciled`, that it just reconciled)."""
    now = now or timezone.now()
    name = name or worker_name()
    host, _, pid = name.rpartition(":")
    defaults: dict[str, object] = {"seen_at": now}
    if reconciled:
        defaults["reconciled_at"] = now
    beat, _ = WorkerHeartbeat.objects.update_or_create(
        name=name,
        defaults=defaults,
        create_defaults={
            **defaults,
            "host": host or name,
            "pid": int(pid) if pid.isdigit() else 0,
            "started_at": now,
        },
    )
    return beat


def heartbeat_forget(*, name: str | None = None) -> None:
    """A worker that stops cleanly takes its row away: it is gone, not stale."""
    WorkerHeartbeat.objects.filter(name=name or worker_name()).delete()


@dataclass(frozen=True)
class WorkerState:
    name: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    reconciled_at: datetime | None
    stale: bool
    silent_for: timedelta


def worker_states(*, now: datetime | None = None) -> list[WorkerState]:
    """Every worker that has a heartbeat row, stale or not (one query)."""
    now = now or timezone.now()
    limit = stale_after()
    return [
        WorkerState(
            name=beat.name,
            host=beat.host,
            pid=beat.pid,
            started_at=beat.started_at,
            seen_at=beat.seen_at,
            reconciled_at=beat.reconciled_at,
            stale=now - beat.seen_at > limit,
            silent_for=max(timedelta(0), now - beat.seen_at),
        )
        for beat in WorkerHeartbeat.objects.order_by("name")
    ]


def workers_summary(states: list[WorkerState]) -> str:
    """ "ok", "none" (no worker has a row: none runs) or "stale: name, …"."""
    if not states:
        return "none"
    stale = [state.name for state in states if state.stale]
    return "stale: " + ", ".join(stale) if stale else "ok"
