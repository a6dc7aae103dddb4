"""Request-scoped logging: the current request id lives in a contextvar that every log record carries."""

from __future__ import annotations

import contextvars
import logging

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("bookdesk_request_id", default="-")


def get_request_id() -> str:
    """The id of the request being served on this thread/task, or "-" outside a request."""
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (kept if the caller passed one in `extra`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = request_id_var.get()
            if request_id == "-":
                # django.request logs 5xx/4xx after the middleware returned; it passes the request along.
                request_id = getattr(getattr(record, "request", None), "request_id", "-")
            record.request_id = request_id
        return True
