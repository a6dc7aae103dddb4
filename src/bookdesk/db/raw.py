"""Raw SQL with public Django API only: run a statement, make its placeholders, read its timestamps.

For the few reads written in SQL because the ORM's CPU would cost more than the database's answer
(placement's seat count, the bookings list). The SQL text is assembled from models' own table names and
`%s` placeholders only; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def table(model: type[Model]) -> str:
    """The model's table name, as its SQL names it."""
    return model._meta.db_table


def placeholders(values: Iterable[Any]) -> str:
    return ", ".join("%s" for _ in values)


def fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def at(moment: datetime) -> Any:
    """A datetime as a parameter of raw SQL on this database."""
    return connection.ops.adapt_datetimefield_value(moment)


def aware(value: Any) -> datetime | None:
    """A timestamp from a raw row: SQLite gives text or naive UTC, PostgreSQL an aware datetime."""
    if value is None or (isinstance(value, datetime) and timezone.is_aware(value)):
        return value
    found = parse_datetime(value) if isinstance(value, str) else value
    if found is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return timezone.make_aware(found, UTC) if timezone.is_naive(found) else found
