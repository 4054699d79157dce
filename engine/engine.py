"""The Engine: what an application creates to run workflows durably in its own process."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import inspect
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

import psycopg

from engine.api import REGISTRY, StepSpec, WorkflowSpec, spec_of
from engine.config import DEFAULT_EXECUTOR_ID, DEFAULT_SCHEMA, resolve_database_url, resolve_executor_id
from engine.control import Control
from engine.errors import (
    AwaitedWorkflowCancelled,
    DurableError,
    WorkflowCancelled,
    WorkflowConflict,
    WorkflowNotFound,
    WorkflowTimeout,
)
from engine.execution import (
    CURRENT_WORKFLOW,
    Preempted,
    StepRun,
    StoreUnreachable,
    WorkflowContext,
    _outcome,
    checkpointing,
)
from engine.faults import FaultCache
from engine.records import WorkflowRecord
from engine.serialization import dumps, error_from_dict, error_to_dict
from engine.states import FINAL_STATUSES, StepStatus, WorkflowStatus
from engine.store import Store
from engine.store.runtime import ClaimedWorkflow, RecordedStep
from engine.worker import ControlListener, Finisher, Heartbeat, SlowStepMarker

log = logging.getLogger("durable")

_current: Engine | None = None


def current_engine() -> Engine | None:
    """The engine launched last in this process: what a bare call to a @workflow function uses."""
    return _current


Outcome = tuple[str, Any, Any]


class WorkflowHandle:
    """A reference to a workflow by id; works for workflows run by any process."""

    def __init__(self, engine: Engine, workflow_id: str):
        self.engine = engine
        self.workflow_id = workflow_id

    def status(self) -> str:
        state = self.engine.runtime.workflow_state(self.workflow_id)
        if state is None:
            raise WorkflowNotFound(f"no workflow with id {self.workflow_id!r}")
        return state[1]

    def get(self) -> WorkflowRecord:
        return self.engine.get_workflow(self.workflow_id)

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the outcome: the output, or the workflow's error raised here."""
        deadline = None if timeout is None else time.monotonic() + timeout
        local = self.engine._running.get(self.workflow_id)
        if local is not None:
            try:
                local.result(timeout=timeout)
            except FutureTimeout:
                raise WorkflowTimeout(f"workflow {self.workflow_id!r} did not finish in {timeout}s") from None
        pause = 0.005
        while True:
            try:
                outcome = self.engine.runtime.workflow_outcome(self.workflow_id)
            except psycopg.OperationalError:
                self.engine.pool.check()  # a restarted database: drop the dead connections, keep waiting
                outcome = (WorkflowStatus.PENDING, None, None)
            if outcome is None:
                raise WorkflowNotFound(f"no workflow with id {self.workflow_id!r}")
            if outcome[0] in FINAL_STATUSES:
                return _final_value(self.workflow_id, outcome)
            if deadline is not None and time.monotonic() >= deadline:
                raise WorkflowTimeout(f"workflow {self.workflow_id!r} did not finish in {timeout}s")
            time.sleep(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))
            pause = min(pause * 2, 0.2)

    def __repr__(self) -> str:
        return f"WorkflowHandle({self.workflow_id!r})"


def _final_value(workflow_id: str, outcome: Outcome) -> Any:
    status, output, error = outcome
    if status == WorkflowStatus.SUCCESS:
        return output
    if status == WorkflowStatus.CANCELLED:
        raise AwaitedWorkflowCancelled(f"workflow {workflow_id!r} was cancelled")
    raise error_from_dict(error or {})


