"""Everything that runs on a workflow's thread: the workflow body, steps and their attempts,
transactions, durable sleep and child workflows.

Every step call inside a workflow gets the next position (its step id). If that position has a
recorded outcome, the call returns (or raises) it without running; otherwise the attempts run and
each one's outcome is committed before the workflow goes on. This code sees its engine only through
the narrow `Runtime` handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from engine.context import (
    CURRENT_DB,
    CURRENT_STEP,
    CURRENT_WORKFLOW,
    StepContext,
    WorkflowContext,
    active_workflow,
    default_engine,
)
from engine.errors import DurableError, MaxAttemptsExceeded, SerializationError, StepTimeout, WorkflowCancelled
from engine.outcome import PAUSED, Outcome, recorded_outcome
from engine.retry import Attempt, RetryPolicy, run_attempts, run_attempts_async
from engine.runtime import Preempted, Runtime, StoreUnreachable, checkpointing
from engine.serialization import dumps, error_from_dict, error_to_dict
from engine.specs import StepSpec, WorkflowSpec
from engine.states import StepKind, StepStatus, WorkflowStatus
from engine.store.connection import failure_reason
from engine.store.runtime import RecordedStep
from engine.store.session import RETRYABLE_TRANSACTION_ERRORS, set_isolation

log = logging.getLogger("durable")


def _recorded_value(rec: RecordedStep) -> Any:
    if rec.status == StepStatus.SUCCESS:
        return rec.output
    raise error_from_dict(rec.error or {})


# the workflow body ------------------------------------------------------------------------------


def execute(
    rt: Runtime, wid: str, spec: WorkflowSpec, inputs: dict[str, Any], recorded: dict[int, RecordedStep]
) -> Outcome:
    """Run one workflow to its end in this thread and hand its outcome over to be recorded."""
    ctx = WorkflowContext(rt, wid, spec.name, recorded, lease_epoch=rt.runs.lease_epoch)
    token = CURRENT_WORKFLOW.set(ctx)
    outcome = PAUSED
    encoded: tuple[str | None, str | None] | None = None
    try:
        args, kwargs = inputs.get("args", []), inputs.get("kwargs", {})
        result = asyncio.run(spec.fn(*args, **kwargs)) if spec.is_async else spec.fn(*args, **kwargs)
        output = dumps(result, f"workflow {wid!r} ({spec.name}) output")
        encoded, outcome = (output, None), Outcome(WorkflowStatus.SUCCESS, json.loads(output))
    except WorkflowCancelled:
        if rt.runs.cancelled(wid):
            outcome = Outcome(WorkflowStatus.CANCELLED)
    except Preempted as exc:
        log.warning("workflow %s is owned by another executor now (%s); stopping here", wid, exc)
    except StoreUnreachable as exc:
        log.warning(
            "workflow %s paused: the database is unreachable (%s); it resumes from its last checkpoint once it answers",
            wid,
            exc,
        )
        rt.strand(wid)
    except Exception as exc:
        encoded = (None, dumps(error_to_dict(exc), f"workflow {wid!r}"))
        outcome = Outcome(WorkflowStatus.ERROR, error=exc)
    except BaseException as exc:
        # Not ours to record (KeyboardInterrupt, SystemExit): the workflow stays PENDING and recoverable,
        # and an in-process caller waiting on it gets the exception at once.
        rt.release(wid, Outcome(WorkflowStatus.PENDING, raised=exc))
        raise
    finally:
        CURRENT_WORKFLOW.reset(token)
    if encoded is None:
        rt.release(wid, outcome)
    else:
        rt.finish(wid, outcome.status, *encoded, outcome)
    return outcome


# steps --------------------------------------------------------------------------------------------


class StepRun:
    """One checkpointed step across its attempts: the blocking parts of the attempt loop."""

    def __init__(self, ctx: WorkflowContext, spec: StepSpec):
        self.ctx = ctx
        self.spec = spec
        self.rt = ctx.runtime
        self.workflow_id = ctx.workflow_id
        self.step_id = ctx.next_step_id()
        self.attempt = 1
        self.base = 0
        self.wait = 0.0
        self.errors: list[BaseException] = []
        self.started = self.rt.runs.clock.now()
        self.recorded = ctx.replayed(self.step_id, spec.name)
        rec = self.recorded
        if rec is not None and not rec.status.final:
            # A crash never resets the budget: go on at the recorded attempt, after what is left of the wait.
            self.base = rec.attempt_base
            self.errors = [error_from_dict({"type": t, "message": m}) for t, m in rec.past_errors]
            waiting = rec.status == StepStatus.WAITING_RETRY
            self.attempt = rec.attempts + 1 if waiting else max(rec.attempts, self.base + 1)
            self.wait = rec.wait_remaining

    @property
    def done(self) -> bool:
        return self.recorded is not None and self.recorded.status.final

    @property
    def policy(self) -> RetryPolicy:
        return self.spec.policy

    @property
    def budget(self) -> int:
        return self.base + self.policy.budget

    @property
    def where(self) -> str:
        return f"workflow {self.workflow_id!r} step {self.step_id} ({self.spec.name})"

    def wait_turn(self) -> None:
        """Wait out what is left of a backoff, honour cancellation, mark a retry as running, and confirm
        ownership last: the mark may wait out an outage, during which the workflow may have been adopted."""
        if self.wait > 0:
            self.rt.runs.wait(self.workflow_id, self.wait)
        self.rt.runs.check(self.workflow_id)
        if self.wait > 0 or self.attempt > 1:  # else the attempt starts as the step did, a few microseconds ago
            self.started = self.rt.runs.clock.now()
        if self.attempt > 1:
            self.mark(StepStatus.RUNNING)
        self.rt.confirm_ownership(self.ctx, self.where)

    def mark(self, status: StepStatus, child: str | None = None) -> None:
        with checkpointing():
            self.mark_row(status, child)

    def mark_row(self, status: StepStatus, child: str | None = None) -> None:
        """Show the attempt as `status` (RUNNING) without recording an outcome; never moves a step backwards."""
        self.rt.store.mark_step(
            self.workflow_id, self.step_id, self.spec.name, self.spec.kind, status, self.attempt, self.budget,
            self.started, child, self.policy_words,
        )  # fmt: skip

    @property
    def policy_words(self) -> str | None:
        """The limits shown in the step's detail; a durable sleep or a child has none worth showing."""
        return self.policy.describe() if self.spec.kind in (StepKind.STEP, StepKind.TRANSACTION) else None

    # the attempt loop's protocol (engine.retry.Attempts)

    def before_attempt(self) -> Attempt:
        self.wait_turn()
        self.ctx.in_step = True
        self.rt.slow_steps.watch(self)
        context = StepContext(
            self.workflow_id, self.step_id, self.spec.name, self.attempt - self.base, self.policy.budget
        )
        try:
            self.rt.faults.before_attempt(self.workflow_id, self.spec.name)
        except Exception as exc:  # an injected failure counts as this attempt's own
            return Attempt(context, injected=exc)
        return Attempt(context)

    def attempt_ended(self) -> None:
        self.rt.slow_steps.unwatch(self)
        self.ctx.in_step = False

    def after_success(self, value: Any) -> Any:
        try:
            output = self.serialize(value)
        except SerializationError as exc:
            self.fail(exc, retryable=False)
        self.record(StepStatus.SUCCESS, output=output)
        return self.checkpointed(value)

    def after_failure(self, exc: Exception) -> None:
        self.fail(exc, retryable=self.policy.may_retry(exc))

    def end_reason(self, exc: Exception, retryable: bool) -> str:
        if isinstance(exc, StepTimeout):
            return "timeout"
        return "error" if retryable else "not_retryable"

    # recording

    def record(
        self,
        status: StepStatus,
        *,
        output: str | None = None,
        error: dict[str, Any] | None = None,
        delay: float | None = None,
        info: dict[str, Any] | None = None,
        conn: psycopg.Connection[Any] | None = None,
        child: str | None = None,
        with_attempt: bool = True,
        end_reason: str | None = None,
    ) -> None:
        with checkpointing(in_transaction=conn is not None):
            ok = self.rt.store.record_step(
                workflow_id=self.workflow_id,
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
                final=status.final,
                conn=conn,
                child_workflow_id=child,
                with_attempt=with_attempt,
                end_reason=end_reason,
                policy=None if status == StepStatus.SUCCESS else self.policy_words,
                owner=self.rt.executor_id,
            )
        if not ok:
            self.rt.lost_write(self.workflow_id, self.where)

    def serialize(self, result: Any) -> str:
        return dumps(result, lambda: f"{self.where} output")

    def checkpointed(self, result: Any) -> Any:
        """The outcome is committed: a `crash` fault set for right after the checkpoint strikes now."""
        self.rt.faults.after_checkpoint(self.workflow_id, self.spec.name)
        return result

    def fail(self, exc: Exception, retryable: bool = True) -> None:
        """Record a failed attempt; raise when no attempt is left, else set up the backoff wait."""
        info = error_to_dict(exc)
        reason = self.end_reason(exc, retryable)
        self.errors.append(exc)
        if not retryable or self.attempt >= self.budget:
            final = exc
            if retryable and self.policy.retries_allowed and self.spec.kind == StepKind.STEP:
                final = MaxAttemptsExceeded(self.spec.name, self.policy.budget, self.errors)
            error = error_to_dict(final) if final is not exc else info
            self.record(StepStatus.ERROR, error=error, info=info, end_reason=reason)
            if final is exc:
                raise exc
            raise final from exc
        self.wait = self.policy.delay_after(self.attempt - self.base)
        self.record(StepStatus.WAITING_RETRY, delay=self.wait, info=info, end_reason=reason)
        self.attempt += 1


