"""Raw SQL with public Django API only: run a statement, make its placeholders, read its timestamps.

For the few reads written in SQL because the ORM's CPU would cost more than the database's answer
(placement's seat count, the bookings list). The SQL text is assembled from models' own table names and
`%s` placeholders only; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
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


def bulk_update(objs: Sequence[Model], fields: Sequence[str]) -> int:
    """What ``Model.objects.bulk_update(objs, fields)`` writes, in one UPDATE … SET col = CASE pk WHEN … END.

    Written by hand: `bulk_update` compiles its CASE expressions field by field and row by row (38 ms of the
    worker's CPU for 50 payments, against under 1 ms for this text); the same SQL runs on PostgreSQL and on
    every SQLite Django supports. Table and column names are the model's own, quoted; every value is a
    parameter, prepared by its field as `save()` prepares it. tests/db/test_raw.py holds it to the ORM's.
    """
    if not objs:
        return 0
    model = type(objs[0])
    quote = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None  # noqa: S101 - every model has one
    key = quote(str(pk.column))
    targets = [model._meta.get_field(name) for name in fields]
    columns = [str(getattr(field, "column", name)) for field, name in zip(targets, fields, strict=True)]
    case = f"CASE {key} " + " ".join(["WHEN %s THEN %s"] * len(objs)) + " END"
    assignments = ", ".join(f"{quote(column)} = {case}" for column in columns)
    params: list[Any] = []
    for field in targets:
        for obj in objs:
            value = field.get_db_prep_save(getattr(obj, field.attname), connection=connection)  # type: ignore[union-attr,arg-type]
            params += [obj.pk, value]
    params += [obj.pk for obj in objs]
    sql = f"UPDATE {quote(table(model))} SET {assignments} WHERE {key} IN ({placeholders(objs)})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def custom_plans() -> None:
    """Within the open transaction, plan each statement for its own values (PostgreSQL; nothing elsewhere).

    The settings make psycopg prepare statements, and PostgreSQL switches a prepared statement to a generic
    plan after five runs. For a read over a range of days or a list of items, the generic plan cannot see
    the range and scans the table: the sales' best sellers took 1,100 ms with it and 25 ms without."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")


@contextmanager
def without_jit() -> Iterator[None]:
    """Run the block's statements without PostgreSQL's JIT compilation (nothing elsewhere), then restore it.

    The planner prices a subquery per row high: for the roster CSV's 10,000 rows it passed the JIT's threshold,
    and compiling took 50 ms of a 125 ms query that runs in 75 without it. A session setting, not `SET LOCAL`,
    as a streamed CSV reads its cursor outside a transaction."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET jit")
