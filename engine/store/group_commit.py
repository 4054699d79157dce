"""Group commit for checkpoints: concurrent workflows share commits, a lone workflow pays nothing.

Up to `max_writers` threads write their own checkpoint at once, each on its own connection (no
hand-off, so a single workflow's step costs exactly one round trip). A checkpoint that arrives while
all writers are busy is queued; a writer that finishes its own write takes whatever queued meanwhile
and commits it as one pipelined transaction. Under a burst (a recovery, a load test) hundreds of
checkpoints then cost a handful of commits instead of one each.
"""

from __future__ import annotations

import threading
from typing import Any

from psycopg_pool import ConnectionPool


class _Queued:
    __slots__ = ("query", "params", "done", "result", "error")

    def __init__(self, query: str, params: Any):
        self.query = query
        self.params = params
        self.done = threading.Event()
        self.result = False
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(self, pool: ConnectionPool, max_writers: int = 4):
        self.pool = pool
        self.max_writers = max_writers
        self._lock = threading.Lock()
        self._writers = 0
        self._queued: list[_Queued] = []

    def write(self, query: str, params: Any) -> bool:
        """Run a checkpoint statement that returns one row with a count; True when it counted a row."""
        with self._lock:
            if self._writers < self.max_writers:
                self._writers += 1
                mine = None
            else:
                mine = _Queued(query, params)
                self._queued.append(mine)
        if mine is not None:
            mine.done.wait()
            if mine.error is not None:
                raise mine.error
            return mine.result
        try:
            with self.pool.connection() as conn:
                row = conn.execute(query, params).fetchone()
            return bool(row and row[0])
        finally:
            self._drain()

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._queued = self._queued, []
                if not batch:
                    self._writers -= 1
                    return
            self._write_batch(batch)

    def _write_batch(self, batch: list[_Queued]) -> None:
        try:
            with self.pool.connection() as conn:
                with conn.pipeline(), conn.transaction():
                    cursors = [conn.execute(item.query, item.params) for item in batch]
                for item, cursor in zip(batch, cursors, strict=True):
                    row = cursor.fetchone()
                    item.result = bool(row and row[0])
        except Exception:
            self._write_one_by_one(batch)
        for item in batch:
            item.done.set()

    def _write_one_by_one(self, batch: list[_Queued]) -> None:
        """A failed batch rolled back whole: retry each alone, so one bad statement fails only its own."""
        for item in batch:
            try:
                with self.pool.connection() as conn:
                    row = conn.execute(item.query, item.params).fetchone()
                item.result = bool(row and row[0])
            except Exception as exc:
                item.error = exc
