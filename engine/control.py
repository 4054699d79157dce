"""The control plane: act on any workflow from any process that can reach the database.

`Control` needs no application code: the dashboard, the CLI and tests drive workers through it. Every
operation checks the workflow's state first and answers a wrong one with `InvalidState` or
`WorkflowNotFound` (one readable line), changing nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from engine.config import DEFAULT_SCHEMA, describe_url
from engine.database import resolve_database_url
from engine.deadlines import check_timeout
from engine.errors import InvalidInput, InvalidState, QueueDeduplicated, WorkflowNotFound
from engine.ids import make_workflow_id
from engine.messaging import Messaging
from engine.records import (
    EventRecord,
    ExecutorRecord,
    FaultRecord,
    QueueFigures,
    StreamValue,
    WorkflowOwner,
    WorkflowRecord,
    WorkflowSummary,
)
from engine.retention import RetentionControl
from engine.schedule_control import ScheduleControl
from engine.serialization import dumps
from engine.states import TRANSITIONS, FaultKind, FaultPhase, Operation, WorkflowStatus, allowed_sources
from engine.store import Store
from engine.store.notes import LaterNotes
from engine.store.queues import Duplicate, QueueDefinition
from engine.validation import check_filter, check_name, check_number, check_text, check_workflow_id

BATCH = 1000
MAX_FAULT_SECONDS = 7 * 24 * 3600.0
"""A fault's delay and lifetime are at most a week: a longer one is a typo."""
MAX_DELAY_SECONDS = 365 * 24 * 3600.0
"""A queued workflow's delay is at most a year."""


