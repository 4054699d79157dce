"""The store of retention: delete finished workflows older than an age, a batch per short transaction.

A batch locks up to `BATCH` expired workflows, oldest `finished_at` first through a partial index, `FOR UPDATE
SKIP LOCKED` (a row a controller is resuming or deleting is left for the next sweep), then deletes them with
their steps and attempts as `Control.delete` does (by id arrays, so every delete is an index scan); messages,
events and streams go by ON DELETE CASCADE. It locks only the rows it deletes, all of finished workflows, which
no checkpoint writes. An advisory transaction lock keeps batches one at a time across processes: they would be
correct side by side (SKIP LOCKED), but would only double the load on the database. The statements are in
`sql/retention.sql`.
"""

from __future__ import annotations

from datetime import datetime

from psycopg import Connection
from psycopg_pool import ConnectionPool

from engine.store.ops import delete_finished
from engine.store.queries import for_schema

BATCH = 1000
"""Workflows deleted per transaction: each batch commits in milliseconds and holds its locks no longer."""


class RetentionStore:
    def __init__(self, pool: ConnectionPool, schema: str):
        self.pool = pool
        self.sql = for_schema(schema)
        self.lock_key = f"{schema}.retention"

    def delete_batch(self, age: float, skew: float = 0.0, limit: int = BATCH, wait: bool = True) -> int | None:
        """Delete up to `limit` expired workflows in one transaction: how many went, or None when `wait` is
        false and another process's batch holds the lock."""
        with self.pool.connection() as c, c.transaction():
            return self.batch_in(c, age, skew, limit, wait)

    def batch_in(self, conn: Connection, age: float, skew: float, limit: int, wait: bool) -> int | None:
        """One batch in the caller's open transaction (committing it releases the lock and the rows)."""
        lock = self.sql["retention_lock" if wait else "retention_try_lock"]
        row = conn.execute(lock, {"key": self.lock_key}).fetchone()
        if not wait and not (row and row[0]):
            return None
        params = {"age": age, "skew": skew, "limit": limit}
        ids = [row[0] for row in conn.execute(self.sql["retention_pick"], params).fetchall()]
        return len(delete_finished(conn, self.sql, ids)) if ids else 0

    def count(self, age: float, skew: float = 0.0) -> int:
        """How many workflows a sweep would delete now."""
        with self.pool.connection() as c:
            row = c.execute(self.sql["retention_count"], {"age": age, "skew": skew}).fetchone()
        return int(row[0]) if row else 0

    def next_due(self, age: float) -> datetime | None:
        """When the oldest finished workflow (without running children) reaches `age`, on the clock its
        `finished_at` was recorded on; None when there is none."""
        with self.pool.connection() as c:
            row = c.execute(self.sql["retention_next_due"], {"age": age}).fetchone()
        return row[0] if row else None
