"""Workflow timeouts (issue 9): a recorded deadline, enforced by whichever worker is alive when it passes."""

from __future__ import annotations

import time

import pytest

from engine import AwaitedWorkflowCancelled, InvalidInput, Queue, sleep, step, workflow
from engine.deadlines import PRUNE_AT
from tests.helpers import runs, wait_for


@step(name="to.tick")
def tick(i: int) -> int:
    time.sleep(0.02)
    return i


@workflow(name="to.busy")
def busy(n: int) -> int:
    return sum(tick(i) for i in range(n))


QUEUE = Queue("to.queue", concurrency=2)


@workflow(name="to.sleeper", timeout_seconds=60)
def sleeper(seconds: float) -> str:
    sleep(seconds)
    return "woke"


@workflow(name="to.parent")
def parent(child_seconds: float) -> str:
    try:
        return sleeper(child_seconds)
    except AwaitedWorkflowCancelled as exc:
        return f"child: {exc}"


@workflow(name="to.quick_child", timeout_seconds=0.2)
def quick_child() -> str:
    sleep(30)
    return "never"


@workflow(name="to.parent_of_quick")
def parent_of_quick() -> str:
    try:
        return quick_child()
    except AwaitedWorkflowCancelled as exc:
        return str(exc)


def _error_message(control, wid):
    record = control.get_workflow(wid)
    return record.status, (record.error or {}).get("message")


def test_timeout_cancels_a_running_workflow_with_the_reason(engine, control):
    started = time.monotonic()
    handle = engine.start_workflow(busy, 1000, workflow_id="busy", timeout_seconds=0.3)
    with pytest.raises(AwaitedWorkflowCancelled, match="timed out after 0.3s"):
        handle.result(timeout=5)
    assert time.monotonic() - started < 1.5
    assert _error_message(control, "busy") == ("CANCELLED", "timed out after 0.3s")
    record = control.get_workflow("busy")
    assert record.timeout_seconds == 0.3 and record.deadline_at is not None
    assert (record.deadline_at - record.started_at).total_seconds() == pytest.approx(0.3, abs=0.05)
    assert 3 < len(record.steps) < 100  # it ran, and stopped at a step boundary once the deadline passed


def test_a_durable_sleep_is_cut_short_by_the_deadline(engine, control):
    started = time.monotonic()
    handle = engine.start_workflow(sleeper, 30, workflow_id="sleepy", timeout_seconds=0.2)
    with pytest.raises(AwaitedWorkflowCancelled, match="timed out after 0.2s"):
        handle.result(timeout=5)
    assert time.monotonic() - started < 1.5


def test_the_decorator_sets_the_default_timeout(engine, control):
    handle = engine.start_workflow(parent_of_quick, workflow_id="pq")
    assert handle.result(timeout=5) == "workflow 'pq-1' was cancelled: timed out after 0.2s"
    assert _error_message(control, "pq-1") == ("CANCELLED", "timed out after 0.2s")
    assert control.get_workflow("pq").status == "SUCCESS"  # the parent caught it and went on


def test_a_child_inherits_the_parents_earlier_deadline(engine, control):
    handle = engine.start_workflow(parent, 30, workflow_id="p", timeout_seconds=0.3)
    with pytest.raises(AwaitedWorkflowCancelled, match="timed out after 0.3s"):
        handle.result(timeout=5)
    parent_row, child_row = control.get_workflow("p"), control.get_workflow("p-1")
    assert child_row.timeout_seconds == 60  # its own, from @workflow
    assert child_row.deadline_at == parent_row.deadline_at  # but the parent's deadline is earlier
    assert _error_message(control, "p-1") == ("CANCELLED", "timed out with its parent p")


def test_a_workflow_that_finishes_before_its_deadline_is_unaffected(engine, control):
    assert engine.start_workflow(busy, 2, workflow_id="fast", timeout_seconds=0.3).result(timeout=5) == 1
    time.sleep(0.4)  # past the deadline: nothing happens to a finished workflow
    record = control.get_workflow("fast")
    assert (record.status, record.error, record.output) == ("SUCCESS", None, 1)


