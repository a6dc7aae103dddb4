"""The sandbox's state in SQLite: in memory by default, a file to survive restarts.

One connection, guarded by the sandbox's lock (the caller holds it); every write
happens inside :meth:`Store.transaction`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_by_kind ON objects (kind, created, seq);
CREATE TABLE IF NOT EXISTS timers (
    id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    due REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_by_due ON timers (due);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_by_created ON idempotency (created);
"""


# An object's place in its kind's list: (created, seq), newest first.
Position = tuple[int, int]
_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "="}


def _of_kind(kind: str, created: dict[str, int] | None) -> tuple[str, list[Any]]:
    """The WHERE clause (and its arguments) for the objects of a kind in a ``created`` range.

    Only fixed words go into the SQL text; every value is a bound parameter.
    """
    sql = "kind = ?"
    args: list[Any] = [kind]
    for name, bound in (created or {}).items():
        sql += f" AND created {_OPERATORS[name]} ?"
        args.append(bound)
    return sql, args


class Store:
    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._depth = 0
        row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM objects").fetchone()
        self._seq = int(row[0])

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing writes; nested uses join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    # --- objects ------------------------------------------------------------------

    def put(self, obj: dict[str, Any]) -> None:
        # One statement for a new object and a changed one alike; an update leaves kind, created
        # and seq as they were, and skips a seq (only their order matters).
        self._seq += 1
        self._db.execute(
            "INSERT INTO objects (id, kind, created, seq, body) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            (obj["id"], obj["object"], int(obj["created"]), self._seq, json.dumps(obj)),
        )

    def get(self, object_id: str, kind: str | None = None) -> dict[str, Any] | None:
        row = self._db.execute("SELECT kind, body FROM objects WHERE id = ?", (object_id,)).fetchone()
        if row is None or (kind is not None and row[0] != kind):
            return None
        return json.loads(row[1])  # type: ignore[no-any-return]

    def delete(self, object_id: str) -> None:
        self._db.execute("DELETE FROM objects WHERE id = ?", (object_id,))

    def all(self, kind: str, created: dict[str, int] | None = None) -> list[dict[str, Any]]:
        """Objects of one kind, newest first (Stripe's list order)."""
        return list(self.scan(kind, created))

    def scan(
        self,
        kind: str,
        created: dict[str, int] | None = None,
        *,
        older_than: Position | None = None,
        newer_than: Position | None = None,
    ) -> Generator[dict[str, Any], None, None]:
        """Objects of one kind in list order (newest first), read one by one as they are taken.

        ``older_than``: only those after that position in the list; ``newer_than``: only those
        before it, nearest first (that is, oldest first).
        """
        sql, args = _of_kind(kind, created)
        order = "DESC"
        if older_than is not None:
            sql += " AND (created, seq) < (?, ?)"
            args += older_than
        if newer_than is not None:
            sql += " AND (created, seq) > (?, ?)"
            args += newer_than
            order = "ASC"
        sql = f"SELECT body FROM objects WHERE {sql} ORDER BY created {order}, seq {order}"  # noqa: S608 - fixed words
        for row in self._db.execute(sql, args):
            yield json.loads(row[0])

    def position(
        self, object_id: str, kind: str, created: dict[str, int] | None = None
    ) -> tuple[Position, dict[str, Any]] | None:
        """Where an object of a kind (and ``created`` range) stands in its list, and the object itself."""
        sql, args = _of_kind(kind, created)
        sql = f"SELECT created, seq, body FROM objects WHERE {sql} AND id = ?"  # noqa: S608 - fixed words
        found = self._db.execute(sql, [*args, object_id]).fetchone()
        if found is None:
            return None
        return (int(found[0]), int(found[1])), json.loads(found[2])

    # --- timers (session expiry, delayed settlement) ----------------------------------

    def set_timer(self, timer_id: str, action: str, due: float) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO timers (id, action, due) VALUES (?, ?, ?)",
            (timer_id, action, due),
        )

    def clear_timer(self, timer_id: str) -> None:
        self._db.execute("DELETE FROM timers WHERE id = ?", (timer_id,))

    def due_timers(self, now: float) -> list[tuple[str, str]]:
        rows = self._db.execute("SELECT id, action FROM timers WHERE due <= ? ORDER BY due", (now,))
        return [(row[0], row[1]) for row in rows]

    def next_timer_due(self) -> float | None:
        row = self._db.execute("SELECT MIN(due) FROM timers").fetchone()
        return None if row[0] is None else float(row[0])

    # --- idempotency ----------------------------------------------------------------

    def idempotent_response(self, scope: str) -> tuple[str, int, list[tuple[str, str]], bytes] | None:
        row = self._db.execute(
            "SELECT fingerprint, status, headers, body FROM idempotency WHERE scope = ?",
            (scope,),
        ).fetchone()
        if row is None:
            return None
        headers = [(str(k), str(v)) for k, v in json.loads(row[2])]
        return row[0], int(row[1]), headers, bytes(row[3])

    def save_idempotent_response(
        self,
        scope: str,
        fingerprint: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        now: float,
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO idempotency (scope, fingerprint, status, headers, body, created)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (scope, fingerprint, status, json.dumps(headers), body, now),
        )

    def forget_idempotency_before(self, cutoff: float) -> None:
        self._db.execute("DELETE FROM idempotency WHERE created < ?", (cutoff,))
