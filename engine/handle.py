"""`WorkflowHandle`: a workflow by id, for any process: its status, its record, and its result.

A workflow this process ran answers from memory (its error is the very exception it raised); any other
is read from its row.
"""

from __future__ import annotations

import time
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

import psycopg

from engine.errors import WorkflowNotFound, WorkflowTimeout
from engine.outcome import Outcome, recorded_outcome
from engine.records import WorkflowOutcome, WorkflowRecord
from engine.states import WorkflowStatus

if TYPE_CHECKING:
    from engine.engine import Engine


class WorkflowHandle:
    """A reference to a workflow by id; works for workflows run by any process."""

    def __init__(self, engine: Engine, workflow_id: str):
        self.engine = engine
        self.workflow_id = workflow_id

    def status(self) -> str:
        state = self.engine.runtime_store.workflow_state(self.workflow_id)
        if state is None:
            raise WorkflowNotFound(f"no workflow with id {self.workflow_id!r}")
        return state.status

    def get(self) -> WorkflowRecord:
        return self.engine.get_workflow(self.workflow_id)

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the outcome: the output, or the workflow's error raised here.

        A workflow run by this process answers from memory once its outcome is committed (its error is
        the very exception it raised); any other is read from its row.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        runs = self.engine.runs
        local, recent = runs.future(self.workflow_id), runs.recent(self.workflow_id)
        if local is not None:
            try:
                outcome = local.result(timeout=timeout)
            except FutureTimeout:
                raise WorkflowTimeout(f"workflow {self.workflow_id!r} did not finish in {timeout}s") from None
            if outcome.recorded_here:
                return outcome.value(self.workflow_id)
        elif recent is not None and (recent.raised is not None or _settled(recent) or self.status() == recent.status):
            return recent.value(self.workflow_id)  # unless a controller has moved it on since
        pause = 0.005
        while True:
            try:
                row = self.engine.runtime_store.workflow_outcome(self.workflow_id)
            except psycopg.OperationalError:
                self.engine.pool.check()  # a restarted database: drop the dead connections, keep waiting
                row = WorkflowOutcome(WorkflowStatus.PENDING, None, None)
            if row is None:
                raise WorkflowNotFound(f"no workflow with id {self.workflow_id!r}")
            outcome = recorded_outcome(row)
            if outcome.final:
                return outcome.value(self.workflow_id)
            if deadline is not None and time.monotonic() >= deadline:
                raise WorkflowTimeout(f"workflow {self.workflow_id!r} did not finish in {timeout}s")
            time.sleep(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))
            pause = min(pause * 2, 0.2)

    def __repr__(self) -> str:
        return f"WorkflowHandle({self.workflow_id!r})"


def _settled(outcome: Outcome) -> bool:
    """No controller moves a success on (a resume takes an error or a cancel; a fork is a new workflow): the
    memory of it needs no read of its row to be current."""
    return outcome.status == WorkflowStatus.SUCCESS
