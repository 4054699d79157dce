"""Read queries: records for the API, the CLI and the dashboard, paged so 100k workflows stay fast."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg_pool import ConnectionPool

from engine.errors import WorkflowNotFound
from engine.records import (
    AttemptRecord,
    ExecutorRecord,
    FaultRecord,
    StepRecord,
    WorkflowRecord,
    WorkflowSummary,
)

WORKFLOW_COLUMNS = """workflow_id, name, status, inputs, output, error, executor_id, parent_workflow_id,
    parent_step_id, forked_from, forked_from_step, recovery_count, wait_reason, created_at, started_at,
    updated_at, finished_at"""

STEP_COLUMNS = """workflow_id, step_id, name, kind, status, attempts, attempt_base, max_attempts,
    next_attempt_at, output, error, child_workflow_id, started_at, finished_at"""

SORTS = {
    "created": "w.created_at DESC, w.workflow_id",
    "created_asc": "w.created_at ASC, w.workflow_id",
    "updated": "w.updated_at DESC, w.workflow_id",
    "name": "w.name, w.created_at DESC",
    "status": "w.status, w.created_at DESC",
    "id": "w.workflow_id",
}

PREVIEW_CHARS = 120


def filters(status: str | None, name: str | None, id_prefix: str | None) -> tuple[str, list[Any]]:
    """A WHERE clause (on alias `w`) and its parameters for the workflow list's filters."""
    where, params = [], []
    if status:
        where.append("w.status = %s")
        params.append(status)
    if name:
        where.append("w.name = %s")
        params.append(name)
    if id_prefix:
        where.append("w.workflow_id LIKE %s")
        params.append(id_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    return (" WHERE " + " AND ".join(where)) if where else "", params


class ReadStore:
    def __init__(self, pool: ConnectionPool, schema: str):
        self.pool = pool
        self.s = schema

    def db_now(self) -> datetime:
        """The database clock: countdowns are computed against it, not the local one."""
        with self.pool.connection() as c:
            return c.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]

    def get_workflow(self, workflow_id: str) -> WorkflowRecord:
        records = self.workflows_by_id([workflow_id])
        if not records:
            raise WorkflowNotFound(f"no workflow with id {workflow_id!r}")
        return records[0]

    def workflows_by_id(self, ids: list[str]) -> list[WorkflowRecord]:
        s = self.s
        with self.pool.connection() as c:
            rows = c.execute(
                f"SELECT {WORKFLOW_COLUMNS} FROM {s}.workflows WHERE workflow_id = ANY(%s)", (ids,)
            ).fetchall()
            steps = c.execute(
                f"SELECT {STEP_COLUMNS} FROM {s}.steps WHERE workflow_id = ANY(%s) ORDER BY workflow_id, step_id",
                (ids,),
            ).fetchall()
            attempts = c.execute(
                f"SELECT workflow_id, step_id, attempt, started_at, finished_at, error_type, error_message, "
                f"traceback FROM {s}.attempts WHERE workflow_id = ANY(%s) "
                "ORDER BY workflow_id, step_id, attempt",
                (ids,),
            ).fetchall()
            kids = c.execute(
                f"SELECT parent_workflow_id, workflow_id FROM {s}.workflows "
                "WHERE parent_workflow_id = ANY(%s) ORDER BY parent_step_id",
                (ids,),
            ).fetchall()
            forks = c.execute(
                f"SELECT forked_from, workflow_id FROM {s}.workflows WHERE forked_from = ANY(%s) ORDER BY created_at",
                (ids,),
            ).fetchall()
        by_step: dict[tuple[str, int], StepRecord] = {}
        records = {r[0]: WorkflowRecord(*r) for r in rows}
        for row in steps:
            step = StepRecord(*row)
            by_step[(step.workflow_id, step.step_id)] = step
            records[step.workflow_id].steps.append(step)
        for wid, sid, *rest in attempts:
            if (wid, sid) in by_step:
                by_step[(wid, sid)].attempt_records.append(AttemptRecord(*rest))
        for step in by_step.values():
            if not step.attempt_records and step.status == "SUCCESS" and step.attempts == 1 and step.kind != "sleep":
                step.attempt_records.append(AttemptRecord(1, step.started_at, step.finished_at, None, None, None))
        for parent, child in kids:
            records[parent].children.append(child)
        for origin, fork in forks:
            records[origin].forks.append(fork)
        return [records[i] for i in ids if i in records]

    def list_workflows(
        self, status: str | None = None, name: str | None = None, limit: int = 100
    ) -> list[WorkflowRecord]:
        where, params = filters(status, name, None)
        with self.pool.connection() as c:
            ids = [
                r[0]
                for r in c.execute(
                    f"SELECT workflow_id FROM {self.s}.workflows w{where} ORDER BY {SORTS['created']} LIMIT %s",
                    [*params, limit],
                ).fetchall()
            ]
        return self.workflows_by_id(ids)

    def summaries(
        self,
        status: str | None = None,
        name: str | None = None,
        id_prefix: str | None = None,
        sort: str = "created",
        limit: int = 100,
        offset: int = 0,
    ) -> list[WorkflowSummary]:
        """One page of the workflow list, with each workflow's latest step: no full values."""
        where, params = filters(status, name, id_prefix)
        order = SORTS.get(sort, SORTS["created"])
        query = f"""
            SELECT w.workflow_id, w.name, w.status, w.executor_id, w.created_at, w.started_at,
                   w.finished_at, w.updated_at, left(w.inputs::text, {PREVIEW_CHARS}),
                   st.step_id, st.name, st.status, st.attempts - st.attempt_base,
                   st.max_attempts - st.attempt_base, st.next_attempt_at, w.wait_reason
            FROM {self.s}.workflows w
            LEFT JOIN LATERAL (SELECT * FROM {self.s}.steps s WHERE s.workflow_id = w.workflow_id
                               ORDER BY s.step_id DESC LIMIT 1) st ON true
            {where} ORDER BY {order} LIMIT %s OFFSET %s"""
        with self.pool.connection() as c:
            rows = c.execute(query, [*params, limit, offset]).fetchall()
        return [WorkflowSummary(*r) for r in rows]

    def count(self, status: str | None = None, name: str | None = None, id_prefix: str | None = None) -> int:
        where, params = filters(status, name, id_prefix)
        with self.pool.connection() as c:
            return c.execute(f"SELECT count(*) FROM {self.s}.workflows w{where}", params).fetchone()[0]  # type: ignore[index]

    def status_counts(self) -> dict[str, int]:
        with self.pool.connection() as c:
            rows = c.execute(f"SELECT status, count(*) FROM {self.s}.workflows GROUP BY status").fetchall()
        return dict(rows)  # type: ignore[arg-type]

    def workflow_names(self) -> list[str]:
        with self.pool.connection() as c:
            rows = c.execute(f"""
                WITH RECURSIVE n AS (
                    (SELECT name FROM {self.s}.workflows ORDER BY name LIMIT 1)
                    UNION ALL
                    SELECT (SELECT name FROM {self.s}.workflows WHERE name > n.name ORDER BY name LIMIT 1)
                    FROM n WHERE n.name IS NOT NULL)
                SELECT name FROM n WHERE name IS NOT NULL""").fetchall()
        return [r[0] for r in rows]

    def executors(self, lease_seconds: float = 5.0) -> list[ExecutorRecord]:
        with self.pool.connection() as c:
            rows = c.execute(
                f"""
                SELECT executor_id, host, pid, started_at, heartbeat_at, code_version, workflows, in_flight,
                       stopped_at, extract(epoch FROM clock_timestamp() - heartbeat_at)::float8,
                       stopped_at IS NULL AND heartbeat_at > clock_timestamp() - make_interval(secs => %s)
                FROM {self.s}.executors ORDER BY started_at DESC""",
                (lease_seconds,),
            ).fetchall()
        return [ExecutorRecord(*r) for r in rows]

    def faults(self) -> list[FaultRecord]:
        with self.pool.connection() as c:
            rows = c.execute(f"""
                SELECT fault_id, kind, workflow_id, step_name, remaining, delay_seconds, phase, message,
                       created_at, expires_at
                FROM {self.s}.faults ORDER BY fault_id""").fetchall()
        return [FaultRecord(*r) for r in rows]
