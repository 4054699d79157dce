"""The in-process run table (no database)."""

from __future__ import annotations

import threading
import time

import pytest

from engine.errors import WorkflowCancelled
from engine.outcome import PAUSED, Outcome
from engine.runtable import RunTable
from engine.states import WorkflowStatus

DONE = Outcome(WorkflowStatus.SUCCESS, 42)


def test_a_workflow_runs_once_at_a_time():
    runs = RunTable()
    assert runs.start("a") and not runs.start("a") and len(runs) == 1
    future = runs.future("a")
    assert future is not None and runs.release("a", DONE) is None
    assert future.result(0) == DONE and len(runs) == 0 and runs.future("a") is None
    assert runs.start("a")


def test_a_rerun_waits_for_the_current_run_to_end():
    runs = RunTable()
    assert not runs.rerun_later("a", "again")
    runs.start("a")
    assert runs.rerun_later("a", "again")
    assert runs.release("a", PAUSED) == "again"


def test_cancel_wakes_the_wait_and_unwinds():
    runs = RunTable()
    runs.start("a")
    threading.Timer(0.02, runs.cancel, ("a",)).start()
    started = time.monotonic()
    with pytest.raises(WorkflowCancelled):
        runs.wait("a", 10)
    assert time.monotonic() - started < 5 and runs.cancelled("a")


def test_wake_cuts_a_wait_short_without_cancelling():
    runs = RunTable()
    runs.start("a")
    threading.Timer(0.02, runs.wake, ("a",)).start()
    runs.wait("a", 10)
    assert not runs.cancelled("a")


def test_stopping_unwinds_every_run():
    runs = RunTable()
    runs.start("a")
    runs.stopping.set()
    with pytest.raises(WorkflowCancelled):
        runs.check("a")


def test_release_all_ends_runs_that_never_started_paused():
    runs = RunTable()
    runs.start("a")
    future = runs.future("a")
    runs.release_all()
    assert future is not None and future.result(0) == PAUSED and len(runs) == 0


def test_stranded_workflows_are_taken_once():
    runs = RunTable()
    runs.strand(["b", "a"])
    runs.strand(["a"])
    assert runs.take_stranded() == ["a", "b"] and runs.take_stranded() == []


def test_recent_outcomes_are_kept_for_late_callers_and_bounded():
    runs = RunTable()
    runs.RECENT = 2
    for wid in ("a", "b", "c"):
        runs.start(wid)
        runs.release(wid, DONE)
    assert runs.recent("a") is None and runs.recent("c") == DONE
    runs.start("c")
    assert runs.recent("c") is None
    runs.start("p")
    runs.release("p", PAUSED)
    assert runs.recent("p") is None


def test_a_future_asked_for_while_the_run_goes_on_gets_its_outcome_and_none_after():
    runs = RunTable()
    assert runs.start("a") and not runs.start("a") and runs.running("a")
    future = runs.future("a")
    assert future is not None and runs.future("a") is future
    runs.release("a", DONE)
    assert future.result(0) == DONE and runs.future("a") is None and not runs.running("a")


def test_a_cancel_or_a_wake_before_the_wait_still_cuts_it_short():
    """The wake-up event is made when first needed: one set before any wait must still be seen by the wait."""
    runs = RunTable()
    runs.start("a")
    runs.wake("a")
    started = time.monotonic()
    runs.wait("a", 10)
    runs.cancel("a")
    with pytest.raises(WorkflowCancelled):
        runs.pause("a", 10)
    assert time.monotonic() - started < 5
