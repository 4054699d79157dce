"""Messages, events, streams and sleep_until inside workflows and from outside (issue 9), in one process.

Crash and cross-process cases are in tests/test_messages_processes.py.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from engine import DurableError, InvalidInput, SerializationError, WorkflowNotFound, recv, sleep_until
from tests import messages_app as app
from tests.helpers import wait_for


def waiting(control, wid: str) -> bool:
    steps = control.get_workflow(wid).steps
    return bool(steps) and steps[-1].status == "WAITING"


def test_messages_sent_before_recv_wait_for_it_and_come_in_order(engine, control):
    handle = engine.start_workflow(app.gated, 3, "t", 5.0, workflow_id="fifo")
    wait_for(lambda: waiting(control, "fifo"))
    for i in range(3):
        control.send("fifo", {"n": i}, topic="t")
    control.send("fifo", "other topic", topic="u")
    control.send("fifo", None, topic="gate")
    assert handle.result(timeout=10) == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert control.messages_waiting("fifo") == {"u": 1}


def test_recv_outcome_and_consumption_are_one_transaction(engine, control):
    handle = engine.start_workflow(app.receive, "pay", 10.0, workflow_id="once")
    wait_for(lambda: waiting(control, "once"))
    control.send("once", {"amount": 5}, topic="pay")
    assert handle.result(timeout=10) == {"amount": 5}
    step = control.get_workflow("once").steps[0]
    assert (step.name, step.kind, step.status, step.output) == ("recv:pay", "recv", "SUCCESS", {"amount": 5})
    assert control.messages_waiting("once") == {}
    assert control.get_workflow("once").wait_reason is None


def test_recv_times_out_with_none_at_its_recorded_deadline(engine, control):
    started = time.monotonic()
    assert engine.run_workflow(app.receive, None, 0.3, workflow_id="late") is None
    assert 0.3 <= time.monotonic() - started < 3
    step = control.get_workflow("late").steps[0]
    assert (step.name, step.status, step.output) == ("recv", "SUCCESS", None)


def test_a_waiting_recv_makes_no_query_until_woken(engine, control):
    store = engine.runtime.messages
    looks = []
    real = store.receive

    def counted(*args, **kwargs):
        looks.append(time.monotonic())
        return real(*args, **kwargs)

    store.receive = counted  # type: ignore[method-assign]
    handle = engine.start_workflow(app.receive, "x", 30.0, workflow_id="quiet")
    wait_for(lambda: waiting(control, "quiet"))
    time.sleep(0.5)
    assert len(looks) == 1  # one look recorded the wait; then nothing while it waits
    control.send("quiet", "hi", topic="other")  # another topic wakes it once: one look, still waiting
    control.send("quiet", "yes", topic="x")
    assert handle.result(timeout=10) == "yes"
    assert 2 <= len(looks) <= 3


def test_a_message_does_not_cut_a_durable_sleep_short(engine, control):
    handle = engine.start_workflow(app.nap_then_receive, 0.6, workflow_id="napper")
    wait_for(lambda: control.get_workflow("napper").steps)
    control.send("napper", "early", topic="x")  # waits for the recv: the sleep is not woken
    assert handle.result(timeout=10) == "early"
    nap = control.get_workflow("napper").steps[0]
    assert nap.finished_at is not None and (nap.finished_at - nap.started_at).total_seconds() >= 0.6


def test_a_send_inside_a_workflow_to_an_unknown_workflow_fails_that_step(engine, control):
    handle = engine.start_workflow(app.everything, "nobody", workflow_id="sleeper")
    with pytest.raises(WorkflowNotFound):
        handle.result(timeout=10)  # the send to an unknown workflow fails inside the workflow: recorded
    steps = control.get_workflow("sleeper").steps
    assert (steps[-1].name, steps[-1].status) == ("send:greet", "ERROR")


def test_send_to_an_unknown_workflow_is_workflow_not_found(engine, control):
    with pytest.raises(WorkflowNotFound, match="no workflow with id 'ghost'"):
        control.send("ghost", 1)
    with pytest.raises(WorkflowNotFound):
        engine.send("ghost", 1)
    with pytest.raises(InvalidInput):
        control.send("", 1)
    engine.run_workflow(app.receive, None, 0, workflow_id="exists")
    with pytest.raises(SerializationError, match="message to workflow 'exists'"):
        control.send("exists", {1, 2})  # values are JSON: a set is not


def test_a_repeated_idempotency_key_delivers_once(engine, control):
    handle = engine.start_workflow(app.gated, 2, "t", 0.3, workflow_id="idem")
    assert control.send("idem", "first", topic="t", idempotency_key="k1") is True
    assert control.send("idem", "again", topic="t", idempotency_key="k1") is False
    assert engine.send("idem", "again", topic="t", idempotency_key="k1") is False
    control.send("idem", None, topic="gate")
    assert handle.result(timeout=10) == ["first", None]


def test_cancel_interrupts_a_recv_at_once(engine, control):
    engine.start_workflow(app.receive, "never", 60.0, workflow_id="stuck")
    wait_for(lambda: waiting(control, "stuck"))
    started = time.monotonic()
    control.cancel("stuck")
    wait_for(lambda: engine.in_flight() == 0, timeout=5)
    assert time.monotonic() - started < 2
    assert control.get_workflow("stuck").status == "CANCELLED"


def test_a_workflow_timeout_interrupts_a_recv(engine, control):
    started = time.monotonic()
    engine.start_workflow(app.receive, "never", 60.0, workflow_id="bounded", timeout_seconds=0.5)
    wait_for(lambda: control.get_workflow("bounded").status == "CANCELLED", timeout=5)
    wait_for(lambda: engine.in_flight() == 0, timeout=5)
    assert time.monotonic() - started < 3


def test_retry_now_ends_a_recv_as_timed_out(engine, control):
    handle = engine.start_workflow(app.receive, "never", 60.0, workflow_id="cut")
    wait_for(lambda: waiting(control, "cut"))
    control.retry_now("cut")
    assert handle.result(timeout=5) is None


def test_events_from_outside_wait_for_their_value(engine, control):
    engine.start_workflow(app.publisher, [1], workflow_id="pub")
    assert control.get_event("pub", "stage", timeout_seconds=0) is None
    assert control.get_event("pub", "stage", timeout_seconds=0.2) is None  # times out: None
    got = {}
    reader = threading.Thread(target=lambda: got.update(v=engine.get_event("pub", "stage", 10)))
    reader.start()
    time.sleep(0.1)
    control.send("pub", None, topic="go")
    reader.join(5)
    assert got == {"v": "writing"}
    control.send("pub", None, topic="next")
    wait_for(lambda: control.get_workflow("pub").status == "SUCCESS")
    assert control.get_events("pub") == {"stage": "done"}  # a later set_event overwrites
    assert [e.key for e in control.events("pub")] == ["stage"]
    with pytest.raises(WorkflowNotFound):
        control.get_events("ghost")


def test_get_event_inside_a_workflow_waits_for_another_workflow(engine, control):
    waiter = engine.start_workflow(app.await_event, "partner-1", "ready", 10.0, workflow_id="waiter")
    wait_for(lambda: waiting(control, "waiter"))
    assert control.get_workflow("waiter").wait_reason == "waiting for event 'ready' of partner-1"
    engine.start_workflow(app.partner, workflow_id="partner-1")
    control.send("partner-1", "hi", topic="greet")
    assert waiter.result(timeout=10) == "hi"


def test_cancel_and_retry_now_interrupt_a_get_event(engine, control):
    engine.start_workflow(app.await_event, "nobody", "k", 60.0, workflow_id="ge-cancel")
    handle = engine.start_workflow(app.await_event, "nobody", "k", 60.0, workflow_id="ge-cut")
    wait_for(lambda: waiting(control, "ge-cancel") and waiting(control, "ge-cut"))
    control.cancel("ge-cancel")
    control.retry_now("ge-cut")
    assert handle.result(timeout=5) is None
    wait_for(lambda: engine.in_flight() == 0, timeout=5)
    assert control.get_workflow("ge-cancel").status == "CANCELLED"


def test_an_async_workflow_receives(engine, control):
    handle = engine.start_workflow(app.async_receive, "t", workflow_id="async-1")
    wait_for(lambda: waiting(control, "async-1"))
    control.send("async-1", [1, 2], topic="t")
    assert handle.result(timeout=10) == [1, 2]


def test_get_event_inside_a_workflow_times_out_with_none(engine):
    assert engine.run_workflow(app.await_event, "nobody", "k", 0.2, workflow_id="no-event") is None


def test_a_stream_is_read_live_in_order_and_whole_by_a_late_reader(engine, control):
    engine.start_workflow(app.publisher, ["a", "b", "c"], workflow_id="s1")
    control.send("s1", None, topic="go")
    seen: list[object] = []
    reader = threading.Thread(target=lambda: seen.extend(control.read_stream("s1", "progress")))
    reader.start()
    wait_for(lambda: seen == ["a"])
    control.send("s1", None, topic="next")
    wait_for(lambda: seen == ["a", "b"])
    control.send("s1", None, topic="next")
    control.send("s1", None, topic="next")
    reader.join(5)
    assert not reader.is_alive() and seen == ["a", "b", "c"]  # it ended with the close
    assert list(engine.read_stream("s1", "progress")) == ["a", "b", "c"]  # a late reader gets it all
    assert list(control.read_stream("s1", "no-such-stream")) == []  # the workflow ended: nothing more comes


def test_replay_of_a_fork_returns_every_recorded_outcome(engine, control, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "DIR", tmp_path)
    partner = engine.start_workflow(app.partner, workflow_id="p")
    handle = engine.start_workflow(app.everything, "p", workflow_id="all")
    wait_for(lambda: waiting(control, "all"))
    control.send("all", "go!", topic="go")
    assert handle.result(timeout=10) == {"message": "go!", "event": {"hello": 1}}
    assert partner.result(timeout=5) == {"hello": 1}
    last = len(control.get_workflow("all").steps)
    fork = control.fork("all", last + 1)
    wait_for(lambda: control.get_workflow(fork).status == "SUCCESS")
    assert control.get_workflow(fork).output == {"message": "go!", "event": {"hello": 1}}
    assert (tmp_path / "effects").read_text() == "go!\n"  # nothing ran again
    assert control.get_events(fork) == {"stage": "done"}
    assert list(control.read_stream(fork, "log")) == ["begin", "end"]
    assert control.messages_waiting("p") == {}  # the replayed send sent nothing more
    kinds = [s.kind for s in control.get_workflow(fork).steps]
    assert kinds == ["set_event", "write_stream", "send", "recv", "step", "get_event", "sleep",
                     "write_stream", "close_stream", "set_event"]  # fmt: skip


def test_the_recorded_topic_is_part_of_the_step(engine, control):
    engine.start_workflow(app.receive, "a", 60.0, workflow_id="topic")
    wait_for(lambda: waiting(control, "topic"))
    assert control.get_workflow("topic").wait_reason == "waiting for 'a'"
    assert control.get_workflow("topic").steps[0].name == "recv:a"


def test_outside_a_workflow(engine):
    with pytest.raises(DurableError, match="only possible inside a workflow"):
        recv("x")
    with pytest.raises(InvalidInput, match="aware datetime"):
        sleep_until(datetime.now())
    sleep_until(datetime.now(timezone.utc) + timedelta(seconds=0.01))


def test_deleting_a_workflow_deletes_its_messages_events_and_streams(engine, control):
    handle = engine.start_workflow(app.publisher, ["x"], workflow_id="gone")
    for topic in ("go", "next", "unread"):
        control.send("gone", None, topic=topic)
    handle.result(timeout=10)
    assert control.delete("gone") == ["gone"]
    engine.run_workflow(app.receive, "unread", 0, workflow_id="gone")  # the id again: nothing of the old one
    assert control.get_events("gone") == {} and control.stream_values("gone", "progress") == []
    assert control.get_workflow("gone").output is None and control.messages_waiting("gone") == {}
