"""Plain records the engine hands out: what the dashboard, the CLI and an application read.

They hold decoded JSON values and timezone-aware datetimes, and nothing that needs a connection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class AttemptRecord:
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    error_type: str | None
    error_message: str | None
    traceback: str | None

    @property
    def ok(self) -> bool:
        return self.finished_at is not None and self.error_type is None


@dataclass
class StepRecord:
    workflow_id: str
    step_id: int
    name: str
    kind: str
    status: str
    attempts: int
    attempt_base: int
    max_attempts: int
    next_attempt_at: datetime | None
    output: Any
    error: dict[str, Any] | None
    child_workflow_id: str | None
    started_at: datetime
    finished_at: datetime | None
    attempt_records: list[AttemptRecord] = field(default_factory=list)


@dataclass
class WorkflowRecord:
    workflow_id: str
    name: str
    status: str
    inputs: Any
    output: Any
    error: dict[str, Any] | None
    executor_id: str | None
    parent_workflow_id: str | None
    parent_step_id: int | None
    forked_from: str | None
    forked_from_step: int | None
    recovery_count: int
    wait_reason: str | None
    created_at: datetime
    started_at: datetime | None
    updated_at: datetime
    finished_at: datetime | None
    steps: list[StepRecord] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    forks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class WorkflowSummary:
    """One row of the workflow list: no full values, plus where the workflow is now."""

    workflow_id: str
    name: str
    status: str
    executor_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    inputs_preview: str
    step_id: int | None
    step_name: str | None
    step_status: str | None
    attempt: int | None
    max_attempts: int | None
    next_attempt_at: datetime | None
    wait_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    kind: str
    workflow_id: str | None
    step_name: str
    remaining: int | None
    delay_seconds: float
    phase: str
    message: str
    created_at: datetime
    expires_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
