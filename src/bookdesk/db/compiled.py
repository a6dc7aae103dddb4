"""The performance code that uses Django's private API: the only module that does (compiler, `_state`,
`_prefetched_objects_cache`), each use pinned by tests/db/test_compiled.py against the ORM doing the same,
on SQLite and PostgreSQL.

The statements every checkout repeats, compiled once per model and database instead of on every run.

Django builds a statement's SQL each time a queryset runs or a model is saved; for the few statements a
checkout always repeats (lock the rows that grow; insert the order, its line and hold, audit entries, the
payment; record the session on the payment; read the signed-in user) that compile is most of the
statement's CPU. These helpers keep the SQL of each shape and reuse it:

- `lock(Model, ids)`: the rows, locked in primary-key order (what ``select_for_update().filter(pk__in=ids)
  .order_by("pk")`` runs: the ORM compiles it once, with its FOR UPDATE, quoting and value converters);
- `get(Model, pk)`: one row, unlocked (the signed-in user, read on every request);
- `insert(obj)`: what ``obj.save()`` runs for a new row, RETURNING its primary key;
- `update(obj, fields)`: what ``obj.save(update_fields=fields)`` runs, ``auto_now`` fields included.

- `hand_prefetched(obj, name, related)`: what ``prefetch_related(name)`` leaves on `obj`, from rows in hand
  (the lines an order was just placed with), so that reading them costs no query.

Only for plain models (no multi-table inheritance) that no signal listens to: bookdesk registers none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.fields import AutoFieldMixin

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]

# (database, model, how many ids, locking) → (SQL, attribute names of the columns, each column's converters).
_selects: dict[tuple[str, type[Model], int, bool], tuple[str, list[str], list[tuple[Any, list[Converter]]]]] = {}
_inserts: dict[tuple[str, type[Model]], tuple[str, list[Field[Any, Any]]]] = {}
_updates: dict[tuple[str, type[Model], tuple[str, ...]], tuple[str, list[Field[Any, Any]]]] = {}


def lock(model: type[M], ids: Iterable[int], *, using: str = DEFAULT_DB_ALIAS) -> dict[int, M]:
    """The rows of these primary keys, row-locked in primary-key order (two lockers never deadlock).

    Call it inside a transaction. SQLite has no row locks: its transactions take the write lock up front.
    """
    return {obj.pk: obj for obj in _select(model, sorted(set(ids)), using=using, for_update=True)}


def get(model: type[M], pk: int, *, using: str = DEFAULT_DB_ALIAS) -> M | None:
    """The row of this primary key (what ``filter(pk=pk).first()`` reads), or None."""
    found = _select(model, [pk], using=using, for_update=False)
    return found[0] if found else None


def _select(model: type[M], ids: list[int], *, using: str, for_update: bool) -> list[M]:
    if not ids:
        return []
    key = (using, model, len(ids), for_update)
    if key not in _selects:
        _selects[key] = _compile_select(model, len(ids), using, for_update=for_update)
    sql, attnames, columns = _selects[key]
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
    found: list[M] = []
    for row in rows:
        values = list(row)
        for index, (expression, converters) in enumerate(columns):
            for convert in converters:
                values[index] = convert(values[index], expression, connection)
        found.append(model.from_db(using, attnames, values))
    return found


def _compile_select(
    model: type[Model], count: int, using: str, *, for_update: bool
) -> tuple[str, list[str], list[tuple[Any, list[Converter]]]]:
    # Compiled by the ORM itself, once, with stand-in ids; the SQL takes the real ones in the same places.
    queryset = model._default_manager.using(using).filter(pk__in=range(count)).order_by("pk")
    if for_update:
        queryset = queryset.select_for_update()
    compiler = queryset.query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    if list(params) != list(range(count)):
        raise ValueError(f"cannot reuse the statement of {model.__name__}: parameters {params!r}")
    expressions = [expression for expression, _, _ in compiler.select]
    converters = compiler.get_converters(expressions)
    columns = [converters.get(index, ([], expression)) for index, expression in enumerate(expressions)]
    return (
        sql,
        [expression.target.attname for expression in expressions],
        [(expression, list(found)) for found, expression in columns],
    )


def insert(obj: M, *, using: str = DEFAULT_DB_ALIAS) -> M:
    """Write a new row for `obj` (defaults and ``auto_now_add`` applied, as ``save()`` does); sets its pk."""
    model = type(obj)
    connection = connections[using]
    key = (using, model)
    if key not in _inserts:
        _inserts[key] = _compile_insert(model, connection)
    sql, fields = _inserts[key]
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection=connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (obj.pk,) = cursor.fetchone()
    obj._state.adding = False
    obj._state.db = using
    return obj


def _compile_insert(model: type[Model], connection: BaseDatabaseWrapper) -> tuple[str, list[Field[Any, Any]]]:
    quote = connection.ops.quote_name
    fields = [field for field in model._meta.local_concrete_fields if not isinstance(field, AutoFieldMixin)]
    columns = ", ".join(quote(str(field.column)) for field in fields)
    placeholders = ", ".join("%s" for _ in fields)
    pk = quote(str(model._meta.pk.column))  # type: ignore[union-attr]
    # Identifiers from the model's own metadata, quoted; every value is a parameter.
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders}) RETURNING {pk}"  # noqa: S608
    return sql, fields


def update(obj: Model, fields: Sequence[str], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Write these fields of `obj` (and its ``auto_now`` fields, as ``save(update_fields=…)`` does)."""
    model = type(obj)
    connection = connections[using]
    key = (using, model, tuple(fields))
    if key not in _updates:
        _updates[key] = _compile_update(model, fields, connection)
    sql, targets = _updates[key]
    params = [field.get_db_prep_save(field.pre_save(obj, False), connection=connection) for field in targets]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, obj.pk])
        if cursor.rowcount != 1:  # as save(update_fields=…) says it
            raise DatabaseError(f"Save with update_fields did not affect any rows ({model.__name__} {obj.pk}).")


def _compile_update(
    model: type[Model], names: Sequence[str], connection: BaseDatabaseWrapper
) -> tuple[str, list[Field[Any, Any]]]:
    quote = connection.ops.quote_name
    opts = model._meta
    targets = [opts.get_field(name) for name in names]
    targets += [f for f in opts.local_concrete_fields if getattr(f, "auto_now", False) and f not in targets]
    assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in targets)  # type: ignore[union-attr]
    pk = quote(str(opts.pk.column))  # type: ignore[union-attr]
    sql = f"UPDATE {quote(opts.db_table)} SET {assignments} WHERE {pk} = %s"  # noqa: S608  (as in _compile_insert)
    return sql, targets  # type: ignore[return-value]


def hand_prefetched(obj: Model, name: str, related: Sequence[Model]) -> None:
    """Leave `related` on `obj` as ``prefetch_related(name)`` would: ``getattr(obj, name).all()`` reads no query."""
    cache = obj.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[name] = list(related)
