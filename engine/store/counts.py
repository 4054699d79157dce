"""The counts per status: triggers (migration 6) append a delta row per change, so the dashboard's header sums a
few rows instead of counting the history, and no transaction waits on a shared counter row. A worker folds the
deltas now and then (`fold_counts`, from its heartbeat), so the sum stays a handful of rows.
"""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from engine.store.queries import Statements

FOLD_AFTER = 64
"""Fold only once this many delta rows piled up: an idle worker writes nothing."""


def fold_counts(pool: ConnectionPool, sql: Statements, least: int = FOLD_AFTER) -> None:
    with pool.connection() as c:
        c.execute(sql["fold_counts"], {"least": least})
