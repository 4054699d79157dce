"""The store of workflow timeouts: cancel, as timed out, the workflows whose recorded deadline has passed.

A timed-out workflow is cancelled exactly as `Control.cancel` does it (its descendants with it, the
statuses of `TRANSITIONS[CANCEL]`, a `cancel` NOTIFY in the same transaction, so the workers running any
of them stop the same way), and the reason is recorded as its error. The statements are in
`sql/deadlines.sql`; the deadline itself is set by a trigger of migration 4.
"""

from __future__ import annotations

import json

from psycopg_pool import ConnectionPool

from engine.states import Operation, allowed_sources
from engine.store.names import control_channel
from engine.store.queries import for_schema

SWEEP_LIMIT = 1000
"""Workflows timed out per statement: a backlog of overdue workflows is worked off a batch at a time."""


class DeadlineStore:
    def __init__(self, pool: ConnectionPool, schema: str):
        self.pool = pool
        self.sql = for_schema(schema)
        self.channel = control_channel(schema)

    def time_out(self, ids: list[str] | None, limit: int = SWEEP_LIMIT) -> list[str]:
        """Cancel those of `ids` (None: any workflow) whose deadline has passed, with their descendants."""
        params = {"ids": ids, "limit": limit, "sources": allowed_sources(Operation.CANCEL)}
        with self.pool.connection() as c, c.transaction():
            done = [row[0] for row in c.execute(self.sql["time_out"], params).fetchall()]
            if done:
                c.execute(self.sql["notify"], (self.channel, json.dumps({"op": "cancel", "ids": done})))
        return done

    def deadlines_of(self, ids: list[str]) -> dict[str, float]:
        """Seconds until the deadline of each of these workflows that is active and has one."""
        with self.pool.connection() as c:
            return {row[0]: row[1] for row in c.execute(self.sql["deadlines_of"], (ids,)).fetchall()}
