"""The store of queues (issue 10): definitions, queued inserts, the claim, debounce. SQL in `sql/queues.sql`.

A claim of one queue partition is one transaction that first takes an advisory lock on that partition,
so workers claiming at the same moment count and take in turn: the counts each one reads include what
the one before it committed, and `concurrency` and the limiter hold across all workers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row
from psycopg_pool import ConnectionPool

from engine.store.names import control_channel, events_channel
from engine.store.notes import LaterNotes
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
    """What one claim of a queue took, in how many seconds the limiter next opens (None: not limited), and
    whether the queue's limits leave this worker no room now (`saturated`: only a workflow of the queue
    leaving PENDING, or the limiter's window opening, can change that; never said of a partitioned queue)."""

    claimed: list[ClaimedWorkflow]
    opens_in: float | None
    saturated: bool = False
    notes: list[str] = field(default_factory=list)
    """The notifications of the rows this claim changed, which its row triggers left to be sent after the commit
    (`LaterNotes`): a claim's commit then takes no database-wide notify lock."""


@dataclass(frozen=True)
class Survey:
    """A wake-up's first look: the workflows of no queue it claimed, the queues with due work, and the seconds
    until the next delayed workflow is due (None: none waits)."""

    claimed: list[ClaimedWorkflow]
    due: set[str]
    next_due_in: float | None


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
        self.channel = control_channel(schema)
        self.events = events_channel(schema)

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
        timeout_seconds: float | None = None,
        later: LaterNotes | None = None,
    ) -> bool:
        """Queue a workflow, then wake the workers: with `later` (a worker's own enqueue), its notifier sends the
        row's notification and the wake after the commit; else a second round trip does (`notify_enqueued`).
        False when the id exists (no wake). Raises `Duplicate` when its de-duplication id is live."""
        params = {
            "wid": workflow_id,
            "name": name,
            "inputs": inputs,
            "queue": queue,
            "priority": priority,
            "dedup": deduplication_id,
            "partition": partition_key,
            "delay": delay_seconds,
            "timeout": timeout_seconds,
            "later": "on",
        }
        with self.pool.connection() as c:
            try:
                row = c.execute(self.sql["insert_queued"], params).fetchone()
            except psycopg.errors.UniqueViolation:
                row = c.execute(self.sql["deduplicated_by"], (queue, deduplication_id)).fetchone()
                raise Duplicate(row[0] if row else "(finished meanwhile)") from None
            if row is None:
                return False
            if later is not None:
                later.add(row[0])
                later.wake(queue)
                return True
            c.execute(
                self.sql["notify_enqueued"],
                {
                    "events": self.events,
                    "note": row[0],
                    "control": self.channel,
                    "wake": json.dumps({"op": "wake", "queue": queue}),
                },
            )
        return True

    def survey(self, executor_id: str, names: list[str], limit: int, queues: list[str]) -> Survey:
        """What a worker's wake-up starts with, sent as one pipeline (one round trip): claim due workflows of no
        queue (up to `limit`), find the queues among these with due work, and when the next delayed one is due; with
        the settings of a queue claim (one kept plan each, no sequential scans). No explicit transaction: BEGIN and
        COMMIT cost this process about 0.2 ms of CPU per wake-up."""
        with self.pool.connection() as c:
            plain = c.cursor(row_factory=class_row(ClaimedWorkflow))
            outlook = c.cursor()
            with c.pipeline():  # one implicit transaction up to the pipeline's Sync: the settings hold for all three
                c.execute(self.sql["survey_settings"], prepare=True)
                if limit > 0:
                    plain.execute(
                        self.sql["claim_enqueued"], {"me": executor_id, "names": names, "limit": limit}, prepare=True
                    )
                outlook.execute(self.sql["queue_outlook"], {"queues": queues, "names": names}, prepare=True)
            claimed = plain.fetchall() if limit > 0 else []
            row = outlook.fetchone()
        assert row is not None
        due, next_due_in = row
        return Survey(claimed, set(due), None if next_due_in is None else max(0.0, float(next_due_in)))

    def claim(self, queue: QueueDefinition, executor_id: str, names: list[str], capacity: int) -> QueueClaim:
        """Start what the queue allows now in every partition that has due work, each under its own lock."""
        claimed: list[ClaimedWorkflow] = []
        opens: list[float] = []
        notes: list[str] = []
        saturated = False
        with self.pool.connection() as c:
            partitions = [""]
            if queue.partitioned:
                rows = c.execute(self.sql["ready_partitions"], {"queue": queue.name, "names": names}).fetchall()
                partitions = [r[0] for r in rows]
            for partition in partitions:
                if capacity - len(claimed) <= 0:
                    break
                claim = self._claim_partition(c, queue, partition, executor_id, names, capacity - len(claimed))
                claimed.extend(claim.claimed)
                notes.extend(claim.notes)
                if claim.opens_in is not None:
                    opens.append(claim.opens_in)
                saturated = claim.saturated and not queue.partitioned
        return QueueClaim(claimed, min(opens) if opens else None, saturated, notes)

    def _claim_partition(
        self,
        c: psycopg.Connection[Any],
        queue: QueueDefinition,
        partition: str,
        executor_id: str,
        names: list[str],
        capacity: int,
    ) -> QueueClaim:
        """One transaction, sent as one pipeline (one round trip): the partition's lock as its own statement, so
        the claim after it (a fresh snapshot under READ COMMITTED) counts everything the previous holder
        committed; then the claim; then, for a rate-limited queue, when its window next opens. The rows' notifications
        come back in the claim's `notes`, for the caller to send once committed. Each statement is prepared at its
        first use on a connection, so its generic plan (`claim_settings`) serves from the first claim on."""
        where = f"queue {queue.name}" + (" (this partition)" if queue.partitioned else "")
        key = {"queue": queue.name, "partition": partition, "me": executor_id, "period": queue.rate_period or 0.0}
        params = {
            **key,
            "names": names,
            "capacity": capacity,
            "concurrency": queue.concurrency,
            "worker_concurrency": queue.worker_concurrency,
            "rate_limit": queue.rate_limit,
            "where": where,
            "rate_reason": f"{where}: rate limit of {queue.rate_limit} per {queue.rate_period or 0.0:g} s reached",
        }
        claims = c.cursor(row_factory=dict_row)
        window = c.cursor()
        limited = queue.rate_limit is not None
        with c.pipeline(), c.transaction():
            c.execute(self.sql["queue_lock"], (f"{self.schema}\x1f{queue.name}\x1f{partition}",), prepare=True)
            claims.execute(self.sql["claim_queue"], params, prepare=True)
            if limited:
                window.execute(self.sql["rate_window_opens"], {**key, "limit": queue.rate_limit}, prepare=True)
        rows = claims.fetchall()
        columns = ("workflow_id", "name", "inputs", "status", "recorded", "deadline_in")
        took = [ClaimedWorkflow(**{k: r[k] for k in columns}) for r in rows if r["workflow_id"] is not None]
        notes = [r["note"] for r in rows if r["workflow_id"] is not None] + list(rows[0]["told"])
        opens_in = None
        if limited and rows[0]["started"] >= (queue.rate_limit or 0):
            opens = window.fetchone()
            opens_in = max(0.0, opens[0]) if opens and opens[0] is not None else None
        return QueueClaim(took, opens_in, bool(rows[0]["saturated"]), notes)

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
