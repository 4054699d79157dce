"""SQL of a running worker: the hot path of a step, workflow lifecycle, executors, claims, faults.

The hot path is one statement per step attempt: the `steps` upsert and the `attempts` insert share a
statement (a data-modifying CTE), so a checkpoint costs one round trip and one commit. The commonest
checkpoint, a success at the first attempt, is a single-row upsert: the step row itself records that
attempt (number 1, its start and end), and the read API presents it as attempt 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from engine.records import FaultRecord
from engine.store.group_commit import GroupCommit

RECORD_STEP = """
WITH s AS (
    INSERT INTO {s}.steps AS st (workflow_id, step_id, name, kind, status, attempts, max_attempts,
                                 next_attempt_at, output, error, child_workflow_id, started_at, finished_at)
    VALUES (%(wid)s, %(sid)s, %(name)s, %(kind)s, %(status)s, %(attempt)s, %(max)s,
            clock_timestamp() + make_interval(secs => %(delay)s::float8),
            %(output)s::jsonb, %(error)s::jsonb, %(child)s, %(started)s,
            CASE WHEN %(final)s THEN clock_timestamp() END)
    ON CONFLICT (workflow_id, step_id) DO UPDATE SET
        status = excluded.status, attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at,
        output = excluded.output, error = excluded.error, finished_at = excluded.finished_at,
        child_workflow_id = coalesce(excluded.child_workflow_id, st.child_workflow_id)
    WHERE st.status NOT IN ('SUCCESS', 'ERROR') AND st.name = excluded.name
    RETURNING 1
), a AS (
    INSERT INTO {s}.attempts (workflow_id, step_id, attempt, started_at, finished_at,
                              error_type, error_message, traceback)
    SELECT %(wid)s, %(sid)s, %(attempt)s, %(started)s, clock_timestamp(), %(etype)s, %(emsg)s, %(etb)s
    WHERE %(with_attempt)s AND EXISTS (SELECT 1 FROM s)
    ON CONFLICT DO NOTHING
)
SELECT count(*) FROM s
"""

RECORD_FIRST_SUCCESS = """
INSERT INTO {s}.steps AS st (workflow_id, step_id, name, kind, status, attempts, max_attempts, output,
                             child_workflow_id, started_at, finished_at)
VALUES (%s, %s, %s, %s, 'SUCCESS', 1, %s, %s::jsonb, %s, %s, clock_timestamp())
ON CONFLICT (workflow_id, step_id) DO UPDATE SET
    status = 'SUCCESS', attempts = 1, output = excluded.output, finished_at = excluded.finished_at,
    next_attempt_at = NULL, child_workflow_id = coalesce(excluded.child_workflow_id, st.child_workflow_id)
WHERE st.status NOT IN ('SUCCESS', 'ERROR') AND st.name = excluded.name
RETURNING 1
"""

# A mark never moves a step backwards: it applies only to a later attempt, or re-marks the same running
# one, so a slow-step mark that loses the race with its attempt's failure leaves WAITING_RETRY alone.
MARK_STEP = """
INSERT INTO {s}.steps AS st (workflow_id, step_id, name, kind, status, attempts, max_attempts,
                             child_workflow_id, started_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (workflow_id, step_id) DO UPDATE SET
    status = excluded.status, attempts = excluded.attempts, next_attempt_at = NULL,
    child_workflow_id = coalesce(excluded.child_workflow_id, st.child_workflow_id)
WHERE st.status NOT IN ('SUCCESS', 'ERROR')
  AND (st.attempts < excluded.attempts OR (st.attempts = excluded.attempts AND st.status = 'RUNNING'))
"""

INSERT_WORKFLOW = """
INSERT INTO {s}.workflows (workflow_id, name, status, inputs, executor_id, parent_workflow_id,
                           parent_step_id, started_at)
VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, CASE WHEN %s THEN clock_timestamp() END)
ON CONFLICT (workflow_id) DO NOTHING
RETURNING workflow_id
"""

FINISH_WORKFLOWS = """
UPDATE {s}.workflows w SET status = v.status, output = v.output::jsonb, error = v.error::jsonb,
       finished_at = clock_timestamp(), updated_at = clock_timestamp()
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS v(workflow_id, status, output, error)
WHERE w.workflow_id = v.workflow_id AND w.status = 'PENDING' AND w.executor_id = %s
"""

STEPS_FOR_RUN = """
SELECT workflow_id, step_id, name, kind, status, attempts, attempt_base, output, error, child_workflow_id,
       greatest(0, extract(epoch FROM next_attempt_at - clock_timestamp()))::float8