class Control(ScheduleControl, RetentionControl):
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
        self._store = store or Store(
            self.database_url, schema, pool_size=4, application_name="durable-control", check_connections=True
        )
        self._owns_store = store is None
        self._reads = self._store.reads
        self._ops = self._store.ops
        self._messaging = Messaging(self._store)

    @property
    def where(self) -> str:
        """user@host:port/db of the database, for banners: never the password."""
        return describe_url(self.database_url)

    @property
    def events_channel(self) -> str:
        return self._store.events_channel

    @property
    def schema(self) -> str:
        return self._store.schema

    def check_connections(self) -> None:
        """Drop pooled connections that a database restart killed (the next call opens fresh ones)."""
        self._store.pool.check()

    def close(self) -> None:
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> Control:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # reads -----------------------------------------------------------------------------------

    def get_workflow(self, workflow_id: str) -> WorkflowRecord:
        check_workflow_id(workflow_id)
        return self._reads.get_workflow(workflow_id, self.lease_seconds)

    def list_workflows(
        self, status: str | None = None, name: str | None = None, limit: int = 100, queue: str | None = None
    ) -> list[WorkflowRecord]:
        _check_filters(status, name, queue=queue)
        return self._reads.list_workflows(status=status, name=name, limit=limit, queue=queue, lease=self.lease_seconds)

    def summaries(self, **filters: Any) -> list[WorkflowSummary]:
        _check_filters(filters.get("status"), filters.get("name"), filters.get("id_prefix"), filters.get("queue"))
        return self._reads.summaries(**filters, lease=self.lease_seconds)

    def count(
        self, status: str | None = None, name: str | None = None, id_prefix: str | None = None, queue: str | None = None
    ) -> int:
        _check_filters(status, name, id_prefix, queue)
        return self._reads.count(status=status, name=name, id_prefix=id_prefix, queue=queue)

    def status_counts(self) -> dict[str, int]:
        return self._reads.status_counts()

    def workflow_names(self) -> list[str]:
        """Every workflow name that has a row, in order."""
        return self._reads.workflow_names()

    def db_now(self) -> datetime:
        """The database clock: countdowns are computed against it, not the local one."""
        return self._reads.db_now()

    def workers(self) -> list[ExecutorRecord]:
        return self._reads.executors(self.lease_seconds)

    def faults(self) -> list[FaultRecord]:
        return self._reads.faults()

    # messages, events and streams (engine/messaging.py) ------------------------------------------

    def send(
        self, workflow_id: str, message: Any, topic: str | None = None, idempotency_key: str | None = None
    ) -> bool:
        """Send a JSON message to a workflow's `recv`; False when `idempotency_key` already sent one."""
        return self._messaging.send(workflow_id, message, topic, idempotency_key)

    def get_event(self, workflow_id: str, key: str, timeout_seconds: float = 60.0) -> Any:
        """A workflow's event `key`, waiting up to `timeout_seconds` for it to be set (None then)."""
        return self._messaging.get_event(workflow_id, key, timeout_seconds)

    def get_events(self, workflow_id: str) -> dict[str, Any]:
        return self._messaging.get_events(workflow_id)

    def events(self, workflow_id: str) -> list[EventRecord]:
        """A workflow's events with when each was last set (the dashboard's and the CLI's view)."""
        return self._messaging.events(workflow_id)

    def streams(self, workflow_id: str) -> list[StreamValue]:
        return self._messaging.streams(workflow_id)

    def messages_waiting(self, workflow_id: str) -> dict[str, int]:
        return self._messaging.messages_waiting(workflow_id)

    def stream_values(self, workflow_id: str, key: str) -> list[Any]:
        """The values of a stream written so far, without waiting for more."""
        return self._messaging.stream_values(workflow_id, key)

    def read_stream(self, workflow_id: str, key: str) -> Iterator[Any]:
        """Each value of a workflow's stream, in order, as it is written, until it is closed or the workflow ends."""
        return self._messaging.read_stream(workflow_id, key)

    # one workflow ----------------------------------------------------------------------------

    def enqueue_workflow(
        self,
        name: str,
        *args: Any,
        workflow_id: str | None = None,
        queue: str | None = None,
        priority: int | None = None,
        deduplication_id: str | None = None,
        delay_seconds: float | None = None,
        partition_key: str | None = None,
        timeout_seconds: float | None = None,
        **kwargs: Any,
    ) -> str:
        """Queue a workflow by its registered name for any live worker that has it; returns its id.

        An id that exists already is returned as it is (the id is the idempotency key). With `queue`, it
        waits its turn in that queue (defined by the workers that import it) and the other keywords apply.
        `timeout_seconds` counts from when a worker starts it.
        """
        if queue is None:
            if (priority, deduplication_id, delay_seconds, partition_key) != (None, None, None, None):
                raise InvalidInput("priority, deduplication_id, delay_seconds and partition_key need a queue")
            return self.enqueue_named(
                name, list(args), kwargs, workflow_id=workflow_id, timeout_seconds=timeout_seconds
            )[0]
        return self.enqueue_queued(
            name,
            list(args),
            kwargs,
            queue,
            workflow_id=workflow_id,
            priority=priority,
            deduplication_id=deduplication_id,
            delay_seconds=delay_seconds,
            partition_key=partition_key,
            timeout_seconds=timeout_seconds,
        )

    def enqueue_queued(
        self,
        name: str,
        args: list[Any],
        kwargs: dict[str, Any],
        queue: str,
        *,
        workflow_id: str | None = None,
        priority: int | None = None,
        deduplication_id: str | None = None,
        delay_seconds: float | None = None,
        partition_key: str | None = None,
        timeout_seconds: float | None = None,
        definition: QueueDefinition | None = None,
        later: LaterNotes | None = None,
    ) -> str:
        """Queue a workflow in a recorded queue; raises `QueueDeduplicated` for a live de-duplication id.

        `definition`: the queue as the caller recorded it (a worker that defines it), which saves reading it.
        `later`: a worker's notifier, which sends the notification and the wake after the commit (one round trip
        less: an enqueue in a loop costs about what a start does)."""
        check_name(name, "a workflow name")
        if definition is None or definition.name != queue:
            definition = self._store.queues.definition(check_name(queue, "a queue name"))
        if definition is None:
            raise InvalidInput(f"no queue named {queue!r} is recorded: a worker that defines it records it at launch")
        if definition.partitioned and not partition_key:
            raise InvalidInput(f"queue {queue!r} is partitioned: enqueue with a partition_key")
        if partition_key and not definition.partitioned:
            raise InvalidInput(f"queue {queue!r} is not partitioned: it takes no partition_key")
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise InvalidInput(f"priority must be a whole number, not {priority!r}")
        if delay_seconds is not None:
            check_number(delay_seconds, "delay_seconds", 0, MAX_DELAY_SECONDS)
        dedup = check_name(deduplication_id, "a deduplication id") if deduplication_id is not None else None
        wid = check_workflow_id(workflow_id) if workflow_id is not None else make_workflow_id()
        inputs = dumps({"args": list(args), "kwargs": kwargs}, f"workflow {wid!r} ({name}) inputs")
        try:
            self._store.queues.insert(
                wid,
                name,
                inputs,
                queue,
                # a queue without priority keeps enqueue order: its rows all rank 0, the claim's index order
                priority=(priority or 0) if definition.priority_enabled else 0,
                deduplication_id=dedup,
                partition_key=check_name(partition_key, "a partition key") if partition_key else "",
                delay_seconds=delay_seconds,
                timeout_seconds=check_timeout(timeout_seconds),
                later=later,
            )
        except Duplicate as exc:
            raise QueueDeduplicated(queue, dedup or "", exc.workflow_id) from None
        return wid

    def list_queues(self) -> list[QueueFigures]:
        """Each recorded queue's definition and live figures (queued, running, started in its period)."""
        return [QueueFigures(**row) for row in self._store.queues.figures()]

    def enqueue_named(
        self,
        name: str,
        args: list[Any],
        kwargs: dict[str, Any],
        *,
        workflow_id: str | None = None,
        timeout_seconds: float | None = None,
    ) -> tuple[str, bool]:
        """`enqueue_workflow` with the inputs as values (so no keyword of the workflow can clash with
        `workflow_id`): returns the id and whether a new workflow was queued (False: the id existed)."""
        check_name(name, "a workflow name")
        wid = check_workflow_id(workflow_id) if workflow_id is not None else make_workflow_id()
        inputs = dumps({"args": list(args), "kwargs": kwargs}, f"workflow {wid!r} ({name}) inputs")
        timeout = check_timeout(timeout_seconds)
        return wid, self._store.runtime.enqueue_workflow(wid, name, inputs, timeout)

    def _state(self, workflow_id: str) -> WorkflowOwner:
        check_workflow_id(workflow_id)
        state = self._ops.state(workflow_id, self.lease_seconds)
        if state is None:
            raise WorkflowNotFound(f"no workflow with id {workflow_id!r}")
        return state

    def _check(self, operation: Operation, workflow_id: str, refusal: str) -> WorkflowOwner:
        """The workflow's state, if `operation` applies to its status (TRANSITIONS); else InvalidState."""
        state = self._state(workflow_id)
        if state.status not in TRANSITIONS[operation]:
            raise InvalidState(f"workflow {workflow_id!r} is {state.status}: {refusal}")
        return state

    def cancel(self, workflow_id: str) -> list[str]:
        """The workflow (and its children) becomes CANCELLED and stops at its next step boundary."""
        self._check(Operation.CANCEL, workflow_id, "only PENDING or ENQUEUED can be cancelled")
        return self._ops.cancel([workflow_id])

    def resume(self, workflow_id: str) -> list[str]:
        """Continue a CANCELLED or ERROR workflow from its last checkpoint, with a fresh budget for its failed step."""
        self._check(Operation.RESUME, workflow_id, "only CANCELLED or ERROR can be resumed")
        return self._ops.resume([workflow_id])

    def recover(self, workflow_id: str) -> list[str]:
        """Hand a PENDING workflow of a dead executor to a live worker now."""
        state = self._check(Operation.RECOVER, workflow_id, "only PENDING workflows are recovered")
        if state.alive:
            raise InvalidState(f"workflow {workflow_id!r} runs on live executor {state.executor_id!r}")
        return self._ops.requeue_dead([workflow_id], self.lease_seconds)

    def retry_now(self, workflow_id: str) -> list[str]:
        """A step waiting for its next attempt (or a durable sleep) skips the rest of the wait."""
        status = self._state(workflow_id).status
        done = self._ops.retry_now([workflow_id]) if status in TRANSITIONS[Operation.RETRY_NOW] else []
        if not done:
            raise InvalidState(f"workflow {workflow_id!r} has no step waiting to retry")
        return done

    def fork(
        self,
        workflow_id: str,
        from_step: int = 1,
        new_workflow_id: str | None = None,
        *,
        inputs: dict[str, Any] | None = None,
        step_outputs: dict[int, Any] | None = None,
    ) -> str:
        """A new workflow that reuses the recorded outcomes of the steps before `from_step` and runs again from there.

        `inputs` (`{"args": [...], "kwargs": {...}}`) replaces the workflow's arguments; `step_outputs`
        (`{3: value}`) replaces the recorded output of steps before `from_step`. The original is never
        modified; the fork records what was changed (`fork_changes`).
        """
        self._check(Operation.FORK, workflow_id, "it cannot be forked")
        check_number(from_step, "from_step", 1, 2**31 - 1)
        if new_workflow_id is not None:
            check_workflow_id(new_workflow_id)
        last = self._ops.last_step(workflow_id)
        if from_step < 1 or from_step > last + 1:
            raise InvalidState(f"workflow {workflow_id!r} has steps 1..{last}: cannot fork from step {from_step}")
        new_id = new_workflow_id or f"{workflow_id}-fork-{uuid.uuid4().hex[:6]}"
        if self._ops.state(new_id) is not None:
            raise InvalidState(f"workflow id {new_id!r} already exists")
        changes: dict[str, Any] = {}
        if inputs is not None:
            changes["inputs"] = _checked_inputs(inputs)
        if step_outputs:
            recorded = set(self._ops.recorded_step_ids(workflow_id))
            outputs = {}
            for key, value in step_outputs.items():
                step_id = _step_number(key)
                if step_id >= from_step or step_id not in recorded:
                    raise InvalidState(
                        f"step {step_id} of {workflow_id!r} is not a recorded step before step {from_step}: "
                        "only those outputs can be replaced"
                    )
                outputs[str(step_id)] = value
            changes["step_outputs"] = outputs
        what = f"fork of {workflow_id!r}"
        self._ops.fork(
            workflow_id,
            from_step,
            new_id,
            inputs=dumps(changes["inputs"], f"{what} inputs") if "inputs" in changes else None,
            step_outputs=dumps(changes["step_outputs"], f"{what} step outputs") if "step_outputs" in changes else None,
            changes=dumps(changes, what) if changes else None,
        )
        return new_id

    def delete(self, workflow_id: str) -> list[str]:
        self._check(Operation.DELETE, workflow_id, "cancel it before deleting it")
        return self._ops.delete([workflow_id])

    # bulk ------------------------------------------------------------------------------------

    def _bulk(
        self, action: Any, operation: Operation, status: str | None, name: str | None, queue: str | None = None
    ) -> int:
        """Apply `action` to every workflow matching the filter that `operation` applies to, a batch at a time."""
        _check_filters(status, name, queue=queue)
        total, seen = 0, set()
        sources = allowed_sources(operation)
        while True:
            ids = [i for i in self._ops.ids_matching(sources, status, name, BATCH, queue) if i not in seen]
            if not ids:
                return total
            seen.update(ids)
            total += len(action(ids))

    def cancel_many(self, status: str | None = None, name: str | None = None, queue: str | None = None) -> int:
        return self._bulk(self._ops.cancel, Operation.CANCEL, status, name, queue)

    def resume_many(self, status: str | None = None, name: str | None = None, queue: str | None = None) -> int:
        return self._bulk(self._ops.resume, Operation.RESUME, status, name, queue)

    def recover_many(self, status: str | None = None, name: str | None = None, queue: str | None = None) -> int:
        def recover(ids: list[str]) -> list[str]:
            return self._ops.requeue_dead(ids, self.lease_seconds)

        return self._bulk(recover, Operation.RECOVER, status, name, queue)

    def delete_many(self, status: str | None = None, name: str | None = None, queue: str | None = None) -> int:
        return self._bulk(self._ops.delete, Operation.DELETE, status, name, queue)

    purge = delete_many

    # bulk over a confirmed selection: exactly these ids (those in another state are skipped) ------

    def _by_ids(self, action: Any, ids: list[str]) -> int:
        for workflow_id in ids:
            check_workflow_id(workflow_id)
        return sum(len(action(ids[i : i + BATCH])) for i in range(0, len(ids), BATCH))

    def cancel_ids(self, ids: list[str]) -> int:
        return self._by_ids(self._ops.cancel, ids)

    def resume_ids(self, ids: list[str]) -> int:
        return self._by_ids(self._ops.resume, ids)

    def recover_ids(self, ids: list[str]) -> int:
        return self._by_ids(lambda batch: self._ops.requeue_dead(batch, self.lease_seconds), ids)

    def delete_ids(self, ids: list[str]) -> int:
        return self._by_ids(self._ops.delete, ids)

    # faults and workers ----------------------------------------------------------------------

    def add_fault(
        self,
        kind: str,
        step_name: str,
        *,
        workflow_id: str | None = None,
        count: int | None = 1,
        delay_seconds: float = 0.0,
        phase: str = FaultPhase.BEFORE,
        message: str = "injected fault",
        ttl_seconds: float | None = None,
    ) -> int:
        """Inject a fault at attempts of step `step_name` (of one workflow, or of all). Returns its id."""
        check_name(step_name, "a step name")
        if workflow_id is not None:
            check_workflow_id(workflow_id)
        check_text(message, "a fault message")
        if kind not in set(FaultKind):
            raise InvalidState(f"fault kind must be one of {', '.join(FaultKind)}, not {kind!r}")
        if phase not in set(FaultPhase) or (phase == FaultPhase.AFTER and kind != FaultKind.CRASH):
            raise InvalidState("phase 'after' (right after the checkpoint) applies only to crash faults")
        if kind == FaultKind.DELAY and delay_seconds <= 0:
            raise InvalidState("a delay fault needs delay_seconds > 0")
        if count is not None and count < 1:
            raise InvalidState("count must be at least 1 (or empty for every attempt)")
        check_number(delay_seconds, "delay_seconds", 0, MAX_FAULT_SECONDS)
        if ttl_seconds is not None:
            check_number(ttl_seconds, "ttl_seconds", 0, MAX_FAULT_SECONDS)
        if count is not None:
            check_number(count, "count", 1, 2**31 - 1)
        return self._ops.add_fault(kind, step_name, workflow_id, count, delay_seconds, phase, message, ttl_seconds)

    def clear_faults(self, fault_ids: list[int] | None = None) -> int:
        for fault_id in fault_ids or []:
            check_number(fault_id, "a fault id", 1, 2**63 - 1)
        return self._ops.clear_faults(fault_ids)

    def crash_worker(self, executor_id: str) -> None:
        """Kill a worker process on the spot (as SIGKILL): its workflows are then recovered."""
        check_name(executor_id, "an executor id")
        worker = next((w for w in self.workers() if w.executor_id == executor_id), None)
        if worker is None:
            raise InvalidState(f"no worker with executor id {executor_id!r}")
        if not worker.alive:
            raise InvalidState(f"worker {executor_id!r} is not alive")
        if not self._ops.crash_executor(executor_id, self.lease_seconds):
            raise InvalidState(f"worker {executor_id!r} is not alive")


def _checked_inputs(inputs: Any) -> dict[str, Any]:
    """Workflow inputs as stored: `{"args": [...], "kwargs": {...}}`, either key optional."""
    if not isinstance(inputs, dict) or set(inputs) - {"args", "kwargs"}:
        raise InvalidState('inputs must be {"args": [...], "kwargs": {...}}')
    args, kwargs = inputs.get("args", []), inputs.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise InvalidState('inputs must be {"args": [...], "kwargs": {...}} with a list and an object')
    return {"args": args, "kwargs": kwargs}


def _step_number(key: Any) -> int:
    try:
        return int(key)
    except (TypeError, ValueError):
        raise InvalidState(f"step_outputs keys are step numbers, not {key!r}") from None


def _check_filters(
    status: str | None, name: str | None, id_prefix: str | None = None, queue: str | None = None
) -> None:
    """Filters come from people (CLI options, the dashboard's search): refuse what cannot match with one line."""
    if status and status not in list(WorkflowStatus):
        raise InvalidInput(f"status must be one of {', '.join(WorkflowStatus)}, not {status!r}")
    check_filter(name, "a name filter")
    check_filter(id_prefix, "an id search")
    check_filter(queue, "a queue filter")
