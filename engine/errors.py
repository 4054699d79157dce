"""Exceptions the engine raises, each meant to be read by a person: one line, no password."""

from __future__ import annotations

from typing import Any


class DurableError(Exception):
    """Base of every error the engine raises on purpose."""


class DatabaseUnavailable(DurableError):
    """The database could not be reached; the message names the host, never the password."""


class InvalidInput(DurableError, ValueError):
    """A value typed by a person (an id, a name) that cannot be stored: one line says why."""


class SchemaTooNew(DurableError):
    """The database was migrated by a newer version of the engine than this one."""


class SchemaNotReady(DurableError):
    """The schema is missing or behind, and this role may not create or upgrade it."""


class SerializationError(DurableError, TypeError):
    """A value (input, output, error) could not be stored as JSON (a TypeError, as JSON encoders raise)."""


class WorkflowNotFound(DurableError):
    """No workflow has this id."""


class ScheduleNotFound(DurableError, LookupError):
    """No schedule has this name (a worker records the schedules its code defines at launch)."""


class InvalidState(DurableError):
    """A control operation does not apply to the workflow in its present state."""


class WorkflowConflict(DurableError):
    """A workflow id already exists with another workflow function."""


class NonDeterministicWorkflowError(DurableError):
    """Recovered code called a different step at a recorded position."""


class WorkflowTimeout(DurableError):
    """`WorkflowHandle.result(timeout=...)` ran out of time."""


class WorkflowTimedOut(DurableError):
    """Why a workflow was cancelled when its deadline (`timeout_seconds`) passed: recorded as its error."""


class MaxAttemptsExceeded(DurableError):
    """A step failed on every one of its attempts.

    `errors` holds one exception per attempt, oldest first, so a workflow that catches this can see
    what went wrong each time (after a recovery they are rebuilt from the recorded attempts).
    """

    def __init__(self, step_name: str, max_attempts: int, errors: list[BaseException]):
        self.step_name = step_name
        self.max_attempts = max_attempts
        self.errors = list(errors)
        last = f": {type(errors[-1]).__name__}: {errors[-1]}" if errors else ""
        super().__init__(f"step {step_name!r} failed {max_attempts} attempt(s){last}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.step_name, self.max_attempts, self.errors))


class MaxRecoveryAttemptsExceeded(DurableError):
    """A workflow's worker died at every run of it, more often than `max_recovery_attempts`: it ended ERROR
    instead of taking one more worker down. `resume` gives it another chance."""


class RecordedError(DurableError):
    """Stands in for a recorded exception whose class cannot be rebuilt safely in this process."""

    def __init__(self, type_name: str, message: str):
        self.type_name = type_name
        self.message = message
        super().__init__(f"{type_name}: {message}")


class WorkflowCancelled(BaseException):
    """Raised inside a cancelled workflow to unwind it.

    A BaseException, like KeyboardInterrupt, so that a step's or workflow's `except Exception`
    cannot swallow a cancellation.
    """


class StepTimeout(DurableError, TimeoutError):
    """An attempt of a step ran longer than its `timeout_seconds` (a TimeoutError, so `retry_on` may name it)."""


class InjectedFault(Exception):
    """Raised at a step attempt by a `fail` fault, exactly as if the step's own code had raised it."""


class AwaitedWorkflowCancelled(DurableError):
    """The workflow whose result was awaited was cancelled."""


class QueueDeduplicated(DurableError):
    """A workflow with the same de-duplication id is queued or running in the same queue: it is named here."""

    def __init__(self, queue: str, deduplication_id: str, workflow_id: str):
        self.queue = queue
        self.deduplication_id = deduplication_id
        self.workflow_id = workflow_id
        super().__init__(
            f"queue {queue!r} already holds workflow {workflow_id!r} with deduplication id {deduplication_id!r}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.queue, self.deduplication_id, self.workflow_id))
