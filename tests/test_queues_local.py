"""Queues from inside a worker process: `Queue.enqueue`, de-duplication, delays, debouncing, and the
wake-ups that replace polling (a worker beating only every 5 s still starts queued work on time)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import QueueDeduplicated
from tests import queue_app
from tests.helpers import wait_for


@pytest.fixture
def runs_dir(tmp_path: Path) -> Iterator[Path]:
    queue_app.DIR = tmp_path
    yield tmp_path
    (tmp_path / "hold").unlink(missing_ok=True)  # a failed test must not leave steps blocked at shutdown


@pytest.fixture
def slow_beat(make_engine, runs_dir):
    """A worker whose heartbeat (and so its routine claim) comes only every 60 s: what starts sooner was woken
    (the bounds below are far from a beat, so a loaded machine does not fail them)."""
    return make_engine(heartbeat_seconds=60.0, lease_seconds=120.0)


def _seconds_queued(control, wid: str) -> float:
    record = control.get_workflow(wid)
    return (record.started_at - record.created_at).total_seconds()


def _claims_settled(engine) -> bool:
    claims = engine.heartbeat.claims
    time.sleep(0.1)
    return engine.heartbeat.claims == claims


def test_queue_enqueue_runs_through_the_launched_engine(engine, control, runs_dir):
    handle = queue_app.OPEN.enqueue(queue_app.record, 0.0, "hello", workflow_id="via-queue")
    assert handle.workflow_id == "via-queue" and handle.result(timeout=10) == "hello"
    assert control.get_workflow("via-queue").queue_name == "q.open"


def test_deduplication_refuses_a_live_id_and_frees_it_afterwards(engine, control, runs_dir):
    (runs_dir / "hold").touch()
    first = queue_app.OPEN.enqueue(queue_app.record, 0.0, deduplication_id="job-1")
    with pytest.raises(QueueDeduplicated, match="job-1") as refused:
        queue_app.OPEN.enqueue(queue_app.record, 0.0, deduplication_id="job-1")
    assert refused.value.workflow_id == first.workflow_id
    other_queue = queue_app.FIFO.enqueue(queue_app.record, 0.0, deduplication_id="job-1")  # another queue: free
    (runs_dir / "hold").unlink()
    first.result(timeout=10)
    other_queue.result(timeout=10)
    again = queue_app.OPEN.enqueue(queue_app.record, 0.0, deduplication_id="job-1")
    assert again.workflow_id != first.workflow_id and again.result(timeout=10) == ""


def test_a_delayed_workflow_starts_at_its_time_without_waiting_for_a_beat(slow_beat, control):
    time.sleep(0.1)  # let the first beat pass: from now on only a timer or a NOTIFY starts anything
    handle = queue_app.OPEN.enqueue(queue_app.record, 0.0, delay_seconds=0.3)
    assert (control.get_workflow(handle.workflow_id).wait_reason or "").startswith("starts at ")
    handle.result(timeout=10)
    assert 0.3 <= _seconds_queued(control, handle.workflow_id) < 10


def test_a_rate_window_opening_and_a_freed_slot_wake_the_worker(slow_beat, control):
    time.sleep(0.1)
    started = time.monotonic()
    limited = [queue_app.LIMITED.enqueue(queue_app.record, 0.0) for _ in range(10)]
    for handle in limited:
        handle.result(timeout=10)
    assert 0.5 <= time.monotonic() - started < 10  # the second five waited for the window, not for a beat
    started = time.monotonic()
    concurrent = [queue_app.CONCURRENT.enqueue(queue_app.record, 0.0) for _ in range(30)]
    for handle in concurrent:
        handle.result(timeout=10)
    assert time.monotonic() - started < 10  # each finish woke the claim of the next


def test_debounce_collapses_a_burst_into_one_run_with_the_latest_arguments(engine, control, runs_dir):
    handles = []
    for i in range(5):
        last_call = time.time()
        handles.append(queue_app.DEBOUNCED.debounce("user-42", 1.0, 0.0, f"call-{i}"))
        time.sleep(0.05)
    assert len({h.workflow_id for h in handles}) == 1
    assert handles[0].result(timeout=10) == "call-4"
    [(_, start, _)] = queue_app.times()
    assert start >= last_call + 1.0  # quiet for the period after the last call
    other = queue_app.DEBOUNCED.debounce("user-7", 0.0, 0.0, "other key")
    assert other.workflow_id != handles[0].workflow_id and other.result(timeout=10) == "other key"


def test_debounce_timeout_bounds_the_delay_from_the_first_call(engine, control, runs_dir):
    first_call = time.time()
    handles = []
    while time.time() - first_call < 2.0:  # calls keep coming, much faster than the period
        handles.append(queue_app.BOUNDED.debounce("busy", 0.5, 0.0, "x"))
        time.sleep(0.05)
    first = handles[0]
    first.result(timeout=10)
    assert 1.0 <= _seconds_queued(control, first.workflow_id) < 2.0  # ran at the timeout, not after the burst
    assert len({h.workflow_id for h in handles}) >= 2  # calls after it started queued the next run
    assert control.get_workflow(first.workflow_id).queue_name == "q.open"


def test_resume_gives_up_a_deduplication_id_another_live_workflow_took(engine, control, runs_dir):
    (runs_dir / "hold").touch()
    blocker = queue_app.FIFO.enqueue(queue_app.record, 0.0, "blocker")
    first = queue_app.FIFO.enqueue(queue_app.record, 0.0, "first", deduplication_id="nightly")
    control.cancel(first.workflow_id)
    second = queue_app.FIFO.enqueue(queue_app.record, 0.0, "second", deduplication_id="nightly")  # the id is free
    control.resume(first.workflow_id)  # both live now: the resumed one runs without the id
    assert control.get_workflow(first.workflow_id).deduplication_id is None
    assert control.get_workflow(second.workflow_id).deduplication_id == "nightly"
    (runs_dir / "hold").unlink()
    assert [h.result(timeout=10) for h in (blocker, first, second)] == ["blocker", "first", "second"]


def test_a_workers_own_enqueue_costs_one_claim_not_a_second_for_its_own_wake(slow_beat, control, runs_dir):
    """The enqueue pokes this worker's claim at once; the wake its notifier then sends for the other workers
    carries this worker's id, and its own listener skips it."""
    (runs_dir / "hold").touch()
    wait_for(lambda: _claims_settled(slow_beat))
    claims = slow_beat.heartbeat.claims
    handle = queue_app.OPEN.enqueue(queue_app.record, 0.0)
    wait_for(lambda: control.get_workflow(handle.workflow_id).status == "PENDING")
    slow_beat.notifier.notes.ready.set()
    wait_for(lambda: not slow_beat.notifier.notes.ready.is_set() and _claims_settled(slow_beat))
    assert slow_beat.heartbeat.claims - claims == 1


