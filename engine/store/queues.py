"""The store of queues (issue 10): definitions, queued inserts, the claim, debounce. SQL in `sql/queues.sql`.

A claim of one queue partition is one transaction that first takes an advisory lock on that partition,
so workers claiming at the same moment count and take in turn: the counts each one reads include what
the one before it committed, and `concurrency` and the limiter hold across all workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row
from psycopg_pool import ConnectionPool

from engine.store.queries import for_schema
from engine.store.runtime import ClaimedWorkflow


@dataclass(frozen=True)
class QueueDefinition:
    """What a queue allows, as recorded in the `queues` table (None: no such limit)."""

    name: str
    concurrency: int | None = None
    worker_concurrency: int | None = None
    rate_limit: int | None = None
    rate_period: float | None = None
    priority_enabled: bool = False
    partitioned: bool = False


@dataclass(frozen=True)
class QueueClaim:
    """What one claim of a queue took, and in how many seconds the limiter next opens (None: not limited)."""

    claimed: list[ClaimedWorkflow]
    opens_in: float | None


class Duplicate(Exception):
    """A live workflow holds this de-duplication id in this queue."""

    def __init__(self, workflow_id: str):
        super().__init__(workflow_id)
        self.workflow_id = workflow_id


STARTS_CELLS = 20
STARTS_BUCKET = 9.0
"""A queue's starts are counted per 9 s over the last 3 minutes, like the dashboard's throughput."""


class QueueStore:
    def __init__(self, pool: ConnectionPool, schema: str):
        self.pool = pool
        self.schema = schema
        self.sql = for_schema(schema)

    def record_definitions(self, queues: list[QueueDefinition]) -> None:
        with self.pool.connection() as c:
            for q in queues:
                c.execute(self.sql["upsert_queue"], q.__dict__)

    def serve(self, executor_id: str, queues: list[str]) -> None:
        """Record the queues this executor serves: a queued workflow of none of a live executor's queues says so."""
        with self.pool.connection() as c:
            c.execute(self.sql["serve_queues"], (queues, executor_id))

    def definition(self, name: str) -> QueueDefinition | None:
        with self.pool.connection() as c:
            cur = c.cursor(row_factory=class_row(QueueDefinition))
            return cur.execute(self.sql["queue_definition"], (name,)).fetchone()

    def figures(self) -> list[dict[str, Any]]:
        """Each queue's row of `queue_figures`, plus `starts`: how many of its workflows started in each of the
        last STARTS_CELLS buckets of STARTS_BUCKET seconds, oldest first (the dashboard's sparkline)."""
        with self.pool.connection() as c:
            rows = c.cursor(row_factory=dict_row).execute(self.sql["queue_figures"]).fetchall()
            span = STARTS_CELLS * STARTS_BUCKET
            counts = c.execute(self.sql["queue_starts"], {"bucket": STARTS_BUCKET, "span": span}).fetchall()
        starts: dict[str, list[int]] = {row["name"]: [0] * STARTS_CELLS for row in rows}
        for queue, ago, n in counts:
            if queue in starts and 0 <= ago < STARTS_CELLS:
                starts[queue][STARTS_CELLS - 1 - ago] = n
        return [{**row, "starts": starts[row["name"]]} for row in rows]

    def insert(
        self,
        workflow_id: str,
        name: str,
        inputs: str,
        queue: str,
        *,
        priority: int,
        deduplication_id: str | None,
        partition_key: str,
        delay_seconds: float | None,
    ) -> bool:
        """Queue a workflow; False when the id exists. Raises `Duplicate` when its de-duplication id is live."""
        params = {
            "wid": workflow_id,
            "name": name,
            "inputs": inputs,
            "queue": queue,
            "priority": priority,
            "dedup": deduplication_id,
            "partition": partition_key,
            "delay": delay_seconds,
        }
        with self.pool.connection() as c:
            try:
                return c.execute(self.sql["insert_queued"], params).fetchone() is not None
            except psycopg.errors.UniqueViolation:
                row = c.execute(self.sql["deduplicated_by"], (queue, deduplication_id)).fetchone()
                raise Duplicate(row[0] if row else "(finished meanwhile)") from None

    def claim(self, queue: QueueDefinition, executor_id: str, names: list[str], capacity: int) -> QueueClaim:
        """Start what the queue allows now in every partition that has due work, each under its own lock."""
        claimed: list[ClaimedWorkflow] = []
        opens: list[float] = []
        with self.pool.connection() as c:
            partitions = [""]
            if queue.partitioned:
                rows = c.execute(self.sql["ready_partitions"], {"queue": queue.name, "names": names}).fetchall()
                partitions = [r[0] for r in rows]
            for partition in partitions:
                if capacity - len(claimed) <= 0:
                    break
                with c.transaction():
                    took, opens_in = self._claim_partition(
                        c, queue, partition, executor_id, names, capacity - len(claimed)
                    )
                claimed.extend(took)
                if opens_in is not None:
                    opens.append(opens_in)
        return QueueClaim(claimed, min(opens) if opens else None)

    def _claim_partition(
        self,
        c: psycopg.Connection[Any],
        queue: QueueDefinition,
        partition: str,
        executor_id: str,
        names: list[str],
        capacity: int,
    ) -> tuple[list[ClaimedWorkflow], float | None]:
        c.execute(self.sql["queue_lock"], (f"{self.schema}\x1f{queue.name}\x1f{partition}",))
        key = {"queue": queue.name, "partition": partition, "me": executor_id, "period": queue.rate_period or 0.0}
        row = c.cursor(row_factory=dict_row).execute(self.sql["queue_room"], key).fetchone()
        assert row is not None
        room = capacity
        if queue.concurrency is not None:
            room = min(room, queue.concurrency - row["pending"])
        if queue.worker_concurrency is not None:
            room = min(room, queue.worker_concurrency - row["mine"])
        limited = queue.rate_limit is not None and queue.rate_period is not None
        if limited:
            assert queue.rate_limit is not None
            room = min(room, queue.rate_limit - row["started"])
        took: list[ClaimedWorkflow] = []
        if room > 0:
            params = {**key, "names": names, "by_priority": queue.priority_enabled, "limit": room}
            cur = c.cursor(row_factory=class_row(ClaimedWorkflow))
            took = cur.execute(self.sql["claim_queued"], params).fetchall()
        reason = _wait_reason(queue, row["pending"] + len(took), row["started"] + len(took))
        if reason is not None:
            c.execute(self.sql["queue_wait_reason"], {**key, "reason": reason})
        opens_in = None
        if limited and row["started"] + len(took) >= (queue.rate_limit or 0):
            found = c.execute(self.sql["rate_window_opens"], {**key, "limit": queue.rate_limit}).fetchone()
            opens_in = max(0.0, found[0]) if found and found[0] is not None else None
        return took, opens_in

    def with_due_work(self, queues: list[str], names: list[str]) -> set[str]:
        """The queues among these that hold due workflows this worker can run."""
        with self.pool.connection() as c:
            rows = c.execute(self.sql["queues_with_due_work"], {"queues": queues, "names": names}).fetchall()
        return {r[0] for r in rows}

    def next_not_before(self, names: list[str]) -> float | None:
        """Seconds until the next delayed workflow of these names is due (None: none waits)."""
        with self.pool.connection() as c:
            row = c.execute(self.sql["next_not_before"], (names,)).fetchone()
        return None if row is None or row[0] is None else max(0.0, float(row[0]))

    def debounce(
        self,
        workflow_id: str,
        name: str,
        key: str,
        inputs: str,
        period: float,
        timeout: float | None,
        queue: str | None,
    ) -> str:
        """Push the waiting workflow of this key (latest inputs, due a period from now), or queue a new one."""
        params = {
            "wid": workflow_id,
            "name": name,
            "key": key,
            "inputs": inputs,
            "period": period,
            "timeout": timeout,
            "queue": queue,
        }
        with self.pool.connection() as c, c.transaction():
            c.execute(self.sql["debounce_lock"], (f"{self.schema}\x1fdebounce\x1f{name}\x1f{key}",))
            row = c.execute(self.sql["debounce_push"], params).fetchone()
            if row is None:
                row = c.execute(self.sql["debounce_insert"], params).fetchone()
            assert row is not None
            return str(row[0])


def _wait_reason(queue: QueueDefinition, pending: int, started: int) -> str | None:
    """Why a queue partition starts nothing more now, in words that stay the same while it does not change."""
    where = f"queue {queue.name}" + (" (this partition)" if queue.partitioned else "")
    if queue.concurrency is not None and pending >= queue.concurrency:
        return f"{where} full ({pending}/{queue.concurrency})"
    if queue.rate_limit is not None and started >= queue.rate_limit:
        return f"{where}: rate limit of {queue.rate_limit} per {queue.rate_period:g} s reached"
    return None
