"""The decorators an application uses, and the registry of workflow functions they fill.

A decorated function stays callable as itself: inside a workflow a step is checkpointed, outside one
it is a plain call with its retries; a workflow called from a workflow becomes a child workflow.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import psycopg

from engine import execution
from engine.errors import DurableError

log = logging.getLogger("durable")

F = TypeVar("F", bound=Callable[..., Any])

ISOLATION_LEVELS = ("serializable", "repeatable read", "read committed")


@dataclass(frozen=True)
class StepSpec:
    name: str
    fn: Callable[..., Any]
    retries_allowed: bool = True
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    kind: str = "step"
    isolation_level: str | None = None

    @property
    def attempts_budget(self) -> int:
        return max(1, self.max_attempts) if self.retries_allowed else 1

    def delay_after(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (from 1)."""
        return self.interval_seconds * self.backoff_rate ** (attempt - 1)


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    fn: Callable[..., Any]

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)


REGISTRY: dict[str, WorkflowSpec] = {}


def register(spec: WorkflowSpec) -> None:
    old = REGISTRY.get(spec.name)
    if old is not None and old.fn.__module__ != spec.fn.__module__:
        log.warning("workflow name %r re-registered by %s (was %s)", spec.name, spec.fn.__module__, old.fn.__module__)
    REGISTRY[spec.name] = spec


def spec_of(fn: Callable[..., Any] | str) -> WorkflowSpec:
    """The workflow behind a decorated function or a registered name."""
    if isinstance(fn, str):
        try:
            return REGISTRY[fn]
        except KeyError:
            raise DurableError(f"no workflow function is registered as {fn!r}") from None
    spec = getattr(fn, "__durable_workflow__", None)
    if spec is None:
        raise DurableError(f"{getattr(fn, '__qualname__', fn)!r} is not decorated with @workflow")
    return spec


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
) -> Callable[[F], F]: ...
def step(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    retries_allowed: bool = True,
    interval_seconds: float = 1.0,
    max_attempts: int = 3,
    backoff_rate: float = 2.0,
) -> Any:
    """Mark a function as a checkpointed, retried step. Works bare and with arguments."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if interval_seconds < 0 or backoff_rate <= 0:
        raise ValueError("interval_seconds must be >= 0 and backoff_rate > 0")

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        spec = StepSpec(name or f.__qualname__, f, retries_allowed, interval_seconds, max_attempts, backoff_rate)
        wrapper = _wrap(f, spec, execution.call_step, execution.call_step_async)
        wrapper.__durable_step__ = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate(fn) if fn is not None else decorate


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
        spec = StepSpec(name or f.__qualname__, f, True, 0.01, max_attempts, 2.0, "transaction", level)
        wrapper = _wrap(f, spec, execution.call_transaction, execution.call_step_async)
        wrapper.__durable_step__ = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate(fn) if fn is not None else decorate


@overload
def workflow(fn: F) -> F: ...
@overload
def workflow(*, name: str | None = None) -> Callable[[F], F]: ...
def workflow(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Mark a function as a durable workflow and register it under `name` (default: its qualname)."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        spec = WorkflowSpec(name or f.__qualname__, f)
        register(spec)
        wrapper = _wrap(f, spec, execution.call_workflow, execution.call_workflow_async)
        wrapper.__durable_workflow__ = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate(fn) if fn is not None else decorate


def step_context() -> execution.StepContext:
    """Where the calling step is: workflow id, step id, step name, attempt and max attempts."""
    ctx = execution.CURRENT_STEP.get()
    if ctx is None:
        raise DurableError("step_context() is only available inside a @step")
    return ctx


def db() -> psycopg.Connection:
    """The connection of the running @transaction, inside its open database transaction."""
    conn = execution.CURRENT_DB.get()
    if conn is None:
        raise DurableError("db() is only available inside a @transaction")
    return conn
