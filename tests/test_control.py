"""Control plane across real processes (issue 3): a worker subprocess and this process as controller."""

from __future__ import annotations

import pytest

from engine import InvalidState, WorkflowNotFound
from tests.helpers import runs, wait_for


def status(control, wid):
    return control.get_workflow(wid).status


def wait_idle(control, after):
    """Wait until a heartbeat taken after `after` (a database time) reports no workflow in flight."""
    wait_for(lambda: all(w.in_flight == 0 and w.heartbeat_at > after for w in control.workers() if w.alive), timeout=3)


def test_cancel_during_long_backoff_stops_at_once(workers, control, tmp_path):
    workers("w")
    wid = control.enqueue_workflow("w.long_wait", workflow_id="lw")
    wait_for(lambda: [s.status for s in control.get_workflow(wid).steps] == ["WAITING_RETRY"])
    assert control.cancel(wid) == [wid]
    assert status(control, wid) == "CANCELLED"
    wait_idle(control, control.db_now())
    assert runs(tmp_path, "slow_retry") == [1]
    with pytest.raises(InvalidState, match="CANCELLED"):
        control.cancel(wid)


def test_cancel_stops_before_the_next_step_and_cancels_children(workers, control, tmp_path):
    (tmp_path / "hold-two").touch()
    workers("w")
    wid = control.enqueue_workflow("w.five_steps", 1, workflow_id="c5")
    wait_for(lambda: runs(tmp_path, "two") == [1])
    control.cancel(wid)
    (tmp_path / "hold-two").unlink()
    steps = wait_for(lambda: len(control.get_workflow(wid).steps) == 2 and control.get_workflow(wid).steps)
    wait_idle(control, steps[1].finished_at)
    assert runs(tmp_path, "three") == []  # the running step finished, its successor never started
    assert [(s.name, s.status) for s in steps] == [("w.one", "SUCCESS"), ("w.two", "SUCCESS")]
    assert status(control, wid) == "CANCELLED"


def test_cancel_interrupts_a_durable_sleep(workers, control, tmp_path):
    workers("w")
    wid = control.enqueue_workflow("w.sleepy", 30.0, workflow_id="zz")
    wait_for(lambda: [s.status for s in control.get_workflow(wid).steps] == ["SLEEPING"])
    control.cancel(wid)
    wait_idle(control, control.db_now())
    assert runs(tmp_path, "one") == []


def test_retry_now_cuts_a_durable_sleep_short(workers, control, tmp_path):
    workers("w")
    wid = control.enqueue_workflow("w.sleepy", 30.0, workflow_id="zr")
    wait_for(lambda: [s.status for s in control.get_workflow(wid).steps] == ["SLEEPING"])
    control.retry_now(wid)
    wait_for(lambda: status(control, wid) == "SUCCESS", timeout=3)
    assert [(s.kind, s.status) for s in control.get_workflow(wid).steps] == [("sleep", "SUCCESS"), ("step", "SUCCESS")]


def test_retry_now_skips_the_wait(workers, control):
    workers("w")
    wid = control.enqueue_workflow("w.long_wait", workflow_id="rn")
    wait_for(lambda: [s.status for s in control.get_workflow(wid).steps] == ["WAITING_RETRY"])
    assert control.retry_now(wid) == [wid]
    wait_for(lambda: status(control, wid) == "SUCCESS", timeout=3)
    assert control.get_workflow(wid).output == "second attempt ran"


def test_resume_gives_failed_step_a_fresh_budget(workers, control, tmp_path):
    (tmp_path / "broken").touch()
    workers("w")
    wid = control.enqueue_workflow("w.fix_me", workflow_id="fx")
    wait_for(lambda: status(control, wid) == "ERROR")
    assert runs(tmp_path, "fixable") == [1, 2]
    (tmp_path / "broken").unlink()
    control.resume(wid)
    wait_for(lambda: status(control, wid) == "SUCCESS")
    assert runs(tmp_path, "fixable") == [1, 2, 1]  # attempt 1 of a fresh budget
    assert runs(tmp_path, "one") == [1]
    step = control.get_workflow(wid).steps[1]
    assert [a.attempt for a in step.attempt_records] == [1, 2, 3]
    with pytest.raises(InvalidState, match="SUCCESS"):
        control.resume(wid)


