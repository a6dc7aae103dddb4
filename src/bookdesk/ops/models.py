"""The ops app's one table: worker heartbeats (the console's health and /readyz read them)."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """A running `bookdesk worker` process, as it last said it was alive.

    A worker writes its row every few seconds (`ops.heartbeats.heartbeat_beat`) and deletes it when it
    stops cleanly; a row that stops moving is a worker that died or hangs.
    """

    name = models.CharField(max_length=200, unique=True, help_text="host:pid of the worker process.")
    host = models.CharField(max_length=150)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    reconciled_at = models.DateTimeField(null=True, blank=True, help_text="When it last reconciled with Stripe.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (seen {self.seen_at:%Y-%m-%d %H:%M:%S})"