def test_a_queued_workflows_timeout_counts_from_its_start(engine, control):
    wid = control.enqueue_workflow("to.sleeper", 30, timeout_seconds=0.2)
    wait_for(lambda: control.get_workflow(wid).status == "CANCELLED", timeout=5)
    record = control.get_workflow(wid)
    assert (record.deadline_at - record.started_at).total_seconds() == pytest.approx(0.2, abs=0.05)
    assert record.error["message"] == "timed out after 0.2s"


def test_a_workflow_claimed_from_a_queue_keeps_its_timeout(engine, control):
    """A queue's claim arms the deadline like any claim."""
    handle = QUEUE.enqueue(sleeper, 30, timeout_seconds=0.2)
    with pytest.raises(AwaitedWorkflowCancelled):
        handle.result(timeout=5)
    assert control.get_workflow(handle.workflow_id).error["message"] == "timed out after 0.2s"


def test_resume_gives_a_timed_out_workflow_a_fresh_deadline(engine, control):
    handle = engine.start_workflow(sleeper, 30, workflow_id="again", timeout_seconds=0.15)
    with pytest.raises(AwaitedWorkflowCancelled):
        handle.result(timeout=5)
    first = control.get_workflow("again").deadline_at
    control.resume("again")
    wait_for(lambda: control.get_workflow("again").deadline_at not in (None, first))
    wait_for(lambda: control.get_workflow("again").status == "CANCELLED")
    assert control.get_workflow("again").deadline_at > first


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "10", 10**9])
def test_a_bad_timeout_is_one_clear_error(engine, control, bad):
    with pytest.raises(InvalidInput, match="timeout_seconds must be a number"):
        engine.start_workflow(busy, 1, timeout_seconds=bad)
    with pytest.raises(InvalidInput, match="timeout_seconds must be a number"):
        control.enqueue_workflow("to.busy", 1, timeout_seconds=bad)
    with pytest.raises(InvalidInput, match="timeout_seconds must be a number"):
        workflow(timeout_seconds=bad)


def test_a_deadline_that_passed_while_the_worker_was_dead_is_enforced_at_launch(workers, control, tmp_path):
    first = workers("to-exec")
    wid = control.enqueue_workflow("w.sleepy", 30, workflow_id="dead-sleep", timeout_seconds=0.4)
    wait_for(lambda: control.get_workflow(wid).deadline_at is not None)
    first.kill()
    deadline = control.get_workflow(wid).deadline_at
    wait_for(lambda: control.db_now() > deadline, timeout=2)
    assert control.get_workflow(wid).status == "PENDING"  # nobody was alive to enforce it
    workers("to-exec")  # the same executor: its launch claims its own workflows and times this one out, before "ready"
    assert _error_message(control, wid) == ("CANCELLED", "timed out after 0.4s")
    assert runs(tmp_path, "one") == []  # it did not run on after its deadline


def test_the_heartbeat_times_out_what_no_live_worker_can_run(workers, make_engine, control):
    first = workers("to-other")
    wid = control.enqueue_workflow("w.sleepy", 30, workflow_id="orphan", timeout_seconds=0.3)
    wait_for(lambda: control.get_workflow(wid).deadline_at is not None)
    first.kill()
    make_engine()  # this process does not register w.sleepy, so it never adopts it; its heartbeat sweeps
    wait_for(lambda: control.get_workflow(wid).status == "CANCELLED", timeout=3)
    assert _error_message(control, wid) == ("CANCELLED", "timed out after 0.3s")


def test_timers_of_ended_workflows_do_not_pile_up(engine):
    for i in range(5 * PRUNE_AT):
        engine.deadlines.arm(f"ended-{i}", 3600)  # none of them runs here (any more)
    assert len(engine.deadlines) <= PRUNE_AT + 1