class TransactionRun(StepRun):
    """A transaction's checkpoint is written inside its own database transaction, by the attempt itself."""

    def after_success(self, value: Any) -> Any:
        return self.checkpointed(value)


class PlainAttempts:
    """A step called outside a workflow: its retries and backoff, nothing recorded."""

    def __init__(self, spec: StepSpec):
        self.spec = spec
        self.attempt = 0
        self.errors: list[BaseException] = []

    def before_attempt(self) -> Attempt:
        if self.attempt:
            time.sleep(self.spec.policy.delay_after(self.attempt))
        self.attempt += 1
        return Attempt(StepContext(None, None, self.spec.name, self.attempt, self.spec.policy.budget))

    def attempt_ended(self) -> None:
        pass

    def after_success(self, value: Any) -> Any:
        return value

    def after_failure(self, exc: Exception) -> None:
        self.errors.append(exc)
        policy = self.spec.policy
        if self.attempt >= policy.budget or not policy.may_retry(exc):
            raise policy.exhausted(self.spec.name, self.errors, self.spec.kind == StepKind.STEP) from exc


def _recorded_final(ctx: WorkflowContext, name: str) -> RecordedStep | None:
    """The next step's outcome if it is recorded final (the position is then taken): replaying it needs no
    `StepRun`, which a recovered workflow would otherwise build for each of its recorded steps."""
    if not ctx.recorded:
        return None
    rec = ctx.replayed(ctx.last_step + 1, name)
    if rec is None or not rec.status.final:
        return None
    ctx.next_step_id()
    return rec


