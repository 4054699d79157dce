"""The decorators an application uses, and the registry of workflow functions they fill.

A decorated function stays callable as itself: inside a workflow a step is checkpointed, outside one
it is a plain call with its retries; a workflow called from a workflow becomes a child workflow.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

import psycopg

from engine import execution
from engine.context import CURRENT_DB, CURRENT_STEP, StepContext
from engine.deadlines import check_timeout
from engine.errors import DurableError
from engine.retry import RetryPolicy
from engine.specs import ISOLATION_LEVELS, STEPS, StepSpec, WorkflowSpec, register, register_step_workflow
from engine.states import StepKind

F = TypeVar("F", bound=Callable[..., Any])


def _wrap(
    fn: Callable[..., Any], spec: Any, sync_call: Callable[..., Any], async_call: Callable[..., Any]
) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            return await async_call(spec, args, kwargs)

        wrapper: Callable[..., Any] = async_wrapper
    else:

        @functools.wraps(fn)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            return sync_call(spec, args, kwargs)

        wrapper = sync_wrapper
    return wrapper


@overload
def step(fn: F) -> F: ...
@overload
def step(
    *,
    name: str | None = None,
    retries_allowed: bool = True,
    interval_seconds: float = 1.0,
    max_attempts: int = 3,
    backoff_rate: float = 2.0,
    retry_on: tuple[type[BaseException], ...] | None = None,
    should_retry: Callable[[BaseException], bool] | None = None,
    max_interval_seconds: float | None = None,
    jitter: bool = False,
    timeout_seconds: float | None = None,
) -> Callable[[F], F]: ...
def step(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    retries_allowed: bool = True,
    interval_seconds: float = 1.0,
    max_attempts: int = 3,
    backoff_rate: float = 2.0,
    retry_on: tuple[type[BaseException], ...] | None = None,
    should_retry: Callable[[BaseException], bool] | None = None,
    max_interval_seconds: float | None = None,
    jitter: bool = False,
    timeout_seconds: float | None = None,
) -> Any:
    """Mark a function as a checkpointed, retried step. Works bare and with arguments.

    A step can also be started on its own, like a workflow (`start_workflow(charge, ...)`): it then runs as a
    one-step durable workflow registered under the step's name.
    """
    policy = RetryPolicy(
        max_attempts,
        interval_seconds,
        backoff_rate,
        retries_allowed,
        tuple(retry_on) if retry_on is not None else None,
        should_retry,
        max_interval_seconds,
        jitter,
        timeout_seconds,
    )

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        spec = StepSpec(name or f.__qualname__, f, policy)
        return _as_step(f, spec, execution.call_step, execution.call_step_async)

    return decorate(fn) if fn is not None else decorate


def _as_step(f: Callable[..., Any], spec: StepSpec, sync_call: Any, async_call: Any) -> Callable[..., Any]:
    """The step's wrapper, also registered as a one-step workflow of the same name (unless a workflow has it)."""
    wrapper = _wrap(f, spec, sync_call, async_call)
    wrapper.__durable_step__ = spec  # type: ignore[attr-defined]
    STEPS[spec.name] = spec
    alone = WorkflowSpec(spec.name, _one_step(wrapper))
    register_step_workflow(alone)
    wrapper.__durable_workflow__ = alone  # type: ignore[attr-defined]
    return wrapper


def _one_step(step_wrapper: Callable[..., Any]) -> Callable[..., Any]:
    """The body of a step's one-step workflow: it calls the step, which is then its checkpointed step 1."""
    if inspect.iscoroutinefunction(step_wrapper):

        @functools.wraps(step_wrapper)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            return await step_wrapper(*args, **kwargs)

        return run_async

    @functools.wraps(step_wrapper)
    def run(*args: Any, **kwargs: Any) -> Any:
        return step_wrapper(*args, **kwargs)

    return run


@overload
def transaction(fn: F) -> F: ...
@overload
def transaction(
    *, isolation_level: str = "serializable", name: str | None = None, max_attempts: int = 10
) -> Callable[[F], F]: ...
def transaction(
    fn: Callable[..., Any] | None = None,
    *,
    isolation_level: str = "serializable",
    name: str | None = None,
    max_attempts: int = 10,
) -> Any:
    """One database transaction whose output is recorded in that same transaction: exactly once.

    Serialization failures and deadlocks are retried with a short backoff; other errors are not.
    """
    level = isolation_level.lower()
    if level not in ISOLATION_LEVELS:
        raise ValueError(f"isolation_level must be one of {', '.join(ISOLATION_LEVELS)}")

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(f):
            raise TypeError("@transaction functions must be plain (not async) functions")
        policy = RetryPolicy(max_attempts, 0.01, 2.0, should_retry=execution.serialization_failure)
        spec = StepSpec(name or f.__qualname__, f, policy, StepKind.TRANSACTION, level)
        return _as_step(f, spec, execution.call_transaction, execution.call_step_async)

    return decorate(fn) if fn is not None else decorate


@overload
def workflow(fn: F) -> F: ...
@overload
def workflow(
    *, name: str | None = None, max_recovery_attempts: int | None = None, timeout_seconds: float | None = None
) -> Callable[[F], F]: ...
def workflow(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    max_recovery_attempts: int | None = None,
    timeout_seconds: float | None = None,
) -> Any:
    """Mark a function as a durable workflow and register it under `name` (default: its qualname).

    `max_recovery_attempts`: how many times its worker may die while running it before it ends ERROR as a
    poison workflow (default: the Engine's, 10). `timeout_seconds`: past this much time from its start, it
    and its children are cancelled as timed out (a child never outlives its parent's deadline anyway).
    """
    if max_recovery_attempts is not None and max_recovery_attempts < 0:
        raise ValueError("max_recovery_attempts must be >= 0")
    timeout = check_timeout(timeout_seconds)

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        spec = WorkflowSpec(name or f.__qualname__, f, max_recovery_attempts, timeout)
        register(spec)
        wrapper = _wrap(f, spec, execution.call_workflow, execution.call_workflow_async)
        wrapper.__durable_workflow__ = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate(fn) if fn is not None else decorate


def step_context() -> StepContext:
    """Where the calling step is: workflow id, step id, step name, attempt and max attempts."""
    ctx = CURRENT_STEP.get()
    if ctx is None:
        raise DurableError("step_context() is only available inside a @step")
    return ctx


def db() -> psycopg.Connection[Any]:
    """The connection of the running @transaction, inside its open database transaction."""
    conn = CURRENT_DB.get()
    if conn is None:
        raise DurableError("db() is only available inside a @transaction")
    return conn
