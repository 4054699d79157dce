"""The dashboard's pure pieces, without a database: column layout, id shortening, live waits, the
throughput sparkline, the timeline's axis and segments, and the action checks read from TRANSITIONS."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.feed import Event
from engine.records import AttemptRecord, StepRecord, WorkflowRecord, WorkflowSummary
from engine.states import TRANSITIONS, Operation, StepStatus, WorkflowStatus
from tui.columns import middle
from tui.throughput import Throughput
from tui.timeline import Axis, draw_bar, lanes_of, spans
from tui.waits import live_wait
from tui.workflow_actions import Target
from tui.workflows import layout

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def summary(**kwargs: object) -> WorkflowSummary:
    values: dict[str, object] = dict(
        workflow_id="order-2026-11-26-0001-9f3a",
        name="checkout",
        status=WorkflowStatus.PENDING,
        executor_id="exec-1",
        created_at=at(-10),
        started_at=at(-10),
        finished_at=None,
        updated_at=at(-1),
        inputs_preview="",
        step_id=2,
        step_name="charge",
        step_status=StepStatus.WAITING_RETRY,
        attempt=1,
        max_attempts=5,
        next_attempt_at=at(3.4),
        wait_reason=None,
    )
    values.update(kwargs)
    return WorkflowSummary(**values)  # type: ignore[arg-type]


def step(step_id: int = 1, **kwargs: object) -> StepRecord:
    values: dict[str, object] = dict(
        workflow_id="w",
        step_id=step_id,
        name=f"s{step_id}",
        kind="step",
        status=StepStatus.SUCCESS,
        attempts=1,
        attempt_base=0,
        max_attempts=3,
        next_attempt_at=None,
        output=None,
        error=None,
        child_workflow_id=None,
        started_at=at(0),
        finished_at=at(1),
    )
    values.update(kwargs)
    return StepRecord(**values)  # type: ignore[arg-type]


def attempt(n: int, start: float, end: float | None, failed: bool) -> AttemptRecord:
    return AttemptRecord(n, at(start), None if end is None else at(end), "E" if failed else None, "m", None)


def test_every_width_from_80_shows_id_status_step_and_wait() -> None:
    for width in range(80, 260, 7):
        keys = [c.key for c in layout(width)]
        assert {"id", "status", "step", "info"} <= set(keys), (width, keys)
        assert sum(c.width + 2 for c in layout(width)) <= width - 1


def test_less_important_columns_give_way_first() -> None:
    assert [c.key for c in layout(80)] == ["id", "status", "step", "info"]
    assert [c.key for c in layout(200)] == ["id", "name", "status", "step", "info", "started", "duration", "executor"]
    keys_at = {w: {c.key for c in layout(w)} for w in range(80, 200)}
    order = ["name", "duration", "started", "executor"]  # the order in which they join as the width grows
    joined = [min(w for w in keys_at if key in keys_at[w]) for key in order]
    assert joined == sorted(joined), joined


def test_ids_are_shortened_in_the_middle() -> None:
    assert middle("order-2026-11-26-0001-9f3a", 12) == "order-…-9f3a"
    assert len(middle("order-2026-11-26-0001-9f3a", 12)) == 12
    assert middle("short", 12) == "short"


def test_live_wait_shows_what_exists_today() -> None:
    assert live_wait(summary(), T0, 30).plain == "retry 2/5 in 3.4s"
    sleeping = summary(step_status=StepStatus.SLEEPING, next_attempt_at=at(23.4))
    assert live_wait(sleeping, T0, 30).plain == "sleeping · wakes in 23.4s"
    queued = summary(status=WorkflowStatus.ENQUEUED, step_status=None, wait_reason="no live worker runs 'x'")
    assert live_wait(queued, T0, 40).plain == "no live worker runs 'x'"
    assert live_wait(summary(step_status=StepStatus.RUNNING, attempt=3), T0, 30).plain == "running · try 3/5"
    assert live_wait(summary(status=WorkflowStatus.SUCCESS, step_status=StepStatus.SUCCESS), T0, 30) == ""


def test_a_queue_no_worker_serves_outranks_the_countdowns_of_a_queued_workflow() -> None:
    delayed = dict(status=WorkflowStatus.ENQUEUED, step_status=None, queue_name="emails", not_before=at(12.3))
    assert live_wait(summary(**delayed), T0, 40).plain == "starts in 12.3s"
    unserved = summary(**delayed, wait_reason="no worker serves queue emails", queue_unserved=True)
    assert live_wait(unserved, T0, 40).plain == "no worker serves queue emails"


def test_throughput_counts_finished_and_failed_per_second() -> None:
    clock = [100.2]
    meter = Throughput(now=lambda: clock[0])
    for status in ("SUCCESS", "SUCCESS", "ERROR", "PENDING"):
        meter.add(Event("w", "a", status))
    meter.add(Event("s", "a", "SUCCESS", 1, 1))  # a step event is not a finished workflow
    clock[0] = 101.5
    assert meter.series(meter.finished, 3) == [0, 2, 0]  # the last cell is the second in progress
    assert meter.series(meter.failed, 3) == [0, 1, 0]
    assert meter.series(meter.finished, 2, bucket=60) == [0, 2]  # seconds 0-59, then 60-119 (in progress)
    text = meter.render(3).plain.splitlines()  # 3 cells of 60 s: the last three minutes
    assert text[0] == "done ▁▁█   0.4/s" and text[1] == "fail ▁▁▅   0.2/s"


def test_axis_adapts_from_seconds_to_days() -> None:
    short = Axis(T0, at(12), 60).ticks()
    assert [label for _, label in short][:3] == ["0s", "2.0s", "4.0s"]
    days = Axis(T0, at(3 * 86400), 60).ticks()
    assert [label for _, label in days] == ["0s", "12h00m", "1d00h", "1d12h", "2d00h", "2d12h", "3d00h"]
    assert all(b - a >= 10 for (a, _), (b, _) in zip(days, days[1:], strict=False))


def test_attempts_backoffs_and_the_pending_retry() -> None:
    s = step(
        status=StepStatus.WAITING_RETRY,
        attempts=2,
        finished_at=None,
        next_attempt_at=at(10),
        attempt_records=[attempt(1, 0, 1, True), attempt(2, 3, 4, True)],
    )
    assert [(sp.kind, sp.start, sp.end) for sp in spans(s, at(5))] == [
        ("failed", at(0), at(1)),
        ("backoff", at(1), at(3)),
        ("failed", at(3), at(4)),
        ("pending", at(4), at(10)),
    ]
    bar = draw_bar(s, Axis(T0, at(10), 40), at(5), 70).plain
    assert bar.startswith("████") and "2.0s" in bar and bar.rstrip().endswith("retry 3/3 in 5.0s")


def workflow_record(workflow_id: str, name: str, status: str, **fields: object) -> WorkflowRecord:
    values: dict[str, object] = dict(
        workflow_id=workflow_id, name=name, status=status, inputs=None, output=None, error=None, executor_id=None,
        parent_workflow_id=None, parent_step_id=None, forked_from=None, forked_from_step=None, fork_changes=None,
        recovery_count=0, wait_reason=None, created_at=T0, started_at=T0, updated_at=T0, finished_at=None,
    )  # fmt: skip
    values.update(fields)
    return WorkflowRecord(**values)  # type: ignore[arg-type]


def test_an_opened_child_shows_its_steps_under_its_lane() -> None:
    child_step = step(1, kind="child", child_workflow_id="w-1")
    parent = workflow_record("w", "p", "PENDING", steps=[child_step])
    child = workflow_record("w-1", "c", "SUCCESS", steps=[step(1), step(2)], parent_workflow_id="w", parent_step_id=1)
    assert [lane.key for lane in lanes_of(parent, {"w-1": child}, set())] == ["w:1"]
    lanes = lanes_of(parent, {"w-1": child}, {"w-1"})
    assert [(lane.key, lane.depth) for lane in lanes] == [("w:1", 0), ("w-1:1", 1), ("w-1:2", 1)]


def test_actions_are_allowed_by_the_transitions_table() -> None:
    for status in WorkflowStatus:
        target = Target("w", status)
        assert target.allows("cancel") == (status in TRANSITIONS[Operation.CANCEL])
        assert target.allows("delete") == (status in TRANSITIONS[Operation.DELETE])
        assert target.allows("fork") and target.allows("fork_step")
        assert target.allows("resume") == (status in TRANSITIONS[Operation.RESUME])
    assert Target("w", WorkflowStatus.PENDING, orphaned=True).allows("resume")
    assert not Target("w", WorkflowStatus.PENDING).allows("retry_now")
    assert Target("w", WorkflowStatus.PENDING, waiting=True).allows("retry_now")
