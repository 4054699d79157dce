"""Crash recovery with real worker processes killed by SIGKILL (issue 2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.helpers import runs, wait_for


def test_sigkill_mid_workflow_resumes_without_rerunning_recorded_steps(workers, control, tmp_path):
    (tmp_path / "hold-three").touch()
    w1 = workers("crashy")
    wid = control.enqueue_workflow("w.five_steps", 1, workflow_id="five")
    wait_for(lambda: runs(tmp_path, "three") == [1])
    w1.kill()
    (tmp_path / "hold-three").unlink()
    workers("crashy")  # the same executor id, restarted: launch recovers its PENDING workflows
    wait_for(lambda: control.get_workflow(wid).status == "SUCCESS")
    assert control.get_workflow(wid).output == 25
    assert (runs(tmp_path, "one"), runs(tmp_path, "two")) == ([1], [1])
    assert runs(tmp_path, "three") == [1, 1]  # its outcome was never recorded, so it ran again
    assert (runs(tmp_path, "four"), runs(tmp_path, "five")) == ([1], [1])
    assert control.get_workflow(wid).recovery_count == 1


def test_sigkill_mid_backoff_keeps_attempt_budget_and_remaining_wait(workers, control, tmp_path):
    w1 = workers("backoff-exec")
    wid = control.enqueue_workflow("w.backoff", workflow_id="bo")

    def waiting_step():
        steps = control.get_workflow(wid).steps
        return steps and steps[0].status == "WAITING_RETRY" and steps[0]

    first = wait_for(waiting_step)
    w1.kill()
    assert first.attempts == 1 and first.next_attempt_at is not None
    workers("backoff-exec")
    restarted = datetime.now(timezone.utc)
    wait_for(lambda: control.get_workflow(wid).status == "SUCCESS")
    assert control.get_workflow(wid).output == "MaxAttemptsExceeded"
    assert runs(tmp_path, "always_fails") == [1, 2, 3]  # the budget was not reset by the crash
    a1, a2, a3 = control.get_workflow(wid).steps[0].attempt_records
    assert (a2.started_at - a1.finished_at).total_seconds() >= 0.6 - 0.02
    # it waited only what was left of the 0.6 s, not a fresh 0.6 s from the restart
    assert a2.started_at <= max(first.next_attempt_at, restarted) + timedelta(seconds=0.4)


def test_crash_after_checkpoint_does_not_rerun_the_step(workers, control, tmp_path):
    w1 = workers("after-exec")
    control.add_fault("crash", "w.two", phase="after")
    wid = control.enqueue_workflow("w.five_steps", 2, workflow_id="crash-after")
    assert w1.proc.wait(timeout=10) == -9
    assert control.get_workflow(wid).steps[-1].name == "w.two"
    workers("after-exec")
    wait_for(lambda: control.get_workflow(wid).status == "SUCCESS")
    assert runs(tmp_path, "two") == [1]
    assert runs(tmp_path, "three") == [1]


def test_crash_before_step_runs_then_recovery_runs_it(workers, control, tmp_path):
    w1 = workers("before-exec")
    control.add_fault("crash", "w.three", phase="before")
    wid = control.enqueue_workflow("w.five_steps", 3, workflow_id="crash-before")
    assert w1.proc.wait(timeout=10) == -9
    assert runs(tmp_path, "three") == []
    workers("before-exec")
    wait_for(lambda: control.get_workflow(wid).status == "SUCCESS")
    assert runs(tmp_path, "three") == [1] and runs(tmp_path, "two") == [1]


def test_sigkill_during_durable_sleep_sleeps_only_what_is_left(workers, control, tmp_path):
    w1 = workers("sleeper")
    wid = control.enqueue_workflow("w.sleepy", 0.8, workflow_id="sl")
    sleeping = wait_for(lambda: (control.get_workflow(wid).steps or [None])[0])
    w1.kill()
    workers("sleeper")
    restarted = datetime.now(timezone.utc)
    wait_for(lambda: control.get_workflow(wid).status == "SUCCESS")
    nap = control.get_workflow(wid).steps[0]
    assert nap.finished_at >= sleeping.next_attempt_at - timedelta(milliseconds=20)
    assert nap.finished_at <= max(sleeping.next_attempt_at, restarted) + timedelta(seconds=0.4)


def _run_until_it_dies(workers, tmp_path, executor_id: str, runs_before: int):
    """Start a worker, let the poison step run once more, and wait for the worker to die of it."""
    (tmp_path / "hold-kills_its_worker").touch()
    worker = workers(executor_id)
    wait_for(lambda: len(runs(tmp_path, "kills_its_worker")) == runs_before + 1)
    (tmp_path / "hold-kills_its_worker").unlink()
    assert worker.proc.wait(timeout=10) == 3


def test_a_poison_workflow_is_stopped_at_its_recovery_limit_and_resume_retries_it(workers, control, tmp_path):
    wid = control.enqueue_workflow("w.poison", workflow_id="poison")
    for n in range(3):  # the first run, then two recoveries (max_recovery_attempts=2)
        _run_until_it_dies(workers, tmp_path, "poison-exec", n)
    assert control.get_workflow(wid).status == "PENDING"
    workers("poison-exec")  # the third recovery would pass the limit: it ends ERROR, and this worker lives
    rec = wait_for(lambda: (r := control.get_workflow(wid)).status == "ERROR" and r)
    assert rec.error["type"] == "engine.errors.MaxRecoveryAttemptsExceeded"
    assert "died 3 times" in rec.error["message"] and rec.recovery_count == 3
    assert len(runs(tmp_path, "kills_its_worker")) == 3 and runs(tmp_path, "one") == [1]
    control.resume(wid)
    assert control.get_workflow(wid).recovery_count == 0


def test_a_clean_stop_and_an_outage_are_not_recoveries(workers, control, tmp_path):
    (tmp_path / "hold-three").touch()
    first = workers("clean-exec")
    wid = control.enqueue_workflow("w.five_steps", 1, workflow_id="clean")
    wait_for(lambda: runs(tmp_path, "three") == [1])
    first.proc.terminate()  # SIGTERM: a clean shutdown, which leaves the workflow PENDING
    (tmp_path / "hold-three").unlink()
    assert first.proc.wait(timeout=10) == 0 and control.get_workflow(wid).status == "PENDING"
    workers("clean-exec")
    wait_for(lambda: control.get_workflow(wid).status == "SUCCESS")
    assert control.get_workflow(wid).recovery_count == 0


def test_a_poison_workflow_adopted_by_another_worker_counts_too(workers, control, tmp_path):
    wid = control.enqueue_workflow("w.poison", workflow_id="poison-adopted")
    for n, executor in enumerate(("adopt-a", "adopt-b", "adopt-c")):
        _run_until_it_dies(workers, tmp_path, executor, n)
    workers("adopt-d")
    rec = wait_for(lambda: (r := control.get_workflow(wid)).status == "ERROR" and r)
    assert rec.recovery_count == 3 and len(runs(tmp_path, "kills_its_worker")) == 3
