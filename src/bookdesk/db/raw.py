"""Raw SQL with public Django API only: run a statement, make its placeholders, read its timestamps, set
PostgreSQL's planner for a transaction or a block.

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


# What PostgreSQL should take a random page read to cost, for the console's reads of one course among millions
# of rows: its default (4, for spinning disks) priced a 10,000-seat roster's lookups of their order lines above a
# scan of all million, which took 130 ms of a 250 ms CSV whenever the query was planned without parallel workers.
# Data in memory or on SSD, as this shop's is, reads a random page about as fast as the next one.
RANDOM_PAGE_COST = "1.1"


def local_settings(**settings: str) -> None:
    """`SET LOCAL` PostgreSQL's `settings` for the rest of the open transaction (one statement; nothing elsewhere)."""
    if connection.vendor != "postgresql" or not settings:
        return
    with connection.cursor() as cursor:
        cursor.execute(*_set_config(settings, local=True))


def custom_plans() -> None:
    """Within the open transaction, plan each statement for its own values (PostgreSQL; nothing elsewhere).

    The settings make psycopg prepare statements, and PostgreSQL switches a prepared statement to a generic
    plan after five runs. For a read over a range of days or a list of items, the generic plan cannot see
    the range and scans the table: the sales' best sellers took 1,100 ms with it and 25 ms without."""
    local_settings(plan_cache_mode="force_custom_plan")


@contextmanager
def session_settings(**settings: str) -> Iterator[None]:
    """PostgreSQL's `settings` for the block's statements, then each put back as it was (two statements before,
    one after; nothing elsewhere). Session settings, not `SET LOCAL`: a streamed CSV reads its cursor outside a
    transaction."""
    if connection.vendor != "postgresql" or not settings:
        yield
        return
    names = list(settings)
    with connection.cursor() as cursor:
        found = ", ".join("current_setting(%s)" for _ in names)
        cursor.execute(f"SELECT {found}", names)
        before = dict(zip(names, cursor.fetchone(), strict=True))
        cursor.execute(*_set_config(settings, local=False))
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(*_set_config(before, local=False))


def _set_config(settings: dict[str, str], *, local: bool) -> tuple[str, list[str]]:
    """One statement setting each of `settings`: for the transaction (`local`) or the session."""
    calls = ", ".join(f"set_config(%s, %s, {str(local).lower()})" for _ in settings)
    return f"SELECT {calls}", [part for item in settings.items() for part in item]
