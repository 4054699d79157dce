"""Where the running code is: the workflow of this thread, the step attempt, the open transaction.

Context variables, so that a child workflow run inline and an async workflow's tasks each see their own.
The default engine (the one launched last) is here too: a bare call to a @workflow function uses it.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg

from engine.errors import NonDeterministicWorkflowError

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.runtime import Runtime
    from engine.store.runtime import RecordedStep


@dataclass(frozen=True)
class StepContext:
    """What `step_context()` tells a step about itself."""

    workflow_id: str | None
    step_id: int | None
    step_name: str
    attempt: int
    max_attempts: int


@dataclass
class WorkflowContext:
    """One run of one workflow on this thread: its recorded steps and the position of the next one."""

    runtime: Runtime
    workflow_id: str
    name: str
    recorded: dict[int, RecordedStep]
    last_step: int = 0
    in_step: bool = False
    lease_epoch: int = 0
    """The `RunTable.lease_epoch` at which this run last knew it owned its workflow."""
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
CURRENT_DB: contextvars.ContextVar[psycopg.Connection[Any] | None] = contextvars.ContextVar("durable_db", default=None)


def active_workflow() -> WorkflowContext | None:
    """The workflow whose next step a call would be: none inside a step (a step's steps are plain calls)."""
    ctx = CURRENT_WORKFLOW.get()
    return None if ctx is None or ctx.in_step else ctx


_default_engine: list[Engine] = []


def default_engine() -> Engine | None:
    """The engine launched last in this process, if it is still running."""
    return _default_engine[-1] if _default_engine else None


def set_default_engine(engine: Engine | None) -> None:
    _default_engine[:] = [engine] if engine is not None else []
