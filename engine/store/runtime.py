"""The store of a running worker: the hot path of a step, workflow lifecycle, executors, claims, faults.

Its statements are in `sql/runtime.sql`. The hot path is one statement per step attempt: the `steps`
upsert and the `attempts` insert share a statement (a data-modifying CTE), so a checkpoint costs one
round trip and one commit. The commonest checkpoint, a success at the first attempt, is a single-row
upsert: the step row itself records that attempt (number 1, its start and end), and the read API
presents it as attempt 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row, kwargs_row
from psycopg_pool import ConnectionPool

from engine.records import FaultRecord, WorkflowOutcome, WorkflowState
from engine.states import StepKind, StepStatus, WorkflowStatus
from engine.store.connection import fetch_one
from engine.store.group_commit import GroupCommit, Joint, Merge
from engine.store.names import control_channel, events_channel
from engine.store.notes import LaterNotes
from engine.store.queries import for_schema


@dataclass
class RecordedStep:
    """What replay needs to know of a step recorded before this run."""

    workflow_id: str
    step_id: int
    name: str
    kind: StepKind
    status: StepStatus
    attempts: int
    attempt_base: int
    output: Any
    error: dict[str, Any] | None
    child_workflow_id: str | None
    wait_remaining: float
    past_errors: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.kind = _STEP_KINDS.get(self.kind) or StepKind(self.kind)
        self.status = _STEP_STATUSES.get(self.status) or StepStatus(self.status)
        self.wait_remaining = self.wait_remaining or 0.0


_STEP_KINDS: dict[str, StepKind] = {kind.value: kind for kind in StepKind}
_STEP_STATUSES: dict[str, StepStatus] = {status.value: status for status in StepStatus}
_WORKFLOW_STATUSES: dict[str, WorkflowStatus] = {status.value: status for status in WorkflowStatus}
"""Members by text: a dictionary lookup per row instead of an enum call (a recovery reads thousands of rows)."""
_RECORDED_COLUMNS = [f.name for f in fields(RecordedStep) if f.name != "past_errors"]


@dataclass
class ClaimedWorkflow:
    workflow_id: str
    name: str
    inputs: Any
    status: WorkflowStatus
    deadline_in: float | None = None
    """Seconds until its deadline when claimed (negative: it passed while nobody ran it; None: no timeout)."""
    recorded: bool = True
    """It has steps recorded, which replay reads; a workflow that never ran has none, and costs no read."""

    def __post_init__(self) -> None:
        self.status = _WORKFLOW_STATUSES.get(self.status) or WorkflowStatus(self.status)


class RuntimeStore:
    def __init__(self, pool: ConnectionPool, schema: str):
        self.pool = pool
        self.sql = for_schema(schema)
        self.notes = LaterNotes(pool, self.sql, events_channel(schema), control_channel(schema))
        """The notifications of this store's starts and checkpoints, sent after their commit by the notifier."""
        # the hot path's statements, looked up once rather than at every call
        self._record_first_success = self.sql["record_first_success"]
        self._record_step = self.sql["record_step"]
        self._start_workflow = self.sql["start_workflow"]
        self._enqueue_workflow = self.sql["enqueue_workflow"]
        self._notify_enqueued = self.sql["notify_enqueued"]
        self._events = events_channel(schema)
        self._enqueue_channels = {
            "events": self._events,
            "control": control_channel(schema),
            "wake": json.dumps({"op": "wake"}),
        }
        first_successes = Merge(self.sql["record_first_successes"], _first_successes, _step_of_params, _step_of_row)
        with_finish = Joint(
            self._record_first_success,
            first_successes,
            self.sql["finish_workflows"],
            self.sql["record_first_successes_and_finish"],
            _is_finished_row,
        )
        self.group_commit = GroupCommit(
            pool, merges={self._record_first_success: first_successes}, joints=[with_finish]
        )
        self.skew: Callable[[], float] = _no_skew
        """Seconds a virtual clock (the test harness's) is ahead of the database's; recorded times follow it."""

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
        end_reason: str | None = None,
        policy: str | None = None,
        owner: str,
    ) -> bool:
        """Commit one attempt's outcome; False when the step already had a final outcome recorded or the
        workflow is no longer owned by `owner` (the fence: a run that lost its workflow writes nothing).

        Outside a transaction (no `conn`) its notification is sent after the commit; in one, the trigger sends it
        with the transaction's commit."""
        later = "on" if conn is None else "off"
        if status == StepStatus.SUCCESS and attempt == 1 and with_attempt:
            first = {
                "wid": workflow_id,
                "sid": step_id,
                "name": name,
                "kind": kind,
                "max": max_attempts,
                "output": output,
                "child": child_workflow_id,
                "started": started,
                "skew": self.skew(),
                "me": owner,
                "later": later,
            }
            return self._one(self._record_first_success, first, conn)
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
            "reason": end_reason,
            "policy": policy,
            "skew": self.skew(),
            "me": owner,
            "later": later,
        }
        return self._one(self._record_step, params, conn)

    def _one(self, query: str, params: Any, conn: psycopg.Connection | None) -> bool:
        """Run a checkpoint statement that returns its step's notification, or no row when it wrote nothing."""
        if conn is not None:
            row = conn.execute(query, params).fetchone()
            return row is not None
        note = self.group_commit.write(query, params)
        if note:
            self.notes.add(note)
        return bool(note)

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
        policy: str | None = None,
    ) -> None:
        with self.pool.connection() as c:
            c.execute(
                self.sql["mark_step"],
                (workflow_id, step_id, name, kind, status, attempt, max_attempts, child_workflow_id, started, policy),
            )

    def enqueue_workflow(self, workflow_id: str, name: str, inputs: str, timeout: float | None = None) -> bool:
        """Commit a new ENQUEUED workflow, then send its notification and a wake to the workers; False when the
        id exists (nothing is sent).

        The notifications follow the commit in a transaction of their own (see engine/store/notes.py): a commit
        that notifies holds a database-wide lock until it is durable, so many clients enqueueing at once would
        commit one at a time, where plain commits share a WAL flush. Both are sent before this returns."""
        params = {"wid": workflow_id, "name": name, "inputs": inputs, "timeout": timeout, "later": "on"}
        with self.pool.connection() as c:
            row = c.execute(self._enqueue_workflow, params).fetchone()
            if row is None:
                return False
            c.execute(self._notify_enqueued, {**self._enqueue_channels, "note": row[0]})
        return True

    def start_workflow(
        self,
        workflow_id: str,
        name: str,
        inputs: str,
        executor_id: str,
        parent: tuple[str, int] | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Commit a new PENDING workflow owned by `executor_id` (one round trip); False when the id exists."""
        parent_id, parent_step = parent or (None, None)
        params = {
            "wid": workflow_id,
            "name": name,
            "inputs": inputs,
            "me": executor_id,
            "parent": parent_id,
            "parent_step": parent_step,
            "timeout": timeout,
            "later": "on",
        }
        row = fetch_one(self.pool, self._start_workflow, params)
        if row is None:
            return False
        self.notes.add(row[0])
        return True

    def start_workflows(
        self, workflow_ids: list[str], name: str, inputs: list[str], executor_id: str, timeout: float | None = None
    ) -> set[str]:
        """Commit new PENDING workflows of one name, in one statement and one commit; returns the ids created
        (an id that exists already, or that appears twice, is created at most once)."""
        params = {
            "ids": workflow_ids,
            "name": name,
            "inputs": inputs,
            "me": executor_id,
            "timeout": timeout,
            "later": "on",
        }
        with self.pool.connection() as c:
            rows = c.execute(self.sql["start_workflows"], params).fetchall()
        self.notes.extend([note for _, note in rows])
        return {wid for wid, _ in rows}

    def workflow_names(self, workflow_ids: list[str]) -> dict[str, str]:
        """The name of each of these workflows that exists, by id."""
        with self.pool.connection() as c:
            return dict(c.execute(self.sql["names_of_workflows"], (workflow_ids,)).fetchall())

    def finish_workflows(self, executor_id: str, outcomes: list[tuple[str, str, str | None, str | None]]) -> None:
        """Record how workflows ended, (id, status, output, error) each, in one statement, committed through the
        group commit (with whatever checkpoints queued beside it).

        Only workflows still PENDING and owned by this executor change: a cancel or a takeover wins.
        """
        ids, statuses, results, errors = (list(column) for column in zip(*outcomes, strict=True))
        params = {
            "ids": ids,
            "statuses": statuses,
            "results": results,
            "errors": errors,
            "me": executor_id,
            "skew": self.skew(),
            "later": "on",
            "events": self._events,
        }
        self.group_commit.write(self.sql["finish_workflows"], params)

    def recorded_steps(self, workflow_ids: list[str]) -> dict[str, dict[int, RecordedStep]]:
        """Everything replay needs for these workflows, in two queries however many there are."""
        out: dict[str, dict[int, RecordedStep]] = {wid: {} for wid in workflow_ids}
        with self.pool.connection() as c:
            params = {"ids": workflow_ids, "skew": self.skew()}
            steps = c.execute(self.sql["steps_for_run"], params)
            if steps.description is None or [d.name for d in steps.description] != _RECORDED_COLUMNS:
                raise RuntimeError("steps_for_run must return RecordedStep's fields in order")
            recorded = [RecordedStep(*row) for row in steps.fetchall()]  # by position: no dict per row
            open_steps = any(not step.status.final for step in recorded)
            errors: list[dict[str, Any]] = []
            if open_steps:
                cur = c.cursor(row_factory=dict_row).execute(self.sql["open_step_errors"], (workflow_ids,))
                errors = cur.fetchall()
        for step in recorded:
            out[step.workflow_id][step.step_id] = step
        for e in errors:
            out[e["workflow_id"]][e["step_id"]].past_errors.append((e["error_type"], e["error_message"]))
        return out

    def hold_workflow(self, conn: psycopg.Connection, workflow_id: str, executor_id: str) -> bool:
        """In the transaction open on `conn`: lock the workflow's row if `executor_id` owns it."""
        return conn.execute(self.sql["hold_workflow"], (workflow_id, executor_id)).fetchone() is not None

    def workflow_state(self, workflow_id: str) -> WorkflowState | None:
        """(name, status, executor_id) of a workflow, or None."""
        with self.pool.connection() as c:
            cur = c.cursor(row_factory=kwargs_row(WorkflowState.read))
            return cur.execute(self.sql["workflow_state"], (workflow_id,)).fetchone()

    def workflow_outcome(self, workflow_id: str) -> WorkflowOutcome | None:
        """(status, output, error) of a workflow, or None."""
        with self.pool.connection() as c:
            cur = c.cursor(row_factory=kwargs_row(WorkflowOutcome.read))
            return cur.execute(self.sql["workflow_outcome"], (workflow_id,)).fetchone()

    def _claim(self, query: str, params: Any) -> list[ClaimedWorkflow]:
        with self.pool.connection() as c:
            return c.cursor(row_factory=class_row(ClaimedWorkflow)).execute(self.sql[query], params).fetchall()

    def executor_died(self, executor_id: str) -> bool:
        """The executor's last run ended without a clean stop (False for an id never seen)."""
        with self.pool.connection() as c:
            row = c.execute(self.sql["executor_died"], (executor_id,)).fetchone()
        return bool(row and row[0])

    def claim_own(
        self, executor_id: str, died: bool, limits: dict[str, int], default_limit: int
    ) -> list[ClaimedWorkflow]:
        """This executor's PENDING workflows at launch; `died` counts a recovery (and stops poison workflows)."""
        params = {"me": executor_id, "died": died, "default_limit": default_limit, **_limit_columns(limits)}
        return self._claim("claim_own", params)

    def claim_stranded(self, executor_id: str, workflow_ids: list[str]) -> list[ClaimedWorkflow]:
        return self._claim("claim_stranded", (workflow_ids, executor_id))

    def claim_dead(self, executor_id: str, limits: dict[str, int], lease: float, limit: int) -> list[ClaimedWorkflow]:
        """PENDING workflows of dead executors, for the names in `limits` (name -> max recovery attempts)."""
        params = {"me": executor_id, "lease": lease, "limit": limit, **_limit_columns(limits)}
        return self._claim("claim_dead", params)

    def explain_waiting(self, lease: float) -> None:
        with self.pool.connection() as c:
            c.execute(self.sql["explain_waiting"], {"lease": lease})

    def register_executor(
        self, executor_id: str, host: str, pid: int, code_version: str | None, workflows: list[str], queues: list[str]
    ) -> None:
        with self.pool.connection() as c:
            c.execute(self.sql["register_executor"], (executor_id, host, pid, code_version, workflows, queues))

    def heartbeat(self, executor_id: str, in_flight: int) -> None:
        with self.pool.connection() as c:
            c.execute(self.sql["heartbeat"], (in_flight, executor_id))

    def stop_executor(self, executor_id: str) -> None:
        with self.pool.connection() as c:
            c.execute(self.sql["stop_executor"], (executor_id,))

    def cancelled_among(self, workflow_ids: list[str]) -> list[str]:
        if not workflow_ids:
            return []
        with self.pool.connection() as c:
            return [r[0] for r in c.execute(self.sql["cancelled_among"], (workflow_ids,)).fetchall()]

    def due_among(self, workflow_ids: list[str]) -> list[str]:
        if not workflow_ids:
            return []
        with self.pool.connection() as c:
            return [r[0] for r in c.execute(self.sql["due_among"], (workflow_ids,)).fetchall()]

    def crash_requested(self, executor_id: str) -> bool:
        with self.pool.connection() as c:
            row = c.execute(self.sql["crash_requested"], (executor_id,)).fetchone()
        return bool(row and row[0])

    def active_faults(self) -> list[FaultRecord]:
        with self.pool.connection() as c:
            return c.cursor(row_factory=class_row(FaultRecord)).execute(self.sql["active_faults"]).fetchall()

    def consume_fault(self, fault_id: int) -> bool:
        """Take one use of a fault; False when another worker used the last one first."""
        with self.pool.connection() as c:
            return c.execute(self.sql["consume_fault"], (fault_id,)).fetchone() is not None


def _limit_columns(limits: dict[str, int]) -> dict[str, list[Any]]:
    """Workflow names and their recovery limits as two parallel arrays (for `unnest` in a claim)."""
    return {"names": list(limits), "limits": list(limits.values())}


def _no_skew() -> float:
    return 0.0


def _first_successes(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The parameters of `record_first_successes` from those of queued `record_first_success` checkpoints (all
    from group commit, so all written with their notification sent later)."""
    return {
        "wids": [p["wid"] for p in items],
        "sids": [p["sid"] for p in items],
        "names": [p["name"] for p in items],
        "kinds": [p["kind"] for p in items],
        "maxes": [p["max"] for p in items],
        "outputs": [p["output"] for p in items],
        "children": [p["child"] for p in items],
        "starteds": [p["started"] for p in items],
        "skews": [float(p["skew"]) for p in items],
        "owners": [p["me"] for p in items],
        "later": items[0]["later"],
    }


def _step_of_params(params: dict[str, Any]) -> tuple[str, int]:
    return params["wid"], params["sid"]


def _step_of_row(row: tuple[Any, ...]) -> tuple[str, int]:
    return row[0], row[1]


def _is_finished_row(row: tuple[Any, ...]) -> bool:
    """A row of `record_first_successes_and_finish` that is a finished workflow's (no step id), not a step's."""
    return row[1] is None
