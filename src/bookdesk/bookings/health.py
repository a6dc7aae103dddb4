"""The machinery's health for the operator: the webhook inbox and its lag, the email outbox, reconciliation
and the workers' heartbeats. Four queries whatever the data, each on an index."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min
from django.utils import timezone

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.ops.heartbeats import WorkerState, stale_after, worker_states, workers_summary
from bookdesk.payments.models import ReconcileRun, WebhookEvent

# The webhook lag is read over this many of the latest applied events.
LAG_SAMPLE = 50


@dataclass(frozen=True)
class Health:
    now: dt.datetime
    inbox_waiting: int  # received or failed, to be applied
    inbox_failing: int  # of those, failed at least once
    inbox_oldest: dt.datetime | None
    dead_events: int
    lag_median: dt.timedelta | None  # from Stripe's creation of an event to its being applied
    lag_max: dt.timedelta | None
    outbox_waiting: int
    outbox_failing: int
    outbox_oldest: dt.datetime | None
    dead_emails: int
    last_reconciled_at: dt.datetime | None
    workers: list[WorkerState]
    workers_summary: str
    stale_after: dt.timedelta

    @property
    def stale_workers(self) -> list[WorkerState]:
        return [worker for worker in self.workers if worker.stale]

    @property
    def inbox_age(self) -> dt.timedelta | None:
        return self.now - self.inbox_oldest if self.inbox_oldest else None


def health(*, now: dt.datetime | None = None) -> Health:
    now = now or timezone.now()
    inbox = {
        row["status"]: row
        for row in WebhookEvent.objects.filter(status__in=[*_WAITING_EVENTS, WebhookEvent.Status.DEAD])
        .order_by()
        .values("status")
        .annotate(n=Count("pk"), oldest=Min("received_at"))
    }
    latest = list(
        WebhookEvent.objects.filter(status__in=[WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED])
        .order_by("-pk")
        .values_list("stripe_created", "processed_at")[:LAG_SAMPLE]
    )
    lags = sorted(max(dt.timedelta(0), done - created) for created, done in latest if done is not None)
    outbox = {
        row["status"]: row
        for row in OutgoingEmail.objects.filter(status__in=[*_WAITING_EMAILS, OutgoingEmail.Status.DEAD])
        .order_by()
        .values("status")
        .annotate(n=Count("pk"), oldest=Min("created_at"))
    }
    workers = worker_states(now=now)

    def n(rows: dict[str, Any], *statuses: str) -> int:
        return sum(int(rows[s]["n"]) for s in statuses if s in rows)

    def oldest(rows: dict[str, Any], *statuses: str) -> dt.datetime | None:
        found: list[dt.datetime] = [rows[s]["oldest"] for s in statuses if s in rows and rows[s]["oldest"]]
        return min(found) if found else None

    # The kept runs outlive the workers that made them (a worker stopped cleanly takes its heartbeat away).
    last_run = ReconcileRun.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
    reconciled = [worker.reconciled_at for worker in workers if worker.reconciled_at is not None]
    if last_run is not None and last_run.finished_at is not None:
        reconciled.append(last_run.finished_at)
    return Health(
        now=now,
        inbox_waiting=n(inbox, *_WAITING_EVENTS),
        inbox_failing=n(inbox, WebhookEvent.Status.FAILED),
        inbox_oldest=oldest(inbox, *_WAITING_EVENTS),
        dead_events=n(inbox, WebhookEvent.Status.DEAD),
        lag_median=lags[len(lags) // 2] if lags else None,
        lag_max=lags[-1] if lags else None,
        outbox_waiting=n(outbox, *_WAITING_EMAILS),
        outbox_failing=n(outbox, OutgoingEmail.Status.FAILED),
        outbox_oldest=oldest(outbox, *_WAITING_EMAILS),
        dead_emails=n(outbox, OutgoingEmail.Status.DEAD),
        last_reconciled_at=max(reconciled) if reconciled else None,
        workers=workers,
        workers_summary=workers_summary(workers),
        stale_after=stale_after(),
    )


_WAITING_EVENTS = (WebhookEvent.Status.RECEIVED, WebhookEvent.Status.FAILED)
_WAITING_EMAILS = (OutgoingEmail.Status.PENDING, OutgoingEmail.Status.FAILED)