class Engine:
    """Runs registered workflows in this process, checkpointing every step in Postgres.

    `launch()` (or `with Engine(...)`) migrates the schema, registers this process as an executor,
    starts its heartbeat and control listener, and recovers the workflows its predecessor left PENDING.
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
    ):
        self.database_url = resolve_database_url(database_url)
        self.executor_id = resolve_executor_id(executor_id)
        self.implicit_executor_id = executor_id is None and self.executor_id == DEFAULT_EXECUTOR_ID
        self.schema = schema
        self.max_workers = max_workers
        self.pool_size = pool_size
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.auto_recover = auto_recover
        self.code_version = code_version
        self._running: dict[str, Future[Outcome]] = {}
        self._running_lock = threading.Lock()
        self._cancelled: set[str] = set()
        self._rerun: dict[str, tuple[WorkflowSpec, dict[str, Any]]] = {}
        self._stranded: set[str] = set()
        self._wakeups: dict[str, threading.Event] = {}
        self._stopping = threading.Event()
        self.launched = False

    # lifecycle -------------------------------------------------------------------------------

    def launch(self) -> Engine:
        global _current
        if self.launched:
            return self
        self.store = Store(self.database_url, self.schema, self.pool_size, application_name="durable-worker")
        self.pool = self.store.pool
        self.runtime = self.store.runtime
        self.control = Control(self.database_url, lease_seconds=self.lease_seconds, store=self.store)
        self.faults = FaultCache(self.runtime, self.wait)
        self.slow_steps = SlowStepMarker(self)
        self.finisher = Finisher(self)
        self.heartbeat = Heartbeat(self)
        self._threads = ThreadPoolExecutor(self.max_workers, thread_name_prefix="durable-workflow")
        self.listener = ControlListener(self)
        try:
            self.listener.start()
        except BaseException:
            self._threads.shutdown(wait=False)
            self.store.close()
            raise
        self.faults.refresh()
        self.code_version = self.code_version or _code_version()
        self.runtime.register_executor(self.executor_id, *_host_pid(), self.code_version, self.workflow_names)
        self.launched = True
        self._stopping.clear()
        self.slow_steps.start()
        self.finisher.start()
        self.heartbeat.start()
        self.run_claimed(self.runtime.claim_own(self.executor_id))
        _current = self
        return self

    def shutdown(self, wait: bool = True) -> None:
        """Stop: running workflows halt at their next step boundary and stay PENDING for recovery.

        With `wait`, return only once their threads have stopped.
        """
        global _current
        if not self.launched:
            return
        self._stopping.set()
        for event in list(self._wakeups.values()):
            event.set()
        self.heartbeat.stop()
        self._threads.shutdown(wait=wait, cancel_futures=True)
        self.finisher.stop()
        self.slow_steps.stop()
        self.listener.stop()
        try:
            self.runtime.stop_executor(self.executor_id)
        except Exception:
            log.warning("could not mark executor %s stopped", self.executor_id)
        self.store.close()
        self.launched = False
        if _current is self:
            _current = None

    def __enter__(self) -> Engine:
        return self.launch()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def workflow_names(self) -> list[str]:
        return sorted(REGISTRY)

    def in_flight(self) -> int:
        return len(self._running)

    # starting and reading workflows ------------------------------------------------------------

    def start_workflow(
        self, fn: Callable[..., Any] | str, *args: Any, workflow_id: str | None = None, **kwargs: Any
    ) -> WorkflowHandle:
        """Start a workflow in this process and return at once; an existing id is not run again."""
        return self._start(spec_of(fn), args, kwargs, workflow_id)

    def enqueue_workflow(
        self, fn: Callable[..., Any] | str, *args: Any, workflow_id: str | None = None, **kwargs: Any
    ) -> WorkflowHandle:
        """Queue a workflow for any live worker that registers its function (this one included)."""
        self._require_launched()
        name = fn if isinstance(fn, str) else spec_of(fn).name
        return WorkflowHandle(self, self.control.enqueue_workflow(name, *args, workflow_id=workflow_id, **kwargs))

    def run_workflow(
        self, fn: Callable[..., Any] | str, *args: Any, workflow_id: str | None = None, **kwargs: Any
    ) -> Any:
        return self.start_workflow(fn, *args, workflow_id=workflow_id, **kwargs).result()

    def retrieve_workflow(self, workflow_id: str) -> WorkflowHandle:
        if self.runtime.workflow_state(workflow_id) is None:
            raise WorkflowNotFound(f"no workflow with id {workflow_id!r}")
        return WorkflowHandle(self, workflow_id)

    def get_workflow(self, workflow_id: str) -> WorkflowRecord:
        return self.store.reads.get_workflow(workflow_id)

    def list_workflows(
        self, status: str | None = None, name: str | None = None, limit: int = 100
    ) -> list[WorkflowRecord]:
        return self.store.reads.list_workflows(status=status, name=name, limit=limit)

    def _start(
        self, spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any], workflow_id: str | None
    ) -> WorkflowHandle:
        self._require_launched()
        wid = workflow_id or str(uuid.uuid4())
        inputs = dumps({"args": list(args), "kwargs": kwargs}, f"workflow {wid!r} ({spec.name}) inputs")
        if not self.runtime.insert_workflow(wid, spec.name, WorkflowStatus.PENDING, inputs, self.executor_id):
            state = self.runtime.workflow_state(wid)
            if state is not None and state[0] != spec.name:
                raise WorkflowConflict(
                    f"workflow id {wid!r} already exists for workflow {state[0]!r}, not {spec.name!r}"
                )
            return WorkflowHandle(self, wid)
        self._submit(wid, spec, {"args": list(args), "kwargs": kwargs}, {})
        return WorkflowHandle(self, wid)

    def _require_launched(self) -> None:
        if not self.launched:
            raise DurableError("the Engine is not launched: call launch() or use it as a context manager")

    # executing ---------------------------------------------------------------------------------

    def run_claimed(self, claimed: list[ClaimedWorkflow]) -> int:
        """Run workflows this executor just claimed, replaying their recorded steps."""
        runnable = [c for c in claimed if c.name in REGISTRY]
        for c in claimed:
            if c.name not in REGISTRY:
                log.error("workflow %s: no function registered as %r here", c.workflow_id, c.name)
        if not runnable:
            return 0
        recorded = self.runtime.recorded_steps([c.workflow_id for c in runnable])
        for c in runnable:
            self._submit(c.workflow_id, REGISTRY[c.name], c.inputs, recorded[c.workflow_id])
        return len(runnable)

    def _submit(self, wid: str, spec: WorkflowSpec, inputs: dict[str, Any], recorded: dict[int, RecordedStep]) -> None:
        future = self._claim_local(wid)
        if future is None:
            # Its previous run (cancelled, say) is still unwinding here: run it again once that ends.
            with self._running_lock:
                if wid in self._running:
                    self._rerun[wid] = (spec, inputs)
                    return
            self._submit(wid, spec, inputs, self.runtime.recorded_steps([wid])[wid])
            return
        try:
            self._threads.submit(self._execute, wid, spec, inputs, recorded, future)
        except RuntimeError:
            self._release_local(wid, future, (WorkflowStatus.PENDING, None, None))

    def _claim_local(self, wid: str) -> Future[Outcome] | None:
        with self._running_lock:
            if wid in self._running:
                return None
            future: Future[Outcome] = Future()
            self._running[wid] = future
            self._wakeups[wid] = threading.Event()
            return future

    def _release_local(self, wid: str, future: Future[Outcome], outcome: Outcome) -> None:
        with self._running_lock:
            self._running.pop(wid, None)
            self._wakeups.pop(wid, None)
            self._cancelled.discard(wid)
            rerun = self._rerun.pop(wid, None)
        future.set_result(outcome)
        if rerun is not None and not self._stopping.is_set():
            self._submit(wid, *rerun, self.runtime.recorded_steps([wid])[wid])

    def _execute(
        self,
        wid: str,
        spec: WorkflowSpec,
        inputs: dict[str, Any],
        recorded: dict[int, RecordedStep],
        future: Future[Outcome],
    ) -> Outcome:
        """Run one workflow to its end in this thread and record how it ended."""
        ctx = WorkflowContext(self, wid, spec.name, recorded)
        token = CURRENT_WORKFLOW.set(ctx)
        outcome: Outcome = (WorkflowStatus.PENDING, None, None)
        record: tuple[str, str, str | None, str | None] | None = None
        try:
            args, kwargs = inputs.get("args", []), inputs.get("kwargs", {})
            result = asyncio.run(spec.fn(*args, **kwargs)) if spec.is_async else spec.fn(*args, **kwargs)
            record = (wid, WorkflowStatus.SUCCESS, dumps(result, f"workflow {wid!r} ({spec.name}) output"), None)
            outcome = (WorkflowStatus.SUCCESS, result, None)
        except WorkflowCancelled:
            if wid in self._cancelled:
                outcome = (WorkflowStatus.CANCELLED, None, None)
        except Preempted as exc:
            log.warning("workflow %s was taken over elsewhere (%s); stopping here", wid, exc)
        except StoreUnreachable as exc:
            log.warning(
                "workflow %s paused: the database is unreachable (%s); it resumes from its last "
                "checkpoint once it answers",
                wid,
                exc,
            )
            self.strand([wid])
            self.pool.check()
        except Exception as exc:
            error = error_to_dict(exc)
            record = (wid, WorkflowStatus.ERROR, None, dumps(error, f"workflow {wid!r}"))
            outcome = (WorkflowStatus.ERROR, None, error)
        finally:
            CURRENT_WORKFLOW.reset(token)
            if record is None:
                self._release_local(wid, future, outcome)
            else:
                self.finisher.submit(record, lambda: self._release_local(wid, future, outcome))
        return outcome

    def run_child(self, ctx: WorkflowContext, spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A workflow called from a workflow: its own durable workflow, recorded as one parent step."""
        run = StepRun(ctx, StepSpec(spec.name, spec.fn, retries_allowed=False, max_attempts=1, kind="child"))
        if run.done:
            return _outcome(run.recorded)  # type: ignore[arg-type]
        child_id = (run.recorded and run.recorded.child_workflow_id) or f"{ctx.workflow_id}-{run.step_id}"
        run.prepare()
        inputs = {"args": list(args), "kwargs": kwargs}
        encoded = dumps(inputs, f"child workflow {child_id!r} inputs")
        with checkpointing():
            self.runtime.mark_step(
                ctx.workflow_id, run.step_id, spec.name, "child", StepStatus.RUNNING, 1, 1, run.started, child_id
            )
            created = self.runtime.insert_workflow(
                child_id,
                spec.name,
                WorkflowStatus.PENDING,
                encoded,
                self.executor_id,
                parent=(ctx.workflow_id, run.step_id),
            )
        future = self._claim_local(child_id) if created else None
        outcome: Outcome = (WorkflowStatus.PENDING, None, None)
        if future is not None:
            outcome = contextvars.Context().run(self._execute, child_id, spec, inputs, {}, future)
        self.check_cancelled(ctx.workflow_id)
        if outcome[0] not in FINAL_STATUSES:  # it runs elsewhere, or paused (database outage): wait for it
            outcome = self._await_outcome(child_id, ctx.workflow_id)
        try:
            value = _final_value(child_id, outcome)
        except Exception as exc:
            run.failed(exc, retryable=False)
        run.record(WorkflowStatus.SUCCESS, output=run.serialize(value), child=child_id)
        return value

    def _await_outcome(self, wid: str, parent_wid: str) -> Outcome:
        """Wait for a child that runs elsewhere (another thread or process); a parent cancel cuts it short."""
        while True:
            with checkpointing():
                outcome = self.runtime.workflow_outcome(wid)
            if outcome is not None and outcome[0] in FINAL_STATUSES:
                return outcome
            self.wait(parent_wid, 0.05)

    def strand(self, workflow_ids: list[str]) -> None:
        """These PENDING workflows stopped because the database was unreachable: the heartbeat runs them
        again from their checkpoints once it answers (nobody else adopts them: this executor is alive)."""
        with self._running_lock:
            self._stranded.update(workflow_ids)

    def take_stranded(self) -> list[str]:
        with self._running_lock:
            stranded, self._stranded = sorted(self._stranded), set()
        return stranded

    # cancellation and waits (driven by the control listener) ------------------------------------

    def check_cancelled(self, wid: str) -> None:
        if wid in self._cancelled or self._stopping.is_set():
            raise WorkflowCancelled(wid)

    def wait(self, wid: str, seconds: float) -> None:
        """Sleep up to `seconds`; cancel and retry-now cut it short."""
        event = self._wakeups.get(wid)
        if event is None:
            time.sleep(seconds)
        else:
            event.wait(seconds)
            event.clear()
        self.check_cancelled(wid)

    def on_cancel(self, wid: str) -> None:
        with self._running_lock:
            if wid in self._running:
                self._cancelled.add(wid)
            event = self._wakeups.get(wid)
        if event is not None:
            event.set()

    def on_wake(self, wid: str) -> None:
        event = self._wakeups.get(wid)
        if event is not None:
            event.set()


def _host_pid() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


def _code_version() -> str:
    """A short hash of the source files that define the registered workflows: changes when their code does."""
    digest = hashlib.sha1()
    for path in sorted({inspect.getsourcefile(spec.fn) or "" for spec in REGISTRY.values()}):
        with contextlib.suppress(OSError):
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:12]
