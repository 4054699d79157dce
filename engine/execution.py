"""Running and replaying workflow code: step attempts, retries with backoff, transactions, children.

Every step call inside a workflow gets the next position (its step id). If that position has a
recorded outcome, the call returns (or raises) it without running; otherwise the attempts run and
each one's outcome is committed before the workflow goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import errors as pg_errors

from engine.errors import (
    MaxAttemptsExceeded,
    NonDeterministicWorkflowError,
    SerializationError,
    WorkflowCancelled,
)
from engine.serialization import dumps, error_from_dict, error_to_dict
from engine.states import StepStatus, WorkflowStatus
from engine.store.connection import failure_reason

if TYPE_CHECKING:
    from engine.api import StepSpec, WorkflowSpec
    from engine.engine import Engine
    from engine.store.runtime import RecordedStep


@dataclass(frozen=True)
class StepContext:
    workflow_id: str | None
    step_id: int | None
    step_name: str
    attempt: int
    max_attempts: int


@dataclass
class WorkflowContext:
    engine: Engine
    workflow_id: str
    name: str
    recorded: dict[int, RecordedStep]
    last_step: int = 0
    in_step: bool = False
    children: list[str] = field(default_factory=list)

    def next_step_id(self) -> int:
        self.last_step += 1
        return self.last_step

    def replayed(self, step_id: int, name: str) -> RecordedStep | None:
        rec = self.recorded.get(step_id)
        if rec is not None and rec.name != name:
            raise NonDeterministicWorkflowError(
                f"workflow {self.workflow_id!r} step {step_id}: recorded step is {rec.name!r} "
                f"but the code now calls {name!r}"
            )
        return rec


CURRENT_WORKFLOW: contextvars.ContextVar[WorkflowContext | None] = contextvars.ContextVar(
    "durable_workflow", default=None
)
CURRENT_STEP: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar("durable_step", default=None)
CURRENT_DB: contextvars.ContextVar[psycopg.Connection | None] = contextvars.ContextVar("durable_db", default=None)


class Preempted(BaseException):
    """This process lost the workflow (another executor recorded the same step): stop quietly."""


class StoreUnreachable(BaseException):
    """A checkpoint could not be written (the database is down or restarting).

    A BaseException, so workflow code cannot swallow it: the run stops, the workflow stays PENDING, and
    its executor runs it again from its checkpoints once the database answers.
    """


@contextlib.contextmanager
def checkpointing() -> Iterator[None]:
    try:
        yield
    except psycopg.OperationalError as exc:
        raise StoreUnreachable(failure_reason(exc)) from exc


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _outcome(rec: RecordedStep) -> Any:
    if rec.status == WorkflowStatus.SUCCESS:
        return rec.output
    raise error_from_dict(rec.error or {})


class StepRun:
    """The state of one checkpointed step across its attempts (shared by sync and async callers)."""

    def __init__(self, ctx: WorkflowContext, spec: StepSpec):
        self.ctx = ctx
        self.spec = spec
        self.engine = ctx.engine
        self.step_id = ctx.next_step_id()
        self.attempt = 1
        self.base = 0
        self.wait = 0.0
        self.errors: list[BaseException] = []
        self.started = _now()
        self.recorded = ctx.replayed(self.step_id, spec.name)
        rec = self.recorded
        if rec is not None and rec.status not in (WorkflowStatus.SUCCESS, WorkflowStatus.ERROR):
            # A crash never resets the budget: go on at the recorded attempt, after what is left of the wait.
            self.base = rec.attempt_base
            self.errors = [error_from_dict({"type": t, "message": m}) for t, m in rec.past_errors]
            self.attempt = (
                rec.attempts + 1 if rec.status == StepStatus.WAITING_RETRY else max(rec.attempts, self.base + 1)
            )
            self.wait = rec.wait_remaining

    @property
    def done(self) -> bool:
        return self.recorded is not None and self.recorded.status in (WorkflowStatus.SUCCESS, WorkflowStatus.ERROR)

    @property
    def budget(self) -> int:
        return self.base + self.spec.attempts_budget

    @property
    def where(self) -> str:
        return f"workflow {self.ctx.workflow_id!r} step {self.step_id} ({self.spec.name})"

    def prepare(self) -> None:
        """Wait out any backoff, honour cancellation, and mark a retry as running (the blocking part)."""
        if self.wait > 0:
            self.engine.wait(self.ctx.workflow_id, self.wait)
        self.engine.check_cancelled(self.ctx.workflow_id)
        self.started = _now()
        if self.attempt > 1:
            with checkpointing():
                self.engine.runtime.mark_step(
                    self.ctx.workflow_id,
                    self.step_id,
                    self.spec.name,
                    self.spec.kind,
                    StepStatus.RUNNING,
                    self.attempt,
                    self.budget,
                    self.started,
                )

    def enter(self) -> contextvars.Token[StepContext | None]:
        self.ctx.in_step = True
        self.engine.slow_steps.watch(self)
        return CURRENT_STEP.set(
            StepContext(
                self.ctx.workflow_id, self.step_id, self.spec.name, self.attempt - self.base, self.spec.attempts_budget
            )
        )

    def leave(self, token: contextvars.Token[StepContext | None]) -> None:
        CURRENT_STEP.reset(token)
        self.engine.slow_steps.unwatch(self)
        self.ctx.in_step = False

    def inject_faults(self) -> None:
        self.engine.faults.before_attempt(self.ctx.workflow_id, self.spec.name)

    def record(
        self,
        status: str,
        *,
        output: str | None = None,
        error: dict[str, Any] | None = None,
        delay: float | None = None,
        info: dict[str, Any] | None = None,
        conn: psycopg.Connection | None = None,
        child: str | None = None,
        with_attempt: bool = True,
    ) -> None:
        with checkpointing():
            ok = self.engine.runtime.record_step(
                workflow_id=self.ctx.workflow_id,
                step_id=self.step_id,
                name=self.spec.name,
                kind=self.spec.kind,
                status=status,
                attempt=self.attempt,
                max_attempts=self.budget,
                started=self.started,
                delay=delay,
                output=output,
                error=dumps(error, self.where) if error else None,
                error_info=info,
                final=status in (WorkflowStatus.SUCCESS, WorkflowStatus.ERROR),
                conn=conn,
                child_workflow_id=child,
                with_attempt=with_attempt,
            )
        if not ok:
            raise Preempted(self.where)

    def serialize(self, result: Any) -> str:
        return dumps(result, f"{self.where} output")

    def succeeded(self, result: Any) -> Any:
        try:
            output = self.serialize(result)
        except SerializationError as exc:
            self.failed(exc, retryable=False)
        self.record(WorkflowStatus.SUCCESS, output=output)
        return self.checkpointed(result)

    def checkpointed(self, result: Any) -> Any:
        """The outcome is committed: a `crash` fault set for right after the checkpoint strikes now."""
        self.engine.faults.after_checkpoint(self.ctx.workflow_id, self.spec.name)
        return result

    def failed(self, exc: Exception, retryable: bool = True) -> None:
        """Record a failed attempt; raise when no attempt is left, else set up the backoff wait."""
        info = error_to_dict(exc)
        self.errors.append(exc)
        if not retryable or self.attempt >= self.budget:
            final: Exception = exc
            if retryable and self.spec.retries_allowed and self.spec.kind == "step":
                final = MaxAttemptsExceeded(self.spec.name, self.spec.attempts_budget, self.errors)
            self.record(WorkflowStatus.ERROR, error=error_to_dict(final) if final is not exc else info, info=info)
            if final is exc:
                raise exc
            raise final from exc
        self.wait = self.spec.delay_after(self.attempt - self.base)
        self.record(StepStatus.WAITING_RETRY, delay=self.wait, info=info)
        self.attempt += 1


def _active_context() -> WorkflowContext | None:
    ctx = CURRENT_WORKFLOW.get()
    return None if ctx is None or ctx.in_step else ctx


def _attempts(
    run: StepRun,
    attempt: Callable[[], Any],
    done: Callable[[Any], Any],
    retryable: Callable[[Exception], bool] = lambda exc: True,
) -> Any:
    """Run attempts until one succeeds (then `done` checkpoints it) or the budget is spent (it raises)."""
    while True:
        run.prepare()
        token = run.enter()
        try:
            run.inject_faults()
            result = attempt()
        except Exception as exc:
            run.leave(token)
            run.failed(exc, retryable=retryable(exc))
            continue
        run.leave(token)
        return done(result)


def call_step(spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    ctx = _active_context()
    if ctx is None:
        return _plain_step(spec, args, kwargs)
    run = StepRun(ctx, spec)
    if run.done:
        return _outcome(run.recorded)  # type: ignore[arg-type]
    return _attempts(run, lambda: spec.fn(*args, **kwargs), run.succeeded)


async def call_step_async(spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    ctx = _active_context()
    if ctx is None:
        return await _plain_step_async(spec, args, kwargs)
    run = StepRun(ctx, spec)
    if run.done:
        return _outcome(run.recorded)  # type: ignore[arg-type]
    while True:
        await asyncio.to_thread(run.prepare)
        token = run.enter()
        try:
            await asyncio.to_thread(run.inject_faults)
            result = await spec.fn(*args, **kwargs)
        except Exception as exc:
            run.leave(token)
            await asyncio.to_thread(run.failed, exc)
            continue
        run.leave(token)
        return await asyncio.to_thread(run.succeeded, result)


def _plain_delays(spec: StepSpec) -> list[float]:
    return [spec.delay_after(n) for n in range(1, spec.attempts_budget)]


def _plain_failure(spec: StepSpec, errors: list[BaseException]) -> BaseException:
    if spec.retries_allowed and spec.kind == "step":
        return MaxAttemptsExceeded(spec.name, spec.attempts_budget, errors)
    return errors[-1]


def _plain_step(spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A step called outside a workflow: its retries and backoff, no checkpoint."""
    errors: list[BaseException] = []
    delays = _plain_delays(spec)
    for attempt in range(1, spec.attempts_budget + 1):
        token = CURRENT_STEP.set(StepContext(None, None, spec.name, attempt, spec.attempts_budget))
        try:
            return spec.fn(*args, **kwargs)
        except Exception as exc:
            errors.append(exc)
            if attempt <= len(delays):
                time.sleep(delays[attempt - 1])
        finally:
            CURRENT_STEP.reset(token)
    raise _plain_failure(spec, errors) from errors[-1]


