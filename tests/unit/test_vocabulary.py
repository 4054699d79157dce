"""The typed vocabulary: every operation has its transitions, and records carry enums, read by name."""

from __future__ import annotations

from datetime import datetime, timezone

from engine.records import FaultRecord, StepRecord, WorkflowOutcome, WorkflowOwner, WorkflowState, WorkflowSummary
from engine.states import (
    TRANSITIONS,
    FaultKind,
    FaultPhase,
    Operation,
    StepKind,
    StepStatus,
    WorkflowStatus,
    allowed_sources,
)

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_every_operation_has_its_source_statuses() -> None:
    assert set(TRANSITIONS) == set(Operation)
    for operation, sources in TRANSITIONS.items():
        assert sources and all(isinstance(s, WorkflowStatus) for s in sources), operation
        assert allowed_sources(operation) == sorted(str(s) for s in sources)
        assert all(type(s) is str for s in allowed_sources(operation))


def test_the_operations_the_store_filters_by() -> None:
    assert allowed_sources(Operation.CANCEL) == ["ENQUEUED", "PENDING"]
    assert allowed_sources(Operation.RESUME) == ["CANCELLED", "ERROR"]
    assert allowed_sources(Operation.RECOVER) == ["PENDING"]
    assert allowed_sources(Operation.DELETE) == ["CANCELLED", "ERROR", "SUCCESS"]


def test_named_tuples_keep_their_order_and_convert_statuses() -> None:
    state = WorkflowState.read(name="n", status="PENDING", executor_id="e")
    assert state == ("n", WorkflowStatus.PENDING, "e") and state[1] is WorkflowStatus.PENDING
    outcome = WorkflowOutcome.read(status="ERROR", output=None, error={"type": "X"})
    assert outcome.status is WorkflowStatus.ERROR and outcome[2] == {"type": "X"}
    owner = WorkflowOwner.read(name="n", status="ENQUEUED", executor_id=None, alive=False)
    assert owner == ("n", WorkflowStatus.ENQUEUED, None, False)


def test_records_built_by_column_name_carry_enums() -> None:
    step = StepRecord(
        workflow_id="w", step_id=1, name="s", kind="sleep", status="SLEEPING", attempts=1, attempt_base=0,
        max_attempts=1, next_attempt_at=None, output=None, error=None, child_workflow_id=None,
        started_at=NOW, finished_at=None,
    )  # fmt: skip
    assert step.kind is StepKind.SLEEP and step.status is StepStatus.SLEEPING
    fault = FaultRecord(
        fault_id=1, kind="crash", workflow_id=None, step_name="s", remaining=1, delay_seconds=0.0, phase="after",
        message="m", created_at=NOW, expires_at=None,
    )  # fmt: skip
    assert fault.kind is FaultKind.CRASH and fault.phase is FaultPhase.AFTER
    summary = WorkflowSummary(
        workflow_id="w", name="n", status="SUCCESS", executor_id=None, created_at=NOW, started_at=None,
        finished_at=None, updated_at=NOW, inputs_preview="{}", step_id=None, step_name=None, step_status=None,
        attempt=None, max_attempts=None, next_attempt_at=None, wait_reason=None,
    )  # fmt: skip
    assert summary.status is WorkflowStatus.SUCCESS and summary.step_status is None
    assert summary.to_dict()["status"] == "SUCCESS"