def test_a_burst_into_a_full_queue_costs_no_claims_and_freed_slots_still_wake(slow_beat, control, runs_dir):
    time.sleep(0.1)
    (runs_dir / "hold").touch()
    running = [queue_app.CONCURRENT.enqueue(queue_app.record, 0.0) for _ in range(5)]
    wait_for(lambda: all(control.get_workflow(h.workflow_id).status == "PENDING" for h in running))
    wait_for(lambda: _claims_settled(slow_beat))  # the wakes of those five are all handled
    claims = slow_beat.heartbeat.claims
    waiting = [queue_app.CONCURRENT.enqueue(queue_app.record, 0.0) for _ in range(20)]
    marker = queue_app.OPEN.enqueue(queue_app.record, 0.0)  # its wake comes after theirs, and finds room
    wait_for(lambda: control.get_workflow(marker.workflow_id).status != "ENQUEUED")
    assert slow_beat.heartbeat.claims - claims <= 3  # the marker's claim, its finish, a straggler: not one per wake
    (runs_dir / "hold").unlink()
    started = time.monotonic()
    for handle in running + waiting:
        handle.result(timeout=10)
    assert time.monotonic() - started < 10  # each finish woke the claim of the next, well within a beat


def test_a_stream_of_enqueues_is_claimed_in_batches_and_a_quiet_spell_claims_at_once(slow_beat, control, runs_dir):
    """While new work streams in, claims for it are NEW_WORK_SPACING apart (one claim takes many workflows, not
    one NOTIFY each); the first enqueue after a quiet spell is claimed at once. The spacing is stretched to 2 s
    here so the bounds are far from a loaded machine's timings."""
    slow_beat.heartbeat.NEW_WORK_SPACING = 2.0
    (runs_dir / "hold").touch()
    wait_for(lambda: _claims_settled(slow_beat))
    first = queue_app.OPEN.enqueue(queue_app.record, 0.0)
    wait_for(lambda: control.get_workflow(first.workflow_id).status == "PENDING")
    assert _seconds_queued(control, first.workflow_id) < 1.0  # not held back by the spacing
    claims = slow_beat.heartbeat.claims
    stream = [queue_app.OPEN.enqueue(queue_app.record, 0.0) for _ in range(30)]
    wait_for(lambda: all(control.get_workflow(h.workflow_id).status == "PENDING" for h in stream))
    assert slow_beat.heartbeat.claims - claims <= 4  # 30 wakes, a claim every 2 s at most
    (runs_dir / "hold").unlink()
    assert [h.result(timeout=10) for h in [first, *stream]] == [""] * 31
