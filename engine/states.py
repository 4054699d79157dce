"""The vocabulary of the engine, typed: statuses, kinds, control operations and their legal sources.

Each enum is a `str`, so a value read from a row compares equal to its member and a member goes to
Postgres as its text. `TRANSITIONS` is the one statement of which workflow statuses each control
operation applies to: `Control` checks it, the store's statements receive it as a parameter, and the
dashboard greys a key with it.
"""

from __future__ import annotations

from enum import Enum


class Word(str, Enum):
    """A member prints as its value ("PENDING"), in f-strings, logs and the repr of records alike."""

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return repr(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class WorkflowStatus(Word):
    ENQUEUED = "ENQUEUED"
    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({WorkflowStatus.SUCCESS, WorkflowStatus.ERROR, WorkflowStatus.CANCELLED})
ACTIVE_STATUSES = frozenset({WorkflowStatus.ENQUEUED, WorkflowStatus.PENDING})


class StepStatus(Word):
    RUNNING = "RUNNING"
    WAITING_RETRY = "WAITING_RETRY"
    SLEEPING = "SLEEPING"
    WAITING = "WAITING"
    """A `recv` or `get_event` waiting for a message or an event; `next_attempt_at` is its timeout."""
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"

    @property
    def final(self) -> bool:
        return self in (StepStatus.SUCCESS, StepStatus.ERROR)

    @property
    def waiting(self) -> bool:
        """A wait that retry-now cuts short: a backoff, a durable sleep, a `recv` or `get_event` (it times out)."""
        return self in (StepStatus.WAITING_RETRY, StepStatus.SLEEPING, StepStatus.WAITING)


class StepKind(Word):
    STEP = "step"
    TRANSACTION = "transaction"
    CHILD = "child"
    SLEEP = "sleep"
    RECV = "recv"
    GET_EVENT = "get_event"
    SEND = "send"
    SET_EVENT = "set_event"
    WRITE_STREAM = "write_stream"
    CLOSE_STREAM = "close_stream"

    @property
    def waits(self) -> bool:
        """A step that waits for something from outside (a message, an event) up to a recorded timeout."""
        return self in (StepKind.RECV, StepKind.GET_EVENT)


class FaultKind(Word):
    FAIL = "fail"
    DELAY = "delay"
    CRASH = "crash"


class FaultPhase(Word):
    BEFORE = "before"
    AFTER = "after"


class Operation(Word):
    """What a controller can do to a workflow."""

    CANCEL = "cancel"
    RESUME = "resume"
    RECOVER = "recover"
    RETRY_NOW = "retry_now"
    FORK = "fork"
    DELETE = "delete"


TRANSITIONS: dict[Operation, frozenset[WorkflowStatus]] = {
    Operation.CANCEL: ACTIVE_STATUSES,
    Operation.RESUME: frozenset({WorkflowStatus.CANCELLED, WorkflowStatus.ERROR}),
    Operation.RECOVER: frozenset({WorkflowStatus.PENDING}),  # and its executor is dead
    Operation.RETRY_NOW: frozenset({WorkflowStatus.PENDING}),  # and a step waits
    Operation.FORK: frozenset(WorkflowStatus),
    Operation.DELETE: FINAL_STATUSES,
}
"""Operation -> the workflow statuses it applies to. RECOVER and RETRY_NOW have a second condition,
checked where the data for it is (the executor's liveness, the waiting step)."""


def allowed_sources(operation: Operation) -> list[str]:
    """The statuses of TRANSITIONS as a parameter for SQL (`status = ANY(%s)`), in a stable order."""
    return sorted(str(s) for s in TRANSITIONS[operation])
