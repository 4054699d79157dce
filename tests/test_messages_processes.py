"""Messages across real processes: a worker SIGKILLed during a recv, a message sent while no worker lives,
a replayed recovery that repeats nothing (issue 9)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from tests.helpers import Worker, wait_for


@pytest.fixture
def start(workers: Callable[..., Worker]) -> Callable[[str], Worker]:
    return lambda executor_id: workers(executor_id, module="tests.messages_app")


def waiting_step(control, wid: str):
    steps = control.get_workflow(wid).steps
    return steps[-1] if steps and steps[-1].status == "WAITING" else None


def test_a_recovered_recv_waits_only_what_is_left_of_its_timeout(start, control):
    worker = start("mq")
    control.enqueue_workflow("m.receive", "pay", 3.0, workflow_id="r1")
    deadline = wait_for(lambda: waiting_step(control, "r1")).next_attempt_at
    time.sleep(0.7)
    worker.kill()
    start("mq")  # the same executor id: it recovers the workflow at launch
    restarted = datetime.now(timezone.utc)
    wait_for(lambda: control.get_workflow("r1").status == "SUCCESS", timeout=10)
    record = control.get_workflow("r1")
    assert record.output is None and record.recovery_count == 1
    finished = record.steps[0].finished_at
    assert finished is not None
    # at the deadline recorded before the crash (or at once, if the restart took longer than what was left)
    assert (finished - deadline).total_seconds() >= -0.05
    assert (finished - max(deadline, restarted)).total_seconds() < 0.5
    assert (finished - restarted).total_seconds() < 3.0 - 0.6  # not a fresh 3 s from the restart


def test_a_message_sent_while_the_worker_is_dead_is_delivered_once_after_recovery(start, control):
    worker = start("mq2")
    control.enqueue_workflow("m.receive", "pay", 30.0, workflow_id="r2")
    wait_for(lambda: waiting_step(control, "r2"))
    worker.kill()
    control.send("r2", {"paid": 42}, topic="pay")
    control.send("r2", {"paid": 43}, topic="pay")
    assert control.messages_waiting("r2") == {"pay": 2}
    start("mq2")
    wait_for(lambda: control.get_workflow("r2").status == "SUCCESS", timeout=10)
    assert control.get_workflow("r2").output == {"paid": 42}
    assert control.messages_waiting("r2") == {"pay": 1}  # exactly one consumed, the oldest


def test_a_recovered_workflow_that_used_everything_repeats_nothing(start, control, tmp_path):
    worker = start("mq3")
    control.enqueue_workflow("m.partner", workflow_id="p3")
    control.enqueue_workflow("m.everything", "p3", workflow_id="e3")
    wait_for(lambda: waiting_step(control, "e3") is not None and waiting_step(control, "e3").name == "recv:go")
    worker.kill()
    control.send("e3", "go!", topic="go")
    start("mq3")
    wait_for(lambda: control.get_workflow("e3").status == "SUCCESS", timeout=15)
    assert control.get_workflow("e3").output == {"message": "go!", "event": {"hello": 1}}
    assert control.get_workflow("p3").output == {"hello": 1}
    assert control.messages_waiting("p3") == {}  # the greeting was sent once, before the crash
    assert (tmp_path / "effects").read_text() == "go!\n"
    assert control.get_events("e3") == {"stage": "done"}
    assert list(control.read_stream("e3", "log")) == ["begin", "end"]
    assert [e.step_id for e in control.events("e3")] == [10]  # the last of ten steps
