"""How a workflow run ended, as the process that ran it knows it.

The process that ran a workflow keeps the exception object itself, so an in-process `result()` raises
the very exception the workflow raised (`except BadError` matches even when its class cannot be
rebuilt from its args); other processes see the recorded form. A run stopped by a BaseException that
is not the engine's own (KeyboardInterrupt) is not recorded: the workflow stays PENDING, recoverable,
and the in-process caller gets that exception at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import AwaitedWorkflowCancelled
from engine.records import WorkflowOutcome
from engine.serialization import error_from_dict
from engine.states import WorkflowStatus


@dataclass(frozen=True)
class Outcome:
    status: WorkflowStatus
    output: Any = None
    error: BaseException | None = None
    raised: BaseException | None = None

    @property
    def final(self) -> bool:
        return self.status.final

    @property
    def recorded_here(self) -> bool:
        """This process decided the outcome (it committed a SUCCESS or ERROR, or the run raised): the
        caller may take it from memory. A cancel was decided by a controller: the row tells what came after."""
        return self.status in (WorkflowStatus.SUCCESS, WorkflowStatus.ERROR) or self.raised is not None

    def value(self, workflow_id: str) -> Any:
        """The output of a finished workflow, or its failure raised here."""
        if self.raised is not None:
            raise self.raised
        if self.status == WorkflowStatus.SUCCESS:
            return self.output
        if self.status == WorkflowStatus.CANCELLED:
            why = f": {self.error}" if self.error is not None else ""
            raise AwaitedWorkflowCancelled(f"workflow {workflow_id!r} was cancelled{why}")
        if self.error is not None:
            raise self.error
        raise RuntimeError(f"workflow {workflow_id!r} has not finished")


PAUSED = Outcome(WorkflowStatus.PENDING)
"""The run stopped without an outcome (shutdown, outage, takeover): the workflow goes on elsewhere or later."""


def recorded_outcome(row: WorkflowOutcome) -> Outcome:
    """An outcome as read from the workflow's row (by any process)."""
    failed = row.status == WorkflowStatus.ERROR or (row.status == WorkflowStatus.CANCELLED and row.error)
    failure = error_from_dict(row.error or {}) if failed else None
    return Outcome(row.status, row.output if row.status == WorkflowStatus.SUCCESS else None, failure)