def call_step(spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    def call() -> Any:
        return _within_timeout(spec, lambda: body_of(spec)(*args, **kwargs))

    ctx = active_workflow()
    if ctx is None:
        return run_attempts(PlainAttempts(spec), call)
    rec = _recorded_final(ctx, spec.name)
    if rec is not None:
        return _recorded_value(rec)
    run = StepRun(ctx, spec)
    if run.recorded is not None and run.done:
        return _recorded_value(run.recorded)
    return run_attempts(run, call)


async def call_step_async(spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    async def call() -> Any:
        attempt = body_of(spec)(*args, **kwargs)
        if spec.policy.timeout_seconds is None:
            return await attempt
        try:
            return await asyncio.wait_for(attempt, spec.policy.timeout_seconds)
        except asyncio.TimeoutError:
            raise _timed_out(spec) from None

    ctx = active_workflow()
    if ctx is None:
        return await run_attempts_async(PlainAttempts(spec), call)
    run = StepRun(ctx, spec)
    if run.recorded is not None and run.done:
        return _recorded_value(run.recorded)
    return await run_attempts_async(run, call)


STUBS: dict[str, Callable[..., Any]] = {}
"""Step bodies replaced by name (the test harness's `stub_step`): checkpoints, retries and records stay real."""


def body_of(spec: StepSpec) -> Callable[..., Any]:
    return STUBS.get(spec.name, spec.fn) if STUBS else spec.fn


def _timed_out(spec: StepSpec) -> StepTimeout:
    step = CURRENT_STEP.get()
    attempt = step.attempt if step is not None else 1
    return StepTimeout(f"attempt {attempt} of step {spec.name!r} timed out after {spec.policy.timeout_seconds:g}s")


def _within_timeout(spec: StepSpec, call: Callable[[], Any]) -> Any:
    """A sync attempt bounded by `timeout_seconds`: it runs in a thread of its own and, past the timeout, is
    recorded as timed out while that thread is left to finish (Python cannot stop a thread); its result is
    then ignored. Without a timeout the attempt runs here, on the workflow's thread."""
    seconds = spec.policy.timeout_seconds
    if seconds is None:
        return call()
    done = threading.Event()
    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(attempt,), name=f"durable-step-{spec.name}", daemon=True).start()
    if not done.wait(seconds):
        raise _timed_out(spec)
    if "error" in box:
        raise box["error"]
    return box["value"]


# durable sleep ------------------------------------------------------------------------------------

SLEEP = StepSpec("sleep", time.sleep, RetryPolicy(max_attempts=1, retries_allowed=False), StepKind.SLEEP)


def sleep(seconds: float) -> None:
    """A durable sleep: its wake-up time is recorded, so a recovered workflow sleeps only what is left.

    Cancel interrupts it at once and retry-now cuts it short. Outside a workflow it is `time.sleep`.
    """
    ctx = active_workflow()
    if ctx is None:
        time.sleep(seconds)
        return
    run = StepRun(ctx, SLEEP)
    if run.done:
        return
    if run.recorded is None:
        run.rt.runs.check(ctx.workflow_id)
        run.record(StepStatus.SLEEPING, delay=seconds, with_attempt=False)
        run.wait = seconds
    run.rt.runs.wait(ctx.workflow_id, run.wait)
    run.record(StepStatus.SUCCESS, output="null", with_attempt=False)


async def sleep_async(seconds: float) -> None:
    """`sleep` for `async def` workflows."""
    await asyncio.to_thread(contextvars.copy_context().run, sleep, seconds)


# transactions -------------------------------------------------------------------------------------


def serialization_failure(exc: BaseException) -> bool:
    return isinstance(exc, RETRYABLE_TRANSACTION_ERRORS)


def call_transaction(spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run the function and commit its checkpoint in one database transaction: exactly once."""
    ctx = active_workflow()
    if ctx is None:
        engine = default_engine()
        if engine is None:
            raise DurableError(f"@transaction {spec.name!r} needs a launched Engine for its database")
        pool = engine.pool
        return run_attempts(PlainAttempts(spec), lambda: _transaction_once(pool, spec, args, kwargs, None))
    run = TransactionRun(ctx, spec)
    if run.recorded is not None and run.done:
        return _recorded_value(run.recorded)
    return run_attempts(run, lambda: _transaction_once(run.rt.pool, spec, args, kwargs, run))


@contextlib.contextmanager
def _outage_is_not_an_outcome(conn_holder: list[psycopg.Connection[Any]]) -> Iterator[None]:
    """A transaction whose connection was lost, or that could not get one, did not fail: the database went
    away. Whether it committed is unknown, so the run stops and replays from its checkpoints once the
    database answers (a committed transaction's checkpoint is then found; an uncommitted one runs again)."""
    try:
        yield
    except psycopg.OperationalError as exc:
        if not conn_holder or conn_holder[0].broken or conn_holder[0].closed:
            raise StoreUnreachable(failure_reason(exc)) from exc
        raise


def _transaction_once(
    pool: Any, spec: StepSpec, args: tuple[Any, ...], kwargs: dict[str, Any], run: StepRun | None
) -> Any:
    held: list[psycopg.Connection[Any]] = []
    with _outage_is_not_an_outcome(held), pool.connection() as conn:
        held.append(conn)
        with conn.transaction():
            set_isolation(conn, spec.isolation_level or "serializable")
            if run is not None:
                run.rt.hold(conn, run.workflow_id, run.where)
            db_token = CURRENT_DB.set(conn)
            try:
                result = spec.fn(*args, **kwargs)
            finally:
                CURRENT_DB.reset(db_token)
            if run is not None:
                run.record(StepStatus.SUCCESS, output=run.serialize(result), conn=conn)
    return result


# child workflows ----------------------------------------------------------------------------------


def call_workflow(spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Inside a workflow: a child workflow, one step of the parent. Outside: run it durably."""
    ctx = active_workflow()
    if ctx is not None:
        return run_child(ctx, spec, args, kwargs)
    engine = default_engine()
    if CURRENT_WORKFLOW.get() is not None or engine is None:
        return spec.fn(*args, **kwargs)
    return engine.run_workflow(spec.fn, *args, **kwargs)


async def call_workflow_async(spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    ctx = active_workflow()
    if ctx is not None:
        return await asyncio.to_thread(contextvars.copy_context().run, run_child, ctx, spec, args, kwargs)
    engine = default_engine()
    if CURRENT_WORKFLOW.get() is not None or engine is None:
        return await spec.fn(*args, **kwargs)
    return await asyncio.to_thread(engine.run_workflow, spec.fn, *args, **kwargs)


def run_child(ctx: WorkflowContext, spec: WorkflowSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A workflow called from a workflow: its own durable workflow, recorded as one parent step.

    A new child runs inline on this thread; one that runs elsewhere (another thread or process, or
    paused by an outage) is waited for, and a cancel of the parent cuts the wait short.
    """
    rt = ctx.runtime
    child_spec = StepSpec(spec.name, spec.fn, RetryPolicy(max_attempts=1, retries_allowed=False), StepKind.CHILD)
    run = StepRun(ctx, child_spec)
    if run.recorded is not None and run.done:
        return _recorded_value(run.recorded)
    child_id = (run.recorded and run.recorded.child_workflow_id) or f"{ctx.workflow_id}-{run.step_id}"
    run.wait_turn()
    inputs = {"args": list(args), "kwargs": kwargs}
    encoded = dumps(inputs, f"child workflow {child_id!r} inputs")
    with checkpointing():
        run.mark(StepStatus.RUNNING, child=child_id)
        created = rt.store.start_workflow(
            child_id,
            spec.name,
            encoded,
            rt.executor_id,
            parent=(ctx.workflow_id, run.step_id),
            timeout=spec.timeout_seconds,
        )
    outcome = PAUSED
    if created and rt.runs.start(child_id):
        if spec.timeout_seconds is not None:  # an earlier deadline of the parent is the parent's timer
            rt.deadlines.arm(child_id, spec.timeout_seconds)
        outcome = contextvars.Context().run(execute, rt, child_id, spec, inputs, {})
    rt.runs.check(ctx.workflow_id)
    if outcome.status == WorkflowStatus.CANCELLED:
        outcome = PAUSED  # why it was cancelled (a timeout) is in its row
    while not outcome.final:
        with checkpointing():
            row = rt.store.workflow_outcome(child_id)
        if row is not None and row.status.final:
            outcome = recorded_outcome(row)
        else:
            rt.runs.pause(ctx.workflow_id, 0.05)
    try:
        value = outcome.value(child_id)
    except Exception as exc:
        run.fail(exc, retryable=False)
    run.record(StepStatus.SUCCESS, output=run.serialize(value), child=child_id)
    return value
