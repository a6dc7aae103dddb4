"""The sandbox's state in SQLite: in memory by default, a file to survive restarts.

One connection, guarded by the sandbox's lock (the caller holds it); every write
happens inside :meth:`Store.transaction`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
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
        body = json.dumps(obj)
        updated = self._db.execute("UPDATE objects SET body = ? WHERE id = ?", (body, obj["id"])).rowcount
        if not updated:
            self._seq += 1
            self._db.execute(
                "INSERT INTO objects (id, kind, created, seq, body) VALUES (?, ?, ?, ?, ?)",
                (obj["id"], obj["object"], int(obj["created"]), self._seq, body),
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
        sql = "SELECT body FROM objects WHERE kind = ?"
        args: list[Any] = [kind]
        operators = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "="}
        for name, bound in (created or {}).items():
            sql += f" AND created {operators[name]} ?"
            args.append(bound)
        sql += " ORDER BY created DESC, seq DESC"
        return [json.loads(row[0]) for row in self._db.execute(sql, args)]

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
