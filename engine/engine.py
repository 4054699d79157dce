"""The Engine: what an application creates to run workflows durably in its own process.

It owns the lifecycle (launch, shutdown), the public API (start, enqueue, read) and the scheduling of
runs onto threads. What runs on those threads lives in `execution.py`, behind the `Runtime` handle.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from engine.clock import Clock
from engine.config import DEFAULT_EXECUTOR_ID, DEFAULT_SCHEMA, resolve_executor_id
from engine.context import set_default_engine
from engine.control import Control
from engine.database import resolve_database_url
from engine.deadlines import Deadlines, check_timeout
from engine.errors import DurableError, InvalidInput, WorkflowConflict, WorkflowNotFound
from engine.execution import execute
from engine.faults import FaultCache
from engine.handle import WorkflowHandle
from engine.ids import make_workflow_id
from engine.outcome import PAUSED
from engine.queues import QUEUES
from engine.records import WorkflowRecord
from engine.retention import Retention, check_retention
from engine.runtable import RunTable
from engine.runtime import Runtime
from engine.schedules import SCHEDULES, Scheduler
from engine.serialization import dumps
from engine.specs import REGISTRY, WorkflowSpec, name_and_timeout, spec_of
from engine.store import Store
from engine.store.queues import QueueDefinition
from engine.store.runtime import ClaimedWorkflow, RuntimeStore
from engine.validation import check_workflow_id
from engine.worker import ControlListener, Finisher, Heartbeat, Lease, Notifier, SlowStepMarker, claim_identity

log = logging.getLogger("durable")


class Engine:
    """Runs registered workflows in this process, checkpointing every step in Postgres.

    `launch()` (or `with Engine(...)`) migrates the schema, takes this process's executor id, starts the
    background services, and recovers the workflows its predecessor left PENDING.
    """

    def __init__(
        self,
        database_url: str | None = None,
        executor_id: str | None = None,
        *,
        schema: str = DEFAULT_SCHEMA,
        max_workers: int = 256,
        pool_size: int = 12,
        lease_seconds: float = 5.0,
        heartbeat_seconds: float = 1.0,
        auto_recover: bool = True,
        code_version: str | None = None,
        max_recovery_attempts: int = 10,
        clock: Clock | None = None,
        retention_seconds: float | None = None,
    ):
        self.database_url = resolve_database_url(database_url)
        self.requested_executor_id = resolve_executor_id(executor_id)
        self.executor_id = self.requested_executor_id
        self.implicit_executor_id = executor_id is None and self.requested_executor_id == DEFAULT_EXECUTOR_ID
        self.schema = schema
        self.max_workers = max_workers
        self.pool_size = pool_size
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.auto_recover = auto_recover
        self.code_version = code_version
        self.max_recovery_attempts = max_recovery_attempts
        self.retention_seconds = check_retention(retention_seconds)
        self.retention: Retention | None = None
        self.runs = RunTable(clock)
        self.launched = False

    # lifecycle -------------------------------------------------------------------------------

    def launch(self) -> Engine:
        if self.launched:
            return self
        self.store = Store(self.database_url, self.schema, self.pool_size, application_name="durable-worker")
        self.pool: ConnectionPool = self.store.pool
        self.runtime_store: RuntimeStore = self.store.runtime
        try:
            conn, self.executor_id = claim_identity(
                self.database_url,
                self.store.schema,
                self.store.application_name,
                self.requested_executor_id,
                implicit=self.implicit_executor_id,
            )
        except BaseException:
            self.store.close()
            raise
        self.control = Control(self.database_url, lease_seconds=self.lease_seconds, store=self.store)
        self.runs.stopping.clear()
        self.faults = FaultCache(self.runtime_store, self.runs.pause)
        self.runtime_store.skew = self.runs.clock.skew
        self.slow_steps = SlowStepMarker()
        self.finisher = Finisher(self.runtime_store, self.executor_id, self.runs.strand)
        self.runtime_store.notes.origin = self.executor_id
        self.notifier = Notifier(self.runtime_store.notes)
        self.lease = Lease(self)
        self.heartbeat = Heartbeat(self)
        self.listener = ControlListener(self, conn)
        self.deadlines = Deadlines(self.store.deadlines, self._runs_here, self.runs.cancel)
        self.scheduler = Scheduler(self)
        if self.retention_seconds is not None:
            self.retention = Retention(
                self.store.retention, self.retention_seconds, self.runs.clock, self.heartbeat_seconds
            )
        self.runtime = Runtime(
            self.executor_id,
            self.runtime_store,
            self.pool,
            self.runs,
            self.faults,
            self.slow_steps,
            self.finisher,
            self._rerun,
            self.deadlines,
        )
        self._threads = ThreadPoolExecutor(self.max_workers, thread_name_prefix="durable-workflow")
        self.listener.start()
        self.faults.refresh()
        self.code_version = self.code_version or _code_version()
        died = self.runtime_store.executor_died(self.executor_id)
        self.recorded_queues = _defined_queues()
        self.runtime_store.register_executor(
            self.executor_id, *_host_pid(), self.code_version, self.workflow_names, sorted(self.recorded_queues)
        )
        self.store.queues.record_definitions(list(self.recorded_queues.values()))
        self.store.schedules.record(list(SCHEDULES.values()), self.runs.clock.now())
        self.launched = True
        self.slow_steps.start()
        self.finisher.start()
        self.notifier.start()
        self.deadlines.start()
        self.lease.start()
        self.heartbeat.start()
        self.scheduler.start()
        if self.retention is not None:
            self.retention.start()
        own = self.runtime_store.claim_own(self.executor_id, died, self.recovery_limits(), self.max_recovery_attempts)
        self.run_claimed(own)
        set_default_engine(self)
        return self

    def shutdown(self, wait: bool = True) -> None:
        """Stop: running workflows halt at their next step boundary and stay PENDING for recovery.

        With `wait`, return only once their threads have stopped.
        """
        if not self.launched:
            return
        self.runs.stopping.set()
        self.runs.wake_all()
        self.scheduler.stop()
        if self.retention is not None:
            self.retention.stop()
        self.heartbeat.stop()
        self.lease.stop()
        self._threads.shutdown(wait=wait, cancel_futures=True)
        self.finisher.stop()
        self.notifier.stop()
        self.deadlines.stop()
        self.runs.release_all()
        self.slow_steps.stop()
        self.listener.stop()
        try:
            self.runtime_store.stop_executor(self.executor_id)
        except Exception:
            log.warning("could not mark executor %s stopped", self.executor_id)
        self.store.close()
        self.launched = False
        set_default_engine(None)

    def __enter__(self) -> Engine:
        return self.launch()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def beat_seconds(self) -> float:
        """How often the heartbeat goes: every `heartbeat_seconds`, but at least four times a lease.

        A beat vouches for this worker's runs for half a lease; past that a run confirms it still owns its
        workflow before each step (one read). Beats as far apart as the lease itself (lease 1 s, heartbeat 1 s)
        left half of every second to such reads: in a recovery of 1000 workflows, 532 of them paid one."""
        return min(self.heartbeat_seconds, self.lease_seconds / 4)

    @property
    def workflow_names(self) -> list[str]:
        return sorted(REGISTRY)

    def recovery_limits(self) -> dict[str, int]:
        """Each registered workflow's `max_recovery_attempts` (its own, else the engine's)."""
        return {
            name: self.max_recovery_attempts if spec.max_recovery_attempts is None else spec.max_recovery_attempts
            for name, spec in sorted(REGISTRY.items())
        }

    def record_queues(self) -> None:
        """Record a queue defined (or redefined) in this process since launch, and that this executor serves it."""
        defined = _defined_queues()
        if defined != self.recorded_queues:
            self.store.queues.record_definitions(list(defined.values()))
            self.store.queues.serve(self.executor_id, sorted(defined))
            self.recorded_queues = defined

    def in_flight(self) -> int:
        return len(self.runs)

    # starting and reading workflows ------------------------------------------------------------

    def start_workflow(
        self,
        fn: Callable[..., Any] | str,
        *args: Any,
        workflow_id: str | None = None,
        timeout_seconds: float | None = None,
        **kwargs: Any,
    ) -> WorkflowHandle:
        """Start a workflow in this process and return at once; an existing id is not run again.

        `timeout_seconds` (default: its `@workflow`'s): past it, the workflow and its children are cancelled.
        """
        self._require_launched()
        spec = spec_of(fn)
        wid = check_workflow_id(workflow_id) if workflow_id is not None else make_workflow_id()
        timeout = check_timeout(timeout_seconds) if timeout_seconds is not None else spec.timeout_seconds
        inputs = {"args": list(args), "kwargs": kwargs}
        encoded = dumps(inputs, f"workflow {wid!r} ({spec.name}) inputs")
        created = self.runtime_store.start_workflow(wid, spec.name, encoded, self.executor_id, timeout=timeout)
        if not created:
            state = self.runtime_store.workflow_state(wid)
            if state is not None and state.name != spec.name:
                raise WorkflowConflict(
                    f"workflow id {wid!r} already exists for workflow {state.name!r}, not {spec.name!r}"
                )
            return WorkflowHandle(self, wid)
        self._start([(wid, spec, inputs, False)])
        if timeout is not None:
            self.deadlines.arm(wid, timeout)
        return WorkflowHandle(self, wid)

    def start_workflows(
        self,
        fn: Callable[..., Any] | str,
        calls: Iterable[Sequence[Any] | Mapping[str, Any]],
        *,
        workflow_ids: Sequence[str] | None = None,
        timeout_seconds: float | None = None,
    ) -> list[WorkflowHandle]:
        """Start many workflows of one function in this process with one statement and one commit; a handle each,
        in order. Each call is a tuple of positional arguments or a dict of keyword arguments.

        As with `start_workflow`, an id that exists already is not run again; an id that names another workflow
        raises WorkflowConflict, once the new ones are started (they are committed: they run either way).
        """
        self._require_launched()
        spec = spec_of(fn)
        inputs = [_inputs_of(call) for call in calls]
        if workflow_ids is None:
            wids = [make_workflow_id() for _ in inputs]
        else:
            wids = [check_workflow_id(wid) for wid in workflow_ids]
            if len(wids) != len(inputs):
                raise InvalidInput(f"{len(wids)} workflow ids for {len(inputs)} calls: give one id per call")
        if not wids:
            return []
        timeout = check_timeout(timeout_seconds) if timeout_seconds is not None else spec.timeout_seconds
        encoded = [dumps(i, f"workflow {wid!r} ({spec.name}) inputs") for wid, i in zip(wids, inputs, strict=True)]
        created = self.runtime_store.start_workflows(wids, spec.name, encoded, self.executor_id, timeout)
        fresh: dict[str, dict[str, Any]] = {}
        for wid, i in zip(wids, inputs, strict=True):
            if wid in created:
                fresh.setdefault(wid, i)  # an id given twice runs once
        self._start([(wid, spec, i, False) for wid, i in fresh.items()])
        if timeout is not None:
            for wid in fresh:
                self.deadlines.arm(wid, timeout)
        existing = [wid for wid in dict.fromkeys(wids) if wid not in created]
        if existing:
            names = self.runtime_store.workflow_names(existing)
            others = sorted((wid, name) for wid, name in names.items() if name != spec.name)
            if others:
                listed = ", ".join(f"{wid!r} ({name})" for wid, name in others[:5])
                raise WorkflowConflict(f"workflow ids already exist for other workflows than {spec.name!r}: {listed}")
        return [WorkflowHandle(self, wid) for wid in wids]

    def enqueue_workflow(
        self,
        fn: Callable[..., Any] | str,
        *args: Any,
        workflow_id: str | None = None,
        timeout_seconds: float | None = None,
        **kwargs: Any,
    ) -> WorkflowHandle:
        """Queue a workflow for any live worker that registers its function (this one included); its timeout
        counts from when a worker starts it."""
        self._require_launched()
        name, timeout = name_and_timeout(fn, timeout_seconds)
        wid = self.control.enqueue_workflow(name, *args, workflow_id=workflow_id, timeout_seconds=timeout, **kwargs)
        return WorkflowHandle(self, wid)

    def run_workflow(
        self,
        fn: Callable[..., Any] | str,
        *args: Any,
        workflow_id: str | None = None,
        timeout_seconds: float | None = None,
        **kwargs: Any,
    ) -> Any:
        return self.start_workflow(
            fn, *args, workflow_id=workflow_id, timeout_seconds=timeout_seconds, **kwargs
        ).result()

    def retrieve_workflow(self, workflow_id: str) -> WorkflowHandle:
        self._require_launched()
        check_workflow_id(workflow_id)
        if self.runtime_store.workflow_state(workflow_id) is None:
            raise WorkflowNotFound(f"no workflow with id {workflow_id!r}")
        return WorkflowHandle(self, workflow_id)

    def get_workflow(self, workflow_id: str) -> WorkflowRecord:
        self._require_launched()
        return self.control.get_workflow(workflow_id)

    def list_workflows(
        self, status: str | None = None, name: str | None = None, limit: int = 100
    ) -> list[WorkflowRecord]:
        self._require_launched()
        return self.control.list_workflows(status=status, name=name, limit=limit)

    # messages, events and streams: the same as Control's (engine/messaging.py) ----------------

    def send(
        self, workflow_id: str, message: Any, topic: str | None = None, idempotency_key: str | None = None
    ) -> bool:
        self._require_launched()
        return self.control.send(workflow_id, message, topic, idempotency_key)

    def get_event(self, workflow_id: str, key: str, timeout_seconds: float = 60.0) -> Any:
        self._require_launched()
        return self.control.get_event(workflow_id, key, timeout_seconds)

    def get_events(self, workflow_id: str) -> dict[str, Any]:
        self._require_launched()
        return self.control.get_events(workflow_id)

    def read_stream(self, workflow_id: str, key: str) -> Iterator[Any]:
        self._require_launched()
        return self.control.read_stream(workflow_id, key)

    def _require_launched(self) -> None:
        if not self.launched:
            raise DurableError("the Engine is not launched: call launch() or use it as a context manager")

    # scheduling --------------------------------------------------------------------------------

    def run_claimed(self, claimed: list[ClaimedWorkflow]) -> list[ClaimedWorkflow]:
        """Run workflows this executor just claimed, replaying their recorded steps; one whose deadline passed
        while nobody ran it is timed out instead. Returns those that run here."""
        overdue = [c.workflow_id for c in claimed if c.deadline_in is not None and c.deadline_in <= 0]
        if overdue:
            self.store.deadlines.time_out(overdue)
        runnable = [c for c in claimed if c.name in REGISTRY and c.workflow_id not in overdue]
        for c in claimed:
            if c.name not in REGISTRY:
                log.error("workflow %s: no function registered as %r here", c.workflow_id, c.name)
        if not runnable:
            return []
        self._start([(c.workflow_id, REGISTRY[c.name], c.inputs, c.recorded) for c in runnable])
        for c in runnable:
            if c.deadline_in is not None:
                self.deadlines.arm(c.workflow_id, c.deadline_in)
        return runnable

    def _runs_here(self, workflow_id: str) -> bool:
        return self.runs.running(workflow_id)

    def _start(self, wanted: list[tuple[str, WorkflowSpec, dict[str, Any], bool]]) -> None:
        """Run these workflows here, (id, spec, inputs, has checkpoints to replay) each.

        Each run is claimed in this process before its checkpoints are read: a read taken first could predate
        the last checkpoints of a run of the same workflow here that ends before the claim, and the steps
        recorded in between would run again. A workflow already running here runs again once that run ends."""
        mine: list[tuple[str, WorkflowSpec, dict[str, Any], bool]] = []
        for wid, spec, inputs, replay in wanted:
            if self.runs.start(wid):
                mine.append((wid, spec, inputs, replay))
            elif not self.runs.rerun_later(wid, (spec, inputs)):
                self._rerun(wid, (spec, inputs))  # that run ended meanwhile
        replayed = [wid for wid, _, _, replay in mine if replay]
        try:
            recorded = self.runtime_store.recorded_steps(replayed) if replayed else {}
        except psycopg.OperationalError as exc:
            log.warning(
                "cannot read the checkpoints of %d workflow(s) (%s); they run once the database answers",
                len(replayed),
                exc,
            )
            for wid, _, _, _ in mine:
                self.runs.release(wid, PAUSED)
            self.runs.strand([wid for wid, _, _, _ in mine])
            return
        for wid, spec, inputs, _ in mine:
            try:
                self._threads.submit(execute, self.runtime, wid, spec, inputs, recorded.get(wid, {}))
            except RuntimeError:  # shutting down
                self.runs.release(wid, PAUSED)

    def _rerun(self, wid: str, what: tuple[WorkflowSpec, dict[str, Any]]) -> None:
        spec, inputs = what
        self._start([(wid, spec, inputs, True)])


def _inputs_of(call: Sequence[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """A workflow's recorded inputs from one call of `start_workflows`: positional or keyword arguments."""
    if isinstance(call, Mapping):
        return {"args": [], "kwargs": dict(call)}
    if isinstance(call, str | bytes) or not isinstance(call, Sequence):
        raise InvalidInput(f"each call is a tuple of arguments or a dict of keyword arguments, not {call!r:.80}")
    return {"args": list(call), "kwargs": {}}


def _defined_queues() -> dict[str, QueueDefinition]:
    return {name: queue.definition for name, queue in list(QUEUES.items())}


def _host_pid() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


def _code_version() -> str:
    """A short hash of the source files that define the registered workflows: changes when their code does."""
    digest = hashlib.sha1()
    for path in sorted({inspect.getsourcefile(inspect.unwrap(spec.fn)) or "" for spec in REGISTRY.values()}):
        with contextlib.suppress(OSError):
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:12]
