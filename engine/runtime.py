"""The narrow handle that code on a workflow's thread holds instead of the whole Engine.

It offers the store's hot path, the run table (waits, cancellation), faults, slow-step marks, and the
hand-over of a finished run; nothing of the engine's lifecycle or scheduling.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import psycopg
from psycopg_pool import ConnectionPool

from engine.outcome import PAUSED, Outcome
from engine.runtable import RunTable
from engine.states import WorkflowStatus
from engine.store.connection import failure_reason
from engine.store.messages import MessageStore
from engine.store.runtime import RuntimeStore
from engine.store.session import RETRYABLE_TRANSACTION_ERRORS

if TYPE_CHECKING:
    from engine.context import WorkflowContext
    from engine.deadlines import Deadlines
    from engine.faults import FaultCache
    from engine.worker import Finisher, SlowStepMarker

log = logging.getLogger("durable")


class Preempted(BaseException):
    """Another live executor owns this workflow now: stop quietly (a BaseException, so no `except
    Exception` in workflow code can swallow it)."""


class StoreUnreachable(BaseException):
    """A checkpoint could not be written, or it is unknown whether it was (the database is down or
    restarting, or a commit's reply was lost).

    A BaseException, so workflow code cannot swallow it: the run stops, the workflow stays PENDING, and
    its executor runs it again from its checkpoints once the database answers.
    """


class checkpointing:  # noqa: N801 - used as `with checkpointing():`, like the context manager it was
    """A lost connection is an outage, not an outcome: StoreUnreachable. Inside a `@transaction`, though, a
    serialization failure or a deadlock (OperationalErrors too) certainly rolled it back: its retries decide.

    A class rather than a generator-based context manager: every checkpoint enters one."""

    __slots__ = ("in_transaction",)

    def __init__(self, in_transaction: bool = False):
        self.in_transaction = in_transaction

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None or not isinstance(exc, psycopg.OperationalError):
            return
        if self.in_transaction and isinstance(exc, RETRYABLE_TRANSACTION_ERRORS):
            return
        raise StoreUnreachable(failure_reason(exc)) from exc


class Runtime:
    def __init__(
        self,
        executor_id: str,
        store: RuntimeStore,
        pool: ConnectionPool,
        runs: RunTable,
        faults: FaultCache,
        slow_steps: SlowStepMarker,
        finisher: Finisher,
        rerun: Callable[[str, Any], None],
        deadlines: Deadlines,
    ):
        self.executor_id = executor_id
        self.store = store
        self.pool = pool
        self.runs = runs
        self.faults = faults
        self.slow_steps = slow_steps
        self.finisher = finisher
        self._rerun = rerun
        self.deadlines = deadlines

    @functools.cached_property
    def messages(self) -> MessageStore:
        """The statements of `recv`, `send`, events and streams, on the same pool and recorded clock."""
        return MessageStore(self.pool, self.store.sql.schema, lambda: self.store.skew())

    def release(self, workflow_id: str, outcome: Outcome) -> None:
        """The run ended (its outcome recorded, or none to record): wake its waiters, start a pending rerun."""
        rerun = self.runs.release(workflow_id, outcome)
        if rerun is not None and not self.runs.stopping.is_set():
            self._rerun(workflow_id, rerun)

    def finish(
        self, workflow_id: str, status: WorkflowStatus, output: str | None, error: str | None, outcome: Outcome
    ) -> None:
        """Hand a final outcome to the finisher; the run is released once it is committed (or, if it could
        not be, released paused: the workflow then runs again from its checkpoints)."""
        self.finisher.submit(
            (workflow_id, status, output, error),
            lambda committed: self.release(workflow_id, outcome if committed else PAUSED),
        )

    def strand(self, workflow_id: str) -> None:
        self.runs.strand([workflow_id])
        with contextlib.suppress(Exception):
            self.pool.check()

    def confirm_ownership(self, ctx: WorkflowContext, where: str) -> None:
        """Right before a step's body, when this worker's heartbeat has not gone through for half a lease (an
        outage, a stall), or went through again after such a lapse since this run last checked, another worker
        may have taken it for dead and adopted the workflow: go on only if it is still ours."""
        epoch = self.runs.lease_epoch
        if time.monotonic() <= self.runs.lease_until and ctx.lease_epoch == epoch:
            return
        self._require_owner(ctx.workflow_id, where)
        ctx.lease_epoch = epoch

    def lost_write(self, workflow_id: str, where: str) -> NoReturn:
        """A checkpoint wrote nothing: its fence found another owner, or the step already had a final outcome.
        Another owner: it was taken over (Preempted). Still ours: our own earlier write committed though its
        reply was lost, so replay from the checkpoints (StoreUnreachable)."""
        self._require_owner(workflow_id, where)
        raise StoreUnreachable(f"{where} was already recorded by an earlier write of ours; replaying")

    def hold(self, conn: psycopg.Connection[Any], workflow_id: str, where: str) -> None:
        """First in a `@transaction`: lock the workflow's row until it commits, so the transaction's effect and
        checkpoint commit only while the workflow is ours (its snapshot may be older than an adoption)."""
        if not self.store.hold_workflow(conn, workflow_id, self.executor_id):
            raise Preempted(f"{where}: the workflow is no longer this executor's")

    def _require_owner(self, workflow_id: str, where: str) -> None:
        """Only the row says who owns a workflow: raise Preempted unless it is this executor's and unfinished."""
        with checkpointing():
            state = self.store.workflow_state(workflow_id)
        if state is None or state.executor_id != self.executor_id or state.status.final:
            owner = "deleted" if state is None else f"{state.status} on {state.executor_id}"
            raise Preempted(f"{where}: the workflow is {owner}")
