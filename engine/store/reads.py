"""Read queries: records for the API, the CLI and the dashboard, paged so 100k workflows stay fast.

The statements are in `sql/reads.sql`. The workflow list's filters and sort pick fixed blocks by key
(`list_statement`): input only ever becomes parameters, never statement text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, cast

from psycopg.rows import class_row, dict_row
from psycopg_pool import ConnectionPool

from engine.errors import WorkflowNotFound
from engine.records import AttemptRecord, ExecutorRecord, FaultRecord, StepRecord, WorkflowRecord, WorkflowSummary
from engine.states import StepKind, StepStatus
from engine.store.queries import Statements, for_schema

FILTERS = ("status", "name", "id_prefix", "queue")
SORTS = ("created", "created_asc", "updated", "name", "status", "id")
DEFAULT_SORT = "created"


def like_prefix(prefix: str) -> str:
    """A LIKE pattern matching text that starts with `prefix` (its own wildcards taken literally)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filter_params(
    status: str | None, name: str | None, id_prefix: str | None, queue: str | None = None
) -> dict[str, Any]:
    """The list filters that are set, as statement parameters (an empty filter is no filter)."""
    prefix = like_prefix(id_prefix) if id_prefix else None
    values = {"status": status, "name": name, "queue": queue, "id_prefix": prefix}
    return {key: value for key, value in values.items() if value}


def list_statement(
    statements: Statements,
    head: str,
    params: Mapping[str, Any],
    sort: str | None = None,
    page: str | None = None,
    tail: str | None = None,
) -> str:
    """`head`, then the filter block of each key in `params`, then a sort block and a page block; then `tail`
    (which closes a subquery the head opened) and the sort again, for the outer query.

    Every piece is a fixed block of `reads.sql`, picked by key; an unknown sort falls back to the default.
    """
    names = [head, *(f"workflow_filter_{key}" for key in FILTERS if key in params)]
    order = f"workflow_sort_{sort if sort in SORTS else DEFAULT_SORT}"
    if sort is not None:
        names.append(order)
    if page is not None:
        names.append(page)
    if tail is not None:
        names += [tail, order]
    return statements.compose(*names)


class ReadStore:
    def __init__(self, pool: ConnectionPool, schema: str):
        self.pool = pool
        self.sql = for_schema(schema)

    def db_now(self) -> datetime:
        """The database clock: countdowns are computed against it, not the local one."""
        with self.pool.connection() as c:
            row = c.cursor(row_factory=dict_row).execute(self.sql["db_now"]).fetchone()
        return cast(datetime, row["now"] if row else datetime.now(timezone.utc))

    def get_workflow(self, workflow_id: str, lease: float = 5.0) -> WorkflowRecord:
        records = self.workflows_by_id([workflow_id], lease)
        if not records:
            raise WorkflowNotFound(f"no workflow with id {workflow_id!r}")
        return records[0]

    def workflows_by_id(self, ids: list[str], lease: float = 5.0) -> list[WorkflowRecord]:
        """`lease`: how recent a heartbeat makes an executor live (one that serves a queued workflow's queue)."""
        with self.pool.connection() as c:
            params = {"ids": ids, "lease": lease}
            rows = c.cursor(row_factory=class_row(WorkflowRecord)).execute(self.sql["workflows_by_id"], params)
            records = {r.workflow_id: r for r in rows.fetchall()}
            steps = c.cursor(row_factory=class_row(StepRecord)).execute(self.sql["steps_by_workflow"], (ids,))
            step_rows = steps.fetchall()
            tuples = c.cursor(row_factory=dict_row)
            attempts = tuples.execute(self.sql["attempts_by_workflow"], (ids,)).fetchall()
            kids = tuples.execute(self.sql["children_of"], (ids,)).fetchall()
            forks = tuples.execute(self.sql["forks_of"], (ids,)).fetchall()
        by_step: dict[tuple[str, int], StepRecord] = {}
        for step in step_rows:
            by_step[(step.workflow_id, step.step_id)] = step
            records[step.workflow_id].steps.append(step)
        for a in attempts:
            owner = by_step.get((a.pop("workflow_id"), a.pop("step_id")))
            if owner is not None:
                owner.attempt_records.append(AttemptRecord(**a))
        for step in by_step.values():
            if (
                not step.attempt_records
                and step.status == StepStatus.SUCCESS
                and step.attempts == 1
                and step.kind != StepKind.SLEEP
            ):
                step.attempt_records.append(AttemptRecord(1, step.started_at, step.finished_at, None, None, None))
        for k in kids:
            records[k["parent"]].children.append(k["child"])
        for f in forks:
            records[f["origin"]].forks.append(f["fork"])
        return [records[i] for i in ids if i in records]

    def list_workflows(
        self,
        status: str | None = None,
        name: str | None = None,
        limit: int = 100,
        queue: str | None = None,
        lease: float = 5.0,
    ) -> list[WorkflowRecord]:
        params = filter_params(status, name, None, queue)
        query = list_statement(self.sql, "workflow_ids_head", params, DEFAULT_SORT, "workflow_limit")
        with self.pool.connection() as c:
            ids = [r[0] for r in c.execute(query, {**params, "limit": limit}).fetchall()]
        return self.workflows_by_id(ids, lease)

    def summaries(
        self,
        status: str | None = None,
        name: str | None = None,
        id_prefix: str | None = None,
        sort: str = DEFAULT_SORT,
        limit: int = 100,
        offset: int = 0,
        queue: str | None = None,
        lease: float = 5.0,
    ) -> list[WorkflowSummary]:
        """One page of the workflow list, with each workflow's latest step: no full values."""
        params = filter_params(status, name, id_prefix, queue)
        query = list_statement(
            self.sql, "workflow_summaries_head", params, sort, "workflow_page", "workflow_summaries_tail"
        )
        with self.pool.connection() as c:
            cur = c.cursor(row_factory=class_row(WorkflowSummary))
            return cur.execute(query, {**params, "limit": limit, "offset": offset, "lease": lease}).fetchall()

    def count(
        self, status: str | None = None, name: str | None = None, id_prefix: str | None = None, queue: str | None = None
    ) -> int:
        params = filter_params(status, name, id_prefix, queue)
        if not params or (status and params.keys() == {"status"}):  # kept by triggers: no count of the history
            counts = self.status_counts()
            return counts.get(status, 0) if status else sum(counts.values())
        with self.pool.connection() as c:
            row = c.execute(list_statement(self.sql, "workflow_count_head", params), params).fetchone()
        return int(row[0]) if row else 0

    def status_counts(self) -> dict[str, int]:
        with self.pool.connection() as c:
            rows = c.cursor(row_factory=dict_row).execute(self.sql["status_counts"]).fetchall()
        return {r["status"]: r["n"] for r in rows}

    def workflow_names(self) -> list[str]:
        with self.pool.connection() as c:
            return [r[0] for r in c.execute(self.sql["workflow_names"]).fetchall()]

    def executors(self, lease_seconds: float = 5.0) -> list[ExecutorRecord]:
        with self.pool.connection() as c:
            cur = c.cursor(row_factory=class_row(ExecutorRecord))
            return cur.execute(self.sql["executors"], {"lease": lease_seconds}).fetchall()

    def faults(self) -> list[FaultRecord]:
        with self.pool.connection() as c:
            return c.cursor(row_factory=class_row(FaultRecord)).execute(self.sql["faults"]).fetchall()