FROM {s}.steps WHERE workflow_id = ANY(%s)
"""

OPEN_STEP_ERRORS = """
SELECT a.workflow_id, a.step_id, a.error_type, a.error_message
FROM {s}.attempts a JOIN {s}.steps st USING (workflow_id, step_id)
WHERE a.workflow_id = ANY(%s) AND st.status NOT IN ('SUCCESS', 'ERROR') AND a.error_type IS NOT NULL
  AND a.attempt > st.attempt_base
ORDER BY a.workflow_id, a.step_id, a.attempt
"""

WORKFLOW_STATE = "SELECT name, status, executor_id FROM {s}.workflows WHERE workflow_id = %s"

WORKFLOW_OUTCOME = "SELECT status, output, error FROM {s}.workflows WHERE workflow_id = %s"

CLAIM_COLUMNS = "workflow_id, name, inputs, status"

CLAIM_OWN = (
    """
UPDATE {s}.workflows SET recovery_count = recovery_count + 1, updated_at = clock_timestamp()
WHERE status = 'PENDING' AND executor_id = %s
RETURNING """
    + CLAIM_COLUMNS
)

CLAIM_STRANDED = (
    """
UPDATE {s}.workflows SET recovery_count = recovery_count + 1, updated_at = clock_timestamp()
WHERE workflow_id = ANY(%s) AND status = 'PENDING' AND executor_id = %s
RETURNING """
    + CLAIM_COLUMNS
)

CLAIM_DEAD = (
    """
UPDATE {s}.workflows w SET executor_id = %(me)s, recovery_count = recovery_count + 1,
       updated_at = clock_timestamp()
