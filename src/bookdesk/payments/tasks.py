"""Background tasks of payments (django-tasks; run by `bookdesk worker`). Thin: they call services."""

from __future__ import annotations

from django_tasks import task

from bookdesk.payments import webhooks


@task()
def process_webhook_event(event_pk: int) -> str | None:
    return webhooks.process(event_pk)
