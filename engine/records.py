"""Plain records the engine hands out: what the dashboard, the CLI and an application read.

They hold decoded JSON values and timezone-aware datetimes, and nothing that needs a connection. The
store builds them from rows by column name (psycopg row factories), so a reordered column cannot shift
a field; statuses and kinds become the enums of `engine.states` as a record is made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from engine.states import FaultKind, FaultPhase, StepKind, StepStatus, WorkflowStatus


class WorkflowState(NamedTuple):
    """Who a workflow is and who runs it (the engine's question before acting on it)."""

    name: str
    status: WorkflowStatus
    executor_id: str | None

    @classmethod
    def read(cls, name: str, status: str, executor_id: str | None) -> WorkflowState:
        return cls(name, WorkflowStatus(status), executor_id)


class WorkflowOutcome(NamedTuple):
    """How a workflow ended, as recorded (output and error are decoded JSON)."""

    status: WorkflowStatus
    output: Any
    error: Any

    @classmethod
    def read(cls, status: str, output: Any, error: Any) -> WorkflowOutcome:
        return cls(WorkflowStatus(status), output, error)


class WorkflowOwner(NamedTuple):
    """A workflow's state and whether its executor is alive: what a control operation checks first."""

    name: str
    status: WorkflowStatus
    executor_id: str | None
    alive: bool

    @classmethod
    def read(cls, name: str, status: str, executor_id: str | None, alive: bool) -> WorkflowOwner:
        return cls(name, WorkflowStatus(status), executor_id, alive)


@dataclass
class AttemptRecord:
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    error_type: str | None
    error_message: str | None
    traceback: str | None
    end_reason: str | None = None
    """Why a failed attempt ended: `error`, `timeout`, or `not_retryable` (None for a success)."""

    @property
    def ok(self) -> bool:
        return self.finished_at is not None and self.error_type is None


@dataclass
class StepRecord:
    workflow_id: str
    step_id: int
    name: str
    kind: StepKind
    status: StepStatus
    attempts: int
    attempt_base: int
    max_attempts: int
    next_attempt_at: datetime | None
    output: Any
    error: dict[str, Any] | None
    child_workflow_id: str | None
    started_at: datetime
    finished_at: datetime | None
    policy: str | None = None
    """The step's retry limits in words (`3 attempts · 1s ×2`), once a retry or a slow attempt showed it."""
    attempt_records: list[AttemptRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.kind = StepKind(self.kind)
        self.status = StepStatus(self.status)


@dataclass
class WorkflowRecord:
    workflow_id: str
    name: str
    status: WorkflowStatus
    inputs: Any
    output: Any
    error: dict[str, Any] | None
    executor_id: str | None
    parent_workflow_id: str | None
    parent_step_id: int | None
    forked_from: str | None
    forked_from_step: int | None
    fork_changes: dict[str, Any] | None
    recovery_count: int
    wait_reason: str | None
    created_at: datetime
    started_at: datetime | None
    updated_at: datetime
    finished_at: datetime | None
    queue_name: str | None = None
    priority: int = 0
    deduplication_id: str | None = None
    partition_key: str = ""
    not_before: datetime | None = None
    timeout_seconds: float | None = None
    deadline_at: datetime | None = None
    """When it is cancelled as timed out, if it is still running then (its own timeout, or its parent's deadline)."""
    steps: list[StepRecord] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    forks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = WorkflowStatus(self.status)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class WorkflowSummary:
    """One row of the workflow list: no full values, plus where the workflow is now."""

    workflow_id: str
    name: str
    status: WorkflowStatus
    executor_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    inputs_preview: str
    step_id: int | None
    step_name: str | None
    step_status: StepStatus | None
    attempt: int | None
    max_attempts: int | None
    next_attempt_at: datetime | None
    wait_reason: str | None
    queue_name: str | None = None
    not_before: datetime | None = None
    """When a delayed (or debounced) queued workflow becomes due: the list counts down to it."""
    next_slot_at: datetime | None = None
    """For a queued workflow of a rate-limited queue: when the limiter lets one more start (past: it does now)."""
    queue_unserved: bool = False
    """An ENQUEUED workflow whose queue no live worker serves: its `wait_reason` says so, and outranks any countdown."""

    def __post_init__(self) -> None:
        self.status = WorkflowStatus(self.status)
        self.step_status = None if self.step_status is None else StepStatus(self.step_status)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EventRecord:
    """An event of a workflow (`set_event`): its latest value, and when and at which step it was set."""

    key: str
    value: Any
    set_at: datetime
    step_id: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StreamValue:
    """One row of a workflow's stream (`write_stream`; `closed` for the `close_stream` row, which has no value);
    `total` is how many values the stream holds in all."""

    key: str
    step_id: int
    value: Any
    closed: bool
    written_at: datetime
    total: int = 0


@dataclass
class ExecutorRecord:
    executor_id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    code_version: str | None
    workflows: list[str]
    in_flight: int
    stopped_at: datetime | None
    heartbeat_age: float
    alive: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultRecord:
    fault_id: int
    kind: FaultKind
    workflow_id: str | None
    step_name: str
    remaining: int | None
    delay_seconds: float
    phase: FaultPhase
    message: str
    created_at: datetime
    expires_at: datetime | None

    def __post_init__(self) -> None:
        self.kind = FaultKind(self.kind)
        self.phase = FaultPhase(self.phase)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QueueFigures:
    """A queue's recorded definition and what it holds now (`Control.list_queues`)."""

    name: str
    concurrency: int | None
    worker_concurrency: int | None
    rate_limit: int | None
    rate_period: float | None
    priority_enabled: bool
    partitioned: bool
    enqueued: int
    pending: int
    started_in_period: int
    oldest_enqueued_at: datetime | None = None
    """When the longest-waiting ENQUEUED workflow was enqueued (the dashboard shows its age, ticking)."""
    starts: list[int] = field(default_factory=list)
    """Workflows started per bucket over the last few minutes, oldest first (a sparkline's values)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ScheduleRecord:
    """A recorded schedule and its last run (`Control.list_schedules`)."""

    name: str
    workflow_name: str
    cron: str
    paused: bool
    since_at: datetime | None
    """Ticks after this moment run: the schedule's creation, or its last resume (None until a worker reads it)."""
    last_tick_at: datetime | None
    last_workflow_id: str | None
    last_status: WorkflowStatus | None
    next_at: datetime | None = None
    """Its next tick from when it was read (None while paused)."""

    def __post_init__(self) -> None:
        self.last_status = None if self.last_status is None else WorkflowStatus(self.last_status)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