def test_resume_a_cancelled_workflow(workers, control, tmp_path):
    (tmp_path / "hold-one").touch()
    workers("w")
    wid = control.enqueue_workflow("w.five_steps", 1, workflow_id="rc")
    wait_for(lambda: runs(tmp_path, "one") == [1])
    control.cancel(wid)
    (tmp_path / "hold-one").unlink()
    wait_idle(control, wait_for(lambda: control.get_workflow(wid).steps)[0].finished_at or control.db_now())
    control.resume(wid)
    wait_for(lambda: status(control, wid) == "SUCCESS")
    assert runs(tmp_path, "one") == [1] and runs(tmp_path, "five") == [1]


def test_fork_from_step_three_reruns_only_three_to_five(workers, control, tmp_path):
    workers("w")
    wid = control.enqueue_workflow("w.five_steps", 1, workflow_id="f5")
    wait_for(lambda: status(control, wid) == "SUCCESS")
    fork = control.fork(wid, from_step=3)
    wait_for(lambda: status(control, fork) == "SUCCESS")
    assert (runs(tmp_path, "one"), runs(tmp_path, "two")) == ([1], [1])
    assert runs(tmp_path, "three") == [1, 1] and runs(tmp_path, "five") == [1, 1]
    rec = control.get_workflow(fork)
    assert (rec.forked_from, rec.forked_from_step, rec.output) == (wid, 3, 25)
    assert control.get_workflow(wid).forks == [fork]
    replay = control.fork(wid, from_step=1, new_workflow_id="f5-again")
    wait_for(lambda: status(control, replay) == "SUCCESS")
    assert runs(tmp_path, "one") == [1, 1]
    with pytest.raises(InvalidState, match="cannot fork from step 9"):
        control.fork(wid, from_step=9)


def test_fault_fail_two_then_success_on_third_attempt(workers, control, tmp_path):
    workers("w")
    fault = control.add_fault("fail", "w.target", count=2, message="injected outage")
    wid = control.enqueue_workflow("w.faulty", workflow_id="ff")
    wait_for(lambda: status(control, wid) == "SUCCESS")
    assert control.get_workflow(wid).output == 3
    attempts = control.get_workflow(wid).steps[0].attempt_records
    assert [(a.error_type, a.error_message) for a in attempts] == [
        ("engine.errors.InjectedFault", "injected outage")
    ] * 2 + [(None, None)]
    assert runs(tmp_path, "target") == [3]  # the step's own code ran only on the third attempt
    assert [f.remaining for f in control.faults() if f.fault_id == fault] == [0]
    assert control.clear_faults() == 1 and control.faults() == []


def test_fault_for_one_workflow_only(workers, control, tmp_path):
    workers("w")
    control.add_fault("fail", "w.target", workflow_id="only-me", count=None)
    other = control.enqueue_workflow("w.faulty", workflow_id="not-me")
    wait_for(lambda: status(control, other) == "SUCCESS")
    assert control.get_workflow(other).output == 1


def test_delay_fault(workers, control):
    workers("w")
    control.add_fault("delay", "w.target", delay_seconds=0.3, count=1)
    wid = control.enqueue_workflow("w.faulty", workflow_id="dl")
    wait_for(lambda: status(control, wid) == "SUCCESS")
    rec = control.get_workflow(wid)
    assert (rec.finished_at - rec.started_at).total_seconds() >= 0.3


def test_crash_worker_now_and_automatic_takeover(workers, control, tmp_path):
    (tmp_path / "hold-three").touch()
    w1 = workers("first")
    wid = control.enqueue_workflow("w.five_steps", 1, workflow_id="tk")
    wait_for(lambda: runs(tmp_path, "three") == [1])
    workers("second")
    control.crash_worker("first")
    assert w1.proc.wait(timeout=5) == -9
    (tmp_path / "hold-three").unlink()
    wait_for(lambda: status(control, wid) == "SUCCESS", timeout=10)
    rec = control.get_workflow(wid)
    assert rec.executor_id == "second" and rec.recovery_count == 1
    assert runs(tmp_path, "one") == [1] and runs(tmp_path, "three") == [1, 1]
    dead = {w.executor_id: w.alive for w in control.workers()}
    assert dead == {"first": False, "second": True}
    with pytest.raises(InvalidState, match="not alive"):
        control.crash_worker("first")


