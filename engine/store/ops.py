"""SQL of the control plane: each operation is row changes plus a NOTIFY, in one transaction.

Workers hear the NOTIFY on the control channel and act; the row triggers tell the dashboard.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg import Connection
from psycopg_pool import ConnectionPool

from engine.store.migrations import control_channel
from engine.store.reads import filters

DESCENDANTS = """
WITH RECURSIVE tree AS (
    SELECT workflow_id FROM {s}.workflows WHERE workflow_id = ANY(%s)
    UNION
    SELECT w.workflow_id FROM {s}.workflows w JOIN tree t ON w.parent_workflow_id = t.workflow_id)
SELECT workflow_id FROM tree
"""


class OpsStore:
    def __init__(self, pool: ConnectionPool, schema: str):
        self.pool = pool
        self.s = schema
        self.channel = control_channel(schema)

    def _notify(self, conn: Connection, **message: Any) -> None:
        conn.execute("SELECT pg_notify(%s, %s)", (self.channel, json.dumps(message)))

    def wake(self) -> None:
        with self.pool.connection() as c:
            self._notify(c, op="wake")

    def nudge(self) -> None:
        """A message that every listener ignores: it only wakes them up."""
        with self.pool.connection() as c:
            self._notify(c, op="nudge")

    def state(self, workflow_id: str, lease: float = 5.0) -> tuple[str, str, str | None, bool] | None:
        """(name, status, executor_id, executor alive) of one workflow."""
        with self.pool.connection() as c:
            return c.execute(
                f"""
                SELECT w.name, w.status, w.executor_id,
                       coalesce(e.stopped_at IS NULL
                                AND e.heartbeat_at > clock_timestamp() - make_interval(secs => %s), false)
                FROM {self.s}.workflows w LEFT JOIN {self.s}.executors e USING (executor_id)
                WHERE w.workflow_id = %s""",
                (lease, workflow_id),
            ).fetchone()

    def ids_matching(self, statuses: tuple[str, ...], status: str | None, name: str | None, limit: int) -> list[str]:
        where, params = filters(status, name, None)
        where += (" AND " if where else " WHERE ") + "w.status = ANY(%s)"
        with self.pool.connection() as c:
            rows = c.execute(
                f"SELECT w.workflow_id FROM {self.s}.workflows w{where} ORDER BY w.created_at LIMIT %s",
                [*params, list(statuses), limit],
            ).fetchall()
        return [r[0] for r in rows]

    def cancel(self, ids: list[str]) -> list[str]:
        """Cancel these workflows and their descendants that are still running or queued."""
        with self.pool.connection() as c, c.transaction():
            tree = [r[0] for r in c.execute(DESCENDANTS.format(s=self.s), (ids,)).fetchall()]
            done = [
                r[0]
                for r in c.execute(
                    f"""
                UPDATE {self.s}.workflows SET status = 'CANCELLED', updated_at = clock_timestamp(),
                       finished_at = clock_timestamp()
                WHERE workflow_id = ANY(%s) AND status IN ('PENDING', 'ENQUEUED')
                RETURNING workflow_id""",
                    (tree,),
                ).fetchall()
            ]
            if done:
                self._notify(c, op="cancel", ids=done)
        return done

    def resume(self, ids: list[str]) -> list[str]:
        """Queue failed or cancelled workflows again; each one's failed last step gets a fresh budget."""
        with self.pool.connection() as c, c.transaction():
            tree = [r[0] for r in c.execute(DESCENDANTS.format(s=self.s), (ids,)).fetchall()]
            done = [
                r[0]
                for r in c.execute(
                    f"""
                UPDATE {self.s}.workflows SET status = 'ENQUEUED', executor_id = NULL, output = NULL,
                       error = NULL, finished_at = NULL, wait_reason = NULL, updated_at = clock_timestamp()
                WHERE workflow_id = ANY(%s) AND status IN ('ERROR', 'CANCELLED')
                RETURNING workflow_id""",
                    (tree,),
                ).fetchall()
            ]
            c.execute(
                f"""
                UPDATE {self.s}.steps st SET status = 'WAITING_RETRY', attempt_base = attempts,
                       next_attempt_at = clock_timestamp(), error = NULL, finished_at = NULL
                WHERE st.workflow_id = ANY(%s) AND st.status = 'ERROR'
                  AND st.step_id = (SELECT max(step_id) FROM {self.s}.steps m
                                    WHERE m.workflow_id = st.workflow_id)""",
                (done,),
            )
            if done:
                self._notify(c, op="wake")
        return done

    def requeue_dead(self, ids: list[str], lease: float) -> list[str]:
        """Hand PENDING workflows of dead executors to whichever live worker claims them first."""
        with self.pool.connection() as c, c.transaction():
            done = [
                r[0]
                for r in c.execute(
                    f"""
                UPDATE {self.s}.workflows w SET status = 'ENQUEUED', executor_id = NULL,
                       recovery_count = recovery_count + 1, updated_at = clock_timestamp()
                WHERE w.workflow_id = ANY(%s) AND w.status = 'PENDING'
                  AND NOT EXISTS (SELECT 1 FROM {self.s}.executors e
                                  WHERE e.executor_id = w.executor_id AND e.stopped_at IS NULL
                                    AND e.heartbeat_at > clock_timestamp() - make_interval(secs => %s))
                RETURNING workflow_id""",
                    (ids, lease),
                ).fetchall()
            ]
            if done:
                self._notify(c, op="wake")
        return done

    def retry_now(self, ids: list[str]) -> list[str]:
        with self.pool.connection() as c, c.transaction():
            done = [
                r[0]
                for r in c.execute(
                    f"""
                UPDATE {self.s}.steps SET next_attempt_at = clock_timestamp()
                WHERE workflow_id = ANY(%s) AND status IN ('WAITING_RETRY', 'SLEEPING')
                RETURNING workflow_id""",
                    (ids,),
                ).fetchall()
            ]
            if done:
                self._notify(c, op="retry_now", ids=sorted(set(done)))
        return sorted(set(done))

    def last_step(self, workflow_id: str) -> int:
        with self.pool.connection() as c:
            row = c.execute(
                f"SELECT coalesce(max(step_id), 0) FROM {self.s}.steps WHERE workflow_id = %s", (workflow_id,)
            ).fetchone()
        return row[0] if row else 0

    def fork(self, workflow_id: str, from_step: int, new_id: str) -> None:
        """A new ENQUEUED workflow with the outcomes of steps before `from_step` copied from the original."""
        s = self.s
        with self.pool.connection() as c, c.transaction():
            c.execute(
                f"""
                INSERT INTO {s}.workflows (workflow_id, name, status, inputs, forked_from, forked_from_step)
                SELECT %s, name, 'ENQUEUED', inputs, workflow_id, %s FROM {s}.workflows
                WHERE workflow_id = %s""",
                (new_id, from_step, workflow_id),
            )
            c.execute(
                f"""
                INSERT INTO {s}.steps (workflow_id, step_id, name, kind, status, attempts, attempt_base,
                                       max_attempts, output, error, child_workflow_id, started_at, finished_at)
                SELECT %s, step_id, name, kind, status, attempts, attempt_base, max_attempts, output, error,
                       child_workflow_id, started_at, finished_at
                FROM {s}.steps WHERE workflow_id = %s AND step_id < %s AND status IN ('SUCCESS', 'ERROR')""",
                (new_id, workflow_id, from_step),
            )
            c.execute(
                f"""
                INSERT INTO {s}.attempts (workflow_id, step_id, attempt, started_at, finished_at, error_type,
                                          error_message, traceback)
                SELECT %s, a.step_id, a.attempt, a.started_at, a.finished_at, a.error_type, a.error_message,
                       a.traceback
                FROM {s}.attempts a JOIN {s}.steps st ON st.workflow_id = %s AND st.step_id = a.step_id
                WHERE a.workflow_id = %s AND a.step_id < %s""",
                (new_id, new_id, workflow_id, from_step),
            )
            self._notify(c, op="wake")

    def delete(self, ids: list[str]) -> list[str]:
        """Delete finished workflows with their finished descendants, and their steps and attempts."""
        with self.pool.connection() as c, c.transaction():
            tree = [r[0] for r in c.execute(DESCENDANTS.format(s=self.s), (ids,)).fetchall()]
            done = [
                r[0]
                for r in c.execute(
                    f"""
                DELETE FROM {self.s}.workflows WHERE workflow_id = ANY(%s)
                  AND status IN ('SUCCESS', 'ERROR', 'CANCELLED')
                RETURNING workflow_id""",
                    (tree,),
                ).fetchall()
            ]
            c.execute(f"DELETE FROM {self.s}.attempts WHERE workflow_id = ANY(%s)", (done,))
            c.execute(f"DELETE FROM {self.s}.steps WHERE workflow_id = ANY(%s)", (done,))
            return done

    def add_fault(
        self,
        kind: str,
        step_name: str,
        workflow_id: str | None,
        remaining: int | None,
        delay_seconds: float,
        phase: str,
        message: str,
        ttl_seconds: float | None,
    ) -> int:
        with self.pool.connection() as c:
            row = c.execute(
                f"""
                INSERT INTO {self.s}.faults (kind, step_name, workflow_id, remaining, delay_seconds, phase,
                                             message, expires_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s,
                        clock_timestamp() + make_interval(secs => %s::float8))
                RETURNING fault_id""",
                (kind, step_name, workflow_id, remaining, delay_seconds, phase, message, ttl_seconds),
            ).fetchone()
        return row[0]  # type: ignore[index]

    def clear_faults(self, ids: list[int] | None) -> int:
        with self.pool.connection() as c:
            if ids is None:
                return c.execute(f"DELETE FROM {self.s}.faults").rowcount
            return c.execute(f"DELETE FROM {self.s}.faults WHERE fault_id = ANY(%s)", (ids,)).rowcount

    def crash_executor(self, executor_id: str) -> None:
        with self.pool.connection() as c:
            self._notify(c, op="crash", executor=executor_id)
