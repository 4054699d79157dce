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
    spec: WorkflowSpec | None = getattr(fn, "__durable_workflow__", None)
    if spec is None:
        raise DurableError(f"{getattr(fn, '__qualname__', fn)!r} is not decorated with @workflow")
    return spec
