"""What the decorators record about a function, and the registry of workflow functions by name.

Kept apart from the decorators so that the code running on a workflow's thread can name these types
without importing the public API (and so without an import cycle).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import DurableError
from engine.retry import RetryPolicy
from engine.states import StepKind
from engine.validation import check_name

log = logging.getLogger("durable")

ISOLATION_LEVELS = ("serializable", "repeatable read", "read committed")


@dataclass(frozen=True)
class StepSpec:
    name: str
    fn: Callable[..., Any]
    policy: RetryPolicy
    kind: StepKind = StepKind.STEP
    isolation_level: str | None = None


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    fn: Callable[..., Any]
    max_recovery_attempts: int | None = None
    timeout_seconds: float | None = None
    """Its default timeout: past it, the workflow and its children are cancelled (`start_workflow` may override it)."""

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)


REGISTRY: dict[str, WorkflowSpec] = {}
STEPS: dict[str, StepSpec] = {}
"""Every step and transaction by name (the test harness finds a step's real body here)."""


def register(spec: WorkflowSpec) -> None:
    check_name(spec.name, "a workflow name")
    old = REGISTRY.get(spec.name)
    one_step = old is not None and getattr(old.fn, "__durable_one_step__", False)
    if old is not None and not one_step and old.fn.__module__ != spec.fn.__module__:
        log.warning("workflow name %r re-registered by %s (was %s)", spec.name, spec.fn.__module__, old.fn.__module__)
    REGISTRY[spec.name] = spec


def register_step_workflow(spec: WorkflowSpec) -> None:
    """A step's one-step workflow takes its name only when no workflow has it (a workflow always wins)."""
    existing = REGISTRY.get(spec.name)
    if existing is None or getattr(existing.fn, "__durable_one_step__", False):
        spec.fn.__durable_one_step__ = True  # type: ignore[attr-defined]
        REGISTRY[spec.name] = spec


def name_and_timeout(fn: Callable[..., Any] | str, timeout_seconds: float | None) -> tuple[str, float | None]:
    """What a workflow is queued as: its name (a name need not be registered here) and its timeout (the given one,
    else its `@workflow`'s when this process knows it)."""
    name = fn if isinstance(fn, str) else spec_of(fn).name
    if timeout_seconds is None and name in REGISTRY:
        timeout_seconds = REGISTRY[name].timeout_seconds
    return name, timeout_seconds


def spec_of(fn: Callable[..., Any] | str) -> WorkflowSpec:
    """The workflow behind a decorated function or a registered name."""
    if isinstance(fn, str):
        try:
            return REGISTRY[fn]
        except KeyError:
            raise DurableError(f"no workflow function is registered as {fn!r}") from None
    spec: WorkflowSpec | None = getattr(fn, "__durable_workflow__", None)
    if spec is None:
        raise DurableError(
            f"{getattr(fn, '__qualname__', fn)!r} is not decorated with @workflow, @step or @transaction"
        )
    if REGISTRY.get(spec.name) is not spec and getattr(spec.fn, "__durable_one_step__", False):
        raise DurableError(f"step {spec.name!r} cannot run on its own: a workflow is registered under that name")
    return spec