async def _plain_step_async(spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    errors: list[BaseException] = []
    delays = _plain_delays(spec)
    for attempt in range(1, spec.attempts_budget + 1):
        token = CURRENT_STEP.set(StepContext(None, None, spec.name, attempt, spec.attempts_budget))
        try:
            return await spec.fn(*args, **kwargs)
        except Exception as exc:
            errors.append(exc)
            if attempt <= len(delays):
                await asyncio.sleep(delays[attempt - 1])
        finally:
            CURRENT_STEP.reset(token)
    raise _plain_failure(spec, errors) from errors[-1]


def sleep(seconds: float) -> None:
    """A durable sleep: its wake-up time is recorded, so a recovered workflow sleeps only what is left.

    Cancel interrupts it at once and retry-now cuts it short. Outside a workflow it is `time.sleep`.
    """
    from engine.api import StepSpec

    ctx = _active_context()
    if ctx is None:
        time.sleep(seconds)
        return
    run = StepRun(ctx, StepSpec("sleep", time.sleep, retries_allowed=False, max_attempts=1, kind="sleep"))
    if run.done:
        return
    if run.recorded is None:
        run.engine.check_cancelled(ctx.workflow_id)
        run.record(StepStatus.SLEEPING, delay=seconds, with_attempt=False)
        run.wait = seconds
    run.engine.wait(ctx.workflow_id, run.wait)
    run.record(WorkflowStatus.SUCCESS, output="null", with_attempt=False)


async def sleep_async(seconds: float) -> None:
    """`sleep` for `async def` workflows."""
    await asyncio.to_thread(contextvars.copy_context().run, sleep, seconds)


RETRYABLE_TRANSACTION_ERRORS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


def call_transaction(spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run the function and commit its checkpoint in one database transaction: exactly once."""
    ctx = _active_context()
    if ctx is None:
        return _plain_transaction(spec, args, kwargs)
    run = StepRun(ctx, spec)
    if run.done:
        return _outcome(run.recorded)  # type: ignore[arg-type]
    return _attempts(
        run,
        lambda: _transaction_once(spec, args, kwargs, run),
        run.checkpointed,
        retryable=lambda exc: isinstance(exc, RETRYABLE_TRANSACTION_ERRORS),
    )


def _plain_transaction(spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A transaction called outside a workflow: no checkpoint, but serialization failures still retry."""
    for delay in [*_plain_delays(spec), None]:
        try:
            return _transaction_once(spec, args, kwargs, None)
        except RETRYABLE_TRANSACTION_ERRORS:
            if delay is None:
                raise
            time.sleep(delay)


def _transaction_once(spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any], run: StepRun | None) -> Any:
    engine = run.engine if run else _default_engine_or_fail(spec)
    with engine.pool.connection() as conn, conn.transaction():
        conn.execute(f"SET TRANSACTION ISOLATION LEVEL {spec.isolation_level.upper()}")  # type: ignore[union-attr]
        db_token = CURRENT_DB.set(conn)
        try:
            result = spec.fn(*args, **kwargs)
        finally:
            CURRENT_DB.reset(db_token)
        if run is not None:
            run.record(WorkflowStatus.SUCCESS, output=run.serialize(result), conn=conn)
    return result


def _default_engine_or_fail(spec: StepSpec) -> Engine:
    from engine.engine import current_engine

    engine = current_engine()
    if engine is None:
        from engine.errors import DurableError

        raise DurableError(f"@transaction {spec.name!r} needs a launched Engine for its database")
    return engine


def call_workflow(spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Inside a workflow: a child workflow, one step of the parent. Outside: run it durably."""
    ctx = _active_context()
    if ctx is not None:
        return ctx.engine.run_child(ctx, spec, args, kwargs)
    if CURRENT_WORKFLOW.get() is not None:
        return spec.fn(*args, **kwargs)
    from engine.engine import current_engine

    engine = current_engine()
    if engine is None:
        return spec.fn(*args, **kwargs)
    return engine.run_workflow(spec.fn, *args, **kwargs)


async def call_workflow_async(spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    ctx = _active_context()
    if ctx is not None:
        return await asyncio.to_thread(contextvars.copy_context().run, ctx.engine.run_child, ctx, spec, args, kwargs)
    if CURRENT_WORKFLOW.get() is not None:
        return await spec.fn(*args, **kwargs)
    from engine.engine import current_engine

    engine = current_engine()
    if engine is None:
        return await spec.fn(*args, **kwargs)
    return await asyncio.to_thread(engine.run_workflow, spec.fn, *args, **kwargs)


__all__ = ["CURRENT_DB", "CURRENT_STEP", "CURRENT_WORKFLOW", "StepContext", "WorkflowCancelled"]