def test_manual_recover_when_auto_recovery_is_off(workers, control, tmp_path):
    (tmp_path / "hold-two").touch()
    w1 = workers("first", AUTO_RECOVER="0")
    wid = control.enqueue_workflow("w.five_steps", 1, workflow_id="mr")
    wait_for(lambda: runs(tmp_path, "two") == [1])
    workers("second", AUTO_RECOVER="0")
    with pytest.raises(InvalidState, match="live executor"):
        control.recover(wid)
    w1.kill()
    (tmp_path / "hold-two").unlink()
    wait_for(lambda: not {w.executor_id: w.alive for w in control.workers()}["first"], timeout=5)
    assert status(control, wid) == "PENDING"
    assert control.recover(wid) == [wid]
    wait_for(lambda: status(control, wid) == "SUCCESS")
    assert control.get_workflow(wid).executor_id == "second"


def test_two_workers_never_run_the_same_workflow(workers, control, tmp_path):
    workers("a")
    workers("b")
    ids = [control.enqueue_workflow("w.count", i, workflow_id=f"n{i}") for i in range(40)]
    wait_for(lambda: all(status(control, w) == "SUCCESS" for w in ids), timeout=20)
    assert len(runs(tmp_path, "counted")) == 80
    assert {control.get_workflow(w).executor_id for w in ids} <= {"a", "b"}


def test_enqueued_without_a_live_worker_records_why(engine, control):
    wid = control.enqueue_workflow("nobody.registers.this", workflow_id="orphan")
    wait_for(lambda: control.get_workflow(wid).wait_reason)
    rec = control.get_workflow(wid)
    assert rec.status == "ENQUEUED" and "nobody.registers.this" in rec.wait_reason


def test_wrong_state_and_unknown_ids_change_nothing(engine, control):
    with pytest.raises(WorkflowNotFound, match="ghost"):
        control.cancel("ghost")
    for op in (control.resume, control.recover, control.retry_now, control.delete):
        with pytest.raises(WorkflowNotFound):
            op("ghost")
    wid = control.enqueue_workflow("nobody.registers.this", workflow_id="stuck")
    with pytest.raises(InvalidState, match="ENQUEUED"):
        control.resume(wid)
    with pytest.raises(InvalidState, match="cancel it before deleting"):
        control.delete(wid)
    with pytest.raises(InvalidState, match="no step waiting"):
        control.retry_now(wid)
    with pytest.raises(InvalidState, match="fault kind"):
        control.add_fault("explode", "x")
    assert control.get_workflow(wid).status == "ENQUEUED"


def test_bulk_operations_and_purge(engine, control):
    for i in range(5):
        control.enqueue_workflow("bulk.nobody", workflow_id=f"b{i}")
    control.enqueue_workflow("bulk.other", workflow_id="keep")
    assert control.cancel_many(name="bulk.nobody") == 5
    assert control.get_workflow("keep").status == "ENQUEUED"
    assert control.delete_many(status="CANCELLED") == 5
    assert [w.workflow_id for w in control.list_workflows()] == ["keep"]
    assert control.resume_many(name="bulk.nobody") == 0


def test_faults_expire(workers, control, tmp_path):
    import time

    workers("w")
    control.add_fault("fail", "w.target", count=None, ttl_seconds=0.05, message="short-lived")
    time.sleep(0.1)  # well past the fault's 50 ms life
    wid = control.enqueue_workflow("w.faulty", workflow_id="ex")
    wait_for(lambda: status(control, wid) == "SUCCESS")
    assert control.get_workflow(wid).output == 1  # the first attempt ran: the fault had expired
    assert [f.expires_at is not None for f in control.faults()] == [True]


def test_a_controller_rides_out_a_database_restart(engine, control, database_url):
    import psycopg

    wid = control.enqueue_workflow("nobody.registers.this", workflow_id="rs")
    with psycopg.connect(database_url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'durable-control' AND pid <> pg_backend_pid() AND datname = current_database()"
        ).fetchone()[0]
    assert killed >= 1
    assert control.get_workflow(wid).status == "ENQUEUED"  # no error from a connection that died meanwhile