WHERE workflow_id IN (
    SELECT workflow_id FROM {s}.workflows c
    WHERE c.status = 'PENDING' AND c.executor_id IS DISTINCT FROM %(me)s AND c.name = ANY(%(names)s)
      AND NOT EXISTS (SELECT 1 FROM {s}.executors e
                      WHERE e.executor_id = c.executor_id AND e.stopped_at IS NULL
                        AND e.heartbeat_at > clock_timestamp() - make_interval(secs => %(lease)s))
      AND (%(only)s::text IS NULL OR c.workflow_id = %(only)s)
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING """
    + CLAIM_COLUMNS
)

CLAIM_ENQUEUED = (
    """
UPDATE {s}.workflows w SET status = 'PENDING', executor_id = %(me)s, wait_reason = NULL,
       started_at = coalesce(started_at, clock_timestamp()), updated_at = clock_timestamp()
WHERE workflow_id IN (
    SELECT workflow_id FROM {s}.workflows c
    WHERE c.status = 'ENQUEUED' AND c.name = ANY(%(names)s)
    ORDER BY c.created_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING """
    + CLAIM_COLUMNS
)

EXPLAIN_WAITING = """
UPDATE {s}.workflows w SET wait_reason = 'no live worker registers ' || quote_ident(w.name)
WHERE w.status = 'ENQUEUED' AND w.wait_reason IS NULL
  AND NOT EXISTS (SELECT 1 FROM {s}.executors e
                  WHERE w.name = ANY(e.workflows) AND e.stopped_at IS NULL
                    AND e.heartbeat_at > clock_timestamp() - make_interval(secs => %s))
"""

REGISTER_EXECUTOR = """
INSERT INTO {s}.executors (executor_id, host, pid, code_version, workflows)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (executor_id) DO UPDATE SET
    host = excluded.host, pid = excluded.pid, code_version = excluded.code_version,
    workflows = excluded.workflows, started_at = clock_timestamp(), heartbeat_at = clock_timestamp(),
    in_flight = 0, stopped_at = NULL
"""

HEARTBEAT = """
UPDATE {s}.executors SET heartbeat_at = clock_timestamp(), in_flight = %s WHERE executor_id = %s
"""

STOP_EXECUTOR = """
UPDATE {s}.executors SET stopped_at = clock_timestamp(), in_flight = 0 WHERE executor_id = %s
"""

ACTIVE_FAULTS = """
SELECT fault_id, kind, workflow_id, step_name, remaining, delay_seconds, phase, message, created_at, expires_at
FROM {s}.faults
WHERE (remaining IS NULL OR remaining > 0) AND (expires_at IS NULL OR expires_at > clock_timestamp())
"""

CONSUME_FAULT = """
UPDATE {s}.faults SET remaining = remaining - 1
WHERE fault_id = %s AND (remaining IS NULL OR remaining > 0)
  AND (expires_at IS NULL OR expires_at > clock_timestamp())
RETURNING fault_id
"""


@dataclass
class RecordedStep:
    """What replay needs to know of a step recorded before this run."""

    step_id: int
    name: str
    kind: str
    status: str
    attempts: int
    attempt_base: int
    output: Any
    error: dict[str, Any] | None
    child_workflow_id: str | None
    wait_remaining: float
    past_errors: list[tuple[str, str]]


@dataclass
class ClaimedWorkflow:
    workflow_id: str
    name: str
    inputs: Any
    status: str


class RuntimeStore:
    def __init__(self, pool: ConnectionPool, schema: str):
        self.pool = pool
        self.group_commit = GroupCommit(pool)
        self.sql = {
            name: text.format(s=schema)
            for name, text in globals().items()
            if name.isupper() and isinstance(text, str) and "{s}" in text
        }

    def record_step(
        self,
        *,
        workflow_id: str,
        step_id: int,
        name: str,
        kind: str,
        status: str,
        attempt: int,
        max_attempts: int,
        started: datetime,
        delay: float | None = None,
        output: str | None = None,
        error: str | None = None,
        error_info: dict[str, Any] | None = None,
        child_workflow_id: str | None = None,
        final: bool = True,
        with_attempt: bool = True,
        conn: psycopg.Connection | None = None,
    ) -> bool:
        """Commit one attempt's outcome; False when the step already had a final outcome recorded."""
        if status == "SUCCESS" and attempt == 1 and with_attempt:
            args = (workflow_id, step_id, name, kind, max_attempts, output, child_workflow_id, started)
            return self._one(self.sql["RECORD_FIRST_SUCCESS"], args, conn)
        info = error_info or {}
        params = {
            "wid": workflow_id,
            "sid": step_id,
            "name": name,
            "kind": kind,
            "status": status,
            "attempt": attempt,
            "max": max_attempts,
            "delay": delay,
            "output": output,
            "error": error,
            "child": child_workflow_id,
            "started": started,
            "final": final,
            "etype": info.get("type"),
            "emsg": info.get("message"),
            "etb": info.get("traceback"),
            "with_attempt": with_attempt,
        }
        return self._one(self.sql["RECORD_STEP"], params, conn)

    def _one(self, query: str, params: Any, conn: psycopg.Connection | None) -> bool:
        if conn is None:
            return self.group_commit.write(query, params)
        row = conn.execute(query, params).fetchone()
        return bool(row and row[0])

    def mark_step(
        self,
        workflow_id: str,
        step_id: int,
        name: str,
        kind: str,
        status: str,
        attempt: int,
        max_attempts: int,
        started: datetime,
        child_workflow_id: str | None = None,
    ) -> None:
        with self.pool.connection() as c:
            c.execute(
                self.sql["MARK_STEP"],
                (workflow_id, step_id, name, kind, status, attempt, max_attempts, child_workflow_id, started),
            )

    def insert_workflow(
        self,
        workflow_id: str,
        name: str,
        status: str,
        inputs: str,
        executor_id: str | None,
        parent: tuple[str, int] | None = None,
    ) -> bool:
        parent_id, parent_step = parent or (None, None)
        with self.pool.connection() as c:
            row = c.execute(
                self.sql["INSERT_WORKFLOW"],
                (workflow_id, name, status, inputs, executor_id, parent_id, parent_step, status == "PENDING"),
            )
            return row.fetchone() is not None

    def finish_workflows(self, executor_id: str, outcomes: list[tuple[str, str, str | None, str | None]]) -> None:
        """Record how workflows ended, (id, status, output, error) each, in one statement and one commit.

        Only workflows still PENDING and owned by this executor change: a cancel or a takeover wins.
        """
        ids, statuses, outputs, errors = (list(column) for column in zip(*outcomes, strict=True))
        with self.pool.connection() as c:
            c.execute(self.sql["FINISH_WORKFLOWS"], (ids, statuses, outputs, errors, executor_id))

    def recorded_steps(self, workflow_ids: list[str]) -> dict[str, dict[int, RecordedStep]]:
        """Everything replay needs for these workflows, in two queries however many there are."""
        out: dict[str, dict[int, RecordedStep]] = {wid: {} for wid in workflow_ids}
        with self.pool.connection() as c:
            rows = c.execute(self.sql["STEPS_FOR_RUN"], (workflow_ids,)).fetchall()
            open_steps = any(r[4] not in ("SUCCESS", "ERROR") for r in rows)
            errors = c.execute(self.sql["OPEN_STEP_ERRORS"], (workflow_ids,)).fetchall() if open_steps else []
        for wid, sid, name, kind, status, attempts, base, output, error, child, remaining in rows:
            out[wid][sid] = RecordedStep(
                sid, name, kind, status, attempts, base, output, error, child, remaining or 0.0, []
            )
        for wid, sid, etype, emsg in errors:
            out[wid][sid].past_errors.append((etype, emsg))
        return out

    def workflow_state(self, workflow_id: str) -> tuple[str, str, str | None] | None:
        """(name, status, executor_id) of a workflow, or None."""
        with self.pool.connection() as c:
            return c.execute(self.sql["WORKFLOW_STATE"], (workflow_id,)).fetchone()

    def workflow_outcome(self, workflow_id: str) -> tuple[str, Any, Any] | None:
        with self.pool.connection() as c:
            return c.execute(self.sql["WORKFLOW_OUTCOME"], (workflow_id,)).fetchone()

    def _claim(self, query: str, params: Any) -> list[ClaimedWorkflow]:
        with self.pool.connection() as c:
            rows = c.execute(self.sql[query], params).fetchall()
        return [ClaimedWorkflow(*r) for r in rows]

    def claim_own(self, executor_id: str) -> list[ClaimedWorkflow]:
        return self._claim("CLAIM_OWN", (executor_id,))

    def claim_stranded(self, executor_id: str, workflow_ids: list[str]) -> list[ClaimedWorkflow]:
        return self._claim("CLAIM_STRANDED", (workflow_ids, executor_id))

    def claim_dead(
        self, executor_id: str, names: list[str], lease: float, limit: int, only: str | None = None
    ) -> list[ClaimedWorkflow]:
        return self._claim(
            "CLAIM_DEAD", {"me": executor_id, "names": names, "lease": lease, "limit": limit, "only": only}
        )

    def claim_enqueued(self, executor_id: str, names: list[str], limit: int) -> list[ClaimedWorkflow]:
        return self._claim("CLAIM_ENQUEUED", {"me": executor_id, "names": names, "limit": limit})

    def explain_waiting(self, lease: float) -> None:
        with self.pool.connection() as c:
            c.execute(self.sql["EXPLAIN_WAITING"], (lease,))

    def register_executor(
        self, executor_id: str, host: str, pid: int, code_version: str | None, workflows: list[str]
    ) -> None:
        with self.pool.connection() as c:
            c.execute(self.sql["REGISTER_EXECUTOR"], (executor_id, host, pid, code_version, workflows))

    def heartbeat(self, executor_id: str, in_flight: int) -> None:
        with self.pool.connection() as c:
            c.execute(self.sql["HEARTBEAT"], (in_flight, executor_id))

    def stop_executor(self, executor_id: str) -> None:
        with self.pool.connection() as c:
            c.execute(self.sql["STOP_EXECUTOR"], (executor_id,))

    def active_faults(self) -> list[FaultRecord]:
        with self.pool.connection() as c:
            return [FaultRecord(*r) for r in c.execute(self.sql["ACTIVE_FAULTS"]).fetchall()]

    def consume_fault(self, fault_id: int) -> bool:
        """Take one use of a fault; False when another worker used the last one first."""
        with self.pool.connection() as c:
            return c.execute(self.sql["CONSUME_FAULT"], (fault_id,)).fetchone() is not None
