"""The control plane's store: each operation is row changes plus a NOTIFY, in one transaction.

Workers hear the NOTIFY on the control channel and act; the row triggers tell the dashboard. The
statements are in `sql/ops.sql`; the statuses each operation applies to come from
`engine.states.TRANSITIONS` as a parameter, so the vocabulary is stated once.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg import Connection
from psycopg.rows import kwargs_row
from psycopg_pool import ConnectionPool

from engine.records import WorkflowOwner
from engine.states import Operation, StepStatus, allowed_sources
from engine.store.names import control_channel
from engine.store.queries import Statements, for_schema
from engine.store.reads import filter_params, list_statement

WAITING_STEPS = sorted(str(s) for s in StepStatus if s.waiting)


def _ids(conn: Connection, query: str, params: Any) -> list[str]:
    return [row[0] for row in conn.execute(query, params).fetchall()]


def delete_finished(conn: Connection, sql: Statements, ids: list[str]) -> list[str]:
    """Delete those of these workflows that are finished, with their steps and attempts (no foreign keys
    cascade to those; messages, events and streams go by ON DELETE CASCADE): the ids deleted."""
    done = _ids(conn, sql["delete_workflows"], {"ids": ids, "sources": allowed_sources(Operation.DELETE)})
    conn.execute(sql["delete_attempts"], (done,))
    conn.execute(sql["delete_steps"], (done,))
    return done


class OpsStore:
    def __init__(self, pool: ConnectionPool, schema: str):
        self.pool = pool
        self.sql = for_schema(schema)
        self.channel = control_channel(schema)

    def _notify(self, conn: Connection, **message: Any) -> None:
        conn.execute(self.sql["notify"], (self.channel, json.dumps(message)))

    def wake(self) -> None:
        with self.pool.connection() as c:
            self._notify(c, op="wake")

    def nudge(self) -> None:
        """A message that every listener ignores: it only wakes them up."""
        with self.pool.connection() as c:
            self._notify(c, op="nudge")

    def state(self, workflow_id: str, lease: float = 5.0) -> WorkflowOwner | None:
        """(name, status, executor_id, executor alive) of one workflow."""
        with self.pool.connection() as c:
            cur = c.cursor(row_factory=kwargs_row(WorkflowOwner.read))
            return cur.execute(self.sql["ops_state"], {"lease": lease, "wid": workflow_id}).fetchone()

    def ids_matching(
        self, statuses: list[str], status: str | None, name: str | None, limit: int, queue: str | None = None
    ) -> list[str]:
        """Up to `limit` ids, oldest first, in `statuses` and matching the list filters."""
        params = filter_params(status, name, None, queue)
        query = list_statement(self.sql, "ids_matching_head", params, "created_asc", "workflow_limit")
        with self.pool.connection() as c:
            return _ids(c, query, {**params, "sources": list(statuses), "limit": limit})

    def _tree(self, conn: Connection, ids: list[str]) -> list[str]:
        return _ids(conn, self.sql["descendants"], (ids,))

    def cancel(self, ids: list[str]) -> list[str]:
        """Cancel these workflows and their descendants that are still running or queued."""
        with self.pool.connection() as c, c.transaction():
            params = {"ids": self._tree(c, ids), "sources": allowed_sources(Operation.CANCEL)}
            done = _ids(c, self.sql["cancel"], params)
            if done:
                self._notify(c, op="cancel", ids=done)
        return done

    def resume(self, ids: list[str]) -> list[str]:
        """Queue failed or cancelled workflows again; each one's failed last step gets a fresh budget."""
        with self.pool.connection() as c, c.transaction():
            params = {"ids": self._tree(c, ids), "sources": allowed_sources(Operation.RESUME)}
            done = _ids(c, self.sql["resume"], params)
            c.execute(self.sql["resume_failed_step"], (done,))
            if done:
                self._notify(c, op="wake")
        return done

    def requeue_dead(self, ids: list[str], lease: float) -> list[str]:
        """Hand PENDING workflows of dead executors to whichever live worker claims them first."""
        with self.pool.connection() as c, c.transaction():
            params = {"ids": ids, "sources": allowed_sources(Operation.RECOVER), "lease": lease}
            done = _ids(c, self.sql["requeue_dead"], params)
            if done:
                self._notify(c, op="wake")
        return done

    def retry_now(self, ids: list[str]) -> list[str]:
        with self.pool.connection() as c, c.transaction():
            done = sorted(set(_ids(c, self.sql["retry_now"], {"ids": ids, "waiting": WAITING_STEPS})))
            if done:
                self._notify(c, op="retry_now", ids=done)
        return done

    def last_step(self, workflow_id: str) -> int:
        with self.pool.connection() as c:
            row = c.execute(self.sql["last_step"], (workflow_id,)).fetchone()
        return row[0] if row else 0

    def fork(
        self,
        workflow_id: str,
        from_step: int,
        new_id: str,
        inputs: str | None = None,
        step_outputs: str | None = None,
        changes: str | None = None,
    ) -> None:
        """A new ENQUEUED workflow with the outcomes of steps before `from_step` copied from the original, its
        inputs replaced by `inputs` and the outputs of some copied steps by `step_outputs` (JSON texts)."""
        params = {
            "new": new_id,
            "wid": workflow_id,
            "from_step": from_step,
            "inputs": inputs,
            "outputs": step_outputs,
            "changes": changes,
        }
        with self.pool.connection() as c, c.transaction():
            c.execute(self.sql["fork_workflow"], params)
            c.execute(self.sql["fork_steps"], params)
            c.execute(self.sql["fork_attempts"], params)
            if step_outputs is not None:
                c.execute(self.sql["fork_step_outputs"], params)
            self._notify(c, op="wake")

    def recorded_step_ids(self, workflow_id: str) -> list[int]:
        with self.pool.connection() as c:
            return [int(r[0]) for r in c.execute(self.sql["recorded_step_ids"], (workflow_id,)).fetchall()]

    def delete(self, ids: list[str]) -> list[str]:
        """Delete finished workflows with their finished descendants, and their steps and attempts."""
        with self.pool.connection() as c, c.transaction():
            return delete_finished(c, self.sql, self._tree(c, ids))

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
                self.sql["add_fault"],
                (kind, step_name, workflow_id, remaining, delay_seconds, phase, message, ttl_seconds),
            ).fetchone()
        assert row is not None  # INSERT ... RETURNING always returns the row
        return int(row[0])

    def clear_faults(self, ids: list[int] | None) -> int:
        with self.pool.connection() as c:
            if ids is None:
                return c.execute(self.sql["clear_all_faults"]).rowcount
            return c.execute(self.sql["clear_faults"], (ids,)).rowcount

    def crash_executor(self, executor_id: str, lease: float) -> bool:
        """Record the request on the executor's row, then NOTIFY: a worker checks the row before it dies (so a
        forged NOTIFY kills nobody), and a role that may not write the row is refused, as for any change."""
        with self.pool.connection() as c, c.transaction():
            asked = c.execute(self.sql["crash_request"], {"executor": executor_id, "lease": lease}).fetchone()
            if asked is not None:
                self._notify(c, op="crash", executor=executor_id)
        return asked is not None
