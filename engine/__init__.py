"""durable-tui's engine: durable workflows whose every step is checkpointed in Postgres."""

from engine.api import db, step, step_context, transaction, workflow
from engine.communication import close_stream, get_event, recv, send, set_event, sleep_until, write_stream
from engine.context import StepContext
from engine.control import Control
from engine.engine import Engine
from engine.errors import (
    AwaitedWorkflowCancelled,
    DatabaseUnavailable,
    DurableError,
    InjectedFault,
    InvalidInput,
    InvalidState,
    MaxAttemptsExceeded,
    MaxRecoveryAttemptsExceeded,
    NonDeterministicWorkflowError,
    QueueDeduplicated,
    RecordedError,
    ScheduleNotFound,
    SchemaNotReady,
    SchemaTooNew,
    SerializationError,
    StepTimeout,
    WorkflowConflict,
    WorkflowNotFound,
    WorkflowTimedOut,
    WorkflowTimeout,
)
from engine.execution import sleep, sleep_async
from engine.handle import WorkflowHandle
from engine.queues import Debouncer, Queue
from engine.schedules import scheduled

__all__ = [
    "AwaitedWorkflowCancelled",
    "Control",
    "Debouncer",
    "DatabaseUnavailable",
    "DurableError",
    "Engine",
    "InjectedFault",
    "InvalidInput",
    "InvalidState",
    "MaxAttemptsExceeded",
    "MaxRecoveryAttemptsExceeded",
    "NonDeterministicWorkflowError",
    "Queue",
    "QueueDeduplicated",
    "RecordedError",
    "ScheduleNotFound",
    "SchemaNotReady",
    "SchemaTooNew",
    "SerializationError",
    "StepTimeout",
    "StepContext",
    "WorkflowConflict",
    "WorkflowHandle",
    "WorkflowNotFound",
    "WorkflowTimedOut",
    "WorkflowTimeout",
    "close_stream",
    "db",
    "get_event",
    "recv",
    "scheduled",
    "send",
    "set_event",
    "sleep",
    "sleep_async",
    "sleep_until",
    "step",
    "step_context",
    "transaction",
    "workflow",
    "write_stream",
]
