"""The control plane: act on any workflow from any process that can reach the database.

`Control` needs no application code: the dashboard, the CLI and tests drive workers through it. Every
operation checks the workflow's state first and answers a wrong one with `InvalidState` or
`WorkflowNotFound` (one readable line), changing nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from engine.config import DEFAULT_SCHEMA, describe_url, resolve_database_url
from engine.errors import InvalidState, WorkflowNotFound
from engine.records import ExecutorRecord, FaultRecord, WorkflowRecord, WorkflowSummary
from engine.serialization import dumps
from engine.states import FINAL_STATUSES, WorkflowStatus
from engine.store import Store

BATCH = 1000
FAULT_KINDS = ("fail", "delay", "crash")


class Control:
    """Operations and reads for controllers. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        database_url: str | None = None,
        *,
        schema: str = DEFAULT_SCHEMA,
        lease_seconds: float = 5.0,
        store: Store | None = None,
    ):
        self.database_url = resolve_database_url(database_url)
        self.lease_seconds = lease_seconds
        self.store = store or Store(
            self.database_url, schema, pool_size=4, application_name="durable-control", check_connections=True
        )
        self._owns_store = store is None
        self.reads = self.store.reads
        self.ops = self.store.ops

    @property
    def where(self) -> str:
        """user@host:port/db of the database, for banners: never the password."""
        return describe_url(self.database_url)

    @property
    def events_channel(self) -> str:
        return self.store.events_channel

    @property
    def schema(self) -> str:
        return self.store.schema

    def check_connections(self) -> None:
        """Drop pooled connections that a database restart killed (the next call opens fresh ones)."""
        self.store.pool.check()

    def close(self) -> None:
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Control:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # reads -----------------------------------------------------------------------------------

    def get_workflow(self, workflow_id: str) -> WorkflowRecord:
        return self.reads.get_workflow(workflow_id)

    def list_workflows(
        self, status: str | None = None, name: str | None = None, limit: int = 100
    ) -> list[WorkflowRecord]:
        return self.reads.list_workflows(status=status, name=name, limit=limit)

    def summaries(self, **filters: Any) -> list[WorkflowSummary]:
        return self.reads.summaries(**filters)

    def count(self, status: str | None = None, name: str | None = None, id_prefix: str | None = None) -> int:
        return self.reads.count(status=status, name=name, id_prefix=id_prefix)

    def status_counts(self) -> dict[str, int]:
        return self.reads.status_counts()

    def workflow_names(self) -> list[str]:
        """Every workflow name that has a row, in order."""
        return self.reads.workflow_names()

    def db_now(self) -> datetime:
        """The database clock: countdowns are computed against it, not the local one."""
        return self.reads.db_now()

    def workers(self) -> list[ExecutorRecord]:
        return self.reads.executors(self.lease_seconds)

    def faults(self) -> list[FaultRecord]:
        return self.reads.faults()

    # one workflow ----------------------------------------------------------------------------

    def enqueue_workflow(self, name: str, *args: Any, workflow_id: str | None = None, **kwargs: Any) -> str:
        """Queue a workflow by its registered name for any live worker that has it; returns its id.

        An id that exists already is returned as it is (the id is the idempotency key).
        """
        wid = workflow_id or str(uuid.uuid4())
        inputs = dumps({"args": list(args), "kwargs": kwargs}, f"workflow {wid!r} ({name}) inputs")
        if self.store.runtime.insert_workflow(wid, name, WorkflowStatus.ENQUEUED, inputs, None):
            self.ops.wake()
        return wid

    def _state(self, workflow_id: str) -> tuple[str, str, str | None, bool]:
        state = self.ops.state(workflow_id, self.lease_seconds)
        if state is None:
            raise WorkflowNotFound(f"no workflow with id {workflow_id!r}")
        return state

    def cancel(self, workflow_id: str) -> list[str]:
        """Kill: the workflow (and its children) becomes CANCELLED and stops at its next step boundary."""
        status = self._state(workflow_id)[1]
        if status not in (WorkflowStatus.PENDING, WorkflowStatus.ENQUEUED):
            raise InvalidState(f"workflow {workflow_id!r} is {status}: only PENDING or ENQUEUED can be cancelled")
        return self.ops.cancel([workflow_id])

    def resume(self, workflow_id: str) -> list[str]:
        """Continue a CANCELLED or ERROR workflow from its last checkpoint, with a fresh budget for its failed step."""
        status = self._state(workflow_id)[1]
        if status not in (WorkflowStatus.CANCELLED, WorkflowStatus.ERROR):
            raise InvalidState(f"workflow {workflow_id!r} is {status}: only CANCELLED or ERROR can be resumed")
        return self.ops.resume([workflow_id])

    def recover(self, workflow_id: str) -> list[str]:
        """Hand a PENDING workflow of a dead executor to a live worker now."""
        _, status, executor, alive = self._state(workflow_id)
        if status != WorkflowStatus.PENDING:
            raise InvalidState(f"workflow {workflow_id!r} is {status}: only PENDING workflows are recovered")
        if alive:
            raise InvalidState(f"workflow {workflow_id!r} runs on live executor {executor!r}")
        return self.ops.requeue_dead([workflow_id], self.lease_seconds)

    def retry_now(self, workflow_id: str) -> list[str]:
        """A step waiting for its next attempt (or a durable sleep) skips the rest of the wait."""
        status = self._state(workflow_id)[1]
        done = self.ops.retry_now([workflow_id]) if status == WorkflowStatus.PENDING else []
        if not done:
            raise InvalidState(f"workflow {workflow_id!r} has no step waiting to retry")
        return done

    def fork(self, workflow_id: str, from_step: int = 1, new_workflow_id: str | None = None) -> str:
        """Replay: a new workflow reusing the outcomes of steps before `from_step`, run again from there."""
        self._state(workflow_id)
        last = self.ops.last_step(workflow_id)
        if from_step < 1 or from_step > last + 1:
            raise InvalidState(f"workflow {workflow_id!r} has steps 1..{last}: cannot fork from step {from_step}")
        new_id = new_workflow_id or f"{workflow_id}-fork-{uuid.uuid4().hex[:6]}"
        if self.ops.state(new_id) is not None:
            raise InvalidState(f"workflow id {new_id!r} already exists")
        self.ops.fork(workflow_id, from_step, new_id)
        return new_id

    def delete(self, workflow_id: str) -> list[str]:
        status = self._state(workflow_id)[1]
        if status not in FINAL_STATUSES:
            raise InvalidState(f"workflow {workflow_id!r} is {status}: cancel it before deleting it")
        return self.ops.delete([workflow_id])

    # bulk ------------------------------------------------------------------------------------

    def _bulk(self, action: Any, statuses: tuple[str, ...], status: str | None, name: str | None) -> int:
        """Apply `action` to every workflow matching the filter, one transaction per batch."""
        total, seen = 0, set()
        while True:
            ids = [i for i in self.ops.ids_matching(statuses, status, name, BATCH) if i not in seen]
            if not ids:
                return total
            seen.update(ids)
            total += len(action(ids))

    def cancel_many(self, status: str | None = None, name: str | None = None) -> int:
        return self._bulk(self.ops.cancel, (WorkflowStatus.PENDING, WorkflowStatus.ENQUEUED), status, name)

    def resume_many(self, status: str | None = None, name: str | None = None) -> int:
        return self._bulk(self.ops.resume, (WorkflowStatus.CANCELLED, WorkflowStatus.ERROR), status, name)

    def recover_many(self, status: str | None = None, name: str | None = None) -> int:
        return self._bulk(
            lambda ids: self.ops.requeue_dead(ids, self.lease_seconds), (WorkflowStatus.PENDING,), status, name
        )

    def delete_many(self, status: str | None = None, name: str | None = None) -> int:
        return self._bulk(self.ops.delete, FINAL_STATUSES, status, name)

    purge = delete_many

    # bulk over a confirmed selection: exactly these ids (those in another state are skipped) ------

    def _by_ids(self, action: Any, ids: list[str]) -> int:
        return sum(len(action(ids[i : i + BATCH])) for i in range(0, len(ids), BATCH))

    def cancel_ids(self, ids: list[str]) -> int:
        return self._by_ids(self.ops.cancel, ids)

    def resume_ids(self, ids: list[str]) -> int:
        return self._by_ids(self.ops.resume, ids)

    def recover_ids(self, ids: list[str]) -> int:
        return self._by_ids(lambda batch: self.ops.requeue_dead(batch, self.lease_seconds), ids)

    def delete_ids(self, ids: list[str]) -> int:
        return self._by_ids(self.ops.delete, ids)

    # faults and workers ----------------------------------------------------------------------

    def add_fault(
        self,
        kind: str,
        step_name: str,
        *,
        workflow_id: str | None = None,
        count: int | None = 1,
        delay_seconds: float = 0.0,
        phase: str = "before",
        message: str = "injected fault",
        ttl_seconds: float | None = None,
    ) -> int:
        """Inject a fault at attempts of step `step_name` (of one workflow, or of all). Returns its id."""
        if kind not in FAULT_KINDS:
            raise InvalidState(f"fault kind must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
        if phase not in ("before", "after") or (phase == "after" and kind != "crash"):
            raise InvalidState("phase 'after' (right after the checkpoint) applies only to crash faults")
        if kind == "delay" and delay_seconds <= 0:
            raise InvalidState("a delay fault needs delay_seconds > 0")
        if count is not None and count < 1:
            raise InvalidState("count must be at least 1 (or empty for every attempt)")
        return self.ops.add_fault(kind, step_name, workflow_id, count, delay_seconds, phase, message, ttl_seconds)

    def clear_faults(self, fault_ids: list[int] | None = None) -> int:
        return self.ops.clear_faults(fault_ids)

    def crash_worker(self, executor_id: str) -> None:
        """Kill a worker process on the spot (as SIGKILL): its workflows are then recovered."""
        worker = next((w for w in self.workers() if w.executor_id == executor_id), None)
        if worker is None:
            raise InvalidState(f"no worker with executor id {executor_id!r}")
        if not worker.alive:
            raise InvalidState(f"worker {executor_id!r} is not alive")
        self.ops.crash_executor(executor_id)
